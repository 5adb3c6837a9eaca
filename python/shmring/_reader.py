# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring.Reader: the consumer side of a channel, handing out zero-copy frames."""

from __future__ import annotations

import os
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Iterator, Optional

from . import _layout as L
from . import _sys
from ._errors import (ChannelBusy, ChannelNotFound, CorruptSegment, Error, FrameReleased, ProducerClosed,
                      ProducerDied, Timeout)
from ._segment import Q, I, Segment, Stats, check_geometry, open_segment, stats_of
from ._video import StreamInfo

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["Reader", "Frame"]

_SLICE = 0.2  # longest single futex wait, so producer death is seen within a second
_NONE = L.RELEASE_NONE

_WRITE_POS = Q["write_pos"]
_READ_POS = Q["read_pos"]
_RELEASE_POS = Q["release_pos"]
_FRAMES_READ = Q["frames_read"]
_FRAMES_SKIPPED = Q["frames_skipped"]
_LAST_READ_SEQ = Q["last_read_seq"]
_PROD_SEQ = I["prod_seq"]
_STATE = I["state"]
_CONS_SEQ = I["cons_seq"]
_READER_WAITING = I["reader_waiting"]
_PROD_SEQ_OFF = L.HEADER["prod_seq"][0]
_CONS_SEQ_OFF = L.HEADER["cons_seq"][0]

_np: Any = None


def _numpy() -> Any:
    global _np
    if _np is None:
        try:
            import numpy
        except ImportError:
            raise Error("numpy is required for frame arrays (install python3-numpy)") from None
        _np = numpy
    return _np


