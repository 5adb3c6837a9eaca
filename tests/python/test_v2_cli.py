# SPDX-License-Identifier: LGPL-2.1-or-later
"""The shmring command on protocol 2 channels: ls and info through an observer, which takes no reader slot."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from shmring import _observe2 as O
from shmring import v2


def shmring(*args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "shmring", *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture
def writer():
    name = f"py-v2cli-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    w = v2.Writer(name, width=64, height=48, format="GRAY8", max_readers=1, policy="live")
    yield w
    w.close()


def test_ls_and_info_show_memory_and_readers(writer: v2.Writer) -> None:
    """ls lists the channel with its readers and memory (slots x size); info names each reader's pid."""
    with v2.Reader(writer.name, timeout=5.0) as r:
        end = time.monotonic() + 5
        while writer.readers < 1:
            assert time.monotonic() < end
            time.sleep(0.005)
        assert writer.write(np.full((48, 64), 7, np.uint8))
        line = next(ln for ln in shmring("ls").splitlines() if ln.startswith(writer.name + " "))
        assert "1/1" in line and f"{writer.n_slots} x 4096" in line and "GRAY8 64x48" in line and "live" in line
        info = shmring("info", writer.name)
        assert f"memory:         {writer.n_slots} slots x 4096 bytes = {writer.pool_size} bytes" in info
        assert f"pid {os.getpid()}" in info and "queued 1" in info
        assert "format=(string)GRAY8" in info
        # The observer took no reader slot: the only slot is still this reader's.
        c = O.inspect(writer.name)
        assert [x.pid for x in c.readers] == [os.getpid()] and c.frames_written == 1
        f = r.next_frame(timeout=5.0)
        assert f is not None and int(f.array[0, 0]) == 7
        f.release()


def test_closed_channel_is_gone_from_ls(writer: v2.Writer) -> None:
    assert writer.name in O.list_channels()
    writer.close()
    assert writer.name not in O.list_channels()
    assert writer.name not in shmring("ls")
