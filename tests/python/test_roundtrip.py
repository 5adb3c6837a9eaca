# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python Writer -> Python Reader in one process: formats, strides, metadata, EOS, policies, errors."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import shmring
from shmring.testing import check_pattern, pattern


def _image(fmt: str, w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    comps = {"BGR": 3, "RGB": 3, "BGRx": 4, "RGBA": 4, "GRAY8": 1}[fmt]
    return rng.integers(0, 256, size=(h, w, comps), dtype=np.uint8)


@pytest.mark.parametrize("fmt", ["BGR", "RGB", "BGRx", "RGBA", "GRAY8"])
@pytest.mark.parametrize("size", [(1, 1), (7, 5), (33, 17), (640, 3)])
def test_packed_formats_byte_identical(channel: str, fmt: str, size: tuple[int, int]) -> None:
    w, h = size
    with shmring.Writer(channel, width=w, height=h, format=fmt, ring_size=1 << 16) as wr, \
            shmring.Reader(channel, timeout=1, frame_timeout=1) as rd:
        info = wr.stream
        assert info is not None
        for i in range(12):  # enough to wrap the 64 KiB ring for the larger sizes
            img = _image(fmt, w, h, i)
            assert wr.write(img, pts=i * 1000, duration=1000, flags=shmring.FLAG_DELTA_UNIT if i else 0)
            f = rd.next_frame()
            assert f is not None
            a = f.array
            if fmt == "GRAY8":
                img = img.reshape(h, w)  # one component: (height, width), no third axis
            assert a.shape == img.shape
            assert a.strides[0] == info.plane_strides[0]
            assert np.array_equal(a, img)
            assert f.seq == i and f.pts == i * 1000 and f.duration == 1000 and f.dts is None
            assert f.flags == (shmring.FLAG_DELTA_UNIT if i else 0)
            assert f.info.format == fmt and f.caps == info.caps and f.dropped == 0
            assert not a.flags.writeable
            c = f.copy()
            f.release()
            assert np.array_equal(c.array, img)
            with pytest.raises(shmring.FrameReleased):
                f.array


def test_odd_width_bgr_rows_padded(channel: str) -> None:
    """BGR rows of odd widths are padded to 4 bytes, as in GStreamer; the array skips the padding."""
    with shmring.Writer(channel, width=5, height=3, format="BGR") as wr, shmring.Reader(channel, timeout=1) as rd:
        assert wr.stream.plane_strides == (16,) and wr.stream.frame_size == 48
        img = _image("BGR", 5, 3, 1)
        wr.write(img)
        f = rd.next_frame(timeout=1)
        assert f.size == 48
        raw = np.frombuffer(f.tobytes(), np.uint8).reshape(3, 16)
        assert np.array_equal(raw[:, :15].reshape(3, 5, 3), img)
        assert np.array_equal(f.array, img)
        f.release()


@pytest.mark.parametrize("fmt,w,h,stacked", [("I420", 7, 5, False), ("I420", 64, 48, True), ("I420", 6, 4, False),
                                              ("YV12", 8, 2, True), ("NV12", 9, 3, False), ("NV12", 32, 16, True),
                                              ("NV21", 6, 4, False)])
def test_planar_planes(channel: str, fmt: str, w: int, h: int, stacked: bool) -> None:
    """4:2:0 frames packed tightly are (h * 3 // 2, w) arrays, as cv2.cvtColor takes them; the rest 1-D."""
    with shmring.Writer(channel, width=w, height=h, format=fmt) as wr, shmring.Reader(channel, timeout=1) as rd:
        info = wr.stream
        payload = pattern(5, info.frame_size)
        wr.write(payload)
        f = rd.next_frame(timeout=1)
        if stacked:  # no row padding (width a multiple of 8 for I420, of 4 for NV12)
            assert f.array.shape == (h * 3 // 2, w)
            assert np.array_equal(f.array.reshape(-1), payload[:w * h * 3 // 2])
        else:
            assert f.array.shape == (info.frame_size,)
            assert np.array_equal(f.array, payload)
        planes = f.planes
        cw, ch = (w + 1) // 2, (h + 1) // 2
        if fmt in ("I420", "YV12"):
            assert [p.shape for p in planes] == [(h, w), (ch, cw), (ch, cw)]
        else:
            assert [p.shape for p in planes] == [(h, w), (ch, cw, 2)]
        for i, p in enumerate(planes):
            off, stride = info.plane_offsets[i], info.plane_strides[i]
            rows = p.shape[0]
            rowbytes = p.shape[1] * (p.shape[2] if p.ndim == 3 else 1)
            expect = payload[off:off + stride * rows].reshape(rows, stride)[:, :rowbytes]
            assert np.array_equal(p.reshape(rows, rowbytes), expect)
        f.release()


def test_bytes_with_caps_variable_size(channel: str) -> None:
    with shmring.Writer(channel, caps="image/jpeg, width=(int)4", ring_size=8192) as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        sizes = [0, 1, 63, 64, 65, 1000, 4000, 17, 3000]
        for i, n in enumerate(sizes):
            wr.write(pattern(i, n).tobytes())
            f = rd.next_frame(timeout=1)
            assert f.size == n and f.caps == "image/jpeg, width=(int)4"
            assert f.tobytes() == pattern(i, n).tobytes()
            assert f.planes == [] and f.array.shape == (n,)
            f.release()


def test_iterator_eos_and_release(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", ring_size=1 << 16) as wr:
        rd = shmring.Reader(channel, timeout=1, frame_timeout=1)
        for i in range(5):
            wr.write(pattern(i, 1000))
        wr.eos()
        seen = []
        prev = None
        for f in rd:
            if prev is not None:
                assert prev.released  # the loop moving on released the previous frame
            assert check_pattern(f.data, f.seq)
            seen.append(f.seq)
            prev = f
        assert seen == [0, 1, 2, 3, 4]
        assert rd.end_reason == "eos"
        assert rd.next_frame() is None
        st = rd.stats()
        assert (st.frames_written, st.frames_read, st.lag_frames) == (5, 5, 0)
        rd.close()
        rd.close()  # safe twice


def test_clean_close_without_eos(channel: str) -> None:
    wr = shmring.Writer(channel, caps="application/x-test")
    rd = shmring.Reader(channel, timeout=1, frame_timeout=2)
    wr.write(b"abc")
    wr.close()
    f = rd.next_frame()
    assert f.tobytes() == b"abc"
    f.release()
    with pytest.raises(shmring.ProducerClosed, match="closed without end of stream"):
        rd.next_frame()
    rd.close()


def test_latest_skips_backlog(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", ring_size=1 << 16) as wr, \
            shmring.Reader(channel, timeout=1, latest=True) as rd:
        for i in range(10):
            wr.write(pattern(i, 100))
        f = rd.next_frame(timeout=1)
        assert f.seq == 9 and f.dropped == 9  # the skipped backlog shows as a sequence gap
        assert check_pattern(f.data, 9)
        f.release()
        assert rd.stats().frames_skipped == 9
        wr.write(pattern(10, 100))
        wr.write(pattern(11, 100))
        f = rd.next_frame(timeout=1)
        assert f.seq == 11 and f.dropped == 1
        f.release()


def test_frames_released_out_of_order(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", ring_size=8192, timeout=0) as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        for i in range(3):
            wr.write(pattern(i, 2000))
        a, b, c = (rd.next_frame(timeout=1) for _ in range(3))
        b.release()  # the middle frame: no space comes back yet (a still held)
        with pytest.raises(shmring.Timeout):
            wr.write(pattern(3, 2000))
        assert check_pattern(a.data, 0) and check_pattern(c.data, 2)
        a.release()
        c.release()
        assert wr.write(pattern(3, 2000))
        f = rd.next_frame(timeout=1)
        assert f.seq == 3 and f.dropped == 0  # a lossless timeout consumes no sequence number
        f.release()


def test_drop_new_counts_drops_and_gaps(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", ring_size=8192, policy="drop-new") as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        results = [wr.write(pattern(i, 1000)) for i in range(20)]
        kept = results.count(True)
        assert 0 < kept < 20
        assert wr.frames_dropped == 20 - kept
        seqs = []
        dropped = 0
        while True:
            try:
                f = rd.next_frame(timeout=0)
            except shmring.Timeout:
                break
            seqs.append(f.seq)
            dropped += f.dropped
            f.release()
        assert seqs == list(range(kept))  # the new frames were dropped, the old kept
        wr.write(pattern(0, 1000))
        f = rd.next_frame(timeout=1)
        assert f.seq == 20 and f.dropped == 20 - kept
        f.release()
        assert rd.dropped == 20 - kept


def test_live_reclaims_oldest(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", ring_size=8192, policy="live") as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        for i in range(20):
            assert wr.write(pattern(i, 1000))  # the producer never blocks nor drops the new frame
        seqs = []
        while True:
            try:
                f = rd.next_frame(timeout=0)
            except shmring.Timeout:
                break
            assert check_pattern(f.data, f.seq)
            seqs.append(f.seq)
            f.release()
        assert seqs[-1] == 19 and seqs == list(range(seqs[0], 20))  # the freshest frames
        assert rd.dropped == seqs[0] == wr.frames_dropped


def test_live_never_reclaims_held_frame(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", ring_size=8192, policy="live") as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        wr.write(pattern(0, 1000))
        held = rd.next_frame(timeout=1)
        written = [wr.write(pattern(i, 1000)) for i in range(1, 30)]
        assert not all(written)  # with a frame held, the ring filled and new frames were dropped
        assert check_pattern(held.data, 0)
        # The backlog was reclaimed but for the newest frame written: no stale frames wait.
        newest = max(i for i, ok in zip(range(1, 30), written) if ok)
        f = rd.next_frame(timeout=0)
        assert f is not None and f.seq == newest and check_pattern(f.data, newest)
        f.release()
        with pytest.raises(shmring.Timeout):
            rd.next_frame(timeout=0)
        held.release()
        # Every sequence number was read or counted as dropped.
        assert rd.stats().frames_read + wr.frames_dropped == 30


def test_lossless_writer_waits_for_reader(channel: str) -> None:
    import threading
    with shmring.Writer(channel, caps="application/x-test", ring_size=8192) as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        got = []

        def consume() -> None:
            for f in rd:
                assert check_pattern(f.data, f.seq)
                got.append(f.seq)
        t = threading.Thread(target=consume)
        t.start()
        for i in range(200):
            assert wr.write(pattern(i, 3000), timeout=10)
        wr.eos()
        t.join(10)
        assert got == list(range(200)) and wr.frames_dropped == 0


def test_caps_change_in_order(channel: str) -> None:
    with shmring.Writer(channel, width=4, height=2, format="BGR", ring_size=1 << 16, timeout=1) as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        wr.write(_image("BGR", 4, 2, 0))
        for rnd in range(3):  # 15 changes: the 8 description slots are reused
            for k in range(5):
                wd = 3 + rnd * 5 + k
                wr.set_stream(format="GRAY8", width=wd, height=2)
                wr.write(_image("GRAY8", wd, 2, wd))
            if rnd == 0:
                f = rd.next_frame(timeout=1)  # joined before the changes: the old caps come first
                assert f.info.format == "BGR" and f.array.shape == (2, 4, 3)
                f.release()
            assert rd.stream.width == wd  # a late joiner would learn the newest caps
            for k in range(5):
                wd = 3 + rnd * 5 + k
                f = rd.next_frame(timeout=1)
                assert f.info.format == "GRAY8" and f.array.shape == (2, wd)
                assert np.array_equal(f.array, _image("GRAY8", wd, 2, wd).reshape(2, wd))
                f.release()


def test_description_slot_not_reused_while_named(channel: str) -> None:
    """Eight changes ahead of the reader: the ninth waits until the reader frees the slot's frames."""
    with shmring.Writer(channel, caps="a", ring_size=1 << 16, timeout=0.2) as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        wr.write(b"0")
        for k in range(1, 8):
            wr.set_stream(caps=f"c{k}")
            wr.write(b"%d" % k)
        with pytest.raises(shmring.Timeout, match="slot 1"):
            wr.set_stream(caps="c8")  # id 9 -> slot 1, still named by frame 0 (id 1)
        f = rd.next_frame(timeout=1)
        assert f.caps == "a" and f.tobytes() == b"0"
        f.release()
        f = rd.next_frame(timeout=1)
        assert f.caps == "c1"
        f.release()
        wr.set_stream(caps="c8")


def test_frame_too_large_names_both_sizes(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", ring_size=4096) as wr:
        with pytest.raises(shmring.FrameTooLarge, match=r"5000 bytes.*4096 bytes"):
            wr.write(b"x" * 5000)
    with pytest.raises(shmring.FrameTooLarge, match=r"6220800 bytes.*4096 bytes"):
        shmring.Writer(channel, width=1920, height=1080, format="BGR", ring_size=4096)


@pytest.mark.parametrize("bad", ["", ".hidden", "a/b", "a b", "x" * 201, "é", "a\0b"])
def test_invalid_names(bad: str) -> None:
    with pytest.raises(shmring.InvalidName):
        shmring.Writer(bad, caps="x")
    with pytest.raises(shmring.InvalidName):
        shmring.Reader(bad, timeout=0)
    shmring.check_name("x" * 200)


def test_mode_0600_by_default_and_configurable(channel: str) -> None:
    old = os.umask(0)
    try:
        with shmring.Writer(channel, caps="x"):
            assert stat.S_IMODE(os.stat(shmring.channel_path(channel)).st_mode) == 0o600
        with shmring.Writer(channel, caps="x", mode=0o640):
            assert stat.S_IMODE(os.stat(shmring.channel_path(channel)).st_mode) == 0o640
    finally:
        os.umask(old)


def test_second_reader_refused_naming_pid(channel: str) -> None:
    with shmring.Writer(channel, caps="x"), shmring.Reader(channel, timeout=1):
        with pytest.raises(shmring.ChannelBusy, match=f"already has a reader \\(pid {os.getpid()}\\)"):
            shmring.Reader(channel, timeout=1)


def test_live_producer_refused(channel: str) -> None:
    with shmring.Writer(channel, caps="x"):
        with pytest.raises(shmring.ChannelBusy, match=f"live producer \\(pid {os.getpid()}\\)"):
            shmring.Writer(channel, caps="x")
        assert os.path.exists(shmring.channel_path(channel))


def test_missing_channel_times_out(channel: str) -> None:
    with pytest.raises(shmring.ChannelNotFound, match=channel):
        shmring.Reader(channel, timeout=0.05)


def test_reader_close_with_exported_arrays(channel: str) -> None:
    with shmring.Writer(channel, width=8, height=8, format="GRAY8") as wr:
        rd = shmring.Reader(channel, timeout=1)
        wr.write(np.zeros((8, 8, 1), np.uint8))
        f = rd.next_frame(timeout=1)
        keep = f.array  # the application still holds a view
        rd.close()  # must not raise BufferError
        assert f.released
        with pytest.raises(shmring.FrameReleased):
            f.data
        assert keep.shape == (8, 8) and int(keep.sum()) == 0  # still mapped: no crash
        # the reader lock is gone: another reader can attach
        with shmring.Reader(channel, timeout=1):
            pass
        del keep


def test_reader_waits_for_producer(channel: str) -> None:
    import threading
    box: list = []

    def read() -> None:
        with shmring.Reader(channel, timeout=10) as rd:
            f = rd.next_frame(timeout=10)
            box.append(f.tobytes())
            f.release()
    t = threading.Thread(target=read)
    t.start()
    with shmring.Writer(channel, caps="x") as wr:
        wr.write(b"late producer")
        t.join(10)
    assert box == [b"late producer"]


@pytest.mark.parametrize("n", [0, 5, 8, 255, 256, 257, 4096, 1920 * 1080 * 3 + 1])
@pytest.mark.parametrize("seq", [0, 201, 2**64 - 1])
def test_pattern_is_its_definition_and_every_changed_byte_is_caught(seq: int, n: int) -> None:
    # The definition shared with the C tests: the first 8 bytes are seq
    # (little-endian u64), byte i >= 8 is (seq * 131 + i * 7) & 0xff.
    expect = ((np.arange(n, dtype=np.uint64) * 7 + (seq * 131) % 256) & 0xFF).astype(np.uint8)
    expect[:min(8, n)] = np.frombuffer(seq.to_bytes(8, "little")[:min(8, n)], np.uint8)
    assert np.array_equal(pattern(seq, n), expect)
    assert check_pattern(expect.tobytes(), seq)
    for pos in sorted({0, 7, 8, 255, 256, 300, n // 2, n - 1}):
        if 0 <= pos < n:
            bad = expect.copy()
            bad[pos] ^= 0x40
            assert not check_pattern(bad, seq), pos


def test_keep_newest_without_reader(channel: str) -> None:
    """keep_newest: with no reader a lossless writer never waits; a reader attaching gets the newest frame first."""
    n = 40  # the 8 KiB ring holds 7 of these frames
    with shmring.Writer(channel, caps="application/x-test", ring_size=8192, timeout=0.5, keep_newest=True) as wr:
        for i in range(n):
            assert wr.write(pattern(i, 1000), pts=i)  # no Timeout: older frames make way
        assert wr.frames_dropped == n - 1
        assert shmring.inspect(channel).lag_frames == 1  # the newest; the others are gone, not pending
        with shmring.Reader(channel, timeout=1, frame_timeout=1) as rd:
            f = rd.next_frame()
            assert f.seq == n - 1 and check_pattern(f.data, n - 1)
            f.release()
            for i in range(n, n + 10):  # attached: lossless again, nothing is dropped
                assert wr.write(pattern(i, 1000), pts=i)
                if i % 3 == 0:
                    for _ in range(3):
                        g = rd.next_frame()
                        assert check_pattern(g.data, g.seq)
                        g.release()
            rest = []
            while (g := rd.poll()) is not None:
                rest.append(g.seq)
                g.release()
        assert rest == [n + 9] and wr.frames_dropped == n - 1 and rd.frames == 11 and rd.dropped == 0



def test_reconnect_to_another_format_of_the_same_size(channel: str) -> None:
    """A restarted producer's description 1 is not the old one's, even with the same frame size."""
    wr = shmring.Writer(channel, width=8, height=8, format="BGR")
    with shmring.Reader(channel, timeout=2, frame_timeout=2, reconnect=True) as rd:
        wr.write(np.zeros((8, 8, 3), np.uint8))
        f = rd.next_frame()
        assert f.array.shape == (8, 8, 3) and f.size == 192
        f.release()
        wr.close()
        with shmring.Writer(channel, width=24, height=8, format="GRAY8") as wr2:
            wr2.write(np.arange(192, dtype=np.uint8).reshape(8, 24))
            f = rd.next_frame()
            assert rd.reconnects == 1 and f.info.desc_id == 1 and f.size == 192
            assert f.array.shape == (8, 24) and np.array_equal(f.array, np.arange(192, dtype=np.uint8).reshape(8, 24))
            f.release()
