# SPDX-License-Identifier: LGPL-2.1-or-later
"""A Python reader process for the cross tests: check every frame, or hold frames and stall.

    py_reader.py check NAME   read to end of stream, print "read N lost M bad B"
    py_reader.py hold NAME    take every frame it may hold, print "held K", then sleep until killed
"""

from __future__ import annotations

import sys
import time

import numpy as np

import shmring

W, H = 64, 48
_I = np.arange(W * H, dtype=np.uint64)


def expected(seq: int) -> "np.ndarray":
    """The producer's pattern for frame ``seq`` (tests/cross/cross_peer.c)."""
    return ((seq * 7 + _I * 13) & 0xFF).astype(np.uint8).reshape(H, W)


def check(name: str) -> None:
    n = lost = bad = 0
    expect = 0
    with shmring.Reader(name, timeout=10.0, frame_timeout=10.0) as r:
        for f in r:
            lost += f.seq - expect
            expect = f.seq + 1
            ok = f.size == W * H and f.pts == f.seq * 1000 + 1 and np.array_equal(f.array, expected(f.seq))
            bad += not ok
            n += 1
    print(f"read {n} lost {lost} bad {bad}", flush=True)


def hold(name: str) -> None:
    r = shmring.Reader(name, timeout=10.0, frame_timeout=10.0)
    kept = [r.next_frame() for _ in range(r.holds)]
    print(f"held {len(kept)}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    {"check": check, "hold": hold}[sys.argv[1]](sys.argv[2])
