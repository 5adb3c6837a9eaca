# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring._atomic: ordered loads, stores, CAS and add on shared mappings (writable and read-only), and counting."""

from __future__ import annotations

import mmap
import os
import threading
import time
from typing import Any

import pytest

from shmring import _atomic as A


def shared(size: int = 4096) -> tuple[int, mmap.mmap, mmap.mmap]:
    """A memfd mapped twice: read-write and read-only (fd, rw, ro)."""
    fd = os.memfd_create("atomic-test")
    os.ftruncate(fd, size)
    rw = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    ro = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
    return fd, rw, ro


def test_operations_on_writable_and_read_only_mappings() -> None:
    """Stores through the writable mapping are seen by loads through the read-only one; CAS and add work."""
    fd, rw, ro = shared()
    w, keep_w = A.addr_of(rw)
    r, keep_r = A.addr_of(ro)
    assert w != r
    A.store_release_64(w + 8, 0x1122334455667788)
    assert A.load_acquire_64(r + 8) == 0x1122334455667788 == int.from_bytes(ro[8:16], "little")
    A.store_seq_cst_32(w + 4, 7)
    assert A.load_seq_cst_32(r + 4) == A.load_acquire_32(r + 4) == A.load_relaxed_32(r + 4) == 7
    assert A.cas_64(w + 8, 1, 2) == (False, 0x1122334455667788)
    assert A.cas_64(w + 8, 0x1122334455667788, 5) == (True, 0x1122334455667788)
    assert A.load_seq_cst_64(r + 8) == 5
    assert A.fetch_add_seq_cst_32(w + 4, 3) == 7 and A.load_acquire_32(r + 4) == 10
    A.store_seq_cst_64(w, (1 << 64) - 1)
    assert A.load_acquire_64(r) == (1 << 64) - 1
    A.fence_acquire()
    A.fence_seq_cst()
    del keep_w, keep_r
    rw.close()
    ro.close()
    os.close(fd)


def test_counting_counts_each_kind() -> None:
    """counting() sees every operation by kind and address, and nothing outside its block."""
    fd, rw, _ro = shared()
    w, keep = A.addr_of(rw)
    A.cas_64(w, 0, 1)
    with A.counting() as c:
        A.load_acquire_64(w)
        A.load_acquire_32(w)
        A.store_release_32(w, 1)
        A.cas_64(w, 1, 2)
        A.fetch_add_seq_cst_32(w, 1)
        A.fence_acquire()
    A.cas_64(w, 0, 1)
    assert c.by_kind == {"load_acquire": 2, "store_release": 1, "cas": 1, "fetch_add": 1, "fence": 1}
    assert c.at("load_acquire", w) == 2 and c.at("cas", w) == 1 and c.at("cas", w + 8) == 0
    del keep
    rw.close()
    os.close(fd)


def test_writer_orders_every_step() -> None:
    """Each step of the Python Writer goes through _atomic with the order shmring.h gives it."""
    import shmring
    from shmring import _layout as L
    name = f"atomic-writer-{os.getpid()}"
    n = 20
    with shmring.Writer(name, caps="application/x-test", max_frame_size=4096, policy="live") as w, \
            shmring.Reader(name, timeout=2) as r:
        pool = w._base
        assert r._bmm is not None
        rb = next(x for x in w._readers if x is not None).addr  # the Writer's mapping of the reader's block
        with A.counting() as c:
            for i in range(n):
                w.write(bytes([i]) * 64)
            w.set_stream(caps="application/x-test2")
            w.write(b"x")
        slot = L.DESC_OFFSET + 2 % L.DESC_SLOTS * L.DESC_SLOT_SIZE
        assert c.at("store_release", rb + L.BLOCK["tail"][0]) == n + 1  # P1: the tail, released after the entry
        assert c.at("store_release", rb + L.BLOCK["queue"][0]) >= 1  # the entry itself
        assert c.at("load_acquire", rb + L.BLOCK["head"][0]) >= n  # P3: head before the holds
        assert sum(c.at("load_acquire", rb + L.BLOCK["holds"][0] + 4 * k) for k in range(r.holds)) >= n  # P3
        assert c.at("cas", rb + L.BLOCK["head"][0]) >= n - 2  # P2: live pushes the oldest entry out
        assert c.at("fetch_add", pool + L.POOL["commit_seq"][0]) == n + 1  # W2: seq_cst add per commit
        assert c.at("load_seq_cst", rb + L.BLOCK["waiting"][0]) == n + 1  # W2: then the waiting flag
        assert c.at("store_release", pool + slot) >= 1  # D1: the new description's id, released
    with A.counting() as c:
        w2 = shmring.Writer(name, caps="x", max_frame_size=4096)
        base = w2._base
        w2.close()
    assert c.at("store_release", base + L.POOL["state"][0]) == 2  # S1: OPEN at start, CLOSED at close



