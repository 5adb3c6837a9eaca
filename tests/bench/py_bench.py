# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python-side benchmark: shmring.Reader against gi appsink pipelines on shmsrc and unixfdsrc, and a copying reader.

Usage: py_bench.py  (env PY_BENCH_PRODUCER = the built py_bench_producer; PYTHONPATH = python/;
GST_PLUGIN_PATH_1_0 with the shmring plugin for the shmringsrc row; GST_BENCH_PRODUCER = the
GStreamer benchmark's producer for the shmsrc and unixfdsrc rows and the GStreamer producer shapes;
optional PY_BENCH_FRAMES, PY_BENCH_REPEAT, PY_BENCH_QUEUE, PY_BENCH_LATENCY_FRAMES)

Every row reads 1080p BGR frames in this process from a producer process and
reports frames/s, this process's CPU time per frame, the producer's (for
the GStreamer producer, which measures its own) and the ratio to the best
peer measured in the same run: the median of PY_BENCH_REPEAT runs, every
row's runs taken in turns.

Beside the C producer, the GStreamer benchmark's producer feeds
shmringsink (read by shmring.Reader), shmsink (read by a gi
shmsrc ! appsink pipeline) and unixfdsink (a gi unixfdsrc ! appsink
pipeline; GStreamer 1.24 and later, its rows say "skipped" where the
running GStreamer has none) in three shapes: its own pad pushing the sink's
pool buffers (or buffers of a plain pool of 4 on the allocator the sink
proposes: shmsink's, unixfdsink's memfd allocator); an application thread
pushing them through "appsrc max-buffers=2 block=true"; and its pad pushing
them through "queue max-size-buffers=PY_BENCH_QUEUE" (4).

A last table gives the latency at 30 fps over PY_BENCH_LATENCY_FRAMES
(1,005; the first 5 left out) from the GStreamer producer's stamp, written
right before its push into the sink, to the Python reader holding the
frame, for the three transports in turn, with the memory of the channel
through that run (procmem.py: PSS of the producer and this process, the
shared memory they hold).
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Optional

import numpy  # noqa: F401 - imported up front so no row pays for the import

import shmring
from plot import bars
from procmem import Sampler

# Frames per flat-out row: at 20,000-100,000 frames/s a few hundred frames last
# milliseconds, and the pipeline start-up in that window decides the result.
N = int(os.environ.get("PY_BENCH_FRAMES", "2000"))
REPEAT = int(os.environ.get("PY_BENCH_REPEAT", "3"))
QUEUE_BUFFERS = int(os.environ.get("PY_BENCH_QUEUE", "4"))
W, H = 1920, 1080
SIZE = W * H * 3
CAPS = f"video/x-raw,format=BGR,width={W},height={H},framerate=30/1"
PRODUCER = os.environ.get("PY_BENCH_PRODUCER", "")
GST_PRODUCER = os.environ.get("GST_BENCH_PRODUCER", "")
# The GStreamer producer's shapes: (its mode, what goes before the sink, label).
SHAPES = {
    "pool": ("pool", "", "GStreamer producer, sink's pool"),
    "appsrc": ("appsrc", "", "GStreamer app: sink's pool → appsrc max-buffers=2"),
    "queue": ("pool", f"queue max-size-buffers={QUEUE_BUFFERS} max-size-bytes=0 max-size-time=0 ! ",
              f"GStreamer producer, sink's pool → queue max-size-buffers={QUEUE_BUFFERS}"),
}
# shmringsink as py_bench_producer sets up its channel: one lossless reader, six frames queued, six held.
SHMRINGSINK = "shmringsink name=sink sync=false policy=lossless max-readers=1 queue-length=6 max-holds=6"
_count = itertools.count()
LAT_FRAMES = int(os.environ.get("PY_BENCH_LATENCY_FRAMES", "1005"))
LAT_WARMUP = 5


