# SPDX-License-Identifier: LGPL-2.1-or-later
"""A forged producer written against docs/PROTOCOL.md: every byte it sends can be set to a bad value.

A Forge holds what a valid producer of one frame and an end of stream
would send (WELCOME, the pool, the reader block, the descriptors); a case
changes one field, and serve() answers every reader that connects with it.
Run as a program (``forge.py NAME``) it serves the valid channel until its
stdin closes: the impersonation cases run it as another user.
"""

from __future__ import annotations

import fcntl
import os
import select
import socket
import struct
import sys
import threading
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

from shmring import _layout as L  # noqa: E402

F_ADD_SEALS = getattr(fcntl, "F_ADD_SEALS", 1033)

# One reader, queue 2, holds 2, one reservation, lossless: 2 + 1 x 2 + 1 + 1 = 6 slots of 4096 bytes.
N_SLOTS, QUEUE_LEN, MAX_HOLDS, MAX_READERS, MAX_RESERVED = 6, 2, 2, 1, 1
SLOT_TABLE = L.SLOT_TABLE_OFFSET
PAYLOAD = SLOT_TABLE + 4096
SLOT_SIZE = 4096
POOL_SIZE = PAYLOAD + N_SLOTS * SLOT_SIZE
GENERATION = 7
CAPS = b"application/x-hostile"
FRAME_SIZE = 100

# Byte offsets of the fields a case changes.
IDENTITY_FIELDS = ("magic", "version", "header_size", "pool_size", "slot_table_offset", "payload_offset",
                   "slot_size", "generation", "n_slots", "max_readers", "queue_len", "max_holds",
                   "max_reserved", "policy", "block_size", "desc_offset", "desc_slot_size", "desc_slots",
                   "reader_lines_offset")
SLOT_FIELDS = {"seq": (0, "Q"), "size": (8, "Q"), "pts": (16, "Q"), "dts": (24, "Q"), "duration": (32, "Q"),
               "commit_ns": (40, "Q"), "desc_id": (48, "I"), "type": (52, "H"), "flags": (54, "H"),
               "reserved": (56, "Q")}
DESC_FIELDS = {"id": (0, "I"), "caps_len": (4, "I"), "width": (24, "I"), "height": (28, "I"),
               "n_planes": (32, "I"), "fps_n": (36, "I"), "fps_d": (40, "I"), "reserved0": (44, "I"),
               "frame_size": (48, "Q"), "reserved1": (56, "Q"), "plane_offset": (64, "Q"),
               "plane_stride": (96, "I"), "reserved2": (112, "Q")}
BLOCK = {"head": (0, "Q"), "waiting": (8, "I"), "taken": (12, "I"), "sleep_seq": (16, "I"), "tail": (64, "Q"),
         "queue": (128, "I"), "holds": (384, "I")}
POOL_LINE = {"commit_seq": 128, "state": 132, "desc_id": 152, "eos": 164}
WELCOME_FIELDS = ("type", "size", "version", "index", "pool_size", "generation", "holds", "mode")


def memfd(size: int, seals: int, data: bytes = b"") -> int:
    fd = os.memfd_create("forged", os.MFD_ALLOW_SEALING | os.MFD_CLOEXEC)
    os.ftruncate(fd, size)
    if data:
        os.pwrite(fd, data, 0)
    if seals:
        fcntl.fcntl(fd, F_ADD_SEALS, seals)
    return fd


def refused(err: int, text: bytes) -> bytes:
    return L.REFUSED_HEAD.pack(L.MSG_REFUSED, L.REFUSED_SIZE, err, 0) + text[:L.MESSAGE_MAX].ljust(L.MESSAGE_MAX,
                                                                                                  b"\0")


