# SPDX-License-Identifier: LGPL-2.1-or-later
"""The lossless recipe (GDP over TCP, the sender connecting to a listening receiver): every frame, byte for byte."""

from __future__ import annotations

import os
import signal

import pytest

import netlib
import shmring
from shmring.testing import check_pattern, pattern_seq

W, H = 320, 240


@pytest.fixture(autouse=True)
def _elements() -> None:
    why = netlib.missing("shmringsrc", "shmringsink", "gdppay", "gdpdepay", "tcpclientsink", "tcpserversrc")
    if why:
        pytest.skip(why)


def _read_all(b: str, first: int = 0) -> list[int]:
    """Read channel b to its end of stream as host B's Python reader does; every frame checked; payload numbers."""
    got = []
    with shmring.Reader(b, timeout=30, frame_timeout=30) as rd:
        for i, f in enumerate(rd):
            assert f.caps.startswith("video/x-raw") and "BGR" in f.caps and f"width=(int){W}" in f.caps, f.caps
            assert f.shape == (H, W, 3)
            n = pattern_seq(f.array)
            assert check_pattern(f.array, n), f"frame {i} (payload {n}) arrived damaged"
            # sequence=offset: host B's channel keeps host A's numbers.
            assert f.seq == n and f.dropped == 0, (f.seq, n, f.dropped)
            got.append(n)
    return got


def _run(tmp_path, channels, receiver_first: bool, count: int = 90) -> None:
    a, b = channels
    port = netlib.free_port()
    send, recv = netlib.gdp(a, b, port)
    procs = []
    try:
        prod = netlib.producer(a, str(tmp_path), "--count", str(count), "--fps", "0")
        procs.append(prod)
        if receiver_first:
            r = netlib.gst("receiver", recv, str(tmp_path))
            procs.append(r)
            netlib.wait_for(lambda: netlib.tcp_listening(port), 20, "receiver listening", (r,))
            s = netlib.retrying("sender", send, str(tmp_path))
            procs.append(s)
        else:
            # The sender first: it is refused and tries again each second, as docs/NETWORK.md runs it.
            s = netlib.retrying("sender", send, str(tmp_path))
            procs.append(s)
            netlib.wait_for(lambda: "Connection refused" in s.log(), 20, "sender refused", (s,))
            r = netlib.gst("receiver", recv, str(tmp_path))
            procs.append(r)
        got = _read_all(b)
        assert got == list(range(count)), f"payloads {got[:5]}..{got[-5:]} of {len(got)}, want 0..{count - 1}"
        for p in (prod, s, r):
            assert p.wait(30) == 0, p.describe()
    finally:
        for p in procs:
            p.stop()


def test_receiver_first(tmp_path, channels) -> None:
    """The receiving host listens first; every frame arrives intact, in order; EOS reaches host B's reader."""
    _run(tmp_path, channels, receiver_first=True)


def test_sender_first(tmp_path, channels) -> None:
    """The sending host starts first and is refused: it tries again, and nothing is lost once both run."""
    _run(tmp_path, channels, receiver_first=False)


