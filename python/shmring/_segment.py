# SPDX-License-Identifier: LGPL-2.1-or-later
"""A mapped shmring segment: identity checks, word access, descriptions, inspection.

Memory ordering: the Python side relies on x86-64 ordering (TSO), where every
aligned 4- or 8-byte load is an acquire and every aligned store a release
(see docs/PROTOCOL.md).  Words are read and written through
``memoryview.cast('Q')`` / ``cast('I')`` at aligned offsets, which compile to
single aligned loads and stores.  Python cannot issue a full barrier, so it
always calls FUTEX_WAKE after publishing or releasing.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import struct
from dataclasses import dataclass
from typing import Optional

from . import _layout as L
from . import _sys
from ._errors import ChannelNotFound, CorruptSegment, Error, ProtocolVersion
from ._video import StreamInfo, plane_geometry

__all__ = ["Segment", "Stats", "inspect", "list_channels"]

H = {k: v[0] for k, v in L.HEADER.items()}
# word indexes into the u64 / u32 views of the header
Q = {k: v[0] // 8 for k, v in L.HEADER.items() if v[1] == 8}
I = {k: v[0] // 4 for k, v in L.HEADER.items() if v[1] == 4}

_REC = struct.Struct(L.RECORD_STRUCT)
_DESC = struct.Struct(L.DESC_FIXED_STRUCT)
_IDENT = struct.Struct(L.IDENTITY_STRUCT)
_CAPS_OFF = L.DESC["caps"][0]


class Segment:
    """One mapping of /dev/shm/shmring.NAME (read-write or read-only)."""

    def __init__(self, name: str, fd: int, writable: bool) -> None:
        self.name = name
        self.fd = fd
        self.writable = writable
        st = os.fstat(fd)
        self.ino = (st.st_dev, st.st_ino)
        size = st.st_size
        if size < L.RING_OFFSET + L.MIN_RING_SIZE or size > L.RING_OFFSET + L.MAX_RING_SIZE:
            raise CorruptSegment(
                f"channel {name!r}: segment file is {size} bytes; expected "
                f"{L.RING_OFFSET + L.MIN_RING_SIZE}..{L.RING_OFFSET + L.MAX_RING_SIZE}")
        self.size = size
        access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
        self.mm: Optional[mmap.mmap] = mmap.mmap(fd, size, mmap.MAP_SHARED, access=access)
        hdr = memoryview(self.mm)[: L.RING_OFFSET]  # header and description slots
        self.hq = hdr.cast("Q")
        self.hi = hdr.cast("I")
        hdr.release()
        self.base = 0
        if writable:
            c = ctypes.c_char.from_buffer(self.mm)
            self.base = ctypes.addressof(c)
            del c
        self.ring_size = 0
        self.generation = 0
        self.policy = 0

    # --- identity ------------------------------------------------------
    def validate_identity(self) -> None:
        """Check the constant header line; raise CorruptSegment naming the bad field."""
        assert self.mm is not None
        (magic, version, header_size, segment_size, ring_offset, ring_size, generation,
         desc_offset, desc_slot_size, desc_slots, policy) = _IDENT.unpack_from(self.mm, 0)
        n = self.name

        def bad(field: str, value: int, want: str) -> CorruptSegment:
            return CorruptSegment(f"channel {n!r}: corrupt header: {field} = {value:#x}, expected {want}")

        if magic != L.MAGIC:
            raise bad("magic", magic, f"{L.MAGIC:#x}")
        if version != L.VERSION:
            raise ProtocolVersion(f"channel {n!r}: protocol version {version}, this package speaks {L.VERSION}")
        if header_size != L.HEADER_SIZE:
            raise bad("header_size", header_size, str(L.HEADER_SIZE))
        if ring_offset != L.RING_OFFSET:
            raise bad("ring_offset", ring_offset, str(L.RING_OFFSET))
        if ring_size % 4096 or not L.MIN_RING_SIZE <= ring_size <= L.MAX_RING_SIZE:
            raise bad("ring_size", ring_size, "a multiple of 4096 in 4 KiB..16 GiB")
        if segment_size != ring_offset + ring_size or segment_size != self.size:
            raise CorruptSegment(
                f"channel {n!r}: corrupt header: segment_size = {segment_size}, ring_offset + ring_size = "
                f"{ring_offset + ring_size}, file size = {self.size}")
        if desc_offset != L.DESC_OFFSET:
            raise bad("desc_offset", desc_offset, str(L.DESC_OFFSET))
        if desc_slot_size != L.DESC_SLOT_SIZE:
            raise bad("desc_slot_size", desc_slot_size, str(L.DESC_SLOT_SIZE))
        if desc_slots != L.DESC_SLOTS:
            raise bad("desc_slots", desc_slots, str(L.DESC_SLOTS))
        if policy > L.POLICY_LIVE:
            raise bad("policy", policy, "0, 1 or 2")
        for f in ("reserved0",):
            if self.hi[I[f]]:
                raise bad(f, self.hi[I[f]], "0")
        if self.hq[Q["reserved1"]]:
            raise bad("reserved1", self.hq[Q["reserved1"]], "0")
        if self.mm[192:L.HEADER_SIZE].count(0) != L.HEADER_SIZE - 192:
            raise CorruptSegment(f"channel {n!r}: corrupt header: reserved bytes 192..4095 are not zero")
        self.ring_size = ring_size
        self.generation = generation
        self.policy = policy

    # --- liveness ------------------------------------------------------
    def producer_alive(self) -> bool:
        return _sys.lock_is_held(self.fd, L.LOCK_PRODUCER)

    def reader_alive(self) -> bool:
        return _sys.lock_is_held(self.fd, L.LOCK_READER)

    # --- descriptions --------------------------------------------------
    def read_desc(self, d: int) -> StreamInfo:
        """Copy and validate the description with id ``d``."""
        assert self.mm is not None
        if d == 0:
            raise CorruptSegment(f"channel {self.name!r}: frame names description id 0")
        off = L.DESC_OFFSET + (d % L.DESC_SLOTS) * L.DESC_SLOT_SIZE
        (sid, caps_len, fmt, width, height, n_planes, fps_n, fps_d, _r0, frame_size, _r1,
         o0, o1, o2, o3, s0, s1, s2, s3) = _DESC.unpack_from(self.mm, off)
        if sid != d:
            raise CorruptSegment(f"channel {self.name!r}: description slot {d % L.DESC_SLOTS} holds id {sid}, "
                                 f"a frame names id {d}")
        if caps_len >= L.CAPS_MAX:
            raise CorruptSegment(f"channel {self.name!r}: description {d}: caps_len = {caps_len}, "
                                 f"limit {L.CAPS_MAX - 1}")
        raw = self.mm[off + _CAPS_OFF: off + _CAPS_OFF + caps_len + 1]
        if raw[-1] != 0:
            raise CorruptSegment(f"channel {self.name!r}: description {d}: caps not NUL-terminated at {caps_len}")
        if b"\0" not in fmt:
            raise CorruptSegment(f"channel {self.name!r}: description {d}: format is not NUL-terminated")
        if n_planes > L.MAX_PLANES:
            raise CorruptSegment(f"channel {self.name!r}: description {d}: n_planes = {n_planes}, "
                                 f"limit {L.MAX_PLANES}")
        offs = (o0, o1, o2, o3)[:n_planes]
        strides = (s0, s1, s2, s3)[:n_planes]
        if frame_size:
            for i in range(n_planes):
                if offs[i] + strides[i] > frame_size:
                    raise CorruptSegment(
                        f"channel {self.name!r}: description {d}: plane {i} offset {offs[i]} + stride "
                        f"{strides[i]} > frame_size {frame_size}")
        try:
            caps = raw[:-1].decode("utf-8")
            fmt_s = fmt.split(b"\0", 1)[0].decode("ascii")
        except UnicodeDecodeError as e:
            raise CorruptSegment(f"channel {self.name!r}: description {d}: undecodable text ({e})") from None
        info = StreamInfo(d, caps, fmt_s, width, height, fps_n, fps_d, frame_size, offs, strides)
        # The slot must not have changed while we copied it.
        if self.hi[off // 4] != d:
            raise CorruptSegment(f"channel {self.name!r}: description {d} changed while a frame names it")
        return info

    def record(self, pos: int) -> tuple[int, ...]:
        assert self.mm is not None
        return _REC.unpack_from(self.mm, L.RING_OFFSET + pos % self.ring_size)

    def close(self) -> bool:
        """Release views and unmap.  Returns False if user arrays still pin the mapping."""
        for v in (self.hq, self.hi):
            v.release()
        ok = True
        if self.mm is not None:
            try:
                self.mm.close()
            except BufferError:
                ok = False  # unmapped by the garbage collector once the last view goes
            self.mm = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        return ok


def open_segment(name: str, writable: bool) -> Segment:
    """Open and validate channel ``name``; ChannelNotFound if it does not exist."""
    path = _sys.channel_path(name)
    try:
        fd = os.open(path, (os.O_RDWR if writable else os.O_RDONLY) | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ChannelNotFound(f"no channel {name!r} ({path} does not exist)") from None
    except PermissionError:
        raise Error(f"channel {name!r}: permission denied opening {path}") from None
    try:
        seg = Segment(name, fd, writable)
    except BaseException:
        os.close(fd)
        raise
    try:
        seg.validate_identity()
    except BaseException:
        seg.close()
        raise
    return seg


@dataclass
class Stats:
    """A snapshot of a channel's counters and liveness (``shmring info``)."""

    name: str
    generation: int
    ring_size: int
    policy: str
    state: str
    write_pos: int
    read_pos: int
    frames_written: int
    frames_dropped: int
    frames_read: int
    frames_skipped: int
    lag_frames: int
    lag_bytes: int
    producer_pid: int
    producer_alive: bool
    reader_pid: int
    reader_alive: bool
    reader_attaches: int
    stream: Optional[StreamInfo]


