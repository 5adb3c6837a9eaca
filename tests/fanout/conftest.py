# SPDX-License-Identifier: LGPL-2.1-or-later
"""conftest.py: the `channels` fixture: fanout channels whose processes are killed after the test."""

import pytest

from fanout_procs import Channel


@pytest.fixture
def channels():
    made = []
    yield lambda *a, **k: made.append(Channel(*a, **k)) or made[-1]
    for c in made:
        c.close()
