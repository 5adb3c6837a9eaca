# SPDX-License-Identifier: LGPL-2.1-or-later
"""Forged producers against every reader: one case per field a producer sends, and per item of issue 21.

The forged producer (forge.py) serves, valid, one frame then an end of
stream; `test_valid_baseline` checks every reader reads exactly that.
Each case changes one field to a bad value: the reader (the C library in
its own process, shmringsrc in gst-launch-1.0, the Python Reader) must end
by itself with an error naming the problem, deliver no frame past the bad
bytes, end without a signal, and not spin.  The readers run as separate
processes (victims.py); HOSTILE_READERS names those this run covers.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from typing import Callable, Optional

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import forge as F  # noqa: E402
import victims as V  # noqa: E402
from shmring import _layout as L  # noqa: E402

KINDS = [k for k in os.environ.get("HOSTILE_READERS", "c,py,gst").split(",") if k]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "gst" and not V.have_gst():
        pytest.skip("GStreamer plugin not built")
    return request.param


def serve_and_read(kind: str, forge: F.Forge, tag: str, trust_uid: Optional[int] = None) -> V.Ended:
    name = V.channel(tag)
    srv = F.Server(name, forge)
    try:
        return V.run(V.reader_argv(kind, name, trust_uid))
    finally:
        srv.close()


def expect_error(end: V.Ended, kind: str, c: str, py: str, frames: int = 0) -> None:
    """Ended by itself with an error matching c (C library, shmringsrc) or py (Python), after `frames`."""
    text = end.out
    if kind == "gst":  # fakesink says nothing of frames
        assert end.rc != 0 and "ERROR" in text, text
        assert re.search(c, text), f"no /{c}/ in:\n{text}"
    else:
        assert end.frames == frames, f"{end.frames} frame(s), expected {frames}:\n{text}"
        assert end.rc == 1, text
        assert re.search(c if kind == "c" else py, text), f"no /{c if kind == 'c' else py}/ in:\n{text}"
        assert "eos" not in text.splitlines(), text
    end.check_no_spin()


# ---------------------------------------------------------------------------------------------------------
# The baseline: every case below differs from it in one field.

def test_valid_baseline(kind: str) -> None:
    end = serve_and_read(kind, F.Forge(), "valid")
    if kind == "gst":
        assert end.rc == 0, end.out
    else:
        assert end.rc == 0 and end.out.splitlines() == [f"frame {F.FRAME_SIZE}", "eos"], end.out
    end.check_no_spin()


def no_entries(f: F.Forge) -> None:
    """An open channel with nothing queued: the reader waits, so it is messages that end it."""
    f.set_block("tail", 0)
    f.set_line("state", L.STATE_OPEN)
    f.set_line("eos", 0)


def refused(err: int, text: bytes = b"channel 'x': forged refusal") -> bytes:
    return F.refused(err, text)


def no_fds(p: int, b: int) -> list[int]:
    return []


# (case id, change, C/shmringsrc message, Python message); frames: frames before the error.
Case = tuple[str, Callable[[F.Forge], None], str, str]
def welcome_bytes(data: bytes) -> Callable[[F.Forge], None]:
    def change(f: F.Forge) -> None:
        f.welcome_bytes = data
    return change


def welcome_field(field: str, v: int) -> Callable[[F.Forge], None]:
    return lambda f: f.set_welcome(field, v)


def answer(msg: bytes, fds: Optional[Callable[[int, int], list[int]]] = no_fds) -> Callable[[F.Forge], None]:
    def change(f: F.Forge) -> None:
        f.welcome_bytes = msg
        f.fds = fds
        f.hangup = True
    return change


INVALID = "answered HELLO with an invalid message"
PY_INVALID = "invalid|answered HELLO"
WELCOME_CASES: list[Case] = [
    ("welcome-type", welcome_field("type", 9), INVALID, PY_INVALID),
    ("welcome-size", welcome_field("size", 41), INVALID, PY_INVALID),
    ("welcome-version", welcome_field("version", 3), INVALID, "protocol|version|invalid"),
    ("welcome-index", welcome_field("index", 1), "WELCOME does not match the pool", "WELCOME"),
    ("welcome-index-observer", welcome_field("index", 0xFFFFFFFF), "WELCOME does not match the pool", "WELCOME"),
    ("welcome-pool-size", welcome_field("pool_size", F.POOL_SIZE + 4096), "WELCOME does not match the pool",
     "WELCOME"),
    ("welcome-generation", welcome_field("generation", F.GENERATION + 1), "WELCOME does not match the pool",
     "WELCOME"),
    ("welcome-holds-0", welcome_field("holds", 0), "WELCOME does not match the pool", "WELCOME"),
    ("welcome-holds-above-max", welcome_field("holds", F.MAX_HOLDS + 1), "WELCOME does not match the pool",
     "WELCOME"),
    ("welcome-mode", welcome_field("mode", 2), "WELCOME does not match the pool", "WELCOME"),
    ("welcome-short", welcome_bytes(L.WELCOME.pack(*F.Forge().welcome)[:36]), INVALID, PY_INVALID),
    ("welcome-long", welcome_bytes(L.WELCOME.pack(*F.Forge().welcome) + bytes(8)), INVALID, PY_INVALID),
]

# Item 4: the descriptor rule (WELCOME: pool then block, two for a reader; REFUSED: none).
FD_CASES: list[Case] = [
    ("fds-none", lambda f: setattr(f, "fds", no_fds), INVALID, PY_INVALID),
    ("fds-pool-only", lambda f: setattr(f, "fds", lambda p, b: [p]), INVALID, PY_INVALID),
    ("fds-three", lambda f: setattr(f, "fds", lambda p, b: [p, b] + F.extra_fds(1)), INVALID, PY_INVALID),
    ("fds-block-first", lambda f: setattr(f, "fds", lambda p, b: [b, p]), r"pool|block", r"pool|block"),
    ("refused-with-fd", answer(refused(errno.EBUSY), lambda p, b: [p]), INVALID, PY_INVALID),
]

# Item 5 and the memory WELCOME names: access modes, seals, sizes.
MEMORY_CASES: list[Case] = [
    ("pool-unsealed", lambda f: setattr(f, "pool_seals", 0), "pool is not sealed", "pool is not sealed"),
    ("pool-no-future-write", lambda f: setattr(f, "pool_seals", L.BLOCK_SEALS), "pool is not sealed",
     "pool is not sealed"),
    ("pool-write-only", lambda f: setattr(f, "pool_flags", os.O_WRONLY), "pool opened write-only",
     "pool opened write-only"),
    ("pool-too-small", lambda f: setattr(f, "pool_size", F.POOL_SIZE - 4096),
     r"pool has \d+ bytes|does not match its slots or its memfd",
     r"pool has \d+ bytes|does not match its slots or its memfd"),
    ("pool-not-memfd", lambda f: setattr(f, "fds", lambda p, b: F.extra_fds(1) + [b]),
     r"pool (is not a memory file|is not sealed)", r"pool (is not a memory file|is not sealed)"),
    ("block-read-only", lambda f: setattr(f, "block_flags", os.O_RDONLY), "block opened read-only",
     "block opened read-only"),
    ("block-future-write", lambda f: setattr(f, "block_seals", L.BLOCK_SEALS | L.F_SEAL_FUTURE_WRITE),
     "sealed the reader block against writes", "sealed the reader block against writes"),
    ("block-unsealed", lambda f: setattr(f, "block_seals", 0), "block is not sealed", "block is not sealed"),
    ("block-too-small", lambda f: setattr(f, "block_size", 1024), "block has 1024 bytes",
     "block has 1024 bytes"),
]

# REFUSED: each field.  Its errno is the peer's data: one the protocol does not define is EPROTO naming it.
REFUSED_CASES: list[Case] = [
    ("refused-type", answer(L.REFUSED_HEAD.pack(9, L.REFUSED_SIZE, errno.EBUSY, 0)
                            + bytes(L.MESSAGE_MAX)), INVALID, PY_INVALID),
    ("refused-size", answer(L.REFUSED_HEAD.pack(L.MSG_REFUSED, L.REFUSED_SIZE - 1, errno.EBUSY, 0)
                            + bytes(L.MESSAGE_MAX)), INVALID, PY_INVALID),
    ("refused-short", answer(refused(errno.EBUSY)[:200]), INVALID, PY_INVALID),
    ("refused-errno-eintr", answer(refused(errno.EINTR)),
     r"(EPROTO: |another protocol version).*refused with error 4, not one the protocol defines",
     r"refused with error 4, not one the protocol defines"),
    ("refused-errno-etimedout", answer(refused(errno.ETIMEDOUT)),
     r"(EPROTO: |another protocol version).*refused with error 110",
     r"refused with error 110"),
    ("refused-errno-negative", answer(refused(-1)),
     r"(EPROTO: |another protocol version).*refused with error 4294967295",
     r"refused with error|invalid message"),
    ("refused-errno-ebusy", answer(refused(errno.EBUSY, b"channel 'x' has 4 readers, forged")),
     r"has 4 readers, forged", r"has 4 readers, forged"),
    ("refused-message-unterminated", answer(refused(errno.EACCES, b"A" * L.MESSAGE_MAX)), r"AAAAAAAA",
     r"AAAAAAAA"),
    ("refused-reserved", answer(L.REFUSED_HEAD.pack(L.MSG_REFUSED, L.REFUSED_SIZE, errno.EBUSY, 77)
                                + b"forged reserved".ljust(L.MESSAGE_MAX, b"\0")), "forged reserved",
     "forged reserved"),
]


def later(msg: bytes, nfds: int = 0) -> Callable[[F.Forge], None]:
    def change(f: F.Forge) -> None:
        no_entries(f)
        f.later = [(msg, nfds)]
    return change


# Items 2 and 12: what a producer says after WELCOME.  A REFUSED ends the stream (EPROTO, whatever its
# errno); anything else is named, not taken for the producer's death.
UNEXPECTED = r"unexpected message|after WELCOME"
LATER_CASES: list[Case] = [
    ("later-refused-eintr", later(refused(errno.EINTR, b"forged: stop (EINTR)")),
     r"(EPROTO: |disconnected this reader: )forged: stop \(EINTR\)",
     r"error Refused\(errno=71\): forged: stop \(EINTR\)"),
    ("later-refused-ebusy", later(refused(errno.EBUSY, b"forged: stop (EBUSY)")),
     r"(EPROTO: |disconnected this reader: )forged: stop \(EBUSY\)",
     r"error Refused\(errno=71\): forged: stop \(EBUSY\)"),
    ("later-welcome", later(L.WELCOME.pack(*F.Forge().welcome)), UNEXPECTED + r"|type 2", UNEXPECTED),
    ("later-hello", later(L.HELLO.pack(L.MSG_HELLO, L.HELLO.size, 2, 1, 0, 0, 0)), UNEXPECTED, UNEXPECTED),
    ("later-garbage", later(b"\x07" * 7), UNEXPECTED, UNEXPECTED),
    ("later-with-fd", later(refused(errno.EBUSY, b"forged with fd"), 1), r"invalid message after WELCOME \(carrying descriptors", UNEXPECTED),
]


def slot(i: int, **kw: int) -> Callable[[F.Forge], None]:
    return lambda f: f.set_slot(i, **kw)


HEADER = r"slot 0 header is invalid"
# Each slot header field.  pts, dts, duration and commit_ns take any value (the baseline reads them).
SLOT_CASES: list[Case] = [
    ("slot-type", slot(0, type=3), HEADER, HEADER),
    ("slot-size", slot(0, size=F.SLOT_SIZE + 1), HEADER, HEADER),
    ("slot-flags", slot(0, flags=0x100), HEADER, HEADER + "|flags"),
    ("slot-reserved", slot(0, reserved=1), HEADER, HEADER + "|reserved"),
    ("slot-eos-with-size", lambda f: f.set_slot(0, type=L.SLOT_EOS, size=8, desc_id=0), HEADER, HEADER),
    ("slot-desc-id-0", slot(0, desc_id=0), "names description 0", "description (id )?0"),
    ("slot-desc-id-unwritten", slot(0, desc_id=2), "names description 2, its slot holds 0",
     "names description 2, its slot holds 0"),
]


def seq_not_increasing(f: F.Forge) -> None:
    f.set_slot(0, seq=5)
    f.set_slot(1, seq=5, size=F.FRAME_SIZE, desc_id=1, type=L.SLOT_FRAME)


def desc(**kw: int) -> Callable[[F.Forge], None]:
    return lambda f: f.set_desc(1, **kw)


def planar(**kw: int) -> Callable[[F.Forge], None]:
    """A GRAY8 10 x 10 description of one plane, its frame 100 bytes, then kw."""
    def change(f: F.Forge) -> None:
        f.set_desc_bytes(1, 8, b"GRAY8".ljust(16, b"\0"))
        f.set_desc(1, width=10, height=10, n_planes=1, frame_size=100, plane_offset=0, plane_stride=10)
        f.set_desc(1, **kw)
    return change


def desc_bytes(off: int, data: bytes) -> Callable[[F.Forge], None]:
    return lambda f: f.set_desc_bytes(1, off, data)


RESERVED = "reserved fields not zero"
# Each description field (item 9: reserved fields; the id the frame names).
DESC_CASES: list[Case] = [
    ("desc-id", desc(id=9), "description slot 1 holds id 9|holds 9", "holds 9|description"),
    ("desc-caps-len-max", desc(caps_len=L.CAPS_MAX), "bad caps_len", "caps"),
    ("desc-caps-len-short", desc(caps_len=4), "bad caps_len", "caps"),
    ("desc-caps-nul-inside", lambda f: (f.set_caps(1, b"application/x-a\0hidden"),
                                        f.set_desc(1, caps_len=len(b"application/x-a\0hidden"))),
     "bad caps_len", "caps not a string"),
    ("desc-format-unterminated", desc_bytes(8, b"F" * 16), "format not terminated", "format"),
    ("desc-n-planes", desc(n_planes=5), "5 planes", "planes"),
    ("desc-reserved0", desc(reserved0=1), RESERVED, RESERVED),
    ("desc-reserved1", desc(reserved1=1), RESERVED, RESERVED),
    ("desc-reserved2", desc_bytes(112, b"\x01"), RESERVED, RESERVED),
    ("desc-reserved2-last", desc_bytes(127, b"\x01"), RESERVED, RESERVED),
    ("desc-plane-offset", planar(plane_offset=50), r"plane", r"plane"),
    ("desc-plane-stride", planar(plane_stride=0xFFFFFFFF), r"plane", r"plane"),
    ("desc-frame-size", planar(frame_size=200), r"frame of 100 bytes|needs 200|plane", r"100|200|plane|frame"),
    ("desc-height", planar(height=11), r"plane", r"plane"),
    ("desc-width", planar(width=11), r"plane", r"plane"),
]


def block(**kw: int) -> Callable[[F.Forge], None]:
    def change(f: F.Forge) -> None:
        for k, v in kw.items():
            f.set_block(k, v)
    return change


def queue(i: int, s: int) -> Callable[[F.Forge], None]:
    return lambda f: f.set_block("queue", i, s)


# The queue entries the producer writes in the reader's block: tail, head against it, the slot indices.
QUEUE_CASES: list[Case] = [
    ("queue-tail-beyond-length", block(tail=3), r"queue tail 3, head 0 \(length 2\)", r"tail 3|queue"),
    ("queue-tail-behind-head", block(head=5), r"queue tail 2, head 5", r"tail 2|queue"),
    ("queue-entry-slot", queue(0, F.N_SLOTS), r"queue entry 0 names slot 6 of 6", r"names slot 6 of 6"),
    ("queue-entry-none", queue(0, L.SLOT_NONE), r"names slot 4294967295", r"names slot 4294967295"),
]


def state(v: int) -> Callable[[F.Forge], None]:
    def change(f: F.Forge) -> None:
        f.set_block("tail", 0)
        f.set_line("state", v)
    return change


def ident(field: str, v: int) -> Callable[[F.Forge], None]:
    return lambda f: f.set_identity(field, v)


# The pool's identity and producer line (the pool is the memory WELCOME hands over).
POOL_CASES: list[Case] = [
    ("pool-state", state(7), "pool state 7", "state"),
    ("pool-magic", ident("magic", 0), r"magic|not a shmring|identity|does not match", r"magic"),
    ("pool-version", ident("version", 3), r"protocol 3", r"protocol 3"),
    ("pool-n-slots", ident("n_slots", F.N_SLOTS + 1), r"slot|does not match", r"slot|does not match"),
    ("pool-queue-len", ident("queue_len", L.QUEUE_MAX + 1), r"queue|does not match|slots",
     r"queue|does not match|slots"),
    ("pool-max-holds", ident("max_holds", 0), r"holds|does not match|slots|WELCOME", r"holds|match|slots|WELCOME"),
    ("pool-policy", ident("policy", 9), r"policy|does not match", r"policy|does not match"),
    ("pool-block-size", ident("block_size", 8192), r"block|does not match", r"block|does not match"),
]

CASES = WELCOME_CASES + FD_CASES + MEMORY_CASES + REFUSED_CASES + LATER_CASES + SLOT_CASES + DESC_CASES + \
    QUEUE_CASES + POOL_CASES


# Where the Python Reader does not do yet what docs/PROTOCOL.md says (strict: an XPASS fails, so the
# marker goes when the Reader is fixed).
PY_KNOWN: dict[str, str] = {}  # cases the Python Reader is known to fail: none


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_forged_field(request: pytest.FixtureRequest, kind: str, case: Case) -> None:
    tag, change, c, py = case
    if kind == "py" and tag in PY_KNOWN:
        request.applymarker(pytest.mark.xfail(strict=True, reason="Python Reader: " + PY_KNOWN[tag]))
    f = F.Forge()
    change(f)
    expect_error(serve_and_read(kind, f, tag), kind, c, py)


def test_slot_seq_not_increasing(kind: str) -> None:
    """Slot header seq: a frame numbered at or before the last one read is refused, after that one."""
    f = F.Forge()
    seq_not_increasing(f)
    expect_error(serve_and_read(kind, f, "seq"), kind, "frame seq 5 after 5", "seq 5", frames=1)


@pytest.mark.parametrize("field, value", [("pts", 2**64 - 2), ("dts", 12345), ("duration", 0),
                                          ("commit_ns", 2**63)])
def test_slot_times_take_any_value(kind: str, field: str, value: int) -> None:
    """pts, dts, duration and commit_ns are the producer's to choose: any value is a frame."""
    f = F.Forge()
    f.set_slot(0, **{field: value})
    end = serve_and_read(kind, f, field)
    assert end.rc == 0, end.out
    if kind != "gst":
        assert end.frames == 1, end.out


