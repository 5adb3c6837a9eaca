# SPDX-License-Identifier: LGPL-2.1-or-later
"""pytest fixtures for the shmring Python tests: private channel names, leak checks, helpers."""

from __future__ import annotations

import glob
import itertools
import os
import subprocess
import sys

import pytest

import shmring

HERE = os.path.dirname(os.path.abspath(__file__))
HELPER = os.path.join(HERE, "helper.py")
_counter = itertools.count()


def shm_leftovers(name: str) -> list[str]:
    """Files of channel ``name`` still in /dev/shm (the segment or a temporary)."""
    return glob.glob(f"/dev/shm/shmring.{name}") + glob.glob(f"/dev/shm/.shmring.{name}.*")


@pytest.fixture
def channel(request: pytest.FixtureRequest):
    """A private channel name (test name + pid); fails the test if its socket or anything in /dev/shm is left."""
    base = request.node.name.replace("[", "-").replace("]", "").replace(",", "-")
    base = "".join(c if c.isalnum() or c in "._-" else "-" for c in base)[:120]
    name = f"py-{base}-{os.getpid()}-{next(_counter)}"
    yield name
    assert name not in shmring.list_channels(), f"channel {name} still has a listening socket"
    left = shm_leftovers(name)
    for p in left:
        os.unlink(p)
    assert not left, f"left in /dev/shm: {left}"


class Helper:
    """A helper process (tests/python/helper.py) talking over stdin/stdout pipes."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ)
        self.p = subprocess.Popen([sys.executable, HELPER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)

    def expect(self, word: str) -> str:
        """Block until the helper prints a line starting with ``word`` (a real event, no sleep)."""
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        if not line.startswith(word):
            err = self.p.stderr.read() if self.p.poll() is not None and self.p.stderr else ""
            raise AssertionError(f"helper said {line!r}, expected {word!r}; stderr: {err}")
        return line.strip()

    def send(self, line: str) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def finish(self, timeout: float = 20) -> tuple[int, str, str]:
        out, err = self.p.communicate(timeout=timeout)
        return self.p.returncode, out, err

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


@pytest.fixture
def helper():
    made: list[Helper] = []

    def start(*args: str) -> Helper:
        h = Helper(*args)
        made.append(h)
        return h

    yield start
    for h in made:
        h.kill()
        for f in (h.p.stdin, h.p.stdout, h.p.stderr):
            if f:
                f.close()
