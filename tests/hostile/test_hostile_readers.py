# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile readers against every producer: one case per field a reader sends or writes.

A reader sends HELLO and afterwards writes its block (head, waiting,
taken, sleep_seq, holds, and any other byte).  Each producer (the C
library in its own process, shmringsink in gst-launch-1.0, the Python
Writer) runs lossless at 100 frames/s with a well-behaved Python Reader
attached; each case plays one hostile reader written against
docs/PROTOCOL.md.  A bad HELLO is answered with REFUSED (EPROTO) and a
hang-up; a block that breaks the rules gets REFUSED naming the field and a
hang-up; values the rules allow change nothing for anyone else.  After
every case the good reader still receives frames, and the producer is
alive and has not spun.
"""

from __future__ import annotations

import errno
import mmap
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Callable, Optional

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import victims as V  # noqa: E402

import shmring  # noqa: E402
from shmring import _layout as L  # noqa: E402

PRODUCERS = ("c", "gst", "py")
FPS = 100
B = {"head": 0, "waiting": 8, "taken": 12, "sleep_seq": 16, "tail": 64, "queue": 128, "holds": 384}
PY_WRITER = """
import sys, time, shmring
w = shmring.Writer(sys.argv[1], caps="application/x-hostile", frame_size=0, max_frame_size=4096,
                   policy="lossless", max_readers=4)
print("ready", flush=True)
import select
n = 0
while not select.select([sys.stdin], [], [], 1 / %d)[0]:
    try:
        w.write(bytes([n %% 256]) * 1000, timeout=0.2)
        n += 1
    except shmring.Timeout:  # lossless: a reader holds the channel back
        pass
w.close()
""" % FPS


def wait_for(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Until cond() (a condition another process makes true), at most timeout s."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class Producer:
    """A producer process and a good reader (a thread of this process) counting its frames."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = V.channel("readers-" + kind)
        env = dict(os.environ)
        if kind == "c":
            argv = [V.exe("hostile_producer"), self.name, "lossless", str(FPS)]
        elif kind == "gst":
            argv = ["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "!",
                    f"video/x-raw,format=GRAY8,width=32,height=32,framerate={FPS}/1", "!", "shmringsink",
                    f"channel={self.name}", "policy=lossless", "max-readers=4"]
        else:
            argv = [sys.executable, "-c", PY_WRITER, self.name]
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  env=env)
        self.frames = 0
        self.error: Optional[BaseException] = None
        self.stop = False
        self.good = shmring.Reader(self.name, timeout=20.0)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        self.progress()

    def _read(self) -> None:
        try:
            while not self.stop:
                f = self.good.next_frame(timeout=0.5)
                if f is not None:
                    self.frames += 1
                    f.release()
        except shmring.Timeout:
            if not self.stop:
                self._read()
        except BaseException as e:  # noqa: BLE001 - reported by progress()
            self.error = e

    def progress(self, n: int = 10) -> None:
        """The good reader receives n more frames: nobody else's block held it back."""
        start = self.frames
        wait_for(lambda: self.frames >= start + n or self.error is not None or self.p.poll() is not None,
                 f"{n} frames for the good reader")
        assert self.error is None, f"the good reader failed: {self.error!r}"
        assert self.p.poll() is None, f"the producer ended: {self.p.returncode}"

    def cpu(self) -> float:
        return V.proc_cpu(self.p.pid)

    def close(self) -> None:
        self.stop = True
        self.t.join(10)
        self.good.close()
        assert self.p.poll() is None, f"the producer ended: {self.p.returncode}"
        if self.kind == "gst":
            self.p.send_signal(2)
        else:
            assert self.p.stdin is not None
            self.p.stdin.close()
        assert self.p.stdout is not None
        out = self.p.stdout.read()
        self.p.stdout.close()
        assert self.p.wait(20) == 0, out


