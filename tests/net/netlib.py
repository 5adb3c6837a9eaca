# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers for the network recipes: the pipelines of docs/NETWORK.md, processes, ports and deadlines."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Callable, Iterator, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
PRODUCER = os.path.join(HERE, "producer.py")

# Where Debian 12 and 13 keep each element the recipes use.
_PACKAGES = {
    "gdppay": "gstreamer1.0-plugins-bad", "gdpdepay": "gstreamer1.0-plugins-bad",
    "tcpclientsink": "gstreamer1.0-plugins-base", "tcpserversrc": "gstreamer1.0-plugins-base",
    "udpsink": "gstreamer1.0-plugins-good", "udpsrc": "gstreamer1.0-plugins-good",
    "rtpvrawpay": "gstreamer1.0-plugins-good", "rtpvrawdepay": "gstreamer1.0-plugins-good",
    "rtph264pay": "gstreamer1.0-plugins-good", "rtph264depay": "gstreamer1.0-plugins-good",
    "x264enc": "gstreamer1.0-plugins-ugly", "avdec_h264": "gstreamer1.0-libav",
    "h264parse": "gstreamer1.0-plugins-bad", "mpegtsmux": "gstreamer1.0-plugins-bad",
    "tsdemux": "gstreamer1.0-plugins-bad", "srtsink": "gstreamer1.0-plugins-bad",
    "srtsrc": "gstreamer1.0-plugins-bad", "videoconvert": "gstreamer1.0-plugins-base",
}
PACKAGES = {e: f"install the Debian package {p}" for e, p in _PACKAGES.items()}
PACKAGES["shmringsink"] = PACKAGES["shmringsrc"] = "build shmring's GStreamer plugin (-Dgst=enabled)"

# The far end of each recipe: caps the receiving udpsrc must be told (RTP carries no caps).
RAW_SAMPLING = {"BGR": "BGR", "RGB": "RGB", "I420": "YCbCr-4:2:0", "UYVY": "YCbCr-4:2:2"}


def gst_launch() -> str:
    path = shutil.which("gst-launch-1.0")
    if path is None:
        raise LookupError("gst-launch-1.0 is missing: install the Debian package gstreamer1.0-tools")
    return path