def producer(name: str, mode: str, frames: int, fps: int) -> subprocess.Popen:
    p = subprocess.Popen([PRODUCER, name, mode, str(frames), str(fps)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    if p.stdout.readline() != "ready\n":
        raise SystemExit(f"producer {mode} did not start")
    return p


class Result:
    def __init__(self, label: str, source: str, frames: int, wall: float, cpu: float, ok: bool = True,
                 note: str = "", prod_us: float = -1.0) -> None:
        self.label, self.source, self.frames, self.wall, self.cpu, self.ok, self.note = \
            label, source, frames, wall, cpu, ok, note
        self.prod_us = prod_us  # the GStreamer producer's CPU per frame (-1: not measured)

    @property
    def fps(self) -> float:
        return self.frames / self.wall if self.wall else 0.0

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.frames * 1e6 if self.frames else 0.0


def median(runs: list[Result]) -> Result:
    """The run of median frames/s, with the median CPU per frame of all runs that read every frame."""
    label, source = runs[0].label, runs[0].source
    good = [r for r in runs if r.ok]
    if not good:
        bad = next((r for r in runs if r.note), runs[0])
        return Result(label, source, 0, 0, 0, False, bad.note)
    m = sorted(good, key=lambda r: r.fps)[len(good) // 2]
    cpu_us = statistics.median(r.cpu_us for r in good)
    notes = sorted({r.note for r in runs if r.note})
    if len(good) < len(runs):
        notes.insert(0, f"{len(runs) - len(good)} of {len(runs)} runs failed")
    prods = [r.prod_us for r in good if r.prod_us >= 0]
    return Result(label, source, m.frames, m.wall, cpu_us * m.frames / 1e6, True, "; ".join(notes),
                  statistics.median(prods) if prods else -1.0)


def timed(label: str, source: str, body: Callable[[], int]) -> Result:
    c0, t0 = time.process_time(), time.perf_counter()
    n = body()
    return Result(label, source, n, time.perf_counter() - t0, time.process_time() - c0)


def shmring_reader(mode: str, copy: bool) -> Result:
    name = f"pybench-{os.getpid()}-{mode}-{int(copy)}"
    p = producer(name, mode, N, 0)
    try:
        with shmring.Reader(name, timeout=10, frame_timeout=20) as rd:
            def body() -> int:
                n = 0
                for f in rd:
                    if copy:
                        data = bytes(f.data)  # the hand-rolled approach: copy each frame out
                        assert int.from_bytes(data[:8], "little") == f.seq
                    else:
                        a = f.array  # zero-copy view
                        assert a.shape == (H, W, 3)
                    n += 1
                return n
            label = "copying reader (bytes per frame)" if copy else "shmring.Reader (zero-copy numpy view)"
            r = timed(label, f"C producer, {'in place' if mode == 'inplace' else 'copying'}", body)
    finally:
        p.wait()
    return r


def gst_producer(shape: str, sink: str, frames: int = 0, fps: int = 0) -> subprocess.Popen:
    """The GStreamer benchmark's producer of shape (SHAPES) into sink, frames (N) at fps (0: flat out),
    once it is up. It reports as soon as its standard input closes (stop_gst_producer)."""
    mode, before, _ = SHAPES[shape]
    p = subprocess.Popen([GST_PRODUCER, mode, str(frames or N), str(fps), before + sink],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, GST_BENCH_REPORT_ON_CLOSE="1"))
    assert p.stdout is not None
    if not p.stdout.readline().startswith("ready "):
        p.kill()
        _, err = p.communicate()
        raise SystemExit(f"GStreamer producer {shape} did not start: {err.strip()}")
    return p


def stop_gst_producer(p: subprocess.Popen, r: Optional[Result] = None) -> str:
    """Tells the producer the reader is done; what it said went wrong ("" if nothing). Sets r.prod_us."""
    try:
        out, err = p.communicate(timeout=20)  # closes its stdin: it reports and ends
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    for leftover in glob.glob(f"/dev/shm/shmpipe.{p.pid:5d}.*"):  # shmsink's area ("%5d")
        os.unlink(leftover)
    res = next((json.loads(ln[len("result "):]) for ln in (out or "").splitlines() if ln.startswith("result ")),
               None)
    if res is None:
        return f"producer: {(err or '').strip().splitlines()[0] if (err or '').strip() else 'no result'}"
    if r is not None and res.get("pushed"):
        r.prod_us = res["cpu_seconds"] / res["pushed"] * 1e6
    return f"{res['copied']} frames copied by the sink" if res.get("copied") else ""


def shmring_reader_gst(shape: str) -> Result:
    """shmring.Reader on shmringsink, fed by the GStreamer producer in shape."""
    name = f"pybench-{os.getpid()}-{shape}-{next(_count)}"
    label, source = "shmring.Reader (zero-copy numpy view)", f"{SHAPES[shape][2]} (shmringsink)"
    p = gst_producer(shape, f"{SHMRINGSINK} channel={name}")
    try:
        with shmring.Reader(name, timeout=10, frame_timeout=20) as rd:
            def body() -> int:
                n = 0
                for f in rd:
                    a = f.array  # zero-copy view
                    assert a.shape == (H, W, 3)
                    n += 1
                return n
            r = timed(label, source, body)
    finally:
        note = stop_gst_producer(p, r if "r" in locals() else None)
    r.ok = r.frames == N and p.returncode == 0
    r.note = "; ".join(x for x in (note, "" if r.frames == N else f"got {r.frames} of {N} frames",
                                   "" if p.returncode == 0 else f"producer exit {p.returncode}") if x)
    return r


def gst_module():  # type: ignore[no-untyped-def]
    """gi's Gst, initialised, or the reason it cannot be had."""
    try:
        import gi
        gi.require_version("Gst", "1.0")
        from gi.repository import Gst
    except (ImportError, ValueError) as e:
        return None, f"skipped: {e}"
    Gst.init(None)
    return Gst, ""


def gst_appsink(launch: str, label: str, source: str, start: Callable[[], Optional[subprocess.Popen]],
                gst_prod: bool = False) -> Result:
    """Reads N frames through the gi pipeline launch (ending in "appsink name=sink") from the producer start()
    starts; gst_prod: that is the GStreamer benchmark's producer (its CPU per frame is taken)."""
    Gst, why = gst_module()
    if Gst is None:
        return Result(label, source, 0, 0, 0, False, why)
    prod = start()
    pipe = Gst.parse_launch(launch)
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)

    def body() -> int:
        n = 0
        while n < N:  # shmsrc carries no end of stream: stop after N frames
            s = sink.emit("try-pull-sample", 20 * Gst.SECOND)
            if s is None:
                break
            buf = s.get_buffer()
            ok, mi = buf.map(Gst.MapFlags.READ)
            if ok:
                buf.unmap(mi)
            n += 1
        return n
    r = Result(label, source, 0, 0, 0, False)
    note = ""
    try:
        r = timed(label, source, body)
    finally:
        pipe.set_state(Gst.State.NULL)
        if prod is not None and gst_prod:
            note = stop_gst_producer(prod, r)
        elif prod is not None:
            if prod.stdin is not None:
                prod.stdin.close()  # the consumer is done
            try:
                prod.wait(timeout=10)
            except subprocess.TimeoutExpired:
                prod.kill()
                prod.wait()
    r.ok = r.frames == N
    r.note = "; ".join(x for x in (note, "" if r.ok else f"got {r.frames} of {N} frames") if x)
    return r


def gi_shmringsrc() -> Result:
    label, source = "gi: shmringsrc ! appsink", "C producer, in place"
    if shutil.which("gst-inspect-1.0") and subprocess.run(["gst-inspect-1.0", "shmringsrc"],
                                                          capture_output=True).returncode != 0:
        return Result(label, source, 0, 0, 0, False, "skipped: shmringsrc not found")
    name = f"pybench-{os.getpid()}-gi"
    return gst_appsink(f"shmringsrc channel={name} ! appsink name=sink sync=false max-buffers=4",
                       label, source, lambda: producer(name, "inplace", N, 0))


# The peers' sinks and sources; {sock} is a private socket path. The producer's
# buffers: a plain pool on the allocator the sink proposes, of 4 buffers in
# shmsink's area of 10 frames (more do not fit with its own use of the area),
# of 10 memfd buffers on unixfdsink's allocator: shmsink's 10 frames.
UNIXFD_POOL_BUFFERS = 10
PEER_SINK = {"shm": f"shmsink name=sink socket-path={{sock}} shm-size={SIZE * 10} wait-for-connection=true sync=false",
             "unixfd": "unixfdsink name=sink socket-path={sock} sync=false"}
PEER_SRC = {"shm": f"shmsrc socket-path={{sock}} is-live=false do-timestamp=false ! {CAPS}",
            "unixfd": "unixfdsrc socket-path={sock}"}
PEER_LABEL = {"shm": "gi: shmsrc ! appsink", "unixfd": "gi: unixfdsrc ! appsink"}
PEER_SINK_NAME = {"shm": "shmsink", "unixfd": "unixfdsink"}


def peer_producer(transport: str, shape: str, sock: str, frames: int = 0, fps: int = 0) -> subprocess.Popen:
    if transport == "unixfd":
        os.environ["GST_BENCH_POOL_BUFFERS"] = str(UNIXFD_POOL_BUFFERS)
    try:
        return gst_producer(shape, PEER_SINK[transport].format(sock=sock), frames, fps)
    finally:
        os.environ.pop("GST_BENCH_POOL_BUFFERS", None)


def gi_peer(tmpdir: str, transport: str, shape: str = "pool") -> Result:
    """The gi appsink row on shmsrc or unixfdsrc, fed by the GStreamer producer in shape."""
    sock = os.path.join(tmpdir, f"{transport}-{next(_count)}.sock")
    label = PEER_LABEL[transport]
    source = f"{SHAPES[shape][2]} ({PEER_SINK_NAME[transport]})"
    return gst_appsink(f"{PEER_SRC[transport].format(sock=sock)} ! appsink name=sink sync=false max-buffers=4",
                       label, source, lambda: peer_producer(transport, shape, sock), gst_prod=True)


class Latency:
    def __init__(self, label: str) -> None:
        self.label = label
        self.lat: list[float] = []
        self.pss = self.shm = -1
        self.note = ""

    def pct(self, q: float) -> float:
        v = sorted(self.lat)
        return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))] if v else -1.0


