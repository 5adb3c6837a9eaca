# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python Writer -> several Python Readers: every reader gets every frame, the three policies, limits, caps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import shmring


def _payload(i: int) -> bytes:
    return i.to_bytes(4, "little") * 16


def _drain(rd: shmring.Reader, out: list[int]) -> None:
    for f in rd:
        assert f.tobytes() == _payload(f.seq)
        out.append(f.seq)


def test_several_readers_get_every_frame_lossless(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096, max_readers=3) as wr:
        readers = [shmring.Reader(channel, timeout=2, frame_timeout=10) for _ in range(3)]
        got: list[list[int]] = [[] for _ in readers]
        threads = [threading.Thread(target=_drain, args=(r, g)) for r, g in zip(readers, got)]
        for t in threads:
            t.start()
        for i in range(200):
            assert wr.write(_payload(i), timeout=10)
        wr.eos(timeout=10)
        for t in threads:
            t.join(20)
        for r in readers:
            assert r.eos and r.dropped == 0 and r.end_reason == "eos"
            r.close()
    assert got == [list(range(200))] * 3


def test_late_reader_gets_caps_and_only_later_frames(channel: str) -> None:
    with shmring.Writer(channel, width=8, height=4, format="GRAY8", policy="live") as wr:
        for i in range(5):
            wr.write(bytes([i]) * 32)  # nobody attached: these reach nobody
        with shmring.Reader(channel, timeout=2, frame_timeout=2) as rd:
            assert rd.stream is not None and rd.stream.format == "GRAY8" and rd.stream.width == 8
            assert rd.poll() is None
            wr.write(bytes([9]) * 32)
            f = rd.next_frame()
            assert f is not None and f.seq == 5 and f.array.shape == (4, 8) and int(f.array[0, 0]) == 9
            f.release()


def test_lossless_waits_for_a_slow_reader(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096, queue_len=2) as wr, \
            shmring.Reader(channel, timeout=2, frame_timeout=2) as rd:
        assert wr.write(_payload(0)) and wr.write(_payload(1))
        with pytest.raises(shmring.Timeout, match="lossless reader"):
            wr.write(_payload(2), timeout=0.2)
        f = rd.next_frame()
        assert f is not None and f.seq == 0
        f.release()
        assert wr.write(_payload(2), timeout=2)
        assert [f.seq for f in (rd.next_frame(), rd.next_frame()) if f is not None] == [1, 2]


@pytest.mark.parametrize("policy", ["drop-new", "live"])
def test_a_stalled_reader_never_holds_the_producer_back(channel: str, policy: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096, policy=policy) as wr, \
            shmring.Reader(channel, timeout=2, frame_timeout=5) as stalled, \
            shmring.Reader(channel, timeout=2, frame_timeout=5) as honest:
        got: list[int] = []
        for i in range(50):
            assert wr.write(_payload(i), timeout=0) or policy == "drop-new"
            f = honest.next_frame()
            assert f is not None
            got.append(f.seq)
            f.release()
        assert got == list(range(50))  # the honest reader lost nothing
        seqs = []
        while (f := stalled.poll()) is not None:
            seqs.append(f.seq)
            f.release()
        # drop-new: the stalled reader got the first frames; live: the newest ones.
        assert seqs == ([0, 1] if policy == "drop-new" else [48, 49])


def test_latest_reader_gets_the_newest_frame_of_a_lossless_channel(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096) as wr, \
            shmring.Reader(channel, timeout=2, frame_timeout=2, latest=True) as rd:
        assert rd.live
        for i in range(10):
            assert wr.write(_payload(i), timeout=0)  # a live reader never makes the producer wait
        f = rd.next_frame()
        assert f is not None and f.seq == 9 and f.tobytes() == _payload(9)
        f.release()


def test_reader_limit_names_the_limit_and_the_pids(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096, max_readers=2) as wr, \
            shmring.Reader(channel, timeout=2), shmring.Reader(channel, timeout=2):
        with pytest.raises(shmring.ChannelBusy, match=r"2 readers, its limit \(max_readers\)") as e:
            shmring.Reader(channel, timeout=2)
        assert e.value.pids == (os.getpid(), os.getpid())
        assert wr.readers == 2


