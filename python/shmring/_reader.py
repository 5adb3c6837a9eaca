# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring.Reader: a reader of a channel (one of up to max_readers, each isolated), zero-copy frames.

The producer listens on the abstract Unix socket ``@shmring/NAME``; a
reader sends HELLO and gets WELCOME with two sealed memfds, the pool
(mapped read-only: frames are read-only numpy views) and its own reader
block (mapped read-write), or REFUSED with the producer's message.  Every
word the protocol orders goes through ``shmring._atomic`` (libatomic.so.1),
so the reader is correct on weakly ordered CPUs (aarch64) too.  The byte
layout is shmring/shmring.h's, mirrored in ``shmring._layout``.
"""

from __future__ import annotations

import difflib
import dataclasses
import errno
import fcntl
import mmap
import os
import re
import select
import socket
import stat
import struct
import time
from collections import deque
from typing import Any, Iterator, Optional, cast

from . import _atomic as A
from . import _layout as L
from . import _sys
from ._errors import (ChannelBusy, ChannelNotFound, ChannelOSError, Closed, CorruptSegment, Error, HoldsExhausted,
                      PermissionDenied, ProducerClosed, ProducerDied, ProtocolVersion, Refused, Timeout,
                      UntrustedProducer)
from ._frame import Frame, _Layout, layout
from ._stats import Stats, list_channels, stats_of
from ._video import TILED, VSUB, StreamInfo, plane_rows

__all__ = ["Reader", "inspect", "wait"]

# --- layout (shmring/shmring.h, mirrored in _layout) -------------------------
from ._layout import (BLOCK_SEALS, BLOCK_SIZE, HEADER_SIZE, HOLDS_MAX, MAGIC, MAX_READERS,
                      MAX_SLOT_SIZE, MODE_CHANNEL, MODE_LIVE, MSG_HELLO, MSG_REFUSED, MSG_WELCOME, HELLO_WAKE_FD,
                      WAITING_FD,
                      POOL_SEALS, QUEUE_MAX, READER_LINES_OFFSET, RESERVED_MAX, ROLE_OBSERVER, ROLE_READER,
                      SLOT_ALIGN, SLOT_EOS, SLOT_FRAME, SLOT_HEADER_SIZE, SLOT_NONE, SLOT_TABLE_OFFSET,
                      SOCKET_PREFIX, STATE_CLOSED, STATE_OPEN, VERSION)

_IDENTITY = L.IDENTITY
_COMMIT_SEQ = L.POOL["commit_seq"][0]
_STATE = L.POOL["state"][0]
_DESC_ID = L.POOL["desc_id"][0]
_PRODUCER_WAITING = L.POOL["producer_waiting"][0]
_EOS = L.POOL["eos"][0]
_HEAD = L.BLOCK["head"][0]
_WAITING = L.BLOCK["waiting"][0]
_SLEEP_SEQ = L.BLOCK["sleep_seq"][0]
_TAKEN = L.BLOCK["taken"][0]
_TAIL = L.BLOCK["tail"][0]
_QUEUE = L.BLOCK["queue"][0]
_HOLDS = L.BLOCK["holds"][0]
_SLOT = L.SLOT
_HELLO = L.HELLO
_WELCOME = L.WELCOME
_REFUSED_HEAD = L.REFUSED_HEAD
_REFUSED_SIZE = L.REFUSED_SIZE
F_GET_SEALS = getattr(fcntl, "F_GET_SEALS", 1034)
F_SEAL_WRITE = 0x8

_DESC = struct.Struct(L.DESC_FIXED_STRUCT)
_CAPS_OFF = L.DESC["caps"][0]
_R2_OFF, _R2_LEN = L.DESC["reserved2"]
_SLICE = 0.2  # longest single futex wait: a dead producer is seen within it
_HUP_CHECK_NS = 10_000_000  # how often a reader that finds its queue empty looks for a hang-up
_ANSWER_S = 5.0  # a live producer answers HELLO at once
_HINT_RECONNECT = "read with reconnect=True (shmringsrc reconnect=true) to wait for the next producer"
_HINT_EOS = ("stop a gst-launch-1.0 producer with -e (gst-launch-1.0 -e ...) so that Ctrl-C sends end of "
             "stream")
# Head past tail is a stale tail while the producer makes progress (commit_seq moves): looked at again
# for up to a second, or _STALE_TAIL_MAX times in a row without progress; then the queue is corrupt.
_STALE_TAIL_S = 1.0
_STALE_TAIL_MAX = 1000
_NOT_FLAGS = ~L.FLAGS_ALL


def _round_up(v: int, a: int) -> int:
    return (v + a - 1) // a * a


def _check_memfd(name: str, fd: int, seals: int, size: int, what: str, writable: bool = False) -> int:
    """Check a received memfd's seals, size and access mode before it is mapped (what the producer got wrong is
    CorruptSegment naming it, never the mapping's OSError); returns its size."""
    try:
        have = fcntl.fcntl(fd, F_GET_SEALS)
    except OSError as e:
        have = -1
        why = f" ({os.strerror(e.errno or 0)})"
    else:
        why = ""
    if have < 0 or have & seals != seals:
        raise CorruptSegment(f"channel {name!r}: the {what} is not sealed (seals {have:#x}, need {seals:#x})"
                             f"{why}: it could shrink under this reader; the producer must seal its memfds")
    acc = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
    if acc == os.O_WRONLY or (writable and acc != os.O_RDWR):
        raise CorruptSegment(f"channel {name!r}: the producer sent the {what} opened "
                             f"{'write-only' if acc == os.O_WRONLY else 'read-only'}; it must be opened "
                             f"{'read-write' if writable else 'for reading'}")
    if writable and have & (F_SEAL_WRITE | L.F_SEAL_FUTURE_WRITE):
        raise CorruptSegment(f"channel {name!r}: the producer sealed the {what} against writes (seals {have:#x}); "
                             f"this reader must write to it")
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise CorruptSegment(f"channel {name!r}: the {what} is not a memory file")
    if size and st.st_size != size:
        raise CorruptSegment(f"channel {name!r}: the {what} has {st.st_size} bytes, not {size}")
    if not size and st.st_size < HEADER_SIZE:
        raise CorruptSegment(f"channel {name!r}: the {what} has {st.st_size} bytes, less than {HEADER_SIZE}")
    return st.st_size