def test_receiver_restarted(tmp_path, channels) -> None:
    """The receiving end killed mid-stream and started again: host B's reader (reconnect=True) follows the new
    channel, which goes on with host A's numbers; what was in flight in the sockets is lost (the numbers show
    how many), everything after arrives intact and in order, and EOS arrives."""
    a, b = channels
    count = 150
    port = netlib.free_port()
    send, recv = netlib.gdp(a, b, port)
    procs = []
    try:
        prod = netlib.producer(a, str(tmp_path), "--count", str(count), "--fps", "50")
        r1 = netlib.gst("receiver", recv, str(tmp_path))
        procs += [prod, r1]
        netlib.wait_for(lambda: netlib.tcp_listening(port), 20, "receiver listening", (r1,))
        s = netlib.retrying("sender", send, str(tmp_path))
        procs.append(s)
        got: list[tuple[int, int, int]] = []  # (far seq, payload number, reconnects so far)
        with shmring.Reader(b, timeout=30, frame_timeout=30, reconnect=True) as rd:
            r2 = None
            for f in rd:
                n = pattern_seq(f.array)
                assert check_pattern(f.array, n), f"payload {n} arrived damaged"
                assert f.shape == (H, W, 3)
                got.append((f.seq, n, rd.reconnects))
                if len(got) == 30:
                    r1.signal(signal.SIGKILL)
                    r1.wait(10)
                    r2 = netlib.gst("receiver2", recv, str(tmp_path))
                    procs.append(r2)
        # sequence=offset: both of host B's channels number frames as host A did.
        assert all(sq == n for sq, n, _r in got), f"far numbering {[(sq, n) for sq, n, _r in got]}"
        before = [n for _s, n, r in got if r == 0]
        after = [n for _s, n, r in got if r == 1]
        assert len(before) + len(after) == len(got), "one reconnection, to the new receiving end's channel"
        assert before == list(range(len(before)))
        assert after and after == list(range(after[0], count)), "contiguous after the restart, to the end"
        lost = after[0] - len(before)
        assert 0 <= lost < count - len(before), lost
        print(f"receiver restart: {len(before)} frames before, {lost} lost in flight (numbers "
              f"{len(before)}..{after[0] - 1}), {len(after)} after")
        assert prod.wait(30) == 0, prod.describe()
        assert s.wait(30) == 0, s.describe()
        assert r2 is not None and r2.wait(30) == 0, r2.describe()
    finally:
        for p in procs:
            p.stop()


def test_drops_on_host_a_show_on_host_b(tmp_path, channels) -> None:
    """A producer on host A with policy=live and a small ring that outruns the sending end: every frame the
    sending shmringsrc missed makes its next buffer DISCONT, GDP carries the flag and the frame's number, and
    host B's channel keeps host A's numbers (sequence=offset): its reader sees each frame lost on host A as a
    dropped frame (a gap), FLAG_DISCONT on the frame after it, and the channel counts them in frames_lost."""
    a, b = channels
    count = 200
    port = netlib.free_port()
    send, recv = netlib.gdp(a, b, port)
    procs = []
    try:
        r = netlib.gst("receiver", recv, str(tmp_path))
        procs.append(r)
        netlib.wait_for(lambda: netlib.tcp_listening(port), 20, "receiver listening", (r,))
        s = netlib.gst("sender", send, str(tmp_path))
        procs.append(s)
        prod = netlib.producer(a, str(tmp_path), "--count", str(count), "--fps", "0", "--policy", "live",
                               "--queue", "1")
        procs.append(prod)
        prev, jumps, lost = -1, 0, 0
        with netlib.logs_on_failure(procs), shmring.Reader(b, timeout=30, frame_timeout=30) as rd:
            for f in rd:
                n = pattern_seq(f.array)
                assert check_pattern(f.array, n) and n > prev
                assert f.seq == n, "host B's channel keeps host A's numbers"
                jumped = prev >= 0 and n != prev + 1
                assert f.dropped == (n - prev - 1 if prev >= 0 else 0), (prev, n, f.dropped)
                assert bool(f.flags & shmring.FLAG_DISCONT) == (jumped or prev < 0), (prev, n, f.flags)
                jumps += jumped
                lost += f.dropped
                prev = n
            assert rd.dropped == lost
            assert rd.stats().frames_lost == lost, "the far channel's counter of frames lost before it"
        for p in (prod, s, r):
            assert p.wait(30) == 0, p.describe()
        if jumps == 0:
            pytest.skip("the sending end kept up with the producer: no frame was dropped on host A this time")
        print(f"{jumps} gaps on host A ({lost} frames), each a gap and a DISCONT frame on host B")
    finally:
        for p in procs:
            p.stop()


