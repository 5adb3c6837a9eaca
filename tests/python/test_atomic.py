# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring._atomic: ordered loads, stores, CAS and add on shared mappings (writable and read-only), and counting."""

from __future__ import annotations

import mmap
import os

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