def test_killed_reader_gives_its_slots_back(channel: str) -> None:
    code = ("import shmring, sys\n"
            f"r = shmring.Reader({channel!r}, timeout=5, holds=2)\n"
            "a, b = r.next_frame(5), r.next_frame(5)\n"
            "print(a.seq, b.seq, flush=True)\n"
            "sys.stdin.read()\n")
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096, max_readers=1, queue_len=2) as wr:
        p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert wr.wait_reader(10)
            for i in range(4):  # two held, two queued: the lossless producer is full
                assert wr.write(_payload(i), timeout=10)
            assert p.stdout is not None and p.stdout.readline().split() == ["0", "1"]
            with pytest.raises(shmring.Timeout):
                wr.write(_payload(4), timeout=0.2)
            os.kill(p.pid, signal.SIGKILL)
            p.wait(10)
            for i in range(4, 40):  # its holds and queue came back: no reader, no wait
                assert wr.write(_payload(i), timeout=5)
            assert wr.readers == 0
            with shmring.Reader(channel, timeout=2) as rd:  # its index is free again
                assert rd.index == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_caps_change_arrives_in_order_with_frames(channel: str) -> None:
    with shmring.Writer(channel, width=4, height=2, format="GRAY8", max_frame_size=4096) as wr, \
            shmring.Reader(channel, timeout=2, frame_timeout=2) as rd:
        wr.write(bytes(8))
        wr.set_stream(format="GRAY8", width=4, height=3)
        wr.write(bytes(12))
        a = rd.next_frame()
        assert a is not None and a.array.shape == (2, 4)
        b = rd.next_frame()
        assert b is not None and b.array.shape == (3, 4) and b.info.desc_id != a.info.desc_id
        assert a.array.shape == (2, 4)  # the first frame keeps its own description
        a.release()
        b.release()


def test_frame_too_large_names_both_sizes(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096) as wr:
        with pytest.raises(shmring.FrameTooLarge, match=r"5000-byte frame.*4096-byte slots.*max_frame_size >= 5000"):
            wr.write(bytes(5000))


def test_second_producer_refused_naming_the_first(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096):
        with pytest.raises(shmring.ChannelBusy, match=str(os.getpid())):
            shmring.Writer(channel, caps="application/x-test", max_frame_size=4096)


def test_reader_waits_for_producer_then_reconnects(channel: str) -> None:
    with pytest.raises(shmring.ChannelNotFound, match="no producer"):
        shmring.Reader(channel, timeout=0.1)
    wr = shmring.Writer(channel, caps="application/x-test", max_frame_size=4096)
    rd = shmring.Reader(channel, timeout=5, frame_timeout=5, reconnect=True)
    try:
        wr.write(_payload(0))
        f = rd.next_frame()
        assert f is not None and f.seq == 0
        f.release()
        wr.close()
        assert rd.end_reason is None  # not seen yet: the next read follows the restart
        wr = shmring.Writer(channel, caps="application/x-test", max_frame_size=4096)
        started = threading.Thread(target=lambda: (wr.wait_reader(10), wr.write(_payload(7), timeout=5)))
        started.start()
        f = rd.next_frame()
        started.join(10)
        assert f is not None and f.tobytes() == _payload(7) and rd.reconnects == 1
        f.release()
    finally:
        rd.close()
        wr.close()


def test_reserve_commit_renders_in_place(channel: str) -> None:
    with shmring.Writer(channel, width=8, height=4, format="GRAY8") as wr, \
            shmring.Reader(channel, timeout=2, frame_timeout=2) as rd:
        view = wr.reserve()
        assert view is not None and len(view) == 32 and not view.readonly
        with pytest.raises(shmring.Error, match="reserved"):
            wr.write(bytes(32))
        view[:] = bytes(range(32))
        wr.commit(pts=7)
        f = rd.next_frame()
        assert f is not None and f.tobytes() == bytes(range(32)) and f.pts == 7 and f.array.shape == (4, 8)
        f.release()
        with pytest.raises(shmring.Error, match="commit\\(\\) without reserve\\(\\)"):
            wr.commit()
        view = wr.reserve(16)
        assert view is not None
        wr.cancel()  # not published
        assert rd.poll() is None
        assert wr.eos() and rd.next_frame() is None and rd.eos
        st = wr.stats()
        assert st.frames_written == 1 and st.eos and [r.pid for r in st.readers] == [os.getpid()]


