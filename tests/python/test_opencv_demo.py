# SPDX-License-Identifier: LGPL-2.1-or-later
"""The OpenCV demo (examples/opencv_display.py) shows frames under xvfb-run and saves a screenshot."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import shmring

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "opencv_display.py")


def test_opencv_display_under_xvfb(channel: str, tmp_path) -> None:
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed")
    pytest.importorskip("cv2")
    import cv2
    shot = tmp_path / "shot.png"
    w, h = 160, 120
    with shmring.Writer(channel, width=w, height=h, format="BGR",
                        timeout=0.5) as wr:
        p = subprocess.Popen(["xvfb-run", "-a", sys.executable, EXAMPLE, channel, "--frames", "5",
                              "--screenshot", str(shot)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        img = np.zeros((h, w, 3), np.uint8)
        img[:, :, 2] = 200  # red frames
        assert wr.wait_reader(30), "the viewer never attached"
        deadline = time.monotonic() + 30
        while p.poll() is None and time.monotonic() < deadline:
            wr.write(img)  # the viewer is a live reader: it never holds the producer back
            time.sleep(0.005)  # a 200 fps source
        wr.eos(timeout=0)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "displayed 5 frames" in out
    saved = cv2.imread(str(shot))
    assert saved.shape == (h, w, 3)
    assert (saved[:, :, 2] == 200).mean() > 0.5  # the frame content
    green = (saved[:, :, 1] > 200) & (saved[:, :, 0] < 50)
    assert green.any()  # the fps overlay was drawn
