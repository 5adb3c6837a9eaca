# SPDX-License-Identifier: LGPL-2.1-or-later
"""One producer, several readers in other processes (C, Python, shmringsrc), every frame checked.

The producer (fanout_producer.c) and every reader (fanout_reader.c,
fanout_reader.py, fanout_gst.py) are separate processes; each reader checks
every frame's size, bytes and sequence number and prints what it read,
missed and found wrong.  FANOUT_FRAMES scales the lossless run (default
100,000 frames).
"""

import os
import shutil
import sys

import pytest

from fanout_procs import FRAMES, GST


def test_lossless_four_readers_every_frame(channels):
    """Lossless: two C readers, a Python reader and a shmringsrc each get all frames, intact, in order."""
    ch = channels(FRAMES, "lossless", lo=8, hi=16384, queue=4)
    kinds = ("c", "c", "py", "gst" if GST else "py")
    for kind in kinds:
        ch.reader(kind)
    prod, results = ch.run()
    assert prod["written"] == FRAMES and prod["failed"] == 0
    for kind, r in zip(kinds, results):
        assert r == {"read": FRAMES, "missed": 0, "wrong": 0, "last": FRAMES - 1}, kind
    assert [d["dropped"] for d in prod["readers"]] == [0, 0, 0, 0]


def test_live_slow_reader_costs_the_others_nothing(channels):
    """Live at 30 fps: a reader holding its maximum and sleeping 0.5 s a frame loses only its own frames."""
    frames = 300
    ch = channels(frames, "live", lo=64, hi=65536, fps=30, queue=2, holds=2)
    slow = ch.reader("c", holds=2, sleep_ms=500)
    fast = [ch.reader(k) for k in ("c", "py", "gst" if GST else "py")]
    prod, results = ch.run()
    # The producer never had to wait: it reserves with a timeout of 0.
    assert prod["failed"] == 0 and prod["written"] == frames
    slow_r, fast_r = results[0], results[1:]
    assert slow_r["wrong"] == 0 and slow_r["read"] < frames // 4
    for proc, r in zip(fast, fast_r):
        lost = frames - r["read"]
        assert r["wrong"] == 0
        assert lost < frames / 100, f"{proc.kind} reader lost {lost} of {frames} frames"
    by_pid = {d["pid"]: d["dropped"] for d in prod["readers"]}
    assert by_pid[slow.pid_reported] > frames // 2


def test_lossless_recorder_beside_live_display(channels):
    """A lossless recorder gets every frame while a live display on the same channel stalls (Python producer)."""
    frames = min(FRAMES, 20000)
    ch = channels(frames, "lossless", lo=8, hi=4096, queue=4, producer="py")
    ch.reader("c")                                   # recorder: follows the lossless policy
    ch.reader("py", mode="live", holds=2, sleep_ms=50)  # display: live, slow, holding its maximum
    prod, (rec, disp) = ch.run()
    assert prod["written"] == frames and prod["failed"] == 0
    assert rec == {"read": frames, "missed": 0, "wrong": 0, "last": frames - 1}
    assert disp["wrong"] == 0 and disp["read"] < frames


def test_reader_over_the_limit_is_refused_naming_the_readers(channels):
    """max_readers=2: a third reader (C, then shmringsrc) is refused with the limit and the readers' pids."""
    ch = channels(10, "lossless", max_readers=2)
    a = ch.reader("c")
    b = ch.reader("py")
    for kind in ("c", "gst") if GST else ("c", "py"):
        extra = ch.reader(kind, expect_ready=False)
        out, err = extra.communicate(timeout=30)
        assert extra.returncode == 3, (out, err)
        assert "limit" in err and str(a.pid_reported) in err and str(b.pid_reported) in err, err
    prod, results = ch.run()
    assert all(r["read"] == 10 and r["wrong"] == 0 for r in results)


def _unshare(*flags):
    return ["unshare", *flags, "--fork", "--"]


needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                reason="new namespaces need root and unshare (util-linux)")


@needs_root
def test_reader_in_another_mount_namespace(channels):
    """A reader with its own empty /dev/shm (another mount namespace) reads the channel: no file is shared."""
    ch = channels(1000, "lossless")
    wrap = _unshare("--mount", "--propagation", "private") + [
        "sh", "-c", 'mount -t tmpfs none /dev/shm && exec "$@"', "sh"]
    ch.reader("c", wrap=wrap)
    ch.reader("c")
    prod, results = ch.run()
    for r in results:
        assert r == {"read": 1000, "missed": 0, "wrong": 0, "last": 999}


@needs_root
def test_reader_in_another_network_namespace_does_not_see_the_channel(channels):
    """Channel names live in the network namespace: a reader in a new one finds no channel."""
    ch = channels(10, "lossless")
    proc = ch.reader("c", wrap=_unshare("--net"), expect_ready=False)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "ready" not in out
    assert ch.name in err, err


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
