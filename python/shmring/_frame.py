# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring.Frame: one frame read from a channel, a zero-copy view or an owned copy."""

from __future__ import annotations

import mmap
import time
from typing import TYPE_CHECKING, Any, Optional, Protocol

from . import _layout as L
from ._errors import CorruptSegment, Error, FrameReleased
from ._video import StreamInfo, plane_geometry

if TYPE_CHECKING:  # pragma: no cover
    import numpy

__all__ = ["Frame", "FrameOwner", "check_geometry", "layout"]


class FrameOwner(Protocol):
    """What a frame view needs of the reader that holds it (shmring.Reader is one): its mapping of the pool,
    the layouts it caches, and the release of the frame's hold.  This module imports no reader."""

    generation: int
    _rom: Optional[mmap.mmap]
    _pool_u8: Any

    def _pool_array(self, np: Any) -> Any: ...

    def _layout(self, info: StreamInfo, size: int) -> "_Layout": ...

    def _release_frame(self, f: "Frame") -> None: ...

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
_NO_TIME = L.NO_TIME
# numpy's arguments for one view of a payload: shape, dtype, offset in the payload, strides.
_View = tuple[tuple[int, ...], Any, int, tuple[int, ...]]


class _Layout:
    """The checked geometry of the frames of one description and size, and the numpy views it gives.

    A reader makes one per description and frame size, so the checks and
    the arguments of every array are worked out once, not per frame.
    """

    __slots__ = ("geo", "info", "size", "stacked", "_views")

    def __init__(self, geo: Optional[list[tuple[int, int, int, int, str]]], info: StreamInfo, size: int) -> None:
        self.geo = geo
        self.info = info
        self.size = size
        self.stacked = geo is not None and _stacked_420(geo, info, size)
        self._views: Optional[tuple[_View, list[_View]]] = None

    def views(self, np: Any) -> tuple[_View, list[_View]]:
        """The view ``array`` is, and one per plane (see Frame)."""
        if self._views is None:
            info = self.info
            planes: list[_View] = []
            for i, (rows, cols, comps, esize, dtype) in enumerate(self.geo or ()):
                stride = info.plane_strides[i]
                if comps == 1:
                    planes.append(((rows, cols), np.dtype(dtype), info.plane_offsets[i], (stride, esize)))
                else:
                    planes.append(((rows, cols, comps), np.dtype(dtype), info.plane_offsets[i],
                                   (stride, comps * esize, esize)))
            if len(planes) == 1:
                array = planes[0]
            elif self.stacked:
                array = ((info.height * 3 // 2, info.width), np.dtype(np.uint8), 0, (info.width, 1))
            else:
                array = ((self.size,), np.dtype(np.uint8), 0, (1,))
            self._views = (array, planes)
        return self._views


def _stacked_420(geo: list[tuple[int, int, int, int, str]], info: StreamInfo, size: int) -> bool:
    """Are the planes of a 4:2:0 frame packed tightly, so (h * 3 // 2, w) covers them exactly?"""
    if info.format not in _STACKED_420 or info.width % 2 or info.height % 2:
        return False
    end = 0
    for (rows, cols, comps, esize, _dt), off, stride in zip(geo, info.plane_offsets, info.plane_strides):
        if off != end or stride != cols * comps * esize:
            return False
        end += rows * stride
    return end == info.width * info.height * 3 // 2 <= size


def layout(name: str, info: StreamInfo, size: int) -> _Layout:
    """Check that every plane of ``info`` fits in a payload of ``size`` bytes; the layout of such frames."""
    return _Layout(check_geometry(name, info, size), info, size)


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
        "_reader": "", "_entry": "", "_off": "", "_buf": "", "_layout": "", "_array": "", "_planes": "",
        "__weakref__": "",
    }

    def __init__(self, reader: Optional[FrameOwner], entry: list[Any], off: int, size: int, seq: int, pts: int,
                 dts: int, duration: int, flags: int, commit_ns: int, info: StreamInfo, dropped: int,
                 generation: int = 0, buf: Optional[bytearray] = None, lay: Optional[_Layout] = None) -> None:
        self._reader: Optional[FrameOwner] = reader
        self._entry = entry
        self._off = off
        self._buf = buf
        self.size = size
        self.seq = seq
        self.pts: Optional[int] = None if pts == _NO_TIME else pts
        self.dts: Optional[int] = None if dts == _NO_TIME else dts
        self.duration: Optional[int] = None if duration == _NO_TIME else duration
        self.flags = flags
        self.commit_ns = commit_ns
        self.info = info
        self.dropped = dropped
        self.generation = reader.generation if reader is not None else generation
        self._layout = lay
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
        lay = self._get_layout()
        geo = lay.geo
        if geo is None:
            return (self.size,)
        if len(geo) == 1:
            rows, cols, comps, _e, _d = geo[0]
            return (rows, cols) if comps == 1 else (rows, cols, comps)
        if lay.stacked:
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

    def _array_source(self, np: Any) -> tuple[Any, int]:
        """A uint8 array over the whole buffer holding the payload, and the payload's offset in it.

        np.ndarray(buffer=...) lets go of the buffer export at once and keeps
        only a reference: views are made over this array, which holds an
        export (np.frombuffer), so the mapping cannot be unmapped, nor a
        copy's bytearray resized, while a view lives.
        """
        if self._buf is not None:
            return np.frombuffer(self._buf, np.uint8), 0
        r = self._reader
        if r is None:
            self._source()  # raises FrameReleased
        assert r is not None
        return r._pool_array(np), self._off

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
        a: "numpy.ndarray[Any, Any]" = self._array
        if a is None:
            r, lay = self._reader, self._layout
            if r is not None and lay is not None and lay._views is not None and r._pool_u8 is not None:
                # The reader's next frame of a known layout: everything is at hand.
                shape, dtype, o, strides = lay._views[0]
                a = self._array = _np.ndarray(shape, dtype, r._pool_u8, self._off + o, strides)
                return a
            np = _np if _np is not None else _numpy()
            buf, off = self._array_source(np)
            (shape, dtype, o, strides), _planes = self._get_layout().views(np)
            # Over the reader's read-only mapping the array is read-only and cannot be made writable.
            a = self._array = np.ndarray(shape, dtype, buf, off + o, strides)
        return a

    @property
    def planes(self) -> list["numpy.ndarray[Any, Any]"]:
        """One numpy array per plane: (rows, columns) or (rows, columns, components), with the plane's stride.

        Packed formats give one plane shaped like ``array``; NV12's UV plane
        is (rows, columns, 2).  Empty for non-raw streams.  Read-only and
        valid until release for a view, writable for a copy.
        """
        if self._planes is None:
            np = _numpy()
            buf, off = self._array_source(np)
            _array, views = self._get_layout().views(np)
            self._planes = [np.ndarray(shape, dtype, buf, off + o, strides) for shape, dtype, o, strides in views]
        out: list["numpy.ndarray[Any, Any]"] = self._planes
        return out

    def _get_layout(self) -> _Layout:
        lay = self._layout
        if lay is None:
            r = self._reader
            lay = self._layout = r._layout(self.info, self.size) if r is not None else layout("", self.info, self.size)
        return lay

    def copy(self) -> "Frame":
        """An owned copy of the frame: same metadata, writable arrays, valid for as long as you keep it.

        This is the way to keep a frame after the loop moves on, or to draw
        into it; the copy costs one memcpy of the payload.
        """
        c = Frame(None, [], 0, self.size, self.seq, L.NO_TIME, L.NO_TIME, L.NO_TIME, self.flags, self.commit_ns,
                  self.info, self.dropped, self.generation, bytearray(self.data))
        c.pts, c.dts, c.duration = self.pts, self.dts, self.duration
        c._layout = self._get_layout()
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
