# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring: read and write shmring shared-memory video channels from pure Python.

A channel has one producer (GStreamer's ``shmringsink``, the C library or
:class:`Writer`) and up to its ``max_readers`` readers (``shmringsrc``, the
C library or :class:`Reader`), each isolated from the others: the frames
live in a sealed memory pool the readers map read-only, the producer
admits readers on the abstract socket ``@shmring/NAME``, and nothing of a
channel is left on disk or in /dev/shm.  Only the standard library is
needed (numpy for arrays)::

    import shmring

    kept = []
    with shmring.Reader("cam", timeout=5.0) as reader:
        for frame in reader:              # waits without polling; ends at end of stream
            img = frame.array             # read-only view into shared memory, no copy
            print(frame.seq, frame.pts, img.shape)
            if frame.seq % 30 == 0:
                kept.append(frame.copy()) # owned and writable: keep it, draw into it

Frames are zero-copy, read-only views valid only until released (the loop
moving on, ``frame.release()`` or ``reader.close()``); ``frame.copy()``
gives an owned frame (writable arrays and the same metadata) to keep.
``Reader(name, latest=True)`` is a live reader: it never holds the
producer back and gets the newest frame.  ``reader.poll()`` returns a
frame or None without waiting.  ``Reader(name, pollable=True)`` has a
``fileno()`` that ``select``, asyncio or a GLib main loop can wait on,
``shmring.wait(readers, timeout)`` waits for several at once, and
``async for frame in shmring.AsyncReader(name)`` reads in an asyncio loop
(no thread, no polling).  Errors derive from :class:`Error`; the
``shmring`` command (``python3 -m shmring``) lists, inspects, views and
watches (``top``) channels.

Every shared-memory access the protocol orders (acquire, release, CAS,
sequentially consistent) goes through ``shmring._atomic`` (libatomic), so
the package is correct on weakly ordered CPUs as well as on x86-64.
"""

from __future__ import annotations

from . import _layout as layout
from ._errors import (ChannelBusy, ChannelNotFound, ChannelOSError, Closed, CorruptSegment, Error, FrameReleased,
                      FrameTooLarge, HoldsExhausted, InvalidName, NoSpace, PermissionDenied, ProducerClosed,
                      ProducerDied, ProtocolVersion, Refused, Timeout, UntrustedProducer)
from ._frame import Frame
from ._layout import (FLAG_CORRUPTED, FLAG_DELTA_UNIT, FLAG_DISCONT, FLAG_DROPPABLE, FLAG_GAP, FLAG_HEADER,
                      FLAG_LIVE, FLAG_MARKER)
from ._aio import AsyncReader
from ._reader import Reader, inspect, wait
from ._stats import ReaderStats, Stats, list_channels
from ._sys import check_name
from ._video import FORMATS, StreamInfo
from ._writer import Writer

__version__ = "0.1.0"

__all__ = [
    "Reader", "AsyncReader", "wait", "Writer", "Frame", "StreamInfo", "Stats", "ReaderStats", "inspect",
    "list_channels", "check_name", "FORMATS", "layout",
    "Error", "InvalidName", "ChannelNotFound", "Refused", "ChannelBusy", "ProducerDied", "ProducerClosed",
    "CorruptSegment", "ProtocolVersion", "FrameTooLarge", "Timeout", "NoSpace", "FrameReleased",
    "ChannelOSError", "PermissionDenied", "UntrustedProducer", "Closed", "HoldsExhausted",
    "FLAG_DISCONT", "FLAG_DELTA_UNIT", "FLAG_HEADER", "FLAG_GAP", "FLAG_DROPPABLE", "FLAG_MARKER",
    "FLAG_CORRUPTED", "FLAG_LIVE",
]
