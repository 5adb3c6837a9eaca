# SPDX-License-Identifier: LGPL-2.1-or-later
"""Protocol 2 channels seen from outside: list them, and read a channel's counters as an observer.

An observer connects like a reader but asks for no reader slot (HELLO role
2): the producer sends the pool alone, which the observer checks (seals,
size, identity) and maps read-only for one look.  It never counts against
the reader limit and holds nothing.
"""

from __future__ import annotations

import mmap
import os
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Optional

from . import _atomic as A
from . import _layout as L
from . import v2 as P
from ._errors import CorruptSegment, Timeout
from ._video import StreamInfo

__all__ = ["list_channels", "inspect", "ChannelInfo", "ReaderInfo"]

_ROLE_OBSERVER = 2
_FRAMES_WRITTEN, _NEXT_SEQ, _PRODUCER_PID, _READERS = 136, 144, 156, 168


@dataclass
class ReaderInfo:
    """One reader as the producer publishes it in the pool's reader lines."""
    index: int
    pid: int
    uid: int
    live: bool
    holds: int
    frames_queued: int
    frames_dropped: int
    lag: int


@dataclass
class ChannelInfo:
    """A protocol 2 channel's identity, counters and readers, from one look at its pool."""
    name: str
    policy: str
    state: str
    producer_pid: int
    generation: int
    n_slots: int
    slot_size: int
    pool_size: int
    max_readers: int
    queue_len: int
    max_holds: int
    frames_written: int
    eos: bool
    stream: Optional[StreamInfo]
    readers: list[ReaderInfo] = field(default_factory=list)


def list_channels() -> list[str]:
    """Names of the protocol 2 channels of this network namespace (sorted), from /proc/net/unix."""
    prefix = "@" + P.SOCKET_PREFIX
    names = set()
    try:
        with open("/proc/net/unix") as f:
            next(f, None)
            for line in f:
                parts = line.split()
                # Listening sockets only (state 01 = unconnected, flags 00010000 = __SO_ACCEPTCON).
                if len(parts) >= 8 and parts[-1].startswith(prefix) and parts[3] == "00010000":
                    names.add(parts[-1][len(prefix):])
    except OSError:
        return []
    return sorted(names)


def inspect(name: str, timeout: float = 2.0) -> ChannelInfo:
    """One look at channel ``name`` as an observer.  Raises ChannelNotFound, Timeout, CorruptSegment."""
    s = P._connect(name, time.monotonic() + timeout)
    fds: list[int] = []
    try:
        s.send(P._HELLO.pack(P.MSG_HELLO, P._HELLO.size, P.VERSION, _ROLE_OBSERVER, 0, 0, 0))
        if not select.select([s], [], [], timeout)[0]:
            raise Timeout(f"channel {name!r}: the producer did not answer within {timeout:.0f} s")
        msg, fds, flags, _addr = socket.recv_fds(s, P._REFUSED_SIZE, 1)
        refused = P._refused(msg)
        if refused is not None and not fds:
            raise refused
        if len(msg) != P._WELCOME.size or len(fds) != 1 or flags & socket.MSG_CTRUNC:
            raise CorruptSegment(f"channel {name!r}: the producer answered an observer with an invalid message")
        fsize = P._check_memfd(name, fds[0], P.POOL_SEALS, 0, "pool")
        ident = P._Identity(name, os.pread(fds[0], P.HEADER_SIZE, 0), fsize)
        rom = mmap.mmap(fds[0], ident.pool_size, mmap.MAP_SHARED, mmap.PROT_READ)
    finally:
        for fd in fds:
            os.close(fd)
        s.close()
    base, keep = A.addr_of(rom)
    try:
        return _read(name, ident, rom, base)
    finally:
        del keep
        rom.close()


def _read(name: str, ident: "P._Identity", rom: mmap.mmap, base: int) -> ChannelInfo:
    state = A.load_acquire_32(base + P._STATE)
    d = A.load_acquire_32(base + P._DESC_ID)
    stream = None
    if d:
        try:
            stream = P.read_desc(name, rom, base, d)
        except CorruptSegment:
            stream = None  # being rewritten: the next look has it
    readers = []
    for i in range(ident.max_readers):
        line = base + P.READER_LINES_OFFSET + 64 * i
        pid = A.load_acquire_32(line)
        if not pid:
            continue
        readers.append(ReaderInfo(i, pid, A.load_acquire_32(line + 4), A.load_acquire_32(line + 8) == P.MODE_LIVE,
                                  A.load_acquire_32(line + 12), A.load_acquire_64(line + 16),
                                  A.load_acquire_64(line + 24), A.load_acquire_32(line + 32)))
    return ChannelInfo(name, L.POLICY_NAMES.get(ident.policy, str(ident.policy)),
                       {P.STATE_OPEN: "open", P.STATE_CLOSED: "closed"}.get(state, f"state {state}"),
                       A.load_acquire_32(base + _PRODUCER_PID), ident.generation, ident.n_slots, ident.slot_size,
                       ident.pool_size, ident.max_readers, ident.queue_len, ident.max_holds,
                       A.load_acquire_64(base + _FRAMES_WRITTEN), bool(A.load_acquire_32(base + P._EOS)),
                       stream, readers)
