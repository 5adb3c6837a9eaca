# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ``shmring`` command: ls, info, view, top, clean, --version, its man page, bad names and missing channels."""

from __future__ import annotations

import argparse
import errno
import os
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import shmring
from shmring import _layout as L


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shmring", *args], capture_output=True, text=True, timeout=30,
                          env=env)


def test_ls_and_info(channel: str) -> None:
    with shmring.Writer(channel, width=33, height=7, format="BGR", fps=25, policy="drop-new") as wr, \
            shmring.Reader(channel, timeout=1) as rd, shmring.Reader(channel, timeout=1, latest=True):
        for _ in range(3):
            wr.write(np.zeros((7, 33, 3), np.uint8))
        rd.next_frame(timeout=1).release()
        ls = run("ls")
        assert ls.returncode == 0, ls.stderr
        line = next(x for x in ls.stdout.splitlines() if x.startswith(channel))
        pid = os.getpid()
        assert re.fullmatch(rf"{re.escape(channel)} +open +drop-new +{pid} +{os.geteuid()} +2/4 \({pid} {pid}\) +3  "
                            rf"BGR 33x7", line)
        info = run("info", channel, "--measure", "0")
        assert info.returncode == 0, info.stderr
        out = info.stdout
        assert "format=(string)BGR" in out and "BGR 33x7" in out
        assert "frame size:     700 bytes" in out  # 7 rows of 99 bytes, each padded to 100
        assert "stream fps:     25.000" in out
        assert f"memory:         {wr.n_slots} slots x 4096 bytes = " in out
        assert f"producer:       pid {pid}, uid {os.geteuid()}\n" in out and "readers:        2 of at most 4" in out
        assert f"pid {pid}, uid {os.getuid()}, mode channel, holds 3, frames 2, dropped 1, lag 2" in out  # queue full
        assert f"pid {pid}, uid {os.getuid()}, mode live, holds 3, frames 3, dropped 1, lag 2" in out  # oldest pushed out
        assert "written 3" in out


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


def test_usage_error() -> None:
    r = run()
    assert r.returncode != 0 and "usage" in r.stderr


def test_clean_is_gone_nothing_is_left_on_disk() -> None:
    r = run("clean")
    assert r.returncode == 2 and "invalid choice: 'clean'" in r.stderr


def test_info_and_view_suggest_similar_names(channel: str) -> None:
    typo = channel[:-2] + channel[-1] + channel[-2]
    with shmring.Writer(channel, caps="x", max_frame_size=4096):
        info = run("info", typo)
        view = run("view", typo, "--timeout", "0.1", env={k: v for k, v in os.environ.items() if k != "DISPLAY"})
    for r in (info, view):
        assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
        assert f"no channel '{typo}'" in r.stderr and f"; did you mean '{channel}'" in r.stderr


def test_info_and_ls_say_what_the_producer_waits_for(channel: str) -> None:
    wr = shmring.Writer(channel, caps="x", max_frame_size=4096, timeout=30, queue_len=2)
    rd = shmring.Reader(channel, timeout=1)
    t = threading.Thread(target=lambda: [wr.write(b"x" * 1000) for _ in range(3)])  # 2 queued, the 3rd waits
    t.start()
    try:
        deadline = time.monotonic() + 10
        while not shmring.inspect(channel).producer_waiting:  # the producer blocks in write()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        info = run("info", channel, "--measure", "0")
        assert f"producer:       pid {os.getpid()}, uid {os.geteuid()}, waiting for a lossless reader" in info.stdout
        ls = run("ls")
        assert next(x for x in ls.stdout.splitlines() if x.startswith(channel)).endswith(
            "(waiting for a lossless reader)")
        for _ in range(3):
            rd.next_frame(timeout=5).release()
    finally:
        t.join(30)
        rd.close()
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
    m = re.fullmatch(r"(\S+) +(\S+) +(\S+) +(\d+) +(\d+) +(\d+)  (.*)", line)
    assert m, line
    state, fps, readers, lag, stream = m.group(2, 3, 4, 5, 7)
    assert state == "open" and 0 < float(fps) < 150  # frames flowed; paced at 100 fps at most
    assert readers == "1" and int(lag) > 0 and stream == "GRAY8 16x16"
    reader = screens[1].splitlines()[screens[1].splitlines().index(line) + 1]
    assert reader.split()[:3] == ["pid", str(os.getpid()), "channel"]


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


