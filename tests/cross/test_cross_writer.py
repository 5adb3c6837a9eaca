# SPDX-License-Identifier: LGPL-2.1-or-later
"""The pure-Python producer (shmring.Writer) with C and Python readers in other processes."""

from __future__ import annotations

import errno
import os
import random
import select
import signal
import threading
import time

import numpy as np
import pytest
from conftest import tool
from test_cross_c import H, W, expected, finish, line, python_reader

import shmring
from shmring import Closed

N = 2000


def gray_writer(name: str, **kw) -> shmring.Writer:
    return shmring.Writer(name, width=W, height=H, format="GRAY8", **kw)


def wait_readers(w: shmring.Writer, n: int, limit: float = 10.0) -> None:
    end = time.monotonic() + limit
    while w.readers < n:
        assert time.monotonic() < end, f"{w.readers} of {n} readers attached within {limit} s"
        time.sleep(0.005)


def publish(w: shmring.Writer, frames: range, **kw) -> list[bool]:
    return [w.write(expected(s), pts=s * 1000 + 1, **kw) for s in frames]


def test_python_writer_to_c_and_python_readers(channel: str) -> None:
    """Lossless: a C reader and a Python reader (other processes) get every frame, bytes and pts, 0 lost."""
    with gray_writer(channel) as w:
        c = c_consume(channel)
        py = python_reader("check", channel)
        wait_readers(w, 2)
        assert all(publish(w, range(N)))
        w.eos()
    assert finish(c) == f"read {N} lost 0 bad 0"
    assert finish(py) == f"read {N} lost 0 bad 0"


def c_consume(channel: str):
    import subprocess
    return subprocess.Popen([tool("CROSS_PEER"), "consume", channel], stdout=subprocess.PIPE, text=True)


def test_pool_is_sealed_and_sized(channel: str) -> None:
    """A reader maps the Writer's pool read-only: it checked the seals and the size before mapping."""
    with gray_writer(channel, max_readers=3, queue_len=4, max_holds=1) as w:
        assert w.n_slots == 4 + 3 * 1 + 1 + 1  # lossless: 4 queued between the readers, 3 x 1 held
        assert w.pool_size == w.payload_offset + w.n_slots * w.slot_size and w.slot_size == 4096
        with shmring.Reader(channel, timeout=5.0) as r:
            wait_readers(w, 1)
            assert publish(w, range(1)) == [True]
            f = r.next_frame(timeout=5.0)
            assert f is not None and not f.array.flags.writeable and np.array_equal(f.array, expected(0))
            f.release()
        assert f"{w.n_slots} slots x 4096" in repr(w)


@pytest.mark.parametrize("policy", ["lossless", "live", "drop-new"])
def test_pool_sized_by_policy_and_accepted_by_both_readers(channel: str, policy: str) -> None:
    """The Writer sizes its pool as its policy needs (lossless and live queues share the last queue_len frames,
    drop-new ones do not); the C reader and the Python reader check that number and read the frames."""
    with gray_writer(channel, max_readers=3, queue_len=4, max_holds=1, policy=policy) as w:
        queued = 3 * 4 if policy == "drop-new" else 4
        assert w.n_slots == queued + 3 * 1 + 1 + 1
        c = c_consume(channel)
        with shmring.Reader(channel, timeout=5.0) as r:
            wait_readers(w, 2)
            assert all(publish(w, range(3)))
            f = r.next_frame(timeout=5.0)
            assert f is not None and f.seq == 0 and np.array_equal(f.array, expected(0))
            f.release()
            w.eos()
        out = finish(c).split()
        assert out[0] == "read" and int(out[1]) >= 1 and out[4:] == ["bad", "0"], out


def test_reader_limit_names_the_readers(channel: str) -> None:
    """One reader over max_readers is refused (EBUSY) with the limit and the readers' pids."""
    with gray_writer(channel, max_readers=1) as w:
        holder = python_reader("hold", channel)
        try:
            wait_readers(w, 1)
            with pytest.raises(shmring.Refused) as e:
                shmring.Reader(channel, timeout=5.0)
            assert e.value.errno == errno.EBUSY
            assert "limit (max_readers)" in str(e.value) and str(holder.pid) in str(e.value)
        finally:
            holder.kill()
            holder.wait()


def test_killed_reader_returns_its_slots(channel: str) -> None:
    """A reader SIGKILLed while it holds frames: the lossless Writer goes on within a second."""
    with gray_writer(channel, timeout=10.0) as w:
        c = c_consume(channel)
        holder = python_reader("hold", channel)
        wait_readers(w, 2)
        done = threading.Event()
        result: list[bool] = []

        def produce() -> None:
            result.extend(publish(w, range(300)))
            done.set()

        t = threading.Thread(target=produce)
        t.start()
        assert line(holder).startswith("held ")
        assert not done.wait(0.3)  # the Writer waits for the stalled lossless reader
        killed = time.monotonic()
        holder.send_signal(signal.SIGKILL)
        holder.wait(5)
        assert done.wait(5.0)
        took = time.monotonic() - killed
        t.join()
        assert took < 1.0, f"the Writer went on {took:.2f} s after the reader died"
        assert all(result) and w.readers == 1
        w.eos()
    assert finish(c) == "read 300 lost 0 bad 0"


