# SPDX-License-Identifier: LGPL-2.1-or-later
"""Abstract names and text from peers (items 7 and 8 of issue 21).

Anyone can bind any abstract name: one holding a newline and a forged
/proc/net/unix line after it makes the listing show a channel nobody
serves, and one holding escape sequences would reach the terminal of
whoever lists channels.  Readers connect by name, never by the listing:
each reader (C library, shmringsrc, Python) finds no producer for the
forged entry; the listing and the CLI survive and print every control
character escaped, caps and names alike.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import forge as F  # noqa: E402
import victims as V  # noqa: E402

import shmring  # noqa: E402

CONTROL = [chr(c) for c in range(32) if c not in (9, 10)] + ["\x7f", "\x9b"]


def bind(raw: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    s.bind(b"\0" + raw.encode("utf-8", "surrogateescape"))
    s.listen(1)
    return s


@pytest.fixture
def fake_line():
    """A listening name "shmring/x<pid>\\n<a whole /proc/net/unix line naming @shmring/TYPO>"; yields TYPO."""
    typo = V.channel("typo")
    line = f"0000000000000000: 00000002 00000000 00010000 0005 01 424242 @shmring/{typo}"
    s = bind(f"shmring/x{os.getpid()}\n{line}")
    yield typo
    s.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([sys.executable, "-m", "shmring", *args], capture_output=True, text=True,
                       errors="surrogateescape", timeout=60)
    assert r.returncode >= 0, f"shmring {args} ended by signal {-r.returncode}"
    return r


def test_listing_with_a_forged_line_does_not_crash(fake_line: str) -> None:
    names = shmring.list_channels()  # the forged entry may be listed: it is only text
    assert all("\n" not in n for n in names), names
    r = cli("ls")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr, r.stderr


def test_python_reader_of_the_forged_entry_finds_no_channel(fake_line: str) -> None:
    with pytest.raises(shmring.ChannelNotFound):
        shmring.Reader(fake_line, timeout=0.3)


@pytest.mark.parametrize("kind", ["c", "gst", "py"])
def test_readers_of_the_forged_entry_find_no_channel(fake_line: str, kind: str) -> None:
    if kind == "gst" and not V.have_gst():
        pytest.skip("GStreamer plugin not built")
    os.environ["HOSTILE_ATTACH_MS"] = "300"  # nothing serves the name: each gives up after 0.3 s
    try:
        end = V.run(V.reader_argv(kind, fake_line))
    finally:
        del os.environ["HOSTILE_ATTACH_MS"]
    assert end.rc != 0 and end.frames == 0, end.out
    if kind == "py":
        assert "error ChannelNotFound" in end.out, end.out
    else:
        assert "has no producer" in end.out, end.out
    end.check_no_spin()


def no_control(text: str) -> None:
    bad = sorted({c for c in text if c in CONTROL})
    assert not bad, f"control characters reached the terminal: {bad!r} in {text!r}"


def test_names_with_escapes_are_not_printed_raw() -> None:
    """A name with escape sequences bound next to a real (forged) channel: ls prints the channel, escaped
    or left out, never raw."""
    evil = bind(f"shmring/evil{os.getpid()}\x1b[2J\x1b]0;owned\x07\x9b31m")
    name = V.channel("ls")
    f = F.Forge()
    f.observers = True
    srv = F.Server(name, f)
    try:
        r = cli("ls")
    finally:
        srv.close()
        evil.close()
    assert r.returncode == 0, r.stderr
    assert name in r.stdout, r.stdout
    no_control(r.stdout)
    no_control(r.stderr)


def test_caps_with_escapes_are_escaped_by_info() -> None:
    """`shmring info` of a producer whose caps hold terminal escapes prints them as escapes."""
    name = V.channel("caps")
    f = F.Forge()
    f.observers = True
    caps = b"application/x-\x1b[2J\x1b]0;owned\x07\xc2\x9b31m"
    f.set_caps(1, caps)
    f.set_desc(1, caps_len=len(caps))
    srv = F.Server(name, f)
    try:
        r = cli("info", name)
    finally:
        srv.close()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "application/x-" in r.stdout, r.stdout
    assert "\\x1b[2J" in r.stdout, r.stdout  # shown, as an escape
    no_control(r.stdout)
    no_control(r.stderr)


def test_a_name_argument_with_escapes_is_escaped() -> None:
    r = cli("info", "evil\x1b[2J\x1b]0;owned\x07")
    assert r.returncode != 0
    assert "evil" in r.stdout + r.stderr
    no_control(r.stdout)
    no_control(r.stderr)


def test_error_text_from_a_producer_is_escaped() -> None:
    """A REFUSED message with escapes, as `shmring info` shows it."""
    name = V.channel("refused")
    f = F.Forge()
    f.observers = True
    f.welcome_bytes = F.refused(16, b"busy \x1b[2J\x1b]0;owned\x07")
    f.fds = lambda p, b: []
    f.hangup = True
    srv = F.Server(name, f)
    try:
        r = cli("info", name)
    finally:
        srv.close()
    assert r.returncode != 0
    no_control(r.stdout)
    no_control(r.stderr)
