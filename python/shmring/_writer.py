# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring.Writer: the producer of a channel in pure Python (several isolated readers).

The pool is a memfd this process maps read-write and then seals
(SHRINK | GROW | FUTURE_WRITE | SEAL); each reader gets a sealed 4096-byte
block of its own.  A door thread accepts readers on the abstract socket
``@shmring/NAME`` (SO_PEERCRED checks, the reader limit naming pids,
silent peers closed after a second) and drops a reader at its hang-up.
Every ordered access goes through shmring._atomic, as the header's
ordering pairs say (P1, P2, P3, W2, W3, D1, S1).  Reader blocks are
untrusted: a head out of range or a hold naming no slot disconnects that
reader with a REFUSED naming the field.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import select
import socket
import struct
import threading
import time
from typing import Any, Optional, Union

from . import _atomic as A
from . import _layout as L
from . import _sys
from ._errors import ChannelBusy, Closed, Error, FrameTooLarge, NoSpace, Timeout
from ._frame import check_geometry
from ._stats import Stats, stats_of
from ._video import StreamInfo, default_layout, raw_caps

__all__ = ["Writer"]

F_ADD_SEALS = getattr(fcntl, "F_ADD_SEALS", 1033)
SO_PEERGROUPS = getattr(socket, "SO_PEERGROUPS", 59)
_POLICIES = {"lossless": L.POLICY_LOSSLESS, "drop-new": L.POLICY_DROP_NEW, "live": L.POLICY_LIVE}
_DEFAULT_SLOT = 4 << 20
_PENDING_MAX = 16
_PENDING_S = 1.0  # a connection silent this long after accept is closed
_FALLBACK_S = 0.01  # lossless wait slice on one reader's taken word (no futex_waitv here)
# Pool header words the producer updates (offsets in struct shmring_pool_header).
_FRAMES_WRITTEN = 136
_FRAMES_LOST = L.POOL["frames_lost"][0]
_NEXT_SEQ = 144
_PRODUCER_PID = 156
_READERS = 168
# Reader line fields.
_L_PID, _L_UID, _L_MODE, _L_HOLDS, _L_QUEUED, _L_DROPPED, _L_LAG, _L_FLAGS = 0, 4, 8, 12, 16, 24, 32, 36


# Pool header words (struct shmring_pool_header) and reader block words (struct shmring_block).
_COMMIT_SEQ = L.POOL["commit_seq"][0]
_STATE = L.POOL["state"][0]
_EOS = L.POOL["eos"][0]
_DESC_ID = L.POOL["desc_id"][0]
_PRODUCER_WAITING = L.POOL["producer_waiting"][0]
_B_HEAD = L.BLOCK["head"][0]
_B_WAITING = L.BLOCK["waiting"][0]
_B_SLEEP_SEQ = L.BLOCK["sleep_seq"][0]
_B_TAKEN = L.BLOCK["taken"][0]
_B_TAIL = L.BLOCK["tail"][0]
_B_QUEUE = L.BLOCK["queue"][0]
_B_HOLDS = L.BLOCK["holds"][0]
_DESC = struct.Struct(L.DESC_FIXED_STRUCT)
_CAPS_OFF = L.DESC["caps"][0]


def _round_up(v: int, a: int) -> int:
    return (v + a - 1) // a * a


def _policy(p: Union[str, int]) -> int:
    if isinstance(p, int) and p in L.POLICY_NAMES:
        return p
    if isinstance(p, str) and p in _POLICIES:
        return _POLICIES[p]
    raise ValueError(f"unknown policy {p!r}; use 'lossless', 'drop-new' or 'live'")


def _fps(fps: Any) -> tuple[int, int]:
    if not fps:
        return 0, 1
    if isinstance(fps, tuple):
        return int(fps[0]), int(fps[1])
    from fractions import Fraction
    fr = Fraction(fps).limit_denominator(1001)
    return fr.numerator, fr.denominator


_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02


def _give_back(fd: int, offset: int, size: int) -> None:
    """Free the pages of [offset, offset + size): allocated again as they are first written."""
    import ctypes
    import ctypes.util
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    libc.fallocate(fd, _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE, offset, size)  # kept whole if refused