@pytest.fixture(scope="module", params=PRODUCERS)
def producer(request: pytest.FixtureRequest):
    if request.param == "gst" and not V.have_gst():
        pytest.skip("GStreamer plugin not built")
    p = Producer(request.param)
    yield p
    p.close()


class Hostile:
    """A reader speaking protocol 2 by hand."""

    def __init__(self, name: str) -> None:
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        self.s.connect("\0shmring/" + name)
        self.fds: list[int] = []
        self.block: Optional[mmap.mmap] = None
        self.pool: Optional[mmap.mmap] = None

    def say(self, msg: bytes, fds: tuple[int, ...] = ()) -> None:
        socket.send_fds(self.s, [msg], list(fds))

    def hello(self, holds: int = 0, mode: int = 0, role: int = L.ROLE_READER, reserved: int = 0) -> bytes:
        self.say(L.HELLO.pack(L.MSG_HELLO, L.HELLO.size, L.VERSION, role, holds, mode, reserved))
        return self.answer()

    def answer(self, timeout: float = 5.0) -> bytes:
        """The producer's next message (b"" for a hang-up); its descriptors kept in self.fds."""
        r, _, _ = select.select([self.s], [], [], timeout)
        assert r, f"the producer said nothing in {timeout} s"
        try:
            msg, fds, _flags, _addr = socket.recv_fds(self.s, 512, 4)
        except ConnectionResetError:
            return b""
        self.fds += fds
        return msg

    def welcomed(self, **kw: int) -> tuple[int, ...]:
        msg = self.hello(**kw)
        assert len(msg) == L.WELCOME.size, msg
        w = L.WELCOME.unpack(msg)
        assert w[0] == L.MSG_WELCOME and len(self.fds) == 2, (w, self.fds)
        self.pool = mmap.mmap(self.fds[0], w[4], mmap.MAP_SHARED, mmap.PROT_READ)
        self.block = mmap.mmap(self.fds[1], L.BLOCK_SIZE)
        return w

    def get(self, field: str, i: int = 0) -> int:
        assert self.block is not None
        fmt = "<Q" if field in ("head", "tail") else "<I"
        return struct.unpack_from(fmt, self.block, B[field] + 4 * i)[0]

    def put(self, field: str, v: int, i: int = 0) -> None:
        assert self.block is not None
        fmt = "<Q" if field in ("head", "tail") else "<I"
        struct.pack_into(fmt, self.block, B[field] + 4 * i, v)

    def n_slots(self) -> int:
        assert self.pool is not None
        return struct.unpack_from("<I", self.pool, L.POOL["n_slots"][0])[0]

    def close(self) -> None:
        for m in (self.block, self.pool):
            if m is not None:
                m.close()
        for fd in self.fds:
            os.close(fd)
        self.s.close()


def refused_then_hangup(h: Hostile, what: str, timeout: float = 5.0) -> None:
    """REFUSED with EPROTO and a message matching `what`, then the hang-up."""
    had = len(h.fds)
    msg = h.answer(timeout)
    assert len(msg) == L.REFUSED_SIZE, msg
    t, size, err, _r = L.REFUSED_HEAD.unpack_from(msg)
    text = msg[L.REFUSED_HEAD.size:].split(b"\0", 1)[0].decode()
    assert (t, size, err) == (L.MSG_REFUSED, L.REFUSED_SIZE, errno.EPROTO), (t, size, err, text)
    assert what in text, text
    assert len(h.fds) == had, "REFUSED carried descriptors"
    assert h.answer(timeout) == b"", "no hang-up after REFUSED"


# ---------------------------------------------------------------------------------------------------------
# HELLO: each field with a bad value; every one is REFUSED (EPROTO) with a hang-up, and no memory.

def hello_bytes(**kw: int) -> bytes:
    f = {"type": L.MSG_HELLO, "size": L.HELLO.size, "version": L.VERSION, "role": L.ROLE_READER, "holds": 0,
         "mode": 0, "flags": 0}
    f.update(kw)
    return L.HELLO.pack(*f.values())


