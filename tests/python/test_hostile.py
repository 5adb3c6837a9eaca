# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring.Reader against producers that lie: unsealed or wrong-size memfds, bad answers, bad queues.

Each producer is a separate process speaking protocol 2 by hand (socket,
memfds, seals); the reader must raise a clear shmring.Error, never crash
or hang.
"""

from __future__ import annotations

import errno
import fcntl
import multiprocessing
import os
import socket
import struct
import time
from typing import Callable

import pytest

import shmring
from shmring import CorruptSegment
from shmring import _layout as L

SLOT_TABLE = 36864
PAYLOAD = SLOT_TABLE + 4096
POOL_SIZE = PAYLOAD + 6 * 4096
SEALS_POOL = L.POOL_SEALS
SEALS_BLOCK = L.BLOCK_SEALS
F_ADD_SEALS = getattr(fcntl, "F_ADD_SEALS", 1033)


def identity(pool_size: int = POOL_SIZE) -> bytes:
    """A valid pool identity: 1 reader, queue 2, holds 2, 1 reservation, 6 slots of 4096 bytes."""
    return L.IDENTITY.pack(L.MAGIC, 2, 4096, pool_size, SLOT_TABLE, PAYLOAD, 4096, 7, 6, 1, 2, 2, 1, 0,
                             4096, 4096, 4096, 8, 1024)


def memfd(size: int, seals: int, data: bytes = b"") -> int:
    fd = os.memfd_create("hostile", os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    if data:
        os.pwrite(fd, data, 0)
    if seals:
        fcntl.fcntl(fd, F_ADD_SEALS, seals)
    return fd


def welcome(pool_size: int = POOL_SIZE) -> bytes:
    return L.WELCOME.pack(L.MSG_WELCOME, L.WELCOME.size, 2, 0, pool_size, 7, 2, 0)


def block(tail: int, queue0: int) -> bytes:
    b = bytearray(4096)
    struct.pack_into("<Q", b, 64, tail)
    struct.pack_into("<I", b, 128, queue0)
    struct.pack_into("<64I", b, 384, *([0xFFFFFFFF] * 64))
    return bytes(b)


def pool(slot0: bytes = b"") -> bytes:
    p = bytearray(SLOT_TABLE + 64)
    p[:100] = identity()
    struct.pack_into("<I", p, 132, L.STATE_OPEN)
    p[SLOT_TABLE:SLOT_TABLE + len(slot0)] = slot0
    return bytes(p)


def serve(name: str, answer: Callable[[socket.socket], None], role: int = L.ROLE_READER) -> None:
    """Child: bind the channel's name, answer one HELLO of role, stay until the peer hangs up."""
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ls.bind("\0shmring/" + name)
    ls.listen(4)
    while True:
        s, _ = ls.accept()
        hello = s.recv(64)  # read HELLO: closing over unread data resets the peer
        # Only the test's reader: an observer (shmring ls/info/top of a test run in parallel) is turned away.
        if len(hello) >= 16 and int.from_bytes(hello[12:16], "little") == role:
            break
        s.close()
    answer(s)
    s.settimeout(10)
    try:
        while s.recv(512):
            pass
    except OSError:
        pass


def send(s: socket.socket, msg: bytes, fds: list[int]) -> None:
    socket.send_fds(s, [msg], fds)
    for fd in fds:
        os.close(fd)


def unsealed(s: socket.socket) -> None:
    send(s, welcome(), [memfd(POOL_SIZE, 0, pool()), memfd(4096, SEALS_BLOCK)])


def pool_size_lies(s: socket.socket) -> None:
    send(s, welcome(POOL_SIZE + 4096), [memfd(POOL_SIZE, SEALS_POOL, pool()), memfd(4096, SEALS_BLOCK)])


def identity_size_lies(s: socket.socket) -> None:
    p = bytearray(pool())
    p[:100] = identity(POOL_SIZE * 2)
    send(s, welcome(POOL_SIZE * 2), [memfd(POOL_SIZE, SEALS_POOL, bytes(p)), memfd(4096, SEALS_BLOCK)])


def block_too_small(s: socket.socket) -> None:
    send(s, welcome(), [memfd(POOL_SIZE, SEALS_POOL, pool()), memfd(1024, SEALS_BLOCK)])


def one_descriptor(s: socket.socket) -> None:
    send(s, welcome(), [memfd(POOL_SIZE, SEALS_POOL, pool())])


