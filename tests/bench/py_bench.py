# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python-side benchmark: shmring.Reader against a gi appsink pipeline, shmsrc and a copying reader.

Usage: py_bench.py  (env PY_BENCH_PRODUCER = the built py_bench_producer; PYTHONPATH = python/;
GST_PLUGIN_PATH_1_0 with the shmring plugin for the shmringsrc row; GST_BENCH_PRODUCER = the
GStreamer benchmark's producer for the shmsrc rows and the GStreamer producer shapes;
optional PY_BENCH_FRAMES, PY_BENCH_REPEAT, PY_BENCH_QUEUE, PY_BENCH_LATENCY_FRAMES)

Every row reads 1080p BGR frames in this process from a producer process and
reports frames/s, this process's CPU time per frame and the ratio to the
peer measured in the same run: the median of PY_BENCH_REPEAT runs, every
row's runs taken in turns; a last table gives the latency at 30 fps.

Beside the C producer, the GStreamer benchmark's producer feeds
shmringsink (read by shmring.Reader) and shmsink (read by a gi
shmsrc ! appsink pipeline) in three shapes: its own pad pushing the sink's
pool buffers; an application thread pushing them through
"appsrc max-buffers=2 block=true"; and its pad pushing them through
"queue max-size-buffers=PY_BENCH_QUEUE" (4).
"""

from __future__ import annotations

import glob
import itertools
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


def producer(name: str, mode: str, frames: int, fps: int) -> subprocess.Popen:
    p = subprocess.Popen([PRODUCER, name, mode, str(frames), str(fps)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    if p.stdout.readline() != "ready\n":
        raise SystemExit(f"producer {mode} did not start")
    return p


class Result:
    def __init__(self, label: str, source: str, frames: int, wall: float, cpu: float, ok: bool = True,
                 note: str = "") -> None:
        self.label, self.source, self.frames, self.wall, self.cpu, self.ok, self.note = \
            label, source, frames, wall, cpu, ok, note

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
    return Result(label, source, m.frames, m.wall, cpu_us * m.frames / 1e6, True, "; ".join(notes))


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


def gst_producer(shape: str, sink: str) -> subprocess.Popen:
    """The GStreamer benchmark's producer of shape (SHAPES) into sink, N frames flat out, once it is up."""
    mode, before, _ = SHAPES[shape]
    p = subprocess.Popen([GST_PRODUCER, mode, str(N), "0", before + sink],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None
    if not p.stdout.readline().startswith("ready "):
        p.kill()
        _, err = p.communicate()
        raise SystemExit(f"GStreamer producer {shape} did not start: {err.strip()}")
    return p


def stop_gst_producer(p: subprocess.Popen) -> str:
    """Tells the producer the reader is done; what it said went wrong, or copied ("" if nothing)."""
    try:
        out, err = p.communicate(timeout=20)  # closes its stdin
    except subprocess.TimeoutExpired:  # shmsink waits for a reader that is gone
        p.kill()
        out, err = p.communicate()
    for leftover in glob.glob(f"/dev/shm/shmpipe.{p.pid:5d}.*"):  # shmsink's area ("%5d")
        os.unlink(leftover)
    copied = next((ln.split('"copied": ')[1].split(",")[0] for ln in (out or "").splitlines()
                   if ln.startswith("result ")), None)
    if copied is None:
        return f"producer: {(err or '').strip().splitlines()[0] if (err or '').strip() else 'no result'}"
    return f"{copied} frames copied by the sink" if copied != "0" else ""


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
        note = stop_gst_producer(p)
    r.ok = r.frames == N and p.returncode == 0
    r.note = "; ".join(x for x in (note, "" if r.frames == N else f"got {r.frames} of {N} frames",
                                   "" if p.returncode == 0 else f"producer exit {p.returncode}") if x)
    return r


def gst_appsink(launch: str, label: str, source: str, start: Callable[[], Optional[subprocess.Popen]]) -> Result:
    try:
        import gi
        gi.require_version("Gst", "1.0")
        from gi.repository import Gst
    except (ImportError, ValueError) as e:
        return Result(label, source, 0, 0, 0, False, f"skipped: {e}")
    Gst.init(None)
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
    try:
        r = timed(label, source, body)
    finally:
        pipe.set_state(Gst.State.NULL)
        if prod is not None:
            if prod.stdin is not None:
                prod.stdin.close()  # the consumer is done
            try:
                prod.wait(timeout=10)
            except subprocess.TimeoutExpired:  # shmsink waits for a reader that is gone
                prod.kill()
                prod.wait()
            for leftover in glob.glob(f"/dev/shm/shmpipe.{prod.pid:5d}.*"):  # shmsink's area ("%5d")
                os.unlink(leftover)
    r.ok = r.frames == N
    if not r.ok:
        r.note = f"got {r.frames} of {N} frames"
    return r


def gi_shmringsrc() -> Result:
    label, source = "gi: shmringsrc ! appsink", "C producer, in place"
    if shutil.which("gst-inspect-1.0") and subprocess.run(["gst-inspect-1.0", "shmringsrc"],
                                                          capture_output=True).returncode != 0:
        return Result(label, source, 0, 0, 0, False, "skipped: shmringsrc not found")
    name = f"pybench-{os.getpid()}-gi"
    return gst_appsink(f"shmringsrc channel={name} ! appsink name=sink sync=false max-buffers=4",
                       label, source, lambda: producer(name, "inplace", N, 0))


def gi_shmsrc(tmpdir: str, shape: str = "pool") -> Result:
    sock = os.path.join(tmpdir, f"shm-{next(_count)}.sock")
    label = "gi: shmsrc ! appsink"
    source = "C producer, in place (shmsink's allocator)" if shape == "pool" else f"{SHAPES[shape][2]} (shmsink)"

    def start() -> subprocess.Popen:
        # The GStreamer benchmark's producer: buffers from shmsink's own
        # allocator, only a 16-byte stamp written, as for the rows above.
        mode, before, _ = SHAPES[shape]
        p = subprocess.Popen([GST_PRODUCER, mode, str(N), "0",
                              f"{before}shmsink name=sink socket-path={sock} shm-size={SIZE * 10} "
                              "wait-for-connection=true sync=false"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):  # the socket appears once shmsink is ready
            if p.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("shmsink did not start")
            time.sleep(0.01)
        return p
    return gst_appsink(f"shmsrc socket-path={sock} is-live=false do-timestamp=false ! {CAPS} ! "
                       "appsink name=sink sync=false max-buffers=4", label, source, start)


def latency() -> tuple[float, float, float, int]:
    name = f"pybench-{os.getpid()}-lat"
    frames = int(os.environ.get("PY_BENCH_LATENCY_FRAMES", "450"))
    p = producer(name, "inplace", frames, 30)
    lat = []
    try:
        with shmring.Reader(name, timeout=10, frame_timeout=20) as rd:
            for f in rd:
                if f.seq >= 3:  # the first frames race the attach; measure the steady state
                    lat.append(f.latency_ns / 1000)
    finally:
        p.wait()
    lat.sort()
    return lat[len(lat) // 2], lat[min(len(lat) - 1, len(lat) * 99 // 100)], lat[-1], len(lat)


def main() -> int:
    if not PRODUCER or not os.path.exists(PRODUCER):
        print("PY_BENCH_PRODUCER is not set to the built py_bench_producer", file=sys.stderr)
        return 77
    have_gst_producer = bool(GST_PRODUCER) and os.path.exists(GST_PRODUCER)
    with tempfile.TemporaryDirectory() as tmp:
        rows: dict[str, Callable[[], Result]] = {
            "zero": lambda: shmring_reader("inplace", copy=False),
            "gi_ring": gi_shmringsrc,
            "gi_shm": lambda: gi_shmsrc(tmp),
            "zero_c": lambda: shmring_reader("copy", copy=False),
            "copying": lambda: shmring_reader("copy", copy=True),
            "ring_pool": lambda: shmring_reader_gst("pool"),
            "ring_appsrc": lambda: shmring_reader_gst("appsrc"),
            "shm_appsrc": lambda: gi_shmsrc(tmp, "appsrc"),
            "ring_queue": lambda: shmring_reader_gst("queue"),
            "shm_queue": lambda: gi_shmsrc(tmp, "queue"),
        }
        if not have_gst_producer:
            for key in ("gi_shm", "ring_pool", "ring_appsrc", "shm_appsrc", "ring_queue", "shm_queue"):
                rows[key] = lambda: Result("-", "-", 0, 0, 0, False, "skipped: no GStreamer benchmark producer")
        runs: dict[str, list[Result]] = {key: [] for key in rows}
        for i in range(REPEAT):  # every row in turn, so a busy moment of the machine hits them all alike
            for key, fn in rows.items():
                t1 = time.monotonic()
                r = fn()
                runs[key].append(r)
                print(f"# {i + 1}/{REPEAT} {key}: {r.fps:.0f} frames/s {r.note} ({time.monotonic() - t1:.1f} s)",
                      file=sys.stderr, flush=True)
    res = {key: median(rs) for key, rs in runs.items()}
    zero, gi_ring, gi_shm, zero_c, copying = (res[k] for k in ("zero", "gi_ring", "gi_shm", "zero_c", "copying"))
    p50, p99, pmax, nlat = latency()

    print(f"\n### Python readers, {W}x{H} BGR, median of {REPEAT} runs of {N} frames each, all rows in turns "
          f"({os.cpu_count()} CPUs)\n")
    print("| reader | producer | frames/s | Python CPU us/frame | vs peer |")
    print("|---|---|---:|---:|---|")

    def row(r: Result, peer: Optional[Result], peer_name: str) -> None:
        if not r.ok and not r.frames:
            print(f"| {r.label} | {r.source} | - | - | {r.note} |")
            return
        ratio = f"{r.fps / peer.fps:.2f}x {peer_name}" if peer is not None and peer.fps else ""
        print(f"| {r.label} | {r.source} | {r.fps:.1f} | {r.cpu_us:.1f} | {ratio} {r.note} |")
    row(zero, gi_shm if gi_shm.ok else None, "shmsrc appsink")
    row(gi_ring, gi_shm if gi_shm.ok else None, "shmsrc appsink")
    row(gi_shm, None, "")
    row(zero_c, copying, "copying reader")
    row(copying, None, "")
    print(f"\n### GStreamer producer shapes, {W}x{H} BGR, median of {REPEAT} runs of {N} frames each, in turns "
          "with the rows above\n")
    print("| reader | producer | frames/s | Python CPU us/frame | vs peer |")
    print("|---|---|---:|---:|---|")
    # The shmsrc row above is the pool shape: the same GStreamer producer.
    gi_shm_pool = Result(gi_shm.label, f"{SHAPES['pool'][2]} (shmsink)", gi_shm.frames, gi_shm.wall, gi_shm.cpu,
                         gi_shm.ok, gi_shm.note)
    for shape, peer in (("pool", gi_shm_pool), ("appsrc", res["shm_appsrc"]), ("queue", res["shm_queue"])):
        row(res[f"ring_{shape}"], peer if peer.ok else None, "shmsrc appsink")
        row(peer, None, "")
    print(f"\n### Latency at 30 fps (commit to Python reader), {nlat} frames\n")
    print("| p50 us | p99 us | max us |")
    print("|---:|---:|---:|")
    print(f"| {p50:.1f} | {p99:.1f} | {pmax:.1f} |")
    print("\n### Targets\n")
    checks = [
        ("shmring.Reader >= 2x frames/s of gi shmsrc appsink",
         gi_shm.ok and zero.fps >= 2 * gi_shm.fps, f"{zero.fps / gi_shm.fps:.2f}x" if gi_shm.fps else "n/a"),
        ("shmring.Reader < 30 us Python CPU per frame", zero.cpu_us < 30, f"{zero.cpu_us:.1f} us"),
        ("copying producer: shmring.Reader >= 3x copying reader", zero_c.fps >= 3 * copying.fps,
         f"{zero_c.fps / copying.fps:.2f}x" if copying.fps else "n/a"),
        ("latency p99 at 30 fps < 300 us", p99 < 300, f"{p99:.1f} us"),
    ]
    for what, ok, val in checks:
        print(f"- {'met' if ok else 'NOT met'}: {what} ({val})")

    def fps(r: Result) -> Optional[float]:
        return r.fps if r.ok else None
    path = bars("py_bench.png", f"Python readers, {W}x{H} BGR ({time.strftime('%Y-%m-%d')})", [
        (f"flat out, {N} frames", "frames/s (log)",
         ["shmring.Reader", "gi: shmringsrc ! appsink", "gi: shmsrc ! appsink", "copying reader"],
         {"C producer, in place": [fps(zero), fps(gi_ring), fps(gi_shm), None],
          "C producer, copying": [fps(zero_c), None, None, fps(copying)]}, True),
        (f"GStreamer producer shapes, {N} frames", "frames/s (log)", [SHAPES[s][2] for s in SHAPES],
         {"shmring.Reader on shmringsink": [fps(res[f"ring_{s}"]) for s in SHAPES],
          "gi: shmsrc ! appsink on shmsink": [fps(gi_shm if s == "pool" else res[f"shm_{s}"]) for s in SHAPES]},
         True),
        (f"latency at 30 fps, commit to reader, {nlat} frames", "us (log)", ["p50", "p99", "max"],
         {"shmring.Reader": [p50, p99, pmax]}, True),
    ])
    if path:
        print(f"\nPlot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