class _Identity:
    """The pool's identity fields, copied once and checked against each other and the memfd's size."""

    def __init__(self, name: str, raw: bytes, fsize: int) -> None:
        (magic, version, header_size, self.pool_size, slot_table_offset, self.payload_offset, self.slot_size,
         self.generation, self.n_slots, self.max_readers, self.queue_len, self.max_holds, self.max_reserved,
         self.policy, block_size, desc_offset, desc_slot_size, desc_slots,
         lines_offset) = _IDENTITY.unpack_from(raw, 0)

        def bad(what: str) -> CorruptSegment:
            return CorruptSegment(f"channel {name!r}: pool {what}; is a protocol 2 producer serving it?")

        if magic != MAGIC:
            raise bad(f"magic {magic:#x} is wrong")
        if version != VERSION:
            raise ProtocolVersion(f"channel {name!r}: pool of protocol {version}, this reader speaks {VERSION}")
        if (header_size, desc_offset, desc_slot_size, desc_slots, lines_offset, block_size, slot_table_offset) != \
                (HEADER_SIZE, L.DESC_OFFSET, L.DESC_SLOT_SIZE, L.DESC_SLOTS, READER_LINES_OFFSET, BLOCK_SIZE,
                 SLOT_TABLE_OFFSET):
            raise bad("header has a wrong fixed offset or size")
        if not (1 <= self.max_readers <= MAX_READERS and 1 <= self.queue_len <= QUEUE_MAX
                and 1 <= self.max_holds <= HOLDS_MAX and 1 <= self.max_reserved <= RESERVED_MAX
                and self.policy <= L.POLICY_LIVE):
            raise bad("limits out of range")
        need = L.slots_needed(self.max_readers, self.queue_len, self.max_holds, self.max_reserved, self.policy)
        if self.n_slots != need:
            raise bad(f"has {self.n_slots} slots, its limits need {need}")
        if not (SLOT_ALIGN <= self.slot_size <= MAX_SLOT_SIZE and self.slot_size % SLOT_ALIGN == 0):
            raise bad(f"slot size {self.slot_size} out of range")
        payload = SLOT_TABLE_OFFSET + _round_up(self.n_slots * SLOT_HEADER_SIZE, SLOT_ALIGN)
        if self.payload_offset != payload:
            raise bad(f"payload offset {self.payload_offset}, expected {payload}")
        if self.pool_size != payload + self.n_slots * self.slot_size or self.pool_size != fsize:
            raise bad(f"size {self.pool_size} does not match its slots or its memfd ({fsize})")
        if any(raw[100:128]):
            raise bad("reserved bytes are not zero")


def _parse_desc(name: str, buf: bytes, d: int) -> StreamInfo:
    """Validate a private copy of description ``d`` (one 4096-byte slot): every plane inside the frame."""
    (sid, caps_len, fmt, width, height, n_planes, fps_n, fps_d, r0, frame_size, r1,
     o0, o1, o2, o3, s0, s1, s2, s3) = _DESC.unpack_from(buf, 0)

    def bad(what: str) -> CorruptSegment:
        return CorruptSegment(f"channel {name!r}: description {d}: {what}")

    if sid != d:
        raise bad(f"its slot holds id {sid}")
    if caps_len >= L.CAPS_MAX:
        raise bad(f"caps_len = {caps_len}, limit {L.CAPS_MAX - 1}")
    raw = buf[_CAPS_OFF:_CAPS_OFF + caps_len + 1]
    if raw[-1] != 0 or 0 in raw[:-1]:
        raise bad(f"caps not a string of {caps_len} bytes")
    if r0 or r1 or any(buf[_R2_OFF:_R2_OFF + _R2_LEN]):
        raise bad("reserved fields not zero")
    if b"\0" not in fmt:
        raise bad("format is not NUL-terminated")
    if n_planes > L.MAX_PLANES:
        raise bad(f"n_planes = {n_planes}, limit {L.MAX_PLANES}")
    try:
        caps = raw[:-1].decode("utf-8")
        fmt_s = fmt.split(b"\0", 1)[0].decode("ascii")
    except UnicodeDecodeError as e:
        raise bad(f"undecodable text ({e})") from None
    if n_planes and not frame_size:
        raise bad(f"n_planes = {n_planes} with frame_size 0")
    offs = (o0, o1, o2, o3)[:n_planes]
    strides = (s0, s1, s2, s3)[:n_planes]
    rows = plane_rows(fmt_s, height, n_planes)
    if rows is None:
        raise bad(f"format {fmt_s} has {2 if fmt_s in TILED else len(VSUB[fmt_s])} planes, n_planes = {n_planes}")
    for i in range(n_planes):
        if offs[i] + strides[i] * rows[i] > frame_size:
            raise bad(f"plane {i} offset {offs[i]} + stride {strides[i]} x {rows[i]} rows > frame_size {frame_size}")
    return StreamInfo(d, caps, fmt_s, width, height, fps_n, fps_d, frame_size, offs, strides)


_SO_PEERGROUPS = getattr(socket, "SO_PEERGROUPS", 59)