class Forge:
    """What the forged producer sends each reader: valid until a case changes it."""

    def __init__(self) -> None:
        self.identity = [L.MAGIC, L.VERSION, L.HEADER_SIZE, POOL_SIZE, SLOT_TABLE, PAYLOAD, SLOT_SIZE, GENERATION,
                         N_SLOTS, MAX_READERS, QUEUE_LEN, MAX_HOLDS, MAX_RESERVED, L.POLICY_LOSSLESS,
                         L.BLOCK_SIZE, L.DESC_OFFSET, L.DESC_SLOT_SIZE, L.DESC_SLOTS, L.READER_LINES_OFFSET]
        self.welcome = [L.MSG_WELCOME, L.WELCOME.size, L.VERSION, 0, POOL_SIZE, GENERATION, MAX_HOLDS, 0]
        self.welcome_bytes: Optional[bytes] = None  # replaces the packed WELCOME when set
        self.pool = bytearray(POOL_SIZE)
        self.block = bytearray(L.BLOCK_SIZE)
        self.pool_size = POOL_SIZE  # of the memfd
        self.block_size = L.BLOCK_SIZE
        self.pool_seals = L.POOL_SEALS
        self.block_seals = L.BLOCK_SEALS
        self.pool_flags: Optional[int] = None  # reopen the pool memfd with these open() flags
        self.block_flags: Optional[int] = None
        self.fds: Optional[Callable[[int, int], list[int]]] = None  # (pool, block) -> what is sent
        self.later: list[tuple[bytes, int]] = []  # messages after WELCOME: (bytes, descriptors)
        self.hangup = False  # hang up after the answer (else: stay until the reader does)
        self.observers = False  # answer observers (shmring ls, info) too, as a producer does
        self.connections = 0
        # One 100-byte frame of description 1, then an end of stream; the producer closed.
        self.set_slot(0, seq=0, size=FRAME_SIZE, desc_id=1, type=L.SLOT_FRAME)
        self.pool[PAYLOAD:PAYLOAD + FRAME_SIZE] = bytes(range(FRAME_SIZE))
        self.set_slot(1, seq=1, type=L.SLOT_EOS)
        self.set_desc(1, id=1, caps_len=len(CAPS))
        self.set_caps(1, CAPS)
        self.set_line("desc_id", 1)
        self.set_line("state", L.STATE_CLOSED)
        self.set_line("eos", 1)
        self.set_line("commit_seq", 3)
        struct.pack_into("<64I", self.block, BLOCK["holds"][0], *([L.SLOT_NONE] * 64))
        self.set_block("tail", 2)
        self.set_block("queue", 0, 0)
        self.set_block("queue", 1, 1)

    # --- fields ---
    def set_slot(self, i: int, **fields: int) -> None:
        for k, v in fields.items():
            off, fmt = SLOT_FIELDS[k]
            struct.pack_into("<" + fmt, self.pool, SLOT_TABLE + i * L.SLOT_HEADER_SIZE + off, v)

    def set_desc(self, k: int, **fields: int) -> None:
        for f, v in fields.items():
            off, fmt = DESC_FIELDS[f]
            struct.pack_into("<" + fmt, self.pool, L.DESC_OFFSET + k * L.DESC_SLOT_SIZE + off, v)

    def set_desc_bytes(self, k: int, off: int, data: bytes) -> None:
        at = L.DESC_OFFSET + k * L.DESC_SLOT_SIZE + off
        self.pool[at:at + len(data)] = data

    def set_caps(self, k: int, caps: bytes) -> None:
        self.set_desc_bytes(k, L.DESC["caps"][0], caps + b"\0")

    def set_line(self, field: str, v: int) -> None:
        struct.pack_into("<I", self.pool, POOL_LINE[field], v)

    def set_block(self, field: str, *args: int) -> None:
        off, fmt = BLOCK[field]
        if field in ("queue", "holds"):
            off += 4 * args[0]
            args = args[1:]
        struct.pack_into("<" + fmt, self.block, off, *args)

    def set_welcome(self, field: str, v: int) -> None:
        self.welcome[WELCOME_FIELDS.index(field)] = v

    def set_identity(self, field: str, v: int) -> None:
        self.identity[IDENTITY_FIELDS.index(field)] = v

    # --- what is sent ---
    def observer_answer(self) -> tuple[bytes, list[int]]:
        """WELCOME for an observer: index UINT32_MAX and the pool only."""
        msg, fds = self.answer()
        if self.welcome_bytes is not None:  # a case's own answer
            return msg, fds
        os.close(fds.pop())
        return L.WELCOME.pack(L.MSG_WELCOME, L.WELCOME.size, L.VERSION, 0xFFFFFFFF, POOL_SIZE, GENERATION, 0,
                              0), fds

    def answer(self) -> tuple[bytes, list[int]]:
        pool = bytearray(self.pool)
        pool[:L.IDENTITY.size] = L.IDENTITY.pack(*self.identity)
        p = memfd(self.pool_size, 0, bytes(pool[:self.pool_size]))
        b = memfd(self.block_size, 0, bytes(self.block[:self.block_size]))
        if self.pool_seals:
            fcntl.fcntl(p, F_ADD_SEALS, self.pool_seals)
        if self.block_seals:
            fcntl.fcntl(b, F_ADD_SEALS, self.block_seals)
        if self.pool_flags is not None:
            p = reopen(p, self.pool_flags)
        if self.block_flags is not None:
            b = reopen(b, self.block_flags)
        fds = self.fds(p, b) if self.fds else [p, b]
        for fd in (p, b):
            if fd not in fds:
                os.close(fd)
        msg = self.welcome_bytes if self.welcome_bytes is not None else L.WELCOME.pack(*self.welcome)
        return msg, fds


