# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring.Writer: the producer side of a channel, publishing numpy frames or raw bytes."""

from __future__ import annotations

import errno
import mmap
import os
import secrets
import struct
import time
from typing import Any, Optional, Sequence, Union

from . import _layout as L
from . import _sys
from ._errors import ChannelBusy, Closed, CorruptSegment, Error, FrameTooLarge, NoSpace, Timeout
from ._segment import Q, I, Segment, check_geometry, check_regular, open_flags, os_error, owner_of
from ._video import StreamInfo, default_layout, raw_caps

__all__ = ["Writer"]

_SLICE = 0.2
_NONE = L.RELEASE_NONE
_REC = struct.Struct(L.RECORD_STRUCT)
_DESC = struct.Struct(L.DESC_FIXED_STRUCT)
_CAPS_OFF = L.DESC["caps"][0]
_PROD_SEQ_OFF = L.HEADER["prod_seq"][0]
_CONS_SEQ_OFF = L.HEADER["cons_seq"][0]
_POLICIES = {"lossless": L.POLICY_LOSSLESS, "drop-new": L.POLICY_DROP_NEW, "live": L.POLICY_LIVE}
_DEFAULT_RING = 32 << 20


def _policy(p: Union[str, int]) -> int:
    if isinstance(p, int) and p in L.POLICY_NAMES:
        return p
    if isinstance(p, str) and p in _POLICIES:
        return _POLICIES[p]
    raise ValueError(f"unknown policy {p!r}; use 'lossless', 'drop-new' or 'live'")


def _fps(fps: Any) -> tuple[int, int]:
    if fps is None or fps == 0:
        return 0, 1
    if isinstance(fps, tuple):
        n, d = fps
        return int(n), int(d)
    if isinstance(fps, int):
        return fps, 1
    from fractions import Fraction
    fr = Fraction(fps).limit_denominator(1001)
    return fr.numerator, fr.denominator


