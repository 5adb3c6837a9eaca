# SPDX-License-Identifier: LGPL-2.1-or-later
"""GStreamer transport benchmark: shmringsink->shmringsrc against shmsink->shmsrc and tcpserversink->tcpclientsrc.

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

The appsrc and queue shapes run for shmringsink and shmsink only.

frames/s is measured at the consumer from its first frame to its last, and
CPU time per frame by each process itself over the same stretch (start-up
excluded); the median of GST_BENCH_REPEAT flat-out runs is reported. Latency
is from the producer's buffer entering the sink (or the queue, or appsrc:
the producer stamps it right before its push) to the consumer's fakesink,
at 30 fps, over GST_BENCH_FRAMES_LATENCY frames.
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
LAT_FRAMES = int(os.environ.get("GST_BENCH_FRAMES_LATENCY", "300"))
W, H = 1920, 1080
FRAME = W * H * 3
# shmsink's area: four frames and some room (a shmring channel sizes its pool itself).
SHM_BYTES = 4 * FRAME + (1 << 20)
CAPS = f"video/x-raw,format=BGR,width={W},height={H},framerate=30/1"
FAKESINK = "fakesink name=sink sync=false signal-handoffs=true enable-last-sample=false"
CHILD_TIMEOUT = 60.0

TRANSPORTS = ["shmring", "shm", "tcp"]
LABEL = {"shmring": "shmringsink → shmringsrc",
         "shm": "shmsink → shmsrc",
         "tcp": "tcpserversink → tcpclientsrc"}
MODES = ["pool", "appsrc", "queue", "copy"]
# Flat out, the modes of a group run interleaved (the transports of each in turn).
MODE_GROUPS = [("pool", "appsrc", "queue"), ("copy",)]
MODE_TRANSPORTS = {"pool": TRANSPORTS, "appsrc": ["shmring", "shm"], "queue": ["shmring", "shm"],
                   "copy": TRANSPORTS}
# What gst_bench_producer is told: the queue shape is the pool mode behind a queue.
PRODUCER_MODE = {"pool": "pool", "appsrc": "appsrc", "queue": "pool", "copy": "copy"}
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
        prod = subprocess.Popen([PRODUCER, PRODUCER_MODE[mode], str(frames), str(fps), sink], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        cons: Optional[subprocess.Popen] = None
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
            r.commit_p50, r.deliver_p50, r.deliver_p99 = c["commit_p50_us"], c["deliver_p50_us"], c["deliver_p99_us"]
            # In copy mode the producer rewrites its one buffer's stamp every frame:
            # tcpserversink, which sends from its own thread, may send a newer stamp
            # (at 30 fps it has long sent the frame by then).
            stamps_valid = not (transport == "tcp" and mode == "copy" and fps == 0)
            if stamps_valid and (c["disordered"] or c["first_seq"]) or c["bad_size"]:
                r.notes.append(f"frames out of sequence {c['disordered']}, missed {c['missed']}, "
                               f"first {c['first_seq']}, of wrong size {c['bad_size']}")
            if mode != "copy" and transport != "tcp" and p["copied"]:
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


def main() -> int:
    for exe in (PRODUCER, CONSUMER):
        if not exe or not os.path.exists(exe):
            print("GST_BENCH_PRODUCER and GST_BENCH_CONSUMER must name the built helpers", file=sys.stderr)
            return 77
    if shutil.which("gst-inspect-1.0"):
        for el in ("shmringsink", "shmsink", "tcpserversink", "gdppay"):
            if subprocess.run(["gst-inspect-1.0", el], capture_output=True).returncode != 0:
                print(f"skipped: GStreamer element {el} not found", file=sys.stderr)
                return 77

    t0 = time.monotonic()
    through: dict[tuple[str, str], Run] = {}
    lat: dict[tuple[str, str], Run] = {}
    with tempfile.TemporaryDirectory(prefix="gstbench-") as tmp:
        b = Bench(tmp)
        for group in MODE_GROUPS:
            runs: dict[tuple[str, str], list[Run]] = {(t, m): [] for m in group for t in MODE_TRANSPORTS[m]}
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
            for t in MODE_TRANSPORTS[mode]:
                lat[(t, mode)] = b.run(t, mode, LAT_FRAMES, 30)
    elapsed = time.monotonic() - t0

    print(f"\n### GStreamer transports, two processes, {W}x{H} BGR "
          f"({datetime.date.today().isoformat()}; {machine()})\n")
    print(f"Flat out: median of {REPEAT} runs of {FRAMES['pool']} (pool) / {SHAPE_FRAMES} (appsrc, queue) / "
          f"{FRAMES['copy']} (copy) frames ({TCP_FRAMES} over TCP); pool, appsrc and queue runs interleaved. "
          f"Latency: {LAT_FRAMES} frames at 30 fps, first 5 left out, producer's buffer entering the sink "
          "(appsrc, queue: entering appsrc or the queue) to the consumer's fakesink.\n")
    print("| transport | mode | frames/s | producer CPU us/frame | consumer CPU us/frame "
          "| latency p50 us | latency p99 us | frames/s vs shmsink → shmsrc | notes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    failed = False
    for mode in MODES:
        base = through[("shm", mode)]
        for t in MODE_TRANSPORTS[mode]:
            r, lr = through[(t, mode)], lat[(t, mode)]
            failed |= not r.ok or not lr.ok
            vs = f"{r.fps / base.fps:.2f}x" if r.ok and base.ok and base.fps else "-"
            notes = "; ".join(r.notes + [f"30 fps: {n}" for n in lr.notes])
            cells = [LABEL[t], MODE_LABEL[mode],
                     fmt(r.fps, 0) if r.ok else "failed", fmt(r.prod_us) if r.ok else "-",
                     fmt(r.cons_us) if r.ok else "-",
                     fmt(lr.p50) if lr.ok else "failed", fmt(lr.p99) if lr.ok else "-", vs, notes]
            print("| " + " | ".join(cells) + " |")

    def ratio(a: Run, b: Run, attr: str) -> Optional[float]:
        x, y = getattr(a, attr), getattr(b, attr)
        return x / y if a.ok and b.ok and y > 0 else None

    print("\nWhat the producer's shape costs: frames/s against the pool row of the same transport, same run:\n")
    for t in ("shmring", "shm"):
        shapes = []
        for mode in ("appsrc", "queue"):
            x = ratio(through[(t, mode)], through[(t, "pool")], "fps")
            shapes.append(f"{MODE_LABEL[mode]} {'-' if x is None else f'{x:.2f}x'}")
        print(f"- {LABEL[t]}: " + "; ".join(shapes))

    print("\n### Targets\n")
    pool_x = ratio(through[("shmring", "pool")], through[("shm", "pool")], "fps")
    copy_x = ratio(through[("shmring", "copy")], through[("shm", "copy")], "fps")
    p50_x = ratio(lat[("shmring", "pool")], lat[("shm", "pool")], "p50")
    p99_x = ratio(lat[("shmring", "pool")], lat[("shm", "pool")], "p99")
    checks = [
        ("pool (frame not written): shmring frames/s >= 3x shmsink → shmsrc", pool_x, lambda x: x >= 3.0, "x"),
        ("copy: shmring frames/s >= 1.2x shmsink → shmsrc", copy_x, lambda x: x >= 1.2, "x"),
        ("latency p50 at 30 fps (pool) <= 0.5x shmsink → shmsrc zero-copy", p50_x, lambda x: x <= 0.5, "x"),
        ("latency p99 at 30 fps (pool) <= 0.5x shmsink → shmsrc zero-copy", p99_x, lambda x: x <= 0.5, "x"),
    ]
    for what, val, test, unit in checks:
        state = "n/a" if val is None else ("met" if test(val) else "NOT met")
        print(f"- {state}: {what} ({'-' if val is None else f'{val:.2f}{unit}'})")
    print("\nWhere shmring's latency at 30 fps (pool) goes, split at the producer's commit time "
          "that shmringsrc attaches to each buffer (p50 us):\n")
    for t in ("shmring",):
        lr = lat[(t, "pool")]
        if lr.ok and lr.deliver_p50 >= 0:
            print(f"- {LABEL[t]}: buffer entering the sink to commit {fmt(lr.commit_p50)}, "
                  f"commit to the consumer's fakesink {fmt(lr.deliver_p50)} (p99 {fmt(lr.deliver_p99)})")
    plot(through, lat)
    print(f"\n({elapsed:.0f} s in all)")
    return 1 if failed else 0


def plot(through: dict[tuple[str, str], Run], lat: dict[tuple[str, str], Run]) -> None:
    """A PNG of frames/s and latency per transport and mode; prints its path."""
    groups = [LABEL[t] for t in TRANSPORTS]

    def series(runs: dict[tuple[str, str], Run], attr: str) -> dict[str, list[Optional[float]]]:
        def value(t: str, m: str) -> Optional[float]:
            r = runs.get((t, m))
            return getattr(r, attr) if r is not None and r.ok else None
        return {MODE_LABEL[m]: [value(t, m) for t in TRANSPORTS] for m in MODES}
    path = bars("gst_bench.png", f"GStreamer transports, {W}x{H} BGR, two processes "
                f"({datetime.date.today().isoformat()})", [
                    (f"flat out (median of {REPEAT} runs)", "frames/s (log)", groups, series(through, "fps"), True),
                    (f"latency p50, 30 fps, {LAT_FRAMES} frames", "us (log)", groups, series(lat, "p50"), True),
                    (f"latency p99, 30 fps, {LAT_FRAMES} frames", "us (log)", groups, series(lat, "p99"), True),
                ])
    if path:
        print(f"\nPlot: {path}")


if __name__ == "__main__":
    sys.exit(main())