def reopen(fd: int, flags: int) -> int:
    """The same memfd opened again with other access flags."""
    new = os.open(f"/proc/self/fd/{fd}", flags | os.O_CLOEXEC)
    os.close(fd)
    return new


def extra_fds(n: int) -> list[int]:
    """n more descriptors to send (pipes' read ends)."""
    out = []
    for _ in range(n):
        r, w = os.pipe()
        os.close(w)
        out.append(r)
    return out


def send(s: socket.socket, msg: bytes, fds: list[int]) -> None:
    try:
        socket.send_fds(s, [msg], fds)
    finally:
        for fd in fds:
            os.close(fd)


def answer_one(forge: Forge, s: socket.socket, stop: int) -> None:
    """One connection: read HELLO (an observer, such as a `shmring ls` run elsewhere, is turned away),
    answer, send the later messages, stay until the peer or the test hangs up."""
    with s:
        hello = s.recv(64)
        if len(hello) >= 16 and int.from_bytes(hello[12:16], "little") == L.ROLE_OBSERVER:
            if forge.observers:
                try:
                    send(s, *forge.observer_answer())
                except OSError:
                    pass
            return
        forge.connections += 1
        msg, fds = forge.answer()
        try:
            send(s, msg, fds)
            for m, n in forge.later:
                send(s, m, extra_fds(n))
        except OSError:
            return
        if forge.hangup:
            return
        while True:
            r, _, _ = select.select([s, stop], [], [])
            if stop in r:
                return
            try:
                if not s.recv(512):
                    return
            except OSError:
                return


class Server:
    """Serve forge on @shmring/NAME from a thread, every connection, until close()."""

    def __init__(self, name: str, forge: Forge, per_connection: Optional[Callable[[socket.socket], None]] = None):
        self.forge = forge
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        self.ls.bind("\0shmring/" + name)
        self.ls.listen(16)
        self.stop_r, self.stop_w = os.pipe()
        self.per_connection = per_connection
        self.threads: list[threading.Thread] = []
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self) -> None:
        while True:
            r, _, _ = select.select([self.ls, self.stop_r], [], [])
            if self.stop_r in r:
                return
            s, _ = self.ls.accept()
            if self.per_connection:
                self.forge.connections += 1
                self.per_connection(s)
                continue
            t = threading.Thread(target=answer_one, args=(self.forge, s, self.stop_r), daemon=True)
            t.start()
            self.threads.append(t)

    def close(self) -> None:
        os.write(self.stop_w, b"x")
        self.t.join(10)
        for t in self.threads:
            t.join(10)
        assert not self.t.is_alive()
        self.ls.close()
        os.close(self.stop_r)
        os.close(self.stop_w)


def hang_up_at_once(s: socket.socket) -> None:
    """A producer that reads HELLO and hangs up without answering (reconnect cases)."""
    s.recv(64)
    s.close()


def main() -> int:
    srv = Server(sys.argv[1], Forge())
    print("ready", os.geteuid(), flush=True)
    sys.stdin.read()
    srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
