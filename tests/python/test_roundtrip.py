# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python Writer -> Python Reader in one process: formats, strides, metadata, EOS, policies, errors."""

from __future__ import annotations


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
    with shmring.Writer(channel, width=w, height=h, format=fmt) as wr, \
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
    with shmring.Writer(channel, caps="image/jpeg, width=(int)4", max_frame_size=4096) as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        sizes = [0, 1, 63, 64, 65, 1000, 4000, 17, 3000]
        for i, n in enumerate(sizes):
            wr.write(pattern(i, n).tobytes())
            f = rd.next_frame(timeout=1)
            assert f.size == n and f.caps == "image/jpeg, width=(int)4"
            assert f.tobytes() == pattern(i, n).tobytes()
            assert f.planes == [] and f.array.shape == (n,)
            f.release()


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


@pytest.mark.parametrize("bad", ["", ".hidden", "a/b", "a b", "x" * 100, "é", "a\0b"])
def test_invalid_names(bad: str) -> None:
    with pytest.raises(shmring.InvalidName):
        shmring.Writer(bad, caps="x")
    with pytest.raises(shmring.InvalidName):
        shmring.Reader(bad, timeout=0)
    shmring.check_name("x" * 99)  # the longest name


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


def test_planes_and_copies_keep_their_memory(channel: str) -> None:
    """Plane arrays kept past close keep the pool mapped; a copy's arrays share its own bytes and stay writable."""
    with shmring.Writer(channel, width=8, height=8, format="I420") as wr:
        rd = shmring.Reader(channel, timeout=1)
        wr.write(bytes(range(96)))
        f = rd.next_frame(timeout=1)
        assert f is not None
        c = f.copy()
        planes = f.planes
        rd.close()
        assert [p.shape for p in planes] == [(8, 8), (4, 4), (4, 4)] and int(planes[2][3, 3]) == 95
        assert not any(p.flags.writeable for p in planes)
        a = c.array
        assert a.shape == (12, 8) and a.flags.writeable and c.planes[1].flags.writeable
        a[8, 0] = 200  # first byte of the U plane
        assert int(c.planes[1][0, 0]) == 200 and c.tobytes()[64] == 200
        del planes


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




def test_set_seq_keeps_numbers_and_counts_frames_lost_before(channel: str) -> None:
    """A Writer republishing numbered frames: the first number sets the start (no loss), a jump is frames lost
    before the channel, seen by the reader as dropped and by an observer as frames_lost; going back is refused."""
    with shmring.Writer(channel, width=4, height=2, format="GRAY8", queue_len=8) as wr, \
            shmring.Reader(channel, timeout=1, frame_timeout=1) as rd:
        for seq in (500, 501, 510):
            wr.set_seq(seq)
            assert wr.write(pattern(seq, 8).reshape(2, 4))
        with pytest.raises(ValueError, match="511"):
            wr.set_seq(509)
        assert wr.write(pattern(511, 8).reshape(2, 4))
        assert wr.frames_lost == 8
        got = []
        for _ in range(4):
            f = rd.next_frame()
            assert f is not None and check_pattern(f.array.reshape(-1), f.seq)
            got.append((f.seq, f.dropped))
            f.release()
        assert got == [(500, 0), (501, 0), (510, 8), (511, 0)]
        assert rd.dropped == 8
        st = shmring.inspect(channel)
        assert st.frames_lost == 8 and st.next_seq == 512