BAD_HELLO = [
    ("type", hello_bytes(type=L.MSG_WELCOME), 0),
    ("type-unknown", hello_bytes(type=77), 0),
    ("size-short", hello_bytes(size=L.HELLO.size - 1), 0),
    ("size-long", hello_bytes(size=L.HELLO.size + 8), 0),
    ("version-1", hello_bytes(version=1), 0),
    ("version-3", hello_bytes(version=3), 0),
    ("role-0", hello_bytes(role=0), 0),
    ("role-3", hello_bytes(role=3), 0),
    ("mode-2", hello_bytes(mode=2), 0),
    ("mode-huge", hello_bytes(mode=0xFFFFFFFF), 0),
    ("message-short", hello_bytes()[:16], 0),
    ("message-long", hello_bytes() + bytes(8), 0),
    ("message-empty-of-fields", bytes(L.HELLO.size), 0),
    ("flags-unknown-bit", hello_bytes(flags=2), 0),  # a feature this producer does not know: said so
    ("flags-all", hello_bytes(flags=0xFFFFFFFFFFFFFFFF), 0),
    # W5: a wake descriptor is the producer's to make: HELLO carries none, with the flag or without
    ("wake-fd-with-a-pipe", hello_bytes(flags=L.HELLO_WAKE_FD), 1),
    ("wake-fd-with-two-fds", hello_bytes(flags=L.HELLO_WAKE_FD), 2),
    ("wake-fd-observer", hello_bytes(flags=L.HELLO_WAKE_FD, role=L.ROLE_OBSERVER), 0),
    ("with-one-fd", hello_bytes(), 1),  # item 4: HELLO carries no descriptor
    ("with-three-fds", hello_bytes(), 3),
]


@pytest.mark.parametrize("tag, msg, nfds", BAD_HELLO, ids=[c[0] for c in BAD_HELLO])
def test_bad_hello(producer: Producer, tag: str, msg: bytes, nfds: int) -> None:
    cpu0 = producer.cpu()
    h = Hostile(producer.name)
    pipes = [os.pipe() for _ in range(nfds)]
    try:
        h.say(msg, tuple(r for r, _ in pipes))
        refused_then_hangup(h, "HELLO")
    finally:
        for r, w in pipes:
            os.close(r)
            os.close(w)
        h.close()
    producer.progress()
    assert producer.cpu() - cpu0 < 2.0


@pytest.mark.parametrize("holds, granted", [(0, 3), (1, 1), (2, 2), (3, 3), (1000, 3), (0xFFFFFFFF, 3)])
def test_hello_holds_is_capped(producer: Producer, holds: int, granted: int) -> None:
    """HELLO holds: any value is granted as at most the producer's max_holds (3, the default of every
    producer), 0 meaning the most."""
    h = Hostile(producer.name)
    try:
        w = h.welcomed(holds=holds, mode=L.MODE_LIVE)
        assert w[6] == granted, w
        assert w[7] == L.MODE_LIVE
    finally:
        h.close()
    producer.progress()


def test_observer_gets_the_pool_only(producer: Producer) -> None:
    """HELLO role observer: WELCOME with index UINT32_MAX and one descriptor (the pool), then a hang-up."""
    h = Hostile(producer.name)
    try:
        msg = h.hello(role=L.ROLE_OBSERVER)
        w = L.WELCOME.unpack(msg)
        assert w[3] == 0xFFFFFFFF and len(h.fds) == 1, (w, h.fds)
        assert h.answer() == b""
    finally:
        h.close()


def test_silent_connection_is_closed(producer: Producer) -> None:
    """A connection that never says HELLO is closed (about a second), so it cannot keep readers out."""
    h = Hostile(producer.name)
    try:
        t0 = time.monotonic()
        assert h.answer(timeout=5.0) == b""
        assert time.monotonic() - t0 < 4.0
    finally:
        h.close()
    producer.progress()


