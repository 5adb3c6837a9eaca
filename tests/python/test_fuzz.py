# SPDX-License-Identifier: LGPL-2.1-or-later
"""Corrupt-segment fuzz: random mutations of header, descriptions and records give only shmring.Error."""

from __future__ import annotations

import mmap
import os
import random
import struct

import numpy as np

import shmring
from shmring import layout as L
from shmring.testing import pattern

ROUNDS = 5000
INTERESTING = [0, 1, 2, 3, 7, 63, 64, 65, 4095, 4096, 8192, 1 << 31, (1 << 32) - 1, 1 << 32, 1 << 63,
               (1 << 64) - 1, (1 << 64) - 64]


def _pristine(channel: str) -> tuple[bytes, list[int]]:
    """A segment with a wrapped ring, several descriptions, frames of several formats and an EOS."""
    wr = shmring.Writer(channel, width=7, height=5, format="BGR")
    rd = shmring.Reader(channel, timeout=1)
    rng = np.random.default_rng(1)
    for i in range(10):  # go round the ring once so a PAD record exists
        wr.write(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8))
        rd.next_frame(timeout=1).release()
    wr.write(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8))
    wr.set_stream(format="I420", width=9, height=3)
    wr.write(pattern(3, wr.stream.frame_size))
    wr.set_stream(caps="image/jpeg")
    wr.write(pattern(4, 700))
    wr.set_stream(format="NV12", width=4, height=4)
    wr.write(pattern(5, wr.stream.frame_size))
    wr.eos()
    rd.close()
    with open(shmring.channel_path(channel), "rb") as f:
        data = f.read()
    wr.close()
    hq = struct.unpack_from("<Q", data, L.HEADER["read_pos"][0])[0]
    wq = struct.unpack_from("<Q", data, L.HEADER["write_pos"][0])[0]
    R = len(data) - L.RING_OFFSET
    recs = []
    p = hq
    while p < wq:
        recs.append(L.RING_OFFSET + p % R)
        p += struct.unpack_from("<Q", data, L.RING_OFFSET + p % R + 8)[0]
    return data, recs


def _mutate(buf: mmap.mmap, rng: random.Random, recs: list[int]) -> None:
    for _ in range(rng.randint(1, 4)):
        region = rng.random()
        if region < 0.3:
            base, span = 0, 192  # header words
        elif region < 0.5:
            base, span = L.DESC_OFFSET + rng.randrange(L.DESC_SLOTS) * L.DESC_SLOT_SIZE, 136
        elif region < 0.9:
            base, span = rng.choice(recs), 64  # a record header
        else:
            base, span = 0, len(buf)
        kind = rng.random()
        if kind < 0.45:
            off = base + rng.randrange(span // 8) * 8 if span >= 8 else base
            struct.pack_into("<Q", buf, off, rng.choice(INTERESTING) if rng.random() < 0.6 else rng.getrandbits(64))
        elif kind < 0.75:
            off = base + rng.randrange(span // 4) * 4 if span >= 4 else base
            struct.pack_into("<I", buf, off, rng.choice(INTERESTING) & 0xFFFFFFFF)
        else:
            off = base + rng.randrange(span)
            buf[off] = rng.randrange(256)


def _consume(channel: str, latest: bool = False, after_attach=None) -> int:
    n = 0
    with shmring.Reader(channel, timeout=0, frame_timeout=0, latest=latest) as rd:
        if after_attach is not None:
            after_attach()  # corrupt the segment under an attached reader
        for _ in range(40):
            f = rd.next_frame()
            if f is None:
                break
            n += 1
            for p in f.planes:
                int(p.sum())  # touch every byte the views cover
            int(f.array.sum())
            f.info.caps.encode()
            f.release()
        rd.stats()
    return n


def test_corrupt_segments_raise_clean_errors(channel: str) -> None:
    pristine, recs = _pristine(channel)
    path = shmring.channel_path(channel)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, len(pristine))
        buf = mmap.mmap(fd, len(pristine))
        # The unmutated segment reads cleanly (the dead producer shows up after the frames).
        buf[:] = pristine
        assert _consume(channel) == 4
        outcomes: dict[str, int] = {}
        for seed in range(ROUNDS):
            rng = random.Random(seed)
            buf[:] = pristine
            late = seed % 2 == 1
            if not late:
                _mutate(buf, rng, recs)
            try:
                _consume(channel, latest=seed % 3 == 0,
                         after_attach=(lambda: _mutate(buf, rng, recs)) if late else None)
                key = "ok"
            except shmring.Error as e:
                key = type(e).__name__
            except Exception as e:  # noqa: BLE001 - the point of the test
                raise AssertionError(f"seed {seed}: {type(e).__name__}: {e}") from e
            outcomes[key] = outcomes.get(key, 0) + 1
            try:
                shmring.inspect(channel)
            except shmring.Error:
                pass
        buf.close()
    finally:
        os.close(fd)
        os.unlink(path)
    print(outcomes)
    assert outcomes.get("CorruptSegment", 0) > ROUNDS // 10  # the mutations were noticed
