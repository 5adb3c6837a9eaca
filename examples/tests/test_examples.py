# SPDX-License-Identifier: LGPL-2.1-or-later
"""The example programs do what the demo and the README say: run by ``meson test --suite examples``."""

from __future__ import annotations

import glob
import itertools
import os
import re
import select
import subprocess
import sys
import time
from typing import Iterator

import pytest

import shmring

HERE = os.path.dirname(os.path.abspath(__file__))
READER = os.path.join(HERE, "..", "reader.py")
ASYNC_PREVIEW = os.path.join(HERE, "..", "async_preview.py")
_counter = itertools.count()


def program(var: str) -> str:
    """The built example named by environment variable ``var`` (set by examples/meson.build)."""
    path = os.environ.get(var, "")
    if not path or not os.path.exists(path):
        pytest.skip(f"{var} does not name a built example")
    return path


@pytest.fixture
def channel(request: pytest.FixtureRequest) -> Iterator[str]:
    """A private channel name; fails the test if anything of it is left in /dev/shm."""
    name = f"ex-{request.node.name}-{os.getpid()}-{next(_counter)}"
    yield name
    left = glob.glob(f"/dev/shm/shmring.{name}") + glob.glob(f"/dev/shm/.shmring.{name}.*")
    for p in left:
        os.unlink(p)
    assert not left, f"left in /dev/shm: {left}"


def c_pair(name: str, frames: int) -> str:
    """demo_producer -> demo_consumer at 30 fps; the consumer's output."""
    consumer = subprocess.Popen([program("DEMO_CONSUMER"), name, "10"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    prod = subprocess.run([program("DEMO_PRODUCER"), name, str(frames), "30", "lossless"], capture_output=True,
                          text=True, timeout=30)
    out, err = consumer.communicate(timeout=30)
    assert prod.returncode == 0, prod.stderr
    assert consumer.returncode == 0, err
    assert f"frames intact {frames}, corrupt 0, missing 0" in out
    return out


def test_demo_consumer_latency_leaves_out_the_first_second(channel: str) -> None:
    # 90 frames at 30 fps last 3 s (a reader started late on a busy machine still reads for over a
    # second): the latency is that of the frames after the first second.
    out = c_pair(channel, 90)
    m = re.search(r"latency commit -> receipt, after the first second, (\d+) frames: p50", out)
    assert m, out
    assert 0 < int(m.group(1)) < 90


def test_demo_consumer_latency_of_a_short_run_says_it_includes_start_up(channel: str) -> None:
    out = c_pair(channel, 6)  # 0.2 s: nothing after the first second
    assert "latency commit -> receipt, all (start-up included), 6 frames: p50" in out, out


def py_reader(name: str, frames: int) -> str:
    """demo_producer -> examples/reader.py --verify at 30 fps; the reader's output."""
    reader = subprocess.Popen([sys.executable, READER, name, "--timeout", "10", "--frames", str(frames), "--verify"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    prod = subprocess.run([program("DEMO_PRODUCER"), name, str(frames), "30", "lossless"], capture_output=True,
                          text=True, timeout=30)
    out, err = reader.communicate(timeout=30)
    assert prod.returncode == 0, prod.stderr
    assert reader.returncode == 0, err
    assert f"frames {frames}, missing 0, intact {frames}, bad 0" in out, out
    return out


def test_reader_latency_of_a_short_run_says_it_includes_start_up(channel: str) -> None:
    out = py_reader(channel, 6)
    assert re.search(r"latency commit -> read, all \(start-up included\), 6 frames: p50 [\d.]+ us", out), out


def test_reader_latency_summary_leaves_out_the_first_second(channel: str) -> None:
    out = py_reader(channel, 90)  # 3 s, as for the C consumer
    m = re.search(r"latency commit -> read, after the first second, (\d+) frames: p50 [\d.]+ us, p99", out)
    assert m, out
    assert 0 < int(m.group(1)) < 90


def test_async_preview_reads_two_channels_in_one_loop(channel: str) -> None:
    """examples/async_preview.py: two C producers at 30 fps, both read whole in one asyncio loop, with a rate
    line per channel."""
    n = 60
    names = [channel + "-a", channel + "-b"]
    preview = subprocess.Popen([sys.executable, ASYNC_PREVIEW, *names, "--timeout", "10"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    prods = [subprocess.Popen([program("DEMO_PRODUCER"), x, str(n), "30", "lossless"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for x in names]
    for p in prods:
        _out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
    out, err = preview.communicate(timeout=30)
    assert preview.returncode == 0, err
    for x in names:
        assert f"{x}: frames {n}, missing 0 (end of stream)" in out, out
        rates = [float(m) for m in re.findall(rf"^ *{re.escape(x)} +([\d.]+) fps", out, re.M)]
        assert rates and max(rates) > 10, out  # 30 fps, a busy machine or the first second aside


def test_capture_wait_for_reader_keeps_every_frame_of_a_live_source(channel: str) -> None:
    # videotestsrc is-live=true: without --wait-for-reader the sink would keep only the newest frame
    # until a reader attaches, and never wait for one.
    n = 30
    cap = subprocess.Popen([program("CAPTURE"), channel, "--test-source", "--num-buffers", str(n),
                            "--policy", "lossless", "--wait-for-reader"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The sink says it waits for a reader before its first frame; a reader attached only then
        # gets every frame (frames published before a reader attached never reach it).
        assert cap.stdout is not None
        deadline = time.monotonic() + 20
        said = b""
        while b"capture: waiting for a reader" not in said:
            left = deadline - time.monotonic()
            assert left > 0 and select.select([cap.stdout], [], [], left)[0], f"never waited: {said!r}"
            chunk = os.read(cap.stdout.fileno(), 4096)  # unbuffered: select() sees what is left
            assert chunk, f"capture ended: {said!r} {cap.communicate()[1]}"
            said += chunk
        with shmring.Reader(channel, timeout=5) as reader:
            seqs = [f.seq for f in reader]
        out, err = cap.communicate(timeout=20)
    finally:
        if cap.poll() is None:
            cap.kill()
            cap.wait()
    assert cap.returncode == 0, err
    assert seqs == list(range(n))
