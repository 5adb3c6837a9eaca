# SPDX-License-Identifier: LGPL-2.1-or-later
"""Byte layout of a shmring channel (protocol 2), mirrored from shmring/shmring.h.

Every constant the Python side needs to find a field in the pool, a reader
block or a socket message lives here and nowhere else;
``tests/python/test_layout.py`` parses the C header and checks each value
against it.
"""

from __future__ import annotations

import struct

__all__ = [
    "MAGIC", "VERSION", "HEADER_SIZE", "DESC_OFFSET", "DESC_SLOT_SIZE", "DESC_SLOTS", "NAME_MAX", "CAPS_MAX",
    "MAX_PLANES", "NO_TIME", "SLOT_TABLE_OFFSET", "SLOT_HEADER_SIZE", "READER_LINES_OFFSET", "READER_LINE_SIZE",
    "MAX_READERS", "QUEUE_MAX", "HOLDS_MAX", "RESERVED_MAX", "BLOCK_SIZE", "SLOT_NONE", "SLOT_ALIGN",
    "MAX_SLOT_SIZE", "MAX_POOL_SIZE", "SOCKET_PREFIX", "MESSAGE_MAX",
    "STATE_OPEN", "STATE_CLOSED", "SLOT_FRAME", "SLOT_EOS", "MODE_CHANNEL", "MODE_LIVE", "MODE_NAMES",
    "READER_STALLED",
    "ROLE_READER", "ROLE_OBSERVER", "MSG_HELLO", "MSG_WELCOME", "MSG_REFUSED", "HELLO_WAKE_FD", "HELLO_FLAGS_ALL",
    "WAITING_FD",
    "POLICY_LOSSLESS", "POLICY_DROP_NEW", "POLICY_LIVE", "POLICY_NAMES",
    "FLAG_DISCONT", "FLAG_DELTA_UNIT", "FLAG_HEADER", "FLAG_GAP", "FLAG_DROPPABLE",
    "FLAG_MARKER", "FLAG_CORRUPTED", "FLAG_LIVE", "FLAGS_ALL",
    "POOL", "BLOCK", "READER_LINE", "DESC", "DESC_FIXED_STRUCT",
    "IDENTITY", "SLOT", "HELLO", "WELCOME", "REFUSED_HEAD", "REFUSED_SIZE", "READER_LINE_STRUCT",
    "F_SEAL_SEAL", "F_SEAL_SHRINK", "F_SEAL_GROW", "F_SEAL_FUTURE_WRITE", "POOL_SEALS", "BLOCK_SEALS",
]

MAGIC = 0x32474E49524D4853  # "SHMRING2" in memory order
VERSION = 2
HEADER_SIZE = 4096
DESC_OFFSET = 4096
DESC_SLOT_SIZE = 4096
DESC_SLOTS = 8
NAME_MAX = 99
CAPS_MAX = 3968  # caps bytes including the NUL
MAX_PLANES = 4
NO_TIME = (1 << 64) - 1
SLOT_TABLE_OFFSET = DESC_OFFSET + DESC_SLOTS * DESC_SLOT_SIZE
SLOT_HEADER_SIZE = 64
READER_LINES_OFFSET = 1024
READER_LINE_SIZE = 64
MAX_READERS = 32
QUEUE_MAX = 64
HOLDS_MAX = 64
RESERVED_MAX = 16
BLOCK_SIZE = 4096
SLOT_NONE = 0xFFFFFFFF
SLOT_ALIGN = 4096
MAX_SLOT_SIZE = 1 << 30
MAX_POOL_SIZE = 1 << 36
SOCKET_PREFIX = "shmring/"  # after the abstract namespace's NUL
MESSAGE_MAX = 384

STATE_OPEN = 1
STATE_CLOSED = 2
SLOT_FRAME = 1
SLOT_EOS = 2
MODE_CHANNEL = 0
MODE_LIVE = 1
MODE_NAMES = {MODE_CHANNEL: "channel", MODE_LIVE: "live"}
# reader line flags: a lossless reader the stall timeout made live until it catches up
READER_STALLED = 1 << 0
ROLE_READER = 1
ROLE_OBSERVER = 2
MSG_HELLO = 1
MSG_WELCOME = 2
MSG_REFUSED = 3
# HELLO flags: a reader that wants a wake descriptor (W5); waiting bit 31: it sleeps on that descriptor
HELLO_WAKE_FD = 1
HELLO_FLAGS_ALL = HELLO_WAKE_FD
WAITING_FD = 0x80000000

