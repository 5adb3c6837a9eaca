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
import difflib
import errno
import grp
import mmap
import os
import pwd
import stat
import struct
from dataclasses import dataclass
from typing import Optional

from . import _layout as L
from . import _sys
from ._errors import (ChannelNotFound, ChannelOSError, CorruptSegment, InvalidName, PermissionDenied,
                      ProtocolVersion)
from ._video import TILED, VSUB, StreamInfo, plane_geometry, plane_rows

__all__ = ["Segment", "Stats", "inspect", "list_channels", "missing_channel", "open_flags", "os_error",
           "check_regular"]

H = {k: v[0] for k, v in L.HEADER.items()}
# word indexes into the u64 / u32 views of the header
Q = {k: v[0] // 8 for k, v in L.HEADER.items() if v[1] == 8}
I = {k: v[0] // 4 for k, v in L.HEADER.items() if v[1] == 4}

_REC = struct.Struct(L.RECORD_STRUCT)
_DESC = struct.Struct(L.DESC_FIXED_STRUCT)
_IDENT = struct.Struct(L.IDENTITY_STRUCT)
_CAPS_OFF = L.DESC["caps"][0]


def open_flags(writable: bool) -> int:
    """Flags to open an existing segment: never follows a symlink, never blocks on a FIFO."""
    return (os.O_RDWR if writable else os.O_RDONLY) | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISLNK, "a symbolic link"))


def check_regular(name: str, path: str, st: os.stat_result) -> None:
    """Raise CorruptSegment unless ``st`` is a regular file (a FIFO would hang a reader)."""
    if stat.S_ISREG(st.st_mode):
        return
    kind = next((k for test, k in _KINDS if test(st.st_mode)), "not a regular file")
    raise CorruptSegment(f"channel {name!r}: {path} is {kind}, not a shmring segment; remove it "
                         f"(rm {path}) if nothing of yours uses it")


def owner_of(path: str) -> str:
    """"owner U, group G, mode 0600" of ``path`` (its symlink, not followed), or "unknown owner"."""
    try:
        return _owner(os.stat(path, follow_symlinks=False))
    except OSError:
        return "unknown owner"


def _owner(st: os.stat_result) -> str:
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return f"owner {user}, group {group}, mode {stat.S_IMODE(st.st_mode):04o}"


def os_error(name: str, path: str, e: OSError, doing: str) -> ChannelOSError:
    """The shmring error for ``e`` raised while ``doing`` (e.g. "opening") ``path`` of channel ``name``."""
    err = e.errno or 0
    if err in (errno.EACCES, errno.EPERM):
        who = f" ({owner_of(path)})"
        return PermissionDenied(
            f"channel {name!r}: permission denied {doing} {path}{who}; to share a channel the producer "
            f"creates it with shmringsink permissions=0660 (Python: Writer(..., mode=0o660)) and this "
            f"user must be in the file's group", err)
    if err == errno.ELOOP:
        return ChannelOSError(f"channel {name!r}: {path} is a symbolic link, not a shmring segment; remove it "
                              f"(rm {path}) if nothing of yours uses it", err)
    return ChannelOSError(f"channel {name!r}: {doing} {path} failed: {os.strerror(err)}", err)


def missing_channel(name: str, waited: Optional[float] = None) -> str:
    """"no channel 'x'", with similar names that exist ("did you mean 'cam'?")."""
    msg = f"no channel {name!r}"
    if waited is not None:
        msg += f" (waited {float(waited)} s for {L.PATH_PREFIX}{name})"
    else:
        msg += f" ({L.PATH_PREFIX}{name} does not exist)"
    try:
        names = list_channels()
    except OSError:
        names = []
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if close:
        msg += "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    elif not names:
        msg += "; no channel exists: is the producer running?"
    else:
        msg += "; channels: " + ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    return msg


