# SPDX-License-Identifier: LGPL-2.1-or-later
"""pytest fixtures for the network recipes: a private pair of channel names (host A's, host B's) and leak checks."""

from __future__ import annotations

import glob
import itertools
import os
from typing import Iterator

import pytest

_counter = itertools.count()


@pytest.fixture
def channels(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """Two private channel names, the sending host's and the receiving host's; nothing may be left in /dev/shm."""
    base = "".join(c if c.isalnum() or c in "._-" else "-" for c in request.node.name)[:100]
    n = next(_counter)
    names = (f"net-{base}-{os.getpid()}-{n}-a", f"net-{base}-{os.getpid()}-{n}-b")
    yield names
    left = [p for name in names
            for p in glob.glob(f"/dev/shm/shmring.{name}") + glob.glob(f"/dev/shm/.shmring.{name}.*")]
    for p in left:
        os.unlink(p)
    assert not left, f"left in /dev/shm: {left}"