def reopened(fd: int, flags: int) -> int:
    """The same memfd opened again with other access flags (as a hostile producer may send it)."""
    new = os.open(f"/proc/self/fd/{fd}", flags)
    os.close(fd)
    return new


def pool_write_only(s: socket.socket) -> None:
    send(s, welcome(), [reopened(memfd(POOL_SIZE, SEALS_POOL, pool()), os.O_WRONLY), memfd(4096, SEALS_BLOCK)])


def block_read_only(s: socket.socket) -> None:
    send(s, welcome(), [memfd(POOL_SIZE, SEALS_POOL, pool()), reopened(memfd(4096, SEALS_BLOCK), os.O_RDONLY)])


def block_sealed_against_writes(s: socket.socket) -> None:
    send(s, welcome(), [memfd(POOL_SIZE, SEALS_POOL, pool()), memfd(4096, SEALS_BLOCK | L.F_SEAL_FUTURE_WRITE)])


def refused(s: socket.socket) -> None:
    msg = b"channel 'x' has 4 readers, its limit (max_readers); stop one or raise max_readers"
    s.send(L.REFUSED_HEAD.pack(L.MSG_REFUSED, L.REFUSED_SIZE, errno.EBUSY, 0) + msg.ljust(L.MESSAGE_MAX, b"\0"))


def queue_names_bad_slot(s: socket.socket) -> None:
    send(s, welcome(), [memfd(POOL_SIZE, SEALS_POOL, pool()), memfd(4096, SEALS_BLOCK, block(1, 99))])


def slot_too_big(s: socket.socket) -> None:
    slot0 = L.SLOT.pack(0, 99999, 0, 0, 0, 0, 1, L.SLOT_FRAME, 0, 0)
    send(s, welcome(), [memfd(POOL_SIZE, SEALS_POOL, pool(slot0)), memfd(4096, SEALS_BLOCK, block(1, 0))])


def no_description(s: socket.socket) -> None:
    slot0 = L.SLOT.pack(0, 100, 0, 0, 0, 0, 3, L.SLOT_FRAME, 0, 0)
    send(s, welcome(), [memfd(POOL_SIZE, SEALS_POOL, pool(slot0)), memfd(4096, SEALS_BLOCK, block(1, 0))])


