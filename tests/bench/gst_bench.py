# SPDX-License-Identifier: LGPL-2.1-or-later
"""GStreamer transport benchmark: shmringsink->shmringsrc against shmsink->shmsrc, unixfdsink->unixfdsrc and TCP.

Usage: gst_bench.py  (env GST_BENCH_PRODUCER, GST_BENCH_CONSUMER = the built helpers;
GST_PLUGIN_PATH_1_0 with the shmring plugin; optional GST_BENCH_REPEAT, GST_BENCH_FRAMES_POOL,
GST_BENCH_FRAMES_SHAPES, GST_BENCH_FRAMES_COPY, GST_BENCH_FRAMES_TCP, GST_BENCH_FRAMES_LATENCY,
GST_BENCH_QUEUE)

Every row runs two processes, gst_bench_producer (its own pad ! SINK) and
gst_bench_consumer (SRC ! fakesink), with the same producer for every
transport and a private channel, socket or port per run:

- copy: the producer pushes the same pre-filled 1080p BGR heap buffer every
  time, so every transport copies the frame (into shared memory, or through
  the socket);
- pool: the producer takes each buffer from the pool or allocator the sink
  proposes and writes only its first 16 bytes (signalling cost only);
- appsrc: as pool, but the way an application does it: the producer's own
  thread takes each buffer from the pool the sink answers to the allocation
  query asked through an appsrc's source pad, writes its first 16 bytes and
  pushes it into "appsrc max-buffers=2 block=true", whose streaming thread
  pushes it into the sink;
- queue: as pool, with "queue max-size-buffers=GST_BENCH_QUEUE" (4) between
  the producer and the sink (the allocation query goes through the queue).

GStreamer's unixfdsink->unixfdsrc (gst-plugins-bad 1.24 and later) runs
every row where the running GStreamer has it (its rows say "skipped"
where not). unixfdsink 1.26 takes only buffers in fd memory: in pool mode
the producer's buffers come from the memfd allocator the sink proposes
(a plain pool of 4 on it, as for shmsink's allocator), and its copy row is
the producer filling each such buffer whole ("fill"), which is the copy
into the transport's memory the other sinks make themselves.

The appsrc and queue shapes run for the shared-memory transports only.

frames/s is measured at the consumer from its first frame to its last, and
CPU time per frame by each process itself over the same stretch (start-up
excluded); the median of GST_BENCH_REPEAT flat-out runs is reported. Latency
is from the producer's buffer entering the sink (or the queue, or appsrc:
the producer stamps it right before its push) to the consumer's fakesink,
at 30 fps, over GST_BENCH_FRAMES_LATENCY frames (1,005: p50 and p99 over
the last 1,000). Memory is sampled through the 30 fps run (procmem.py): the
peak PSS of both processes and the peak of the shared memory they hold.
"""

from __future__ import annotations

import datetime
import glob
import json
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Optional

from plot import bars
from procmem import Sampler

PRODUCER = os.environ.get("GST_BENCH_PRODUCER", "")
CONSUMER = os.environ.get("GST_BENCH_CONSUMER", "")
REPEAT = int(os.environ.get("GST_BENCH_REPEAT", "5"))
# Flat-out frames per run: enough for a run to last well beyond its start-up;
# TCP, some hundred times slower, gets fewer.
# The appsrc and queue shapes hand every frame from one thread to another
# and run at a small fraction of the plain pool's rate: fewer frames.
SHAPE_FRAMES = int(os.environ.get("GST_BENCH_FRAMES_SHAPES", "20000"))
FRAMES = {"pool": int(os.environ.get("GST_BENCH_FRAMES_POOL", "50000")),
          "appsrc": SHAPE_FRAMES, "queue": SHAPE_FRAMES,
          "copy": int(os.environ.get("GST_BENCH_FRAMES_COPY", "2000"))}
