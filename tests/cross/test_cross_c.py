# SPDX-License-Identifier: LGPL-2.1-or-later
"""C and Python across processes: the C library's producer and reader with the pure-Python shmring.Reader."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Optional

import numpy as np
import pytest
from conftest import tool

import shmring
from shmring import ChannelNotFound, ProducerDied, _atomic
from shmring import _layout as L
from shmring import _reader as _r

HERE = os.path.dirname(os.path.abspath(__file__))
W, H = 64, 48
NO_TIME = (1 << 64) - 1
_I = np.arange(W * H, dtype=np.uint64)


def expected(seq: int) -> np.ndarray:
    """cross_peer.c's pattern for frame ``seq``."""
    return ((seq * 7 + _I * 13) & 0xFF).astype(np.uint8).reshape(H, W)


def line(p: subprocess.Popen, timeout: float = 10.0) -> str:
    """The next line ``p`` prints, waiting at most ``timeout`` s."""
    assert p.stdout is not None
    if not select.select([p.stdout], [], [], timeout)[0]:
        raise AssertionError(f"{p.args} printed nothing within {timeout} s")
    return p.stdout.readline().strip()


def producer(name: str, frames: int, readers: int, *extra: str) -> subprocess.Popen:
    p = subprocess.Popen([tool("CROSS_PEER"), "produce", name, str(frames), str(readers), *extra],
                         stdout=subprocess.PIPE, text=True)
    assert line(p) == "ready"
    return p


def finish(p: subprocess.Popen, timeout: float = 20.0) -> str:
    """Everything ``p`` prints until it exits; it must exit 0."""
    out, _ = p.communicate(timeout=timeout)
    assert p.returncode == 0, f"{p.args} exited {p.returncode}: {out}"
    return out.strip()


def python_reader(mode: str, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, os.path.join(HERE, "py_reader.py"), mode, name],
                            stdout=subprocess.PIPE, text=True)


def test_c_producer_python_reader(channel: str) -> None:
    """Every frame's bytes, seq and metadata, the caps, then end of stream, from C to Python."""
    n = 300
    p = producer(channel, n, 1)
    seqs = []
    with shmring.Reader(channel, timeout=10.0, frame_timeout=10.0) as r:
        for f in r:
            s = f.seq
            seqs.append(s)
            assert f.size == W * H
            assert np.array_equal(f.array, expected(s))
            assert not f.array.flags.writeable
            assert (f.pts, f.dts, f.duration, f.flags) == (s * 1000 + 1, None if s % 2 else s * 1000, 33, s & 0xFF)
            assert (f.info.format, f.info.width, f.info.height, f.info.fps) == ("GRAY8", W, H, 30.0)
            assert f.caps.startswith("video/x-raw, format=(string)GRAY8, width=(int)64")
        assert r.eos and r.next_frame() is None
        assert r.stream is not None and r.stream.format == "GRAY8"
    assert seqs == list(range(n))
    assert finish(p) == "done"


def test_c_and_python_readers_lossless(channel: str) -> None:
    """A C reader and a Python reader on one lossless channel at once: every frame to both, 0 lost."""
    n = 3000
    p = producer(channel, n, 2)
    c = subprocess.Popen([tool("CROSS_PEER"), "consume", channel], stdout=subprocess.PIPE, text=True)
    py = python_reader("check", channel)
    assert finish(c) == f"read {n} lost 0 bad 0"
    assert finish(py) == f"read {n} lost 0 bad 0"
    assert finish(p) == "done"


def test_python_reader_killed_while_holding(channel: str) -> None:
    """A Python reader SIGKILLed while it holds frames: the lossless producer goes on within a second."""
    n = 500
    p = producer(channel, n, 2)
    c = subprocess.Popen([tool("CROSS_PEER"), "consume", channel], stdout=subprocess.PIPE, text=True)
    holder = python_reader("hold", channel)
    try:
        assert line(holder).startswith("held ")
        assert line(p) == "blocked"  # the producer waits for the stalled reader
        t0 = time.monotonic()
        holder.send_signal(signal.SIGKILL)
        holder.wait(5)
        assert line(p, 5.0) == "done"
        took = time.monotonic() - t0
        assert took < 1.0, f"the producer went on {took:.2f} s after the reader died"
    finally:
        holder.kill()
        holder.wait()
    assert finish(c) == f"read {n} lost 0 bad 0"
    assert finish(p) == ""


