# SPDX-License-Identifier: LGPL-2.1-or-later
"""C library producer -> Python Reader, and Python Writer -> C library consumer, byte for byte."""

from __future__ import annotations

import glob
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

import shmring
from shmring._layout import LOCK_PRODUCER
from shmring._sys import lock_try
from shmring.testing import check_pattern, pattern
from conftest import tool

N = 60


@pytest.mark.parametrize("width,height", [(33, 7), (0, 5000), (640, 480)])
def test_c_writer_python_reader(channel: str, width: int, height: int) -> None:
    p = subprocess.Popen([tool("CROSS_WRITER"), channel, str(N), str(width), str(height)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        seqs = []
        with shmring.Reader(channel, timeout=10, frame_timeout=10) as rd:
            for f in rd:
                assert check_pattern(f.data, f.seq), f"frame {f.seq} damaged"
                assert f.pts == f.seq * 1000
                if width:
                    stride = (width * 3 + 3) & ~3
                    a = f.array
                    assert a.shape == (height, width, 3) and a.strides == (stride, 3, 1)
                    expect = pattern(f.seq, stride * height).reshape(height, stride)[:, : width * 3]
                    assert np.array_equal(a.reshape(height, width * 3), expect)
                    assert f.info.format == "BGR" and "width=(int)%d" % width in f.caps
                else:
                    assert f.size == height and f.caps == "application/x-test"
                seqs.append(f.seq)
            assert rd.end_reason == "eos"
        assert seqs == list(range(N))
        assert p.stdout.readline() == "done\n"
        out, err = p.communicate(timeout=20)
        assert p.returncode == 0, err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("fmt,width,height", [("BGR", 33, 7), ("", 0, 3000), ("BGR", 640, 480)])
def test_python_writer_c_reader(channel: str, fmt: str, width: int, height: int) -> None:
    if fmt:
        wr = shmring.Writer(channel, width=width, height=height, format=fmt, ring_size=1 << 20, timeout=10)
        size, stride = wr.stream.frame_size, wr.stream.plane_strides[0]
    else:
        wr = shmring.Writer(channel, caps="application/x-test", ring_size=1 << 20, timeout=10)
        size, stride = height, 0
    with wr:
        p = subprocess.Popen([tool("CROSS_READER"), channel, str(N), fmt, str(width), str(height if fmt else 0),
                              str(stride), str(size)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for seq in range(N):
                assert wr.write(pattern(seq, size), pts=seq * 1000)
            assert wr.eos()
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert p.returncode == 0, err
    assert f"ok {N}" in out


def test_c_producer_killed_while_creating_leaves_nothing(channel: str) -> None:
    # A file size limit below the segment's size: the C producer gets SIGXFSZ
    # from posix_fallocate, so it dies while building its segment, as a crash
    # there would.  Built unnamed (O_TMPFILE), the segment goes with it.
    limit = 64 << 10
    p = subprocess.Popen([tool("CROSS_WRITER"), channel, "1", "8", "8"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    _, err = p.communicate(timeout=30)
    assert p.returncode == -signal.SIGXFSZ, (p.returncode, err)
    assert glob.glob(f"/dev/shm/.shmring.{channel}.*") == [] and not os.path.exists(shmring.channel_path(channel))


def test_clean_removes_segment_of_producer_killed_while_creating_it(channel: str) -> None:
    # Where O_TMPFILE is unsupported a producer builds its segment under a
    # temporary name; one that died doing so (its pid gone) left that file.
    dead = subprocess.run([sys.executable, "-c", "import os; fd = os.open(f'/dev/shm/.shmring.%s.{os.getpid()}"
                           ".0000dead', os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600); print(os.getpid())" % channel],
                          capture_output=True, text=True, timeout=30, check=True)
    pid = int(dead.stdout)
    left = f"/dev/shm/.shmring.{channel}.{pid}.0000dead"
    assert os.path.exists(left)
    # Another one whose creator is alive (this process) stays, as does one
    # whose lock is held (its creator's fd passed on to a live process).
    alive = f"/dev/shm/.shmring.{channel}.{os.getpid()}.0000abcd"
    locked = f"/dev/shm/.shmring.{channel}.{pid}.0000beef"
    fds = [os.open(f, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600) for f in (alive, locked)]
    try:
        assert lock_try(fds[1], LOCK_PRODUCER)
        r = subprocess.run([sys.executable, "-m", "shmring", "clean", channel], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"removed an unfinished segment of {channel} ({left}) (producer pid {pid} died " \
                           "while creating it)\n"
        assert not os.path.exists(left) and os.path.exists(alive) and os.path.exists(locked)
    finally:
        for fd, f in zip(fds, (alive, locked)):
            os.close(fd)
            os.unlink(f)


def test_c_keep_newest_python_reader_gets_the_newest_frame(channel: str) -> None:
    """A C producer with KEEP_NEWEST and no reader never waits; a Python reader attaching gets its newest frame."""
    n, size = 400, 10000  # 4 MB through a 1 MiB ring with nobody reading
    p = subprocess.Popen([tool("CROSS_WRITER"), channel, str(n), "0", str(size), "keep-newest"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        assert p.stdout.readline() == "done\n", p.stderr.read()  # every frame and the EOS written
        with shmring.Reader(channel, timeout=5, frame_timeout=5) as rd:
            f = rd.next_frame()
            assert f.seq == n - 1 and check_pattern(f.data, n - 1)
            f.release()
            assert rd.next_frame() is None and rd.end_reason == "eos"
            assert rd.stats().frames_dropped == n - 1
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    assert p.returncode == 0