def test_reader_orders_every_step() -> None:
    """Each step of the Python Reader goes through _atomic with the order shmring.h gives it, in order, for
    every entry it takes at once too: W1's commit_seq, T1 (tail, head, the queue entry, holds[k] released
    before the CAS of head), W4 (add to taken, then its seq_cst load of producer_waiting); R1 per release."""
    import shmring
    from shmring import _layout as L
    name = f"atomic-reader-{os.getpid()}"
    with shmring.Writer(name, caps="application/x-test", max_frame_size=4096, queue_len=4, max_holds=4) as w, \
            shmring.Reader(name, timeout=2) as r:
        rb, pool = r._block, r._pool
        head, taken, holds = rb + L.BLOCK["head"][0], rb + L.BLOCK["taken"][0], rb + L.BLOCK["holds"][0]
        queue = rb + L.BLOCK["queue"][0]
        for i in range(4):
            w.write(bytes([i]) * 64)
        with A.counting() as c:
            frames = [r.next_frame() for _ in range(4)]
        assert [f.seq for f in frames if f is not None] == [0, 1, 2, 3]
        ks = [f._entry[0] for f in frames if f is not None]
        assert len(set(ks)) == 4
        expected = []
        for i, k in enumerate(ks):  # all four taken by the first next_frame(), each by the whole sequence
            expected += [("load_acquire", pool + L.POOL["commit_seq"][0]), ("load_acquire", rb + L.BLOCK["tail"][0]),
                         ("load_acquire", head), ("load_relaxed", queue + 4 * i), ("store_release", holds + 4 * k),
                         ("cas", head), ("fetch_add", taken), ("load_seq_cst", pool + L.POOL["producer_waiting"][0])]
        desc = pool + L.DESC_OFFSET + 1 * L.DESC_SLOT_SIZE  # D1 for the first frame: id, fence, id again
        expected += [("load_acquire", desc), ("fence", 0), ("load_relaxed", desc)]
        assert c.log == expected
        assert A.load_acquire_32(taken) == 4
        slots = [(f._off - r._id.payload_offset) // r._id.slot_size for f in frames if f is not None]
        assert [A.load_acquire_32(holds + 4 * k) for k in ks] == slots  # each frame's slot in its hold
        with A.counting() as c:
            for f in frames:
                assert f is not None
                f.release()
        assert c.log == [("store_release", holds + 4 * k) for k in ks]  # R1
        assert {A.load_acquire_32(holds + 4 * k) for k in range(r.holds)} == {L.SLOT_NONE}


def test_reader_publishes_what_it_sleeps_on_before_it_sleeps() -> None:
    """W1: before each sleep the reader stores sleep_seq, the commit_seq value it will sleep on, then the seq_cst
    store of waiting that publishes it, then the seq_cst load of tail: a producer that sees the waiting value sees
    which commit the reader has seen."""
    import shmring
    from shmring import _layout as L
    name = f"atomic-sleep-{os.getpid()}"
    with shmring.Writer(name, caps="application/x-test", max_frame_size=4096) as w, \
            shmring.Reader(name, timeout=2) as r:
        rb, seq = r._block, r._pool + L.POOL["commit_seq"][0]
        sleep_seq, waiting, tail = (rb + L.BLOCK[k][0] for k in ("sleep_seq", "waiting", "tail"))
        w.write(b"x" * 64)
        f = r.next_frame()
        assert f is not None
        f.release()
        with A.counting() as c, pytest.raises(shmring.Timeout):
            r.next_frame(timeout=0.05)  # nothing queued: one sleep at least
        w1 = [("store_release", sleep_seq), ("store_seq_cst", waiting), ("load_seq_cst", tail)]
        starts = [i for i in range(len(c.log)) if c.log[i:i + 3] == w1]
        assert starts and len(starts) == c.at("store_seq_cst", waiting), c.log
        assert A.load_acquire_32(sleep_seq) == A.load_acquire_32(seq) != 0  # the value it slept on


def test_reader_loads_the_state_when_its_queue_is_empty() -> None:
    """S1: a reader that finds its queue empty acquire-loads the pool's state (a close is seen there), and once
    the writer closed after the end of stream it ends rather than waits."""
    import shmring
    from shmring import _layout as L
    name = f"atomic-state-{os.getpid()}"
    w = shmring.Writer(name, caps="application/x-test", max_frame_size=4096)
    try:
        with shmring.Reader(name, timeout=2) as r:
            state = r._pool + L.POOL["state"][0]
            with A.counting() as c:
                assert r.poll() is None  # nothing queued
            assert c.at("load_acquire", state) == 1
            w.eos()
            w.close()
            assert r.next_frame(timeout=2) is None  # the end of stream, from the queue
            with A.counting() as c:
                assert r.next_frame(timeout=2) is None  # ended: no wait
            assert c.by_kind.get("store_seq_cst", 0) == 0
    finally:
        w.close()


def test_reader_wakes_a_waiting_producer_once_for_the_entries_it_takes(monkeypatch: Any) -> None:
    """A lossless producer waiting for room (W3) is woken once when the reader takes its four queued entries."""
    import shmring
    from shmring import _layout as L
    from shmring import _reader
    name = f"atomic-wake-{os.getpid()}"
    with shmring.Writer(name, caps="application/x-test", max_frame_size=4096, queue_len=4, max_holds=4) as w, \
            shmring.Reader(name, timeout=2) as r:
        taken = r._block + L.BLOCK["taken"][0]
        wakes: list[int] = []
        real_wake = _reader._sys.futex_wake

        def wake(addr: int) -> None:
            wakes.append(addr)
            real_wake(addr)
        monkeypatch.setattr(_reader._sys, "futex_wake", wake)
        for i in range(4):
            w.write(bytes([i]) * 64)
        fifth = threading.Thread(target=w.write, args=(b"x" * 64,), kwargs={"timeout": 10})
        fifth.start()  # no room: the producer waits (W3) until the reader takes an entry
        while not A.load_seq_cst_32(r._pool + L.POOL["producer_waiting"][0]):
            time.sleep(0)  # let the writer's thread run until it waits
        f = r.next_frame()
        fifth.join(10)
        assert not fifth.is_alive() and f is not None and f.seq == 0
        assert wakes.count(taken) == 1 and A.load_acquire_32(taken) == 4
        f.release()
        assert [g.seq for g in (r.next_frame(), r.next_frame(), r.next_frame(), r.next_frame()) if g is not None] \
            == [1, 2, 3, 4]