@pytest.mark.parametrize("field, value", [("fps_n", 0), ("fps_d", 0), ("width", 2**32 - 1), ("height", 7)])
def test_desc_free_fields_take_any_value(kind: str, field: str, value: int) -> None:
    """Without planes, width, height and the frame rate describe nothing the reader reads: any value."""
    f = F.Forge()
    f.set_desc(1, **{field: value})
    end = serve_and_read(kind, f, field)
    assert end.rc == 0, end.out
    if kind != "gst":
        assert end.frames == 1, end.out


def test_planar_description_is_valid(kind: str) -> None:
    """The planar cases above differ from this valid description in one field each."""
    f = F.Forge()
    planar()(f)
    end = serve_and_read(kind, f, "planar")
    assert end.rc == 0, end.out
    if kind != "gst":
        assert end.frames == 1, end.out


# ---------------------------------------------------------------------------------------------------------
# Item 1: impersonation.  A producer of another uid (nobody) is refused unless trusted.

def forged_as_nobody(name: str) -> subprocess.Popen[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root to run the forged producer as another user (nobody)")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                          os.path.join(HERE, "forge.py"), name], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=env)
    assert p.stdout is not None
    line = p.stdout.readline()
    if not line.startswith("ready"):
        p.kill()
        p.wait()
        pytest.fail(f"forged producer as nobody did not start: {line!r}")
    assert line.split() == ["ready", "65534"]
    return p


def finish(p: subprocess.Popen[str]) -> None:
    assert p.stdin is not None
    p.stdin.close()
    assert p.wait(10) == 0


@pytest.mark.parametrize("trusted", [False, True], ids=["default-refused", "trusted-accepted"])
def test_impersonation(kind: str, trusted: bool) -> None:
    name = V.channel("impersonation")
    p = forged_as_nobody(name)
    try:
        end = V.run(V.reader_argv(kind, name, 65534 if trusted else None))
    finally:
        finish(p)
    if trusted:
        assert end.rc == 0, end.out
        if kind != "gst":
            assert end.out.splitlines() == [f"frame {F.FRAME_SIZE}", "eos"], end.out
    else:
        expect_error(end, kind, r"served by uid 65534 .*not trusted",
                     r"UntrustedProducer\(errno=[^)]*\): .*uid 65534")
        assert "producer-user=65534" in end.out or kind == "py", end.out


# ---------------------------------------------------------------------------------------------------------
# Item 3: shmringsrc reconnect=true against a producer that hangs up on every reader: bounded back-off.

@pytest.mark.parametrize("how", ["before-answering", "after-welcome"])
def test_reconnect_backoff_is_bounded(how: str) -> None:
    """Hung up before any answer, or right after WELCOME (a death before the first frame): either way
    the reader waits for the next producer with a back-off, not a loop of connections."""
    if not V.have_gst():
        pytest.skip("GStreamer plugin not built")
    if "gst" not in KINDS:
        pytest.skip("shmringsrc is not among this run's readers")
    name = V.channel("reconnect-" + how)
    f = F.Forge()
    if how == "after-welcome":
        no_entries(f)
        f.hangup = True
        srv = F.Server(name, f)
    else:
        srv = F.Server(name, f, per_connection=F.hang_up_at_once)
    p = subprocess.Popen(["gst-launch-1.0", "shmringsrc", f"channel={name}", "reconnect=true", "timeout=-1", "!",
                          "fakesink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            p.wait(2.0)  # the observation window: the reader keeps waiting for a producer
        cpu = V.proc_cpu(p.pid)
    finally:
        p.kill()
        p.wait()
        srv.close()
    n = f.connections
    # Back-off doubling from 10 ms up to a cap: tens of connections in 2 s, never hundreds.
    assert 2 <= n <= 60, f"{n} connections in 2 s"
    assert cpu < 1.5, f"gst-launch-1.0 used {cpu:.2f} s of CPU in 2 s: spinning?"


def test_python_reader_reconnect_backoff_is_bounded() -> None:
    """The Python Reader's retry against the same producer: also bounded, and it ends at its timeout."""
    if "py" not in KINDS:
        pytest.skip("the Python Reader is not among this run's readers")
    name = V.channel("reconnect-py")
    f = F.Forge()
    srv = F.Server(name, f, per_connection=F.hang_up_at_once)
    try:
        code = ("import sys, shmring\ntry:\n    shmring.Reader(sys.argv[1], timeout=2.0)\n"
                "except shmring.Error as e:\n    print('error', type(e).__name__, e)\n")
        end = V.run([sys.executable, "-c", code, name],
                    env=dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "..", "python")))
    finally:
        srv.close()
    assert end.out.startswith("error"), end.out
    assert 2 <= f.connections <= 60, f"{f.connections} connections in {end.wall:.1f} s"
    end.check_no_spin()

