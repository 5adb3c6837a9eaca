# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmringsink->shmringsrc beside GStreamer's unixfdsink->unixfdsrc (1.24 and later) and shmsink->shmsrc.

Usage: unixfd_bench.py  (the environment of gst_bench.py; optional UNIXFD_BENCH_REPEAT,
UNIXFD_BENCH_FRAMES_POOL, UNIXFD_BENCH_FRAMES_FILL, UNIXFD_BENCH_FRAMES_LATENCY)

The same two processes as gst_bench.py, 1080p BGR, one consumer per run, a
private channel or socket per run; the three transports interleaved run by
run, so what else the machine does hits them alike:

- pool: the producer takes each buffer from the pool or allocator the sink
  proposes and writes only its first 16 bytes (signalling cost only);
- fill: the same buffers, each filled whole by the producer: the producer
  copies every frame into the transport's memory (unixfdsink 1.26 takes
  nothing else: it refuses buffers that are not its memory).

frames/s at the consumer from its first frame to its last, CPU time per frame
of each process over the same stretch; the median of UNIXFD_BENCH_REPEAT
flat-out runs. Latency from the producer's buffer entering the sink to the
consumer's fakesink at 30 fps over UNIXFD_BENCH_FRAMES_LATENCY frames (pool).
Skipped (77) where GStreamer has no unixfdsink.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import tempfile
import time
from typing import Optional

import gst_bench
from gst_bench import FAKESINK, Bench, Run, fmt, machine, median_run

REPEAT = int(os.environ.get("UNIXFD_BENCH_REPEAT", "5"))
FRAMES = {"pool": int(os.environ.get("UNIXFD_BENCH_FRAMES_POOL", "20000")),
          "fill": int(os.environ.get("UNIXFD_BENCH_FRAMES_FILL", "2000"))}
LAT_FRAMES = int(os.environ.get("UNIXFD_BENCH_FRAMES_LATENCY", "1000"))
TRANSPORTS = ["shmring", "unixfd", "shm"]
LABEL = {"shmring": "shmringsink → shmringsrc", "unixfd": "unixfdsink → unixfdsrc", "shm": "shmsink → shmsrc"}
MODE_LABEL = {"pool": "pool (frame not written)", "fill": "fill (producer copies the frame in)"}


class UnixfdBench(Bench):
    def descriptions(self, transport: str) -> tuple[str, str]:
        if transport != "unixfd":
            return super().descriptions(transport)
        self.count += 1
        sock = os.path.join(self.tmp, f"unixfd-{self.count}.sock")
        return (f"unixfdsink name=sink socket-path={sock} sync=false",
                f"unixfdsrc socket-path={sock} ! {FAKESINK}")


def best_peer(runs: dict[str, Run], attr: str, lower: bool) -> Optional[tuple[str, float]]:
    """The peer (not shmring) with the best value of attr, if any ran."""
    vals = [(t, getattr(r, attr)) for t, r in runs.items() if t != "shmring" and r.ok and getattr(r, attr) > 0]
    if not vals:
        return None
    return (min if lower else max)(vals, key=lambda tv: tv[1])


def main() -> int:
    for exe in (gst_bench.PRODUCER, gst_bench.CONSUMER):
        if not exe or not os.path.exists(exe):
            print("GST_BENCH_PRODUCER and GST_BENCH_CONSUMER must name the built helpers", file=sys.stderr)
            return 77
    for el in ("shmringsink", "unixfdsink", "unixfdsrc", "shmsink"):
        if subprocess.run(["gst-inspect-1.0", el], capture_output=True).returncode != 0:
            print(f"skipped: GStreamer element {el} not found (unixfdsink: gst-plugins-bad 1.24 or later)",
                  file=sys.stderr)
            return 77
    version = subprocess.run(["gst-launch-1.0", "--version"], capture_output=True, text=True).stdout.split("\n")[1]

    t0 = time.monotonic()
    through: dict[str, dict[str, Run]] = {}
    lat: dict[str, Run] = {}
    with tempfile.TemporaryDirectory(prefix="unixfdbench-") as tmp:
        b = UnixfdBench(tmp)
        for mode in ("pool", "fill"):
            runs: dict[str, list[Run]] = {t: [] for t in TRANSPORTS}
            for _ in range(REPEAT):
                for t in TRANSPORTS:
                    t1 = time.monotonic()
                    r = b.run(t, mode, FRAMES[mode], 0)
                    runs[t].append(r)
                    print(f"# {t} {mode}: {r.fps:.0f} frames/s {' '.join(r.notes)} "
                          f"({time.monotonic() - t1:.1f} s)", file=sys.stderr, flush=True)
            through[mode] = {t: median_run(runs[t]) for t in TRANSPORTS}
        for t in TRANSPORTS:
            lat[t] = b.run(t, "pool", LAT_FRAMES, 30)
            print(f"# {t} latency: p50 {lat[t].p50:.0f} us p99 {lat[t].p99:.0f} us {' '.join(lat[t].notes)}",
                  file=sys.stderr, flush=True)
    elapsed = time.monotonic() - t0

    print(f"\n### shmring beside unixfdsink and shmsink, two processes, {gst_bench.W}x{gst_bench.H} BGR "
          f"({datetime.date.today().isoformat()}; {version}; {machine()})\n")
    print(f"Flat out: median of {REPEAT} runs of {FRAMES['pool']} (pool) / {FRAMES['fill']} (fill) frames, "
          f"transports interleaved. Latency: {LAT_FRAMES} frames at 30 fps (pool), first 5 left out, the "
          "producer's buffer entering the sink to the consumer's fakesink.\n")
    print("| transport | mode | frames/s | producer CPU us/frame | consumer CPU us/frame | notes |")
    print("|---|---|---:|---:|---:|---|")
    failed = False
    for mode in ("pool", "fill"):
        for t in TRANSPORTS:
            r = through[mode][t]
            failed |= not r.ok
            cells = [LABEL[t], MODE_LABEL[mode], fmt(r.fps, 0) if r.ok else "failed",
                     fmt(r.prod_us) if r.ok else "-", fmt(r.cons_us) if r.ok else "-", "; ".join(r.notes)]
            print("| " + " | ".join(cells) + " |")
    print("\n| transport | latency p50 us | latency p99 us | notes |")
    print("|---|---:|---:|---|")
    for t in TRANSPORTS:
        r = lat[t]
        failed |= not r.ok
        print(f"| {LABEL[t]} | {fmt(r.p50) if r.ok else 'failed'} | {fmt(r.p99) if r.ok else '-'} | "
              f"{'; '.join(r.notes)} |")

    print("\n### Against the best peer of this run\n")
    for what, runs, attr, lower, target in (
            ("pool frames/s", through["pool"], "fps", False, 3.0),
            ("fill frames/s", through["fill"], "fps", False, None),
            ("latency p50 at 30 fps", lat, "p50", True, 0.5),
            ("latency p99 at 30 fps", lat, "p99", True, None)):
        peer, mine = best_peer(runs, attr, lower), runs["shmring"]
        if peer is None or not mine.ok or getattr(mine, attr) <= 0:
            print(f"- {what}: n/a")
            continue
        x = getattr(mine, attr) / peer[1]
        goal = ""
        if target is not None:
            met = x <= target if lower else x >= target
            goal = f" (target {'<=' if lower else '>='} {target}x: {'met' if met else 'NOT met'})"
        print(f"- {what}: shmring {x:.2f}x {LABEL[peer[0]]}{goal}")
    print(f"\n({elapsed:.0f} s in all)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