class Frame:
    """One frame held by a Reader.

    ``array``, ``planes`` and ``data`` are zero-copy views into shared memory,
    read-only, valid until the frame is released: by ``release()``, by the
    iterator moving on to the next frame, or by closing the reader.  After
    that the memory may be overwritten by the producer at any time; use
    ``copy()`` for data that outlives the frame.

    Metadata: ``seq`` (sequence number; ``dropped`` counts the frames missing
    before this one), ``pts``/``dts``/``duration`` in ns or None, ``flags``
    (shmring.FLAG_*), ``commit_ns`` (producer's CLOCK_MONOTONIC at commit),
    ``info`` (the StreamInfo in force) and ``caps``.
    """

    __slots__ = ("_reader", "_entry", "_off", "size", "seq", "pts", "dts", "duration", "flags", "commit_ns",
                 "info", "dropped", "generation", "_array", "_planes", "__weakref__")

    def __init__(self, reader: "Reader", entry: list, off: int, size: int, seq: int, pts: int, dts: int,
                 duration: int, flags: int, commit_ns: int, info: StreamInfo, dropped: int) -> None:
        self._reader: Optional[Reader] = reader
        self._entry = entry
        self._off = off
        self.size = size
        self.seq = seq
        self.pts: Optional[int] = None if pts == L.NO_TIME else pts
        self.dts: Optional[int] = None if dts == L.NO_TIME else dts
        self.duration: Optional[int] = None if duration == L.NO_TIME else duration
        self.flags = flags
        self.commit_ns = commit_ns
        self.info = info
        self.dropped = dropped
        self.generation = reader.generation
        self._array: Any = None
        self._planes: Any = None

    def __repr__(self) -> str:
        state = "released" if self._reader is None else "held"
        return (f"<shmring.Frame seq={self.seq} size={self.size} pts={self.pts} "
                f"format={self.info.format or self.info.caps!r} {state}>")

    @property
    def caps(self) -> str:
        """The GStreamer caps string of the stream this frame belongs to."""
        return self.info.caps

    @property
    def released(self) -> bool:
        return self._reader is None

    @property
    def latency_ns(self) -> int:
        """Nanoseconds from the producer's commit to now (same host, same clock)."""
        return time.monotonic_ns() - self.commit_ns

    def _live(self) -> "Reader":
        r = self._reader
        if r is None:
            raise FrameReleased(f"frame seq {self.seq} was released; its memory may already be reused")
        return r

    @property
    def data(self) -> memoryview:
        """The payload bytes as a read-only memoryview (a view, valid until release)."""
        r = self._live()
        return r._ro[self._off:self._off + self.size]

    @property
    def array(self) -> "np.ndarray":
        """The frame as a read-only numpy view into shared memory (no copy).

        Packed formats (BGR, RGB, BGRx, RGBA, GRAY8, ...) give shape
        (height, width, channels) with the stream's row stride, so padded
        rows of odd widths are skipped.  Planar formats (I420, NV12, ...) and
        non-raw streams give the whole payload as a 1-D uint8 array; use
        ``planes`` for the planes.  Valid until the frame is released.
        """
        if self._array is None:
            r = self._live()
            np = _numpy()
            planes = self._build_planes(r, np)
            if planes is not None and len(planes) == 1:
                self._array = planes[0]
            else:
                self._array = self._payload(r, np)
        return self._array

    @property
    def planes(self) -> list:
        """One read-only numpy view per plane: (rows, columns[, components]) with the plane's stride.

        Packed formats give one plane shaped like ``array``.  Semi-planar
        chroma (NV12's UV) is (rows, columns, 2).  Empty for non-raw streams.
        Valid until the frame is released.
        """
        if self._planes is None:
            r = self._live()
            p = self._build_planes(r, _numpy())
            self._planes = p if p is not None else []
        return self._planes

    def _payload(self, r: "Reader", np: Any) -> Any:
        # np.frombuffer holds a buffer export on the mmap, so the mapping cannot
        # be unmapped under this array (np.ndarray(buffer=mmap) would not).
        a = np.frombuffer(r._mm, np.uint8, self.size, self._off)
        a.flags.writeable = False
        return a

    def _build_planes(self, r: "Reader", np: Any) -> Optional[list]:
        info = self.info
        geo = r._geometry(info, self.size)
        if geo is None:
            return None
        payload = self._payload(r, np)
        out = []
        for i, (rows, cols, comps, esize, dtype) in enumerate(geo):
            stride = info.plane_strides[i]
            off = info.plane_offsets[i]
            if comps == 1 and len(geo) > 1:
                shape: tuple = (rows, cols)
                strides: tuple = (stride, esize)
            else:
                shape = (rows, cols, comps)
                strides = (stride, comps * esize, esize)
            a = np.ndarray(shape, np.dtype(dtype), payload, off, strides)
            a.flags.writeable = False
            out.append(a)
        return out

    def copy(self) -> Any:
        """An owned copy: a numpy array shaped like ``array`` (bytes if numpy is missing)."""
        try:
            return self.array.copy()
        except Error:
            if _np is not None:
                raise
            return bytes(self.data)

    def tobytes(self) -> bytes:
        """An owned copy of the payload bytes."""
        return bytes(self.data)

    def release(self) -> None:
        """Give the frame's space back to the producer.  Safe to call twice."""
        r = self._reader
        if r is None:
            return
        self._reader = None
        self._array = None
        self._planes = None
        r._release_frame(self)

    def __enter__(self) -> "Frame":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Reader:
    """Attach to a channel as its (only) reader.

    ``Reader(name, timeout=5.0)`` waits up to ``timeout`` seconds (None =
    forever) for the channel to appear, and with ``reconnect=True`` as long
    for a restarted producer.  ``frame_timeout`` bounds each wait for a frame
    (None = forever; a dead producer is still noticed within a second).
    ``latest=True`` skips the backlog and hands out only the newest frame.

    Iterating yields Frame objects until end of stream; each frame is
    released when the iteration moves on.  ``next_frame()`` returns a frame
    the caller must ``release()`` (or None at end of stream).

    Raises ChannelNotFound, ChannelBusy (another reader, with its pid),
    ProducerDied, CorruptSegment, Timeout; all are shmring.Error.
    """

    def __init__(self, name: str, timeout: Optional[float] = 5.0, *, latest: bool = False,
                 reconnect: bool = False, frame_timeout: Optional[float] = None) -> None:
        self.name = _sys.check_name(name)
        self.timeout = timeout
        self.latest = latest
        self.reconnect = reconnect
        self.frame_timeout = frame_timeout
        self._seg: Optional[Segment] = None
        self._held: deque = deque()
        self._frames: list = []  # Frame objects handed out and not released
        self._descs: dict[int, StreamInfo] = {}
        self._geo: dict[tuple[int, int], Any] = {}
        self._iter_frame: Optional[Frame] = None
        self._expect: Optional[int] = None
        self._eos = False
        self._closed = False
        self.dropped = 0
        self.frames = 0
        self.reconnects = 0
        self.generation = 0
        self.end_reason: Optional[str] = None
        self._attach(timeout, None)

    # --- attaching ---------------------------------------------------------
    def _attach(self, timeout: Optional[float], old_generation: Optional[int]) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                seg = open_segment(self.name, writable=True)
            except ChannelNotFound:
                seg = None
            if seg is not None:
                if old_generation is not None and seg.generation == old_generation:
                    seg.close()  # still the old segment: wait for the new producer
                else:
                    break
            if deadline is not None and time.monotonic() >= deadline:
                if old_generation is not None:
                    raise ProducerDied(f"channel {self.name!r}: producer did not come back within {timeout} s")
                raise ChannelNotFound(f"no channel {self.name!r} (waited {timeout} s for "
                                      f"{L.PATH_PREFIX}{self.name})")
            left = delay if deadline is None else min(delay, max(deadline - time.monotonic(), 0.0))
            time.sleep(left)  # the name has no event to wait on; poll as PROTOCOL.md says
            delay = min(delay * 2, 0.1)
        try:
            if not _sys.lock_try(seg.fd, L.LOCK_READER):
                pid = seg.hi[I["reader_pid"]]
                raise ChannelBusy(f"channel {self.name!r} already has a reader (pid {pid})", pid)
            live = seg.policy == L.POLICY_LIVE
            if live:
                _sys.lock_wait(seg.fd, L.LOCK_CLAIM)
            try:
                seg.hq[_RELEASE_POS] = _NONE | seg.hq[_READ_POS]
                seg.hi[I["reader_pid"]] = os.getpid()
                seg.hi[I["reader_attaches"]] = (seg.hi[I["reader_attaches"]] + 1) & 0xFFFFFFFF
            finally:
                if live:
                    _sys.unlock(seg.fd, L.LOCK_CLAIM)
            seg.hi[_CONS_SEQ] = (seg.hi[_CONS_SEQ] + 1) & 0xFFFFFFFF
            _sys.futex_wake(seg.base + _CONS_SEQ_OFF)
        except BaseException:
            seg.close()
            raise
        self._seg = seg
        self._mm = seg.mm
        self._ro = memoryview(seg.mm).toreadonly()
        self._hq = seg.hq
        self._hi = seg.hi
        self._R = seg.ring_size
        self._live_policy = seg.policy == L.POLICY_LIVE
        self._descs.clear()
        # Frames that vanish after this point show as sequence gaps; a backlog
        # present at attach time starts the count at its first frame.
        self._expect = seg.hq[Q["next_seq"]] if seg.hq[_READ_POS] == seg.hq[_WRITE_POS] else None
        self.generation = seg.generation
        self._eos = False
        self.end_reason = None

    def _detach(self) -> bool:
        seg = self._seg
        if seg is None:
            return True
        for f in list(self._frames):
            f._reader = None
            f._array = None
            f._planes = None
        self._frames.clear()
        self._iter_frame = None
        self._held.clear()
        try:
            if seg.mm is not None:
                seg.hq[_RELEASE_POS] = _NONE | seg.hq[_READ_POS]
                seg.hi[I["reader_pid"]] = 0
                seg.hi[_CONS_SEQ] = (seg.hi[_CONS_SEQ] + 1) & 0xFFFFFFFF
                _sys.futex_wake(seg.base + _CONS_SEQ_OFF)
                _sys.unlock(seg.fd, L.LOCK_READER)  # mmap keeps a dup of the fd
        finally:
            self._ro.release()
            self._ro = None  # type: ignore[assignment]
            self._mm = None
            self._seg = None
            ok = seg.close()
        return ok

    # --- public API ----------------------------------------------------------
    def close(self) -> None:
        """Release every frame and detach.  Safe to call twice.

        Views already handed out are invalidated (their Frame raises
        FrameReleased).  numpy arrays the application still references keep
        the mapping alive until they are freed, but their contents are no
        longer protected from being overwritten.
        """
        if self._closed:
            return
        self._closed = True
        self._detach()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        if self._iter_frame is not None:
            self._iter_frame.release()
            self._iter_frame = None
        f = self.next_frame()
        if f is None:
            raise StopIteration
        self._iter_frame = f
        return f

    @property
    def stream(self) -> Optional[StreamInfo]:
        """The newest published stream description (what a late joiner will get), or None."""
        seg = self._require()
        d = seg.hi[I["desc_id"]]
        return self._desc(d) if d else None

    def stats(self) -> Stats:
        """Counters and liveness of the channel (see ``shmring info``)."""
        return stats_of(self._require())

    def producer_alive(self) -> bool:
        return self._require().producer_alive()

    def _require(self) -> Segment:
        if self._seg is None:
            raise Error(f"reader of channel {self.name!r} is closed")
        return self._seg

    # --- reading ---------------------------------------------------------
    def next_frame(self, timeout: Optional[float] = -1.0, latest: Optional[bool] = None) -> Optional[Frame]:
        """Wait for the next frame and return it (held until its release()), or None at end of stream.

        ``timeout`` in seconds (None = forever; default: the reader's
        frame_timeout).  Raises Timeout, ProducerDied, CorruptSegment; with
        reconnect=True a dead or closed producer is waited for instead.
        """
        if timeout is not None and timeout < 0:
            timeout = self.frame_timeout
        if latest is None:
            latest = self.latest
        if self._closed:
            raise Error(f"reader of channel {self.name!r} is closed")
        while True:
            if self._eos:
                return None
            try:
                return self._next(timeout, latest)
            except (ProducerDied, ProducerClosed):
                if not self.reconnect:
                    raise
            old = self.generation
            self._detach()
            self._attach(self.timeout, old)
            self.reconnects += 1

    def _next(self, timeout: Optional[float], latest: bool) -> Optional[Frame]:
        hq, hi, R = self._hq, self._hi, self._R
        deadline = None if timeout is None else time.monotonic() + timeout
        last_check = time.monotonic()
        while True:
            v = hi[_PROD_SEQ]
            w = hq[_WRITE_POS]
            r = hq[_READ_POS]
            if w < r or w - r > R:
                raise CorruptSegment(f"channel {self.name!r}: write_pos {w}, read_pos {r}, ring {R} bytes")
            if r != w:
                res = self._claim(r, w, latest)
                if res is not None:
                    return res if isinstance(res, Frame) else None
                continue
            state = hi[_STATE]
            if state == L.STATE_CLOSED:
                if hq[_WRITE_POS] == w:
                    self.end_reason = "closed"
                    raise ProducerClosed(f"channel {self.name!r}: producer closed without end of stream")
                continue
            if state != L.STATE_OPEN:
                raise CorruptSegment(f"channel {self.name!r}: state = {state}, expected 1 or 2")
            now = time.monotonic()
            if now - last_check >= _SLICE:
                last_check = now
                if not self._seg.producer_alive():  # type: ignore[union-attr]
                    if hq[_WRITE_POS] != w or hi[_STATE] != L.STATE_OPEN:
                        continue
                    raise ProducerDied(f"channel {self.name!r}: producer (pid {hi[I['producer_pid']]}) died")
            wait = _SLICE
            if deadline is not None:
                left = deadline - now
                if left <= 0:
                    raise Timeout(f"channel {self.name!r}: no frame within {timeout} s")
                wait = min(wait, left)
            hi[_READER_WAITING] = 1
            if hq[_WRITE_POS] == w:
                # EINTR returns here; a pending KeyboardInterrupt is raised by the next bytecode.
                _sys.futex_wait(self._seg.base + _PROD_SEQ_OFF, v, wait)  # type: ignore[union-attr]
            hi[_READER_WAITING] = 0

    def _claim(self, r: int, w: int, latest: bool) -> Any:
        """Claim the record at r.  Returns a Frame, True at EOS, or None to go round again."""
        hq, R = self._hq, self._R
        seg = self._seg
        assert seg is not None
        live = self._live_policy
        if live:
            _sys.lock_wait(seg.fd, L.LOCK_CLAIM)
        try:
            if live:
                r = hq[_READ_POS]
                if r == w:
                    return None
                if w < r or w - r > R:
                    raise CorruptSegment(f"channel {self.name!r}: write_pos {w}, read_pos {r}, ring {R} bytes")
            rec = seg.record(r)
            rtype, flags, desc_id, length, size, seq, pts, dts, duration, commit_ns = rec
            self._check_record(r, w, rtype, length, size)
            if not self._held:
                hq[_RELEASE_POS] = r
            hq[_READ_POS] = r + length
        finally:
            if live:
                _sys.unlock(seg.fd, L.LOCK_CLAIM)
        entry = [r, False]
        self._held.append(entry)
        if rtype == L.RECORD_PAD:
            self._release_entry(entry)
            return None
        if rtype == L.RECORD_EOS:
            self._release_entry(entry)
            self._eos = True
            self.end_reason = "eos"
            return True
        try:
            if flags & ~L.FLAGS_ALL:
                raise CorruptSegment(f"channel {self.name!r}: record at {r} has flags {flags:#x}")
            info = self._desc(desc_id)
            if info.frame_size and size < info.frame_size:
                raise CorruptSegment(f"channel {self.name!r}: frame of {size} bytes, description {desc_id} "
                                     f"says {info.frame_size}")
            if latest and self._newer_frame(r + length, w):
                self._release_entry(entry)
                hq[_FRAMES_SKIPPED] = (hq[_FRAMES_SKIPPED] + 1) & 0xFFFFFFFFFFFFFFFF
                return None
        except BaseException:
            self._release_entry(entry)
            raise
        dropped = 0
        if self._expect is not None and seq != self._expect:
            dropped = (seq - self._expect) & 0xFFFFFFFFFFFFFFFF
            if dropped >= 1 << 63:
                dropped = 0  # went backwards: a new stream, not a drop
            self.dropped += dropped
        self._expect = seq + 1
        hq[_FRAMES_READ] = (hq[_FRAMES_READ] + 1) & 0xFFFFFFFFFFFFFFFF
        hq[_LAST_READ_SEQ] = (seq + 1) & 0xFFFFFFFFFFFFFFFF
        self.frames += 1
        off = L.RING_OFFSET + r % R + L.RECORD_HEADER_SIZE
        f = Frame(self, entry, off, size, seq, pts, dts, duration, flags, commit_ns, info, dropped)
        self._frames.append(f)
        return f

    def _check_record(self, r: int, w: int, rtype: int, length: int, size: int) -> None:
        R = self._R
        if rtype not in (L.RECORD_FRAME, L.RECORD_PAD, L.RECORD_EOS):
            raise CorruptSegment(f"channel {self.name!r}: record at {r} has type {rtype}")
        if length % L.RECORD_ALIGN or length < L.RECORD_HEADER_SIZE or r % R + length > R or r + length > w:
            raise CorruptSegment(f"channel {self.name!r}: record at {r} has length {length} "
                                 f"(ring {R} bytes, offset {r % R}, write_pos {w})")
        if L.RECORD_HEADER_SIZE + size > length:
            raise CorruptSegment(f"channel {self.name!r}: record at {r} has size {size} > length {length} - 64")

    def _newer_frame(self, p: int, w: int) -> bool:
        """Is there another FRAME record in [p, w)?  (Headers only; nothing is claimed.)"""
        seg = self._seg
        assert seg is not None
        R = self._R
        while p < w:
            rtype, _f, _d, length, size, *_ = seg.record(p)
            if rtype == L.RECORD_FRAME:
                return True
            if rtype != L.RECORD_PAD:
                return False
            if length % L.RECORD_ALIGN or length < L.RECORD_HEADER_SIZE or p % R + length > R:
                return False
            p += length
        return False

    def _desc(self, d: int) -> StreamInfo:
        info = self._descs.get(d)
        seg = self._seg
        assert seg is not None
        if info is not None and seg.hi[(L.DESC_OFFSET + (d % L.DESC_SLOTS) * L.DESC_SLOT_SIZE) // 4] == d:
            return info
        info = seg.read_desc(d)
        if len(self._descs) > 64:
            self._descs.clear()
        self._descs[d] = info
        return info

    def _geometry(self, info: StreamInfo, size: int) -> Any:
        key = (info.desc_id, size)
        g = self._geo.get(key, False)
        if g is False:
            g = check_geometry(self.name, info, size)
            if len(self._geo) > 64:
                self._geo.clear()
            self._geo[key] = g
        return g

    # --- releasing -------------------------------------------------------
    def _release_frame(self, f: Frame) -> None:
        try:
            self._frames.remove(f)
        except ValueError:
            pass
        if self._seg is not None:
            self._release_entry(f._entry)

    def _release_entry(self, entry: list) -> None:
        entry[1] = True
        held = self._held
        while held and held[0][1]:
            held.popleft()
        hq, hi = self._hq, self._hi
        if held:
            hq[_RELEASE_POS] = held[0][0]
        else:
            hq[_RELEASE_POS] = _NONE | hq[_READ_POS]
        hi[_CONS_SEQ] = (hi[_CONS_SEQ] + 1) & 0xFFFFFFFF
        # No full barrier from Python: always wake (PROTOCOL.md "Releasing").
        _sys.futex_wake(self._seg.base + _CONS_SEQ_OFF)  # type: ignore[union-attr]