class Segment:
    """One mapping of /dev/shm/shmring.NAME (read-write or read-only)."""

    def __init__(self, name: str, fd: int, writable: bool) -> None:
        self.name = name
        self.fd = fd
        self.writable = writable
        st = os.fstat(fd)
        check_regular(name, L.PATH_PREFIX + name, st)
        self.ino = (st.st_dev, st.st_ino)
        size = st.st_size
        if size < L.RING_OFFSET + L.MIN_RING_SIZE or size > L.RING_OFFSET + L.MAX_RING_SIZE:
            raise CorruptSegment(
                f"channel {name!r}: segment file is {size} bytes; expected "
                f"{L.RING_OFFSET + L.MIN_RING_SIZE}..{L.RING_OFFSET + L.MAX_RING_SIZE}")
        if st.st_blocks * 512 < size:
            # Touching a page that is not there kills the process with SIGBUS once /dev/shm is full.
            raise CorruptSegment(
                f"channel {name!r}: segment is sparse: {st.st_blocks * 512} of {size} bytes allocated "
                f"(/dev/shm was full when it was created, or it was truncated); free space in /dev/shm "
                f"and restart the producer")
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
        """True while another open file description holds the producer lock."""
        return _sys.lock_is_held(self.fd, L.LOCK_PRODUCER)

    def reader_alive(self) -> bool:
        """True while another open file description holds the reader lock."""
        return _sys.lock_is_held(self.fd, L.LOCK_READER)

    def check_state(self) -> None:
        """Raise CorruptSegment if ``state`` is neither OPEN nor CLOSED while a producer holds the lock.

        A producer puts its segment in place fully initialised, so no other
        value can be seen; waiting for it to change would wait forever.
        """
        v = self.hi[I["state"]]
        if v not in (L.STATE_OPEN, L.STATE_CLOSED) and self.producer_alive():
            raise CorruptSegment(f"channel {self.name!r}: corrupt header: state = {v} with a live producer "
                                 f"(pid {self.hi[I['producer_pid']]}), expected {L.STATE_OPEN} (open) or "
                                 f"{L.STATE_CLOSED} (closed)")

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
        try:
            caps = raw[:-1].decode("utf-8")
            fmt_s = fmt.split(b"\0", 1)[0].decode("ascii")
        except UnicodeDecodeError as e:
            raise CorruptSegment(f"channel {self.name!r}: description {d}: undecodable text ({e})") from None
        if n_planes and not frame_size:
            raise CorruptSegment(f"channel {self.name!r}: description {d}: n_planes = {n_planes} with "
                                 f"frame_size 0")
        # Whole planes, rows from the format's vertical subsampling (height if unknown).
        rows = plane_rows(fmt_s, height, n_planes)
        if rows is None:
            raise CorruptSegment(f"channel {self.name!r}: description {d}: format {fmt_s} has "
                                 f"{2 if fmt_s in TILED else len(VSUB[fmt_s])} planes, n_planes = {n_planes}")
        for i in range(n_planes):
            if offs[i] + strides[i] * rows[i] > frame_size:
                raise CorruptSegment(
                    f"channel {self.name!r}: description {d}: plane {i} offset {offs[i]} + stride "
                    f"{strides[i]} x {rows[i]} rows > frame_size {frame_size}")
        info = StreamInfo(d, caps, fmt_s, width, height, fps_n, fps_d, frame_size, offs, strides)
        # The slot must not have changed while we copied it.
        if self.hi[off // 4] != d:
            raise CorruptSegment(f"channel {self.name!r}: description {d} changed while a frame names it")
        return info

    def record(self, pos: int, field: str = "read_pos") -> tuple[int, ...]:
        """The 64-byte record header at ring position ``pos`` (read from ``field``), validated first.

        Raises CorruptSegment naming ``field`` and its value if ``pos`` is
        not 64-byte aligned or the header would not fit before the ring's end.
        """
        assert self.mm is not None
        R = self.ring_size
        if pos % L.RECORD_ALIGN or pos % R + L.RECORD_HEADER_SIZE > R:
            raise CorruptSegment(f"channel {self.name!r}: corrupt header: {field} = {pos} is not a "
                                 f"{L.RECORD_ALIGN}-byte aligned record position in a ring of {R} bytes")
        t: tuple[int, ...] = _REC.unpack_from(self.mm, L.RING_OFFSET + pos % R)
        return t

    def check_record(self, pos: int, w: int, rtype: int, length: int, size: int) -> None:
        """Raise CorruptSegment unless the record at ``pos`` (type, length, size) fits before ``w``."""
        R = self.ring_size
        n = self.name
        if rtype not in (L.RECORD_FRAME, L.RECORD_PAD, L.RECORD_EOS):
            raise CorruptSegment(f"channel {n!r}: record at {pos} has type {rtype}, expected 1, 2 or 3")
        if length % L.RECORD_ALIGN or length < L.RECORD_HEADER_SIZE or pos % R + length > R or pos + length > w:
            raise CorruptSegment(f"channel {n!r}: record at {pos} has length {length} "
                                 f"(ring {R} bytes, offset {pos % R}, write_pos {w})")
        if L.RECORD_HEADER_SIZE + size > length:
            raise CorruptSegment(f"channel {n!r}: record at {pos} has size {size} > length {length} - 64")

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
        fd = os.open(path, open_flags(writable))
    except FileNotFoundError:
        raise ChannelNotFound(missing_channel(name)) from None
    except OSError as e:
        raise os_error(name, path, e, "opening") from None
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
    """A snapshot of a channel's counters and liveness (``shmring info``).

    Attributes: ``name``; ``generation`` (creation time in ns); ``ring_size``
    in bytes; ``policy`` ("lossless", "drop-new", "live"); ``state`` ("open",
    "closed", "dead" for a producer gone without closing, "corrupt(...)");
    ``write_pos``/``read_pos`` (free-running byte positions);
    ``frames_written``, ``frames_dropped`` (by the producer), ``frames_read``,
    ``frames_skipped`` (by a latest-only reader); ``lag_frames``/``lag_bytes``
    (written, not yet read); ``producer_pid``/``producer_alive``,
    ``reader_pid``/``reader_alive``, ``reader_attaches``; ``stream`` (the
    newest StreamInfo or None); ``writer_waiting`` (the producer waits for
    space); ``newest_commit_ns`` (CLOCK_MONOTONIC commit time of the newest
    frame that can be found in the ring, or None).
    """

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
    writer_waiting: bool = False
    newest_commit_ns: Optional[int] = None

    @property
    def producer_status(self) -> str:
        """What an open channel's producer is doing: "", "waiting for a reader" or "blocked: ring full"."""
        if self.state != "open" or not self.writer_waiting:
            return ""
        return "blocked: ring full" if self.reader_alive else "waiting for a reader"


def newest_commit_ns(seg: Segment, start: int, w: int, next_seq: int, frame_size: int) -> Optional[int]:
    """Commit time of the newest frame before ``w``, or None if it cannot be found.

    Walks the records from ``start`` (the oldest one still in use) to ``w``;
    when that range is empty, a stream of fixed-size frames has its newest
    frame right before ``w``, accepted only if its header says so.
    """
    newest = None
    p = start
    try:
        for _ in range(100000):
            if p >= w:
                break
            rtype, _fl, _d, length, size, seq, _pts, _dts, _dur, commit = seg.record(p, "a record position")
            seg.check_record(p, w, rtype, length, size)
            if rtype == L.RECORD_FRAME:
                newest = commit
            p += length
        if newest is None and frame_size and start == w:
            length = (L.RECORD_HEADER_SIZE + frame_size + L.RECORD_ALIGN - 1) // L.RECORD_ALIGN * L.RECORD_ALIGN
            if w >= length and (w - length) % seg.ring_size + length <= seg.ring_size:
                rtype, _fl, _d, ln, size, seq, _pts, _dts, _dur, commit = seg.record(w - length)
                if rtype == L.RECORD_FRAME and ln == length and size == frame_size and seq + 1 == next_seq:
                    newest = commit
    except CorruptSegment:
        return None  # overwritten meanwhile, or damaged: unknown
    return newest


def pending_frames(seg: Segment, r: int, w: int) -> int:
    """FRAME records committed in ``[r, w)`` and not read yet (0 where the walk meets anything invalid)."""
    n = 0
    if not r <= w <= r + seg.ring_size:
        return 0
    try:
        for _ in range(seg.ring_size // L.RECORD_ALIGN):
            if r >= w:
                break
            rtype, _fl, _d, length, size, _seq, _pts, _dts, _dur, _c = seg.record(r, "a record position")
            seg.check_record(r, w, rtype, length, size)
            n += rtype == L.RECORD_FRAME
            r += length
    except CorruptSegment:
        pass  # reused meanwhile by a live producer, or damaged: count what was valid
    return n


def stats_of(seg: Segment) -> Stats:
    hq, hi = seg.hq, seg.hi
    w, r = hq[Q["write_pos"]], hq[Q["read_pos"]]
    written, dropped = hq[Q["frames_written"]], hq[Q["frames_dropped"]]
    read, skipped = hq[Q["frames_read"]], hq[Q["frames_skipped"]]
    lag = pending_frames(seg, r, w)
    state_v = hi[I["state"]]
    palive = seg.producer_alive()
    if state_v == L.STATE_CLOSED:
        state = "closed"
    elif state_v == L.STATE_OPEN:
        state = "open" if palive else "dead"
    else:
        state = f"corrupt(state={state_v})"
    stream = None
    d = hi[I["desc_id"]]
    if d:
        try:
            stream = seg.read_desc(d)
        except CorruptSegment:
            stream = None
    rel = hq[Q["release_pos"]]
    start = r if rel & L.RELEASE_NONE else rel
    newest = None
    if start <= w and w - start <= seg.ring_size:
        newest = newest_commit_ns(seg, start, w, hq[Q["next_seq"]], stream.frame_size if stream else 0)
    return Stats(seg.name, seg.generation, seg.ring_size, L.POLICY_NAMES.get(seg.policy, "?"), state,
                 w, r, written, dropped, read, skipped, lag, max(w - r, 0),
                 hi[I["producer_pid"]], palive, hi[I["reader_pid"]], seg.reader_alive(),
                 hi[I["reader_attaches"]], stream, hi[I["writer_waiting"]] == 1, newest)


def inspect(name: str) -> Stats:
    """Read the counters of channel ``name`` without attaching (read-only mapping, no lock)."""
    seg = open_segment(name, writable=False)
    try:
        return stats_of(seg)
    finally:
        seg.close()


@dataclass
class CleanResult:
    """One line of ``shmring clean``: what was (or would be) done with one file, and whether it failed."""

    message: str
    removed: bool = False
    live: bool = False
    failed: bool = False


def _clean_path(name: str, path: str, dry_run: bool, temp_pid: int = 0, named: bool = True) -> CleanResult:
    """Remove ``path`` (channel ``name``, or its temporary when ``temp_pid``) if no producer holds it.

    A file that is not a segment is left alone: a failure only if it was ``named``.
    """
    what = (f"an unfinished segment of {name} ({path})" if temp_pid else name)
    try:
        fd = os.open(path, open_flags(True))
    except FileNotFoundError:
        return CleanResult(missing_channel(name) if not temp_pid else f"{path} is already gone", failed=not temp_pid)
    except PermissionError:
        who = f" ({owner_of(path)})"
        return CleanResult(f"cannot check {what}: permission denied opening {path}{who}; only its owner or "
                           f"root can clean it", failed=True)
    except OSError as e:
        return CleanResult(f"cannot check {what}: {os_error(name, path, e, 'opening')}", failed=True)
    try:
        st = os.fstat(fd)
        try:
            check_regular(name, path, st)
        except CorruptSegment as e:
            return CleanResult(f"left {path} alone: {e}", failed=named)
        raw = os.pread(fd, 128, 0)
        pid = 0
        valid = len(raw) >= 64 and struct.unpack_from("<Q", raw, 0)[0] == L.MAGIC
        if valid and len(raw) >= 108:
            pid = struct.unpack_from("<I", raw, L.HEADER["producer_pid"][0])[0]
        if temp_pid:
            pid = temp_pid
        if not _sys.lock_try(fd, L.LOCK_PRODUCER):
            return CleanResult(f"{what}: has a live producer" + (f" (pid {pid})" if pid else "") + "; left alone",
                               live=True)
        try:
            now = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            return CleanResult(f"{what}: removed meanwhile by another process")
        if (st.st_dev, st.st_ino) != (now.st_dev, now.st_ino):
            return CleanResult(f"{what}: replaced meanwhile by a new producer; left alone", live=True)
        if temp_pid:
            why = f" (producer pid {pid} died while creating it)"
        elif not valid:
            why = " (not a valid segment, no producer holds it)"
        else:
            why = f" (producer pid {pid} is gone)" if pid else " (no producer holds it)"
        if dry_run:
            return CleanResult(f"would remove {what}{why}", removed=True)
        try:
            os.unlink(path)
        except OSError as e:
            return CleanResult(f"cannot remove {what}{why}: {os_error(name, path, e, 'removing')}", failed=True)
        return CleanResult(f"removed {what}{why}", removed=True)
    finally:
        os.close(fd)  # drops the lock


def clean(names: Optional[list[str]] = None, dry_run: bool = False) -> list[CleanResult]:
    """Remove the channels whose producer died, and the segments producers died while creating.

    Each file is handled on its own: one that cannot be opened, has an
    invalid name or is not a segment is reported and the others are still
    cleaned.  ``names``: only these channels (default: every one);
    ``dry_run``: say what would be removed, remove nothing.
    """
    out: list[CleanResult] = []
    d = os.path.dirname(L.PATH_PREFIX)
    prefix, tprefix = os.path.basename(L.PATH_PREFIX), os.path.basename(L.TEMP_PREFIX)
    try:
        entries = sorted(os.listdir(d))
    except FileNotFoundError:
        entries = []
    todo: list[str] = []
    if names is None:
        todo = [e[len(prefix):] for e in entries if e.startswith(prefix) and len(e) > len(prefix)]
    else:
        todo = list(names)
    temps: list[CleanResult] = []
    temp_names: set[str] = set()
    for entry in entries:
        parts = entry[len(tprefix):].rsplit(".", 2) if entry.startswith(tprefix) else []
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
            continue
        name, pid = parts[0], int(parts[1])
        if (names is not None and name not in names) or _sys.pid_alive(pid):
            continue
        r = _clean_path(name, os.path.join(d, entry), dry_run, temp_pid=pid)
        if r.removed or r.failed:
            temps.append(r)
            temp_names.add(name)
    for name in todo:
        try:
            path = _sys.channel_path(name)
        except InvalidName as e:
            where = f"{d}/{prefix}{name}" if names is None else repr(name)
            out.append(CleanResult(f"left {where} alone: {e}", failed=names is not None))
            continue
        if name in temp_names and not os.path.lexists(path):
            continue  # only its unfinished segment was there
        out.append(_clean_path(name, path, dry_run, named=names is not None))
    return out + temps


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