def described(reserved: int = 0, caps: bytes = b"application/x-test") -> bytes:
    """A pool whose slot 0 holds a 100-byte frame of description 1, opaque caps (reserved: a value in
    reserved0, else zero)."""
    p = bytearray(pool(L.SLOT.pack(0, 100, 0, 0, 0, 0, 1, L.SLOT_FRAME, 0, 0)))
    d = struct.pack(L.DESC_FIXED_STRUCT, 1, len(caps), b"", 0, 0, 0, 0, 1, reserved, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    off = L.DESC_OFFSET + 1 * L.DESC_SLOT_SIZE
    p[off:off + len(d)] = d
    p[off + L.DESC["caps"][0]:off + L.DESC["caps"][0] + len(caps) + 1] = caps + b"\0"
    return bytes(p)


def desc_reserved_set(s: socket.socket) -> None:
    send(s, welcome(), [memfd(POOL_SIZE, SEALS_POOL, described(reserved=5)), memfd(4096, SEALS_BLOCK, block(1, 0))])


def desc_caps_holds_nul(s: socket.socket) -> None:
    send(s, welcome(), [memfd(POOL_SIZE, SEALS_POOL, described(caps=b"video/x-raw\0hidden")),
                        memfd(4096, SEALS_BLOCK, block(1, 0))])


def desc_valid(s: socket.socket) -> None:
    send(s, welcome(), [memfd(POOL_SIZE, SEALS_POOL, described()), memfd(4096, SEALS_BLOCK, block(1, 0))])


@pytest.fixture
def hostile(request: pytest.FixtureRequest):
    """Start a hostile producer (the test's parameter) on a private name; yield the name."""
    procs = []

    def start(answer: Callable[[socket.socket], None]) -> str:
        name = f"hostile-{answer.__name__}-{os.getpid()}"
        p = multiprocessing.get_context("fork").Process(target=serve, args=(name, answer), daemon=True)
        p.start()
        procs.append(p)
        return name

    yield start
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.kill()
        assert p.exitcode == 0


@pytest.mark.parametrize("answer, message", [
    (unsealed, "pool is not sealed"),
    (pool_size_lies, "WELCOME does not match the pool"),
    (identity_size_lies, "does not match its slots or its memfd"),
    (block_too_small, "reader block has 1024 bytes, not 4096"),
    (one_descriptor, "invalid message"),
    (pool_write_only, "sent the pool opened write-only"),
    (block_read_only, "sent the reader block opened read-only"),
    (block_sealed_against_writes, "sealed the reader block against writes"),
])
def test_bad_memory_refused_at_attach(hostile, answer, message: str) -> None:
    """Memory that fails the checks (seals, sizes, identity) is refused before it is mapped."""
    name = hostile(answer)
    t0 = time.monotonic()
    with pytest.raises(CorruptSegment, match=message):
        shmring.Reader(name, timeout=10.0)
    assert time.monotonic() - t0 < 5


def test_refused_carries_the_producers_message(hostile) -> None:
    """REFUSED: shmring.Refused with the producer's errno and sentence."""
    name = hostile(refused)
    with pytest.raises(shmring.Refused, match=r"has 4 readers, its limit \(max_readers\)") as e:
        shmring.Reader(name, timeout=10.0)
    assert e.value.errno == errno.EBUSY


@pytest.mark.parametrize("answer, message", [
    (queue_names_bad_slot, "queue entry 0 names slot 99 of 6"),
    (slot_too_big, "slot 0 header is invalid"),
    (no_description, "frame names description 3, its slot holds 0"),
    (desc_reserved_set, "description 1: reserved fields not zero"),
    (desc_caps_holds_nul, "description 1: caps not a string"),
])
def test_bad_frame_is_an_error_every_time(hostile, answer, message: str) -> None:
    """A bad queue entry or slot header: CorruptSegment, latched for every later call, no signal."""
    name = hostile(answer)
    with shmring.Reader(name, timeout=10.0) as r:
        for _ in range(2):
            with pytest.raises(CorruptSegment, match=message):
                r.next_frame(timeout=2.0)
        assert r.held == 0


def test_a_valid_description_passes(hostile) -> None:
    """The forged descriptions above differ from a valid one only in the field each breaks."""
    name = hostile(desc_valid)
    with shmring.Reader(name, timeout=10.0) as r:
        f = r.next_frame(timeout=2.0)
        assert f is not None and f.size == 100 and f.caps == "application/x-test"
        f.release()


def observer_pool_size_lies(s: socket.socket) -> None:
    w = L.WELCOME.pack(L.MSG_WELCOME, L.WELCOME.size, 2, 0xFFFFFFFF, POOL_SIZE + 4096, 7, 0, 0)
    send(s, w, [memfd(POOL_SIZE, SEALS_POOL, pool())])


def observer_generation_lies(s: socket.socket) -> None:
    w = L.WELCOME.pack(L.MSG_WELCOME, L.WELCOME.size, 2, 0xFFFFFFFF, POOL_SIZE, 8, 0, 0)
    send(s, w, [memfd(POOL_SIZE, SEALS_POOL, pool())])


def observer_bad_description(s: socket.socket) -> None:
    p = bytearray(described(reserved=5))
    struct.pack_into("<I", p, L.POOL["desc_id"][0], 1)
    w = L.WELCOME.pack(L.MSG_WELCOME, L.WELCOME.size, 2, 0xFFFFFFFF, POOL_SIZE, 7, 0, 0)
    send(s, w, [memfd(POOL_SIZE, SEALS_POOL, bytes(p))])


@pytest.mark.parametrize("answer, message", [
    (observer_pool_size_lies, "WELCOME names a pool of"),
    (observer_generation_lies, "WELCOME names a pool of"),
    (observer_bad_description, "description 1: reserved fields not zero"),
])
def test_inspect_checks_welcome_against_the_pool(answer, message: str) -> None:
    """shmring.inspect (ls, info, top) checks WELCOME's pool size and generation as a reader does, and an
    invalid description is CorruptSegment (it was a BufferError from the mapping closing under it)."""
    name = f"hostile-{answer.__name__}-{os.getpid()}"
    p = multiprocessing.get_context("fork").Process(target=serve, args=(name, answer, L.ROLE_OBSERVER),
                                                    daemon=True)
    p.start()
    try:
        with pytest.raises(CorruptSegment, match=message):
            shmring.inspect(name, timeout=10.0)
    finally:
        p.join(10)
        if p.is_alive():
            p.kill()
    assert p.exitcode == 0
