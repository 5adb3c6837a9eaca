# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring.Reader: the consumer side of a channel, handing out zero-copy frames."""

from __future__ import annotations

import dataclasses
import mmap
import os
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Iterator, Optional

from . import _layout as L
from . import _sys
from ._errors import (ChannelBusy, ChannelNotFound, Closed, CorruptSegment, Error, FrameReleased, ProducerClosed,
                      ProducerDied, Timeout)
from ._segment import Q, I, Segment, Stats, check_geometry, missing_channel, open_segment, stats_of
from ._video import StreamInfo

if TYPE_CHECKING:  # pragma: no cover
    import numpy

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


_STACKED_420 = ("I420", "YV12", "NV12", "NV21")
_UNSET: Any = object()


class Frame:
    """One frame: a view into shared memory held by a Reader, or an owned copy (``copy()``).

    View or copy: a frame from a Reader (``next_frame()``, ``poll()`` or
    iterating) is a *view*: ``array``, ``planes`` and ``data`` point into
    shared memory without copying, are read-only (writing raises
    ValueError) and stay valid only until the frame is released, by
    ``release()``, by the iteration moving on to the next frame, or by
    closing the reader.  After that the producer may overwrite the memory
    at any time, so an array kept from an earlier frame would show another
    frame's pixels: using a released frame raises FrameReleased.  To keep
    a frame, or to change its pixels, take ``frame.copy()``: an owned frame
    with the same metadata whose arrays are writable and never released.

    Shapes of ``array``: packed formats give (height, width, channels) with
    the stream's row stride (padding skipped), GRAY8/GRAY16 (height, width);
    I420, YV12, NV12 and NV21 give (height * 3 // 2, width) as
    ``cv2.cvtColor`` takes it when the planes are packed tightly (even
    width and height, no row padding), otherwise the whole payload as a
    1-D uint8 array; ``planes`` always gives one array per plane.
    """

    __slots__ = {
        "size": "Payload size in bytes.",
        "seq": "Sequence number given by the producer; gaps are frames dropped before this one.",
        "pts": "Presentation time in ns, or None.",
        "dts": "Decoding time in ns, or None.",
        "duration": "Duration in ns, or None.",
        "flags": "Buffer flags, a combination of shmring.FLAG_*.",
        "commit_ns": "The producer's CLOCK_MONOTONIC time in ns when it published the frame.",
        "info": "The StreamInfo (format, size, strides, caps) in force for this frame.",
        "dropped": "Frames missing (dropped or skipped) between the previous frame read and this one.",
        "generation": "Generation (creation time) of the channel the frame came from.",
        "_reader": "", "_entry": "", "_off": "", "_buf": "", "_geo": "", "_array": "", "_planes": "",
        "__weakref__": "",
    }

    def __init__(self, reader: Optional["Reader"], entry: list[Any], off: int, size: int, seq: int, pts: int,
                 dts: int, duration: int, flags: int, commit_ns: int, info: StreamInfo, dropped: int,
                 generation: int = 0, buf: Optional[bytearray] = None) -> None:
        self._reader: Optional[Reader] = reader
        self._entry = entry
        self._off = off
        self._buf = buf
        self.size = size
        self.seq = seq
        self.pts: Optional[int] = None if pts == L.NO_TIME else pts
        self.dts: Optional[int] = None if dts == L.NO_TIME else dts
        self.duration: Optional[int] = None if duration == L.NO_TIME else duration
        self.flags = flags
        self.commit_ns = commit_ns
        self.info = info
        self.dropped = dropped
        self.generation = reader.generation if reader is not None else generation
        self._geo: Any = _UNSET
        self._array: Any = None
        self._planes: Any = None

    def __repr__(self) -> str:
        state = "copy" if self._buf is not None else ("released" if self._reader is None else "held")
        i = self.info
        what = f"{i.format} {i.width}x{i.height}" if i.format else repr(i.caps.split(",", 1)[0])
        try:
            shape = f" shape={self.shape}"
        except Error:
            shape = ""
        return f"<shmring.Frame seq={self.seq} {what}{shape} size={self.size} pts={self.pts} {state}>"

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape ``array`` has (computed without numpy and without touching the payload)."""
        geo = self._geometry()
        if geo is None:
            return (self.size,)
        if len(geo) == 1:
            rows, cols, comps, _e, _d = geo[0]
            return (rows, cols) if comps == 1 else (rows, cols, comps)
        if self._stacked_420():
            return (self.info.height * 3 // 2, self.info.width)
        return (self.size,)

    @property
    def caps(self) -> str:
        """The GStreamer caps string of the stream this frame belongs to."""
        return self.info.caps

    @property
    def released(self) -> bool:
        """True once a view frame was released (its data is gone); always False for a copy."""
        return self._reader is None and self._buf is None

    @property
    def is_copy(self) -> bool:
        """True for an owned copy made by ``copy()``, False for a view into shared memory."""
        return self._buf is not None

    @property
    def latency_ns(self) -> int:
        """Nanoseconds from the producer's commit to now (same host, same clock)."""
        return time.monotonic_ns() - self.commit_ns

    def _source(self) -> tuple[Any, int]:
        """The buffer holding the payload and the payload's offset in it."""
        if self._buf is not None:
            return self._buf, 0
        r = self._reader
        if r is None:
            raise FrameReleased(f"frame seq {self.seq} was released; its memory may already be reused "
                                f"(use frame.copy() to keep a frame)")
        return r._rom, self._off

    @property
    def data(self) -> memoryview:
        """The payload bytes as a memoryview: read-only and valid until release for a view, owned for a copy."""
        buf, off = self._source()
        return memoryview(buf)[off:off + self.size]

    @property
    def array(self) -> "numpy.ndarray[Any, Any]":
        """The frame as a numpy array (see the class documentation for shapes).

        For a view: read-only, no copy, valid until the frame is released.
        For a copy: owned and writable.
        """
        if self._array is None:
            np = _numpy()
            planes = self._build_planes(np)
            if planes is not None and len(planes) == 1:
                self._array = planes[0]
            else:
                i = self.info
                payload = self._payload(np)
                w, h = i.width, i.height
                if planes is not None and self._stacked_420():
                    payload = payload[: w * h * 3 // 2].reshape(h * 3 // 2, w)
                self._array = payload
        a: "numpy.ndarray[Any, Any]" = self._array
        return a

    @property
    def planes(self) -> list["numpy.ndarray[Any, Any]"]:
        """One numpy array per plane: (rows, columns) or (rows, columns, components), with the plane's stride.

        Packed formats give one plane shaped like ``array``; NV12's UV plane
        is (rows, columns, 2).  Empty for non-raw streams.  Read-only and
        valid until release for a view, writable for a copy.
        """
        if self._planes is None:
            p = self._build_planes(_numpy())
            self._planes = p if p is not None else []
        out: list["numpy.ndarray[Any, Any]"] = self._planes
        return out

    def _geometry(self) -> Any:
        if self._geo is _UNSET:
            r = self._reader
            if r is not None:
                self._geo = r._geometry(self.info, self.size)
            else:
                self._geo = check_geometry("", self.info, self.size)
        return self._geo

    def _stacked_420(self) -> bool:
        """Are the planes of a 4:2:0 frame packed tightly, so (h * 3 // 2, w) covers them exactly?"""
        i = self.info
        if i.format not in _STACKED_420 or i.width % 2 or i.height % 2:
            return False
        end = 0
        for (rows, cols, comps, esize, _dt), off, stride in zip(self._geometry(), i.plane_offsets,
                                                                i.plane_strides):
            if off != end or stride != cols * comps * esize:
                return False
            end += rows * stride
        return end == i.width * i.height * 3 // 2 <= self.size

    def _payload(self, np: Any) -> Any:
        # np.frombuffer holds a buffer export, so the mapping cannot be unmapped
        # under this array; over the reader's read-only mapping it is read-only
        # and cannot be made writable.
        buf, off = self._source()
        return np.frombuffer(buf, np.uint8, self.size, off)

    def _build_planes(self, np: Any) -> Optional[list[Any]]:
        payload = self._payload(np)
        geo = self._geometry()
        if geo is None:
            return None
        info = self.info
        out = []
        for i, (rows, cols, comps, esize, dtype) in enumerate(geo):
            stride = info.plane_strides[i]
            off = info.plane_offsets[i]
            if comps == 1:
                shape: tuple[int, ...] = (rows, cols)
                strides: tuple[int, ...] = (stride, esize)
            else:
                shape = (rows, cols, comps)
                strides = (stride, comps * esize, esize)
            out.append(np.ndarray(shape, np.dtype(dtype), payload, off, strides))
        return out

    def copy(self) -> "Frame":
        """An owned copy of the frame: same metadata, writable arrays, valid for as long as you keep it.

        This is the way to keep a frame after the loop moves on, or to draw
        into it; the copy costs one memcpy of the payload.
        """
        c = Frame(None, [], 0, self.size, self.seq, L.NO_TIME, L.NO_TIME, L.NO_TIME, self.flags, self.commit_ns,
                  self.info, self.dropped, self.generation, bytearray(self.data))
        c.pts, c.dts, c.duration = self.pts, self.dts, self.duration
        c._geo = self._geometry()
        return c

    def tobytes(self) -> bytes:
        """An owned copy of the payload bytes."""
        return bytes(self.data)

    def release(self) -> None:
        """Give the frame's space back to the producer.  Safe to call twice; nothing to do for a copy."""
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


_HINT_RECONNECT = "read with reconnect=True (shmringsrc reconnect=true) to wait for the next producer"
_HINT_EOS = ("stop a gst-launch-1.0 producer with -e (gst-launch-1.0 -e ...) so that Ctrl-C sends end of "
             "stream, or read with reconnect=True (shmringsrc reconnect=true) to wait for the next producer")


class Reader:
    """Attach to a channel as its (only) reader.

    ``Reader(name, timeout=5.0)`` waits up to ``timeout`` seconds (None =
    forever) for the channel to appear, and with ``reconnect=True`` as long
    for a restarted producer.  ``frame_timeout`` bounds each wait for a frame
    (None = forever; a dead producer is still noticed within a second).
    ``latest=True`` skips the backlog and hands out only the newest frame.

    Iterating yields Frame objects until end of stream; each frame is
    released when the iteration moves on.  ``next_frame()`` returns a frame
    the caller must ``release()`` (or None at end of stream); ``poll()``
    returns None at once when no frame is ready.  Frames are read-only
    views into shared memory (see Frame); ``frame.copy()`` keeps one.

    Attributes:
        name: the channel name.
        timeout: seconds to wait for the channel (and a restarted producer); None = forever.
        latest: hand out only the newest frame, skipping the backlog.
        reconnect: follow a restarted producer instead of raising ProducerDied/ProducerClosed.
        frame_timeout: default seconds next_frame() waits for a frame; None = forever.
        frames: frames read so far.
        dropped: frames missing between the frames read (sequence gaps).
        reconnects: times a restarted producer was followed.
        generation: generation (creation time in ns) of the segment attached.
        end_reason: None while streaming, "eos" after end of stream, "closed" when the
            producer closed without end of stream.

    Raises ChannelNotFound (with similar names), ChannelBusy (another
    reader, with its pid), PermissionDenied (with the owner and the fix),
    ProducerDied, ProducerClosed, CorruptSegment, Timeout; all are
    shmring.Error.  Any method of a closed reader raises Closed (a ValueError).
    """

    def __init__(self, name: str, timeout: Optional[float] = 5.0, *, latest: bool = False,
                 reconnect: bool = False, frame_timeout: Optional[float] = None) -> None:
        self.name = _sys.check_name(name)
        self.timeout = timeout
        self.latest = latest
        self.reconnect = reconnect
        self.frame_timeout = frame_timeout
        self._seg: Optional[Segment] = None
        self._held: deque[list[Any]] = deque()
        self._frames: list[Frame] = []  # Frame objects handed out and not released
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
                raise ChannelNotFound(missing_channel(self.name, timeout))
            left = delay if deadline is None else min(delay, max(deadline - time.monotonic(), 0.0))
            time.sleep(left)  # the name has no event to wait on; poll as PROTOCOL.md says
            delay = min(delay * 2, 0.1)
        try:
            seg.check_state()
            if not _sys.lock_try(seg.fd, L.LOCK_READER):
                pid = seg.hi[I["reader_pid"]]
                raise ChannelBusy(f"channel {self.name!r} already has a reader (pid {pid})", pid)
            # Under the claim lock: a live or keep-newest producer reclaims under it.
            _sys.lock_wait(seg.fd, L.LOCK_CLAIM)
            try:
                seg.hq[_RELEASE_POS] = _NONE | seg.hq[_READ_POS]
                seg.hi[I["reader_pid"]] = os.getpid()
                seg.hi[I["reader_attaches"]] = (seg.hi[I["reader_attaches"]] + 1) & 0xFFFFFFFF
            finally:
                _sys.unlock(seg.fd, L.LOCK_CLAIM)
            seg.hi[_CONS_SEQ] = (seg.hi[_CONS_SEQ] + 1) & 0xFFFFFFFF
            _sys.futex_wake(seg.base + _CONS_SEQ_OFF)
            # Frames are handed out over a second, read-only mapping: nothing
            # done with a frame can write shared memory.
            rom = mmap.mmap(seg.fd, seg.size, mmap.MAP_SHARED, access=mmap.ACCESS_READ)
        except BaseException:
            seg.close()
            raise
        self._seg = seg
        self._mm = seg.mm
        self._rom: Optional[mmap.mmap] = rom
        self._hq = seg.hq
        self._hi = seg.hi
        self._R = seg.ring_size
        self._live_policy = seg.policy == L.POLICY_LIVE
        self._descs.clear()
        self._geo.clear()  # description ids start again with each producer
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
                # Unlock before the wake-up, so that a producer it wakes
                # sees no reader (mmap keeps a dup of the fd: unlock by hand).
                _sys.unlock(seg.fd, L.LOCK_READER)
                seg.hi[_CONS_SEQ] = (seg.hi[_CONS_SEQ] + 1) & 0xFFFFFFFF
                _sys.futex_wake(seg.base + _CONS_SEQ_OFF)
        finally:
            if self._rom is not None:
                try:
                    self._rom.close()
                except BufferError:
                    pass  # arrays the application keeps pin it; unmapped when they go
                self._rom = None
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
        """True once close() was called."""
        return self._closed

    @property
    def eos(self) -> bool:
        """True once end of stream was read (next_frame() and poll() return None from then on)."""
        return self._eos

    def __repr__(self) -> str:
        if self._closed:
            return f"<shmring.Reader {self.name!r} closed frames={self.frames} dropped={self.dropped}>"
        state = "eos" if self._eos else ("attached" if self._seg is not None else "reconnecting")
        return (f"<shmring.Reader {self.name!r} {state} generation={self.generation} frames={self.frames} "
                f"dropped={self.dropped}>")

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
        """Counters and liveness of the channel (see ``shmring info``); this reader counts as alive."""
        seg = self._require()
        return dataclasses.replace(stats_of(seg), reader_alive=True, reader_pid=os.getpid())

    def producer_alive(self) -> bool:
        """True while the channel's producer holds its lock (it has not died)."""
        return self._require().producer_alive()

    def _require(self) -> Segment:
        if self._closed or self._seg is None:
            raise Closed(f"reader of channel {self.name!r} is closed")
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
        self._require()
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

    def poll(self, latest: Optional[bool] = None) -> Optional[Frame]:
        """The next frame if one is ready, else None at once (also None at end of stream: see ``eos``).

        Never waits for a frame, but notices a dead or closed producer
        (ProducerDied / ProducerClosed, or reattaches with reconnect=True).
        The frame is held until its release(), as with next_frame().
        """
        try:
            return self.next_frame(0, latest)
        except Timeout:
            return None

    def _next(self, timeout: Optional[float], latest: bool) -> Optional[Frame]:
        hq, hi, R = self._hq, self._hi, self._R
        deadline = None if timeout is None else time.monotonic() + timeout
        # A poll (timeout 0) checks the producer at once, a wait once per slice.
        last_check = time.monotonic() if timeout != 0 else 0.0
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
                    raise ProducerClosed(f"channel {self.name!r}: producer closed without end of stream; "
                                         f"{_HINT_EOS}")
                continue
            if state != L.STATE_OPEN:
                raise CorruptSegment(f"channel {self.name!r}: state = {state}, expected 1 or 2")
            now = time.monotonic()
            if now - last_check >= _SLICE:
                last_check = now
                if not self._seg.producer_alive():  # type: ignore[union-attr]
                    if hq[_WRITE_POS] != w or hi[_STATE] != L.STATE_OPEN:
                        continue
                    raise ProducerDied(f"channel {self.name!r}: producer (pid {hi[I['producer_pid']]}) died "
                                       f"(killed or crashed); {_HINT_RECONNECT}")
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
            rec = seg.record(r, "read_pos")
            rtype, flags, desc_id, length, size, seq, pts, dts, duration, commit_ns = rec
            seg.check_record(r, w, rtype, length, size)
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

    def _newer_frame(self, p: int, w: int) -> bool:
        """Is there another FRAME record in [p, w)?  (Headers only; nothing is claimed.)"""
        seg = self._seg
        assert seg is not None
        R = self._R
        while p < w:
            if p % L.RECORD_ALIGN:
                return False  # a damaged record: the claim that follows reports it
            rtype, _f, _d, length, size, *_ = seg.record(p, "a record's end")
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

    def _release_entry(self, entry: list[Any]) -> None:
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