def latency(tmpdir: str, transport: str) -> Latency:
    """LAT_FRAMES at 30 fps from the GStreamer producer (pool) into transport's sink: its stamp (CLOCK_MONOTONIC,
    the frame's first 8 bytes, written right before the push) to this process holding the frame."""
    res = Latency("shmring.Reader" if transport == "shmring" else PEER_LABEL[transport])
    stamps: list[int] = []
    if transport == "shmring":
        name = f"pybench-{os.getpid()}-lat-{next(_count)}"
        p = gst_producer("pool", f"{SHMRINGSINK} channel={name}", LAT_FRAMES, 30)
        reader: Callable[[], None]

        def reader() -> None:
            with shmring.Reader(name, timeout=10, frame_timeout=20) as rd:
                for f in rd:
                    now = time.monotonic_ns()
                    stamps.append(now - int.from_bytes(f.data[:8], "little"))
    else:
        Gst, why = gst_module()
        if Gst is None:
            res.note = why
            return res
        sock = os.path.join(tmpdir, f"{transport}-lat-{next(_count)}.sock")
        p = peer_producer(transport, "pool", sock, LAT_FRAMES, 30)

        def reader() -> None:
            pipe = Gst.parse_launch(f"{PEER_SRC[transport].format(sock=sock)} ! appsink name=sink sync=false "
                                    "max-buffers=4")
            sink = pipe.get_by_name("sink")
            pipe.set_state(Gst.State.PLAYING)
            try:
                while len(stamps) < LAT_FRAMES:
                    s = sink.emit("try-pull-sample", 20 * Gst.SECOND)
                    if s is None:
                        break
                    now = time.monotonic_ns()
                    stamps.append(now - int.from_bytes(s.get_buffer().extract_dup(0, 8), "little"))
            finally:
                pipe.set_state(Gst.State.NULL)
    try:
        with Sampler(lambda: [p.pid, os.getpid()], interval=0.2) as sampler:
            reader()
        peak = sampler.peak()
        res.pss, res.shm = peak.pss, peak.shm_allocated
    finally:
        res.note = stop_gst_producer(p)
    res.lat = [x / 1000 for x in stamps[LAT_WARMUP:]]
    if len(stamps) < LAT_FRAMES:
        res.note = "; ".join(x for x in (res.note, f"got {len(stamps)} of {LAT_FRAMES} frames") if x)
    return res


