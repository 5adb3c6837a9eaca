# SPDX-License-Identifier: LGPL-2.1-or-later
"""The encoded recipes (H.264 with x264enc tune=zerolatency, over RTP/UDP and over SRT): decoded frames at host B."""

from __future__ import annotations

import socket
import threading

import pytest

import netlib
import shmring

W, H = 320, 240
COUNT = 60


@pytest.mark.parametrize("transport", ["rtp", "srt"])
def test_h264(tmp_path, channels, transport: str) -> None:
    """Decoded frames reach host B's reader as BGR of host A's size; over SRT the sender's end of stream closes
    the connection, which ends host B's stream; over UDP, SIGINT on the receiving end does."""
    need = ["shmringsrc", "shmringsink", "videoconvert", "x264enc", "h264parse", netlib.decoder()]
    need += ["rtph264pay", "rtph264depay", "udpsink", "udpsrc"] if transport == "rtp" else \
        ["mpegtsmux", "tsdemux", "srtsink", "srtsrc"]
    why = netlib.missing(*need)
    if why:
        pytest.skip(why)
    a, b = channels
    port = netlib.free_port(socket.SOCK_DGRAM)
    recipe = netlib.h264_rtp if transport == "rtp" else netlib.h264_srt
    send, recv = recipe(a, b, port, kbps=2000)
    procs = []
    try:
        r = netlib.gst("receiver", recv, str(tmp_path))
        procs.append(r)
        netlib.wait_for(lambda: netlib.udp_bound(port), 20, "receiver bound", (r,))
        prod = netlib.producer(a, str(tmp_path), "--count", str(COUNT), "--fps", "30", "--format", "I420")
        s = netlib.gst("sender", send, str(tmp_path))
        procs += [prod, s]
        if transport == "rtp":
            threading.Thread(target=netlib.end_udp_stream, args=(s, r, b, COUNT), daemon=True).start()
        n, prev = 0, -1
        with shmring.Reader(b, timeout=30, frame_timeout=30) as rd:
            for f in rd:
                assert "format=(string)BGR" in f.caps and f"width=(int){W}" in f.caps, f.caps
                assert f.shape == (H, W, 3), f.shape
                # The receiving sink's source is live: until a reader attaches it keeps only the newest
                # frame; any frame it did not pass on is a gap in its numbering, counted by the reader.
                assert f.seq > prev and (prev < 0 or f.dropped == f.seq - prev - 1), (prev, f.seq, f.dropped)
                prev = f.seq
                n += 1
        assert n >= COUNT // 2, f"only {n} of {COUNT} frames arrived"
        print(f"h264 over {transport}: {n} of {COUNT} frames arrived, the last numbered {prev}")
        assert prod.wait(30) == 0, prod.describe()
        assert s.wait(30) == 0, s.describe()
        assert r.wait(30) == 0, r.describe()
    finally:
        for p in procs:
            p.stop()
