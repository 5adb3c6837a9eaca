# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ``shmring`` command: ls, info, view, top, clean, --version, its man page, bad names and missing channels."""

from __future__ import annotations

import argparse
import os
import re
import select
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import shmring
from conftest import in_private_shm


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


def _dead_channel(name: str, user: int | None = None) -> int:
    """Leave channel ``name`` behind as a crashed producer would (as ``user``); returns the dead pid."""
    become = f"os.setgid({user}); os.setuid({user}); " if user is not None else ""
    r = subprocess.run([sys.executable, "-c", f"import os, shmring; {become}"
                        f"w = shmring.Writer({name!r}, caps='x', max_frame_size=4096); print(os.getpid()); os._exit(0)"],
                       capture_output=True, text=True, timeout=20, check=True)
    return int(r.stdout)


def test_clean_as_a_user_without_access_goes_on(channel: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to make another user's channel")
    _dead_channel(channel + "-root")
    mine_pid = _dead_channel(channel + "-nobody", 65534)
    code = ("import os, sys; os.setgid(65534); os.setuid(65534); from shmring._cli import main; "
            f"sys.exit(main(['clean', {channel + '-root'!r}, {channel + '-nobody'!r}]))")
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        path = shmring.channel_path(channel + "-root")
        assert r.stderr == (f"shmring: cannot check {channel}-root: permission denied opening {path} (owner root, "
                            f"group root, mode 0600); only its owner or root can clean it\n")
        assert r.stdout == f"removed {channel}-nobody (producer pid {mine_pid} is gone)\n"
        assert os.path.exists(path) and not os.path.exists(shmring.channel_path(channel + "-nobody"))
    finally:
        for suffix in ("-root", "-nobody"):
            if os.path.exists(shmring.channel_path(channel + suffix)):
                os.unlink(shmring.channel_path(channel + suffix))


def test_clean_handles_each_file_on_its_own() -> None:
    """With no names: an invalid name, a FIFO or a live channel does not stop the others being cleaned."""
    script = r"""
import os, subprocess, sys, shmring
def dead(name):
    subprocess.run([sys.executable, "-c", "import os, shmring; w = shmring.Writer(%r, caps='x', max_frame_size=4096); "
                    "os._exit(0)" % name], check=True)
dead("a-dead")
open("/dev/shm/shmring.b bad name", "w").close()
os.mkfifo("/dev/shm/shmring.c-fifo")
live = shmring.Writer("d-live", caps="x", max_frame_size=4096)
dead("e-dead")
r = subprocess.run([sys.executable, "-m", "shmring", "clean"], capture_output=True, text=True, timeout=20)
print(r.returncode)
print(r.stdout, end="")
print(r.stderr, end="")
print(sorted(os.listdir("/dev/shm")))
"""
    r = in_private_shm(script, "size=1m")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].startswith("removed a-dead (producer pid ")
    assert lines[2] == ("left /dev/shm/shmring.b bad name alone: channel name 'b bad name' contains ' '; "
                        "allowed are A-Z a-z 0-9 . _ -")
    assert lines[3].startswith("left /dev/shm/shmring.c-fifo alone: channel 'c-fifo': /dev/shm/shmring.c-fifo is a "
                               "FIFO, not a shmring segment")
    assert lines[4].startswith("removed e-dead (producer pid ")
    assert lines[5] == "['shmring.b bad name', 'shmring.c-fifo', 'shmring.d-live']"


def test_clean_missing_name_says_so(channel: str) -> None:
    with shmring.Writer(channel, caps="x", max_frame_size=4096):
        r = run("clean", channel + "x")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith(f"shmring: no channel '{channel}x' (/dev/shm/shmring.{channel}x does not exist); "
                               f"did you mean '{channel}'")


def test_clean_live_channel_named_is_left_alone(channel: str) -> None:
    with shmring.Writer(channel, caps="x", max_frame_size=4096):
        r = run("clean", channel)
    assert r.returncode == 0 and r.stdout == f"{channel}: has a live producer (pid {os.getpid()}); left alone\n"


def test_clean_dry_run(channel: str) -> None:
    pid = _dead_channel(channel)
    r = run("clean", "--dry-run", channel)
    assert r.returncode == 0 and r.stdout == f"would remove {channel} (producer pid {pid} is gone)\n"
    assert os.path.exists(shmring.channel_path(channel))
    assert run("clean", channel).stdout == f"removed {channel} (producer pid {pid} is gone)\n"


def test_info_and_view_suggest_similar_names(channel: str) -> None:
    typo = channel[:-2] + channel[-1] + channel[-2]
    with shmring.Writer(channel, caps="x", max_frame_size=4096):
        info = run("info", typo)
        view = run("view", typo, "--timeout", "0.1", env={k: v for k, v in os.environ.items() if k != "DISPLAY"})
    for r in (info, view):
        assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
        assert f"no channel '{typo}'" in r.stderr and f"; did you mean '{channel}'" in r.stderr