# ---------------------------------------------------------------------------------------------------------
# The reader block: each field a reader writes.  Breaking the rules: REFUSED naming the field, hang-up.

def head_beyond_tail(h: Hostile) -> None:
    h.put("head", h.get("tail") + 5)


def head_far_beyond(h: Hostile) -> None:
    h.put("head", 2**64 - 1)


def head_backwards(h: Hostile) -> None:
    """Take every queued entry (head = tail: allowed), let the producer see it, then move head back."""
    wait_for(lambda: h.get("tail") >= 1, "a first entry")
    t = h.get("tail")
    h.put("head", t)
    wait_for(lambda: h.get("tail") > t, "the producer to push after seeing head")
    h.put("head", 0)


def hold_out_of_range(h: Hostile) -> None:
    h.put("holds", h.n_slots(), 0)


def hold_second_out_of_range(h: Hostile) -> None:
    h.put("holds", 0xFFFFFFFE, 1)


BREAKING = [
    ("head-beyond-tail", head_beyond_tail, "head"),
    ("head-far-beyond", head_far_beyond, "head"),
    ("head-backwards", head_backwards, "head"),
    ("holds-0-out-of-range", hold_out_of_range, "holds[0]"),
    ("holds-1-out-of-range", hold_second_out_of_range, "holds[1]"),
]


@pytest.mark.parametrize("tag, change, field", BREAKING, ids=[c[0] for c in BREAKING])
def test_block_breaking_the_rules(producer: Producer, tag: str, change: Callable[[Hostile], None],
                                  field: str) -> None:
    cpu0, t0 = producer.cpu(), time.monotonic()
    h = Hostile(producer.name)
    try:
        h.welcomed()
        change(h)
        refused_then_hangup(h, field)
    finally:
        h.close()
    producer.progress()
    wall = time.monotonic() - t0
    assert producer.cpu() - cpu0 < 1.0 + 0.5 * wall, "the producer spun"


def no_message(h: Hostile) -> None:
    r, _, _ = select.select([h.s], [], [], 0)
    assert not r, f"the producer spoke to a reader within the rules: {h.answer()!r}"


ALLOWED = [
    ("waiting", lambda h: h.put("waiting", 0xDEADBEEF)),
    ("sleep-seq", lambda h: h.put("sleep_seq", 0xFFFFFFFF)),
    ("waiting-and-sleep-seq", lambda h: (h.put("sleep_seq", 12345), h.put("waiting", 1))),
    ("tail", lambda h: h.put("tail", 2**63)),
    ("queue", lambda h: [h.put("queue", 0xFFFFFFFF, i) for i in range(L.QUEUE_MAX)]),
    ("holds-beyond-granted", lambda h: [h.put("holds", 0xFFFFFFFE, i) for i in range(3, L.HOLDS_MAX)]),
    ("reserved-bytes", lambda h: h.block.__setitem__(slice(640, 4096), b"\xa5" * (4096 - 640))),
]


@pytest.mark.parametrize("tag, change", ALLOWED, ids=[c[0] for c in ALLOWED])
def test_block_values_the_rules_allow(producer: Producer, tag: str, change: Callable[[Hostile], None]) -> None:
    """Garbage where the rules allow anything (the producer never reads tail, queue or the reserved bytes
    back; waiting and sleep_seq only decide a wake): a live reader writing it stays connected, nobody else
    is affected, and the producer does not spin."""
    h = Hostile(producer.name)
    try:
        h.welcomed(mode=L.MODE_LIVE)
        change(h)
        cpu0, t0 = producer.cpu(), time.monotonic()
        producer.progress(30)
        wall = time.monotonic() - t0
        assert producer.cpu() - cpu0 < 0.5 * wall + 0.2, "the producer spun"
        no_message(h)
    finally:
        h.close()
    producer.progress()


