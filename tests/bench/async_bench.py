#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""async_bench.py: commit-to-read latency of shmring.AsyncReader (asyncio, wake descriptor) beside the blocking
Reader (futex), 1080p BGR at 30 fps from py_bench_producer; prints a markdown table.

Each row is a fresh producer process and one reader in this process; the
latency of a frame is its commit (the producer's clock) to the moment the
reader has it, p50 and p99 over the frames after the first second.  CPU is
this process's user + system time per frame.  The issue's aim: the
asyncio reader's p50 within 1.5x the blocking one's.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import shmring

FRAMES = int(os.environ.get("ASYNC_BENCH_FRAMES", "180"))
FPS = 30
PRODUCER = os.environ.get("PY_BENCH_PRODUCER", "")


def start(name: str) -> subprocess.Popen:
    p = subprocess.Popen([PRODUCER, name, "inplace", str(FRAMES), str(FPS)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    return p


def blocking(name: str) -> list[int]:
    lat = []
    with shmring.Reader(name, timeout=10.0) as r:
        for f in r:
            lat.append(f.latency_ns)
    return lat


def asynchronous(name: str) -> list[int]:
    async def main() -> list[int]:
        lat = []
        async with shmring.AsyncReader(name, timeout=10.0) as r:
            async for f in r:
                lat.append(f.latency_ns)
        return lat
    return asyncio.run(main())


def asynchronous_two(name: str) -> list[int]:
    """Two channels in one loop; the latency of the first (the second's producer runs beside it)."""
    other = start(name + "-2")

    async def main() -> list[int]:
        lats: list[list[int]] = [[], []]

        async def read(n: str, lat: list[int]) -> None:
            async with shmring.AsyncReader(n, timeout=10.0) as r:
                async for f in r:
                    lat.append(f.latency_ns)
        await asyncio.gather(read(name, lats[0]), read(name + "-2", lats[1]))
        assert len(lats[1]) == FRAMES
        return lats[0]
    try:
        return asyncio.run(main())
    finally:
        other.wait(timeout=30)


def pct(v: list[int], q: float) -> float:
    s = sorted(v)
    return s[min(len(s) - 1, int(q * len(s)))] / 1e3


def row(label: str, fn) -> tuple[str, float]:
    name = f"async-bench-{os.getpid()}-{len(label)}"
    p = start(name)
    c0 = os.times()
    lat = fn(name)
    c1 = os.times()
    p.wait(timeout=30)
    assert len(lat) == FRAMES, f"{label}: {len(lat)} of {FRAMES} frames"
    steady = lat[FPS:]  # after the first second
    cpu = (c1.user + c1.system - c0.user - c0.system) / len(lat) * 1e6
    print(f"| {label} | {len(lat)} | {pct(steady, 0.5):.1f} | {pct(steady, 0.99):.1f} | {cpu:.0f} |", flush=True)
    return label, pct(steady, 0.5)


def main() -> int:
    if not PRODUCER or not os.path.exists(PRODUCER):
        print("PY_BENCH_PRODUCER does not name the built py_bench_producer")
        return 77
    print(f"1080p BGR at {FPS} fps, {FRAMES} frames per row; latency commit -> read after the first second\n")
    print("| reader | frames | p50 us | p99 us | CPU us/frame |")
    print("|---|---|---|---|---|")
    rows = [row("blocking Reader (futex)", blocking), row("AsyncReader (wake descriptor)", asynchronous),
            row("AsyncReader, two channels in one loop", asynchronous_two)]
    base = rows[0][1]
    print()
    for label, p50 in rows[1:]:
        print(f"{label}: p50 {p50 / base:.2f}x the blocking reader's")
    return 0


if __name__ == "__main__":
    t = time.monotonic()
    rc = main()
    print(f"\n({time.monotonic() - t:.0f} s)")
    sys.exit(rc)