def test_live_writer_never_waits_for_a_stalled_reader(channel: str) -> None:
    """Live: a reader that holds its frames and reads nothing more never makes the Writer wait."""
    with gray_writer(channel, policy="live") as w:
        holder = python_reader("hold", channel)
        c = c_consume(channel)
        try:
            wait_readers(w, 2)
            # Frames until the holder holds its most (a wait would raise Timeout): a live queue keeps only
            # the newest, so a holder that starts reading late needs more frames than the first few.
            s = 0
            while not select.select([holder.stdout], [], [], 0.005)[0]:
                assert s < 2000 and w.write(expected(s), pts=s * 1000 + 1, timeout=0), f"frame {s}"
                s += 1
            assert line(holder).startswith("held ")
            assert all(publish(w, range(s, s + 480), timeout=0))
            w.eos()
        finally:
            holder.kill()
            holder.wait()
    out = finish(c)
    assert out.startswith("read ") and out.endswith("bad 0")


def test_hostile_block_is_disconnected(channel: str) -> None:
    """A reader writing nonsense into its block is disconnected (EPROTO, naming the field); others go on."""
    with gray_writer(channel) as w:
        c = c_consume(channel)
        bad = shmring.Reader(channel, timeout=5.0)
        wait_readers(w, 2)
        bad._bmm[0:8] = (1 << 40).to_bytes(8, "little")  # head far past tail
        assert all(publish(w, range(200)))
        end = time.monotonic() + 5.0
        while w.readers > 1:  # the door hangs up on it
            assert time.monotonic() < end, "the hostile reader is still attached"
            time.sleep(0.005)
        w.eos()
        # What it reads now: the producer's REFUSED naming the field, once its queue looks empty.
        bad._bmm[64:72] = (1 << 40).to_bytes(8, "little")
        with pytest.raises(shmring.Refused) as e:
            bad.next_frame(timeout=5.0)
        assert e.value.errno == errno.EPROTO and "head" in str(e.value)
        bad.close()
    assert finish(c) == "read 200 lost 0 bad 0"


@pytest.mark.parametrize("attack", ["holds", "tail", "random"])
def test_hostile_block_bytes_never_hurt_the_writer_or_others(channel: str, attack: str) -> None:
    """Whatever a live reader writes into its block, the Writer goes on and an honest C reader gets every frame.

    (A reader in channel mode that stops taking frames holds a lossless producer back by design.)"""
    rng = random.Random(attack)
    with gray_writer(channel) as w:
        c = c_consume(channel)
        bad = shmring.Reader(channel, timeout=5.0, latest=True)
        wait_readers(w, 2)
        assert bad._bmm is not None
        for i in range(200):
            if attack == "holds":  # a hold naming no slot, or every slot
                bad._bmm[384 + 4 * (i % 2):388 + 4 * (i % 2)] = rng.choice([12345, 0, 1]).to_bytes(4, "little")
            elif attack == "tail":  # the producer's words, which the reader cannot be trusted with
                bad._bmm[64:72] = rng.getrandbits(64).to_bytes(8, "little")
            else:
                off = rng.randrange(0, 640)
                bad._bmm[off] = rng.randrange(256)
            assert publish(w, range(i, i + 1)) == [True]
        w.eos()
        assert w.readers <= 2
        bad.close()
    assert finish(c) == "read 200 lost 0 bad 0"


def test_second_writer_of_a_name_is_refused(channel: str) -> None:
    """A name already served: ChannelBusy naming the producer's pid; free again once it closed."""
    w = gray_writer(channel)
    with pytest.raises(Exception) as e:
        gray_writer(channel)
    assert f"served by pid {os.getpid()}" in str(e.value)
    w.close()
    gray_writer(channel).close()
    with pytest.raises(Closed):
        w.write(expected(0))


def test_python_writer_to_c_pollable_reader(channel: str) -> None:
    """W5 from Python to C: a C reader that waits only in poll() on shmring_consumer_fd() gets every frame of a
    paced Python writer and the end of stream (cross_peer gives up after 5 s without a wake)."""
    import subprocess
    n = 200
    with gray_writer(channel) as w:
        c = subprocess.Popen([tool("CROSS_PEER"), "consume", channel, "poll"], stdout=subprocess.PIPE, text=True)
        wait_readers(w, 1)
        for s in range(n):
            time.sleep(0.002)  # the pace of a camera: the reader sleeps between frames
            assert w.write(expected(s), pts=s * 1000 + 1)
        w.eos()
    out = finish(c).splitlines()
    assert out[1] == f"read {n} lost 0 bad 0"
    assert int(out[0].split()[1]) >= n // 2, out