def test_sender_restarted(tmp_path, channels) -> None:
    """The sending end killed mid-stream: the receiving end cannot tell this from an end, so host B's channel
    ends with end of stream and host B's reader ends; the receiving end started again and the sending end's
    loop resume the stream, which a new reader on host B reads on from host A's next frame to the end."""
    a, b = channels
    count = 150
    port = netlib.free_port()
    send, recv = netlib.gdp(a, b, port)
    procs = []
    try:
        prod = netlib.producer(a, str(tmp_path), "--count", str(count), "--fps", "50")
        r1 = netlib.gst("receiver", recv, str(tmp_path))
        procs += [prod, r1]
        netlib.wait_for(lambda: netlib.tcp_listening(port), 20, "receiver listening", (r1,))
        s = netlib.retrying("sender", send, str(tmp_path))
        procs.append(s)
        first: list[int] = []
        with shmring.Reader(b, timeout=30, frame_timeout=30) as rd:
            for f in rd:
                n = pattern_seq(f.array)
                assert check_pattern(f.array, n) and f.seq == len(first) == n and f.dropped == 0
                first.append(n)
                if len(first) == 30:
                    child = netlib.gst_child(s)
                    assert child is not None, s.describe()
                    os.kill(child, signal.SIGKILL)
        assert 30 <= len(first) < count, "host B's stream ends when the sending end dies"
        assert r1.wait(30) == 0, r1.describe()
        r2 = netlib.gst("receiver2", recv, str(tmp_path))
        procs.append(r2)
        second: list[int] = []
        with shmring.Reader(b, timeout=30, frame_timeout=30) as rd:
            for f in rd:
                n = pattern_seq(f.array)
                assert check_pattern(f.array, n) and f.seq == n, "host A's numbers, from where it goes on"
                second.append(n)
        assert second and second == list(range(second[0], count)), "contiguous from the restart to the end"
        lost = second[0] - len(first)
        assert 0 <= lost, lost
        print(f"sender restart: {len(first)} frames before, {lost} lost in flight, {len(second)} after")
        for p in (prod, s, r2):
            assert p.wait(30) == 0, p.describe()
    finally:
        for p in procs:
            p.stop()


def test_sending_channel_restarted(tmp_path, channels) -> None:
    """Host A's producer killed and started again while both ends run: the sending shmringsrc (reconnect=true)
    follows the new channel, whose numbers start again at 0. Host B's channel cannot go back: it goes on after
    its last number, marks that frame DISCONT, and every frame still arrives intact and in order."""
    a, b = channels
    port = netlib.free_port()
    send, recv = netlib.gdp(a, b, port)
    send = send.replace(f"shmringsrc channel={a}", f"shmringsrc channel={a} reconnect=true", 1)
    procs = []
    try:
        prod1 = netlib.producer(a, str(tmp_path), "--count", "100000", "--fps", "50")
        r = netlib.gst("receiver", recv, str(tmp_path))
        procs += [prod1, r]
        netlib.wait_for(lambda: netlib.tcp_listening(port), 20, "receiver listening", (r,))
        s = netlib.gst("sender", send, str(tmp_path))
        procs.append(s)
        got: list[tuple[int, int, bool]] = []  # (far seq, payload number, DISCONT)
        prod2 = None
        with shmring.Reader(b, timeout=30, frame_timeout=30) as rd:
            for f in rd:
                n = pattern_seq(f.array)
                assert check_pattern(f.array, n), f"payload {n} arrived damaged"
                got.append((f.seq, n, bool(f.flags & shmring.FLAG_DISCONT)))
                if len(got) == 20:
                    prod1.signal(signal.SIGKILL)
                    prod1.wait(10)
                    prod2 = netlib.producer(a, str(tmp_path), "--count", "30", "--fps", "50")
                    procs.append(prod2)
        seqs = [sq for sq, _n, _d in got]
        assert seqs == sorted(set(seqs)), f"host B's numbers only go forward: {seqs}"
        restart = next(i for i in range(1, len(got)) if got[i][1] <= got[i - 1][1])
        before, after = got[:restart], got[restart:]
        assert all(sq == n for sq, n, _d in before), "host A's numbers before the restart"
        assert [n for _s, n, _d in before] == list(range(len(before)))
        assert after[0][0] == before[-1][0] + 1 and after[0][2], "goes on after the last number, DISCONT"
        assert [n for _s, n, _d in after] == list(range(after[0][1], 30)), "the new channel's frames, in order"
        assert all(sq - n == after[0][0] - after[0][1] for sq, n, _d in after)
        assert rd.dropped == 0
        print(f"host A restarted after {len(before)} frames; host B went on at {after[0][0]} with host A's frame "
              f"{after[0][1]}")
        assert prod2 is not None and prod2.wait(30) == 0, prod2.describe()
        for p in (s, r):
            assert p.wait(30) == 0, p.describe()
    finally:
        for p in procs:
            p.stop()
