# SPDX-License-Identifier: LGPL-2.1-or-later
"""GStreamer shmringsink -> Python Reader, and Python Writer -> shmringsrc ! filesink, byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

import shmring
from shmring.testing import pattern

N = 30


def _gst() -> str:
    if os.environ.get("SHMRING_GST_PLUGIN") != "1":
        pytest.skip("the shmring GStreamer plugin is not built")
    exe = shutil.which("gst-launch-1.0")
    if exe is None:
        pytest.skip("gst-launch-1.0 is not installed")
    return exe


def test_shmringsink_to_python_reader(channel: str, tmp_path) -> None:
    gst = _gst()
    caps = "video/x-raw,format=BGR,width=33,height=7,framerate=30/1"
    ref = tmp_path / "ref.raw"
    src = f"videotestsrc num-buffers={N} pattern=ball ! {caps}"
    r = subprocess.run([gst, "-q", *src.split(), "!", "filesink", f"location={ref}"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    expect = ref.read_bytes()
    frame = len(expect) // N
    assert frame == 100 * 7  # rows of 99 bytes padded to 100
    p = subprocess.Popen([gst, "-q", *src.split(), "!", "shmringsink", f"channel={channel}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        got = []
        with shmring.Reader(channel, timeout=20, frame_timeout=20) as rd:
            for f in rd:
                assert f.array.shape == (7, 33, 3) and f.info.format == "BGR"
                got.append(f.tobytes())
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert len(got) == N
    # Compare the pixels; the row padding is not part of the picture (videotestsrc leaves it undefined).
    def pixels(raw: bytes) -> np.ndarray:
        return np.frombuffer(raw, np.uint8).reshape(-1, 7, 100)[:, :, :99]
    assert np.array_equal(pixels(b"".join(got)), pixels(expect))


def test_python_writer_to_shmringsrc(channel: str, tmp_path) -> None:
    gst = _gst()
    out = tmp_path / "out.raw"
    with shmring.Writer(channel, width=33, height=7, format="BGR", timeout=20) as wr:
        size = wr.stream.frame_size
        p = subprocess.Popen([gst, "-q", "shmringsrc", f"channel={channel}", "!", "filesink", f"location={out}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert wr.wait_reader(20), "shmringsrc never attached"  # frames before it would reach nobody
            frames = [pattern(seq, size) for seq in range(N)]
            for seq, fr in enumerate(frames):
                assert wr.write(fr, pts=seq * 33_333_333, duration=33_333_333)
            wr.eos()
            _o, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert p.returncode == 0, err
    assert out.read_bytes() == np.concatenate(frames).tobytes()


@pytest.mark.parametrize("fmt", shmring.FORMATS)
def test_python_writer_layouts_pass_shmringsrc(channel: str, fmt: str) -> None:
    """shmringsrc checks a stream's layout against its caps before videoconvert reads it:
    every layout the Python Writer makes (odd sizes, padded strides, chroma planes) passes."""
    gst = _gst()
    with shmring.Writer(channel, width=33, height=7, format=fmt, timeout=20) as wr:
        size = wr.stream.frame_size
        p = subprocess.Popen([gst, "-q", "shmringsrc", f"channel={channel}", "!", "videoconvert", "!",
                              "video/x-raw,format=BGR", "!", "fakesink"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert wr.wait_reader(20), "shmringsrc never attached"
            for seq in range(3):
                assert wr.write(pattern(seq, size))
            wr.eos()
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert p.returncode == 0, out + err
