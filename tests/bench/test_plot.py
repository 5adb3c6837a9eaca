# SPDX-License-Identifier: LGPL-2.1-or-later
"""The benchmarks' plot module (tests/bench/plot.py) writes a PNG of the numbers it is given."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot import bars  # noqa: E402


def test_bars_write_a_png_with_one_panel_each(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = pytest.importorskip("matplotlib.image")
    monkeypatch.setenv("BENCH_PLOT_DIR", str(tmp_path))
    groups = ["shmringsink → shmringsrc", "shmsink → shmsrc", "tcpserversink → tcpclientsrc"]
    path = bars("t.png", "title", [
        ("flat out", "frames/s (log)", groups, {"pool": [683756.0, 41480.0, 170.0], "copy": [5394.0, None, 120.0]},
         True),
        ("latency", "us", ["p50", "p99"], {"reader": [129.9, 220.3]}, False),
    ])
    assert path == str(tmp_path / "t.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    img = image.imread(path)
    assert img.shape[1] > img.shape[0] > 200  # two panels side by side
    assert os.path.getsize(path) < 200_000