POLICY_LOSSLESS = 0
POLICY_DROP_NEW = 1
POLICY_LIVE = 2
POLICY_NAMES = {POLICY_LOSSLESS: "lossless", POLICY_DROP_NEW: "drop-new", POLICY_LIVE: "live"}


def default_queue_len(policy: int) -> int:
    """queue_len when none is given (shmring.h): 8 under lossless, room for a reader's hiccups; 2 under drop-new and
    live, so that what a lagging reader sees first stays fresh."""
    return 8 if policy == POLICY_LOSSLESS else 2


def slots_needed(max_readers: int, queue_len: int, max_holds: int, max_reserved: int, policy: int) -> int:
    """The slots a pool's limits need (shmring.h): the queues of lossless and live readers hold the last
    queue_len frames committed, together; a drop-new reader's queue may hold any queue_len older ones."""
    queued = max_readers * queue_len if policy == POLICY_DROP_NEW else queue_len
    return queued + max_readers * max_holds + max_reserved + 1


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
POOL: dict[str, tuple[int, int]] = {
    "magic": (0, 8),
    "version": (8, 4),
    "header_size": (12, 4),
    "pool_size": (16, 8),
    "slot_table_offset": (24, 8),
    "payload_offset": (32, 8),
    "slot_size": (40, 8),
    "generation": (48, 8),
    "n_slots": (56, 4),
    "max_readers": (60, 4),
    "queue_len": (64, 4),
    "max_holds": (68, 4),
    "max_reserved": (72, 4),
    "policy": (76, 4),
    "block_size": (80, 4),
    "desc_offset": (84, 4),
    "desc_slot_size": (88, 4),
    "desc_slots": (92, 4),
    "reader_lines_offset": (96, 4),
    "reserved0": (100, 28),
    # producer line
    "commit_seq": (128, 4),
    "state": (132, 4),
    "frames_written": (136, 8),
    "next_seq": (144, 8),
    "desc_id": (152, 4),
    "producer_pid": (156, 4),
    "producer_waiting": (160, 4),
    "eos": (164, 4),
    "readers": (168, 4),
    "reserved1": (172, 4),
    "frames_lost": (176, 8),
    "reserved2": (184, 8),
}

# A reader's block (mapped read-write by that reader only).
BLOCK: dict[str, tuple[int, int]] = {
    "head": (0, 8),
    "waiting": (8, 4),
    "taken": (12, 4),
    "sleep_seq": (16, 4),
    "tail": (64, 8),
    "queue": (128, 4 * QUEUE_MAX),
    "holds": (384, 4 * HOLDS_MAX),
}

READER_LINE: dict[str, tuple[int, int]] = {
    "pid": (0, 4),
    "uid": (4, 4),
    "mode": (8, 4),
    "holds": (12, 4),
    "frames_queued": (16, 8),
    "frames_dropped": (24, 8),
    "lag": (32, 4),
    "flags": (36, 4),
    "reserved": (40, 24),
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

# struct formats (little-endian, no padding) for whole-structure copies.
DESC_FIXED_STRUCT = "<II16sIIIIIIQQ4Q4I16x"  # the first 128 bytes of a description
IDENTITY = struct.Struct("<QIIQQQQQIIIIIIIIIII")  # pool header bytes 0..99
SLOT = struct.Struct("<QQQQQQIHHQ")  # struct shmring_slot
HELLO = struct.Struct("<IIIIIIQ")
WELCOME = struct.Struct("<IIIIQQII")
REFUSED_HEAD = struct.Struct("<IIiI")
REFUSED_SIZE = REFUSED_HEAD.size + MESSAGE_MAX
READER_LINE_STRUCT = struct.Struct("<IIIIQQII24x")

# memfd seals (linux/fcntl.h): what the producer sets on the pool and on each block.
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_FUTURE_WRITE = 0x1, 0x2, 0x4, 0x10
POOL_SEALS = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL
BLOCK_SEALS = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL
