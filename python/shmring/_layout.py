# SPDX-License-Identifier: LGPL-2.1-or-later
"""Byte layout of a shmring segment (protocol version 1), mirrored from shmring.h.

Every constant the Python side needs to find a field in shared memory lives
here and nowhere else; ``tests/python/test_layout.py`` parses the C header
and checks each value against it.
"""

from __future__ import annotations

__all__ = [
    "MAGIC", "VERSION", "HEADER_SIZE", "DESC_OFFSET", "DESC_SLOT_SIZE", "DESC_SLOTS",
    "RING_OFFSET", "RECORD_ALIGN", "RECORD_HEADER_SIZE", "MIN_RING_SIZE", "MAX_RING_SIZE",
    "RELEASE_NONE", "NAME_MAX", "PATH_PREFIX", "TEMP_PREFIX", "CAPS_MAX", "MAX_PLANES", "NO_TIME",
    "LOCK_PRODUCER", "LOCK_READER", "LOCK_CLAIM",
    "STATE_OPEN", "STATE_CLOSED",
    "POLICY_LOSSLESS", "POLICY_DROP_NEW", "POLICY_LIVE", "POLICY_NAMES",
    "RECORD_FRAME", "RECORD_PAD", "RECORD_EOS",
    "FLAG_DISCONT", "FLAG_DELTA_UNIT", "FLAG_HEADER", "FLAG_GAP", "FLAG_DROPPABLE",
    "FLAG_MARKER", "FLAG_CORRUPTED", "FLAG_LIVE", "FLAGS_ALL",
    "HEADER", "DESC", "RECORD",
]

MAGIC = 0x31474E49524D4853  # "SHMRING1" in memory order
VERSION = 1
HEADER_SIZE = 4096
DESC_OFFSET = 4096
DESC_SLOT_SIZE = 4096
DESC_SLOTS = 8
RING_OFFSET = DESC_OFFSET + DESC_SLOTS * DESC_SLOT_SIZE  # 36864
RECORD_ALIGN = 64
RECORD_HEADER_SIZE = 64
MIN_RING_SIZE = 4096
MAX_RING_SIZE = 1 << 34  # 16 GiB
RELEASE_NONE = 1 << 63
NAME_MAX = 200
PATH_PREFIX = "/dev/shm/shmring."
# A producer builds its segment in TEMP_PREFIX + "NAME.PID.RANDOM" and links it into place.
TEMP_PREFIX = "/dev/shm/.shmring."
CAPS_MAX = 3968  # caps bytes including the NUL
MAX_PLANES = 4
NO_TIME = (1 << 64) - 1

LOCK_PRODUCER = 0
LOCK_READER = 1
LOCK_CLAIM = 2

STATE_OPEN = 1
STATE_CLOSED = 2

POLICY_LOSSLESS = 0
POLICY_DROP_NEW = 1
POLICY_LIVE = 2
POLICY_NAMES = {POLICY_LOSSLESS: "lossless", POLICY_DROP_NEW: "drop-new", POLICY_LIVE: "live"}

RECORD_FRAME = 1
RECORD_PAD = 2
RECORD_EOS = 3

FLAG_DISCONT = 1 << 0
FLAG_DELTA_UNIT = 1 << 1
FLAG_HEADER = 1 << 2
FLAG_GAP = 1 << 3
FLAG_DROPPABLE = 1 << 4
FLAG_MARKER = 1 << 5
FLAG_CORRUPTED = 1 << 6
FLAG_LIVE = 1 << 7
FLAGS_ALL = 0xFF

# Field offsets: name -> (byte offset, size in bytes).  Sizes 4 and 8 are
# accessed as aligned u32/u64 words of the mapping.
HEADER: dict[str, tuple[int, int]] = {
    "magic": (0, 8),
    "version": (8, 4),
    "header_size": (12, 4),
    "segment_size": (16, 8),
    "ring_offset": (24, 8),
    "ring_size": (32, 8),
    "generation": (40, 8),
    "desc_offset": (48, 4),
    "desc_slot_size": (52, 4),
    "desc_slots": (56, 4),
    "policy": (60, 4),
    # producer line
    "write_pos": (64, 8),
    "prod_seq": (72, 4),
    "state": (76, 4),
    "frames_written": (80, 8),
    "frames_dropped": (88, 8),
    "next_seq": (96, 8),
    "producer_pid": (104, 4),
    "writer_waiting": (108, 4),
    "desc_id": (112, 4),
    "reserved0": (116, 4),
    "eos_pos": (120, 8),
    # consumer line
    "read_pos": (128, 8),
    "release_pos": (136, 8),
    "cons_seq": (144, 4),
    "reader_waiting": (148, 4),
    "frames_read": (152, 8),
    "frames_skipped": (160, 8),
    "last_read_seq": (168, 8),
    "reader_pid": (176, 4),
    "reader_attaches": (180, 4),
    "reserved1": (184, 8),
    "reserved": (192, HEADER_SIZE - 192),
}

DESC: dict[str, tuple[int, int]] = {
    "id": (0, 4),
    "caps_len": (4, 4),
    "format": (8, 16),
    "width": (24, 4),
    "height": (28, 4),
    "n_planes": (32, 4),
    "fps_n": (36, 4),
    "fps_d": (40, 4),
    "reserved0": (44, 4),
    "frame_size": (48, 8),
    "reserved1": (56, 8),
    "plane_offset": (64, 8 * MAX_PLANES),
    "plane_stride": (96, 4 * MAX_PLANES),
    "reserved2": (112, 16),
    "caps": (128, CAPS_MAX),
}

RECORD: dict[str, tuple[int, int]] = {
    "type": (0, 2),
    "flags": (2, 2),
    "desc_id": (4, 4),
    "length": (8, 8),
    "size": (16, 8),
    "seq": (24, 8),
    "pts": (32, 8),
    "dts": (40, 8),
    "duration": (48, 8),
    "commit_ns": (56, 8),
}

# struct formats (little-endian, no padding) for whole-structure copies.
RECORD_STRUCT = "<HHIQQQQQQQ"  # 64 bytes, the fields of RECORD in order
DESC_FIXED_STRUCT = "<II16sIIIIIIQQ4Q4I16x"  # the first 128 bytes of a description
IDENTITY_STRUCT = "<QIIQQQQIIII"  # header bytes 0..63