QUEUE_BUFFERS = int(os.environ.get("GST_BENCH_QUEUE", "4"))
QUEUE = f"queue max-size-buffers={QUEUE_BUFFERS} max-size-bytes=0 max-size-time=0"
TCP_FRAMES = int(os.environ.get("GST_BENCH_FRAMES_TCP", "300"))
LAT_FRAMES = int(os.environ.get("GST_BENCH_FRAMES_LATENCY", "1005"))
WARMUP = 5  # frames the consumer leaves out of its percentiles
# Memory samples of a 30 fps run, seconds apart (flat-out runs are not sampled: a sample costs CPU).
MEM_INTERVAL = float(os.environ.get("GST_BENCH_MEMORY_INTERVAL", "0.2"))
W, H = 1920, 1080
FRAME = W * H * 3
# shmsink's area: four frames and some room (a shmring channel sizes its pool itself).
SHM_BYTES = 4 * FRAME + (1 << 20)
CAPS = f"video/x-raw,format=BGR,width={W},height={H},framerate=30/1"
FAKESINK = "fakesink name=sink sync=false signal-handoffs=true enable-last-sample=false"
CHILD_TIMEOUT = 60.0

TRANSPORTS = ["shmring", "shm", "unixfd", "tcp"]
PEERS = [t for t in TRANSPORTS if t != "shmring"]
LABEL = {"shmring": "shmringsink → shmringsrc",
         "shm": "shmsink → shmsrc",
         "unixfd": "unixfdsink → unixfdsrc",
         "tcp": "tcpserversink → tcpclientsrc"}
MODES = ["pool", "appsrc", "queue", "copy"]
# Flat out, the modes of a group run interleaved (the transports of each in turn).
MODE_GROUPS = [("pool", "appsrc", "queue"), ("copy",)]
MODE_TRANSPORTS = {"pool": TRANSPORTS, "appsrc": ["shmring", "shm", "unixfd"], "queue": ["shmring", "shm", "unixfd"],
                   "copy": TRANSPORTS}
# What gst_bench_producer is told: the queue shape is the pool mode behind a queue.
PRODUCER_MODE = {"pool": "pool", "appsrc": "appsrc", "queue": "pool", "copy": "copy"}
# unixfdsink takes only its own (fd) memory: its copy row has the producer fill the sink's buffers.
PRODUCER_MODE_UNIXFD = dict(PRODUCER_MODE, copy="fill")
MODE_LABEL = {"copy": "copy (frame written)", "pool": "pool (frame not written)",
              "appsrc": "appsrc max-buffers=2 from the sink's pool (frame not written)",
              "queue": f"pool ! queue max-size-buffers={QUEUE_BUFFERS} (frame not written)"}


