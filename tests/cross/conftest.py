# SPDX-License-Identifier: LGPL-2.1-or-later
"""pytest fixtures for the cross-language tests: private channel names and /dev/shm leak checks."""

from __future__ import annotations

import glob
import itertools
import os

import pytest

_counter = itertools.count()


@pytest.fixture
def channel(request: pytest.FixtureRequest):
    """A private channel name (test name + pid); fails the test if anything is left in /dev/shm."""
    base = "".join(c if c.isalnum() or c in "._-" else "-" for c in request.node.name)[:120]
    name = f"x-{base}-{os.getpid()}-{next(_counter)}"
    yield name
    left = glob.glob(f"/dev/shm/shmring.{name}") + glob.glob(f"/dev/shm/.shmring.{name}.*")
    for p in left:
        os.unlink(p)
    assert not left, f"left in /dev/shm: {left}"


def tool(var: str) -> str:
    path = os.environ.get(var, "")
    if not path or not os.path.exists(path):
        pytest.skip(f"{var} is not set to a built program")
    return path
