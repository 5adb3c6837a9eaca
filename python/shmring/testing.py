# SPDX-License-Identifier: LGPL-2.1-or-later
"""Test helpers: the shared frame pattern that proves a frame arrived intact.

The payload of frame ``seq`` with ``n`` bytes is: bytes 0..7 = ``seq`` as a
little-endian u64, then byte i = (seq * 131 + i * 7) & 0xff.  The C test and
demo programs stamp and check the same pattern.
"""

from __future__ import annotations

from typing import Any

__all__ = ["pattern", "check_pattern", "pattern_seq"]


def _period(seq: int) -> Any:
    """Bytes 0..255 of the pattern, before the stamp: it repeats every 256 bytes (7 is odd)."""
    import numpy as np
    return ((np.arange(256, dtype=np.uint32) * 7 + ((seq * 131) & 0xFF)) & 0xFF).astype(np.uint8)


def _head(seq: int, n: int) -> bytes:
    return (seq & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")[: min(8, n)]


def pattern(seq: int, n: int) -> Any:
    """The pattern payload of frame ``seq``, ``n`` bytes, as a new uint8 numpy array."""
    import numpy as np
    out = np.resize(_period(seq), n)
    head = _head(seq, n)
    out[: len(head)] = np.frombuffer(head, dtype=np.uint8)
    return out


def pattern_seq(data: Any) -> int:
    """The sequence number stamped in the first 8 bytes of a pattern payload."""
    return int.from_bytes(bytes(memoryview(data).cast("B")[:8]), "little")


def check_pattern(data: Any, seq: int | None = None) -> bool:
    """True if ``data`` (bytes-like or uint8 array) is the pattern of its stamped (or the given) seq."""
    import numpy as np
    buf = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8) if not isinstance(data, np.ndarray) \
        else np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    if seq is None:
        if buf.size < 8:
            return False
        seq = pattern_seq(buf[:8].tobytes())
    n = buf.size
    period = _period(seq)
    first = pattern(seq, min(n, 256))
    if not np.array_equal(buf[: first.size], first):
        return False
    # The rest a 256-byte row (32 uint64 words) at a time against one period:
    # no frame-sized temporaries.
    rows = n // 256
    if rows > 1 and not (buf[256: rows * 256].view(np.uint64).reshape(rows - 1, 32)
                         == period.view(np.uint64)).all():
        return False
    tail = n - max(rows, 1) * 256
    return tail <= 0 or bool(np.array_equal(buf[n - tail:], period[:tail]))