def test_reader_orders_every_step(channel: str) -> None:
    """Per frame, the reader does each ordered operation the protocol names, on the word it names.

    Take (T1): acquire-load tail, acquire-load head, release-store
    holds[k], CAS head (acq_rel); W4: seq_cst add to taken, seq_cst load of
    producer_waiting; Release (R1): release-store holds[k] = NONE; W1 (each
    wait): store of sleep_seq, seq_cst store of waiting (which publishes it),
    seq_cst load of tail; D1 (each new
    description): acquire-load of its id, acquire fence.  A step done as a
    plain access, or with another order, is missing from its counter.
    """
    n = 200
    p = producer(channel, n, 1)
    frames = 0
    with shmring.Reader(channel, timeout=10.0, frame_timeout=10.0) as r:
        b, pool = r._block, r._pool
        with _atomic.counting() as c:
            for _f in r:
                frames += 1
    assert finish(p) == "done"
    assert frames == n
    print("ordered operations per frame:", {k: round(v / n, 2) for k, v in sorted(c.by_kind.items())})
    holds = range(b + _r._HOLDS, b + _r._HOLDS + 4 * L.HOLDS_MAX, 4)
    assert c.at("load_acquire", b + _r._TAIL) >= n  # T1
    assert c.at("load_acquire", b + _r._HEAD) >= n  # T1
    assert c.at("cas", b + _r._HEAD) >= n  # T1
    assert sum(c.at("store_release", a) for a in holds) >= 2 * n  # T1 holds[k] = s, R1 holds[k] = NONE
    assert c.at("fetch_add", b + _r._TAKEN) >= n  # W4
    assert c.at("load_seq_cst", pool + _r._PRODUCER_WAITING) >= n  # W4
    assert c.at("load_acquire", pool + _r._COMMIT_SEQ) >= n  # W1's value, loaded before each look
    waits = c.at("store_seq_cst", b + _r._WAITING)
    assert c.at("load_seq_cst", b + _r._TAIL) == waits  # W1: store waiting, then load tail, each wait
    assert c.at("store_release", b + _r._SLEEP_SEQ) == waits  # W1: sleep_seq with each waiting value
    assert c.at("load_acquire", pool + 4096 + 4096) >= 1 and c.by_kind.get("fence", 0) >= 1  # D1, id 1
    # S1: a reader that finds its queue empty (before each wait) acquire-loads the state; one that never does
    # (a batching reader behind its producer, which takes the end of stream from its queue) needs not.
    if waits:
        assert c.at("load_acquire", pool + _r._STATE) >= 1


def test_reader_reads_many_frames(channel: str) -> None:
    """5000 frames through real libatomic calls, all read; the CPU per frame is printed (speed is the benchmark's)."""
    n = 5000
    p = producer(channel, n, 1)
    frames = 0
    with shmring.Reader(channel, timeout=10.0, frame_timeout=10.0) as r:
        t0 = time.process_time()
        f: Optional[shmring.Frame]
        while (f := r.next_frame()) is not None:
            frames += 1
            f.release()
        cpu = time.process_time() - t0
    assert finish(p) == "done"
    assert frames == n
    us = cpu / frames * 1e6
    print(f"python reader: {us:.1f} us CPU per frame ({frames} frames)")


def test_live_producer_never_overwrites_a_held_frame(channel: str) -> None:
    """A live C producer pushing out the Python reader's entries: every frame's bytes stay right while held.

    A busy thread and a tiny switch interval make the reader lose the GIL
    between its loads of tail and head, while the producer pushes entries
    out: a head past the tail loaded is the producer moving on, not corruption.
    """
    n = 100000
    p = producer(channel, n, 1, "live")
    prev: Optional[shmring.Frame] = None
    frames = 0
    first = -1
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    busy = threading.Thread(target=spin)
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    busy.start()
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(sys.setswitchinterval, old_interval)
        cleanup.callback(busy.join)
        cleanup.callback(stop.set)
        r = cleanup.enter_context(shmring.Reader(channel, timeout=10.0, frame_timeout=10.0, holds=2))
        while (f := r.next_frame()) is not None:
            assert np.array_equal(f.array, expected(f.seq))
            if prev is not None:  # held across a take while the producer kept writing
                assert f.seq > prev.seq and np.array_equal(prev.array, expected(prev.seq))
                prev.release()
            if first < 0:
                first = f.seq
            prev = f
            frames += 1
        assert r.eos and prev is not None
        assert frames + r.dropped == prev.seq + 1 - first, (frames, r.dropped, first, prev.seq)
    print(f"live: {frames} frames read, {n - frames} pushed out")
    assert finish(p) == "done"