def main() -> int:
    if not PRODUCER or not os.path.exists(PRODUCER):
        print("PY_BENCH_PRODUCER is not set to the built py_bench_producer", file=sys.stderr)
        return 77
    have_gst_producer = bool(GST_PRODUCER) and os.path.exists(GST_PRODUCER)
    no_unixfd = ""
    if not shutil.which("gst-inspect-1.0") or any(
            subprocess.run(["gst-inspect-1.0", e], capture_output=True).returncode != 0
            for e in ("unixfdsink", "unixfdsrc")):
        version = subprocess.run(["gst-inspect-1.0", "--version"], capture_output=True, text=True).stdout \
            if shutil.which("gst-inspect-1.0") else ""
        ver = next((ln.strip() for ln in version.splitlines() if ln.startswith("GStreamer")), "GStreamer")
        no_unixfd = f"skipped: no unixfdsink in {ver} (gst-plugins-bad 1.24 and later)"
        print(f"# unixfd rows {no_unixfd}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows: dict[str, Callable[[], Result]] = {
            "zero": lambda: shmring_reader("inplace", copy=False),
            "gi_ring": gi_shmringsrc,
            "ring_pool": lambda: shmring_reader_gst("pool"),
            "shm_pool": lambda: gi_peer(tmp, "shm"),
            "unixfd_pool": lambda: gi_peer(tmp, "unixfd"),
            "zero_c": lambda: shmring_reader("copy", copy=False),
            "copying": lambda: shmring_reader("copy", copy=True),
        }
        for shape in ("appsrc", "queue"):
            rows[f"ring_{shape}"] = lambda shape=shape: shmring_reader_gst(shape)  # type: ignore[misc]
            rows[f"shm_{shape}"] = lambda shape=shape: gi_peer(tmp, "shm", shape)  # type: ignore[misc]
            rows[f"unixfd_{shape}"] = lambda shape=shape: gi_peer(tmp, "unixfd", shape)  # type: ignore[misc]
        skipped: dict[str, str] = {}
        for key in list(rows):
            if not have_gst_producer and key.split("_")[0] in ("ring", "shm", "unixfd"):
                skipped[key] = "skipped: no GStreamer benchmark producer"
            elif no_unixfd and key.startswith("unixfd_"):
                skipped[key] = no_unixfd
        for key, why in skipped.items():
            rows[key] = lambda why=why: Result("-", "-", 0, 0, 0, False, why)  # type: ignore[misc]
        runs: dict[str, list[Result]] = {key: [] for key in rows}
        for i in range(REPEAT):  # every row in turn, so a busy moment of the machine hits them all alike
            for key, fn in rows.items():
                if key in skipped and i > 0:
                    continue
                t1 = time.monotonic()
                r = fn()
                runs[key].append(r)
                print(f"# {i + 1}/{REPEAT} {key}: {r.fps:.0f} frames/s {r.note} ({time.monotonic() - t1:.1f} s)",
                      file=sys.stderr, flush=True)
        res = {key: median(rs) for key, rs in runs.items()}
        lats: dict[str, Latency] = {}
        if have_gst_producer:
            for t in ("shmring", "shm", "unixfd"):
                if t == "unixfd" and no_unixfd:
                    continue
                lats[t] = latency(tmp, t)
                print(f"# latency {t}: p50 {lats[t].pct(0.5):.0f} us p99 {lats[t].pct(0.99):.0f} us {lats[t].note}",
                      file=sys.stderr, flush=True)
    zero, gi_ring, zero_c, copying = (res[k] for k in ("zero", "gi_ring", "zero_c", "copying"))

    def best_peer(shape: str) -> Optional[Result]:
        peers = [res[f"{t}_{shape}"] for t in ("shm", "unixfd") if res[f"{t}_{shape}"].ok]
        return max(peers, key=lambda r: r.fps, default=None)

    def row(r: Result, peer: Optional[Result], label: str = "", source: str = "") -> None:
        label, source = label or r.label, source or r.source
        if not r.ok and not r.frames:
            print(f"| {label} | {source} | - | - | - | - | {r.note} |")
            return
        ratio = f"{r.fps / peer.fps:.2f}x {peer.label.split(': ')[-1]}" if peer is not None and peer.fps else ""
        prod = f"{r.prod_us:.1f}" if r.prod_us >= 0 else "-"
        print(f"| {label} | {source} | {r.fps:.1f} | {r.cpu_us:.1f} | {prod} | {ratio} | {r.note} |")

    head = ("| reader | producer | frames/s | Python CPU us/frame | producer CPU us/frame | vs best peer | notes |\n"
            "|---|---|---:|---:|---:|---|---|")
    print(f"\n### Python readers, {W}x{H} BGR, median of {REPEAT} runs of {N} frames each, all rows in turns "
          f"({time.strftime('%Y-%m-%d')}; {os.cpu_count()} CPUs)\n")
    print(head)
    peer_pool = best_peer("pool")
    row(zero, peer_pool)
    row(gi_ring, peer_pool)
    row(zero_c, copying)
    row(copying, None)
    print(f"\n### GStreamer producer shapes, {W}x{H} BGR, median of {REPEAT} runs of {N} frames each, in turns "
          "with the rows above\n")
    print(head)
    for shape in SHAPES:
        peer = best_peer(shape)
        row(res[f"ring_{shape}"], peer)
        for t in ("shm", "unixfd"):
            row(res[f"{t}_{shape}"], None, PEER_LABEL[t], f"{SHAPES[shape][2]} ({PEER_SINK_NAME[t]})")
    print(f"\n### Latency at 30 fps, {LAT_FRAMES} frames, the first {LAT_WARMUP} left out: percentiles over "
          f"{LAT_FRAMES - LAT_WARMUP} frames, the GStreamer producer's stamp right before its push to the Python "
          "reader holding the frame; memory through the run: PSS of the producer and this process, and the shared "
          "memory they hold\n")
    print("| reader | p50 us | p99 us | max us | PSS MiB | shared MiB | notes |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for t, label in (("shmring", "shmring.Reader on shmringsink"), ("shm", "gi: shmsrc ! appsink on shmsink"),
                     ("unixfd", "gi: unixfdsrc ! appsink on unixfdsink")):
        lr = lats.get(t)
        if lr is None or not lr.lat:
            why = lr.note if lr is not None else (no_unixfd if t == "unixfd" else "skipped")
            print(f"| {label} | - | - | - | - | - | {why} |")
            continue
        print(f"| {label} | {lr.pct(0.5):.1f} | {lr.pct(0.99):.1f} | {max(lr.lat):.1f} | "
              f"{lr.pss / 2**20:.1f} | {lr.shm / 2**20:.1f} | {lr.note} |")
    print("\n### Targets and ratios against the best peer of this run\n")
    ring_lat = lats.get("shmring")
    p99 = ring_lat.pct(0.99) if ring_lat is not None and ring_lat.lat else -1.0
    checks: list[tuple[str, Optional[bool], str]] = [
        ("shmring.Reader (C producer) >= 2x frames/s of the best gi appsink peer (GStreamer producer, pool)",
         peer_pool is not None and zero.fps >= 2 * peer_pool.fps,
         f"{zero.fps / peer_pool.fps:.2f}x" if peer_pool is not None and peer_pool.fps else "n/a"),
        ("shmring.Reader < 30 us Python CPU per frame", zero.cpu_us < 30, f"{zero.cpu_us:.1f} us"),
        ("copying producer: shmring.Reader >= 3x copying reader", zero_c.fps >= 3 * copying.fps,
         f"{zero_c.fps / copying.fps:.2f}x" if copying.fps else "n/a"),
        ("latency p99 at 30 fps < 300 us", 0 <= p99 < 300, f"{p99:.1f} us"),
    ]
    for shape in SHAPES:
        peer = best_peer(shape)
        r = res[f"ring_{shape}"]
        if peer is not None and r.ok and peer.fps:
            checks.append((f"{SHAPES[shape][2]}: shmring.Reader >= 3x frames/s of the best peer "
                           f"({peer.label.split(': ')[-1]})", r.fps >= 3 * peer.fps, f"{r.fps / peer.fps:.2f}x"))
    peer_lat = [lats[t] for t in ("shm", "unixfd") if t in lats and lats[t].lat]
    if ring_lat is not None and ring_lat.lat and peer_lat:
        for q, name, target in ((0.5, "p50", 0.5), (0.99, "p99", None)):
            b = min(peer_lat, key=lambda lr: lr.pct(q))
            x = ring_lat.pct(q) / b.pct(q)
            checks.append((f"latency {name} at 30 fps against the best peer ({b.label.split(': ')[-1]})"
                           + (f" <= {target}x" if target else ""), None if target is None else x <= target,
                           f"{x:.2f}x"))
        b = min(peer_lat, key=lambda lr: lr.pss)
        checks.append((f"memory at 30 fps (PSS) against the best peer ({b.label.split(': ')[-1]}) <= 1x",
                       ring_lat.pss <= b.pss, f"{ring_lat.pss / b.pss:.2f}x" if b.pss > 0 else "n/a"))
    for what, ok, val in checks:
        print(f"- {'' if ok is None else 'met: ' if ok else 'NOT met: '}{what} ({val})")
    if no_unixfd:
        print(f"- unixfdsink → unixfdsrc: {no_unixfd}")

    def fps(r: Result) -> Optional[float]:
        return r.fps if r.ok else None
    path = bars("py_bench.png", f"Python readers, {W}x{H} BGR ({time.strftime('%Y-%m-%d')})", [
        (f"flat out, {N} frames", "frames/s (log)", [SHAPES[s][2] for s in SHAPES],
         {"shmring.Reader on shmringsink": [fps(res[f"ring_{s}"]) for s in SHAPES],
          "gi: shmsrc ! appsink on shmsink": [fps(res[f"shm_{s}"]) for s in SHAPES],
          "gi: unixfdsrc ! appsink on unixfdsink": [fps(res[f"unixfd_{s}"]) for s in SHAPES]}, True),
        (f"latency at 30 fps, {LAT_FRAMES - LAT_WARMUP} frames", "us (log)", ["p50", "p99"],
         {lr.label: [lr.pct(0.5), lr.pct(0.99)] for lr in lats.values() if lr.lat}, True),
    ])
    if path:
        print(f"\nPlot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