def test_taken_garbage_does_not_make_the_producer_spin(producer: Producer) -> None:
    """taken (the futex word a lossless producer waits on): a lossless reader that never takes, with
    garbage in taken and waiting, holds the channel back (lossless) but the producer sleeps meanwhile;
    when it hangs up, the others get frames again."""
    h = Hostile(producer.name)
    try:
        h.welcomed()
        h.put("taken", 0xFFFFFFFF)
        h.put("waiting", 7)
        wait_for(lambda: h.get("tail") >= L.default_queue_len(L.POLICY_LOSSLESS), "the hostile queue to fill")
        cpu0, t0 = producer.cpu(), time.monotonic()
        for v in (0, 1, 0x80000000):  # the word changes: the producer looks again, and sleeps again
            h.put("taken", v)
            time.sleep(0.3)  # the observation window (not a synchronisation): the producer must stay asleep
        wall = time.monotonic() - t0
        assert producer.cpu() - cpu0 < 0.25 * wall, f"the producer used {producer.cpu() - cpu0:.2f} s CPU " \
                                                    f"in {wall:.2f} s waiting: spinning"
        no_message(h)
    finally:
        h.close()
    producer.progress()


def test_head_taken_without_holds_is_allowed(producer: Producer) -> None:
    """head moved by the reader within [last head, tail] is the protocol (a take): no refusal."""
    h = Hostile(producer.name)
    try:
        h.welcomed()
        for _ in range(3):
            wait_for(lambda: h.get("tail") > h.get("head"), "an entry")
            h.put("head", h.get("tail"))
            h.put("taken", h.get("taken") + 1)
        no_message(h)
    finally:
        h.close()
    producer.progress()


def test_wake_descriptor_readers_cannot_hurt_the_producer(producer: Producer) -> None:
    """W5: readers that ask for a wake descriptor and then close it, or never read it, and one that claims to
    sleep on a descriptor it never asked for, each with a new waiting value all the time (so every commit
    writes to them): the producer neither blocks, nor dies of SIGPIPE, nor holds the good reader back."""
    hs = [Hostile(producer.name) for _ in range(3)]
    stop = threading.Event()
    try:
        for h, flags in zip(hs, (L.HELLO_WAKE_FD, L.HELLO_WAKE_FD, 0)):
            msg = h.hello(mode=L.MODE_LIVE, reserved=flags)
            assert len(msg) == L.WELCOME.size and len(h.fds) == (3 if flags else 2), (msg, h.fds)
            h.pool = mmap.mmap(h.fds[0], L.WELCOME.unpack(msg)[4], mmap.MAP_SHARED, mmap.PROT_READ)
            h.block = mmap.mmap(h.fds[1], L.BLOCK_SIZE)
        closed, full, liar = hs
        os.close(closed.fds.pop())  # its end of the pair: the producer's writes fail with EPIPE

        def sleepers() -> None:
            g = 0
            while not stop.is_set():
                g = g % 0x7FFFFFFF + 1
                for h in hs:
                    h.put("waiting", g | L.WAITING_FD)
                time.sleep(0.001)  # a new value before every commit (100 a second)

        t = threading.Thread(target=sleepers)
        t.start()
        cpu0 = producer.cpu()
        producer.progress(320)  # more commits than the buffer of a pair holds (about 280 one-byte writes)
        stop.set()
        t.join()
        pending = 0
        while True:
            try:
                got = os.read(full.fds[2], 4096) if select.select([full.fds[2]], [], [], 0)[0] else b""
            except BlockingIOError:
                got = b""
            if not got:
                break
            pending += len(got)
        assert pending >= 250, f"only {pending} wake bytes for 320 commits"
        assert producer.cpu() - cpu0 < 5.0
    finally:
        stop.set()
        for h in hs:
            h.close()
    producer.progress()
