#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# reader.py: plain Python reader printing frames/s, latency and whether frames are intact.
"""Usage: /usr/bin/python3 examples/reader.py NAME [--verify] [--frames N] [--latest] [--reconnect] [--timeout S]

Reads channel NAME with shmring.Reader (zero copy) and prints, once a second,
the frame rate, the commit-to-read latency (p50/p99), the dropped frames
(sequence gaps) and, with --verify, how many frames carried the test pattern
intact (first 8 bytes = seq, then byte i = (seq*131 + i*7) & 0xff).  At the
end it gives the latency of the frames after the first second, leaving out
start-up.
"""

from __future__ import annotations

import argparse
import sys
import time

import shmring


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("--verify", action="store_true", help="check the test pattern of every frame")
    ap.add_argument("--frames", type=int, default=0, help="stop after N frames (0 = until end of stream)")
    ap.add_argument("--latest", action="store_true", help="skip the backlog, newest frame only")
    ap.add_argument("--reconnect", action="store_true", help="wait for a restarted producer")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the producer")
    args = ap.parse_args()
    if args.verify:
        from shmring.testing import check_pattern
    total = intact = bad = missing = 0
    lat: list[int] = []     # this second's
    every: list[int] = []   # all frames'
    steady: list[int] = []  # after the first second
    t0 = start = 0.0
    n0 = 0
    try:
        with shmring.Reader(args.name, timeout=args.timeout, latest=args.latest,
                            reconnect=args.reconnect) as reader:
            for frame in reader:
                now = time.monotonic()
                if not total:
                    t0 = start = now
                lat.append(frame.latency_ns)
                every.append(frame.latency_ns)
                if now - start >= 1.0:
                    steady.append(frame.latency_ns)
                total += 1
                if args.verify:
                    if check_pattern(frame.data, frame.seq):
                        intact += 1
                    else:
                        bad += 1
                if now - t0 >= 1.0 or (args.frames and total >= args.frames):
                    p50, p99 = percentiles(lat)
                    fps = (total - n0) / (now - t0) if now > t0 else 0.0
                    line = (f"{now - start:5.1f} s {fps:8.1f} fps  latency p50 {p50:8.1f} us  p99 {p99:8.1f} us  "
                            f"dropped {reader.dropped}  {frame.info.format or frame.caps} "
                            f"{frame.array.shape if frame.info.format else frame.size}")
                    if args.verify:
                        line += f"  intact {intact} bad {bad}"
                    if not n0:
                        line += "  (start-up included)"
                    print(line, flush=True)
                    t0, n0, lat = now, total, []
                if args.frames and total >= args.frames:
                    break
            missing = reader.dropped
    except shmring.Error as e:
        print(f"reader: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    print(f"frames {total}, missing {missing}" + (f", intact {intact}, bad {bad}" if args.verify else ""),
          flush=True)
    if every:
        # A run shorter than a second has only start-up to show: report it as such.
        which = "after the first second," if steady else "all (start-up included),"
        p50, p99 = percentiles(steady or every)
        print(f"latency commit -> read, {which} {len(steady or every)} frames: "
              f"p50 {p50:.1f} us, p99 {p99:.1f} us", flush=True)
    return 1 if bad else 0


def percentiles(ns: list[int]) -> tuple[float, float]:
    """p50 and p99 of latencies in nanoseconds, in microseconds."""
    ns = sorted(ns)
    return ns[len(ns) // 2] / 1000, ns[min(len(ns) - 1, len(ns) * 99 // 100)] / 1000


if __name__ == "__main__":
    sys.exit(main())
