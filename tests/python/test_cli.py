# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ``python3 -m shmring`` command line: ls, info, clean, bad names, missing channels, missing OpenCV."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

import shmring


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shmring", *args], capture_output=True, text=True, timeout=30,
                          env=env)


def test_ls_and_info(channel: str) -> None:
    with shmring.Writer(channel, width=33, height=7, format="BGR", fps=25, policy="drop-new") as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        for _ in range(3):
            wr.write(np.zeros((7, 33, 3), np.uint8))
        rd.next_frame(timeout=1).release()
        ls = run("ls")
        assert ls.returncode == 0, ls.stderr
        line = next(x for x in ls.stdout.splitlines() if x.startswith(channel))
        assert "open" in line and "drop-new" in line and "BGR 33x7" in line and f"{os.getpid()} (alive)" in line
        info = run("info", channel, "--measure", "0")
        assert info.returncode == 0, info.stderr
        out = info.stdout
        assert "format=(string)BGR" in out and "BGR 33x7" in out
        assert "frame size:     700 bytes" in out  # 7 rows of 99 bytes, each padded to 100
        assert "stream fps:     25.000" in out
        assert "written 3, read 1, dropped 0" in out and "lag:            2 frame(s)" in out
        assert f"producer:       {os.getpid()} (alive)" in out
        assert f"reader:         {os.getpid()} (alive)" in out


def test_info_bad_name_and_missing_channel(channel: str) -> None:
    bad = run("info", "no/slash")
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "contains '/'" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = run("info", channel)
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1
    assert f"no channel '{channel}'" in missing.stderr and "Traceback" not in missing.stderr


def test_view_without_opencv(channel: str, tmp_path) -> None:
    (tmp_path / "cv2.py").write_text("raise ImportError('no OpenCV here')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{env.get('PYTHONPATH', '')}"
    r = run("view", channel, env=env)
    assert r.returncode != 0 and "needs OpenCV" in r.stderr and "Traceback" not in r.stderr


def test_view_without_display(channel: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    with shmring.Writer(channel, width=8, height=8, format="BGR"):
        r = run("view", channel, env=env)
    # one line naming the problem, not OpenCV's abort (exit 134) or a traceback
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and "DISPLAY is not set" in r.stderr and "Traceback" not in r.stderr


def test_clean_removes_only_dead_producers(channel: str, helper) -> None:
    dead = helper("writer", channel + "-dead", "1")
    dead.expect("ready")
    dead.p.kill()
    dead.p.wait()
    with shmring.Writer(channel, width=8, height=8, format="BGR"):
        r = run("clean", channel + "-dead", channel)  # named: other tests' stale channels stay
        assert r.returncode == 0, r.stderr
        assert f"removed {channel}-dead (producer pid {dead.p.pid} is gone)" in r.stdout
        assert not os.path.exists(shmring.channel_path(channel + "-dead"))
        assert os.path.exists(shmring.channel_path(channel))  # live producer: left alone
        assert f"removed {channel}\n" not in r.stdout


def test_usage_error() -> None:
    r = run()
    assert r.returncode != 0 and "usage" in r.stderr
