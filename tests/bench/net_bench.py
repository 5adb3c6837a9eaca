# SPDX-License-Identifier: LGPL-2.1-or-later
"""Network recipes benchmark: each recipe of docs/NETWORK.md at 1080p30 on loopback, end to end.

Usage: net_bench.py  (env PYTHONPATH with python/ and tests/net/; GST_PLUGIN_PATH_1_0 with the shmring
plugin; optional NET_BENCH_FRAMES, default 150 = 5 s per recipe)

Each row runs four processes: tests/net/producer.py writing 1080p frames at 30 fps into channel A with
shmring.Writer (each frame's number stamped in its first bytes, its write time kept), the sending end
(shmringsrc ! ... ! network sink), the receiving end (network source ! ... ! shmringsink into channel B),
and this script reading B with shmring.Reader.  frames/s is measured at the reader from its first frame
to its last; CPU per frame of each end is utime + stime from /proc/PID/stat over the run, divided by the
frames that arrived; latency is from the producer's write into A to the reader getting the frame from B
(both on one CLOCK_MONOTONIC), matched by the number in the payload for raw video and by the number the
producer draws as gray blocks for H.264 (which the encoder keeps); the first second is left out.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from typing import Callable, Optional

import netlib
import shmring
from shmring.testing import pattern_seq

N = int(os.environ.get("NET_BENCH_FRAMES", "150"))
W, H = 1920, 1080
TICK = os.sysconf("SC_CLK_TCK")


class Row:
    def __init__(self, label: str) -> None:
        self.label = label
        self.note = ""
        self.got = 0
        self.fps = 0.0
        self.cpu_send = self.cpu_recv = 0.0
        self.lat: list[float] = []


def run(label: str, fmt: str, recipe: Callable[[str, str, int], tuple[str, str]], udp: bool,
        raw: bool, ended_by_sender: bool) -> Row:
    row = Row(label)
    why = netlib.missing(*{w for p in recipe("a", "b", 1) for w in p.split() if w.isidentifier()}
                         & set(netlib.PACKAGES))
    if why:
        row.note = f"skipped: {why}"
        return row
    tag = f"{os.getpid()}-{label.replace(' ', '-').replace('/', '-')}"
    a, b = f"netbench-{tag}-a", f"netbench-{tag}-b"
    port = netlib.free_port(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    send, recv = recipe(a, b, port)
    with tempfile.TemporaryDirectory() as tmp:
        times = os.path.join(tmp, "times")
        procs: list[netlib.Proc] = []
        try:
            r = netlib.gst("receiver", recv, tmp)
            procs.append(r)
            netlib.wait_for(lambda: netlib.udp_bound(port) if udp else netlib.tcp_listening(port), 20,
                            "receiver ready", (r,))
            prod = netlib.producer(a, tmp, "--count", str(N), "--fps", "30", "--format", fmt, "--width",
                                   str(W), "--height", str(H), "--one-pattern", "--times", times,
                                   *([] if raw else ["--mark"]))
            s = netlib.gst("sender", send, tmp)
            procs += [prod, s]
            arrivals: list[tuple[int, int, int]] = []  # (far seq, payload number or -1, arrival ns)
            cpu: dict[str, int] = {}

            def snapshot() -> None:
                for p in (s, r):
                    try:
                        cpu[p.name] = p.cpu_ticks()
                    except OSError:
                        pass

            if not ended_by_sender:
                def end() -> None:
                    netlib.end_udp_stream(s, r, b, N, timeout=60)
                threading.Thread(target=end, daemon=True).start()
            with shmring.Reader(b, timeout=60, frame_timeout=60) as rd:
                for f in rd:
                    now = time.monotonic_ns()
                    arrivals.append((f.seq, pattern_seq(f.array) if raw else netlib.read_mark(f.array), now))
                    snapshot()  # the newest while both ends still run (they exit at end of stream)
            prod.wait(60)
            s.wait(60)
            r.wait(60)
            with open(times) as fh:
                written = dict(tuple(map(int, line.split())) for line in fh)  # type: ignore[misc]
        finally:
            for p in procs:
                p.stop()
    if os.environ.get("NET_BENCH_DEBUG"):
        print(label, [(sq, n) for sq, n, _t in arrivals], file=sys.stderr)
    row.got = len(arrivals)
    if row.got:
        row.cpu_send = cpu.get("sender", 0) / TICK * 1e3 / row.got
        row.cpu_recv = cpu.get("receiver", 0) / TICK * 1e3 / row.got
    # The first second (start-up: the chain fills, the receiver's sink keeps only the newest frame until the
    # reader attaches) is left out of the rates and latencies.
    steady = [x for x in arrivals if x[1] >= 30]
    if len(steady) >= 2:
        row.fps = (len(steady) - 1) * 1e9 / (steady[-1][2] - steady[0][2])
    row.lat = [(t - written[n]) / 1e6 for _s, n, t in steady if n in written]
    unknown = [n for _s, n, _t in arrivals if n not in written]
    if unknown:
        row.note = f"{len(unknown)} frames with an unknown number"
    if row.got < N:
        row.note = (row.note + "; " if row.note else "") + f"{N - row.got} of {N} frames lost or not read"
    return row


def pct(xs: list[float], q: float) -> Optional[float]:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> int:
    if netlib.missing("shmringsrc"):
        print("the shmring GStreamer plugin is not on GST_PLUGIN_PATH_1_0", file=sys.stderr)
        return 77
    rows = [
        run("GDP/TCP BGR", "BGR", netlib.gdp, udp=False, raw=True, ended_by_sender=True),
        run("RTP raw BGR", "BGR", lambda a, b, p: netlib.rtp_raw(a, b, p, "BGR", W, H), udp=True, raw=True,
            ended_by_sender=False),
        run("RTP raw I420", "I420", lambda a, b, p: netlib.rtp_raw(a, b, p, "I420", W, H), udp=True, raw=True,
            ended_by_sender=False),
        run("H.264 RTP/UDP", "I420", netlib.h264_rtp, udp=True, raw=False, ended_by_sender=False),
        run("H.264 SRT", "I420", netlib.h264_srt, udp=True, raw=False, ended_by_sender=True),
    ]
    print(f"\n### Network recipes on loopback, {W}x{H} at 30 fps, {N} frames each ({os.cpu_count()} CPUs)\n")
    print("| recipe | frames arrived | frames/s | sender CPU ms/frame | receiver CPU ms/frame "
          "| latency p50 ms | latency p99 ms | notes |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        p50, p99 = pct(r.lat, 0.5), pct(r.lat, 0.99)
        lat = f"{p50:.1f} | {p99:.1f}" if p50 is not None and p99 is not None else "- | -"
        print(f"| {r.label} | {r.got} | {r.fps:.1f} | {r.cpu_send:.2f} | {r.cpu_recv:.2f} | {lat} | {r.note} |")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