@pytest.mark.parametrize("policy, queue_len, n_slots", [("lossless", 8, 8 + 4 * 3 + 1 + 1),
                                                       ("live", 2, 2 + 4 * 3 + 1 + 1),
                                                       ("drop-new", 2, 4 * (2 + 3) + 1 + 1)])
def test_default_queue_and_pool_by_policy(channel: str, policy: str, queue_len: int, n_slots: int) -> None:
    """No queue_len: 8 frames under lossless, 2 under drop-new and live, as the C producer; the pool the policy's
    bound gives (4 readers x 3 holds, 1 reservation, 1 spare), which a reader accepts."""
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096, policy=policy) as wr, \
            shmring.Reader(channel, timeout=5) as rd:
        assert (wr.queue_len, wr.n_slots) == (queue_len, n_slots)
        st = shmring.inspect(channel)
        assert (st.queue_len, st.n_slots) == (queue_len, n_slots) and rd.index == 0


def test_no_shared_memory_for_the_pool_names_the_size_and_the_fix(channel: str) -> None:
    """The pool is allocated whole at start: too little room is a NoSpace then (here: a 1 MiB file size limit)."""
    code = ("import resource, signal, shmring\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))\n"
            f"try:\n    shmring.Writer({channel!r}, caps='x', max_frame_size=1 << 24)\n"
            "except shmring.NoSpace as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    # Lossless: 8 queued frames between the readers (its default queue), 4 x 3 holds, 1 reservation, 1 spare.
    assert "bytes of pool (22 slots of 16777216)" in r.stdout and "lower max_frame_size" in r.stdout, r.stdout


def test_entries_taken_together_are_handed_out_in_order(channel: str) -> None:
    """A lossless reader takes every queued entry it has holds for at once; they come out one by one, in order,
    without counting against HoldsExhausted until handed out; latest=True skips those not handed out yet, and
    the end of stream gives back every hold."""
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096, queue_len=4, max_holds=4) as wr, \
            shmring.Reader(channel, timeout=2, frame_timeout=2) as rd:
        for i in range(4):
            assert wr.write(_payload(i), timeout=2)
        held = [rd.next_frame() for _ in range(4)]
        assert [f.seq for f in held if f is not None] == [0, 1, 2, 3] and rd.held == 4
        assert all(f is not None and f.tobytes() == _payload(f.seq) for f in held)
        assert wr.write(_payload(4), timeout=2)
        with pytest.raises(shmring.HoldsExhausted):
            rd.next_frame()
        for f in held:
            assert f is not None
            f.release()
        for i in range(5, 8):
            assert wr.write(_payload(i), timeout=2)
        f = rd.next_frame()  # takes 4..7
        assert f is not None and f.seq == 4 and rd.held == 1 and len(rd._ready) == 3
        f.release()
        assert wr.write(_payload(8), timeout=2) and wr.write(_payload(9), timeout=2)
        f = rd.next_frame(latest=True)  # 5..7 were taken, not handed out: skipped with 8
        assert f is not None and f.seq == 9 and f.dropped == 4 and rd.dropped == 4
        f.release()
        for i in range(10, 12):
            assert wr.write(_payload(i), timeout=2)
        wr.eos(timeout=2)
        assert wr.write(_payload(12), timeout=2)  # after the end of stream: never read
        assert [f.seq for f in rd] == [10, 11] and rd.eos and rd.held == 0
        assert sorted(rd._free) == list(range(rd.holds))


