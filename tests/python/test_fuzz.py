# SPDX-License-Identifier: LGPL-2.1-or-later
"""Pool and reader-block fuzz: random bytes in the memory a Reader maps give only shmring.Error, never a crash."""

from __future__ import annotations

import fcntl
import os
import random
import socket
import threading

import numpy as np

import shmring
from shmring import _layout as L
from shmring.testing import pattern

ROUNDS = 400
F_ADD_SEALS = getattr(fcntl, "F_ADD_SEALS", 1033)
INTERESTING = [0, 1, 2, 3, 7, 63, 64, 65, 4095, 4096, 8192, 1 << 31, (1 << 32) - 1, 1 << 32, 1 << 63,
               (1 << 64) - 1]


def _pristine(channel: str) -> tuple[bytes, bytes, tuple[int, ...]]:
    """A real pool and reader block with frames of several formats queued, then an EOS; the WELCOME fields."""
    wr = shmring.Writer(channel, width=7, height=5, format="BGR", policy="live", queue_len=8, max_readers=1)
    rd = shmring.Reader(channel, timeout=1)
    rng = np.random.default_rng(1)
    wr.write(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8))
    wr.set_stream(format="I420", width=9, height=3)
    wr.write(pattern(3, wr.stream.frame_size))
    wr.set_stream(caps="image/jpeg")
    wr.write(pattern(4, 700))
    wr.set_stream(format="NV12", width=4, height=4)
    wr.write(pattern(5, wr.stream.frame_size))
    wr.eos()
    pool = os.pread(wr._fd, wr.pool_size, 0)
    assert rd._bmm is not None
    block = bytes(rd._bmm[:])
    welcome = (L.MSG_WELCOME, L.WELCOME.size, L.VERSION, rd.index, wr.pool_size, wr.generation, rd.holds, 0)
    rd.close()
    wr.close()
    return pool, block, welcome


def _memfd(data: bytes, seals: int) -> int:
    fd = os.memfd_create("fuzz", os.MFD_ALLOW_SEALING | os.MFD_CLOEXEC)
    os.ftruncate(fd, len(data))
    os.pwrite(fd, data, 0)
    fcntl.fcntl(fd, F_ADD_SEALS, seals)
    return fd


def _mutate(rng: random.Random, data: bytes, lo: int, hi: int) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        off = rng.randrange(lo, hi)
        if rng.random() < 0.5:
            b[off] = rng.randrange(256)
        else:
            off -= off % 4
            size = rng.choice((4, 8)) if off % 8 == 0 else 4
            v = rng.choice(INTERESTING) & ((1 << (8 * size)) - 1)
            b[off:off + size] = v.to_bytes(size, "little")
    return bytes(b)


class _FakeProducer:
    """Answers each HELLO on the channel's socket with the memory the test hands it."""

    def __init__(self, name: str) -> None:
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.ls.bind("\0" + L.SOCKET_PREFIX + name)
        self.ls.listen(4)
        self.answer: tuple[bytes, bytes, bytes] = (b"", b"", b"")
        self.conns: list[socket.socket] = []
        self.ready = threading.Semaphore(0)
        self.closing = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            hello = s.recv(64)
            # Only readers are this test's: an observer (shmring ls/info/top run by a test in
            # parallel) would take the answer meant for the next reader.
            if len(hello) < 16 or int.from_bytes(hello[12:16], "little") != L.ROLE_READER:
                s.close()
                continue
            self.ready.acquire()
            if self.closing:
                s.close()
                return
            msg, pool, block = self.answer
            fds = [_memfd(pool, L.POOL_SEALS), _memfd(block, L.BLOCK_SEALS)]
            socket.send_fds(s, [msg], fds)
            for fd in fds:
                os.close(fd)
            self.conns.append(s)

    def close(self) -> None:
        self.closing = True
        self.ls.shutdown(socket.SHUT_RDWR)
        self.ls.close()
        self.ready.release()
        for s in self.conns:
            s.close()


def _read_all(rd: shmring.Reader) -> int:
    n = 0
    for _ in range(16):
        f = rd.poll()
        if f is None:
            break
        n += 1
        f.tobytes()
        if f.info.format:
            f.array.sum()
            for p in f.planes:
                p.sum()
        f.release()
    return n


def test_random_bytes_in_pool_and_block_give_errors_only(channel: str) -> None:
    pool, block, welcome = _pristine(channel)
    slots_end = L.IDENTITY.unpack_from(pool, 0)[5]  # payload_offset: header, descriptions, slot table
    fake = _FakeProducer(channel)
    rng = random.Random(2026)
    outcomes: dict[str, int] = {}
    try:
        fake.answer = (L.WELCOME.pack(*welcome), pool, block)
        fake.ready.release()
        with shmring.Reader(channel, timeout=5) as rd:
            assert _read_all(rd) == 4 and rd.eos  # the pristine memory reads back whole
        for _ in range(ROUNDS):
            p, b = pool, block
            what = rng.random()
            if what < 0.6:
                p = _mutate(rng, pool, 128, slots_end)  # producer line, descriptions, slot headers
            if what > 0.4:
                b = _mutate(rng, block, 0, 640)  # head, tail, queue, holds
            fake.answer = (L.WELCOME.pack(*welcome), p, b)
            fake.ready.release()
            try:
                with shmring.Reader(channel, timeout=5) as rd:
                    _read_all(rd)
                    kind = "read"
            except shmring.Error as e:
                kind = type(e).__name__
            outcomes[kind] = outcomes.get(kind, 0) + 1
            for s in fake.conns:
                s.close()
            fake.conns.clear()
    finally:
        fake.close()
    assert outcomes.get("CorruptSegment", 0) > 0 and outcomes.get("read", 0) > 0, outcomes