def test_holds_are_capped(channel: str) -> None:
    """One more frame than the holds granted: HoldsExhausted naming the fix; after a release, reading goes on."""
    p = producer(channel, 10, 1)
    with shmring.Reader(channel, timeout=10.0, frame_timeout=10.0, holds=1) as r:
        assert r.holds == 1
        f = r.next_frame()
        assert f is not None
        with pytest.raises(shmring.HoldsExhausted, match="release one first"):
            r.next_frame(timeout=5.0)
        f.release()
        assert [g.seq for g in r] == list(range(1, 10))
    assert finish(p) == "done"


def test_producer_killed_while_reader_waits(channel: str) -> None:
    """The producer SIGKILLed while the reader sleeps on commit_seq: ProducerDied within a second."""
    p = producer(channel, 10, 2)  # waits for a second reader that never comes: writes nothing
    with shmring.Reader(channel, timeout=10.0) as r:
        killer = threading.Timer(0.3, p.kill)
        killer.start()
        t0 = time.monotonic()
        with pytest.raises(ProducerDied, match="the producer died"):
            r.next_frame(timeout=10.0)
        took = time.monotonic() - t0
        killer.join()
        assert took < 1.3, f"death noticed after {took:.2f} s"
        with pytest.raises(ProducerDied):
            r.next_frame(timeout=0)
    p.wait(5)


def test_no_producer(channel: str) -> None:
    """No producer on the name: ChannelNotFound naming the channel, after the timeout."""
    t0 = time.monotonic()
    with pytest.raises(ChannelNotFound, match=f"no channel '{channel}': it has no producer"):
        shmring.Reader(channel, timeout=0.3)
    assert 0.3 <= time.monotonic() - t0 < 2


def test_c_pool_memory_follows_what_is_written(channel: str) -> None:
    """The C producer's slots are allocated as they are first written: before the first frame the pool's
    resident memory is its headers; with one reader holding a frame, a few slots."""
    p = producer(channel, 100, 1)
    st = shmring.inspect(channel)
    headers = st.pool_size - st.n_slots * st.slot_size
    assert st.resident is not None and st.resident <= headers
    with shmring.Reader(channel, timeout=10.0, frame_timeout=10.0) as r:
        first = r.next_frame()
        assert first is not None
        st = shmring.inspect(channel)
        assert st.resident is not None and headers + st.slot_size <= st.resident < st.pool_size
        first.release()
        n = 1 + sum(1 for _ in r)
    assert n == 100
    assert finish(p) == "done"


def test_c_producer_python_pollable_readers(channel: str) -> None:
    """W5 from C to Python: two pollable readers of one C producer, waited for by shmring.wait() alone, get
    every frame and the end of stream (a wake the producer does not give fails the wait's 5 s)."""
    n = 300
    p = producer(channel, n, 2)
    readers = [shmring.Reader(channel, timeout=10.0, pollable=True) for _ in range(2)]
    seqs: list[list[int]] = [[], []]
    waits = 0
    try:
        while not all(r.eos for r in readers):
            due = shmring.wait([r for r in readers if not r.eos], 5.0)
            assert due, "no reader was woken within 5 s"
            waits += 1
            for r in due:
                f = r.poll()
                if f is not None:
                    seqs[readers.index(r)].append(f.seq)
                    assert np.array_equal(f.array, expected(f.seq))
                    f.release()
    finally:
        for r in readers:
            r.close()
    assert seqs == [list(range(n))] * 2
    assert waits >= n
    assert finish(p) == "done"
