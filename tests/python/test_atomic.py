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
