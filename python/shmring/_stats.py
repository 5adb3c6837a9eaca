# SPDX-License-Identifier: LGPL-2.1-or-later
"""Channel counters (what ``shmring info`` and ``top`` show) and the list of channels."""

from __future__ import annotations

import errno
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from . import _layout as L
from . import _sys
from ._errors import ChannelOSError, Error
from ._video import StreamInfo

__all__ = ["Stats", "ReaderStats", "stats_of", "list_channels"]

_PRODUCER = struct.Struct("<IIQQIIIII")  # pool bytes 128..171: the producer line
_U64 = struct.Struct("<Q")


@dataclass(frozen=True)
class ReaderStats:
    """One reader of a channel, as the producer counts it.

    Attributes:
        index: its index in the channel (0 .. max_readers - 1).
        pid: its process id.
        uid: its user id.
        mode: "channel" (follows the channel's policy) or "live".
        holds: frames it may hold at once.
        frames_queued: frames pushed into its queue.
        frames_dropped: frames it did not get (queue full) or lost (pushed out by live).
        lag: entries in its queue at the last commit.
        stalled: True while a lossless reader is live because it held the producer back longer than the
            producer's stall timeout (until its queue is empty again).
    """

    index: int
    pid: int
    uid: int
    mode: str  # "channel" (follows the policy) or "live"
    holds: int  # most frames it may hold at once
    frames_queued: int  # frames pushed into its queue
    frames_dropped: int  # frames it did not get (queue full) or lost (pushed out)
    lag: int  # entries in its queue at the last commit
    stalled: bool = False  # made live by the stall timeout, until it catches up


@dataclass(frozen=True)
class Stats:
    """A snapshot of a channel's counters (informative: they move while read).

    Attributes:
        name: the channel name.
        producer_pid: the producer's process id.
        state: "open" or "closed".
        eos: True once the producer sent end of stream.
        policy: "lossless", "drop-new" or "live".
        n_slots: slots in the pool.
        slot_size: bytes per slot (the largest frame).
        pool_size: bytes of the pool: the most memory the channel uses.
        producer_uid: the uid of the process serving the channel's name (from the socket, not the pool).
        resident: bytes of the pool in memory now (slots are allocated as they are first written, lowest
            first, so this follows what the readers hold); None where it could not be measured.
        max_readers: readers the channel admits at once.
        queue_len: frames queued per reader.
        max_holds: frames a reader may hold at once.
        frames_written: frames the producer published.
        next_seq: sequence number of the next frame.
        frames_lost: frames lost before this channel: numbers its producer skipped because the frames
            never reached it (a network receiver republishing another channel's numbered frames).
        generation: differs for every producer start.
        producer_waiting: True while the producer waits for a lossless reader to take a frame.
        readers: a ReaderStats per attached reader.
        stream: the stream description in force, or None.
        sampled: when the counters were read (time.monotonic()): rates are taken between two samples' times.
    """

    name: str
    producer_pid: int
    state: str  # "open" or "closed"
    eos: bool
    policy: str
    n_slots: int
    slot_size: int
    pool_size: int
    max_readers: int
    queue_len: int
    max_holds: int
    frames_written: int
    next_seq: int
    generation: int
    producer_waiting: bool = False
    frames_lost: int = 0
    readers: list[ReaderStats] = field(default_factory=list)
    stream: Optional[StreamInfo] = None
    resident: Optional[int] = None
    producer_uid: Optional[int] = None
    sampled: float = field(default_factory=time.monotonic)

    @property
    def memory(self) -> int:
        """Bytes of the pool (slots x slot size plus headers)."""
        return self.pool_size


def stats_of(name: str, pool: Any, stream: Optional[StreamInfo], resident: Optional[int] = None) -> Stats:
    """The counters of a pool mapping whose identity was validated (resident: its memfd's allocated bytes)."""
    ident = L.IDENTITY.unpack_from(pool, 0)
    (_magic, _v, _hs, pool_size, _sto, _po, slot_size, generation, n_slots, max_readers, queue_len, max_holds,
     _mr, policy) = ident[:14]
    (_cs, state, frames_written, next_seq, _desc, producer_pid, waiting, eos, _n) = _PRODUCER.unpack_from(pool, 128)
    frames_lost = _U64.unpack_from(pool, L.POOL["frames_lost"][0])[0]
    readers = []
    for i in range(max_readers):
        pid, uid, mode, holds, queued, dropped, lag, flags = L.READER_LINE_STRUCT.unpack_from(
            pool, L.READER_LINES_OFFSET + i * L.READER_LINE_SIZE)
        if pid:
            readers.append(ReaderStats(i, pid, uid, L.MODE_NAMES.get(mode, f"mode {mode}"), holds, queued, dropped,
                                       lag, bool(flags & L.READER_STALLED)))
    return Stats(name, producer_pid, {L.STATE_OPEN: "open", L.STATE_CLOSED: "closed"}.get(state, f"state {state}"),
                 bool(eos), L.POLICY_NAMES.get(policy, f"policy {policy}"), n_slots, slot_size, pool_size,
                 max_readers, queue_len, max_holds, frames_written, next_seq, generation, bool(waiting), frames_lost,
                 readers, stream, resident)


def list_channels() -> list[str]:
    """Names of the channels with a producer listening (``@shmring/NAME`` in /proc/net/unix), sorted."""
    prefix = "@" + L.SOCKET_PREFIX
    names = set()
    try:
        with open("/proc/net/unix", encoding="utf-8", errors="replace") as f:
            next(f, None)
            for line in f:
                # Num RefCount Protocol Flags Type St Inode Path; a listener has
                # __SO_ACCEPTCON (0x10000) in Flags and state 01 (unconnected).
                # Any user can bind any abstract name, newlines and fake lines
                # included: a line that does not parse, or a name that is not a
                # valid channel name, is nobody's channel.
                parts = line.rstrip("\n").split(None, 7)
                if len(parts) < 8 or not parts[7].startswith(prefix):
                    continue
                try:
                    listening = int(parts[3], 16) & 0x10000
                except ValueError:
                    continue
                name = parts[7][len(prefix):]
                if listening and _valid_name(name):
                    names.add(name)
    except OSError as e:
        raise ChannelOSError("cannot list the channels: /proc/net/unix: %s" % (e.strerror or e),
                             e.errno or errno.EIO) from e
    return sorted(names)


def _valid_name(name: str) -> bool:
    try:
        _sys.check_name(name)
    except Error:
        return False
    return True