def test_info_and_ls_say_what_the_producer_waits_for(channel: str) -> None:
    wr = shmring.Writer(channel, caps="x", max_frame_size=4096, timeout=30)
    t = threading.Thread(target=lambda: [wr.write(b"x" * 1000) for _ in range(5)])  # 3 fit, the 4th waits
    t.start()
    try:
        deadline = time.monotonic() + 10
        while not shmring.inspect(channel).writer_waiting:  # the producer blocks in write()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        info = run("info", channel, "--measure", "0")
        assert f"producer:       {os.getpid()} (alive), waiting for a reader" in info.stdout
        ls = run("ls")
        assert next(x for x in ls.stdout.splitlines() if x.startswith(channel)).endswith("(waiting for a reader)")
        rd = shmring.Reader(channel, timeout=1)
        try:
            info = run("info", channel, "--measure", "0")
            assert f"producer:       {os.getpid()} (alive), blocked: ring full" in info.stdout
        finally:
            rd.close()
            rd = shmring.Reader(channel, timeout=1)
            for _ in range(5):
                rd.next_frame(timeout=5).release()
            rd.close()
    finally:
        t.join(30)
        wr.close()


def test_top_once_with_a_real_producer(channel: str) -> None:
    stop = threading.Event()
    with shmring.Writer(channel, width=16, height=16, format="GRAY8", policy="drop-new") as wr, \
            shmring.Reader(channel, timeout=1):
        def produce() -> None:
            while not stop.is_set():
                wr.write(np.zeros((16, 16), np.uint8))
                stop.wait(0.01)  # about 100 fps
        t = threading.Thread(target=produce)
        t.start()
        try:
            r = run("top", "--count", "2", "--interval", "0.5")
        finally:
            stop.set()
            t.join()
    assert r.returncode == 0, r.stderr
    assert "\x1b[" not in r.stdout  # not a terminal: no escape codes
    screens = r.stdout.rstrip("\n").split("\n\n")
    assert len(screens) == 2 and all(s.startswith("shmring top: ") for s in screens)
    line = next(x for x in screens[1].splitlines() if x.startswith(channel))
    m = re.fullmatch(r"(\S+) +(\S+) +(\S+) +(1 \(pid \d+\)|0) +(\d+) +(\d+) +(\S+) ms  (.*)", line)
    assert m, line
    state, fps, readers, lag, latency, stream = m.group(2, 3, 4, 5, 7, 8)
    assert state == "open" and 5 < float(fps) < 150  # paced at about 100 fps
    assert readers == f"1 (pid {os.getpid()})" and int(lag) > 0
    assert 0 <= float(latency) < 1000 and stream == "GRAY8 16x16"


def test_top_quits_on_q_and_restores_the_terminal() -> None:
    import pty
    import termios
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([sys.executable, "-m", "shmring", "top", "--interval", "0.2"], stdin=slave, stdout=slave,
                         stderr=subprocess.PIPE)
    try:
        out = b""
        deadline = time.monotonic() + 20
        while b"shmring top:" not in out:  # the first screen is drawn
            assert time.monotonic() < deadline, out
            r, _, _ = select.select([master], [], [], 1)
            if r:
                out += os.read(master, 4096)
        os.write(master, b"q")
        assert p.wait(timeout=20) == 0
        assert b"\x1b[H\x1b[2J" in out  # a terminal: each screen clears it
        assert termios.tcgetattr(slave) == before  # cbreak undone
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
        os.close(slave)


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout == f"python3 -m shmring {shmring.__version__}\n"
    r = subprocess.run([sys.executable, "-c", "import sys; from shmring._cli import main; sys.exit(main(['--version']))"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and r.stdout == f"shmring {shmring.__version__}\n"  # the installed command's name


def _man_page() -> str:
    path = os.environ.get("SHMRING_MAN_PAGE") or os.path.join(os.path.dirname(__file__), "..", "..", "python",
                                                              "shmring.1")
    with open(path) as f:
        return f.read()


def test_man_page_covers_every_command_and_option() -> None:
    from shmring._cli import build_parser
    page = _man_page()
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS", "FILES", "EXAMPLES",
                    "SEE ALSO"):
        assert f'.SH "{section}"' in page or f".SH {section}\n" in page, section
    for name, p in sub.choices.items():
        assert f"\n.B {name}" in page or f"\n.BR {name} " in page, name
        for a in p._actions:
            for opt in a.option_strings:
                if opt.startswith("--") and opt != "--help":
                    assert opt.replace("-", "\\-") in page, (name, opt)
    assert "\\-\\-version" in page


def test_man_page_renders_without_warnings() -> None:
    man = shutil.which("man")
    if man is None:
        pytest.skip("man is not installed")
    path = os.environ.get("SHMRING_MAN_PAGE") or os.path.join(os.path.dirname(__file__), "..", "..", "python",
                                                              "shmring.1")
    r = subprocess.run([man, "--warnings", "-l", path], capture_output=True, text=True, timeout=30,
                       env={**os.environ, "MANWIDTH": "80"})
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "shmring top" in r.stdout
