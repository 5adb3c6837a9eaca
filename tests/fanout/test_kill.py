# SPDX-License-Identifier: LGPL-2.1-or-later
"""SIGKILL at random moments, in every language: survivors go on, holds return within a second, nothing is left.

Readers (C, Python, shmringsrc) are killed while attaching, reading or
holding frames, beside an honest reader of a lossless producer; producers
(C and Python) are killed while creating, producing or closing, under readers. KILL_ROUNDS
scales the rounds (default 120 reader kills and 100 producer kills).
"""

import os
import random
import signal
import time

import pytest

from fanout_procs import GST, Channel, leftovers, observe

ROUNDS = int(os.environ.get("KILL_ROUNDS", "120"))
PRODUCER_ROUNDS = int(os.environ.get("KILL_PRODUCER_ROUNDS", "100"))


def _wait_gone(name, pid, limit_s):
    """Seconds until the producer no longer counts reader pid (fails past limit_s)."""
    start = time.monotonic()
    while True:
        seen = observe(name)
        assert seen is not None, f"channel {name} vanished"
        if pid not in seen["pids"]:
            return time.monotonic() - start
        if time.monotonic() - start > limit_s:
            pytest.fail(f"reader {pid} still attached {limit_s} s after SIGKILL: {seen}")
        time.sleep(0.005)


def test_readers_killed_at_random_moments(channels):
    """A lossless producer and an honest reader go on while readers of every kind are SIGKILLed."""
    rng = random.Random(os.getpid())
    ch = channels(0, "lossless", lo=64, hi=65536, queue=2, holds=2)
    honest = ch.reader("c")
    ch.producer.stdin.write("go 1\n")
    ch.producer.stdin.flush()
    slowest = 0.0
    cycle = ("c", "py", "gst") if GST else ("c", "py")
    kinds = dict.fromkeys(cycle, 0)
    for k in range(ROUNDS):
        kind = cycle[k % len(cycle)]
        holds = rng.choice((1, 2))
        # Some die attaching, some reading, some holding frames while asleep.
        proc = ch.reader(kind, holds=holds, sleep_ms=rng.choice((0, 0, 20, 200)), expect_ready=False)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kinds[kind] += 1
        slowest = max(slowest, _wait_gone(ch.name, proc.pid, 1.0))
    ch.producer.stdin.write("stop\n")
    ch.producer.stdin.flush()
    out, err = ch.producer.communicate(timeout=60)
    assert ch.producer.returncode == 0, err
    written = int(out.split('"written": ')[1].split(",")[0])
    out, err = honest.communicate(timeout=60)
    assert honest.returncode == 0, err
    assert f'"read": {written}, "missed": 0, "wrong": 0' in out, (written, out)
    assert leftovers(ch.name) == []
    print(f"{sum(kinds.values())} readers killed ({kinds}); {written} frames; slowest return {slowest:.3f} s")


def test_producers_killed_at_random_moments():
    """Producers SIGKILLed creating, producing or closing: readers learn it within a second; nothing remains."""
    rng = random.Random(os.getpid() + 1)
    name = f"t-kill-producer-{os.getpid()}"
    seen_died = 0
    slowest = 0.0
    for k in range(PRODUCER_ROUNDS):
        # A name free at once: a new producer binds it right after the last one died.
        ch = Channel(rng.choice((0, 300)), "live", lo=64, hi=4096, fps=0, name=name, producer=("c", "py")[k // 2 % 2])
        try:
            reader = ch.reader(("c", "py")[k % 2])
            ch.producer.stdin.write("go 1\n")
            ch.producer.stdin.flush()
            time.sleep(rng.uniform(0.0, 0.05))
            ch.producer.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            ch.producer.wait()
            out, err = reader.communicate(timeout=10)
            slowest = max(slowest, time.monotonic() - killed)
            # Died: the reader says so; a producer that got to close first ended the stream.
            if reader.returncode == 1:
                assert "died" in err, err
                seen_died += 1
            else:
                assert reader.returncode == 0 and '"wrong": 0' in out, (out, err)
            assert leftovers(name) == []
        finally:
            ch.close()
    assert slowest < 1.0, f"a reader took {slowest:.3f} s to learn its producer died"
    assert seen_died > PRODUCER_ROUNDS // 4
    print(f"{PRODUCER_ROUNDS} producers killed, {seen_died} mid-stream; slowest notice {slowest:.3f} s")
