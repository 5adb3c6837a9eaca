# SPDX-License-Identifier: LGPL-2.1-or-later
"""The memory a channel takes: its processes' PSS and RSS, and the shared memory they hold.

The benchmarks sample a run's processes with :class:`Sampler` (a thread,
every PROCMEM_INTERVAL seconds, 0.05 by default) and report the largest
sample from one second on. What is counted, from /proc (Linux):

- PSS and RSS of every process of the channel (``/proc/PID/smaps_rollup``):
  PSS splits a page among the processes that map it, so the PSS of all a
  channel's processes counts the shared frames once; it also counts each
  process's own heap and libraries (GStreamer's, the same for every
  transport);
- the shared memory the processes hold: every memfd or ``/dev/shm`` file
  that one of them has open or mapped, each counted once (by inode), as
  its size and as the pages allocated to it (``st_blocks``), whether or
  not a process maps them at that moment.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

INTERVAL = float(os.environ.get("PROCMEM_INTERVAL", "0.05"))


@dataclass
class Sample:
    t: float = 0.0           # seconds since the sampler started
    pss: int = 0             # bytes, all processes
    rss: int = 0
    shm_size: int = 0        # bytes of shared memory objects held (their sizes)
    shm_allocated: int = 0   # the pages allocated to them


def _rollup(pid: int) -> tuple[int, int]:
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return pss, rss


def _shared(name: str) -> bool:
    return name.startswith("/memfd:") or name.startswith("/dev/shm/")


def shm_objects(pids: Iterable[int]) -> dict[tuple[int, int], tuple[int, int]]:
    """(dev, inode) -> (size, allocated bytes) of the shared memory the processes hold."""
    objs: dict[tuple[int, int], tuple[int, int]] = {}
    for pid in pids:
        paths: list[str] = []
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                p = f"/proc/{pid}/fd/{fd}"
                try:
                    if _shared(os.readlink(p)):
                        paths.append(p)
                except OSError:
                    pass
            with open(f"/proc/{pid}/maps") as f:
                for line in f:
                    parts = line.split(None, 5)
                    if len(parts) == 6 and _shared(parts[5].strip()):
                        paths.append(f"/proc/{pid}/map_files/{parts[0]}")
        except OSError:
            continue
        for p in paths:
            try:
                st = os.stat(p)
            except OSError:
                continue
            objs[(st.st_dev, st.st_ino)] = (st.st_size, st.st_blocks * 512)
    return objs


@dataclass
class Sampler:
    """Samples the processes pids() names until stopped; keeps every sample."""
    pids: Callable[[], list[int]]
    interval: float = INTERVAL
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: Optional[threading.Thread] = None

    def __enter__(self) -> "Sampler":
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> Sample:
        pids = [p for p in self.pids() if p > 0]
        s = Sample(t=time.monotonic() - self._t0)
        for pid in pids:
            pss, rss = _rollup(pid)
            s.pss += pss
            s.rss += rss
        for size, allocated in shm_objects(pids).values():
            s.shm_size += size
            s.shm_allocated += allocated
        self.samples.append(s)
        return s

    def peak(self, after: float = 1.0) -> Sample:
        """The largest value of each field over the samples from after seconds on (start-up left out:
        a shmring channel's pool is allocated whole at creation and its pages given back right after),
        or over all samples if none is that late; an empty sample if none at all."""
        late = [s for s in self.samples if s.t >= after] or self.samples
        if not late:
            return Sample()
        return Sample(t=max(s.t for s in late), pss=max(s.pss for s in late), rss=max(s.rss for s in late),
                      shm_size=max(s.shm_size for s in late), shm_allocated=max(s.shm_allocated for s in late))

    def at(self, t: float) -> Sample:
        """The first sample at or after t seconds (the last one if none)."""
        return next((s for s in self.samples if s.t >= t), self.samples[-1] if self.samples else Sample())
