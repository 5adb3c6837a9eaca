# SPDX-License-Identifier: LGPL-2.1-or-later
"""The raw RTP recipe (RFC 4175, rtpvrawpay / rtpvrawdepay over UDP): caps, shape and pixels at host B's reader."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from typing import Iterator

import pytest

import netlib
import shmring
from shmring.testing import check_pattern, pattern_seq

W, H = 320, 240
COUNT = 60


@pytest.fixture(autouse=True)
def _elements() -> None:
    why = netlib.missing("shmringsrc", "shmringsink", "rtpvrawpay", "rtpvrawdepay", "udpsink", "udpsrc")
    if why:
        pytest.skip(why)


@contextmanager
def _both_ends(tmp_path, channels, fmt: str, lose: float = 0.0) -> Iterator[str]:
    """Host B's receiving end, host A's producer (COUNT frames of fmt at 30 fps) and sending end (dropping a
    share `lose` of the packets on the way); yields host B's channel, which ends once the stream has. Every
    process must exit cleanly."""
    a, b = channels
    port = netlib.free_port(socket.SOCK_DGRAM)
    send, recv = netlib.rtp_raw(a, b, port, fmt, W, H)
    if lose:
        send = send.replace(" ! udpsink", f" ! identity drop-probability={lose} ! udpsink", 1)
    procs = []
    try:
        r = netlib.gst("receiver", recv, str(tmp_path))
        procs.append(r)
        netlib.wait_for(lambda: netlib.udp_bound(port), 20, "receiver bound", (r,))
        prod = netlib.producer(a, str(tmp_path), "--count", str(COUNT), "--fps", "30", "--format", fmt)
        s = netlib.gst("sender", send, str(tmp_path))
        procs += [prod, s]
        ender = threading.Thread(target=netlib.end_udp_stream, args=(s, r, b, COUNT), daemon=True)
        ender.start()
        yield b
        ender.join(30)
        assert prod.wait(30) == 0, prod.describe()
        assert r.wait(30) == 0, r.describe()
    finally:
        for p in procs:
            p.stop()


@pytest.mark.parametrize("fmt,shape", [("BGR", (H, W, 3)), ("I420", (H * 3 // 2, W))])
def test_rtp_raw(tmp_path, channels, fmt: str, shape: tuple[int, ...]) -> None:
    """Frames cross with the caps and shape host A had and their bytes intact (UDP may lose some: those are
    gaps in the payload numbers, never damaged frames on loopback); SIGINT on the receiving end gives host B's
    reader its end of stream, since none crosses UDP."""
    got, prev = [], -1
    with _both_ends(tmp_path, channels, fmt) as b, shmring.Reader(b, timeout=30, frame_timeout=30) as rd:
        for f in rd:
            assert f.seq > prev and (prev < 0 or f.dropped == f.seq - prev - 1), (prev, f.seq, f.dropped)
            prev = f.seq
            assert f"format=(string){fmt}" in f.caps and f"width=(int){W}" in f.caps, f.caps
            assert f.shape == shape, f.shape
            n = pattern_seq(f.array)
            assert check_pattern(f.array, n), f"payload {n} arrived damaged"
            got.append(n)
    assert got == sorted(set(got)), "frames arrive in order, once"
    assert len(got) >= COUNT // 2, f"only {len(got)} of {COUNT} frames arrived: {got}"
    print(f"rtp raw {fmt}: {len(got)} of {COUNT} frames arrived")


def test_rtp_raw_lost_packets_marked(tmp_path, channels) -> None:
    """Packets lost on the way (the sending end drops 0.3 % of them): a frame with a hole still arrives, whole in
    size, and carries FLAG_DISCONT (the depayloader saw a gap in the RTP sequence numbers); every frame without
    the flag arrives intact, so host B's readers can tell damaged frames from good ones."""
    intact = marked = 0
    with _both_ends(tmp_path, channels, "BGR", lose=0.003) as b, \
            shmring.Reader(b, timeout=30, frame_timeout=30) as rd:
        for f in rd:
            assert f.shape == (H, W, 3), f.shape
            if f.flags & shmring.FLAG_DISCONT:
                marked += 1
                continue
            n = pattern_seq(f.array)
            assert check_pattern(f.array, n), f"frame {f.seq} (payload {n}) damaged but not marked DISCONT"
            intact += 1
    # 165 packets a frame: with 0.3 % of them lost, about 40 % of the frames have a hole.
    assert marked >= 1 and intact >= 1, (marked, intact)
    print(f"rtp raw with lost packets: {marked} frames marked DISCONT, {intact} intact and unmarked")
