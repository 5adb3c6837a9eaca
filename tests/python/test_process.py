# SPDX-License-Identifier: LGPL-2.1-or-later
"""Two-process tests: producer killed, reconnect, stale segment replaced, Ctrl-C during a wait."""

from __future__ import annotations

import os
import platform
import signal
import time

import pytest

import shmring
from shmring.testing import check_pattern


def test_killed_producer_detected_within_a_second(channel: str, helper) -> None:
    w = helper("writer", channel, "3")
    w.expect("ready")
    with shmring.Reader(channel, timeout=5) as rd:
        for i in range(3):  # frames committed before the crash are still delivered
            f = rd.next_frame(timeout=5)
            assert f.seq == i and check_pattern(f.data, i)
            f.release()
        w.p.kill()
        w.p.wait()
        t0 = time.monotonic()
        with pytest.raises(shmring.ProducerDied, match="died"):
            rd.next_frame()  # no frame timeout: only the liveness check can end this wait
        assert time.monotonic() - t0 < 1.0
        assert not rd.producer_alive()
    assert channel not in shmring.list_channels()  # nothing of the dead producer is left


def test_clean_close_distinguished_from_crash(channel: str, helper) -> None:
    w = helper("writer", channel, "1")
    w.expect("ready")
    with shmring.Reader(channel, timeout=5) as rd:
        f = rd.next_frame(timeout=5)
        f.release()
        w.send("close")
        w.expect("closed")
        with pytest.raises(shmring.ProducerClosed):
            rd.next_frame(timeout=5)
    assert w.finish()[0] == 0
    assert channel not in shmring.list_channels()


def test_reconnect_after_producer_restart(channel: str, helper) -> None:
    w1 = helper("writer", channel, "2")
    gen1 = int(w1.expect("ready").split()[1])
    with shmring.Reader(channel, timeout=10, reconnect=True, frame_timeout=10) as rd:
        seqs = []
        for f in rd:
            assert check_pattern(f.data, f.seq)
            seqs.append((rd.generation, f.seq))
            if len(seqs) == 2:
                w1.p.kill()
                w1.p.wait()
                # the stale segment is replaced by the restarted producer
                w2 = helper("writer", channel, "3")
                gen2 = int(w2.expect("ready").split()[1])
                assert gen2 != gen1
            if len(seqs) == 5:
                w2.send("eos")
                w2.expect("eos")
        assert seqs == [(gen1, 0), (gen1, 1), (gen2, 0), (gen2, 1), (gen2, 2)]
        assert rd.reconnects == 1 and rd.eos
    w2.send("close")
    assert w2.finish()[0] == 0


def test_killed_producer_leaves_nothing_behind(channel: str, helper) -> None:
    w = helper("writer", channel, "0")
    w.expect("ready")
    assert channel in shmring.list_channels()
    w.p.kill()
    w.p.wait()
    assert channel not in shmring.list_channels()
    with shmring.Writer(channel, caps="x", max_frame_size=4096) as wr:  # the name is free at once
        st = shmring.inspect(channel)
        assert st.state == "open" and st.producer_pid == os.getpid() and st.generation == wr.generation
        assert st.frames_written == 0


def test_live_producer_in_other_process_refused(channel: str, helper) -> None:
    w = helper("writer", channel, "0")
    w.expect("ready")
    with pytest.raises(shmring.ChannelBusy, match=f"is served by pid {w.p.pid}") as ei:
        shmring.Writer(channel, caps="x", max_frame_size=4096)
    assert ei.value.pid == w.p.pid
    w.send("close")
    assert w.finish()[0] == 0


_SYS_FUTEX = {"x86_64": 202, "aarch64": 98}.get(platform.machine())


def _until_reader_sleeps(pid: int, timeout: float = 10.0) -> None:
    """Returns once process ``pid`` sleeps in the futex system call (inside next_frame())."""
    if _SYS_FUTEX is None:
        pytest.skip(f"futex system call number unknown on {platform.machine()}")
    deadline = time.monotonic() + timeout
    while True:
        with open(f"/proc/{pid}/syscall") as f:
            if f.read().split()[0] == str(_SYS_FUTEX):
                return
        assert time.monotonic() < deadline, "the reader never went to sleep"
        time.sleep(0.001)


def test_ctrl_c_interrupts_wait(channel: str, helper) -> None:
    with shmring.Writer(channel, caps="x", max_frame_size=4096):
        r = helper("wait", channel)
        r.expect("waiting")
        _until_reader_sleeps(r.p.pid)  # inside next_frame(), not still printing
        t0 = time.monotonic()
        r.p.send_signal(signal.SIGINT)
        rc, out, err = r.finish(timeout=10)
        elapsed = time.monotonic() - t0
    assert rc == 0 and "interrupted" in out, (rc, out, err)
    assert elapsed < 1.0
