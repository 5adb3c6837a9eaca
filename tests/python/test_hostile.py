# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile segments and a hostile /dev/shm: clear shmring errors, never a crash, a hang or a leftover file."""

from __future__ import annotations

import mmap
import os
import signal
import stat
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import shmring
from shmring import layout as L
from shmring._sys import lock_try
from conftest import in_private_shm


def _poke(name: str, field: str, value: int) -> None:
    """Store ``value`` in header ``field`` of channel ``name``, as a buggy or hostile peer would."""
    off, size = L.HEADER[field]
    fd = os.open(shmring.channel_path(name), os.O_RDWR)
    try:
        with mmap.mmap(fd, L.RING_OFFSET) as m:
            struct.pack_into("<Q" if size == 8 else "<I", m, off, value)
    finally:
        os.close(fd)


def test_reader_unaligned_read_pos_near_ring_end(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", ring_size=8192) as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        wr.write(b"x" * 100)
        R = 8192
        _poke(channel, "read_pos", R - 3)  # a header there would run 61 bytes past the mapping
        _poke(channel, "write_pos", R + 61)
        with pytest.raises(shmring.CorruptSegment, match=f"read_pos = {R - 3} is not a 64-byte aligned"):
            rd.next_frame(timeout=1)


def test_live_writer_unaligned_read_pos_near_ring_end(channel: str) -> None:
    R = 8192
    with shmring.Writer(channel, caps="application/x-test", ring_size=R, policy="live") as wr:
        for _ in range(2 * R // 64 - 1):  # empty frames, 64-byte records: write_pos = 2R - 64
            assert wr.write(b"")
        _poke(channel, "read_pos", R - 3)  # the producer reclaims from there to make room
        with pytest.raises(shmring.CorruptSegment, match=f"read_pos = {R - 3} is not a 64-byte aligned"):
            wr.write(b"")


def test_segment_complete_with_its_mode_whenever_visible(channel: str) -> None:
    """Mode applied last, and nothing visible before the segment is complete (no window to truncate it)."""
    ring = 256 << 20  # allocating takes long enough to be seen
    code = (f"import shmring, sys; w = shmring.Writer({channel!r}, caps='x', ring_size={ring}, mode=0o666); "
            f"print('ready', flush=True); sys.stdin.read(); w.close()")
    seen: list[tuple[str, int, int, int]] = []
    done = threading.Event()

    def scan() -> None:
        for e in os.scandir("/dev/shm"):
            if channel in e.name:
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                seen.append((e.name, stat.S_IMODE(st.st_mode), st.st_size, st.st_blocks * 512))

    def watch() -> None:
        while not done.is_set():
            scan()

    t = threading.Thread(target=watch)
    t.start()
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        scan()  # now in place
    finally:
        done.set()
        t.join()
        p.communicate("", timeout=30)
    size = L.RING_OFFSET + ring
    assert (f"shmring.{channel}", 0o666, size, size) in seen
    bad = {s for s in seen if s[1:] != (0o666, size, size)}
    assert not bad, f"seen before complete: {sorted(bad)[:3]}"


def test_producer_killed_while_allocating_leaves_nothing(channel: str) -> None:
    # A file size limit below the segment's size, and SIGXFSZ's default action:
    # the kernel kills the Writer in posix_fallocate, as a kill while a large
    # ring is being allocated would.  Built unnamed, the segment dies with it.
    code = ("import resource, signal, shmring; signal.signal(signal.SIGXFSZ, signal.SIG_DFL); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16)); "
            f"shmring.Writer({channel!r}, caps='x', ring_size=1 << 20)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert r.returncode == -signal.SIGXFSZ, (r.returncode, r.stderr)
    assert [e for e in os.listdir("/dev/shm") if channel in e] == []


def test_out_of_inodes_is_a_shmring_error() -> None:
    script = r"""
import shmring
try:
    shmring.Writer("cam", caps="x", ring_size=4096)
except shmring.Error as e:
    print(type(e).__name__, isinstance(e, OSError), e.errno, e)
"""
    r = in_private_shm(script, "nr_inodes=1,size=1m")  # the root directory takes the only inode
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("NoSpace True 28 channel 'cam': no room for a segment of 40960 bytes: /dev/shm has")
    assert "0 of 1 inodes free" in r.stdout and "Traceback" not in r.stderr


def test_out_of_space_is_a_shmring_error() -> None:
    script = r"""
import os, shmring
try:
    shmring.Writer("cam", caps="x", ring_size=1 << 20)
except shmring.Error as e:
    print(type(e).__name__, e.errno, e, sorted(os.listdir("/dev/shm")))
"""
    r = in_private_shm(script, "size=64k")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("NoSpace 28 channel 'cam': no room for a segment of 1085440 bytes")
    assert r.stdout.endswith(" []\n")  # nothing left behind


def test_sparse_segment_refused_at_attach(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", ring_size=1 << 20):
        with open(shmring.channel_path(channel), "rb") as f:
            head = f.read(L.RING_OFFSET)
        size = os.stat(shmring.channel_path(channel)).st_size
    sparse = channel + "-sparse"
    fd = os.open(shmring.channel_path(sparse), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)  # a hole where the ring should be: touching it would raise SIGBUS when full
        os.pwrite(fd, head, 0)
        assert lock_try(fd, L.LOCK_PRODUCER)  # looks like a live producer's
        with pytest.raises(shmring.CorruptSegment, match=f"segment is sparse: {L.RING_OFFSET} of {size} bytes"):
            shmring.Reader(sparse, timeout=0)
    finally:
        os.close(fd)
        os.unlink(shmring.channel_path(sparse))


def test_fifo_does_not_hang(channel: str) -> None:
    path = shmring.channel_path(channel)
    os.mkfifo(path, 0o600)
    try:
        with pytest.raises(shmring.CorruptSegment, match="is a FIFO, not a shmring segment"):
            shmring.Reader(channel, timeout=0)
        with pytest.raises(shmring.CorruptSegment, match="is a FIFO, not a shmring segment"):
            shmring.Writer(channel, caps="x", ring_size=4096)
        for args in (["info", channel], ["clean", channel], ["ls"]):
            r = subprocess.run([sys.executable, "-m", "shmring", *args], capture_output=True, text=True, timeout=20)
            out = r.stdout + r.stderr
            assert f"{path} is a FIFO, not a shmring segment" in out and "Traceback" not in out, (args, out)
            assert r.returncode == (0 if args == ["ls"] else 1)
        assert stat.S_ISFIFO(os.lstat(path).st_mode)  # clean leaves what is not a segment alone
    finally:
        os.unlink(path)


def test_symlink_not_followed(channel: str, tmp_path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(b"\0" * 100)
    os.symlink(target, shmring.channel_path(channel))
    try:
        with pytest.raises(shmring.Error, match="is a symbolic link, not a shmring segment"):
            shmring.Reader(channel, timeout=0)
    finally:
        os.unlink(shmring.channel_path(channel))


def test_invalid_state_with_live_producer_is_corrupt(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", ring_size=8192):
        _poke(channel, "state", 7)
        t0 = time.monotonic()
        with pytest.raises(shmring.CorruptSegment, match="state = 7 with a live producer"):
            shmring.Reader(channel, timeout=5, frame_timeout=5)
        assert time.monotonic() - t0 < 5  # said at once, not after waiting
        r = subprocess.run([sys.executable, "-m", "shmring", "info", channel, "--measure", "0"],
                           capture_output=True, text=True, timeout=20)
        assert "state:          corrupt(state=7)" in r.stdout


def test_plane_past_frame_end_is_corrupt(channel: str) -> None:
    """A description whose last plane (all its rows) runs past frame_size is refused, not read past."""
    with shmring.Writer(channel, width=8, height=8, format="I420") as wr, shmring.Reader(channel, timeout=1) as rd:
        wr.write(np.zeros(wr.stream.frame_size, np.uint8))
        slot = L.DESC_OFFSET + (wr.stream.desc_id % L.DESC_SLOTS) * L.DESC_SLOT_SIZE
        fd = os.open(shmring.channel_path(channel), os.O_RDWR)
        try:
            with mmap.mmap(fd, L.RING_OFFSET) as m:
                # plane 2 (V, 4 rows of stride 4) moved so that its first row fits, its last does not
                struct.pack_into("<Q", m, slot + L.DESC["plane_offset"][0] + 16, wr.stream.frame_size - 4)
        finally:
            os.close(fd)
        with pytest.raises(shmring.CorruptSegment, match="plane 2 offset 92 \\+ stride 4 x 4 rows > frame_size 96"):
            rd.next_frame(timeout=1)