def stats_of(seg: Segment) -> Stats:
    hq, hi = seg.hq, seg.hi
    w, r = hq[Q["write_pos"]], hq[Q["read_pos"]]
    written, dropped = hq[Q["frames_written"]], hq[Q["frames_dropped"]]
    read, skipped = hq[Q["frames_read"]], hq[Q["frames_skipped"]]
    reclaimed = dropped if seg.policy == L.POLICY_LIVE else 0
    lag = written - read - skipped - reclaimed
    state_v = hi[I["state"]]
    palive = seg.producer_alive()
    if state_v == L.STATE_CLOSED:
        state = "closed"
    elif state_v == L.STATE_OPEN:
        state = "open" if palive else "dead"
    else:
        state = f"invalid({state_v})"
    stream = None
    d = hi[I["desc_id"]]
    if d:
        try:
            stream = seg.read_desc(d)
        except CorruptSegment:
            stream = None
    return Stats(seg.name, seg.generation, seg.ring_size, L.POLICY_NAMES.get(seg.policy, "?"), state,
                 w, r, written, dropped, read, skipped, max(lag, 0), max(w - r, 0),
                 hi[I["producer_pid"]], palive, hi[I["reader_pid"]], seg.reader_alive(),
                 hi[I["reader_attaches"]], stream)


