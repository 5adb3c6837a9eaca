# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring: read and write shmring shared-memory video channels from pure Python.

A channel is a single-producer / single-consumer ring of frames in
``/dev/shm/shmring.NAME``, written by GStreamer's ``shmringsink``, the C
library or :class:`Writer`, and read by ``shmringsrc``, the C library or
:class:`Reader`.  Only the standard library is needed (numpy for arrays)::

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
``reader.poll()`` returns a frame or None without waiting.  Errors derive
from :class:`Error`; the ``shmring`` command (``python3 -m shmring``) lists,
inspects, views, watches (``top``) and cleans channels.

The Python side relies on x86-64 memory ordering (TSO): aligned 4/8-byte
loads and stores through ``memoryview.cast`` act as acquire loads and
release stores, as docs/PROTOCOL.md explains; it always issues FUTEX_WAKE
where C would first check a waiting flag behind a full barrier.
"""

from __future__ import annotations

from . import _layout as layout
from ._errors import (ChannelBusy, ChannelNotFound, ChannelOSError, Closed, CorruptSegment, Error, FrameReleased,
                      FrameTooLarge, InvalidName, NoSpace, PermissionDenied, ProducerClosed, ProducerDied,
                      ProtocolVersion, Timeout)
from ._layout import (FLAG_CORRUPTED, FLAG_DELTA_UNIT, FLAG_DISCONT, FLAG_DROPPABLE, FLAG_GAP, FLAG_HEADER,
                      FLAG_LIVE, FLAG_MARKER)
from ._reader import Frame, Reader
from ._segment import Stats, inspect, list_channels
from ._sys import channel_path, check_name
from ._video import FORMATS, StreamInfo
from ._writer import Writer

__version__ = "0.1.0"

__all__ = [
    "Reader", "Writer", "Frame", "StreamInfo", "Stats", "inspect", "list_channels", "check_name",
    "channel_path", "FORMATS", "layout",
    "Error", "InvalidName", "ChannelNotFound", "ChannelBusy", "ProducerDied", "ProducerClosed",
    "CorruptSegment", "ProtocolVersion", "FrameTooLarge", "Timeout", "NoSpace", "FrameReleased",
    "ChannelOSError", "PermissionDenied", "Closed",
    "FLAG_DISCONT", "FLAG_DELTA_UNIT", "FLAG_HEADER", "FLAG_GAP", "FLAG_DROPPABLE", "FLAG_MARKER",
    "FLAG_CORRUPTED", "FLAG_LIVE",
]
