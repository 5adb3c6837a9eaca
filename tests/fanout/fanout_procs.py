# SPDX-License-Identifier: LGPL-2.1-or-later
"""fanout_procs.py: the fanout producer and readers as processes, for test_fanout.py and test_kill.py."""

import json
import os
import select
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PRODUCER = os.environ.get("FANOUT_PRODUCER", "")
C_READER = os.environ.get("FANOUT_READER", "")
OBSERVE = os.environ.get("FANOUT_OBSERVE", "")
PY = "/usr/bin/python3"
FRAMES = int(os.environ.get("FANOUT_FRAMES", "100000"))
# shmringsrc joins as a reader when the plugin was built.
GST = os.environ.get("FANOUT_GST") == "1"


def _line(proc, what, deadline_s=20.0):
    """The next line proc prints on stdout, waiting at most deadline_s."""
    end = time.monotonic() + deadline_s
    while True:
        left = end - time.monotonic()
        if left <= 0:
            proc.kill()
            pytest.fail(f"{what}: nothing printed within {deadline_s} s")
        r, _, _ = select.select([proc.stdout], [], [], left)
        if r:
            line = proc.stdout.readline()
            if not line:
                err = proc.stderr.read() if proc.stderr else ""
                pytest.fail(f"{what} ended without a line (exit {proc.wait()}): {err}")
            return line.strip()


class Channel:
    """A fanout producer and its readers, all separate processes."""

    def __init__(self, frames, policy, lo=8, hi=16384, fps=0, max_readers=4, queue=2, holds=2, name=None,
                 producer="c"):
        self.name = name or f"t-fanout-{os.getpid()}-{time.monotonic_ns() % 1000000}"
        self.lo, self.hi, self.frames = lo, hi, frames
        self.readers = []
        prog = [PRODUCER] if producer == "c" else [PY, os.path.join(HERE, "fanout_writer.py")]
        self.producer = subprocess.Popen(
            prog + [self.name, str(frames), policy, str(lo), str(hi), str(fps), str(max_readers),
             str(queue), str(holds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert _line(self.producer, "producer") == "ready"

    def reader(self, kind, mode="channel", holds=0, sleep_ms=0, wrap=(), expect_ready=True):
        prog = {"c": [C_READER], "py": [PY, os.path.join(HERE, "fanout_reader.py")],
                "gst": [PY, os.path.join(HERE, "fanout_gst.py")]}[kind]
        proc = subprocess.Popen(list(wrap) + prog + [self.name, str(self.lo), str(self.hi), mode, str(holds),
                                                      str(sleep_ms)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc.kind = kind
        if expect_ready:
            line = _line(proc, f"{kind} reader")
            assert line.startswith("ready "), line
            proc.pid_reported = int(line.split()[1])
            self.readers.append(proc)
        return proc

    def run(self, timeout=240):
        """Start publishing once every reader is attached; the producer's and each reader's results."""
        self.producer.stdin.write(f"go {len(self.readers)}\n")
        self.producer.stdin.flush()
        out, err = self.producer.communicate(timeout=timeout)
        assert self.producer.returncode == 0, err
        prod = json.loads(out.strip().splitlines()[-1])
        results = []
        for r in self.readers:
            out, err = r.communicate(timeout=timeout)
            assert r.returncode == 0, f"{r.kind} reader failed: {err}"
            results.append(json.loads(out.strip().splitlines()[-1]))
        return prod, results

    def close(self):
        for p in self.readers + [self.producer]:
            if p.poll() is None:
                p.kill()
                p.wait()



def observe(name):
    """The channel's readers as its producer sees them ({"readers": N, "pids": [...]}), or None if no channel."""
    r = subprocess.run([OBSERVE, name], capture_output=True, text=True, timeout=10)
    return json.loads(r.stdout) if r.returncode == 0 else None


def leftovers(name):
    """What of channel name exists on disk or in /proc/net/unix (nothing, once its processes are gone)."""
    found = [f"/dev/shm/{f}" for f in os.listdir("/dev/shm") if name in f]
    with open("/proc/net/unix") as f:
        found += [line.split()[-1] for line in f if line.rstrip().endswith("@shmring/" + name)]
    return found