def test_a_live_reader_takes_one_entry_at_a_time(channel: str) -> None:
    """A live reader leaves entries queued for the producer to push out (newer frames), never pinned by it."""
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096, queue_len=4, max_holds=4) as wr, \
            shmring.Reader(channel, timeout=2, frame_timeout=2, live=True) as rd:
        for i in range(3):
            assert wr.write(_payload(i), timeout=2)
        f = rd.next_frame()
        assert f is not None and f.seq == 0 and not rd._ready
        f.release()
        for i in range(3, 8):
            assert wr.write(_payload(i), timeout=0)  # pushes out 1..3
        assert [f.seq for f in (rd.next_frame(), rd.next_frame()) if f is not None] == [4, 5]


def test_stall_timeout_makes_a_stuck_lossless_reader_live_until_it_catches_up(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096, queue_len=2, max_readers=2) as wr, \
            shmring.Reader(channel, timeout=2, frame_timeout=5) as stuck, \
            shmring.Reader(channel, timeout=2, frame_timeout=5) as fast:
        def put(i: int, timeout: float) -> None:
            assert wr.write(_payload(i), timeout=timeout)
            f = fast.next_frame()
            assert f is not None and f.seq == i and f.tobytes() == _payload(i)
            f.release()

        def line() -> shmring.ReaderStats:
            return next(r for r in wr.stats().readers if r.index == stuck.index)

        put(0, 2)
        f0 = stuck.next_frame()  # held: it takes nothing more
        assert f0 is not None and f0.seq == 0
        put(1, 2)
        put(2, 2)
        # No stall timeout (the default): its full queue holds the writer back for the write's whole timeout.
        with pytest.raises(shmring.Timeout, match="lossless reader"):
            wr.write(_payload(3), timeout=0.3)
        assert wr.take_stalled() is None and not line().stalled
        # With one, the write goes on once the writer waited that long for it: made live, reported by pid.
        wr.stall_timeout = 0.3
        t0 = time.monotonic()
        put(3, 30)
        assert 0.3 <= time.monotonic() - t0 < 20
        report = wr.take_stalled()
        assert report is not None and report[0] == os.getpid()
        assert f"pid {os.getpid()} " in report[1] and "stall timeout" in report[1]
        assert wr.take_stalled() is None  # reported once
        assert line().stalled
        for i in range(4, 10):  # live now: its oldest entries are pushed out, the writer never waits
            put(i, 0)
        assert line().frames_dropped == 7 and line().stalled
        # It reads again: the two newest, after a gap of 7 (1..7) it counts as dropped.
        for i in (8, 9):
            f = stuck.next_frame()
            assert f is not None and f.seq == i and f.tobytes() == _payload(i)
            f.release()
        assert stuck.dropped == 7
        f0.release()
        # Caught up: lossless again at the next frame, so a full queue holds the writer back once more.
        put(10, 0)
        assert not line().stalled
        put(11, 0)
        with pytest.raises(shmring.Timeout, match="lossless reader"):
            wr.write(_payload(12), timeout=0)
        assert wr.take_stalled() is None
        for i in (10, 11):
            f = stuck.next_frame()
            assert f is not None and f.seq == i
            f.release()
        assert stuck.dropped == 7 and fast.dropped == 0 and fast.frames == 12


def test_end_of_stream_reaches_a_full_drop_new_queue(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096, policy="drop-new", queue_len=2) as wr, \
            shmring.Reader(channel, timeout=2, frame_timeout=2) as rd:
        def dropped() -> int:
            return next(r.frames_dropped for r in wr.stats().readers if r.index == rd.index)

        assert wr.write(_payload(0), timeout=0)
        f = rd.next_frame()
        assert f is not None and f.seq == 0
        f.release()
        for i in range(1, 5):  # it stops reading: 1 and 2 queued, 3 and 4 dropped
            wr.write(_payload(i), timeout=0)
        assert dropped() == 2
        assert wr.eos(timeout=0)  # the queue is full: the end of stream pushes 1 out
        assert dropped() == 3
        wr.write(_payload(5), timeout=0)  # the writer goes on, the channel open: dropped (2, EOS queued)
        f = rd.next_frame()
        assert f is not None and f.seq == 2
        f.release()
        assert rd.next_frame() is None and rd.eos  # the end of the first stream
        assert rd.dropped == 1 and dropped() == 4