@dataclass
class Run:
    ok: bool = False
    fps: float = 0.0
    prod_us: float = 0.0
    cons_us: float = 0.0
    p50: float = -1.0
    p99: float = -1.0
    commit_p50: float = -1.0   # shmring only: producer's stamp to its commit
    deliver_p50: float = -1.0  # shmring only: commit to the consumer's fakesink
    deliver_p99: float = -1.0
    pss: int = -1              # 30 fps runs: peak PSS of both processes, bytes
    shm: int = -1              # and the peak of the shared memory they hold (pages allocated)
    blocked_max: float = -1.0  # the producer's longest acquire + push, seconds
    notes: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.count = 0

    def descriptions(self, transport: str, mode: str) -> tuple[str, str]:
        """The producer's sink and the consumer's pipeline ("{port}" filled in later for tcp)."""
        sink, src = self.transport(transport)
        return (f"{QUEUE} ! {sink}" if mode == "queue" else sink), src

    def transport(self, transport: str) -> tuple[str, str]:
        self.count += 1
        if transport.startswith("shmring"):
            ch = f"gstbench-{os.getpid()}-{self.count}"
            return (f"shmringsink name=sink channel={ch} sync=false",
                    f"shmringsrc channel={ch} timeout={int(CHILD_TIMEOUT * 1e9)} ! {FAKESINK}")
        if transport == "unixfd":
            sock = os.path.join(self.tmp, f"unixfd-{self.count}.sock")
            return (f"unixfdsink name=sink socket-path={sock} sync=false",
                    f"unixfdsrc socket-path={sock} ! {FAKESINK}")
        if transport == "shm":
            sock = os.path.join(self.tmp, f"shm-{self.count}.sock")
            return (f"shmsink name=sink socket-path={sock} shm-size={SHM_BYTES} wait-for-connection=true "
                    "sync=false",
                    f"shmsrc socket-path={sock} is-live=true do-timestamp=true ! {CAPS} ! {FAKESINK}")
        # GDP frames the byte stream, so buffers come out whole.
        return ("gdppay ! tcpserversink name=sink host=127.0.0.1 port=0 sync=false",
                f"tcpclientsrc host=127.0.0.1 port={{port}} ! gdpdepay ! {FAKESINK}")

    def run(self, transport: str, mode: str, frames: int, fps: int) -> Run:
        sink, src = self.descriptions(transport, mode)
        r = Run()
        env = None
        pmode = (PRODUCER_MODE_UNIXFD if transport == "unixfd" else PRODUCER_MODE)[mode]
        prod = subprocess.Popen([PRODUCER, pmode, str(frames), str(fps), sink], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        cons: Optional[subprocess.Popen] = None
        sampler = Sampler(lambda: [prod.pid] + ([cons.pid] if cons is not None else []), interval=MEM_INTERVAL) \
            if fps > 0 else None
        try:
            assert prod.stdout is not None and prod.stdin is not None
            ready, _, _ = select.select([prod.stdout], [], [], CHILD_TIMEOUT)
            line = prod.stdout.readline() if ready else ""
            if not line.startswith("ready "):
                r.notes.append("producer did not start" if ready else "producer hung at start")
                return r
            port = int(line.split()[1])
            cons = subprocess.Popen([CONSUMER, str(frames), str(int(CHILD_TIMEOUT)), src.format(port=port)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            if sampler is not None:
                with sampler:
                    cout, cerr = communicate(cons, CHILD_TIMEOUT + 10, r, "consumer")
                peak = sampler.peak()
                r.pss, r.shm = peak.pss, peak.shm_allocated
            else:
                cout, cerr = communicate(cons, CHILD_TIMEOUT + 10, r, "consumer")
            # communicate() closes the producer's stdin: the consumer is done, it may stop.
            pout, perr = communicate(prod, 20, r, "producer")
            c, p = result(cout), result(pout)
            if c is None or p is None:
                r.notes.append(first_line(cerr if c is None else perr) or "no result")
                return r
            if c["frames"] != frames:
                r.notes.append(f"consumer got {c['frames']} of {frames} frames ({c['stopped']})")
                return r
            for who, err in (("producer", perr), ("consumer", cerr)):
                if first_line(err):  # GStreamer warnings and criticals go there
                    r.notes.append(f"{who}: {first_line(err)}")
            r.ok = cons.returncode == 0 and prod.returncode == 0
            n = frames - 1  # the consumer's window runs from its first frame to its last
            r.fps = n / c["seconds"] if c["seconds"] > 0 else 0.0
            r.cons_us = c["cpu_seconds"] / n * 1e6
            r.prod_us = p["cpu_seconds"] / frames * 1e6
            r.p50, r.p99 = c["lat_p50_us"], c["lat_p99_us"]
            r.blocked_max = p.get("blocked_max_seconds", -1.0)
            r.commit_p50, r.deliver_p50, r.deliver_p99 = c["commit_p50_us"], c["deliver_p50_us"], c["deliver_p99_us"]
            # In copy mode the producer rewrites its one buffer's stamp every frame:
            # tcpserversink, which sends from its own thread, may send a newer stamp
            # (at 30 fps it has long sent the frame by then).
            stamps_valid = not (transport == "tcp" and mode == "copy" and fps == 0)
            if stamps_valid and (c["disordered"] or c["first_seq"]) or c["bad_size"]:
                r.notes.append(f"frames out of sequence {c['disordered']}, missed {c['missed']}, "
                               f"first {c['first_seq']}, of wrong size {c['bad_size']}")
            if (mode != "copy" or pmode == "fill") and transport != "tcp" and p["copied"]:
                r.notes.append(f"{p['copied']} frames copied by the sink")
            if p["stamp_failures"]:
                r.notes.append(f"{p['stamp_failures']} frames not stamped")
            if not r.ok:
                r.notes.append("exit status producer %s, consumer %s" % (prod.returncode, cons.returncode))
            return r
        finally:
            for child in (cons, prod):
                if child is not None and child.poll() is None:
                    child.kill()
                    child.wait()
            # shmsink names its area "shmpipe.%5d.%5d" (pid, counter): spaces, not zeros;
            # a shmring channel leaves nothing behind.
            leftovers = glob.glob(f"/dev/shm/shmpipe.{prod.pid:5d}.*")
            for f in leftovers:
                os.unlink(f)
                r.notes.append(f"removed leftover {os.path.basename(f)}")


def communicate(p: subprocess.Popen, timeout: float, r: Run, who: str) -> tuple[str, str]:
    try:
        return p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        r.notes.append(f"{who} hung")
        return out, err


def result(out: str) -> Optional[dict]:
    for line in out.splitlines():
        if line.startswith("result "):
            return json.loads(line[len("result "):])
    return None


def first_line(s: str) -> str:
    return next((ln.strip() for ln in s.splitlines() if ln.strip()), "")


def median_run(runs: list[Run]) -> Run:
    good = [r for r in runs if r.ok]
    notes = sorted({n for r in runs for n in r.notes})
    if not good:
        return Run(ok=False, notes=notes)
    med = sorted(good, key=lambda r: r.fps)[len(good) // 2]
    return Run(ok=True, fps=med.fps, prod_us=statistics.median(r.prod_us for r in good),
               cons_us=statistics.median(r.cons_us for r in good), notes=notes)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}"


def fmt(v: float, digits: int = 1) -> str:
    return f"{v:.{digits}f}" if v >= 0 else "-"


def has_element(name: str) -> bool:
    return subprocess.run(["gst-inspect-1.0", name], capture_output=True).returncode == 0


def gst_version() -> str:
    """"GStreamer 1.x.y" of the gst-inspect-1.0 on PATH."""
    out = subprocess.run(["gst-inspect-1.0", "--version"], capture_output=True, text=True).stdout
    return next((ln.strip() for ln in out.splitlines() if ln.startswith("GStreamer")), "GStreamer ?")


def unixfd_missing() -> str:
    """Why the unixfd peer does not run here ("" if it does)."""
    if has_element("unixfdsink") and has_element("unixfdsrc"):
        return ""
    return f"skipped: no unixfdsink in {gst_version()} (gst-plugins-bad 1.24 and later)"


def best_peer(runs: dict[str, Run], attr: str, lower: bool) -> Optional[tuple[str, float]]:
    """The peer (not shmring) with the best value of attr among those that ran, and that value."""
    vals = [(t, getattr(r, attr)) for t, r in runs.items() if t != "shmring" and r.ok and getattr(r, attr) > 0]
    if not vals:
        return None
    return (min if lower else max)(vals, key=lambda tv: tv[1])


def against_best(label: str, runs: dict[str, Run], attr: str, lower: bool, target: Optional[float],
                 label_of: dict[str, str]) -> str:
    """One line: shmring's attr against the best peer's in runs, and the target if any."""
    peer, mine = best_peer(runs, attr, lower), runs.get("shmring")
    if peer is None or mine is None or not mine.ok or getattr(mine, attr) <= 0:
        return f"- n/a: {label}"
    x = getattr(mine, attr) / peer[1]
    state = ""
    if target is not None:
        met = x <= target if lower else x >= target
        state = f"{'met' if met else 'NOT met'} ({'<=' if lower else '>='} {target}x): "
    return f"- {state}{label}: {x:.2f}x {label_of[peer[0]]} (the best peer)"


def mib(v: int) -> str:
    return f"{v / 2**20:.1f}" if v >= 0 else "-"


def main() -> int:
    for exe in (PRODUCER, CONSUMER):
        if not exe or not os.path.exists(exe):
            print("GST_BENCH_PRODUCER and GST_BENCH_CONSUMER must name the built helpers", file=sys.stderr)
            return 77
    if shutil.which("gst-inspect-1.0"):
        for el in ("shmringsink", "shmsink", "tcpserversink", "gdppay"):
            if not has_element(el):
                print(f"skipped: GStreamer element {el} not found", file=sys.stderr)
                return 77
    no_unixfd = unixfd_missing()
    if no_unixfd:
        print(f"# unixfdsink → unixfdsrc {no_unixfd}", file=sys.stderr, flush=True)
    version = gst_version()

    def runs_here(t: str, mode: str) -> bool:
        return t in MODE_TRANSPORTS[mode] and not (t == "unixfd" and no_unixfd)

    t0 = time.monotonic()
    through: dict[tuple[str, str], Run] = {}
    lat: dict[tuple[str, str], Run] = {}
    with tempfile.TemporaryDirectory(prefix="gstbench-") as tmp:
        b = Bench(tmp)
        for group in MODE_GROUPS:
            runs: dict[tuple[str, str], list[Run]] = {(t, m): [] for m in group for t in TRANSPORTS
                                                      if runs_here(t, m)}
            for _ in range(REPEAT):  # modes and transports interleaved, so drift hits them all alike
                for key in runs:
                    t, mode = key
                    t1 = time.monotonic()
                    r = b.run(t, mode, TCP_FRAMES if t == "tcp" else FRAMES[mode], 0)
                    runs[key].append(r)
                    print(f"# {t} {mode}: {r.fps:.0f} frames/s {' '.join(r.notes)} "
                          f"({time.monotonic() - t1:.1f} s)", file=sys.stderr, flush=True)
            for key, rs in runs.items():
                through[key] = median_run(rs)
        for mode in MODES:
            for t in TRANSPORTS:
                if runs_here(t, mode):
                    lr = lat[(t, mode)] = b.run(t, mode, LAT_FRAMES, 30)
                    print(f"# {t} {mode} 30 fps: p50 {lr.p50:.0f} us p99 {lr.p99:.0f} us, "
                          f"PSS {mib(lr.pss)} MiB, shared {mib(lr.shm)} MiB {' '.join(lr.notes)}",
                          file=sys.stderr, flush=True)
    elapsed = time.monotonic() - t0
    nlat = max(LAT_FRAMES - WARMUP, 0)

    print(f"\n### GStreamer transports, two processes, {W}x{H} BGR "
          f"({datetime.date.today().isoformat()}; {version}; {machine()})\n")
    print(f"Flat out: median of {REPEAT} runs of {FRAMES['pool']} (pool) / {SHAPE_FRAMES} (appsrc, queue) / "
          f"{FRAMES['copy']} (copy) frames ({TCP_FRAMES} over TCP); pool, appsrc and queue runs interleaved, "
          "then the copy runs, the transports in turns. "
          f"Latency: one run of {LAT_FRAMES} frames at 30 fps, the first {WARMUP} left out: p50 and p99 over "
          f"{nlat} frames, from the producer's buffer entering the sink "
          "(appsrc, queue: entering appsrc or the queue) to the consumer's fakesink. "
          "Memory: through that 30 fps run, the peak PSS of the producer and the consumer together (shared "
          "pages split between them, so counted once; GStreamer's own heap and libraries included) and the "
          "peak of the shared memory (memfd, /dev/shm) they hold, as pages allocated. "
          "unixfdsink's copy row: the producer fills each buffer of the sink's memfd allocator (fill).\n")
    print("| transport | mode | frames/s | producer CPU us/frame | consumer CPU us/frame "
          "| latency p50 us | latency p99 us | PSS MiB | shared MiB | frames/s vs best peer | notes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    failed = False
    for mode in MODES:
        for t in MODE_TRANSPORTS[mode]:
            if not runs_here(t, mode):
                print(f"| {LABEL[t]} | {MODE_LABEL[mode]} | - | - | - | - | - | - | - | - | {no_unixfd} |")
                continue
            r, lr = through[(t, mode)], lat[(t, mode)]
            failed |= not r.ok or not lr.ok
            peer = best_peer({k: v for (k, m), v in through.items() if m == mode and k != t}, "fps", False) \
                if t == "shmring" else None
            vs = f"{r.fps / peer[1]:.2f}x {LABEL[peer[0]].split()[0]}" if r.ok and peer else ""
            notes = "; ".join(r.notes + [f"30 fps: {n}" for n in lr.notes])
            cells = [LABEL[t], MODE_LABEL[mode] + (" (fill)" if t == "unixfd" and mode == "copy" else ""),
                     fmt(r.fps, 0) if r.ok else "failed", fmt(r.prod_us) if r.ok else "-",
                     fmt(r.cons_us) if r.ok else "-",
                     fmt(lr.p50) if lr.ok else "failed", fmt(lr.p99) if lr.ok else "-",
                     mib(lr.pss) if lr.ok else "-", mib(lr.shm) if lr.ok else "-", vs, notes]
            print("| " + " | ".join(cells) + " |")

    def ratio(a: Run, b: Run, attr: str) -> Optional[float]:
        x, y = getattr(a, attr), getattr(b, attr)
        return x / y if a.ok and b.ok and y > 0 else None

    print("\nWhat the producer's shape costs: frames/s against the pool row of the same transport, same run:\n")
    for t in ("shmring", "shm", "unixfd"):
        if not runs_here(t, "pool"):
            continue
        shapes = []
        for mode in ("appsrc", "queue"):
            x = ratio(through[(t, mode)], through[(t, "pool")], "fps")
            shapes.append(f"{MODE_LABEL[mode]} {'-' if x is None else f'{x:.2f}x'}")
        print(f"- {LABEL[t]}: " + "; ".join(shapes))

    print("\n### Against the best peer of this run\n")
    by_t = {mode: {t: through[(t, mode)] for t in TRANSPORTS if (t, mode) in through} for mode in MODES}
    lat_t = {mode: {t: lat[(t, mode)] for t in TRANSPORTS if (t, mode) in lat} for mode in MODES}
    for line in (
            against_best("pool (frame not written), frames/s", by_t["pool"], "fps", False, 3.0, LABEL),
            against_best("copy (frame written), frames/s", by_t["copy"], "fps", False, None, LABEL),
            against_best("latency p50 at 30 fps (pool)", lat_t["pool"], "p50", True, 0.5, LABEL),
            against_best("latency p99 at 30 fps (pool)", lat_t["pool"], "p99", True, None, LABEL),
            against_best("memory at 30 fps (pool), PSS of both processes", lat_t["pool"], "pss", True, 1.0, LABEL),
            against_best("memory at 30 fps (copy), PSS of both processes", lat_t["copy"], "pss", True, 1.0, LABEL),
            against_best("producer CPU per frame, pool", by_t["pool"], "prod_us", True, None, LABEL),
            against_best("consumer CPU per frame, pool", by_t["pool"], "cons_us", True, None, LABEL)):
        print(line)
    if no_unixfd:
        print(f"- unixfdsink → unixfdsrc: {no_unixfd}")
    print("\nWhere shmring's latency at 30 fps (pool) goes, split at the producer's commit time "
          "that shmringsrc attaches to each buffer (p50 us):\n")
    lr = lat[("shmring", "pool")]
    if lr.ok and lr.deliver_p50 >= 0:
        print(f"- {LABEL['shmring']}: buffer entering the sink to commit {fmt(lr.commit_p50)}, "
              f"commit to the consumer's fakesink {fmt(lr.deliver_p50)} (p99 {fmt(lr.deliver_p99)})")
    plot(through, lat, version)
    print(f"\n({elapsed:.0f} s in all)")
    return 1 if failed else 0


def plot(through: dict[tuple[str, str], Run], lat: dict[tuple[str, str], Run], version: str) -> None:
    """A PNG of frames/s, latency and memory per transport and mode; prints its path."""
    groups = [LABEL[t] for t in TRANSPORTS]

    def series(runs: dict[tuple[str, str], Run], attr: str, scale: float = 1.0) -> dict[str, list[Optional[float]]]:
        def value(t: str, m: str) -> Optional[float]:
            r = runs.get((t, m))
            return getattr(r, attr) * scale if r is not None and r.ok and getattr(r, attr) >= 0 else None
        return {MODE_LABEL[m]: [value(t, m) for t in TRANSPORTS] for m in MODES}
    path = bars("gst_bench.png", f"GStreamer transports, {W}x{H} BGR, two processes "
                f"({datetime.date.today().isoformat()}, {version})", [
                    (f"flat out (median of {REPEAT} runs)", "frames/s (log)", groups, series(through, "fps"), True),
                    (f"latency p50, 30 fps, {LAT_FRAMES - WARMUP} frames", "us (log)", groups,
                     series(lat, "p50"), True),
                    (f"latency p99, 30 fps, {LAT_FRAMES - WARMUP} frames", "us (log)", groups,
                     series(lat, "p99"), True),
                    ("memory at 30 fps: PSS of both processes", "MiB", groups, series(lat, "pss", 2**-20), False),
                ])
    if path:
        print(f"\nPlot: {path}")


if __name__ == "__main__":
    sys.exit(main())
