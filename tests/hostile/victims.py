# SPDX-License-Identifier: LGPL-2.1-or-later
"""The victims: each reader (C library, shmringsrc in gst-launch-1.0, the Python Reader) and each producer
(C library, shmringsink, the Python Writer) as a separate process, with what it used (wall and CPU time)."""

from __future__ import annotations

import itertools
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
BUILD = os.environ.get("HOSTILE_BUILD", "")
READERS = ("c", "gst", "py")
_counter = itertools.count()


def channel(tag: str) -> str:
    """A private channel name."""
    tag = "".join(c if c.isalnum() or c in "._-" else "-" for c in tag)[:60]
    return f"hostile-{tag}-{os.getpid()}-{next(_counter)}"


def have_gst() -> bool:
    return bool(os.environ.get("GST_PLUGIN_PATH_1_0")) and shutil.which("gst-launch-1.0") is not None


def exe(name: str) -> str:
    return os.path.join(BUILD, "tests", "hostile", name)


def reader_argv(kind: str, name: str, trust_uid: Optional[int] = None, extra: tuple[str, ...] = ()) -> list[str]:
    if kind == "c":
        return [exe("hostile_victim_reader"), name] + ([str(trust_uid)] if trust_uid is not None else [])
    if kind == "py":
        return [sys.executable, os.path.join(HERE, "victim_reader.py"), name] + (
            [str(trust_uid)] if trust_uid is not None else [])
    if kind == "gst":
        props = [f"timeout={int(os.environ.get('HOSTILE_ATTACH_MS', '5000')) * 1000000}"]
        props += [f"producer-user={trust_uid}"] if trust_uid is not None else []
        return ["gst-launch-1.0", "shmringsrc", f"channel={name}", *props, *extra, "!", "fakesink"]
    raise ValueError(kind)


@dataclass
class Ended:
    rc: int
    out: str
    wall: float
    cpu: float

    @property
    def frames(self) -> int:
        return sum(line.startswith("frame ") for line in self.out.splitlines())

    def check_no_spin(self) -> None:
        """A victim that spun would have burnt its wall time on a CPU."""
        assert self.cpu < 1.0 + 0.5 * self.wall, f"CPU {self.cpu:.2f} s in {self.wall:.2f} s: spinning?\n{self.out}"


def run(argv: list[str], timeout: float = 30.0, env: Optional[dict[str, str]] = None) -> Ended:
    """Run a victim to its end: it must end by itself (the timeout is a failure), without a signal."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                         env=env)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        raise AssertionError(f"{argv[0]} did not end within {timeout} s (a hang):\n{out}")
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert p.returncode >= 0, f"{argv[0]} ended by signal {-p.returncode}:\n{out}"
    return Ended(p.returncode, out, wall, cpu)


def proc_cpu(pid: int) -> float:
    """utime + stime of a running process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
