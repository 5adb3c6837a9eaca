# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring.v2: the names shmring.Reader and shmring.Writer had while protocol 2 was being adopted.

Protocol 2 is the only protocol; use ``shmring.Reader`` and ``shmring.Writer``.
"""

from __future__ import annotations

from ._errors import (ChannelBusy, ChannelNotFound, Closed, CorruptSegment, Error, HoldsExhausted, PermissionDenied,
                      ProducerClosed, ProducerDied, Refused, Timeout)
from ._frame import Frame
from ._reader import Reader
from ._writer import Writer

__all__ = ["Reader", "Writer", "Frame", "Refused", "HoldsExhausted", "ChannelBusy", "ChannelNotFound", "Closed",
           "CorruptSegment", "Error", "PermissionDenied", "ProducerClosed", "ProducerDied", "Timeout"]