def inspect(name: str) -> Stats:
    """Read the counters of channel ``name`` without attaching (read-only mapping, no lock)."""
    seg = open_segment(name, writable=False)
    try:
        return stats_of(seg)
    finally:
        seg.close()


def remove_stale(name: str) -> bool:
    """Unlink channel ``name`` if no producer holds it (crashed); True if it was removed.

    A segment a live producer has just put in place is never removed.  A
    reader still attached keeps its mapping and is told the producer died.
    """
    return _unlink_unlocked(_sys.channel_path(_sys.check_name(name)))


def _unlink_unlocked(path: str) -> bool:
    """Unlink the segment file ``path`` if no producer holds its lock; True if it was removed.

    Takes the producer lock first, as a producer replacing a stale segment
    does, and checks that the name still refers to the file locked.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        if not _sys.lock_try(fd, L.LOCK_PRODUCER):
            return False  # a live producer
        try:
            mine, now = os.fstat(fd), os.stat(path)
        except FileNotFoundError:
            return False
        if (mine.st_dev, mine.st_ino) != (now.st_dev, now.st_ino):
            return False  # replaced meanwhile by a new producer
        os.unlink(path)
        return True
    finally:
        os.close(fd)  # drops the lock


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    return True


def remove_unfinished(names: Optional[list[str]] = None) -> list[tuple[str, int]]:
    """Unlink the temporary segments that producers died while building; (name, pid) of each.

    A producer builds its segment in ``TEMP_PREFIX + NAME.PID.RANDOM`` and links
    it into place; one killed before that leaves the file behind.  A file is
    removed only if its pid is gone and no producer holds its lock, so a
    producer building its segment right now is never touched.  ``names``:
    only these channels (default: all).
    """
    d, prefix = os.path.dirname(L.TEMP_PREFIX), os.path.basename(L.TEMP_PREFIX)
    try:
        entries = os.listdir(d)
    except FileNotFoundError:
        return []
    removed = []
    for e in sorted(entries):
        parts = e[len(prefix):].rsplit(".", 2) if e.startswith(prefix) else []
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
            continue
        name, pid = parts[0], int(parts[1])
        if (names is not None and name not in names) or _pid_alive(pid):
            continue
        try:
            if _unlink_unlocked(os.path.join(d, e)):
                removed.append((name, pid))
        except OSError:
            continue  # not ours to open or remove
    return removed


def list_channels() -> list[str]:
    """Names of the channels present in /dev/shm (sorted)."""
    prefix = os.path.basename(L.PATH_PREFIX)
    d = os.path.dirname(L.PATH_PREFIX)
    try:
        entries = os.listdir(d)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return []
        raise
    return sorted(e[len(prefix):] for e in entries if e.startswith(prefix) and len(e) > len(prefix))


def check_geometry(name: str, info: StreamInfo, size: int) -> Optional[list[tuple[int, int, int, int, str]]]:
    """Validate that every plane of ``info`` fits in a payload of ``size`` bytes."""
    if info.frame_size and size < info.frame_size:
        raise CorruptSegment(f"channel {name!r}: frame of {size} bytes, description says {info.frame_size}")
    geo = plane_geometry(info.format, info.width, info.height)
    if geo is None:
        return None
    if len(geo) != info.n_planes:
        raise CorruptSegment(f"channel {name!r}: format {info.format} has {len(geo)} planes, "
                             f"description says {info.n_planes}")
    for i, (rows, cols, comps, esize, _dt) in enumerate(geo):
        off, stride = info.plane_offsets[i], info.plane_strides[i]
        rowbytes = cols * comps * esize
        if stride < rowbytes:
            raise CorruptSegment(f"channel {name!r}: plane {i} stride {stride} < row of {rowbytes} bytes")
        if off + stride * rows > size:
            raise CorruptSegment(f"channel {name!r}: plane {i} offset {off} + stride {stride} x {rows} rows "
                                 f"> frame of {size} bytes")
    return geo
