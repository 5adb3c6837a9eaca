# SPDX-License-Identifier: LGPL-2.1-or-later
"""Two-process tests: producer killed, reconnect, stale segment replaced, Ctrl-C during a wait."""

from __future__ import annotations

import mmap
import os
import signal
import struct
import time

import pytest

import shmring
from shmring._layout import HEADER, HEADER_SIZE
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
        st = rd.stats()
        assert st.state == "dead" and not st.producer_alive
    os.unlink(shmring.channel_path(channel))  # the dead producer's segment is left behind


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
    assert not os.path.exists(shmring.channel_path(channel))  # a clean close removes the name


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
        assert rd.reconnects == 1 and rd.end_reason == "eos"
    w2.send("close")
    assert w2.finish()[0] == 0


def test_stale_segment_replaced(channel: str, helper) -> None:
    w = helper("writer", channel, "1")
    w.expect("ready")
    w.p.kill()
    w.p.wait()
    path = shmring.channel_path(channel)
    old_ino = os.stat(path).st_ino
    assert shmring.inspect(channel).state == "dead"
    with shmring.Writer(channel, caps="x") as wr:
        assert os.stat(path).st_ino != old_ino
        st = shmring.inspect(channel)
        assert st.state == "open" and st.producer_pid == os.getpid() and st.generation == wr.generation
        assert st.frames_written == 0


def test_live_producer_in_other_process_refused(channel: str, helper) -> None:
    w = helper("writer", channel, "0")
    w.expect("ready")
    with pytest.raises(shmring.ChannelBusy, match=f"live producer \\(pid {w.p.pid}\\)") as ei:
        shmring.Writer(channel, caps="x")
    assert ei.value.pid == w.p.pid
    w.send("close")
    assert w.finish()[0] == 0


def _until_reader_sleeps(channel: str, timeout: float = 10.0) -> None:
    """Returns once the reader has announced its futex sleep (reader_waiting = 1)."""
    off = HEADER["reader_waiting"][0]
    with open(shmring.channel_path(channel), "rb") as f, \
            mmap.mmap(f.fileno(), HEADER_SIZE, prot=mmap.PROT_READ) as mm:
        deadline = time.monotonic() + timeout
        while struct.unpack_from("<I", mm, off)[0] == 0:
            assert time.monotonic() < deadline, "the reader never went to sleep"
            time.sleep(0.001)


def test_ctrl_c_interrupts_wait(channel: str, helper) -> None:
    with shmring.Writer(channel, caps="x"):
        r = helper("wait", channel)
        r.expect("waiting")
        _until_reader_sleeps(channel)  # inside next_frame(), not still printing
        t0 = time.monotonic()
        r.p.send_signal(signal.SIGINT)
        rc, out, err = r.finish(timeout=10)
        elapsed = time.monotonic() - t0
    assert rc == 0 and "interrupted" in out, (rc, out, err)
    assert elapsed < 1.0
