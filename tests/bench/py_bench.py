# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python-side benchmark: shmring.Reader against a gi appsink pipeline, shmsrc and a copying reader.

Usage: py_bench.py  (env PY_BENCH_PRODUCER = the built py_bench_producer; PYTHONPATH = python/;
GST_PLUGIN_PATH_1_0 with the shmring plugin for the shmringsrc row)

Every row reads 1080p BGR frames in this process from a producer process and
reports frames/s, this process's CPU time per frame and the ratio to the
peer measured in the same run; a last table gives the latency at 30 fps.
"""

from __future__ import annotations

import glob
import os
import shutil
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
W, H = 1920, 1080
SIZE = W * H * 3
CAPS = f"video/x-raw,format=BGR,width={W},height={H},framerate=30/1"
PRODUCER = os.environ.get("PY_BENCH_PRODUCER", "")
GST_PRODUCER = os.environ.get("GST_BENCH_PRODUCER", "")


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


def gi_shmsrc(tmpdir: str) -> Result:
    sock = os.path.join(tmpdir, "shm.sock")
    label, source = "gi: shmsrc ! appsink", "C producer, in place (shmsink's allocator)"

    def start() -> subprocess.Popen:
        # The GStreamer benchmark's producer: buffers from shmsink's own
        # allocator, only a 16-byte stamp written, as for the rows above.
        p = subprocess.Popen([GST_PRODUCER, "pool", str(N), "0",
                              f"shmsink name=sink socket-path={sock} shm-size={SIZE * 10} "
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
    with tempfile.TemporaryDirectory() as tmp:
        zero = shmring_reader("inplace", copy=False)
        gi_ring = gi_shmringsrc()
        gi_shm = gi_shmsrc(tmp) if GST_PRODUCER else \
            Result("gi: shmsrc ! appsink", "-", 0, 0, 0, False, "skipped: no GStreamer benchmark producer")
        zero_c = shmring_reader("copy", copy=False)
        copying = shmring_reader("copy", copy=True)
    p50, p99, pmax, nlat = latency()

    print(f"\n### Python readers, {W}x{H} BGR, {N} frames each ({os.cpu_count()} CPUs)\n")
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
        (f"latency at 30 fps, commit to reader, {nlat} frames", "us (log)", ["p50", "p99", "max"],
         {"shmring.Reader": [p50, p99, pmax]}, True),
    ])
    if path:
        print(f"\nPlot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
