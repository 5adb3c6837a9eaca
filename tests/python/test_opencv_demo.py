# SPDX-License-Identifier: LGPL-2.1-or-later
"""The OpenCV demo (examples/opencv_display.py) shows frames under xvfb-run and saves a screenshot."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

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
    with shmring.Writer(channel, width=w, height=h, format="BGR"),
                        timeout=0.5) as wr:
        p = subprocess.Popen(["xvfb-run", "-a", sys.executable, EXAMPLE, channel, "--frames", "5",
                              "--screenshot", str(shot)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        img = np.zeros((h, w, 3), np.uint8)
        img[:, :, 2] = 200  # red frames
        written = 0
        while p.poll() is None and written < 3000:
            try:
                wr.write(img)  # lossless: paced by the viewer releasing frames
                written += 1
            except shmring.Timeout:
                pass
        wr.eos(timeout=0)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "displayed 5 frames" in out
    saved = cv2.imread(str(shot))
    assert saved.shape == (h, w, 3)
    assert (saved[:, :, 2] == 200).mean() > 0.5  # the frame content
    green = (saved[:, :, 1] > 200) & (saved[:, :, 0] < 50)
    assert green.any()  # the fps overlay was drawn