def test_forged_names_in_the_socket_table(channel: str) -> None:
    """Any user can bind an abstract name holding a newline and a fake line of /proc/net/unix, or spaces: the
    listing goes on, lists no invalid name, and a typo is still ChannelNotFound."""
    forged = []
    tag = f"f{os.getpid()}"
    for name in (f"shmring/{tag}-x\n0000: 00000002 00000000 zzzz 0005 01 1 @shmring/{tag}-fake",
                 f"shmring/{tag} spaced", f"shmring/{tag}-\x1b[31mred"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.bind("\0" + name)
        s.listen(1)
        forged.append(s)
    try:
        names = shmring.list_channels()
        for n in names:
            shmring.check_name(n)  # every name listed is a valid one
        assert f"{tag}-fake" not in names and f"{tag} spaced" not in names
        with pytest.raises(shmring.ChannelNotFound):
            shmring.Reader(f"{tag}-typo", timeout=0.1)
        ls = run("ls")
        assert ls.returncode == 0 and "Traceback" not in ls.stderr, ls.stderr
        assert "\x1b" not in ls.stdout
    finally:
        for s in forged:
            s.close()


def test_control_characters_never_reach_the_terminal(channel: str) -> None:
    """Caps and errors come from the producer: ls, info and top show their control characters escaped."""
    caps = "application/x-test, note=(string)\"\x1b]0;owned\x07\x1b[2J\""
    with shmring.Writer(channel, caps=caps) as wr:
        wr.write(b"frame")  # the description is published with the first frame
        for args in (("ls",), ("info", channel, "--measure", "0"), ("top", "--once")):
            out = run(*args)
            assert out.returncode == 0, out.stderr
            assert "\x1b" not in out.stdout and "\x07" not in out.stdout, args
        info = run("info", channel, "--measure", "0").stdout
        assert "\\x1b]0;owned\\x07" in info


# --- producers in trouble ------------------------------------------------------
GARBAGE = b"\x1b[2Jnot a shmring answer"
REFUSAL = b"go away \x1b]0;owned\x07 now"
# What each forged producer does, and the words of the one line that names its trouble.
TROUBLES = {
    "silent": "the producer did not answer within",  # accepts, never answers
    "hangs-up": "the producer hung up without answering",  # accepts and closes at once
    "resets": "the producer hung up without answering",  # closes with SO_LINGER 0: a reset
    "garbage": f"an invalid message of {len(GARBAGE)} bytes (type {int.from_bytes(GARBAGE[:4], 'little')}",
    "refuses": "the producer refused this observer (EPROTO): go away \\x1b]0;owned\\x07 now",
    "bad-pool": "pool is not sealed",  # a WELCOME with an unsealed memfd
}


class Forged:
    """Producers that misbehave, each binding "\\0shmring/NAME" itself, all served by one thread until close()."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names  # name -> kind
        self.listeners: dict[socket.socket, str] = {}
        self.kept: list[socket.socket] = []  # the silent producers' connections, never answered
        for name, kind in names.items():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.bind("\0shmring/" + name)
            s.listen(64)
            self.listeners[s] = kind
        self.wake_r, self.wake_w = os.pipe()
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            ready, _, _ = select.select([self.wake_r, *self.listeners], [], [])
            if self.wake_r in ready:
                return
            for ls in ready:
                c, _ = ls.accept()
                self._answer(c, self.listeners[ls])

    def _answer(self, c: socket.socket, kind: str) -> None:
        if kind == "silent":
            self.kept.append(c)
            return
        if kind == "resets":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif kind != "hangs-up":
            c.settimeout(10)
            c.recv(64)  # the HELLO: closing over unread data would reset the peer before the answer
            if kind == "garbage":
                c.send(GARBAGE)
            elif kind == "refuses":
                c.send(L.REFUSED_HEAD.pack(L.MSG_REFUSED, L.REFUSED_SIZE, errno.EPROTO, 0)
                       + REFUSAL.ljust(L.MESSAGE_MAX, b"\0"))
            elif kind == "bad-pool":
                fd = os.memfd_create("forged", os.MFD_ALLOW_SEALING)
                os.ftruncate(fd, 65536)
                socket.send_fds(c, [L.WELCOME.pack(L.MSG_WELCOME, L.WELCOME.size, L.VERSION, 0xFFFFFFFF, 65536, 1,
                                                   0, 0)], [fd])
                os.close(fd)
        c.close()

    def close(self) -> None:
        os.write(self.wake_w, b"x")
        self.thread.join(30)
        for s in [*self.listeners, *self.kept]:
            s.close()
        os.close(self.wake_r)
        os.close(self.wake_w)


@pytest.fixture
def forged():
    made: list[Forged] = []

    def start(names: dict[str, str]) -> Forged:
        f = Forged(names)
        made.append(f)
        return f

    yield start
    for f in made:
        f.close()


def _troubled(tag: str) -> dict[str, str]:
    """A private name for each kind of trouble (pid in the name: suites running at once do not collide)."""
    return {f"{tag}{os.getpid()}-{kind}": kind for kind in TROUBLES}


def test_ls_lists_every_channel_and_each_trouble_on_its_line(channel: str, forged) -> None:
    """A silent, hung-up, reset, garbage-speaking, refusing or bad-pool producer each gets one line naming its
    trouble (escaped); the real channel among them is listed whole; the order is the names'; exit status 0."""
    names = _troubled("ls")
    forged(names)
    with shmring.Writer(channel, width=33, height=7, format="BGR", fps=25) as wr:
        wr.write(np.zeros((7, 33, 3), np.uint8))
        ls = run("ls")
    assert ls.returncode == 0 and ls.stderr == "", ls.stderr
    assert "\x1b" not in ls.stdout and "\x07" not in ls.stdout
    lines = ls.stdout.splitlines()[1:]
    listed = [x.split()[0] for x in lines]
    mine = [n for n in listed if n in names or n == channel]
    assert mine == sorted([*names, channel])  # every one of them, in the names' order
    line = next(x for x in lines if x.startswith(channel + " "))
    assert re.fullmatch(rf"{re.escape(channel)} +open +lossless +{os.getpid()} +{os.geteuid()} +0/4 +1  BGR 33x7",
                        line), line
    for name, kind in names.items():
        line = next(x for x in lines if x.startswith(name + " "))
        assert re.fullmatch(rf"{re.escape(name)} +error: .*", line), line
        assert TROUBLES[kind] in line, (kind, line)


def test_ls_asks_silent_channels_at_once(forged) -> None:
    """Ten producers that never answer are asked together, each for --timeout seconds: well under the ten
    seconds of asking them one after another (it was 5 s each)."""
    names = {f"ls{os.getpid()}-silent{i}": "silent" for i in range(10)}
    forged(names)
    t0 = time.monotonic()
    ls = run("ls", "--timeout", "1")
    elapsed = time.monotonic() - t0
    assert ls.returncode == 0, ls.stderr
    for name in names:
        line = next(x for x in ls.stdout.splitlines() if x.startswith(name + " "))
        assert line.endswith("error: the producer did not answer within 1 s"), line
    assert elapsed < 6, elapsed  # one after another: 10 s at least


@pytest.mark.parametrize("kind", list(TROUBLES))
def test_info_names_the_channel_and_its_trouble(kind: str, forged) -> None:
    """info of a producer in trouble: one line on standard error naming the channel and the trouble, exit status
    1; never a traceback, never a silent exit 0."""
    name = f"info{os.getpid()}-{kind}"
    forged({name: kind})
    r = run("info", name, "--measure", "0", "--timeout", "0.5")
    assert r.returncode == 1 and r.stdout == "", (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith(f"shmring: channel '{name}': ") and r.stderr.count("\n") == 1, r.stderr
    assert TROUBLES[kind] in r.stderr and "\x1b" not in r.stderr
    if kind == "silent":
        assert r.stderr.endswith("the producer did not answer within 0.5 s\n")  # --timeout bounds the answer too


def test_top_marks_troubled_channels_and_shows_the_others(channel: str, forged) -> None:
    names = _troubled("top")
    forged(names)
    with shmring.Writer(channel, width=16, height=16, format="GRAY8") as wr:
        wr.write(np.zeros((16, 16), np.uint8))
        r = run("top", "--once", "--interval", "0.1", "--timeout", "0.5")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    lines = r.stdout.splitlines()
    line = next(x for x in lines if x.startswith(channel + " "))
    assert re.fullmatch(rf"{re.escape(channel)} +open +0\.0 +0 +0 +0  GRAY8 16x16", line), line
    for name, kind in names.items():
        line = next(x for x in lines if x.startswith(name + " "))
        assert re.fullmatch(rf"{re.escape(name)} +error: .*", line) and TROUBLES[kind] in line, (kind, line)


def test_a_message_after_welcome_is_named_not_a_death(channel: str) -> None:
    """A live producer that sends a reader anything but REFUSED after WELCOME broke the protocol; the reader
    (shmring view's) says so and what it got, instead of reporting that the producer died."""
    with shmring.Writer(channel, caps="x", max_frame_size=4096) as wr, shmring.Reader(channel, timeout=1) as rd:
        conn = next(r for r in wr._readers if r is not None).sock  # private: the producer's end
        conn.send(GARBAGE)
        with pytest.raises(shmring.Error) as e:
            rd.next_frame(timeout=10)
        assert isinstance(e.value, shmring.CorruptSegment) and not isinstance(e.value, shmring.ProducerDied)
        assert f"channel '{channel}': the producer sent a message after WELCOME" in str(e.value)
        assert f"{len(GARBAGE)} bytes (type {int.from_bytes(GARBAGE[:4], 'little')}, " in str(e.value)