def _check_trust(name: str, s: socket.socket, uid: Optional[int], gid: Optional[int]) -> None:
    """Raise UntrustedProducer unless the process serving the name runs as this user, root, uid or in gid:
    anyone can bind a channel's abstract name before its real producer."""
    pid, puid, pgid = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    me = os.geteuid()
    if puid in (0, me) or (uid is not None and puid == uid):
        return
    if gid is not None:
        groups = [pgid]
        try:
            raw = s.getsockopt(socket.SOL_SOCKET, _SO_PEERGROUPS, 4 * 256)
            groups += list(struct.unpack(f"{len(raw) // 4}I", raw[:len(raw) // 4 * 4]))
        except OSError:
            pass
        if gid in groups:
            return
    raise UntrustedProducer(f"channel {name!r} is served by uid {puid} (pid {pid}), not by this user (uid {me}) "
                            f"or root: not trusted as its producer (anyone can take a channel's name first); to "
                            f"trust it, pass producer_uid={puid} (or producer_gid=) to Reader")


def _connect(name: str, deadline: Optional[float]) -> socket.socket:
    """Connect to the channel's socket, retrying while nobody listens on the name."""
    addr = "\0" + SOCKET_PREFIX + name
    start = time.monotonic()
    delay = 0.005
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            s.connect(addr)
            return s
        except OSError as e:
            s.close()
            if e.errno not in (errno.ECONNREFUSED, errno.ENOENT, errno.EAGAIN):
                raise Error(f"channel {name!r}: connect: {os.strerror(e.errno or 0)}") from None
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            try:
                known = list_channels()
            except Error:  # no listing to suggest from: the channel is still not there
                known = []
            near = difflib.get_close_matches(name, known, 3, 0.8)
            hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
            raise ChannelNotFound(f"no channel {name!r}: it has no producer (waited {now - start:.1f} s); start "
                                  f"the producer or check the name{hint}")
        time.sleep(delay if deadline is None else max(0.0, min(delay, deadline - now)))
        delay = min(delay * 2, 0.1)


# The reasons a producer may give (PROTOCOL.md): its errno is data, never one of this reader's own control
# codes (EINTR, EAGAIN, ETIMEDOUT...); any other is a protocol error.
_REFUSED_REASONS = frozenset((errno.EBUSY, errno.EACCES, errno.EPROTO, errno.ENOSPC, errno.ENOMEM))


def _refused(msg: bytes, after_welcome: bool = False) -> Optional[Refused]:
    """The Refused error a REFUSED message carries, or None if ``msg`` is not one.  After WELCOME a
    REFUSED can only mean this reader broke the protocol: EPROTO, whatever errno it carries."""
    if len(msg) != _REFUSED_SIZE:
        return None
    mtype, size, err, _r = _REFUSED_HEAD.unpack_from(msg, 0)
    if mtype != MSG_REFUSED or size != _REFUSED_SIZE or not 0 < err < 4096:
        return None
    text = msg[_REFUSED_HEAD.size:].split(b"\0", 1)[0].decode("utf-8", "replace")
    if after_welcome:
        return Refused(text, errno.EPROTO)
    if err not in _REFUSED_REASONS:
        return Refused(f"the producer refused with error {err}, not one the protocol defines: {text}", errno.EPROTO)
    if err == errno.EBUSY:
        pids = re.search(r"pids?:?\s*((?:\d+[ ,]*)+)", text)
        return ChannelBusy(text, err, tuple(int(p) for p in re.findall(r"\d+", pids.group(1))) if pids else ())
    if err == errno.EACCES:
        return PermissionDenied(text, err)
    return Refused(text, err)


def _received(msg: bytes, nfds: int, flags: int = 0) -> str:
    """What a peer sent, for an error message: its length, its type and size fields (or its bytes), its
    descriptors."""
    what = f"{'more than ' if flags & socket.MSG_TRUNC else ''}{len(msg)} bytes"
    if len(msg) >= 8:
        mtype, size = struct.unpack_from("<II", msg)
        what += f" (type {mtype}, size {size})"
    else:
        what += f" ({msg.hex()})"
    return f"{what}, {nfds} descriptor{'' if nfds == 1 else 's'}"


class Reader:
    """Attach to a channel as one of its readers (a channel has one producer and up to max_readers readers).

    ``Reader(name, timeout=5.0)`` waits up to ``timeout`` seconds (None =
    forever) for the channel's producer, and with ``reconnect=True`` as long
    for a restarted one.  ``holds`` is how many frames it may hold at once
    (0 = the producer's most; the producer caps it).  ``latest=True``
    attaches in live mode, which never holds the producer back (it loses
    the oldest frames instead), and skips to the newest frame queued.
    ``frame_timeout`` bounds each wait for a frame (None = forever; a dead
    producer is still noticed within 200 ms).

    Iterating yields Frame objects until end of stream, each released when
    the iteration moves on; ``next_frame()`` returns a frame the caller
    must ``release()`` (None at end of stream); ``poll()`` returns None at
    once when no frame is ready.  Frames are read-only views into the
    producer's pool (see Frame); ``frame.copy()`` keeps one.  Frames
    published before the reader attached are not delivered to it.  Unless
    it is live, a reader takes every queued frame it has holds for at once
    and hands them out one by one: a producer waiting for room is woken
    once for all of them (``latest=True`` skips those not handed out yet).

    Raises ChannelNotFound, ChannelBusy (the reader limit: the message
    names the limit and the readers' pids), PermissionDenied (the producer
    does not share the channel with this uid), Refused (protocol),
    CorruptSegment (memory that fails the checks, e.g. unsealed),
    HoldsExhausted, Timeout, ProducerDied, ProducerClosed; all are
    shmring.Error.  Any method of a closed reader raises Closed.

    Attributes:
        name: the channel name.
        timeout: seconds to wait for the producer (and a restarted one); None = forever.
        latest: live mode, newest frame first.
        reconnect: follow a restarted producer instead of raising ProducerDied/ProducerClosed.
        holds: frames this reader may hold at once (granted by the producer).
        live: True if the producer granted live mode.
        index: this reader's index in the channel.
        generation: the pool's generation.
        frames: frames read so far.
        dropped: frames missing between the frames read (sequence gaps).
        reconnects: times a restarted producer was followed.
        frame_timeout: default seconds next_frame() waits; None = forever.
        pollable: True if the reader has a wake descriptor (``fileno()``).

    A reader takes frames only from a producer running as its own user or
    root: anyone can take a channel's name first.  ``producer_uid`` /
    ``producer_gid`` also trust a producer of that uid or group; any other
    raises UntrustedProducer naming the producer's uid.

    ``pollable=True`` asks the producer for a wake descriptor (PROTOCOL.md
    W5): ``fileno()`` then becomes readable when a frame, the end of stream
    or a state change (the producer closed or died) is due, so ``select``,
    ``selectors``, asyncio's ``add_reader`` (see AsyncReader) or a GLib main
    loop can wait on it, and ``shmring.wait()`` waits for several readers.
    ``poll()`` returning None arms it: wait on the descriptor only after
    that (a wake may also be for nothing: ``poll()`` again).  Off by
    default: it needs a producer that knows it (one that does not refuses
    the reader with Refused naming the flag), and costs one descriptor.
    """

    def __init__(self, name: str, timeout: Optional[float] = 5.0, *, holds: int = 0, latest: bool = False,
                 live: Optional[bool] = None, reconnect: bool = False,
                 frame_timeout: Optional[float] = None, producer_uid: Optional[int] = None,
                 producer_gid: Optional[int] = None, pollable: bool = False) -> None:
        self.name = _sys.check_name(name)
        self.pollable = pollable
        self._wake: Optional[socket.socket] = None
        self._trust = (producer_uid, producer_gid)
        if not 0 <= holds <= HOLDS_MAX:
            raise ValueError(f"holds must be 0 (the producer's most) .. {HOLDS_MAX}, got {holds}")
        self.timeout = timeout
        self.latest = latest
        self._want_live = latest if live is None else live
        self._want_holds = holds
        self.reconnect = reconnect
        self.frame_timeout = frame_timeout
        self.frames = 0
        self.dropped = 0
        self.reconnects = 0
        self.generation = 0
        self._closed = True
        self._sock: Optional[socket.socket] = None
        self._rom: Optional[mmap.mmap] = None
        self._bmm: Optional[mmap.mmap] = None
        self._keep: list[Any] = []
        self._pool_u8: Any = None  # a numpy uint8 array over the whole pool, made for the first frame array
        self._frames: dict[int, Frame] = {}  # hold index -> frame handed out
        self._iter_frame: Optional[Frame] = None
        # Entries taken together with an earlier one (see _batch) and not handed out yet:
        # (slot, hold index), oldest first.  Each is held in its hold like a frame handed out.
        self._ready: deque[tuple[int, int]] = deque()
        self._attach()

    def _attach(self) -> None:
        """Connect, HELLO, map: a fresh start (after a restart too)."""
        self._eos = False
        self._hup_checked = 0
        self._sleeps = 0  # W1: the waiting value of the last sleep
        self._wake_eof = False  # W5: end of file on the wake descriptor (the hang-up)
        self._ended: Optional[Error] = None
        self._descs: dict[int, StreamInfo] = {}
        self._geo: dict[tuple[int, int], _Layout] = {}
        self._last_layout: Optional[_Layout] = None  # that of the last frame read
        self._last_seq: Optional[int] = None
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        fds: list[int] = []
        try:
            welcome = self._hello(deadline, self._want_holds, self._want_live, fds)
            self._map(welcome, fds)
        except BaseException:
            for fd in fds:
                os.close(fd)
            self._closed = False
            self.close()
            raise
        self._closed = False

    # --- attaching -----------------------------------------------------------
    def _hello(self, deadline: Optional[float], holds: int, live: bool, fds: list[int]) -> tuple[int, ...]:
        """Connect, say HELLO, read WELCOME (its fields; the memfds appended to ``fds``).

        A producer that hangs up without answering (closing, or died) is
        waited out like an absent one, until the deadline.
        """
        hello = _HELLO.pack(MSG_HELLO, _HELLO.size, VERSION, ROLE_READER, holds,
                            MODE_LIVE if live else MODE_CHANNEL, HELLO_WAKE_FD if self.pollable else 0)
        nfds = 3 if self.pollable else 2
        backoff = 0.01  # after each hang-up twice as long, to 1 s: a producer that hangs up on every reader
        while True:
            s = _connect(self.name, deadline)
            self._sock = s
            _check_trust(self.name, s, *self._trust)
            try:
                s.send(hello)
            except (BrokenPipeError, ConnectionResetError):
                pass
            if not select.select([s], [], [], _ANSWER_S)[0]:
                raise Timeout(f"channel {self.name!r}: the producer did not answer within {_ANSWER_S:.0f} s")
            try:
                msg, got, flags, _addr = socket.recv_fds(s, _REFUSED_SIZE, nfds)
            except ConnectionResetError:
                msg, got, flags = b"", [], 0
            fds.extend(got)
            if msg:
                break
            s.close()
            self._sock = None
            if deadline is not None and time.monotonic() >= deadline:
                raise ChannelNotFound(f"channel {self.name!r} has no producer: it went away while this "
                                      f"reader attached; start the producer")
            # is not asked again hundreds of times a second
            time.sleep(backoff if deadline is None else max(0.0, min(backoff, deadline - time.monotonic())))
            backoff = min(backoff * 2, 1.0)
        refused = _refused(msg)
        if refused is not None and not fds:
            raise refused
        if (len(msg) != _WELCOME.size or flags & socket.MSG_CTRUNC or len(fds) != nfds):
            raise CorruptSegment(f"channel {self.name!r}: the producer answered HELLO with an invalid message "
                                 f"({len(msg)} bytes, {len(fds)} descriptors)")
        w = _WELCOME.unpack(msg)
        if w[0] != MSG_WELCOME or w[1] != _WELCOME.size:
            raise CorruptSegment(f"channel {self.name!r}: the producer answered HELLO with message type {w[0]}")
        if w[2] != VERSION:
            raise ProtocolVersion(f"channel {self.name!r}: the producer speaks protocol {w[2]}, this reader "
                                  f"{VERSION}")
        return w

    def _map(self, w: tuple[int, ...], fds: list[int]) -> None:
        """Check the memfds (seals, sizes, identity), map the pool read-only and the block read-write."""
        _t, _s, _v, index, pool_size, generation, holds, mode = w
        pool_fd, block_fd = fds[:2]
        if self.pollable:
            if not stat.S_ISSOCK(os.fstat(fds[2]).st_mode):
                raise CorruptSegment(f"channel {self.name!r}: the producer sent a wake descriptor that is not a "
                                     f"socket")
            self._wake = socket.socket(fileno=fds.pop())
        fsize = _check_memfd(self.name, pool_fd, POOL_SEALS, 0, "pool")
        _check_memfd(self.name, block_fd, BLOCK_SEALS, BLOCK_SIZE, "reader block", writable=True)
        ident = _Identity(self.name, os.pread(pool_fd, HEADER_SIZE, 0), fsize)
        if (pool_size != ident.pool_size or generation != ident.generation or index >= ident.max_readers
                or not 1 <= holds <= ident.max_holds or mode > MODE_LIVE):
            raise CorruptSegment(f"channel {self.name!r}: WELCOME does not match the pool")
        self._rom = mmap.mmap(pool_fd, ident.pool_size, mmap.MAP_SHARED, mmap.PROT_READ)
        self._bmm = mmap.mmap(block_fd, BLOCK_SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        for fd in fds:
            os.close(fd)
        fds.clear()
        self._pool, keep = A.addr_of(self._rom)
        self._keep.append(keep)
        self._block, keep = A.addr_of(self._bmm)
        self._keep.append(keep)
        self._id = ident
        self.index = index
        self.holds = holds
        self.live = mode == MODE_LIVE
        self.generation = generation
        self._free = list(range(holds - 1, -1, -1))  # hold indices not in use
        # Take every entry queued there are holds for, each by T1 and W4, and wake a waiting producer
        # once for all of them: it then finds room for several frames instead of one per wake.  Not
        # for a live reader: it wants the producer to push out its oldest entries, not find them pinned.
        self._batch = not self.live and ident.policy != L.POLICY_LIVE

    # --- public API ------------------------------------------------------------
    def close(self) -> None:
        """Release every frame and hang up (the producer gets the holds back).  Safe to call twice.

        Frames handed out are invalidated (they raise FrameReleased).
        """
        if self._closed:
            return
        self._closed = True
        self._detach()

    def _detach(self) -> None:
        for f in self._frames.values():
            f._reader = None
            f._array = None
            f._planes = None
        self._frames.clear()
        self._ready.clear()  # the hang-up gives their holds back
        self._iter_frame = None
        self._pool_u8 = None
        self._keep.clear()
        for m in (self._rom, self._bmm):
            if m is not None:
                try:
                    m.close()
                except BufferError:
                    pass  # arrays the application keeps pin it; unmapped when they go
        self._rom = self._bmm = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._wake is not None:
            self._wake.close()
            self._wake = None

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    @property
    def eos(self) -> bool:
        """True once end of stream was read (next_frame() returns None from then on)."""
        return self._eos

    @property
    def end_reason(self) -> Optional[str]:
        """None while streaming; "eos" after end of stream, "closed" or "died" once the producer went without it."""
        if self._eos:
            return "eos"
        if isinstance(self._ended, ProducerClosed):
            return "closed"
        if isinstance(self._ended, ProducerDied):
            return "died"
        return None

    @property
    def held(self) -> int:
        """Frames this reader holds now."""
        return len(self._frames)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("eos" if self._eos else "attached")
        mode = "live" if getattr(self, "live", False) else "channel"
        return (f"<shmring.Reader {self.name!r} {state} mode={mode} frames={self.frames} dropped={self.dropped} "
                f"held={len(self._frames)}>")

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
        """The newest published stream description, or None if there is none yet."""
        self._require()
        for _ in range(3):  # a rewrite in between: look again
            d = A.load_acquire_32(self._pool + _DESC_ID)
            if d == 0:
                return None
            try:
                return self._desc(d)
            except CorruptSegment:
                if A.load_acquire_32(self._pool + _DESC_ID) == d:
                    raise
        return None

    def stats(self) -> Stats:
        """The channel's counters as this reader sees them (see ``shmring info``)."""
        self._require()
        assert self._rom is not None
        return stats_of(self.name, self._rom, self.stream)

    def producer_alive(self) -> bool:
        """True while the producer is connected (it has not died or closed)."""
        self._require()
        sock = self._sock
        assert sock is not None
        p = select.poll()
        p.register(sock, select.POLLIN)
        ev = p.poll(0)
        if ev and ev[0][1] & (select.POLLHUP | select.POLLERR):
            return False
        # Acquire: pairs with the producer's release store of state (S1).
        return A.load_acquire_32(self._pool + _STATE) == STATE_OPEN

    def _require(self) -> None:
        if self._closed:
            raise Closed(f"reader of channel {self.name!r} is closed")

    def fileno(self) -> int:
        """The wake descriptor of a pollable reader (PROTOCOL.md W5): readable when a frame, the end of stream or
        a state change is due, once ``poll()`` returned None.  Another descriptor after a reconnect.  Raises
        Error if the reader was opened without ``pollable=True``."""
        self._require()
        if self._wake is None:
            raise Error(f"reader of channel {self.name!r} has no wake descriptor: open it with "
                        f"Reader(..., pollable=True)")
        return self._wake.fileno()

    def _due(self) -> bool:
        """True if ``poll()`` would return a frame, None at end of stream, or raise; else arm the wake
        descriptor (W5) and return False."""
        if self._closed or self._ready or self._eos or self._ended is not None:
            return True
        # Acquire: pairs with the producer's seq_cst add to commit_seq (W2); before the look at the queue.
        v = A.load_acquire_32(self._pool + _COMMIT_SEQ)
        if A.load_acquire_64(self._block + _TAIL) != A.load_acquire_64(self._block + _HEAD):
            return True
        return self._arm(v) or self._wake_eof

    def _arm(self, v: int) -> bool:
        """W5: arm the wake descriptor (nothing was taken after commit_seq was ``v``): read its bytes, publish
        waiting as W1 does, look at tail once more.  True if the caller must look again (an entry arrived, or end
        of file: the hang-up)."""
        wake = self._wake
        assert wake is not None
        while True:
            try:
                got = wake.recv(4096, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                got = b""
            if not got:
                if not self._wake_eof:
                    self._wake_eof = True
                    self._hup_checked = 0
                    return True
                break
        b = self._block
        self._sleeps = self._sleeps % 0x7FFFFFFF + 1
        A.store_release_32(b + _SLEEP_SEQ, v)
        # seq_cst store, then seq_cst load of tail: pairs with the producer's W2.
        A.store_seq_cst_32(b + _WAITING, self._sleeps | WAITING_FD)
        if A.load_seq_cst_64(b + _TAIL) == A.load_acquire_64(b + _HEAD):
            return False
        A.store_release_32(b + _WAITING, 0)
        return True

    # --- reading -------------------------------------------------------------
    def next_frame(self, timeout: Optional[float] = -1.0, latest: Optional[bool] = None) -> Optional[Frame]:
        """Wait for the next frame and return it (held until its release()), or None at end of stream.

        ``timeout`` in seconds (None = forever; default: frame_timeout).
        ``latest=True`` skips to the newest queued frame (default: the
        reader's ``latest``).  Raises Timeout, HoldsExhausted, ProducerDied,
        ProducerClosed, CorruptSegment; with reconnect=True a dead or closed
        producer is waited for instead (frames still held are invalidated).
        """
        if latest is None:
            latest = self.latest
        if self._ready and not latest and not self._closed and self._ended is None:
            try:  # taken already (see _batch)
                f = self._deliver(*self._ready.popleft())
            except CorruptSegment as e:
                self._ended = e
                raise
            return f if f is not _EOS_MARK else None
        while True:
            try:
                return self._next(timeout, latest)
            except (ProducerDied, ProducerClosed):
                if not self.reconnect:
                    raise
            self._detach()
            self._closed = True
            self._attach()
            self.reconnects += 1

    def _next(self, timeout: Optional[float], latest: bool) -> Optional[Frame]:
        self._require()
        if timeout is not None and timeout < 0:
            timeout = self.frame_timeout
        if self._eos:
            return None
        if self._ended is not None:
            raise self._ended
        deadline: Optional[float] = None
        pool = self._pool
        while True:
            # Acquire: pairs with the producer's seq_cst add to commit_seq (W2).
            v = A.load_acquire_32(pool + _COMMIT_SEQ)
            try:
                f = self._take(latest)
            except CorruptSegment as e:
                self._ended = e
                raise
            if f is not None:
                return f if f is not _EOS_MARK else None
            if self._channel_end():
                return None
            now = time.monotonic()
            if timeout is not None:
                if deadline is None:
                    deadline = now + timeout
                if now >= deadline:
                    if self._wake is not None and self._arm(v):
                        continue  # W5: armed whenever it says "no frame"
                    raise Timeout(f"channel {self.name!r}: no frame within {timeout} s")
            self._wait(v, _SLICE if deadline is None else min(_SLICE, deadline - now))

    def poll(self, latest: Optional[bool] = None) -> Optional[Frame]:
        """The next frame if one is ready, else None at once (also None at end of stream: see ``eos``)."""
        try:
            return self.next_frame(0, latest)
        except Timeout:
            return None

    def _take(self, latest: bool) -> Optional[Frame]:
        """T1: take the entry at head, and with _batch every other entry queued.  A frame, None if the queue
        is empty, or _EOS_MARK."""
        ready = self._ready
        if ready:
            if not latest:
                return self._deliver(*ready.popleft())
            self._drop_ready()  # the newest is wanted: entries taken earlier are skipped (seq gaps: dropped)
        got = self._take_entry(latest)
        if got is None:
            return None
        s, k, more, wake = got
        try:
            if self._batch and not latest:
                pool = self._pool
                while more and self._free:
                    # Each look as in _next: W1's value first, then T1 and W4 for the entry.
                    A.load_acquire_32(pool + _COMMIT_SEQ)
                    try:
                        nxt = self._take_entry(False)
                    except CorruptSegment:
                        break  # raised again by the look for the frame after those taken
                    if nxt is None:
                        break
                    ready.append(nxt[:2])
                    more = nxt[2]
                    wake = wake or nxt[3]
        finally:
            if wake:
                # W4's wake, once for every entry taken in this call: the producer was seen waiting
                # after one of the adds to taken, and nothing here blocks before this.
                _sys.futex_wake(self._block + _TAKEN)
        return self._deliver(s, k)

    def _take_entry(self, latest: bool) -> Optional[tuple[int, int, int, bool]]:
        """T1 for the entry at head, and W4 but its wake: (slot, hold, entries still queued, producer waiting)
        or None if the queue is empty."""
        b = self._block
        ident = self._id
        qlen = ident.queue_len
        free = self._free
        stale_since = 0.0
        seen = still = 0
        while True:
            # Acquire: pairs with the producer's release store of tail (P1).
            t = A.load_acquire_64(b + _TAIL)
            h = A.load_acquire_64(b + _HEAD)
            if h == t:
                return None
            if t < h:
                # Between the two loads the producer pushed entries and moved
                # head on (P2): the tail loaded is stale, look again.
                seq = A.load_acquire_32(self._pool + _COMMIT_SEQ)
                now = time.monotonic()
                if not stale_since or seq != seen:
                    stale_since = stale_since or now
                    seen, still = seq, 0
                still += 1
                if still < _STALE_TAIL_MAX and now - stale_since < _STALE_TAIL_S:
                    continue
            if t < h or t - h > qlen:
                raise CorruptSegment(f"channel {self.name!r}: queue tail {t}, head {h} (length {qlen})")
            if not free:
                raise HoldsExhausted(f"channel {self.name!r}: this reader holds {self.holds} frames, its most; "
                                     f"release one first (frame.release(), or keep a frame.copy())")
            if latest and t - h > 1:
                A.cas_64(b + _HEAD, h, t - 1)  # skip to the newest: the skipped entries are not held
                continue
            s = A.load_relaxed_32(b + _QUEUE + 4 * (h % qlen))
            if s >= ident.n_slots:
                raise CorruptSegment(f"channel {self.name!r}: queue entry {h} names slot {s} of {ident.n_slots}")
            k = free[-1]
            hold = b + _HOLDS + 4 * k
            # Release: pairs with the producer's acquire load of holds (P3); before the CAS.
            A.store_release_32(hold, s)
            # acq_rel: pairs with the producer's CAS (P2) and its acquire load of head (P3).
            ok, _h = A.cas_64(b + _HEAD, h, h + 1)
            if not ok:  # the producer pushed entry h out first
                A.store_release_32(hold, SLOT_NONE)
                continue
            free.pop()
            # W4: seq_cst add, then seq_cst load of producer_waiting (pairs with W3); the caller wakes.
            A.fetch_add_seq_cst_32(b + _TAKEN, 1)
            return s, k, t - h - 1, A.load_seq_cst_32(self._pool + _PRODUCER_WAITING) != 0

    def _deliver(self, s: int, k: int) -> Frame:
        """The frame in slot ``s``, taken into hold ``k`` (or _EOS_MARK, and the hold given back)."""
        try:
            f = self._frame(s, k)
        except BaseException:
            self._unhold(k)
            raise
        if f is _EOS_MARK:
            self._unhold(k)
            self._drop_ready()  # nothing is read after the end of stream
            self._eos = True
        return f

    def _unhold(self, k: int) -> None:
        # R1: release, pairs with the producer's acquire load of holds (P3).
        A.store_release_32(self._block + _HOLDS + 4 * k, SLOT_NONE)
        self._free.append(k)

    def _drop_ready(self) -> None:
        """Give back the entries taken but not handed out (release each hold, R1)."""
        ready = self._ready
        while ready:
            self._unhold(ready.popleft()[1])

    def _frame(self, s: int, k: int) -> Frame:
        """Validate a private copy of slot ``s``'s header; the Frame held in hold ``k`` (or _EOS_MARK)."""
        rom = self._rom
        assert rom is not None
        ident = self._id
        (seq, size, pts, dts, duration, commit_ns, desc_id, stype, flags,
         reserved) = _SLOT.unpack_from(rom, SLOT_TABLE_OFFSET + s * SLOT_HEADER_SIZE)
        if (stype not in (SLOT_FRAME, SLOT_EOS) or reserved or size > ident.slot_size
                or (stype == SLOT_EOS and size) or flags & _NOT_FLAGS):
            raise CorruptSegment(f"channel {self.name!r}: slot {s} header is invalid (type {stype}, size {size})")
        if stype == SLOT_EOS:
            return _EOS_MARK
        last = self._last_seq
        if last is not None and seq <= last:
            raise CorruptSegment(f"channel {self.name!r}: frame seq {seq} after {last}")
        info = self._desc(desc_id)
        lay = self._last_layout
        if lay is None or lay.info is not info or lay.size != size:
            lay = self._last_layout = self._layout(info, size)
        dropped = 0 if last is None else seq - last - 1
        self.dropped += dropped
        self._last_seq = seq
        self.frames += 1
        f = Frame(self, [k], ident.payload_offset + s * ident.slot_size, size, seq, pts, dts, duration,
                  flags, commit_ns, info, dropped, 0, None, lay)
        self._frames[k] = f
        return f

    def _desc(self, d: int) -> StreamInfo:
        """Description ``d``, copied as a seqlock (D1) and validated; cached per description slot."""
        info = self._descs.get(d % L.DESC_SLOTS)
        if info is not None and info.desc_id == d:
            return info  # the producer never rewrites a slot a pinned frame names
        if d == 0:
            raise CorruptSegment(f"channel {self.name!r}: frame names description id 0")
        rom = self._rom
        assert rom is not None
        off = L.DESC_OFFSET + (d % L.DESC_SLOTS) * L.DESC_SLOT_SIZE
        # Acquire: pairs with the producer's release store of the slot id (D1).
        sid = A.load_acquire_32(self._pool + off)
        if sid != d:
            raise CorruptSegment(f"channel {self.name!r}: frame names description {d}, its slot holds {sid}")
        copy = rom[off:off + L.DESC_SLOT_SIZE]
        # Acquire fence, then the id again: a copy torn by a rewrite is refused (D1).
        A.fence_acquire()
        if A.load_relaxed_32(self._pool + off) != d:
            raise CorruptSegment(f"channel {self.name!r}: description {d} was rewritten while read")
        info = _parse_desc(self.name, copy, d)
        self._descs[d % L.DESC_SLOTS] = info
        return info

    def _pool_array(self, np: Any) -> Any:
        """The pool as a read-only numpy uint8 array (holding a buffer export of the mapping)."""
        a = self._pool_u8
        if a is None:
            a = self._pool_u8 = np.frombuffer(self._rom, np.uint8)
        return a

    def _layout(self, info: StreamInfo, size: int) -> _Layout:
        """The checked layout of frames of ``size`` bytes described by ``info`` (cached)."""
        key = (info.desc_id, size)
        lay = self._geo.get(key)
        if lay is None or lay.info is not info:
            lay = layout(self.name, info, size)
            if len(self._geo) > 64:
                self._geo.clear()
            self._geo[key] = lay
        return lay

    def _channel_end(self) -> bool:
        """Nothing queued: True at a clean close after EOS; raises if the producer died, closed or refused."""
        sock = self._sock
        assert sock is not None
        # The hang-up (a death, or this reader disconnected) is looked at once per _HUP_CHECK_NS at most: a
        # reader that keeps up finds its queue empty at every frame, and a poll each time would cost a system
        # call per frame.  A clean close is seen in the state at once.
        ev: list[tuple[int, int]] = []
        now = time.monotonic_ns()
        if self._wake_eof or now - self._hup_checked >= _HUP_CHECK_NS:
            self._hup_checked = now
            p = select.poll()
            p.register(sock, select.POLLIN)
            ev = p.poll(0)
        # W5: end of file on the wake descriptor is the hang-up, whichever of the producer's descriptors the
        # kernel closed first.
        hup = bool(ev) or self._wake_eof
        if hup and ev[0][1] & select.POLLIN:
            try:
                msg, fds, flags, _addr = socket.recv_fds(sock, _REFUSED_SIZE, 4, socket.MSG_DONTWAIT)
            except OSError:
                msg, fds, flags = b"", [], 0
            for fd in fds:
                os.close(fd)
            refused = _refused(msg, after_welcome=True) if not fds else None
            if refused is not None:
                self._ended = refused
                raise refused
            if msg:  # the producer is alive and spoke out of turn: said as such, with what it sent, not a death
                self._ended = CorruptSegment(f"channel {self.name!r}: the producer sent a message after WELCOME, "
                                             f"where the protocol has none but REFUSED: "
                                             f"{_received(msg, len(fds), flags)}")
                raise self._ended
        # Acquire: pairs with the producer's release store of state (S1), loaded
        # after the hang-up so that a clean close is not taken for a death.
        st = A.load_acquire_32(self._pool + _STATE)
        # Entries pushed after _take() found the queue empty, and before the
        # close or death seen here, are read first.  Acquire: pairs with the
        # producer's release store of tail (P1); after the state's acquire, so
        # every push before the close is seen.
        if (hup or st != STATE_OPEN) and \
                A.load_acquire_64(self._block + _TAIL) != A.load_acquire_64(self._block + _HEAD):
            return False
        err: Error
        if st == STATE_CLOSED:
            if A.load_relaxed_32(self._pool + _EOS):
                self._eos = True
                return True
            err = ProducerClosed(f"channel {self.name!r}: the producer closed without end of stream; {_HINT_EOS}; "
                                 f"or {_HINT_RECONNECT}")
        elif st != STATE_OPEN:
            err = CorruptSegment(f"channel {self.name!r}: pool state {st}")
        elif hup:
            err = ProducerDied(f"channel {self.name!r}: the producer died; {_HINT_RECONNECT}")
        else:
            return False
        self._ended = err
        raise err

    def _wait(self, v: int, timeout: float) -> None:
        """W1: sleep on commit_seq (``v``, loaded before the last look) for at most ``timeout`` s."""
        b = self._block
        # seq_cst store, then seq_cst load of tail: pairs with the producer's W2.
        # A new value for each sleep (never 0): the producer skips the wake for a reader that still shows the
        # value it had when last woken.  sleep_seq = v first (published by the seq_cst store): a producer whose
        # commit made v knows this sleep waits for its next commit.
        self._sleeps = self._sleeps % 0x7FFFFFFF + 1  # below 2^31: bit 31 is W5's
        A.store_release_32(b + _SLEEP_SEQ, v)
        A.store_seq_cst_32(b + _WAITING, self._sleeps)
        t = A.load_seq_cst_64(b + _TAIL)
        h = A.load_acquire_64(b + _HEAD)
        if t == h and timeout > 0:
            _sys.futex_wait(self._pool + _COMMIT_SEQ, v, timeout)
        A.store_release_32(b + _WAITING, 0)

    # --- releasing -------------------------------------------------------------
    def _release_frame(self, f: Frame) -> None:
        k = f._entry[0]
        if self._frames.get(k) is not f:
            return
        del self._frames[k]
        # R1: release, pairs with the producer's acquire load of holds (P3).
        A.store_release_32(self._block + _HOLDS + 4 * k, SLOT_NONE)
        self._free.append(k)


_EOS_MARK = cast(Frame, object())  # _take()'s "end of stream" (never handed out)


def wait(readers: "list[Reader]", timeout: Optional[float] = None) -> "list[Reader]":
    """Wait until at least one of the pollable ``readers`` has a frame due (or its end of stream, or a state
    change: ``poll()`` on it then returns the frame, returns None at end of stream, or raises); return those
    readers, in the order given, or [] after ``timeout`` seconds (None = forever).  No thread, no busy polling:
    one ``poll()`` system call over their wake descriptors (PROTOCOL.md W5)."""
    readers = list(readers)
    for r in readers:
        r.fileno()  # raises for a reader that is not pollable
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        due = [r for r in readers if r._due()]
        if due:
            return due
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return []
        p = select.poll()
        for r in readers:
            p.register(r.fileno(), select.POLLIN)
        p.poll(None if left is None else left * 1000 + 0.5)  # then look again: a wake may be for nothing




def inspect(name: str, timeout: Optional[float] = 1.0, *, answer_timeout: Optional[float] = None) -> Stats:
    """Connect to channel ``name`` as an observer (not a reader) and return its counters and stream.

    Waits up to ``timeout`` seconds for a producer, then up to
    ``answer_timeout`` seconds (default 5: a live producer answers at once)
    for its answer; raises ChannelNotFound, Refused / PermissionDenied,
    CorruptSegment, Timeout like Reader, and ChannelOSError (ECONNRESET)
    for a producer that hangs up without answering.
    """
    name = _sys.check_name(name)
    deadline = None if timeout is None else time.monotonic() + timeout
    wait = _ANSWER_S if answer_timeout is None else answer_timeout
    s = _connect(name, deadline)
    fds: list[int] = []
    try:
        puid = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
        try:
            s.send(_HELLO.pack(MSG_HELLO, _HELLO.size, VERSION, ROLE_OBSERVER, 0, MODE_CHANNEL, 0))
        except (BrokenPipeError, ConnectionResetError):
            pass  # it hung up already: what it sent before, if anything, is read below
        if not select.select([s], [], [], wait)[0]:
            raise Timeout(f"channel {name!r}: the producer did not answer within {wait:g} s")
        try:
            msg, fds, flags, _addr = socket.recv_fds(s, _REFUSED_SIZE, 2)
        except ConnectionResetError:
            msg, flags = b"", 0
        if not msg:
            raise ChannelOSError(f"channel {name!r}: the producer hung up without answering (it was closing, or "
                                 f"it is not a shmring producer)", errno.ECONNRESET)
        refused = _refused(msg)
        if refused is not None and not fds:
            raise refused
        if len(msg) != _WELCOME.size or flags & (socket.MSG_CTRUNC | socket.MSG_TRUNC) or len(fds) != 1:
            raise CorruptSegment(f"channel {name!r}: the producer answered an observer's HELLO with an invalid "
                                 f"message of {_received(msg, len(fds), flags)}")
        w = _WELCOME.unpack(msg)
        if w[0] != MSG_WELCOME or w[2] != VERSION:
            raise CorruptSegment(f"channel {name!r}: the producer answered an observer's HELLO with message "
                                 f"type {w[0]}, version {w[2]}")
        fsize = _check_memfd(name, fds[0], POOL_SEALS, 0, "pool")
        ident = _Identity(name, os.pread(fds[0], HEADER_SIZE, 0), fsize)
        if w[4] != ident.pool_size or w[5] != ident.generation:
            raise CorruptSegment(f"channel {name!r}: WELCOME names a pool of {w[4]} bytes, generation {w[5]}; "
                                 f"the pool sent is {ident.pool_size} bytes, generation {ident.generation}")
        with mmap.mmap(fds[0], ident.pool_size, mmap.MAP_SHARED, mmap.PROT_READ) as rom:
            addr, keep = A.addr_of(rom)
            try:
                st = dataclasses.replace(_observe(name, rom, addr, fds[0]), producer_uid=puid)
            finally:
                # Before the mapping closes, whatever was raised: an export
                # still alive would turn the error into a BufferError.
                del keep
        return st
    finally:
        for fd in fds:
            os.close(fd)
        s.close()


def _observe(name: str, rom: mmap.mmap, addr: int, pool_fd: int) -> Stats:
    """The stats of a mapped pool, its stream description copied as a seqlock (D1) and validated."""
    stream = None
    for _ in range(3):
        # Acquire: pairs with the producer's release store of desc_id (D1).
        d = A.load_acquire_32(addr + _DESC_ID)
        if d == 0:
            break
        off = L.DESC_OFFSET + (d % L.DESC_SLOTS) * L.DESC_SLOT_SIZE
        # Acquire: pairs with the producer's release store of the slot id (D1).
        if A.load_acquire_32(addr + off) != d:
            continue
        copy = rom[off:off + L.DESC_SLOT_SIZE]
        # Acquire fence, then the id again: a copy torn by a rewrite is retried (D1).
        A.fence_acquire()
        if A.load_relaxed_32(addr + off) == d:
            stream = _parse_desc(name, copy, d)
            break
    return stats_of(name, rom, stream, os.fstat(pool_fd).st_blocks * 512)
