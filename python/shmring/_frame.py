# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring.Frame: one frame read from a channel, a zero-copy view or an owned copy."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional

from . import _layout as L
from ._errors import CorruptSegment, Error, FrameReleased
from ._video import StreamInfo, plane_geometry

if TYPE_CHECKING:  # pragma: no cover
    import numpy

    from ._reader import Reader

__all__ = ["Frame", "check_geometry"]

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
