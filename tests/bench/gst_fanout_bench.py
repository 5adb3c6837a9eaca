# SPDX-License-Identifier: LGPL-2.1-or-later
"""Four readers of one GStreamer producer: one shmringsink and four shmringsrc, against shmsink with four shmsrc.

Usage: gst_fanout_bench.py  (env GST_BENCH_PRODUCER, GST_BENCH_CONSUMER = the built helpers;
GST_PLUGIN_PATH_1_0 with the shmring plugin; optional GST_BENCH_FRAMES_FANOUT,
GST_BENCH_FRAMES_LATENCY, GST_BENCH_REPEAT)

One gst_bench_producer (pool mode: the sink's buffers, only the stamp
written) and N gst_bench_consumer processes, for shmring and for shmsink,
with one reader and with four:

- flat out: frames/s of the slowest reader, from its first frame to its last,
  the median of GST_BENCH_REPEAT runs taken in turns with the other rows;
  with the default settings, then with four readers and deeper queues
  (shmringsink queue-length=DEEP_QUEUE) against shmsink given the same
  memory (its shm-size set to what that channel took);
- latency at 30 fps: p50 and p99 of the slowest reader, the producer's buffer
  entering the sink to the reader's fakesink;
- a slow reader: four readers at 30 fps, one of them sleeping 200 ms per frame
  (shmringsrc latest=true: it never holds the producer back; shmsrc has no
  such mode); what the three others lose or how their rate falls.
"""

from __future__ import annotations

import datetime
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Optional

from gst_bench import CAPS, CHILD_TIMEOUT, CONSUMER, FAKESINK, PRODUCER, SHM_BYTES, W, H, communicate, \
    first_line, machine, result

FRAMES = int(os.environ.get("GST_BENCH_FRAMES_FANOUT", "10000"))
# Flat-out runs per row, interleaved across the rows so that a busy moment of
# the machine hits every transport alike; the median is reported.
REPEAT = int(os.environ.get("GST_BENCH_REPEAT", "3"))
LAT_FRAMES = int(os.environ.get("GST_BENCH_FRAMES_LATENCY", "300"))
SLOW = "identity sleep-time=200000"  # us per frame: 5 frames/s
# Frames queued per reader in the "deep" rows: on two CPUs, four readers and
# the producer then run in longer turns instead of waking each other at
# every frame or two.
DEEP_QUEUE = 12
LABEL = {"shmring": "shmringsink → shmringsrc", "shm": "shmsink → shmsrc"}


