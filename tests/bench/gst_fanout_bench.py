# SPDX-License-Identifier: LGPL-2.1-or-later
"""Four readers of one GStreamer producer: shmringsink with shmringsrc readers, shmsink with shmsrc, unixfdsink with unixfdsrc.

Usage: gst_fanout_bench.py  (env GST_BENCH_PRODUCER, GST_BENCH_CONSUMER = the built helpers;
GST_PLUGIN_PATH_1_0 with the shmring plugin; optional GST_BENCH_FRAMES_FANOUT,
GST_BENCH_FRAMES_LATENCY, GST_BENCH_FRAMES_SLOW, GST_BENCH_REPEAT)

One gst_bench_producer (pool mode: the sink's buffers, only the stamp
written) and N gst_bench_consumer processes, for each transport, with one
reader and with four (unixfdsink → unixfdsrc where GStreamer has it,
1.24 and later; its rows say "skipped" where not):

- flat out: frames/s of the slowest reader, from its first frame to its last,
  the median of GST_BENCH_REPEAT runs taken in turns with the other rows;
  CPU per frame of the producer and of the readers (their mean); with the
  default settings, then with four readers and deeper queues (shmringsink
  queue-length=DEEP_QUEUE) against the peers given the same memory
  (shmsink's shm-size, the producer's pool on unixfdsink's memfd
  allocator: as many frames as that channel took);
- latency at 30 fps: p50 and p99 of the slowest reader over
  GST_BENCH_FRAMES_LATENCY frames (1,005: the last 1,000), the producer's
  buffer entering the sink to the reader's fakesink; memory through that
  run (procmem.py: the peak PSS of all the channel's processes, the peak
  of the shared memory they hold);
- a slow reader: four readers at 30 fps, one of them holding each frame
  500 ms (identity sleep-time; shmringsrc latest=true: it never holds the
  producer back; shmsrc and unixfdsrc have no such mode), for
  GST_BENCH_FRAMES_SLOW frames (300, 10 s) or until the others' time runs
  out (twice that, plus 5 s): what the three others get, how long the
  producer was held in acquire and push, and the memory one second into
  the run against its peak.
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

from gst_bench import CAPS, CHILD_TIMEOUT, CONSUMER, FAKESINK, FRAME, LAT_FRAMES, MEM_INTERVAL, PRODUCER, SHM_BYTES, \
    WARMUP, W, H, communicate, first_line, gst_version, has_element, machine, mib, result, unixfd_missing
from procmem import Sampler

FRAMES = int(os.environ.get("GST_BENCH_FRAMES_FANOUT", "10000"))
# Flat-out runs per row, interleaved across the rows so that a busy moment of
# the machine hits every transport alike; the median is reported.
REPEAT = int(os.environ.get("GST_BENCH_REPEAT", "3"))
SLOW_FRAMES = int(os.environ.get("GST_BENCH_FRAMES_SLOW", "300"))
SLOW_TIMEOUT = int(2 * SLOW_FRAMES / 30 + 5)  # the fast readers' time, seconds
SLOW_HOLD_MS = 500
SLOW = f"identity sleep-time={SLOW_HOLD_MS * 1000}"  # holds each frame that long: 2 frames/s
# Frames queued per reader in the "deep" rows: on two CPUs, four readers and
# the producer then run in longer turns instead of waking each other at
# every frame or two.
DEEP_QUEUE = 12
TRANSPORTS = ["shmring", "shm", "unixfd"]
LABEL = {"shmring": "shmringsink → shmringsrc", "shm": "shmsink → shmsrc", "unixfd": "unixfdsink → unixfdsrc"}
SLOW_HOW = {"shmring": "shmringsrc latest=true", "shm": "shmsrc", "unixfd": "unixfdsrc"}


@dataclass
class Fan:
    ok: bool = False
    fps: float = 0.0          # the slowest of the (fast) readers
    p50: float = -1.0         # the slowest reader's
    p99: float = -1.0
    missed: int = 0           # frames the fast readers did not get, in all
    got: int = 0              # slow run: frames the fast readers got, in all
    memory: int = 0           # bytes of shared memory the channel took (slots x size, or shm-size)
    fast_fps: float = 0.0     # slow run: the slowest fast reader's frames/s
    prod_us: float = -1.0     # CPU per frame: the producer's
    cons_us: float = -1.0     # and the (fast) readers' mean
    pss: int = -1             # 30 fps runs: peak PSS of all the channel's processes
    shm: int = -1             # and the peak of the shared memory they hold
    pss_1s: int = -1          # slow run: the same one second in
    shm_1s: int = -1
    pushed: int = 0           # slow run: frames the producer pushed
    blocked: float = -1.0     # the producer's time in acquire and push, seconds, all frames
    blocked_max: float = -1.0  # and the longest one
    seconds: float = 0.0      # slow run: how long it ran
    notes: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.count = 0

    def run(self, transport: str, readers: int, frames: int, fps: int, slow: bool = False,
            queue: int = 0, shm_size: int = SHM_BYTES, pool_buffers: int = 0) -> Fan:
        """queue: shmringsink's queue-length (0: its default); shm_size: shmsink's; pool_buffers: the
        producer's pool on unixfdsink's allocator (0: its default, 4)."""
        self.count += 1
        if transport == "shmring":
            ch = f"gstfan-{os.getpid()}-{self.count}"
            sink = f"shmringsink name=sink channel={ch} sync=false" + (f" queue-length={queue}" if queue else "")
            src = f"shmringsrc channel={ch} timeout={int(CHILD_TIMEOUT * 1e9)}"
            slow_src = f"{src} latest=true ! {SLOW}"
        elif transport == "unixfd":
            sock = os.path.join(self.tmp, f"unixfd-{self.count}.sock")
            sink = f"unixfdsink name=sink socket-path={sock} sync=false"
            src = f"unixfdsrc socket-path={sock}"
            slow_src = f"{src} ! {SLOW}"
        else:
            sock = os.path.join(self.tmp, f"shm-{self.count}.sock")
            sink = (f"shmsink name=sink socket-path={sock} shm-size={shm_size} wait-for-connection=true "
                    "sync=false")
            src = f"shmsrc socket-path={sock} is-live=true do-timestamp=true ! {CAPS}"
            slow_src = f"{src} ! {SLOW}"
        r = Fan()
        env = dict(os.environ, GST_BENCH_READERS=str(readers))
        if pool_buffers:
            env["GST_BENCH_POOL_BUFFERS"] = str(pool_buffers)
        if slow:
            env["GST_BENCH_REPORT_ON_CLOSE"] = "1"
        prod = subprocess.Popen([PRODUCER, "pool", str(frames), str(fps), sink], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        cons: list[subprocess.Popen] = []
        sampler = Sampler(lambda: [prod.pid] + [c.pid for c in cons], interval=MEM_INTERVAL) if fps > 0 else None
        t_start = time.monotonic()
        try:
            assert prod.stdout is not None
            ready, _, _ = select.select([prod.stdout], [], [], CHILD_TIMEOUT)
            line = prod.stdout.readline() if ready else ""
            if not line.startswith("ready "):
                r.notes.append("producer did not start")
                return r
            timeout = SLOW_TIMEOUT if slow else int(CHILD_TIMEOUT)
            for i in range(readers):
                pipeline = f"{slow_src if slow and i == readers - 1 else src} ! {FAKESINK}"
                cons.append(subprocess.Popen([CONSUMER, str(frames), str(timeout), pipeline],
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            nfast = readers - 1 if slow else readers
            if sampler is not None:
                sampler.__enter__()
            try:
                outs = [communicate(c, timeout + 10, r, f"reader {i}") for i, c in enumerate(cons[:nfast])]
                if slow:  # the fast readers are done: the slow one is not waited for
                    cons[-1].kill()
                    outs.append(communicate(cons[-1], 10, r, "slow reader"))
            finally:
                if sampler is not None:
                    sampler.__exit__(None, None, None)
            r.seconds = time.monotonic() - t_start
            pout, perr = communicate(prod, 20, r, "producer")
            fast = [result(o) for o, _ in outs[:nfast]]
            p = result(pout)
            if p is None or any(c is None for c in fast):
                errs = [e for _, e in outs] + [perr]
                r.notes.append(next((first_line(e) for e in errs if first_line(e)), "no result"))
                return r
            r.missed = sum(frames - c["frames"] for c in fast)
            r.got = sum(c["frames"] for c in fast)
            r.memory = p.get("channel_bytes", 0)
            rates = [(c["frames"] - 1) / c["seconds"] if c["seconds"] > 0 else 0.0 for c in fast]
            r.fps = r.fast_fps = min(rates)
            r.prod_us = p["cpu_seconds"] / max(p.get("pushed", frames), 1) * 1e6
            r.cons_us = sum(c["cpu_seconds"] / max(c["frames"] - 1, 1) for c in fast) / len(fast) * 1e6
            r.pushed, r.blocked, r.blocked_max = p.get("pushed", frames), p.get("blocked_seconds", -1.0), \
                p.get("blocked_max_seconds", -1.0)
            worst = max(fast, key=lambda c: c["lat_p50_us"])
            r.p50, r.p99 = worst["lat_p50_us"], worst["lat_p99_us"]
            if sampler is not None:
                peak, one = sampler.peak(), sampler.at(1.0)
                r.pss, r.shm, r.pss_1s, r.shm_1s = peak.pss, peak.shm_allocated, one.pss, one.shm_allocated
            if slow:  # the fast readers may run out of time when the slow one holds the producer back
                r.ok = prod.returncode == 0 and all(c["frames"] > 1 for c in fast)
            else:
                r.ok = prod.returncode == 0 and all(c.returncode == 0 for c in cons)
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
        if not has_element(el):
            print(f"skipped: GStreamer element {el} not found", file=sys.stderr)
            return 77
    no_unixfd = unixfd_missing()
    if no_unixfd:
        print(f"# unixfdsink → unixfdsrc {no_unixfd}", file=sys.stderr, flush=True)
    version = gst_version()
    here = [t for t in TRANSPORTS if not (t == "unixfd" and no_unixfd)]
    t0 = time.monotonic()
    # Rows: (transport, readers, deep).  Deep rows: shmring with deeper
    # queues, then the peers with that channel's memory.
    rows = [(t, n, False) for n in (1, 4) for t in here] + [(t, 4, True) for t in here]
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
                          shm_size=deep_bytes if deep else SHM_BYTES,
                          pool_buffers=max(1, deep_bytes // FRAME) if deep else 0)
                if deep and t == "shmring" and f.ok and f.memory:
                    deep_bytes = f.memory
                runs[(t, n, deep)].append(f)
                print(f"# {t} x{n}{' deep' if deep else ''}: {f.fps:.0f} frames/s {' '.join(f.notes)}",
                      file=sys.stderr, flush=True)
        for k in rows:
            flat[k] = median_fan(runs[k])
        for k in rows:  # the latency rows, transports in turns
            if k[2]:
                continue
            lat[k] = b.run(k[0], k[1], LAT_FRAMES, 30)
            print(f"# {k[0]} x{k[1]}: p50 {lat[k].p50:.0f} us, PSS {mib(lat[k].pss)} MiB {' '.join(lat[k].notes)}",
                  file=sys.stderr, flush=True)
        for t in here:
            slow[t] = b.run(t, 4, SLOW_FRAMES, 30, slow=True)
            print(f"# {t} slow: others {slow[t].fast_fps:.1f} frames/s, producer held {slow[t].blocked:.2f} s "
                  f"{' '.join(slow[t].notes)}", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - t0
    nlat = max(LAT_FRAMES - WARMUP, 0)

    print(f"\n### One producer, one and four readers, {W}x{H} BGR, pool mode "
          f"({datetime.date.today().isoformat()}; {version}; {machine()})\n")
    print(f"Flat out: {FRAMES} frames, the slowest reader's frames/s, median of {max(REPEAT, 1)} runs, rows in turns; "
          "CPU per frame of the producer and the readers' mean over the same runs. Latency: one run of "
          f"{LAT_FRAMES} frames at 30 fps, the first {WARMUP} left out, so p50 and p99 over {nlat} frames, "
          "the slowest reader's, producer's buffer entering the sink to the reader's fakesink. Channel MiB: "
          "shmringsink's slots x slot size, shmsink's shm-size (unixfdsink: none of its own; the producer's pool "
          "of 4 memfd buffers, or as many frames as the deep shmring channel). PSS and shared MiB: through the "
          "30 fps run, the peak PSS of the producer and all readers together, and the peak of the shared memory "
          f"they hold (pages allocated). Deep queues: shmringsink queue-length={DEEP_QUEUE}, against the peers "
          "with as much memory.\n")
    print("| transport | settings | readers | channel MiB | frames/s | vs 1 reader | frames/s vs best peer, same readers "
          "| producer CPU us/frame | reader CPU us/frame | latency p50 us | latency p99 us | PSS MiB | shared MiB "
          "| notes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    failed = False
    for t in TRANSPORTS:
        for n, deep in ((1, False), (4, False), (4, True)):
            settings = ("default" if not deep else f"queue-length={DEEP_QUEUE}" if t == "shmring" else
                        "shm-size as the shmring channel" if t == "shm" else "pool as the shmring channel")
            if t not in here:
                print(f"| {LABEL[t]} | {settings} | {n} | - | - | - | - | - | - | - | - | - | - | {no_unixfd} |")
                continue
            r, one = flat[(t, n, deep)], flat[(t, 1, False)]
            peers = [flat[(p, n, deep)] for p in here if p != t and p != "shmring" and flat[(p, n, deep)].ok]
            top = max(peers, key=lambda f: f.fps, default=None) if t == "shmring" else None
            lr = lat.get((t, n, deep))
            failed |= not r.ok or (lr is not None and not lr.ok)
            cells = [LABEL[t], settings, str(n), fmt(r.memory / 2**20) if r.ok and r.memory else "-",
                     fmt(r.fps, 0) if r.ok else "failed",
                     f"{r.fps / one.fps:.2f}x" if r.ok and one.ok and one.fps else "-",
                     f"{r.fps / top.fps:.2f}x" if r.ok and top is not None and top.fps else "-",
                     fmt(r.prod_us) if r.ok else "-", fmt(r.cons_us) if r.ok else "-",
                     "-" if lr is None else fmt(lr.p50) if lr.ok else "failed",
                     fmt(lr.p99) if lr is not None and lr.ok else "-",
                     mib(lr.pss) if lr is not None and lr.ok else "-", mib(lr.shm) if lr is not None and lr.ok else "-",
                     "; ".join(r.notes + (lr.notes if lr is not None else []))]
            print("| " + " | ".join(cells) + " |")

    print(f"\nA slow reader (holding each frame {SLOW_HOLD_MS} ms) beside three others at 30 fps, {SLOW_FRAMES} "
          f"frames or the others' {SLOW_TIMEOUT} s, whichever comes first. The producer's pool: its sink's "
          "(shmringsink), or 4 buffers on its allocator. Producer held: its time in taking buffers and pushing "
          "them, all frames it pushed, and the longest one. Memory: PSS of the producer and the four readers, "
          "and the shared memory they hold, one second in and at the peak.\n")
    print("| transport | slow reader | frames the three others got | their frames/s (slowest) "
          "| frames pushed | producer held s (longest) | PSS MiB at 1 s → peak | shared MiB at 1 s → peak | notes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for t in TRANSPORTS:
        if t not in here:
            print(f"| {LABEL[t]} | {SLOW_HOW[t]} | - | - | - | - | - | - | {no_unixfd} |")
            continue
        r = slow[t]
        failed |= not r.ok
        cells = [LABEL[t], SLOW_HOW[t], f"{r.got} of {3 * SLOW_FRAMES}" if r.ok else "failed",
                 fmt(r.fast_fps) if r.ok else "-", f"{r.pushed} in {r.seconds:.0f} s" if r.ok else "-",
                 f"{fmt(r.blocked, 2)} ({fmt(r.blocked_max, 2)})" if r.ok else "-",
                 f"{mib(r.pss_1s)} → {mib(r.pss)}" if r.ok else "-", f"{mib(r.shm_1s)} → {mib(r.shm)}" if r.ok else "-",
                 "; ".join(r.notes)]
        print("| " + " | ".join(cells) + " |")

    print("\n### Against the best peer of this run\n")

    def best(d: dict[str, Fan], attr: str, lower: bool) -> Optional[tuple[str, float]]:
        vals = [(t, getattr(f, attr)) for t, f in d.items() if t != "shmring" and f.ok and getattr(f, attr) > 0]
        return ((min if lower else max)(vals, key=lambda v: v[1])) if vals else None

    def line(what: str, d: dict[str, Fan], attr: str, lower: bool, target: Optional[float]) -> None:
        peer, mine = best(d, attr, lower), d.get("shmring")
        if peer is None or mine is None or not mine.ok or getattr(mine, attr) <= 0:
            print(f"- n/a: {what}")
            return
        x = getattr(mine, attr) / peer[1]
        state = "" if target is None else \
            f"{'met' if (x <= target if lower else x >= target) else 'NOT met'} ({'<=' if lower else '>='} {target}x): "
        print(f"- {state}{what}: {x:.2f}x {LABEL[peer[0]]}")
    for deep, how in ((False, "default settings"), (True, f"queue-length={DEEP_QUEUE}, peers as much memory")):
        line(f"four readers, frames/s ({how})", {t: flat[(t, 4, deep)] for t in here}, "fps", False, 3.0)
    line("one reader, frames/s", {t: flat[(t, 1, False)] for t in here}, "fps", False, 3.0)
    for n in (1, 4):
        d = {t: lat[(t, n, False)] for t in here}
        line(f"{n} reader{'s' if n > 1 else ''}, latency p50 at 30 fps", d, "p50", True, 0.5)
        line(f"{n} reader{'s' if n > 1 else ''}, latency p99 at 30 fps", d, "p99", True, None)
        line(f"{n} reader{'s' if n > 1 else ''}, memory at 30 fps (PSS of all processes)", d, "pss", True, 1.0)
    line("slow reader beside three: the others' frames/s", slow, "fast_fps", False, None)
    line("slow reader beside three: peak PSS", slow, "pss", True, 1.0)
    l1, l4 = lat[("shmring", 1, False)], lat[("shmring", 4, False)]
    if l1.ok and l4.ok and l1.p50 > 0:
        x = l4.p50 / l1.p50
        print(f"- {'met' if x <= 1.2 else 'NOT met'} (<= 1.2x): shmring latency p50 at 30 fps, four readers vs one: "
              f"{x:.2f}x")
    s = slow["shmring"]
    if s.ok:
        share = 100.0 * (3 * SLOW_FRAMES - s.got) / (3 * SLOW_FRAMES)
        print(f"- {'met' if share < 1 else 'NOT met'} (< 1 %): frames a slow shmringsrc costs the three others: "
              f"{share:.2f} %")
    if no_unixfd:
        print(f"- unixfdsink → unixfdsrc: {no_unixfd}")
    print(f"\n({elapsed:.0f} s in all)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