class Writer:
    """Create channel ``name`` and publish frames into it (the channel's only producer).

    ``Writer("cam", width=640, height=480, format="BGR", fps=30)`` describes
    raw video (GStreamer's default strides, rows padded to 4 bytes) and
    builds the caps string; ``Writer("cam", caps="image/jpeg")`` publishes
    variable-size buffers.  ``policy`` is "lossless" (wait for space, up to
    ``timeout`` seconds), "drop-new" (drop the new frame when full) or "live"
    (reclaim the oldest unread frames).  ``ring_size`` in bytes (rounded up to
    4096; default 32 MiB, or room for 4 frames if larger), ``mode`` the file
    mode (0600).

    A stale segment left by a dead producer is replaced; a live producer is
    refused with ChannelBusy naming its pid.  ``close()`` marks the channel
    closed and removes its name; ``eos()`` sends end of stream first.  The
    segment is built unnamed, fully allocated, and only then given ``mode``
    and its name: a Writer killed while creating leaves nothing behind, and
    no other user can open it before it is complete.  Every OS error while
    creating becomes a shmring.Error naming the channel and the cause
    (NoSpace, PermissionDenied, ChannelOSError).

    Attributes:
        name: the channel name.
        policy: the flow policy, 0 (lossless), 1 (drop-new) or 2 (live): shmring.layout.POLICY_*.
        timeout: default seconds write() and eos() wait for room (lossless); None = forever.
        ring_size: the ring's size in bytes.
        generation: the segment's generation (its creation time in ns), new for each Writer.
        keep_newest: while no reader is attached, keep only the newest frame: older unread
            frames are reclaimed (counted as dropped; sequence numbers show the gap) instead of
            the producer waiting (lossless) or dropping the new frame.  A reader attaching gets
            the newest frame first, then every frame per ``policy``.  For live sources.
    """

    def __init__(self, name: str, width: int = 0, height: int = 0, format: str = "", *,
                 caps: Optional[str] = None, fps: Any = 30, policy: Union[str, int] = "lossless",
                 ring_size: Optional[int] = None, mode: int = 0o600, timeout: Optional[float] = 5.0,
                 frame_size: Optional[int] = None, keep_newest: bool = False) -> None:
        self.name = _sys.check_name(name)
        self.keep_newest = bool(keep_newest)
        self._last_frame = -1
        self.policy = _policy(policy)
        self.timeout = timeout
        self._seg: Optional[Segment] = None
        self._closed = False
        self._info: Optional[StreamInfo] = None
        self._next_desc = 1
        self._slot_end = [0] * L.DESC_SLOTS
        self._geo: Any = None
        if ring_size is None:
            ring_size = _DEFAULT_RING
            if format and width > 0 and height > 0:
                fs = default_layout(format, width, height)[2]
                ring_size = max(ring_size, 4 * (fs + 2 * L.RECORD_ALIGN))
        if not isinstance(ring_size, int) or ring_size <= 0:
            raise ValueError(f"ring_size must be a positive integer, got {ring_size!r}")
        ring_size = max((ring_size + 4095) // 4096 * 4096, L.MIN_RING_SIZE)
        if ring_size > L.MAX_RING_SIZE:
            raise ValueError(f"ring_size {ring_size} is above the limit of {L.MAX_RING_SIZE} bytes")
        if not 0 < mode <= 0o777:
            raise ValueError(f"mode {mode:#o} is not a file mode")
        self.ring_size = ring_size
        self._create(ring_size, mode)
        if format or caps:
            self.set_stream(caps=caps, format=format, width=width, height=height, fps=fps,
                            frame_size=frame_size)

    # --- creation ----------------------------------------------------------
    def _no_space(self, err: int, need: int) -> NoSpace:
        d = os.path.dirname(L.PATH_PREFIX)
        try:
            v = os.statvfs(d)
            room = (f"{d} has {v.f_bavail * v.f_frsize} bytes and {v.f_favail} of {v.f_files} inodes free")
        except OSError:
            room = f"{d} is full"
        return NoSpace(f"channel {self.name!r}: no room for a segment of {need} bytes: {room}; free space "
                       f"there (shmring clean removes dead channels; in a container raise --shm-size) or "
                       f"ask for a smaller ring_size", err)

    def _create(self, ring_size: int, mode: int) -> None:
        """Build the segment unnamed (O_TMPFILE), fully allocated and initialised, then link it into place.

        Nothing is left behind if the process dies before the end, and the
        file mode (which may let other users in) is applied last.  Every
        OSError becomes a shmring.Error naming the channel and the cause.
        """
        name = self.name
        path = _sys.channel_path(name)
        seg_size = L.RING_OFFSET + ring_size
        d = os.path.dirname(L.PATH_PREFIX)
        tmp: list[str] = []  # the named temporary, if one exists (fallback, or replacing a stale segment)
        fd = -1
        seg = None
        try:
            try:
                fd = os.open(d, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
            except OSError as e:
                if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise
                # No O_TMPFILE here: a temporary name that `shmring clean` removes if we die.
                tmp.append(self._temp_name())
                fd = os.open(tmp[0], os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            os.posix_fallocate(fd, 0, seg_size)
            seg = Segment(name, fd, writable=True)
            mm = seg.mm
            assert mm is not None
            generation = time.clock_gettime_ns(time.CLOCK_REALTIME)
            struct.pack_into(L.IDENTITY_STRUCT, mm, 0, L.MAGIC, L.VERSION, L.HEADER_SIZE, seg_size,
                             L.RING_OFFSET, ring_size, generation, L.DESC_OFFSET, L.DESC_SLOT_SIZE,
                             L.DESC_SLOTS, self.policy)
            seg.hi[I["state"]] = L.STATE_OPEN
            seg.hi[I["producer_pid"]] = os.getpid()
            seg.hq[Q["release_pos"]] = _NONE
            seg.validate_identity()
            if not _sys.lock_try(fd, L.LOCK_PRODUCER):
                raise Error(f"channel {name!r}: cannot lock the new segment")
            os.fchmod(fd, mode)  # last: only now may another user open it
            self._publish_name(fd, tmp, path)
        except BaseException as e:
            if tmp:
                try:
                    os.unlink(tmp[0])
                except OSError:
                    pass
            if seg is not None:
                seg.close()
            elif fd >= 0:
                os.close(fd)
            if isinstance(e, OSError) and not isinstance(e, Error):
                if e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                    raise self._no_space(e.errno, seg_size) from None
                raise os_error(name, e.filename or path, e, "creating") from None
            raise
        self._seg = seg
        self._hq, self._hi = seg.hq, seg.hi
        assert seg.mm is not None
        self._mm: mmap.mmap = seg.mm
        self._R = ring_size
        self._w = 0
        self.generation = seg.generation

    def _temp_name(self) -> str:
        return f"{L.TEMP_PREFIX}{self.name}.{os.getpid()}.{secrets.token_hex(4)}"

    def _publish_name(self, fd: int, tmp: list[str], path: str) -> None:
        """Give the finished segment its name; replace a dead producer's segment under its lock.

        ``tmp`` holds the temporary name if the segment has one (it is
        appended to when an unnamed segment needs one to replace a stale file).
        """
        dfd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self._link_into_place(fd, dfd, tmp, path)
        finally:
            os.close(dfd)

    def _link(self, src: str, dst: str, dfd: int) -> None:
        # A directory fd makes os.link use linkat(AT_SYMLINK_FOLLOW), which links
        # the file behind /proc/self/fd/N rather than the symlink itself.
        os.link(src, dst, src_dir_fd=dfd, follow_symlinks=True)

    def _link_into_place(self, fd: int, dfd: int, tmp: list[str], path: str) -> None:
        for _ in range(100):
            src = tmp[0] if tmp else f"/proc/self/fd/{fd}"
            try:
                self._link(src, path, dfd)
            except FileExistsError:
                pass
            else:
                if tmp:
                    os.unlink(tmp.pop())
                return
            try:
                ofd = os.open(path, open_flags(True))
            except FileNotFoundError:
                continue
            except PermissionError:
                raise ChannelBusy(f"channel {self.name!r} exists and belongs to another user ({owner_of(path)}): "
                                  f"choose another channel name, or have its owner stop its producer (or remove "
                                  f"it with shmring clean if its producer died)") from None
            try:
                check_regular(self.name, path, os.fstat(ofd))
                if not _sys.lock_try(ofd, L.LOCK_PRODUCER):
                    pid = 0
                    raw = os.pread(ofd, 4, L.HEADER["producer_pid"][0])
                    if len(raw) == 4:
                        pid = struct.unpack("<I", raw)[0]
                    raise ChannelBusy(f"channel {self.name!r} already has a live producer (pid {pid})", pid)
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    continue
                fst = os.fstat(ofd)
                if (st.st_dev, st.st_ino) != (fst.st_dev, fst.st_ino):
                    continue
                if not tmp:
                    tmp.append(self._temp_name())
                    self._link(src, tmp[0], dfd)
                os.rename(tmp[0], path)  # replace the dead producer's segment atomically
                tmp.pop()
                return
            finally:
                os.close(ofd)
        raise Error(f"channel {self.name!r}: the name keeps changing under us; giving up")

    # --- stream description ----------------------------------------------
    def set_stream(self, caps: Optional[str] = None, format: str = "", width: int = 0, height: int = 0,
                   fps: Any = 30, frame_size: Optional[int] = None,
                   plane_offsets: Optional[Sequence[int]] = None,
                   plane_strides: Optional[Sequence[int]] = None, timeout: Optional[float] = -1.0) -> StreamInfo:
        """Publish a new stream description; frames written afterwards carry it.

        For raw video give ``format``, ``width``, ``height`` (strides and caps
        default to GStreamer's); otherwise give ``caps`` (and ``frame_size``
        for fixed-size frames, 0 = variable).
        """
        seg = self._require()
        fps_n, fps_d = _fps(fps)
        offs: list[int] = []
        strides: list[int] = []
        if format:
            offs, strides, fsize = default_layout(format, width, height)
            if plane_offsets is not None:
                offs = list(plane_offsets)
            if plane_strides is not None:
                strides = list(plane_strides)
            if frame_size is None:
                frame_size = fsize
            if caps is None:
                caps = raw_caps(format, width, height, fps_n, fps_d)
        if not caps:
            raise ValueError("a stream needs caps, or a raw video format with width and height")
        if frame_size is None:
            frame_size = 0
        raw = caps.encode("utf-8")
        if len(raw) >= L.CAPS_MAX or b"\0" in raw:
            raise ValueError(f"caps string of {len(raw)} bytes: the limit is {L.CAPS_MAX - 1}, no NUL")
        fmt = format.encode("ascii")
        if len(fmt) >= 16:
            raise ValueError(f"format name {format!r} is longer than 15 bytes")
        if len(offs) != len(strides) or len(offs) > L.MAX_PLANES:
            raise ValueError(f"{len(offs)} plane offsets and {len(strides)} strides (at most {L.MAX_PLANES})")
        d = self._next_desc
        info = StreamInfo(d, caps, format, width, height, fps_n, fps_d, frame_size, tuple(offs), tuple(strides))
        if format:
            check_geometry(self.name, info, frame_size)
        if frame_size and frame_size + L.RECORD_HEADER_SIZE > self._R:
            raise FrameTooLarge(f"channel {self.name!r}: frames of {frame_size} bytes do not fit in a ring "
                                f"of {self._R} bytes (largest frame {self.max_frame_size} bytes)")
        slot = d % L.DESC_SLOTS
        # A slot may be rewritten only when no record naming its old id is left.
        end = self._slot_end[slot]
        t = self.timeout if timeout is not None and timeout < 0 else timeout
        if not self._make_room(0, t, until=end, must=True):
            raise Timeout(f"channel {self.name!r}: description slot {slot} still in use after {t} s")
        mm = self._mm
        base = L.DESC_OFFSET + slot * L.DESC_SLOT_SIZE
        po = (list(offs) + [0] * L.MAX_PLANES)[: L.MAX_PLANES]
        ps = (list(strides) + [0] * L.MAX_PLANES)[: L.MAX_PLANES]
        mm[base:base + L.DESC_SLOT_SIZE] = bytes(L.DESC_SLOT_SIZE)
        _DESC.pack_into(mm, base, 0, len(raw), fmt, width, height, len(offs), fps_n, fps_d, 0, frame_size, 0,
                        *po, *ps)
        mm[base + _CAPS_OFF: base + _CAPS_OFF + len(raw)] = raw
        seg.hi[base // 4] = d  # release-store the id last
        seg.hi[I["desc_id"]] = d
        self._next_desc += 1
        self._info = info
        self._geo = check_geometry(self.name, info, frame_size) if format else None
        self._bump()
        return info

    @property
    def stream(self) -> Optional[StreamInfo]:
        """The stream description in force (None before set_stream)."""
        return self._info

    # --- space -----------------------------------------------------------
    def _boundary(self) -> int:
        hq = self._hq
        r = hq[Q["read_pos"]]
        rel = hq[Q["release_pos"]]
        b = r if rel & _NONE else rel
        w = self._w
        if b > w or w - b > self._R:
            raise CorruptSegment(f"channel {self.name!r}: consumer line corrupt: read_pos {r}, "
                                 f"release_pos {rel:#x}, write_pos {w}, ring {self._R}")
        return b

    def _make_room(self, n: int, timeout: Optional[float], until: int = 0, must: bool = False,
                   while_reader: bool = False) -> bool:
        """Make n bytes free at write_pos (and the boundary reach ``until``).  False = drop.

        ``writer_waiting`` stays 1 for as long as it waits, so that tools
        see a producer that waits for a reader or for space.
        """
        hi = self._hi
        try:
            return self._make_room_waiting(n, timeout, until, must, while_reader)
        finally:
            if hi[I["writer_waiting"]]:
                hi[I["writer_waiting"]] = 0

    def _make_room_waiting(self, n: int, timeout: Optional[float], until: int, must: bool,
                           while_reader: bool) -> bool:
        R = self._R
        deadline = None
        while True:
            b = self._boundary()
            if R - (self._w - b) >= n and b >= until:
                return True
            if self.policy == L.POLICY_LIVE and self._reclaim(n, until):
                return True
            if self._keep_newest():
                continue
            if self.policy != L.POLICY_LOSSLESS and not must:
                return False
            # wait for the reader to release space
            if while_reader and not self._seg.reader_alive():  # type: ignore[union-attr]
                return False
            now = time.monotonic()
            if deadline is None:
                deadline = None if timeout is None else now + timeout
            wait = _SLICE
            if deadline is not None:
                left = deadline - now
                if left <= 0:
                    if must:
                        return False
                    raise Timeout(f"channel {self.name!r}: no room for {n} bytes within {timeout} s "
                                  f"({R - (self._w - b)} of {R} bytes free)")
                wait = min(wait, left)
            hi = self._hi
            v = hi[I["cons_seq"]]
            hi[I["writer_waiting"]] = 1
            b = self._boundary()
            if not (R - (self._w - b) >= n and b >= until):
                _sys.futex_wait(self._seg.base + _CONS_SEQ_OFF, v, wait)  # type: ignore[union-attr]

    def _keep_newest(self) -> bool:
        """keep_newest: with no reader attached, reclaim every record before the newest frame.

        Also frees what a dead reader held.  Done under the claim lock, which
        a reader takes to attach, after checking again that none is attached.
        True if anything was freed.
        """
        seg = self._seg
        if not self.keep_newest or self._last_frame < 0 or seg is None:
            return False
        hq = self._hq
        rel = hq[Q["release_pos"]]
        if hq[Q["read_pos"]] >= self._last_frame and rel & _NONE:
            return False  # nothing older than the newest frame is kept
        if seg.reader_alive() or not _sys.lock_try(seg.fd, L.LOCK_CLAIM):
            return False
        freed = False
        try:
            if seg.reader_alive():
                return False
            r = hq[Q["read_pos"]]
            if r > self._w:
                raise CorruptSegment(f"channel {self.name!r}: corrupt header: read_pos = {r} > write_pos "
                                     f"{self._w}")
            while r < self._last_frame:
                rtype, _fl, _d, length, size, *_ = seg.record(r, "read_pos")
                seg.check_record(r, self._w, rtype, length, size)
                r += length
                hq[Q["read_pos"]] = r
                if rtype == L.RECORD_FRAME:
                    hq[Q["frames_dropped"]] = (hq[Q["frames_dropped"]] + 1) & 0xFFFFFFFFFFFFFFFF
                freed = True
            hq[Q["release_pos"]] = _NONE | r  # no reader: nothing is held
            freed = freed or not rel & _NONE
        finally:
            _sys.unlock(seg.fd, L.LOCK_CLAIM)
        return freed

    def _frame_follows(self, pos: int) -> bool:
        """Is there a FRAME record between ``pos`` and the write position (before an EOS)?"""
        seg = self._seg
        assert seg is not None
        R = self._R
        while pos < self._w:
            rtype, _fl, _d, length, *_ = seg.record(pos)
            if rtype == L.RECORD_FRAME:
                return True
            if (rtype != L.RECORD_PAD or length % L.RECORD_ALIGN or length < L.RECORD_HEADER_SIZE
                    or pos % R + length > R or pos + length > self._w):
                return False  # EOS, or a record the reader damaged: keep what is there
            pos += length
        return False

    def _reclaim(self, n: int, until: int) -> bool:
        """LIVE: advance read_pos past unread records under the claim lock; True if that made room.

        While the reader holds a record, no room can be made until it lets go,
        but all unread frames but the newest are still reclaimed, so that the
        reader is not handed stale frames (docs/PROTOCOL.md).
        """
        seg = self._seg
        assert seg is not None
        hq = self._hq
        if not _sys.lock_try(seg.fd, L.LOCK_CLAIM):
            return False
        R = self._R
        try:
            while True:
                b = self._boundary()
                holds = not hq[Q["release_pos"]] & _NONE
                if not holds and R - (self._w - b) >= n and b >= until:
                    return True
                r = hq[Q["read_pos"]]
                if r >= self._w:
                    return False
                rtype, _fl, _d, length, size, *_ = seg.record(r, "read_pos")
                seg.check_record(r, self._w, rtype, length, size)
                if holds and rtype == L.RECORD_FRAME and not self._frame_follows(r + length):
                    return False  # the newest unread frame stays for the reader
                hq[Q["read_pos"]] = r + length
                if rtype == L.RECORD_FRAME:
                    hq[Q["frames_dropped"]] = (hq[Q["frames_dropped"]] + 1) & 0xFFFFFFFFFFFFFFFF
        finally:
            _sys.unlock(seg.fd, L.LOCK_CLAIM)

    # --- writing ---------------------------------------------------------
    @property
    def max_frame_size(self) -> int:
        """Largest payload the ring accepts, in bytes."""
        return self._R - L.RECORD_HEADER_SIZE

    def _publish(self, rtype: int, length: int, size: int, flags: int, desc_id: int, pts: int, dts: int,
                 duration: int, seq: int) -> None:
        w = self._w
        _REC.pack_into(self._mm, L.RING_OFFSET + w % self._R, rtype, flags, desc_id, length, size, seq, pts,
                       dts, duration, time.monotonic_ns())
        hq = self._hq
        if rtype == L.RECORD_FRAME:
            hq[Q["next_seq"]] = (seq + 1) & 0xFFFFFFFFFFFFFFFF
            hq[Q["frames_written"]] = (hq[Q["frames_written"]] + 1) & 0xFFFFFFFFFFFFFFFF
        self._w = w + length
        hq[Q["write_pos"]] = self._w  # release-store (x86-64 TSO)
        self._bump()

    def _bump(self) -> None:
        hi = self._hi
        hi[I["prod_seq"]] = (hi[I["prod_seq"]] + 1) & 0xFFFFFFFF
        # No full barrier from Python: always wake (PROTOCOL.md "Publish").
        _sys.futex_wake(self._seg.base + _PROD_SEQ_OFF)  # type: ignore[union-attr]

    def _drop(self) -> bool:
        hq = self._hq
        hq[Q["frames_dropped"]] = (hq[Q["frames_dropped"]] + 1) & 0xFFFFFFFFFFFFFFFF
        hq[Q["next_seq"]] = (hq[Q["next_seq"]] + 1) & 0xFFFFFFFFFFFFFFFF
        return False

    def write(self, frame: Any, pts: Optional[int] = None, dts: Optional[int] = None,
              duration: Optional[int] = None, flags: int = 0, timeout: Optional[float] = -1.0) -> bool:
        """Copy one frame into the ring and publish it.

        ``frame`` is a numpy array shaped like the stream's frames
        ((height, width, channels) for packed formats; it is written with
        the stream's row stride) or any bytes-like object of at most
        ``max_frame_size`` bytes.  Times are in ns.  Returns True when
        published, False when dropped (drop-new or live policy, ring full).
        Raises FrameTooLarge, Timeout (lossless, ``timeout`` seconds,
        default the writer's).
        """
        self._require()
        if self._info is None:
            raise Error(f"channel {self.name!r}: call set_stream() (or give format/caps) before writing")
        if flags & ~L.FLAGS_ALL:
            raise ValueError(f"flags {flags:#x} has bits outside {L.FLAGS_ALL:#x}")
        if timeout is not None and timeout < 0:
            timeout = self.timeout
        src, size, strided = self._source(frame)
        R = self._R
        length = (L.RECORD_HEADER_SIZE + size + L.RECORD_ALIGN - 1) // L.RECORD_ALIGN * L.RECORD_ALIGN
        if length > R:
            raise FrameTooLarge(f"channel {self.name!r}: frame of {size} bytes needs {length} bytes but the "
                                f"ring has {R} bytes (largest frame {R - L.RECORD_HEADER_SIZE} bytes)")
        hq = self._hq
        off = self._w % R
        if off + length > R:
            pad = R - off
            if not self._make_room(pad, timeout):
                return self._drop()
            self._publish(L.RECORD_PAD, pad, 0, 0, 0, L.NO_TIME, L.NO_TIME, L.NO_TIME, 0)
            off = 0
        if not self._make_room(length, timeout):
            return self._drop()
        start = L.RING_OFFSET + off + L.RECORD_HEADER_SIZE
        if strided:
            self._write_strided(src, start)
        else:
            self._mm[start:start + size] = src
        info = self._info
        seq = hq[Q["next_seq"]]
        t = L.NO_TIME
        self._last_frame = self._w
        self._publish(L.RECORD_FRAME, length, size, flags, info.desc_id, t if pts is None else pts,
                      t if dts is None else dts, t if duration is None else duration, seq)
        self._slot_end[info.desc_id % L.DESC_SLOTS] = self._w
        self._keep_newest()
        return True

    def _source(self, frame: Any) -> tuple[Any, int, bool]:
        info = self._info
        assert info is not None
        np: Any = None
        if type(frame).__module__ == "numpy":
            import numpy
            np = numpy
        if np is not None and isinstance(frame, np.ndarray):
            geo = self._geo
            if geo is not None and len(geo) == 1 and frame.ndim >= 2:
                rows, cols, comps, esize, dtype = geo[0]
                want = (rows, cols, comps)
                shape = frame.shape if frame.ndim == 3 else frame.shape + (1,)
                if tuple(shape) != want:
                    raise ValueError(f"channel {self.name!r}: frame shape {frame.shape}, stream "
                                     f"{info.format} {info.width}x{info.height} needs {want}")
                if frame.dtype != np.dtype(dtype):
                    raise ValueError(f"frame dtype {frame.dtype}, format {info.format} needs {np.dtype(dtype)}")
                return frame.reshape(want), info.frame_size, True
            frame = np.ascontiguousarray(frame)
            mv = memoryview(frame).cast("B")
            return mv, mv.nbytes, False
        mv = memoryview(frame)
        if mv.ndim != 1 or mv.itemsize != 1:
            mv = mv.cast("B")
        return mv, mv.nbytes, False

    def _write_strided(self, src: Any, start: int) -> None:
        import numpy as np
        info = self._info
        assert info is not None
        rows, cols, comps, esize, dtype = self._geo[0]
        stride = info.plane_strides[0]
        base = np.frombuffer(self._mm, np.uint8, info.frame_size, start)  # holds an export while in use
        dst: Any = np.ndarray((rows, cols, comps), np.dtype(dtype), base, info.plane_offsets[0],
                         (stride, comps * esize, esize))
        dst[...] = src
        del dst, base

    def eos(self, timeout: Optional[float] = -1.0) -> bool:
        """Append end of stream.  Waits for room only while a reader is attached; False if not written."""
        self._require()
        if timeout is not None and timeout < 0:
            timeout = self.timeout
        n = L.RECORD_HEADER_SIZE
        if self._w % self._R + n > self._R:
            pad = self._R - self._w % self._R
            if not self._make_room(pad, timeout, must=True, while_reader=True):
                return False
            self._publish(L.RECORD_PAD, pad, 0, 0, 0, L.NO_TIME, L.NO_TIME, L.NO_TIME, 0)
        if not self._make_room(n, timeout, must=True, while_reader=True):
            return False
        pos = self._w
        self._hq[Q["eos_pos"]] = pos + 1
        self._publish(L.RECORD_EOS, n, 0, 0, 0, L.NO_TIME, L.NO_TIME, L.NO_TIME, 0)
        return True

    # --- state -----------------------------------------------------------
    @property
    def reader_alive(self) -> bool:
        """True while a reader holds the channel's reader lock."""
        return self._require().reader_alive()

    @property
    def frames_written(self) -> int:
        """Frames published so far."""
        return self._require().hq[Q["frames_written"]]

    @property
    def frames_dropped(self) -> int:
        """Frames dropped (drop-new, live while the reader holds frames) or reclaimed (live) so far."""
        return self._require().hq[Q["frames_dropped"]]

    def _require(self) -> Segment:
        if self._seg is None:
            raise Closed(f"writer of channel {self.name!r} is closed")
        return self._seg

    def close(self) -> None:
        """Mark the channel closed, wake the reader, remove the name.  Safe to call twice."""
        seg = self._seg
        if seg is None:
            return
        self._seg = None
        self._closed = True
        try:
            seg.hi[I["state"]] = L.STATE_CLOSED
            hi = seg.hi
            hi[I["prod_seq"]] = (hi[I["prod_seq"]] + 1) & 0xFFFFFFFF
            _sys.futex_wake(seg.base + _PROD_SEQ_OFF)
            path = _sys.channel_path(self.name)
            try:
                st = os.stat(path)
                if (st.st_dev, st.st_ino) == seg.ino:
                    os.unlink(path)
            except FileNotFoundError:
                pass
            _sys.unlock(seg.fd, L.LOCK_PRODUCER)
        finally:
            self._hq = self._hi = None  # type: ignore[assignment]
            self._mm = None  # type: ignore[assignment]
            seg.close()

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._seg is None

    def __repr__(self) -> str:
        if self._seg is None:
            return f"<shmring.Writer {self.name!r} closed>"
        i = self._info
        what = "no stream" if i is None else (f"{i.format} {i.width}x{i.height}" if i.format
                                              else repr(i.caps.split(",", 1)[0]))
        return (f"<shmring.Writer {self.name!r} open policy={L.POLICY_NAMES[self.policy]} {what} "
                f"written={self.frames_written} dropped={self.frames_dropped} "
                f"reader={'attached' if self.reader_alive else 'none'}>")

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
