#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# async_preview.py: several channels side by side in one asyncio loop, printing each one's rate.
"""Usage: /usr/bin/python3 examples/async_preview.py NAME [NAME ...] [--frames N] [--timeout S]

Reads every channel NAME at once in one asyncio loop (shmring.AsyncReader:
no thread, no polling; each reader's wake descriptor wakes the loop) and
prints, once a second, each channel's frame rate and commit-to-read latency
(p50), then per channel the frames read and missing (sequence gaps).  A
channel ends at its end of stream, or after N frames with --frames.
Ctrl-C ends every channel at once, giving its frames back.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import shmring


class Channel:
    """One channel's counters, this second's and all."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.frames = self.missing = self.second = 0
        self.lat: list[int] = []
        self.end = "reading"


async def read(ch: Channel, limit: int, timeout: float) -> None:
    try:
        async with await shmring.AsyncReader.open(ch.name, timeout=timeout) as reader:
            async for frame in reader:
                ch.frames += 1
                ch.second += 1
                ch.missing += frame.dropped
                ch.lat.append(frame.latency_ns)
                if limit and ch.frames >= limit:
                    ch.end = f"stopped after {limit} frames"
                    return
            ch.end = "end of stream"
    except shmring.Error as e:
        ch.end = f"error: {e}"


def p50_us(lat: list[int]) -> float:
    return sorted(lat)[len(lat) // 2] / 1e3 if lat else 0.0


async def report(chans: list[Channel]) -> None:
    """Once a second, a line per channel."""
    t0 = time.monotonic()
    while True:
        await asyncio.sleep(1.0)
        now = time.monotonic()
        for ch in chans:
            print(f"{ch.name:>20}  {ch.second / (now - t0):6.1f} fps  latency p50 {p50_us(ch.lat):8.1f} us",
                  flush=True)
            ch.second = 0
            ch.lat.clear()
        t0 = now


async def main_async(args: argparse.Namespace) -> int:
    chans = [Channel(n) for n in args.names]
    reporter = asyncio.create_task(report(chans))
    try:
        await asyncio.gather(*(read(ch, args.frames, args.timeout) for ch in chans))
    finally:
        reporter.cancel()
    for ch in chans:
        print(f"{ch.name}: frames {ch.frames}, missing {ch.missing} ({ch.end})", flush=True)
    return 0 if all(not ch.end.startswith("error") for ch in chans) else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="+", metavar="NAME")
    ap.add_argument("--frames", type=int, default=0, help="stop each channel after N frames (0 = end of stream)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each producer")
    args = ap.parse_args()
    try:
        return asyncio.run(main_async(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
