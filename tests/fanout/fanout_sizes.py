# SPDX-License-Identifier: LGPL-2.1-or-later
"""fanout_sizes.py: the frame-size rule of fanout_common.h, in Python."""

M64 = (1 << 64) - 1


def frame_size(seq: int, lo: int, hi: int) -> int:
    """The size of frame ``seq``, between ``lo`` and ``hi`` (as fanout_common.h computes it)."""
    x = (seq * 0x9E3779B97F4A7C15 + 1) & M64
    x ^= x >> 29
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 32
    return lo + x % (hi - lo + 1)