def _memfd(label: str, size: int, keep: Optional[int] = None) -> tuple[int, mmap.mmap]:
    """A memfd of size bytes, all allocated once (a lack of memory is a clear error at start, not a SIGBUS
    later), then all but the first keep bytes given back: slots are taken lowest first, so the memory in use
    follows what the readers hold."""
    fd = os.memfd_create(label[:240], os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        os.ftruncate(fd, size)
        os.posix_fallocate(fd, 0, size)
        if keep is not None and keep < size:
            _give_back(fd, keep, size - keep)
        return fd, mmap.mmap(fd, size)
    except OSError:
        os.close(fd)
        raise


def _refused(err: int, text: str) -> bytes:
    body = text.encode("utf-8")[:L.MESSAGE_MAX - 1]
    return L.REFUSED_HEAD.pack(L.MSG_REFUSED, L.REFUSED_SIZE, err, 0) + body.ljust(L.MESSAGE_MAX, b"\0")


class _Reader:
    """One connected reader as the producer knows it: the truth is here, not in its block."""

    def __init__(self, index: int, sock: socket.socket, pid: int, uid: int, holds: int, mode: int,
                 policy: int, fd: int, mm: mmap.mmap) -> None:
        self.index, self.sock, self.pid, self.uid = index, sock, pid, uid
        self.holds, self.mode = holds, mode
        self.live = mode == L.MODE_LIVE or policy == L.POLICY_LIVE
        self.lossless = mode == L.MODE_CHANNEL and policy == L.POLICY_LOSSLESS
        self.fd, self.mm = fd, mm
        self.addr, self._keep = A.addr_of(mm)
        self.tail = self.head = 0
        self.q: list[int] = []
        self.queued = self.dropped = 0
        self.broken = ""
        # W5: the producer's end of the reader's wake pair (None: the reader did not ask), and the waiting value
        # it saw at its last wake of it
        self.wake: Optional[socket.socket] = None
        self.woken = 0
        # stall timeout: made live for holding the producer back; the seconds waited for it without room
        # so far, and since when (None: the producer is not waiting for it now)
        self.stalled = False
        self.stall_s = 0.0
        self.stall_mark: Optional[float] = None

    def close(self) -> None:
        self._keep = None
        try:
            self.mm.close()
        except BufferError:  # pragma: no cover - nothing else exports it
            pass
        os.close(self.fd)
        self.sock.close()
        if self.wake is not None:  # after the connection (W5): a reader that reads end of file finds the hang-up
            self.wake.close()


class Writer:
    """Create channel ``name`` (protocol 2) and publish frames to every reader that attaches.

    ``Writer("cam", width=640, height=480, format="BGR", fps=30)`` describes
    raw video (GStreamer's default strides) and builds the caps string;
    ``Writer("cam", caps="image/jpeg", max_frame_size=1 << 20)`` publishes
    variable-size buffers of at most that size.  ``policy``: "lossless"
    (wait, up to ``timeout`` s, for every lossless reader), "drop-new" (a
    reader whose queue is full does not get the frame) or "live" (its
    oldest queued frame is pushed out).  ``max_readers`` (4), ``queue_len``
    (8 under lossless, 2 under drop-new and live, as the C producer) and
    ``max_holds`` (3) size the pool: ``pool_size`` bytes,
    ``n_slots`` slots of ``slot_size`` bytes.  ``stall_timeout`` (seconds,
    None = off, the default) bounds how long a lossless reader may hold
    the producer back: one whose queue stays full while the writer waits
    for it that long in all is made live until its queue is empty again
    (its oldest frames pushed out, which it sees as dropped), and
    ``take_stalled()`` reports its pid.  ``share_uid`` / ``share_gid``
    let readers of another uid / group in.  A name already served raises
    ChannelBusy naming the producer's pid.  Frames written while no reader
    is attached reach nobody.  Any method of a closed writer raises Closed.

    Attributes:
        name: the channel name.
        policy: the flow policy (shmring.layout.POLICY_*).
        timeout: seconds write() and eos() wait in lossless by default; None = forever.
        stall_timeout: seconds a lossless reader may hold the writer back before it is made live; None = off.
        slot_size: the largest frame, in bytes (max_frame_size rounded up to 4096).
        max_readers: readers the channel admits at once.
        queue_len: frames queued per reader.
        max_holds: frames a reader may hold at once.
        n_slots: slots in the pool.
        payload_offset: offset of the first slot's payload in the pool.
        pool_size: bytes of the pool.
        generation: differs for every Writer.
        frames_written: frames published so far.
        frames_lost: numbers skipped by ``set_seq()`` after the first frame (frames lost before the channel).
    """

    def __init__(self, name: str, width: int = 0, height: int = 0, format: str = "", *,
                 caps: Optional[str] = None, fps: Any = 30, policy: Union[str, int] = "lossless",
                 max_frame_size: Optional[int] = None, frame_size: Optional[int] = None,
                 max_readers: int = 4, queue_len: Optional[int] = None, max_holds: int = 3,
                 share_uid: Optional[int] = None, share_gid: Optional[int] = None,
                 timeout: Optional[float] = 5.0, stall_timeout: Optional[float] = None) -> None:
        self.name = _sys.check_name(name)
        self.policy = _policy(policy)
        self.timeout = timeout
        if stall_timeout is not None and stall_timeout < 0:
            raise ValueError(f"stall_timeout {stall_timeout}: give None (off) or seconds")
        self.stall_timeout = stall_timeout
        self._stalls: list[tuple[int, float]] = []  # (pid, seconds waited) not yet taken, oldest first
        if queue_len is None:
            queue_len = L.default_queue_len(self.policy)
        if not (1 <= max_readers <= L.MAX_READERS and 1 <= queue_len <= L.QUEUE_MAX
                and 1 <= max_holds <= L.HOLDS_MAX):
            raise ValueError(f"max_readers 1..{L.MAX_READERS}, queue_len 1..{L.QUEUE_MAX}, "
                             f"max_holds 1..{L.HOLDS_MAX}")
        if max_frame_size is None:
            max_frame_size = frame_size or (default_layout(format, width, height)[2] if format else _DEFAULT_SLOT)
        self.slot_size = _round_up(max(int(max_frame_size), 1), L.SLOT_ALIGN)
        if self.slot_size > L.MAX_SLOT_SIZE:
            raise ValueError(f"max_frame_size {max_frame_size} is over the {L.MAX_SLOT_SIZE}-byte limit")
        self.max_readers, self.queue_len, self.max_holds = max_readers, queue_len, max_holds
        self.n_slots = L.slots_needed(max_readers, queue_len, max_holds, 1, self.policy)  # one reservation
        self.payload_offset = L.SLOT_TABLE_OFFSET + _round_up(self.n_slots * L.SLOT_HEADER_SIZE, L.SLOT_ALIGN)
        self.pool_size = self.payload_offset + self.n_slots * self.slot_size
        self.generation = time.monotonic_ns() ^ (os.getpid() << 32)
        self._share_uid, self._share_gid = share_uid, share_gid
        self._uid = os.geteuid()
        self._lock = threading.Lock()
        self._attached = threading.Condition(self._lock)  # notified when a reader attaches
        self._pending: Optional[tuple[StreamInfo, bytes, bytes]] = None
        self._pins: list[bool] = []
        self._readers: list[Optional[_Reader]] = [None] * max_readers
        self._closed = True
        self._reserved: Optional[tuple[int, int, memoryview]] = None
        self._info: Optional[StreamInfo] = None
        self._geo: Any = None
        self._desc_next = 1
        self._desc_cur = 0
        self._slot_desc = [0] * self.n_slots
        self._next_seq = 0
        self.frames_written = 0
        self.frames_lost = 0
        self._listen = self._bind()
        try:
            self._make_pool()
        except BaseException:
            self._listen.close()
            raise
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._closed = False
        self._door = threading.Thread(target=self._door_loop, name=f"shmring door {name}", daemon=True)
        self._door.start()
        if format or caps:
            self.set_stream(caps=caps, format=format, width=width, height=height, fps=fps, frame_size=frame_size)

    # --- creation ----------------------------------------------------------
    def _bind(self) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
        try:
            s.bind("\0" + L.SOCKET_PREFIX + self.name)
            s.listen(64)
            return s
        except OSError as e:
            s.close()
            if e.errno != errno.EADDRINUSE:
                raise Error(f"channel {self.name!r}: bind: {os.strerror(e.errno or 0)}") from None
        c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            c.connect("\0" + L.SOCKET_PREFIX + self.name)
            pid, uid, _gid = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        except OSError:
            raise ChannelBusy(f"channel {self.name!r} is being started or closed by another process; use "
                              f"another name or try again") from None
        finally:
            c.close()
        raise ChannelBusy(f"channel {self.name!r} is served by pid {pid}, uid {uid}; stop it or use another name",
                          errno.EBUSY, (pid,))

    def _make_pool(self) -> None:
        try:
            self._fd, self._mm = _memfd(f"shmring-pool:{self.name}", self.pool_size, self.payload_offset)
        except OSError as e:
            what = (f"channel {self.name!r}: {self.pool_size} bytes of pool ({self.n_slots} slots of "
                    f"{self.slot_size}): {os.strerror(e.errno or 0)}")
            if e.errno in (errno.ENOSPC, errno.ENOMEM, errno.EFBIG):
                raise NoSpace(f"{what}; no room for it: lower max_frame_size, max_readers, queue_len or "
                              f"max_holds, or free shared memory", e.errno) from None
            raise Error(what) from None
        L.IDENTITY.pack_into(self._mm, 0, L.MAGIC, L.VERSION, L.HEADER_SIZE, self.pool_size, L.SLOT_TABLE_OFFSET,
                              self.payload_offset, self.slot_size, self.generation, self.n_slots,
                              self.max_readers, self.queue_len, self.max_holds, 1, self.policy, L.BLOCK_SIZE,
                              L.DESC_OFFSET, L.DESC_SLOT_SIZE, L.DESC_SLOTS, L.READER_LINES_OFFSET)
        self._base, self._keep = A.addr_of(self._mm)
        A.store_release_32(self._base + _PRODUCER_PID, os.getpid())
        A.store_release_32(self._base + _STATE, L.STATE_OPEN)
        fcntl.fcntl(self._fd, F_ADD_SEALS, L.POOL_SEALS)

    # --- the stream ----------------------------------------------------------
    def set_stream(self, caps: Optional[str] = None, format: str = "", width: int = 0, height: int = 0,
                   fps: Any = 30, frame_size: Optional[int] = None) -> StreamInfo:
        """Describe the frames written from now on (raw video: format, width, height; else caps)."""
        self._require()
        fps_n, fps_d = _fps(fps)
        offs: list[int] = []
        strides: list[int] = []
        if format:
            offs, strides, fsize = default_layout(format, width, height)
            frame_size = fsize if frame_size is None else frame_size
            caps = caps or raw_caps(format, width, height, fps_n, fps_d)
        if not caps:
            raise ValueError("a stream needs caps, or a raw video format with width and height")
        raw = caps.encode("utf-8")
        if len(raw) >= L.CAPS_MAX or b"\0" in raw or len(format.encode("ascii")) >= 16:
            raise ValueError(f"caps of {len(raw)} bytes (limit {L.CAPS_MAX - 1}, no NUL) or format {format!r}")
        frame_size = frame_size or 0
        if frame_size > self.slot_size:
            raise FrameTooLarge(f"channel {self.name!r}: frames of {frame_size} bytes do not fit its "
                                f"{self.slot_size}-byte slots; create the Writer with max_frame_size >= {frame_size}")
        d = self._desc_next if self._desc_next < 1 << 32 else 1
        info = StreamInfo(d, caps, format, width, height, fps_n, fps_d, frame_size, tuple(offs), tuple(strides))
        self._geo = check_geometry(self.name, info, frame_size) if format else None
        self._pending = (info, raw, format.encode("ascii"))
        self._desc_next = d + 1
        self._info = info
        return info

    @property
    def stream(self) -> Optional[StreamInfo]:
        """The stream description in force (None before set_stream)."""
        return self._info

    def _desc_busy(self, d: int) -> bool:
        """A slot readers may pin, or a reservation, still names the description slot d would overwrite (D1)."""
        slot = d % L.DESC_SLOTS
        return any(self._pins[s] and self._slot_desc[s] not in (0, d) and self._slot_desc[s] % L.DESC_SLOTS == slot
                   for s in range(self.n_slots))

    def _publish_desc(self) -> None:
        assert self._pending is not None
        info, raw, fmt = self._pending
        d = info.desc_id
        base = L.DESC_OFFSET + (d % L.DESC_SLOTS) * L.DESC_SLOT_SIZE
        A.store_release_32(self._base + base, 0)
        # A fence: the 0 is visible before any new byte (pairs with the reader's
        # acquire fence and second load of the id, D1).
        A.fence_seq_cst()
        mm = self._mm
        mm[base + 4:base + L.DESC_SLOT_SIZE] = bytes(L.DESC_SLOT_SIZE - 4)
        po = (list(info.plane_offsets) + [0] * L.MAX_PLANES)[:L.MAX_PLANES]
        ps = (list(info.plane_strides) + [0] * L.MAX_PLANES)[:L.MAX_PLANES]
        packed = _DESC.pack(0, len(raw), fmt, info.width, info.height, len(info.plane_offsets), info.fps_n,
                              info.fps_d, 0, info.frame_size, 0, *po, *ps)
        mm[base + 4:base + len(packed)] = packed[4:]
        mm[base + _CAPS_OFF:base + _CAPS_OFF + len(raw)] = raw
        # Release: pairs with the reader's acquire load of the slot id (D1).
        A.store_release_32(self._base + base, d)
        A.store_release_32(self._base + _DESC_ID, d)
        self._desc_cur = d
        self._pending = None

    # --- reader blocks (lock held) ----------------------------------------------
    def _break(self, r: _Reader, why: str) -> None:
        if not r.broken:
            r.broken = why
            try:
                os.write(self._wake_w, b"b")
            except OSError:
                pass

    def _load_head(self, r: _Reader) -> Optional[int]:
        """P3: the reader's head (acquire, first), checked against the truth; None after breaking it."""
        h = A.load_acquire_64(r.addr + _B_HEAD)
        if not r.head <= h <= r.tail:
            self._break(r, f"head {h} outside [{r.head}, {r.tail}]")
            return None
        r.head = h
        return h

    def _collect_pins(self) -> None:
        pins = [False] * self.n_slots
        for r in self._readers:
            if r is None or r.broken:
                continue
            h = self._load_head(r)
            if h is None:
                continue
            for i in range(h, r.tail):
                pins[r.q[i % self.queue_len]] = True
            for k in range(r.holds):
                # Acquire: pairs with the reader's release stores of holds (T1, R1).
                s = A.load_acquire_32(r.addr + _B_HOLDS + 4 * k)
                if s == L.SLOT_NONE:
                    continue
                if s >= self.n_slots:
                    self._break(r, f"holds[{k}] = {s}, not a slot ({self.n_slots} slots)")
                    break
                pins[s] = True
        self._pins = pins

    def _full_lossless(self) -> list[tuple[_Reader, int]]:
        """W3: each lossless reader with no room for one more frame, and the value of its taken word.  One
        with room has not held the writer back: its stall time starts again from zero."""
        full = []
        for r in self._readers:
            if r is None or r.broken or not r.lossless:
                continue
            # seq_cst: pairs with the reader's add to taken then load of producer_waiting (W4).
            v = A.load_seq_cst_32(r.addr + _B_TAKEN)
            h = self._load_head(r)
            if h is None:
                continue
            if r.tail - h + 1 > self.queue_len:
                full.append((r, v))
            else:
                r.stall_s, r.stall_mark = 0.0, None
        return full

    def _set_line_flags(self, r: _Reader) -> None:
        A.store_release_32(self._base + L.READER_LINES_OFFSET + 64 * r.index + _L_FLAGS,
                           L.READER_STALLED if r.stalled else 0)

    def _stall_check(self, full: list[tuple[_Reader, int]], limit: float) -> list[tuple[_Reader, int]]:
        """Add the time since the last look to each full reader's stall time; make those over the stall timeout
        live (until their queue is empty again) and leave them out of the wait."""
        now = time.monotonic()
        kept = []
        for r, v in full:
            if r.stall_mark is not None:
                r.stall_s += now - r.stall_mark
            r.stall_mark = now
            if r.stall_s < limit:
                kept.append((r, v))
                continue
            r.stalled, r.lossless, r.live = True, False, True
            self._set_line_flags(r)
            self._stalls = self._stalls[-(L.MAX_READERS - 1):] + [(r.pid, r.stall_s)]
            r.stall_s, r.stall_mark = 0.0, None
        return kept

    def take_stalled(self) -> Optional[tuple[int, str]]:
        """The oldest report not taken yet of a reader the stall timeout made live: (pid, a sentence naming the
        channel, the pid and the setting), or None.  The last max-readers reports are kept."""
        with self._lock:
            if not self._stalls:
                return None
            pid, waited = self._stalls.pop(0)
        return pid, (f"channel '{self.name}': lossless reader pid {pid} took no frame for {waited * 1000:.0f} ms "
                     f"while the producer waited for room in its queue (stall timeout): it is live until it "
                     f"catches up, losing its oldest queued frames meanwhile")

    # --- frames ---------------------------------------------------------------------
    def _reserve(self, size: int, deadline: Optional[float]) -> int:
        """A free slot for a frame of ``size`` bytes (lock taken and released here)."""
        if size > self.slot_size:
            raise FrameTooLarge(f"channel {self.name!r}: a {size}-byte frame does not fit its {self.slot_size}-byte "
                                f"slots; create the Writer with max_frame_size >= {size}")
        try:
            return self._reserve_wait(deadline)
        finally:
            with self._lock:  # time outside a wait is no reader's stall
                for r in self._readers:
                    if r is not None:
                        r.stall_mark = None

    def _reserve_wait(self, deadline: Optional[float]) -> int:
        while True:
            with self._lock:
                full = []
                if self.policy == L.POLICY_LOSSLESS:
                    # W3: producer_waiting first (seq_cst), then each reader's taken and head.
                    A.store_seq_cst_32(self._base + _PRODUCER_WAITING, 1)
                    full = self._full_lossless()
                    if full and self.stall_timeout is not None:
                        full = self._stall_check(full, self.stall_timeout)
                if not full:
                    if self.policy == L.POLICY_LOSSLESS:
                        A.store_seq_cst_32(self._base + _PRODUCER_WAITING, 0)
                    self._collect_pins()
                    if self._pending is not None and self._desc_busy(self._pending[0].desc_id):
                        if self.policy != L.POLICY_LOSSLESS:
                            return -1
                    else:
                        if self._pending is not None:
                            self._publish_desc()
                        # The lowest free slot: readers that keep up leave a few slots, still in the CPU's
                        # caches, in use (as the C producer does).
                        for s in range(self.n_slots):
                            if not self._pins[s]:
                                return s
                        raise Error(f"channel {self.name!r}: no free slot: the pool is inconsistent")
            if self._closed:
                raise Closed(f"writer of channel {self.name!r} is closed")
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                A.store_seq_cst_32(self._base + _PRODUCER_WAITING, 0)
                raise Timeout(f"channel {self.name!r}: a lossless reader took no frame for {self.timeout} s")
            if full:
                r, v = full[0]
                _sys.futex_wait(r.addr + _B_TAKEN, v,
                                _FALLBACK_S if deadline is None else min(_FALLBACK_S, deadline - now))
            else:
                time.sleep(_FALLBACK_S)  # a description slot still pinned: look again

    def _push(self, r: _Reader, s: int, frame: bool) -> None:
        """P1 for one reader (lock held), after making room by policy (P2): live (or a live reader) pushes out
        the oldest, and so does an end of stream, which reaches every reader."""
        h = self._load_head(r)
        room = h is not None
        if r.stalled and h == r.tail:
            # Made live by the stall timeout, and caught up: lossless again.
            r.stalled, r.live, r.lossless = False, False, True
            self._set_line_flags(r)
        while h is not None and r.tail - h >= self.queue_len:
            if not r.live and frame:
                room = False
                break
            # acq_rel CAS: pairs with the reader's CAS of head (T1); success removed entry h.
            ok, _ = A.cas_64(r.addr + _B_HEAD, h, h + 1)
            if ok:
                r.head = h + 1
                r.dropped += 1
                break
            h = self._load_head(r)
            room = h is not None
        if not room:
            if not r.broken:
                r.dropped += 1
        else:
            i = r.tail % self.queue_len
            if len(r.q) < self.queue_len:
                r.q.append(s)
            else:
                r.q[i] = s
            A.store_release_32(r.addr + _B_QUEUE + 4 * i, s)
            r.tail += 1
            # Release: pairs with the reader's acquire load of tail (T1).
            A.store_release_64(r.addr + _B_TAIL, r.tail)
            r.queued += 1
        line = self._base + L.READER_LINES_OFFSET + 64 * r.index
        A.store_release_64(line + _L_QUEUED, r.queued)
        A.store_release_64(line + _L_DROPPED, r.dropped)
        A.store_release_32(line + _L_LAG, r.tail - r.head)

    def _publish(self, s: int, stype: int, size: int, pts: int, dts: int, duration: int, flags: int) -> None:
        with self._lock:
            desc = self._desc_cur if stype == L.SLOT_FRAME else 0
            L.SLOT.pack_into(self._mm, L.SLOT_TABLE_OFFSET + s * L.SLOT_HEADER_SIZE, self._next_seq, size, pts, dts,
                              duration, time.clock_gettime_ns(time.CLOCK_MONOTONIC), desc, stype, flags, 0)
            self._slot_desc[s] = desc
            if stype == L.SLOT_FRAME:
                self._next_seq += 1
                self.frames_written += 1
            A.store_release_32(self._base + _EOS, int(stype == L.SLOT_EOS))
            for r in self._readers:
                if r is not None and not r.broken:
                    self._push(r, s, stype == L.SLOT_FRAME)
            A.store_release_64(self._base + _NEXT_SEQ, self._next_seq)
            A.store_release_64(self._base + _FRAMES_WRITTEN, self.frames_written)
            self._wake_readers()

    def _wake_readers(self) -> None:
        """W2: bump commit_seq (seq_cst), then wake if any reader sleeps (seq_cst loads): a reader asleep on its
        wake descriptor by a byte written to it (W5, with W2's skip rules), any other by the futex."""
        c = A.fetch_add_seq_cst_32(self._base + _COMMIT_SEQ, 1) + 1 & 0xFFFFFFFF
        futex = False
        for r in self._readers:
            if r is None or r.broken:
                continue
            w = A.load_seq_cst_32(r.addr + _B_WAITING)
            if not w:
                continue
            if not (w & L.WAITING_FD and r.wake is not None):
                futex = True
            elif w != r.woken and A.load_relaxed_32(r.addr + _B_SLEEP_SEQ) != c:
                # a sleep_seq of c saw this commit: not written to, not remembered (W2)
                try:
                    r.wake.send(b"\1", socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
                except OSError:
                    pass  # EAGAIN: readable already; EPIPE: the reader closed its end
                r.woken = w
        if futex:
            _sys.futex_wake(self._base + _COMMIT_SEQ)

    def write(self, frame: Any, pts: Optional[int] = None, dts: Optional[int] = None,
              duration: Optional[int] = None, flags: int = 0, timeout: Optional[float] = -1.0) -> bool:
        """Publish one frame (a numpy array shaped like the stream's frames, or bytes) to every reader.

        Returns True when published, False when the frame was dropped (a
        description slot the new caps need is still pinned, drop-new/live).
        Raises FrameTooLarge, Timeout (lossless: a reader took nothing for
        ``timeout`` s; default the writer's).
        """
        self._require()
        if self._info is None:
            raise Error(f"channel {self.name!r}: call set_stream() (or give format/caps) before writing")
        if self._reserved is not None:
            raise Error(f"channel {self.name!r}: a frame is reserved; commit() or cancel() it before write()")
        if flags & ~L.FLAGS_ALL:
            raise ValueError(f"flags {flags:#x} has bits outside {L.FLAGS_ALL:#x}")
        src, size = self._source(frame)
        if timeout is not None and timeout < 0:
            timeout = self.timeout
        s = self._reserve(size, None if timeout is None else time.monotonic() + timeout)
        if s < 0:
            return False
        start = self.payload_offset + s * self.slot_size
        if callable(src):
            src(start)
        else:
            self._mm[start:start + size] = src
        t = L.NO_TIME
        self._publish(s, L.SLOT_FRAME, size, t if pts is None else pts, t if dts is None else dts,
                      t if duration is None else duration, flags)
        return True

    def _source(self, frame: Any) -> tuple[Any, int]:
        """What write() copies: bytes, or a function that writes a packed image at its row stride."""
        if type(frame).__module__ == "numpy":
            import numpy as np
            geo = self._geo
            if geo is not None and len(geo) == 1 and frame.ndim >= 2:
                rows, cols, comps, esize, dtype = geo[0]
                shape = frame.shape if frame.ndim == 3 else frame.shape + (1,)
                if tuple(shape) != (rows, cols, comps) or frame.dtype != np.dtype(dtype):
                    raise ValueError(f"channel {self.name!r}: frame {frame.shape} {frame.dtype}, the stream needs "
                                     f"{(rows, cols, comps)} {np.dtype(dtype)}")
                info = self._info
                assert info is not None
                offset, stride = info.plane_offsets[0], info.plane_strides[0]

                def put(start: int) -> None:
                    dst: Any = np.ndarray((rows, cols, comps), np.dtype(dtype), self._mm, start + offset,
                                          (stride, comps * esize, esize))
                    dst[...] = frame.reshape(rows, cols, comps)
                    del dst  # the mapping is exported while it lives
                return put, info.frame_size
            frame = np.ascontiguousarray(frame)
        mv = memoryview(frame)
        if mv.ndim != 1 or mv.itemsize != 1:
            mv = mv.cast("B")
        return mv, mv.nbytes

    def reserve(self, size: Optional[int] = None, timeout: Optional[float] = -1.0) -> Optional[memoryview]:
        """A writable view of a free slot to render the next frame into (zero copy); publish it with commit().

        ``size`` bytes (default: the stream's frame size, else the slot
        size).  The view is valid until commit() or cancel(), which release
        it.  Returns None when the frame is dropped (drop-new/live, a
        description still pinned); raises FrameTooLarge, Timeout like write().
        """
        self._require()
        if self._info is None:
            raise Error(f"channel {self.name!r}: call set_stream() (or give format/caps) before writing")
        if self._reserved is not None:
            raise Error(f"channel {self.name!r}: a frame is reserved already; commit() or cancel() it first")
        if size is None:
            size = self._info.frame_size or self.slot_size
        if timeout is not None and timeout < 0:
            timeout = self.timeout
        s = self._reserve(size, None if timeout is None else time.monotonic() + timeout)
        if s < 0:
            return None
        start = self.payload_offset + s * self.slot_size
        view = memoryview(self._mm)[start:start + size]
        self._reserved = (s, size, view)
        return view

    def commit(self, size: Optional[int] = None, pts: Optional[int] = None, dts: Optional[int] = None,
               duration: Optional[int] = None, flags: int = 0) -> None:
        """Publish the frame reserve() handed out (its first ``size`` bytes; default all) to every reader."""
        self._require()
        if self._reserved is None:
            raise Error(f"channel {self.name!r}: commit() without reserve()")
        if flags & ~L.FLAGS_ALL:
            raise ValueError(f"flags {flags:#x} has bits outside {L.FLAGS_ALL:#x}")
        s, reserved, view = self._reserved
        if size is None:
            size = reserved
        if not 0 <= size <= reserved:
            raise ValueError(f"channel {self.name!r}: commit of {size} bytes, {reserved} were reserved")
        self._reserved = None
        view.release()
        t = L.NO_TIME
        self._publish(s, L.SLOT_FRAME, size, t if pts is None else pts, t if dts is None else dts,
                      t if duration is None else duration, flags)

    def cancel(self) -> None:
        """Give back the frame reserve() handed out, unpublished.  Nothing to do without one."""
        if self._reserved is not None:
            self._reserved[2].release()
            self._reserved = None

    def eos(self, timeout: Optional[float] = -1.0) -> bool:
        """Push an end of stream to every reader (waits like write() in lossless); True once pushed."""
        self._require()
        self.cancel()
        if timeout is not None and timeout < 0:
            timeout = self.timeout
        s = self._reserve(0, None if timeout is None else time.monotonic() + timeout)
        if s >= 0:
            self._publish(s, L.SLOT_EOS, 0, L.NO_TIME, L.NO_TIME, L.NO_TIME, 0)
        return s >= 0

    def set_seq(self, seq: int) -> None:
        """Number the next frame ``seq``, for a writer that republishes frames numbered elsewhere.

        ``seq`` must not be behind the number the next frame would get (ValueError naming both). Before the
        first frame it sets where the numbering starts; after it, the numbers skipped are frames lost before
        this channel: every reader sees them as dropped (a gap) and ``frames_lost`` counts them.
        """
        self._require()
        with self._lock:
            if seq < self._next_seq:
                raise ValueError(f"channel {self.name!r}: frame number {seq} is behind the next one, "
                                 f"{self._next_seq}: numbers only go forward")
            if self.frames_written:
                self.frames_lost += seq - self._next_seq
            self._next_seq = seq
            A.store_release_64(self._base + _NEXT_SEQ, seq)
            A.store_release_64(self._base + _FRAMES_LOST, self.frames_lost)

    @property
    def max_frame_size(self) -> int:
        """The largest frame in bytes (the slot size)."""
        return self.slot_size

    @property
    def reader_alive(self) -> bool:
        """True while at least one reader is attached."""
        return self.readers > 0

    def stats(self) -> Stats:
        """The channel's counters, as ``shmring info`` shows them."""
        self._require()
        return stats_of(self.name, self._mm, self._info)

    # --- readers -------------------------------------------------------------------
    @property
    def readers(self) -> int:
        """Readers attached now."""
        self._require()
        with self._lock:
            return sum(r is not None for r in self._readers)

    @property
    def reader_pids(self) -> list[int]:
        """Pids of the readers attached now."""
        with self._lock:
            return [r.pid for r in self._readers if r is not None]

    def reader_stats(self) -> list[dict[str, int]]:
        """Each attached reader's pid, and the frames queued to it and dropped for it."""
        with self._lock:
            return [{"pid": r.pid, "queued": r.queued, "dropped": r.dropped} for r in self._readers if r is not None]

    def wait_reader(self, timeout: Optional[float] = None) -> bool:
        """Wait until at least one reader is attached; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._attached:
            while not any(r is not None for r in self._readers):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0 or self._closed:
                    return False
                self._attached.wait(left)
        return True

    # --- the door ------------------------------------------------------------------
    def _allowed(self, sock: socket.socket, uid: int, gid: int) -> bool:
        if uid in (0, self._uid) or uid == self._share_uid:
            return True
        if self._share_gid is None:
            return False
        if gid == self._share_gid:
            return True
        try:
            raw = sock.getsockopt(socket.SOL_SOCKET, SO_PEERGROUPS, 4 * 256)
        except OSError:
            return False
        return self._share_gid in struct.unpack(f"{len(raw) // 4}I", raw[:len(raw) // 4 * 4])

    def _greet(self, sock: socket.socket) -> None:
        """The first message of a new connection: HELLO, checked; then WELCOME or REFUSED."""
        try:
            msg, anc, _flags, _addr = sock.recvmsg(64, socket.CMSG_SPACE(16 * 4))
        except BlockingIOError:
            return
        except OSError:
            msg, anc = b"", []
        self._pend.pop(sock, None)
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                for fd in struct.unpack(f"{len(data) // 4}i", data[:len(data) // 4 * 4]):
                    os.close(fd)
        pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        ok = len(msg) == L.HELLO.size and not anc
        hflags = 0
        if ok:
            mtype, size, version, role, holds, mode, hflags = L.HELLO.unpack(msg)
            ok = (mtype, size, version) == (L.MSG_HELLO, L.HELLO.size, L.VERSION) and mode <= L.MODE_LIVE \
                and role in (L.ROLE_READER, L.ROLE_OBSERVER)
        if not ok:
            self._send_close(sock, _refused(errno.EPROTO, f"channel '{self.name}' speaks protocol {L.VERSION} and "
                                                          f"got no valid HELLO of it"))
        elif hflags & ~L.HELLO_FLAGS_ALL:
            self._send_close(sock, _refused(errno.EPROTO, f"channel '{self.name}': HELLO asks for something this "
                                                          f"producer does not know (flags {hflags:#x}, unknown bits "
                                                          f"{hflags & ~L.HELLO_FLAGS_ALL:#x}); a newer reader needs "
                                                          f"a newer producer"))
        elif hflags and role != L.ROLE_READER:
            self._send_close(sock, _refused(errno.EPROTO, f"channel '{self.name}': an observer's HELLO asks for a "
                                                          f"wake descriptor (flags {hflags:#x}): only a reader gets "
                                                          f"one"))
        elif not self._allowed(sock, uid, gid):
            self._send_close(sock, _refused(errno.EACCES, f"channel '{self.name}' (producer uid {self._uid}) does "
                                                          f"not accept readers of uid {uid}: the producer can share "
                                                          f"it with a user (share_uid) or a group (share_gid)"))
        elif role == L.ROLE_OBSERVER:
            w = L.WELCOME.pack(L.MSG_WELCOME, L.WELCOME.size, L.VERSION, 0xFFFFFFFF, self.pool_size,
                                self.generation, 0, 0)
            self._send_close(sock, w, [self._fd])
        else:
            self._admit(sock, pid, uid, holds, mode, bool(hflags & L.HELLO_WAKE_FD))

    def _send_close(self, sock: socket.socket, msg: bytes, fds: Optional[list[int]] = None) -> None:
        try:
            socket.send_fds(sock, [msg], fds or [])
        except OSError:
            pass
        sock.close()

    def _admit(self, sock: socket.socket, pid: int, uid: int, holds: int, mode: int, wake_fd: bool = False) -> None:
        pair: Optional[tuple[socket.socket, socket.socket]] = None
        if wake_fd:  # W5: this end stays, shut for reading; the other goes with WELCOME
            try:
                pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                pair[0].shutdown(socket.SHUT_RD)
            except OSError as e:
                if pair is not None:
                    pair[0].close()
                    pair[1].close()
                self._send_close(sock, _refused(errno.ENOMEM, f"channel '{self.name}': no wake descriptor for this "
                                                              f"reader: {os.strerror(e.errno or 0)}"))
                return
        fd, mm = _memfd(f"shmring-reader:{self.name}", L.BLOCK_SIZE)
        mm[_B_HOLDS:_B_HOLDS + 4 * L.HOLDS_MAX] = b"\xff" * (4 * L.HOLDS_MAX)
        fcntl.fcntl(fd, F_ADD_SEALS, L.BLOCK_SEALS)
        holds = holds if 0 < holds < self.max_holds else self.max_holds
        with self._lock:
            free = [i for i, r in enumerate(self._readers) if r is None]
            if not free:
                pids = " ".join(str(r.pid) for r in self._readers if r is not None)
                text = (f"channel '{self.name}' has {self.max_readers} readers, its limit (max_readers); reader "
                        f"pids: {pids}; stop one or raise max_readers")
            else:
                i = free[0]
                r = _Reader(i, sock, pid, uid, holds, mode, self.policy, fd, mm)
                r.wake = pair[0] if pair is not None else None
                line = self._base + L.READER_LINES_OFFSET + 64 * i
                self._mm[line - self._base:line - self._base + 64] = bytes(64)
                struct.pack_into("<III", self._mm, line - self._base + 4, uid, mode, holds)
                A.store_release_32(line + _L_PID, pid)
                self._readers[i] = r
                A.store_release_32(self._base + _READERS, sum(x is not None for x in self._readers))
        if not free:
            mm.close()
            os.close(fd)
            if pair is not None:
                pair[0].close()
                pair[1].close()
            self._send_close(sock, _refused(errno.EBUSY, text))
            return
        w = L.WELCOME.pack(L.MSG_WELCOME, L.WELCOME.size, L.VERSION, i, self.pool_size, self.generation, holds, mode)
        try:
            socket.send_fds(sock, [w], [self._fd, fd] + ([pair[1].fileno()] if pair is not None else []))
        except OSError:
            self._drop(r)
            return
        finally:
            if pair is not None:
                pair[1].close()  # the reader has it (or the send failed)
        with self._attached:
            self._attached.notify_all()

    def _drop(self, r: _Reader) -> None:
        """The reader leaves: its queue and holds pin nothing any more."""
        with self._lock:
            if self._readers[r.index] is not r:
                return
            self._readers[r.index] = None
            A.store_release_32(self._base + L.READER_LINES_OFFSET + 64 * r.index + _L_PID, 0)
            A.store_release_32(self._base + _READERS, sum(x is not None for x in self._readers))
            if r.broken:
                try:
                    r.sock.send(_refused(errno.EPROTO, f"channel '{self.name}': this reader's block broke the "
                                                        f"protocol ({r.broken}); the producer disconnected it"))
                except OSError:
                    pass
            r.close()

    def _door_loop(self) -> None:
        self._pend: dict[socket.socket, float] = {}
        while not self._closed:
            poll = select.poll()
            poll.register(self._wake_r, select.POLLIN)
            if len(self._pend) < _PENDING_MAX:
                poll.register(self._listen, select.POLLIN)
            for s in self._pend:
                poll.register(s, select.POLLIN)
            with self._lock:
                live = [r for r in self._readers if r is not None]
            for r in live:
                poll.register(r.sock, select.POLLIN)
            now = time.monotonic()
            wait = min([_PENDING_S] + [t + _PENDING_S - now for t in self._pend.values()])
            events = dict(poll.poll(max(0.0, wait) * 1000 + 1))
            if self._wake_r in events:
                try:
                    os.read(self._wake_r, 4096)
                except OSError:
                    pass
            if self._closed:
                break
            for r in live:
                if r.sock.fileno() in events or r.broken:
                    self._drop(r)
            for s in list(self._pend):
                if s.fileno() in events:
                    self._greet(s)
                elif time.monotonic() - self._pend[s] > _PENDING_S:
                    del self._pend[s]
                    s.close()
            if self._listen.fileno() in events:
                while len(self._pend) < _PENDING_MAX:
                    try:
                        s, _ = self._listen.accept()
                    except OSError:
                        break
                    s.setblocking(False)
                    self._pend[s] = time.monotonic()
        for s in self._pend:
            s.close()

    # --- end -------------------------------------------------------------------------
    def _require(self) -> None:
        if self._closed:
            raise Closed(f"writer of channel {self.name!r} is closed")

    def close(self) -> None:
        """S1: store state CLOSED, wake the readers, hang up, free the name.  Idempotent."""
        if self._closed:
            return
        self.cancel()
        A.store_release_32(self._base + _STATE, L.STATE_CLOSED)
        with self._lock:
            self._wake_readers()
        self._closed = True
        os.write(self._wake_w, b"c")
        self._door.join()
        self._listen.close()
        with self._lock:
            for i, r in enumerate(self._readers):
                if r is not None:
                    r.close()
                    self._readers[i] = None
        with self._attached:
            self._attached.notify_all()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._keep = None
        self._mm.close()
        os.close(self._fd)

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    @property
    def frames_dropped(self) -> int:
        """Frames some reader did not get (its queue was full, or live pushed them out), summed over readers."""
        self._require()
        with self._lock:
            return sum(r.dropped for r in self._readers if r is not None)

    def __repr__(self) -> str:
        if self._closed:
            return f"<shmring.Writer {self.name!r} closed>"
        i = self._info
        what = "" if i is None else (f" {i.format} {i.width}x{i.height}" if i.format else f" {i.caps.split(',')[0]!r}")
        return (f"<shmring.Writer {self.name!r} open policy={L.POLICY_NAMES.get(self.policy, '?')}{what} "
                f"written={self.frames_written} readers={self.readers} "
                f"{self.n_slots} slots x {self.slot_size} bytes>")

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