def missing(*elements: str) -> Optional[str]:
    """None when every element is there, else why not (element and Debian package), for pytest.skip."""
    if shutil.which("gst-inspect-1.0") is None:
        return "gst-inspect-1.0 is missing: install the Debian package gstreamer1.0-tools"
    for e in elements:
        r = subprocess.run(["gst-inspect-1.0", e], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            return f"GStreamer element {e} is missing: {PACKAGES.get(e, 'install the Debian package that has it')}"
    return None


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nobody uses on 127.0.0.1 right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sockets(table: str) -> list[tuple[int, str]]:
    out = []
    with open(f"/proc/net/{table}") as f:
        next(f)
        for line in f:
            parts = line.split()
            out.append((int(parts[1].rsplit(":", 1)[1], 16), parts[3]))
    return out


def tcp_listening(port: int) -> bool:
    """True once a socket listens on port (read from /proc/net/tcp, without connecting to it)."""
    return any(p == port and st == "0A" for t in ("tcp", "tcp6") for p, st in _sockets(t))


def udp_bound(port: int) -> bool:
    """True once a UDP socket is bound to port."""
    return any(p == port for t in ("udp", "udp6") for p, _st in _sockets(t))


def wait_for(cond: Callable[[], bool], timeout: float, what: str, procs: tuple["Proc", ...] = ()) -> None:
    """Wait until cond() holds; fail naming what did not happen (and the processes' logs) after timeout s."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            logs = "".join(p.describe() for p in procs)
            raise AssertionError(f"{what}: not within {timeout} s{logs}")
        time.sleep(0.01)


@contextlib.contextmanager
def logs_on_failure(procs: list["Proc"]) -> Iterator[None]:
    """An error inside (a reader that found no channel, a frame out of order) fails with every process's log."""
    try:
        yield
    except Exception as e:
        raise AssertionError(f"{type(e).__name__}: {e}{''.join(p.describe() for p in procs)}") from e


class Proc:
    """One end of a recipe: a process whose output goes to a log file, stopped and reaped for sure."""

    def __init__(self, name: str, argv: list[str], logdir: str) -> None:
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(logdir, f"{name}.log")
        self._log = open(self.log_path, "w")
        self.p = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.p.pid

    def log(self) -> str:
        with open(self.log_path) as f:
            return f.read()

    def describe(self) -> str:
        return f"\n--- {self.name} ({shlex.join(self.argv)}), exit {self.p.poll()}:\n{self.log()[-3000:]}"

    def cpu_ticks(self) -> int:
        """utime + stime of the process so far, in clock ticks (from /proc/PID/stat)."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def signal(self, sig: int) -> None:
        if self.p.poll() is None:
            os.killpg(self.p.pid, sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not exit within {timeout} s{self.describe()}") from None

    def stop(self) -> None:
        """Kill the process group if it still runs (cleanup after a failure) and reap it."""
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait()
        self._log.close()


def gst(name: str, pipeline: str, logdir: str) -> Proc:
    """gst-launch-1.0 -e PIPELINE (-e: Ctrl-C or SIGINT sends end of stream first)."""
    return Proc(name, [gst_launch(), "-e", *shlex.split(pipeline)], logdir)


def retrying(name: str, pipeline: str, logdir: str) -> Proc:
    """The sending end as docs/NETWORK.md runs it: started again until it ends without error."""
    cmd = f"until {shlex.quote(gst_launch())} -e {pipeline}; do sleep 1; done"
    return Proc(name, ["bash", "-c", cmd], logdir)


def producer(channel: str, logdir: str, *args: str) -> Proc:
    """tests/net/producer.py: pattern frames into channel (see its --help)."""
    return Proc("producer", [sys.executable, PRODUCER, channel, *args], logdir)


def decoder() -> str:
    """The H.264 decoder this machine has: avdec_h264 (gstreamer1.0-libav), else openh264dec."""
    return "avdec_h264" if missing("avdec_h264") is None else "openh264dec"


# The recipes of docs/NETWORK.md: (sending end on host A, receiving end on host B), channel a -> channel b.

def gdp(a: str, b: str, port: int, host: str = "127.0.0.1") -> tuple[str, str]:
    return (f"shmringsrc channel={a} ! gdppay ! tcpclientsink host={host} port={port} sync=false",
            f"tcpserversrc host={host} port={port} ! gdpdepay ! shmringsink channel={b} sequence=offset sync=false")


def rtp_raw(a: str, b: str, port: int, fmt: str, width: int, height: int, host: str = "127.0.0.1",
            mtu: int = 1400, chunks: int = 10) -> tuple[str, str]:
    buf = 32 * 1024 * 1024
    caps = (f"application/x-rtp,media=video,clock-rate=90000,encoding-name=RAW,sampling={RAW_SAMPLING[fmt]},"
            f"depth=(string)8,width=(string){width},height=(string){height},payload=96")
    return (f"shmringsrc channel={a} ! rtpvrawpay mtu={mtu} chunks-per-frame={chunks} "
            f"! udpsink host={host} port={port} buffer-size={buf} sync=false",
            f"udpsrc address={host} port={port} buffer-size={buf} caps=\"{caps}\" ! rtpvrawdepay "
            f"! shmringsink channel={b} sync=false")


def _encode(kbps: int) -> str:
    return (f"videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast "
            f"key-int-max=30 bitrate={kbps}")


def _decode(b: str) -> str:
    return f"h264parse ! {decoder()} ! videoconvert ! video/x-raw,format=BGR ! shmringsink channel={b} sync=false"


def h264_rtp(a: str, b: str, port: int, host: str = "127.0.0.1", kbps: int = 8000) -> tuple[str, str]:
    caps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96"
    return (f"shmringsrc channel={a} ! {_encode(kbps)} ! rtph264pay config-interval=-1 "
            f"! udpsink host={host} port={port} sync=false",
            f"udpsrc address={host} port={port} caps=\"{caps}\" ! rtph264depay ! {_decode(b)}")


def h264_srt(a: str, b: str, port: int, host: str = "127.0.0.1", kbps: int = 8000) -> tuple[str, str]:
    return (f"shmringsrc channel={a} ! {_encode(kbps)} ! h264parse config-interval=-1 ! mpegtsmux alignment=7 "
            f"! srtsink uri=\"srt://{host}:{port}?mode=caller\" sync=false",
            f"srtsrc uri=\"srt://{host}:{port}?mode=listener\" ! tsdemux ! {_decode(b)}")


def far_written(channel: str) -> int:
    """Frames the receiving end has written into its channel so far (0 while it does not exist)."""
    import shmring
    try:
        return int(shmring.inspect(channel).frames_written)
    except shmring.Error:
        return 0


def end_udp_stream(sender: Proc, receiver: Proc, b: str, count: int, timeout: float = 20) -> None:
    """End of stream does not cross UDP: once the sender is done and the receiver has written the frames
    (or stopped writing), stop the receiver with SIGINT, which gst-launch -e turns into end of stream."""
    sender.wait(timeout)
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = far_written(b)
        if n >= count:
            break
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since > 2.0:
            break  # nothing more comes: the rest was lost on the way
        time.sleep(0.01)
    receiver.signal(signal.SIGINT)


def read_mark(bgr) -> int:  # type: ignore[no-untyped-def]
    """The frame number producer.py --mark drew, read back from a decoded (height, width, 3) frame."""
    band = bgr[8:24]
    return sum(1 << i for i in range(20) if float(band[:, 64 * i + 16: 64 * i + 48].mean()) > 128)


def children(p: Proc) -> list[int]:
    """Pids of the direct children of a process (the gst-launch-1.0 a retrying loop runs)."""
    try:
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def gst_child(p: Proc) -> Optional[int]:
    """The gst-launch-1.0 a retrying loop runs now, or None between two tries."""
    for c in children(p):
        try:
            with open(f"/proc/{c}/comm") as f:
                if f.read().strip().startswith("gst-launch"):
                    return c
        except FileNotFoundError:
            pass
    return None
