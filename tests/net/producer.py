# SPDX-License-Identifier: LGPL-2.1-or-later
"""A producer for the network tests: COUNT pattern frames into a channel with shmring.Writer, then end of stream.

Frame n carries shmring.testing.pattern(n, size) (its sequence number in its first
8 bytes), PTS = the CLOCK_MONOTONIC time it was written.  Prints "ready" once the
channel exists, and with --times FILE writes "seq write_ns" lines there at the end.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import shmring
from shmring.testing import pattern


def mark(buf: "np.ndarray", n: int, width: int, height: int) -> None:
    """Bit i of n as a 64x32 block at x = 64 i, luma 235 (1) or 16 (0), neutral chroma, in an I420 frame."""
    y = buf[: width * height].reshape(height, width)
    c = width * height
    for i in range(20):
        y[:32, 64 * i: 64 * i + 64] = 235 if (n >> i) & 1 else 16
    cw = width // 2
    buf[c: c + 16 * cw] = 128
    buf[c + c // 4: c + c // 4 + 16 * cw] = 128


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("channel")
    ap.add_argument("--format", default="BGR")
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--fps", type=int, default=30, help="frames per second paced on the clock, 0 = as fast as taken")
    ap.add_argument("--policy", default="lossless")
    ap.add_argument("--times", default="")
    ap.add_argument("--queue", type=int, default=2, help="frames queued per reader (the writer's queue_len)")
    ap.add_argument("--drain-timeout", type=float, default=60.0)
    ap.add_argument("--mark", action="store_true",
                    help="I420 only: flat gray frames with the frame's number drawn as 20 blocks across the top 32 rows, "
                         "which an encoder keeps (read back with netlib.read_mark)")
    ap.add_argument("--one-pattern", action="store_true",
                    help="reuse frame 0's pattern, only the number changes (large frames, little memory)")
    a = ap.parse_args()
    period = 1_000_000_000 // a.fps if a.fps > 0 else 0
    times = []
    with shmring.Writer(a.channel, width=a.width, height=a.height, format=a.format, fps=a.fps or 30,
                        policy=a.policy, timeout=None, queue_len=a.queue) as wr:
        print("ready", flush=True)
        # A reader gets the frames written after it attached: wait for the sending end.
        if not wr.wait_reader(timeout=a.drain_timeout):
            print(f"no reader attached within {a.drain_timeout} s", file=sys.stderr)
            return 1
        size = wr.stream.frame_size if wr.stream is not None else 0
        # The pattern repeats every 256 frames: build those once, stamp the sequence number per frame.
        if a.mark:
            frames = [np.full(size, 128, dtype=np.uint8)]  # flat gray: the encoder spends its bits on the marks
        else:
            frames = [pattern(n, size) for n in range(1 if a.one_pattern else min(a.count, 256))]
        start = time.monotonic_ns()
        for n in range(a.count):
            if period:
                due = start + n * period
                now = time.monotonic_ns()
                if due > now:
                    time.sleep((due - now) / 1e9)
            buf = frames[n % len(frames)]
            if a.mark:
                mark(buf, n, a.width, a.height)
            else:
                buf[:8] = np.frombuffer(n.to_bytes(8, "little"), dtype=np.uint8)
            t = time.monotonic_ns()
            wr.write(buf, pts=t, duration=period or None)
            times.append((n, t))
        # Frames queued to a reader stay readable after the close, then the end of stream.
        wr.eos(timeout=None)
    if a.times:
        with open(a.times, "w") as f:
            f.writelines(f"{n} {t}\n" for n, t in times)
    return 0


if __name__ == "__main__":
    sys.exit(main())
