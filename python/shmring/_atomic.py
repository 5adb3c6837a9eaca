# SPDX-License-Identifier: LGPL-2.1-or-later
"""Ordered access to shared memory (acquire, release, seq_cst, CAS, fences) through libatomic.so.1.

Every shared word protocol 2 orders is read or written here and nowhere
else, by address (``addr_of()`` gives the address of a mapping), through
``ctypes`` into GCC's ``libatomic.so.1`` (Debian package ``libatomic1``):
``__atomic_load_N``, ``__atomic_store_N``, ``__atomic_compare_exchange_N``,
``__atomic_fetch_add_4`` and ``atomic_thread_fence``, each with its C11
memory order.  These are real ordered operations on every architecture
(ldar/stlr/dmb on aarch64), so the Python side is correct on weakly
ordered CPUs as well as on x86-64.

There is no fallback: protocol 2's reader needs a compare-and-swap, which
plain loads and stores cannot give on any machine, so without
libatomic.so.1 importing this module raises ImportError naming the
package to install.

Instrumentation: inside ``with counting() as c:`` every operation adds 1
to the counter of its kind (``load_relaxed``, ``load_acquire``,
``load_seq_cst``, ``store_release``, ``store_seq_cst``, ``cas``,
``fetch_add``, ``fence``) and to that of its kind and address, and is
appended to a log in program order, so a test can check that each step the
protocol orders is done as such, word by word, and before the step it must
precede.  Outside it the cost is one global load per operation.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Union

__all__ = ["RELAXED", "ACQUIRE", "RELEASE", "ACQ_REL", "SEQ_CST", "LIBRARY", "addr_of",
           "load_relaxed_32", "load_acquire_32", "load_acquire_64", "load_seq_cst_32", "load_seq_cst_64",
           "store_release_32", "store_release_64", "store_seq_cst_32", "store_seq_cst_64",
           "cas_64", "fetch_add_seq_cst_32", "fence_acquire", "fence_seq_cst", "counting", "Counts"]

# C11 memory orders, as GCC numbers them.
RELAXED = 0
ACQUIRE = 2
RELEASE = 3
ACQ_REL = 4
SEQ_CST = 5

LIBRARY = "libatomic.so.1"


def _load_library() -> ctypes.CDLL:
    try:
        return ctypes.CDLL(LIBRARY)
    except OSError:
        found = ctypes.util.find_library("atomic")
        if found:
            try:
                return ctypes.CDLL(found)
            except OSError:
                pass
    raise ImportError(f"shmring needs {LIBRARY} for ordered shared-memory access (protocol 2); "
                      f"install it: apt-get install libatomic1") from None


_lib = _load_library()
_p = ctypes.c_void_p
_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
_int = ctypes.c_int


def _fn(name: str, restype: Any, *argtypes: Any) -> Any:
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_load4 = _fn("__atomic_load_4", _u32, _p, _int)
_load8 = _fn("__atomic_load_8", _u64, _p, _int)
_store4 = _fn("__atomic_store_4", None, _p, _u32, _int)
_store8 = _fn("__atomic_store_8", None, _p, _u64, _int)
_cas8 = _fn("__atomic_compare_exchange_8", ctypes.c_bool, _p, _p, _u64, _int, _int)
_add4 = _fn("__atomic_fetch_add_4", _u32, _p, _u32, _int)
_fence = _fn("atomic_thread_fence", None, _int)

class Counts:
    """Ordered operations counted by ``counting()``.

    Attributes:
        by_kind: kind -> operations (kinds as in the module documentation).
        by_address: (kind, address) -> operations (fences have address 0).
        log: every operation as (kind, address), in the order they were done.
    """

    def __init__(self) -> None:
        self.by_kind: dict[str, int] = {}
        self.by_address: dict[tuple[str, int], int] = {}
        self.log: list[tuple[str, int]] = []

    def at(self, kind: str, addr: int) -> int:
        """Operations of ``kind`` on the word at ``addr``."""
        return self.by_address.get((kind, addr), 0)


# The counters while counting() is active, else None.
_counts: Optional[Counts] = None


def _count(kind: str, addr: int) -> None:
    c = _counts
    if c is not None:
        c.by_kind[kind] = c.by_kind.get(kind, 0) + 1
        c.by_address[kind, addr] = c.by_address.get((kind, addr), 0) + 1
        c.log.append((kind, addr))


@contextmanager
def counting() -> Iterator[Counts]:
    """Count every ordered operation by kind and address while the ``with`` block runs."""
    global _counts
    old = _counts
    counts = Counts()
    _counts = counts
    try:
        yield counts
    finally:
        _counts = old


def addr_of(buf: Union[mmap.mmap, Any]) -> tuple[int, Any]:
    """The address of a mapping's first byte, and an object that keeps the address valid.

    A writable mmap goes through ``ctypes.c_char.from_buffer``; a read-only
    one (which ctypes refuses) through a numpy uint8 view's
    ``__array_interface__``.  Both hold a buffer export: keep the returned
    object while the address is used and drop it before ``mmap.close()``.
    """
    try:
        keep: Any = ctypes.c_char.from_buffer(buf)
        return ctypes.addressof(keep), keep
    except TypeError:
        import numpy
        keep = numpy.frombuffer(buf, numpy.uint8)
        addr: int = keep.__array_interface__["data"][0]
        return addr, keep


def load_relaxed_32(addr: int) -> int:
    """Relaxed (single-copy atomic, unordered) load of the u32 at ``addr``."""
    if _counts is not None:
        _count("load_relaxed", addr)
    v: int = _load4(addr, RELAXED)
    return v


def load_acquire_32(addr: int) -> int:
    """Acquire load of the u32 at ``addr``."""
    if _counts is not None:
        _count("load_acquire", addr)
    v: int = _load4(addr, ACQUIRE)
    return v


def load_acquire_64(addr: int) -> int:
    """Acquire load of the u64 at ``addr``."""
    if _counts is not None:
        _count("load_acquire", addr)
    v: int = _load8(addr, ACQUIRE)
    return v


def load_seq_cst_32(addr: int) -> int:
    """Sequentially consistent load of the u32 at ``addr``."""
    if _counts is not None:
        _count("load_seq_cst", addr)
    v: int = _load4(addr, SEQ_CST)
    return v


def load_seq_cst_64(addr: int) -> int:
    """Sequentially consistent load of the u64 at ``addr``."""
    if _counts is not None:
        _count("load_seq_cst", addr)
    v: int = _load8(addr, SEQ_CST)
    return v


def store_release_32(addr: int, value: int) -> None:
    """Release store of u32 ``value`` at ``addr``."""
    if _counts is not None:
        _count("store_release", addr)
    _store4(addr, value, RELEASE)


def store_release_64(addr: int, value: int) -> None:
    """Release store of u64 ``value`` at ``addr``."""
    if _counts is not None:
        _count("store_release", addr)
    _store8(addr, value, RELEASE)


def store_seq_cst_32(addr: int, value: int) -> None:
    """Sequentially consistent store of u32 ``value`` at ``addr``."""
    if _counts is not None:
        _count("store_seq_cst", addr)
    _store4(addr, value, SEQ_CST)


def store_seq_cst_64(addr: int, value: int) -> None:
    """Sequentially consistent store of u64 ``value`` at ``addr``."""
    if _counts is not None:
        _count("store_seq_cst", addr)
    _store8(addr, value, SEQ_CST)


def cas_64(addr: int, expected: int, desired: int) -> tuple[bool, int]:
    """Compare-and-swap (acq_rel on success, acquire on failure) of the u64 at ``addr``.

    Returns (True, expected) if the word held ``expected`` and now holds
    ``desired``, else (False, the value it held).
    """
    if _counts is not None:
        _count("cas", addr)
    e = _u64(expected)
    ok: bool = _cas8(addr, ctypes.byref(e), desired, ACQ_REL, ACQUIRE)
    return ok, int(e.value)


def fetch_add_seq_cst_32(addr: int, value: int) -> int:
    """Sequentially consistent add of ``value`` to the u32 at ``addr``; returns the old value."""
    if _counts is not None:
        _count("fetch_add", addr)
    v: int = _add4(addr, value, SEQ_CST)
    return v


def fence_acquire() -> None:
    """Acquire fence (atomic_thread_fence(memory_order_acquire))."""
    if _counts is not None:
        _count("fence", 0)
    _fence(ACQUIRE)


def fence_seq_cst() -> None:
    """Full fence (atomic_thread_fence(memory_order_seq_cst))."""
    if _counts is not None:
        _count("fence", 0)
    _fence(SEQ_CST)