@dataclass
class Fan:
    ok: bool = False
    fps: float = 0.0          # the slowest of the (fast) readers
    p50: float = -1.0         # the slowest reader's
    p99: float = -1.0
    missed: int = 0           # frames the fast readers did not get, in all
    memory: int = 0           # bytes of shared memory the channel took (slots x size, or shm-size)
    fast_fps: float = 0.0     # slow run: the slowest fast reader's frames/s
    notes: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.count = 0

    def run(self, transport: str, readers: int, frames: int, fps: int, slow: bool = False,
            queue: int = 0, shm_size: int = SHM_BYTES) -> Fan:
        """queue: shmringsink's queue-length (0: its default); shm_size: shmsink's."""
        self.count += 1
        if transport == "shmring":
            ch = f"gstfan-{os.getpid()}-{self.count}"
            sink = f"shmringsink name=sink channel={ch} sync=false" + (f" queue-length={queue}" if queue else "")
            src = f"shmringsrc channel={ch} timeout={int(CHILD_TIMEOUT * 1e9)}"
            slow_src = f"{src} latest=true ! {SLOW}"
        else:
            sock = os.path.join(self.tmp, f"shm-{self.count}.sock")
            sink = (f"shmsink name=sink socket-path={sock} shm-size={shm_size} wait-for-connection=true "
                    "sync=false")
            src = f"shmsrc socket-path={sock} is-live=true do-timestamp=true ! {CAPS}"
            slow_src = f"{src} ! {SLOW}"
        r = Fan()
        env = dict(os.environ, GST_BENCH_READERS=str(readers))
        prod = subprocess.Popen([PRODUCER, "pool", str(frames), str(fps), sink], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        cons: list[subprocess.Popen] = []
        try:
            assert prod.stdout is not None
            ready, _, _ = select.select([prod.stdout], [], [], CHILD_TIMEOUT)
            line = prod.stdout.readline() if ready else ""
            if not line.startswith("ready "):
                r.notes.append("producer did not start")
                return r
            for i in range(readers):
                pipeline = f"{slow_src if slow and i == readers - 1 else src} ! {FAKESINK}"
                cons.append(subprocess.Popen([CONSUMER, str(frames), str(int(CHILD_TIMEOUT)), pipeline],
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            outs = [communicate(c, CHILD_TIMEOUT + 10, r, f"reader {i}") for i, c in enumerate(cons)]
            pout, perr = communicate(prod, 20, r, "producer")
            fast = [result(o) for o, _ in (outs[:-1] if slow else outs)]
            if any(c is None for c in fast) or result(pout) is None:
                errs = [e for _, e in outs] + [perr]
                r.notes.append(next((first_line(e) for e in errs if first_line(e)), "no result"))
                return r
            r.missed = sum(frames - c["frames"] for c in fast)
            r.memory = result(pout).get("channel_bytes", 0)
            rates = [(c["frames"] - 1) / c["seconds"] if c["seconds"] > 0 else 0.0 for c in fast]
            r.fps = r.fast_fps = min(rates)
            worst = max(fast, key=lambda c: c["lat_p50_us"])
            r.p50, r.p99 = worst["lat_p50_us"], worst["lat_p99_us"]
            r.ok = prod.returncode == 0 and all(c.returncode == 0 for c in (cons[:-1] if slow else cons))
            if not slow and r.missed:
                r.notes.append(f"readers missed {r.missed} frames")
            if not r.ok:
                r.notes.append("exit status producer %s, readers %s" % (prod.returncode,
                                                                         [c.returncode for c in cons]))
            return r
        finally:
            for child in cons + [prod]:
                if child.poll() is None:
                    child.kill()
                    child.wait()


def median_fan(runs: list[Fan]) -> Fan:
    """The run of median frames/s among those that went through (a failed one if none did)."""
    ok = sorted((r for r in runs if r.ok), key=lambda r: r.fps)
    return ok[len(ok) // 2] if ok else runs[0]


def fmt(v: float, digits: int = 1) -> str:
    return f"{v:.{digits}f}" if v >= 0 else "-"


def main() -> int:
    for exe in (PRODUCER, CONSUMER):
        if not exe or not os.path.exists(exe):
            print("GST_BENCH_PRODUCER and GST_BENCH_CONSUMER must name the built helpers", file=sys.stderr)
            return 77
    for el in ("shmringsink", "shmsink", "identity"):
        if subprocess.run(["gst-inspect-1.0", el], capture_output=True).returncode != 0:
            print(f"skipped: GStreamer element {el} not found", file=sys.stderr)
            return 77
    t0 = time.monotonic()
    # Rows: (transport, readers, deep).  Deep rows: shmring with deeper
    # queues, then shmsink with that channel's memory as its shm-size.
    rows = [(t, n, False) for n in (1, 4) for t in ("shmring", "shm")] + [("shmring", 4, True), ("shm", 4, True)]
    flat: dict[tuple[str, int, bool], Fan] = {}
    lat: dict[tuple[str, int, bool], Fan] = {}
    slow: dict[str, Fan] = {}
    with tempfile.TemporaryDirectory(prefix="gstfan-") as tmp:
        b = Bench(tmp)
        runs: dict[tuple[str, int, bool], list[Fan]] = {k: [] for k in rows}
        deep_bytes = SHM_BYTES
        for _ in range(max(REPEAT, 1)):
            for t, n, deep in rows:
                f = b.run(t, n, FRAMES, 0, queue=DEEP_QUEUE if deep and t == "shmring" else 0,
                          shm_size=deep_bytes if deep else SHM_BYTES)
                if deep and t == "shmring" and f.ok and f.memory:
                    deep_bytes = f.memory
                runs[(t, n, deep)].append(f)
                print(f"# {t} x{n}{' deep' if deep else ''}: {f.fps:.0f} frames/s {' '.join(f.notes)}",
                      file=sys.stderr, flush=True)
        for k in rows:
            flat[k] = median_fan(runs[k])
            if k[2]:
                continue
            lat[k] = b.run(k[0], k[1], LAT_FRAMES, 30)
            print(f"# {k[0]} x{k[1]}: p50 {lat[k].p50:.0f} us {' '.join(lat[k].notes)}", file=sys.stderr,
                  flush=True)
        for t in ("shmring", "shm"):
            slow[t] = b.run(t, 4, LAT_FRAMES, 30, slow=True)
    elapsed = time.monotonic() - t0

    print(f"\n### Four readers of one producer, {W}x{H} BGR, pool mode "
          f"({datetime.date.today().isoformat()}; {machine()})\n")
    print(f"Flat out: {FRAMES} frames, the slowest reader's frames/s, median of {max(REPEAT, 1)} runs. Latency: "
          f"{LAT_FRAMES} frames at 30 fps, the slowest reader's, producer's buffer entering the sink to the reader's "
          f"fakesink. Memory: shmringsink's slots x slot size, shmsink's shm-size. Deep queues: shmringsink "
          f"queue-length={DEEP_QUEUE}, against shmsink with as much memory.\n")
    print("| transport | settings | readers | memory MiB | frames/s | vs 1 reader | frames/s vs shmsink, same readers "
          "| latency p50 us | p50 vs 1 reader | latency p99 us | notes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    failed = False
    for t in ("shmring", "shm"):
        for n, deep in ((1, False), (4, False), (4, True)):
            r, one, peer = flat[(t, n, deep)], flat[(t, 1, False)], flat[("shm", n, deep)]
            lr, lone = lat.get((t, n, deep)), lat[(t, 1, False)]
            failed |= not r.ok or (lr is not None and not lr.ok)
            settings = ("default" if not deep else
                        f"queue-length={DEEP_QUEUE}" if t == "shmring" else "shm-size as the shmring channel")
            cells = [LABEL[t], settings, str(n), fmt(r.memory / 2**20) if r.ok else "-",
                     fmt(r.fps, 0) if r.ok else "failed",
                     f"{r.fps / one.fps:.2f}x" if r.ok and one.ok and one.fps else "-",
                     f"{r.fps / peer.fps:.2f}x" if r.ok and peer.ok and peer.fps else "-",
                     "-" if lr is None else fmt(lr.p50) if lr.ok else "failed",
                     f"{lr.p50 / lone.p50:.2f}x" if lr is not None and lr.ok and lone.ok and lone.p50 > 0 else "-",
                     fmt(lr.p99) if lr is not None and lr.ok else "-",
                     "; ".join(r.notes + (lr.notes if lr is not None else []))]
            print("| " + " | ".join(cells) + " |")

    print(f"\nA slow reader (200 ms per frame) beside three others, {LAT_FRAMES} frames at 30 fps:\n")
    print("| transport | slow reader | frames the three others missed | share of their frames "
          "| the others' frames/s | notes |")
    print("|---|---|---:|---:|---:|---|")
    for t, how in (("shmring", "shmringsrc latest=true"), ("shm", "shmsrc")):
        r = slow[t]
        failed |= not r.ok
        share = 100.0 * r.missed / (3 * LAT_FRAMES)
        print(f"| {LABEL[t]} | {how} | {r.missed if r.ok else 'failed'} | {fmt(share, 2) + ' %' if r.ok else '-'} "
              f"| {fmt(r.fast_fps) if r.ok else '-'} | {'; '.join(r.notes)} |")
    print("\n### Targets\n")
    checks: list[tuple[str, Optional[float], bool]] = []
    for deep, how in ((False, "default settings"), (True, f"queue-length={DEEP_QUEUE}, shmsink as much memory")):
        ring4, shm4 = flat[("shmring", 4, deep)], flat[("shm", 4, deep)]
        if ring4.ok and shm4.ok and shm4.fps:
            checks.append((f"four readers, frames/s >= 3x shmsink with four shmsrc ({how})", ring4.fps / shm4.fps,
                           ring4.fps >= 3 * shm4.fps))
    l1, l4 = lat[("shmring", 1, False)], lat[("shmring", 4, False)]
    if l1.ok and l4.ok and l1.p50 > 0:
        checks.append(("latency p50 at 30 fps, four readers vs one (<= 1.2x)", l4.p50 / l1.p50,
                       l4.p50 <= 1.2 * l1.p50))
    s = slow["shmring"]
    if s.ok:
        share = s.missed / (3 * LAT_FRAMES)
        checks.append(("a slow reader costs the others under 1 % of frames", 100 * share, share < 0.01))
    for what, val, met in checks:
        print(f"- {'met' if met else 'NOT met'}: {what} ({val:.2f})")
    print(f"\n({elapsed:.0f} s in all)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
