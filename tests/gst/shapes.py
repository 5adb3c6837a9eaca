#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# shapes.py: the gst-shapes suite: the pipelines users write around shmringsink and shmringsrc, each a
# producer process and reader processes, every frame counted and its content checked.
"""Usage: shapes.py CASE (one meson test each), shapes.py --list.

Every case runs real pipelines in separate processes (shapes_peers.py):
a producer whose frames are stamped with their number before any queue
(or by the application, for appsrc) and whose shmringsinks record what
reached them (stamp, PTS, size, crc32 of the whole frame), and readers
(shmring.Reader, or shmringsrc in a gi pipeline) that check each frame
(stamp the same in every row, the picture the same as the first frame of
its size, JPEG/H.264 framing) and record what they read.  This script
then compares the lists:

- lossless: the reader read exactly what reached the sink, in order (with
  wait-for-reader=true from the first frame), sequence numbers without a
  gap;
- live and drop-new: what the reader read is a subsequence of what reached
  the sink (nothing duplicated, out of order, or from another frame);
  live ends with the sink's last frame, drop-new starts with its first;
- every frame's stamp agrees with its PTS (the one it had when stamped),
  stamps increase: a slot overwritten or reused while a frame was in it
  shows up as a frame whose content is not the one its PTS says;
- every process exits 0 (no error on any bus) within its timeout: a hang
  fails the test, it never waits forever.
"""

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "shapes_peers.py")
# SHAPES_PEER_WRAP: a command line every helper process runs under (valgrind, in CI).
WRAP = os.environ.get("SHAPES_PEER_WRAP", "").split()
# Under a wrapper (valgrind: ~30x slower) every time limit of the helpers and of the waits for them is
# PACE times longer: a busy machine must not turn a slow run into a reported hang.
PACE = 3 if WRAP else 1
PY = sys.executable
GST_LAUNCH = os.environ.get("GST_LAUNCH", "gst-launch-1.0")
NONE = -1
SECOND = 1_000_000_000

POLICIES = ("lossless", "live", "drop-new")
W, H = 320, 240
RAW = "video/x-raw,format=BGR,width=%d,height=%d" % (W, H)
SRC = "videotestsrc pattern=colors "  # a static picture: every frame of one size the same but its stamp
FAST = RAW + ",framerate=240/1"  # sink sync=true paces a non-live source: 240 frames a second
# a slow reader: holds each frame this long (the producer outpaces it, so lossless waits for it and
# live and drop-new drop frames); a fast one reads as the frames come
SLOW = 0.004
QUICK = 0.0


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def channel(tag):
    return "shp-%d-%s" % (os.getpid(), tag)


def channel_exists(name):
    """A producer listens on the channel's abstract socket @shmring/NAME."""
    with open("/proc/net/unix") as f:
        return any(line.rstrip("\n").endswith(" @shmring/" + name) for line in f)


def have(*elements):
    for e in elements:
        if subprocess.run(["gst-inspect-1.0", "--exists", e]).returncode != 0:
            return e
    return None


# ---------------------------------------------------------------- processes

class Proc:
    """A helper process; its stdout lines are collected by a thread so waits can time out."""

    procs = []

    def __init__(self, what, args, stdin=False):
        self.what = what
        self.p = subprocess.Popen(WRAP + [PY, PEERS] + [str(a) for a in args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  text=True, bufsize=1)
        self.t0 = time.monotonic()
        self.t1 = None
        self.lines = []
        self.q = queue.Queue()
        self.err = []
        self.threads = [threading.Thread(target=self._read, args=(f, f is self.p.stdout), daemon=True)
                        for f in (self.p.stdout, self.p.stderr)]
        for t in self.threads:
            t.start()
        Proc.procs.append(self)

    def _read(self, f, out):
        for line in iter(f.readline, ""):
            if out:
                self.lines.append(line.rstrip("\n"))
                self.q.put(line.rstrip("\n"))
            else:
                self.err.append(line)
        if out:
            self.q.put(None)

    def tail(self):
        return "\n  stdout: %s\n  stderr: %s" % ("\n    ".join(self.lines[-15:]), "".join(self.err[-40:]))

    def expect(self, prefix, timeout=60):
        """The first line (not seen by an earlier expect) starting with prefix."""
        end = time.monotonic() + timeout * PACE
        while True:
            try:
                line = self.q.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise Fail("%s printed no %r within %d s%s" % (self.what, prefix, timeout, self.tail()))
            if line is None:
                self.p.wait(timeout=10)
                raise Fail("%s ended (exit %s) before %r%s" % (self.what, self.p.returncode, prefix, self.tail()))
            if line.startswith(prefix):
                return line

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def stacks(self):
        """Every thread's stack of a hung process (gdb; through vgdb under valgrind), or why not."""
        gdb = shutil.which("gdb")
        if not gdb:
            return "(no gdb here for the stacks)"
        target = (["-ex", "target remote | vgdb --pid=%d" % self.p.pid] if WRAP and "valgrind" in WRAP[0]
                  else ["-p", str(self.p.pid)])
        try:
            r = subprocess.run([gdb, "-batch", "-nx", "-ex", "set pagination off"] + target +
                               ["-ex", "thread apply all bt"], capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return "(gdb took over 120 s)"
        return "\n".join(x for x in r.stdout.splitlines() if x.startswith(("#", "Thread")))

    def finish(self, timeout=60):
        try:
            self.p.wait(timeout=timeout * PACE)
        except subprocess.TimeoutExpired:
            stacks = self.stacks()
            self.p.kill()
            self.p.wait()
            raise Fail("%s did not end within %d s (killed: a hang)%s\n  stacks:\n%s" % (
                self.what, timeout * PACE, self.tail(), stacks))
        self.t1 = time.monotonic()
        for t in self.threads:  # every line read (the pipes close with the process)
            t.join(10)
        check(self.p.returncode == 0, "%s exited %d%s" % (self.what, self.p.returncode, self.tail()))
        return self

    def line(self, prefix):
        for line in self.lines:
            if line.startswith(prefix):
                return line
        raise Fail("%s printed no %r%s" % (self.what, prefix, self.tail()))

    @classmethod
    def kill_all(cls):
        for pr in cls.procs:
            if pr.p.poll() is None:
                pr.p.kill()
                pr.p.wait()


def finish_all(procs, timeout=60):
    """Wait for every process; a failure names the first one that failed."""
    end = time.monotonic() + timeout * PACE
    for pr in procs:
        pr.finish(max(1.0, end - time.monotonic()) / PACE)


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def field(line, key):
    """The value of key=VALUE in a helper's line."""
    for word in line.split():
        if word.startswith(key + "="):
            return word[len(key) + 1:]
    raise Fail("no %s= in %r" % (key, line))


# ---------------------------------------------------------------- comparisons

def key(r):
    return (r["stamp"], r["pts"], r["size"], r["crc"])


def show(r):
    return "stamp=%s pts=%s size=%s crc=%08x%s" % (r["stamp"], r["pts"], r["size"], r["crc"],
                                                   " seq=%d" % r["seq"] if "seq" in r else "")


def check_stamps(what, recs, stamps, retime=None, dups=False):
    """Each stamped frame's stamp agrees with its PTS; stamps increase (repeat only with dups)."""
    spts = {s["stamp"]: s["pts"] for s in stamps}
    last = None
    for i, r in enumerate(recs):
        s = r["stamp"]
        check(not isinstance(s, str), "%s frame %d: %s" % (what, i, s))
        if s == NONE:
            continue
        check(s in spts, "%s frame %d: stamp %d was never given (%s)" % (what, i, s, show(r)))
        if retime is None:
            check(spts[s] == r["pts"], "%s frame %d: stamp %d belongs to PTS %d, the frame says %d: the "
                  "content is another frame's" % (what, i, s, spts[s], r["pts"]))
        else:
            check(abs(spts[s] - r["pts"]) <= retime, "%s frame %d: stamp %d (PTS %d) is too far from the "
                  "frame's PTS %d" % (what, i, s, spts[s], r["pts"]))
        if last is not None:
            check(s > last or (dups and s == last), "%s frame %d: stamp %d after %d: %s" % (
                what, i, s, last, "a stale or out-of-order frame" if s < last else "a duplicate"))
        last = s


def is_subsequence(small, big):
    """Indices in big of small's elements, in order; None if small is not a subsequence."""
    idx = []
    j = 0
    for x in small:
        while j < len(big) and big[j] != x:
            j += 1
        if j == len(big):
            return None
        idx.append(j)
        j += 1
    return idx


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def check_delivery(what, sink, read, policy, from_start=True, seqs=True):
    """The frames read against the frames that reached the sink (see the module doc)."""
    sk, rk = [key(r) for r in sink], [key(r) for r in read]
    check(read, "%s: the reader read no frame (%d reached the sink)" % (what, len(sink)))
    if seqs:
        for a, b in zip(read, read[1:]):
            check(b["seq"] > a["seq"], "%s: seq %d after %d" % (what, b["seq"], a["seq"]))
            check(b["dropped"] == b["seq"] - a["seq"] - 1, "%s: seq %d after %d, the frame says %d dropped" % (
                what, b["seq"], a["seq"], b["dropped"]))
    if policy == "lossless":
        k = 0 if from_start else (sk.index(rk[0]) if rk[0] in sk else -1)
        check(k >= 0, "%s: the first frame read is not one that reached the sink: %s" % (what, show(read[0])))
        want = sk[k:]
        if rk != want:
            i = first_difference(rk, want)
            raise Fail("%s: lossless, read %d frames, %d reached the sink%s; first difference at frame %d: "
                       "read %s, sink had %s" % (
                           what, len(rk), len(want), "" if from_start else " after the reader attached", i,
                           show(read[i]) if i < len(read) else "nothing",
                           show(sink[k + i]) if k + i < len(sink) else "nothing"))
        if seqs:
            check(all(r["dropped"] == 0 for r in read[1:]), "%s: lossless with frames dropped" % what)
    else:
        idx = is_subsequence(rk, sk)
        if idx is None:
            bad = next(r for i, r in enumerate(read) if is_subsequence(rk[:i + 1], sk) is None)
            raise Fail("%s: %s: read a frame that is not the next of those that reached the sink, in order "
                       "(stale, duplicated, out of order or corrupted): %s" % (what, policy, show(bad)))
        if policy == "live":
            check(rk[-1] == sk[-1], "%s: live: the last frame read is not the sink's last: %s, sink %s" % (
                what, show(read[-1]), show(sink[-1])))
        if policy == "drop-new" and from_start:
            check(rk[0] == sk[0], "%s: drop-new: the first frame read is not the sink's first" % what)


# ---------------------------------------------------------------- one producer, Python readers

def sink_el(name, ch, policy, extra=""):
    return "shmringsink name=%s channel=%s policy=%s %s" % (name, ch, policy, extra)


def run_sink_case(tmp, policy, desc, *, sinks=("sink",), stamp="src", script="eos", pargs=(), delays=None,
                  wait=True, retime=None, dups=False, expect=None, body=True, reader_args=(), closed_ok=False,
                  timeout=40):
    """desc: the producer's pipeline with {sink}, {sink2} for shmringsinks (channel and policy filled in;
    wait-for-reader=true unless wait is False).  One pyreader per sink, started first.  Returns
    (producer, readers, sink records, reader records, stamps)."""
    chans = {s: channel(s) for s in sinks}
    extra = "wait-for-reader=true" if wait else ""
    fill = {("sink" if i == 0 else "sink%d" % (i + 1)): sink_el(s, chans[s], policy, extra)
            for i, s in enumerate(sinks)}
    desc = desc.format(**fill)
    readers = []
    for i, s in enumerate(sinks):
        d = (delays or {}).get(s, SLOW if i == 0 else QUICK)
        args = ["pyreader", chans[s], os.path.join(tmp, "read-%s.jsonl" % s), "--delay", d,
                "--timeout", timeout * PACE] + list(reader_args)
        if not body:
            args.append("--no-body")
        if closed_ok:
            args.append("--closed-ok")
        readers.append(Proc("reader of %s" % s, args))
    prod = Proc("producer", ["producer", tmp, "--desc", desc, "--stamp", stamp, "--sinks", ",".join(sinks),
                             "--script", script, "--timeout", timeout * PACE] + list(pargs), stdin=True)
    return chans, prod, readers


def gather(tmp, sinks, stamped=True):
    stamps = load(os.path.join(tmp, "stamps.jsonl"))
    sink = {s: load(os.path.join(tmp, "sink-%s.jsonl" % s)) for s in sinks}
    read = {s: load(os.path.join(tmp, "read-%s.jsonl" % s)) for s in sinks}
    return stamps, sink, read


def sink_shape(tmp, policy, desc, *, sinks=("sink",), stamp="src", wait=True, retime=None, dups=False,
               expect=None, body=True, delays=None, pargs=(), script="eos", extra_check=None, timeout=40):
    """The common sink-side case: run to end of stream, every reader against its sink."""
    chans, prod, readers = run_sink_case(tmp, policy, desc, sinks=sinks, stamp=stamp, wait=wait, body=body,
                                         delays=delays, pargs=pargs, script=script, timeout=timeout)
    finish_all([prod] + readers, timeout=timeout + 20)
    stamps, sink, read = gather(tmp, sinks)
    for s in sinks:
        what = "channel of %s" % s
        check_stamps("%s at the sink" % what, sink[s], stamps, retime, dups)
        check_stamps("%s read" % what, read[s], stamps, retime, dups)
        check_delivery(what, sink[s], read[s], policy, from_start=wait)
        if expect is not None and policy == "lossless":
            check(len(read[s]) == expect, "%s: read %d frames, expected %d" % (what, len(read[s]), expect))
        check(not channel_exists(chans[s]), "channel of %s left listening" % s)
    if extra_check:
        extra_check(stamps, sink, read)
    counters = json.loads(prod.line("counters")[len("counters "):])
    return "; ".join("%s: reached the sink %d, read %d, %s, longest wait between two frames read %.0f ms" % (
        s, len(sink[s]), len(read[s]), counters.get(s), longest_gap(read[s]) / 1e6) for s in sinks)


def longest_gap(recs):
    """The longest time (ns) between two frames read: a stall shows up in the test's log."""
    t = [r["t"] for r in recs if "t" in r]
    return max((b - a for a, b in zip(t, t[1:])), default=0)


# ---------------------------------------------------------------- the cases

CASES = {}


def case(name, policies=POLICIES, timeout=90, heavy=False):
    def reg(fn):
        for pol in policies:
            CASES["%s-%s" % (name, pol)] = (fn, pol, timeout, heavy)
        return fn
    return reg


N = 200


def queue_case(props):
    def fn(tmp, policy):
        return sink_shape(tmp, policy, SRC + "name=src num-buffers=%d ! %s ! queue %s ! {sink}" % (
            N, FAST, props), expect=N)
    fn.__doc__ = ("queue %s before the sink, a slow reader: every frame (lossless) or a clean subsequence; "
                  "catches the pool's reservations running out with pool buffers held in the queue "
                  "(an error today), or a deadlock if the sink waited for them" % (props or "(defaults)"))
    return fn


for _n, _props in (("1", "max-size-buffers=1"), ("2", "max-size-buffers=2"), ("3", "max-size-buffers=3"),
                   ("default", "")):
    case("queue-" + _n)(queue_case(_props))


@case("leaky-live")
def _(tmp, policy):
    """A live source (is-live=true) into queue leaky=downstream, the sink's default wait-for-reader (auto:
    frames go on without a reader): the reader gets every frame that reached the sink after it attached
    (lossless); the leaky queue drops pool buffers under the sink, which must give their slots back."""
    return sink_shape(tmp, policy, SRC + "name=src is-live=true num-buffers=360 ! %s ! "
                      "queue leaky=downstream max-size-buffers=2 ! {sink}" % FAST, wait=False)


@case("tee-two-sinks")
def _(tmp, policy):
    """tee into two queued branches, each a shmringsink of its own channel, both read (one reader slow, one
    fast): each channel gets every frame (lossless); a branch waiting for its reader never corrupts the other."""
    return sink_shape(tmp, policy, SRC + "name=src num-buffers=%d ! %s ! tee name=t ! queue ! {sink} "
                      "t. ! queue ! {sink2}" % (N, FAST), sinks=("sink", "sinkb"), expect=N)


@case("convert-scale")
def _(tmp, policy):
    """videoconvert ! videoscale (I420 640x480 -> BGR 320x240) then a queue: the scaler renders into the
    sink's pool; the picture of every frame is checked against the first."""
    return sink_shape(tmp, policy, SRC + "num-buffers=%d ! video/x-raw,format=I420,width=640,height=480,"
                      "framerate=240/1 ! videoconvert ! videoscale name=stamp ! %s ! queue max-size-buffers=2 ! "
                      "{sink}" % (N, RAW), stamp="stamp", expect=N)


def make_clip(tmp, frames=90):
    """A small motion-JPEG AVI (every frame a key frame) made with the elements of this machine."""
    missing = have("jpegenc", "avimux", "avidemux", "jpegdec")
    if missing:
        raise Skip("no %s here (gst-plugins-good)" % missing)
    path = os.path.join(tmp, "clip.avi")
    r = subprocess.run([GST_LAUNCH, "-q", "videotestsrc", "pattern=colors", "num-buffers=%d" % frames, "!",
                        "video/x-raw,format=I420,width=%d,height=%d,framerate=30/1" % (W, H), "!", "jpegenc", "!",
                        "avimux", "!", "filesink", "location=" + path], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "making the clip failed: %s" % r.stderr)
    return path


@case("decodebin")
def _(tmp, policy):
    """filesrc ! decodebin ! videoconvert ! queue: a decoded file (the test makes it: 90 frames of
    motion JPEG in AVI); every frame, each decoded picture the same."""
    clip = make_clip(tmp)
    return sink_shape(tmp, policy, "filesrc location=%s ! decodebin ! videoconvert name=stamp ! "
                      "video/x-raw,format=BGR ! queue max-size-buffers=2 ! {sink} sync=false" % clip,
                      stamp="stamp", expect=90)


def videorate_case(rate):
    def fn(tmp, policy):
        def dup_check(stamps, sink, read):
            if rate > 30:
                st = [r["stamp"] for r in sink["sink"]]
                check(len(st) > len(set(st)), "videorate to %d/1 made no duplicate" % rate)
        return sink_shape(tmp, policy, SRC + "name=src num-buffers=90 ! %s,framerate=30/1 ! videorate ! "
                          "video/x-raw,framerate=%d/1 ! queue max-size-buffers=2 ! {sink} sync=false" % (RAW, rate),
                          retime=SECOND // 30 + 1, dups=rate > 30, extra_check=dup_check)
    fn.__doc__ = ("videorate 30/1 -> %d/1 then a queue (%s): each frame's stamp is the source frame nearest "
                  "its new PTS; videorate answers the allocation query itself, so its frames are copied in "
                  "(the sink's copy path behind a queue)" % (rate, "with duplicates" if rate > 30 else "dropping"))
    return fn


case("videorate-25")(videorate_case(25))
case("videorate-60")(videorate_case(60))


@case("identity-drop")
def _(tmp, policy):
    """identity drop-probability=0.2 then a queue: pool buffers freed upstream of the sink give their
    slots back; the reader gets exactly the frames that reached the sink (lossless)."""
    def dropped(stamps, sink, read):
        check(len(sink["sink"]) < len(stamps), "identity dropped nothing")
    return sink_shape(tmp, policy, SRC + "name=src num-buffers=%d ! %s ! identity drop-probability=0.2 ! "
                      "queue max-size-buffers=2 ! {sink}" % (N, FAST), extra_check=dropped)


def appsrc_case(keep):
    def fn(tmp, policy):
        return sink_shape(tmp, policy, "appsrc name=app format=time max-buffers=2 block=true caps=%s ! {sink}" %
                          FAST, stamp="", script="appsrc", pargs=("--frames", N, "--keep", keep), expect=N)
    return fn


case("appsrc-pool")(appsrc_case(1))
case("appsrc-keep3", policies=("lossless", "live"))(appsrc_case(3))
CASES["appsrc-keep3-lossless"][0].__doc__ = CASES["appsrc-keep3-live"][0].__doc__ = (
    """appsrc fed from the sink's pool by an application that keeps the last three buffers it pushed (more
    than the two slots the pool lends) and checks them after each push: published slots stay pinned under
    it, the pool then gives system memory (copied), no wait without end, every frame.""")


def _appsrc_pool_doc(tmp, policy):
    """The application's thread takes buffers from the sink's pool (allocation query on appsrc's src pad),
    fills and stamps them and pushes them through appsrc max-buffers=2 block=true: every frame.  The
    application keeps the frame it pushed last until it has pushed the next, and checks it then: a slot
    committed while the application still holds its buffer must not be reused under it."""


CASES["appsrc-pool-lossless"][0].__doc__ = _appsrc_pool_doc.__doc__


@case("audio")
def _(tmp, policy):
    """audiotestsrc (S16LE stereo, 441 samples a buffer) through a queue: every buffer's bytes (crc32) and
    the total sample count (lossless)."""
    def samples(stamps, sink, read):
        if policy == "lossless":
            n = sum(r["size"] for r in read["sink"]) // 4
            check(n == 100 * 441, "read %d samples, expected %d" % (n, 100 * 441))
    return sink_shape(tmp, policy, "audiotestsrc num-buffers=100 samplesperbuffer=441 ! "
                      "audio/x-raw,format=S16LE,rate=44100,channels=2 ! queue max-size-buffers=2 ! {sink}",
                      stamp="", extra_check=samples, expect=100)


@case("jpeg")
def _(tmp, policy):
    """jpegenc then a queue: every frame one whole JPEG image, byte for byte what reached the sink."""
    if have("jpegenc"):
        raise Skip("no jpegenc here")
    return sink_shape(tmp, policy, SRC + "num-buffers=120 ! video/x-raw,width=%d,height=%d,"
                      "framerate=240/1 ! jpegenc ! queue max-size-buffers=2 ! {sink}" % (W, H), stamp="",
                      expect=120)


@case("h264")
def _(tmp, policy):
    """x264enc ! h264parse (byte-stream, one access unit a frame) then a queue: every access unit byte for
    byte (lossless), each beginning with a start code."""
    missing = have("x264enc", "h264parse")
    if missing:
        raise Skip("no %s here" % missing)
    return sink_shape(tmp, policy, SRC + "num-buffers=120 ! video/x-raw,width=%d,height=%d,"
                      "framerate=240/1 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
                      "h264parse ! video/x-h264,stream-format=byte-stream,alignment=au ! queue max-size-buffers=2 ! "
                      "{sink}" % (W, H), stamp="", expect=120)


# -- lifecycle with a reader attached

@case("pause-resume")
def _(tmp, policy):
    """PLAYING -> PAUSED -> PLAYING ten times, 20 frames apart, with a queue and a slow reader attached:
    no error, every frame (lossless), nothing stale."""
    return sink_shape(tmp, policy, SRC + "name=src num-buffers=480 ! %s ! queue max-size-buffers=2 ! "
                      "{sink}" % FAST, script="pause", pargs=("--times", 10, "--every", 20), expect=480)


@case("seek")
def _(tmp, policy):
    """A flushing seek back to 0.5 s in a decoded file (after 45 frames): the reader sees the frames that
    reached the sink and no other (nothing flushed, nothing stale), and the first frame after the seek is
    DISCONT (or, live and drop-new, follows a gap it was told about)."""
    clip = make_clip(tmp)
    chans, prod, readers = run_sink_case(
        tmp, policy, "filesrc location=%s ! decodebin ! videoconvert name=stamp ! video/x-raw,format=BGR ! "
        "queue max-size-buffers=2 ! {sink} sync=false" % clip, stamp="stamp", script="seek",
        pargs=("--every", 45, "--position", SECOND // 2))
    finish_all([prod] + readers)
    after = int(field(prod.line("seeked"), "after-stamp"))
    stamps, sink, read = gather(tmp, ["sink"])
    s, r = sink["sink"], read["sink"]
    check_stamps("at the sink", s, stamps)
    check_stamps("read", r, stamps)
    new = [i for i, x in enumerate(s) if x["stamp"] >= after]
    check(new and s[new[0]]["pts"] == SECOND // 2, "after the seek the sink got no frame at 0.5 s: %s" % (
        show(s[new[0]]) if new else "nothing"))
    k = new[0]
    if policy == "lossless":
        # the flush may take the one frame the sink was rendering (waiting for room): every other frame
        # that reached the sink was written, and read
        written = json.loads(prod.line("counters")[len("counters "):])["sink"]["frames-written"]
        pre = written - (len(s) - k)
        check(pre in (k - 1, k), "the sink wrote %d frames of %d that reached it, %d of them after the seek: "
              "more than the one in render lost to the flush" % (written, len(s), len(s) - k))
        check_delivery("channel", s[:pre] + s[k:], r, policy)
    else:
        check_delivery("channel", s, r, policy)
    first = next((x for x in r if x["stamp"] >= after), None)
    check(first is not None, "the reader read nothing after the seek")
    check(first["discont"] or (policy != "lossless" and first["dropped"] > 0),
          "the first frame read after the seek is not DISCONT: %s (flags %#x; at the sink %#x)" % (
              show(first), first["flags"], s[new[0]]["flags"]))
    # lossless reads frames past 0.5 s before the seek, then 0.5 s again: PTS goes back once; a lossy reader
    # may have read none of them (drop-new keeps the oldest), never more than the one jump
    back = sum(1 for a, b in zip(r, r[1:]) if b["pts"] < a["pts"])
    check(back == 1 if policy == "lossless" else back <= 1, "PTS went back %d times in what was read" % back)
    return "reached the sink %d (%d before the seek), read %d" % (len(s), new[0], len(r))


@case("null-cycles", policies=("lossless", "live"))
def _(tmp, policy):
    """NULL -> PLAYING -> NULL twenty times on one sink (the same element in one process), a reader that
    follows each new channel (reconnect): each run's frames are read exactly (lossless: every frame the
    sink wrote), each run a new generation; no error, nothing left listening."""
    times = 20
    chans, prod, readers = run_sink_case(
        tmp, policy, SRC + "name=src ! %s ! queue max-size-buffers=2 ! {sink}" % FAST, script="cycles",
        pargs=("--times", times, "--every", 6), reader_args=("--reconnect",), delays={"sink": 0.001})
    finish_all([prod] + readers)
    stamps, sink, read = gather(tmp, ["sink"])
    s, r = sink["sink"], read["sink"]
    check_stamps("at the sink", s, stamps)
    check_stamps("read", r, stamps)  # the stamps go on from run to run, the PTS start again
    bounds, written = [0], []
    for line in prod.lines:
        if line.startswith("cycle "):
            bounds.append(int(field(line, "records")))
            if "written=" in line:
                written.append(int(field(line, "written")))
    check(len(bounds) == times + 2, "the producer did not finish its runs: %s" % prod.lines[-3:])
    gens = []
    for x in r:
        if not gens or gens[-1] != x["gen"]:
            check(x["gen"] not in gens, "generation %d came back" % x["gen"])
            gens.append(x["gen"])
    check(len(gens) == times + 1, "read %d generations, expected %d" % (len(gens), times + 1))
    for i, g in enumerate(gens):
        run_s = s[bounds[i]:bounds[i + 1]]
        run_r = [x for x in r if x["gen"] == g]
        if i < times:
            # NULL takes the frame the sink was rendering: the run's frames are those it wrote
            if policy == "lossless":
                check(len(run_r) == written[i], "run %d: read %d frames, the sink wrote %d" % (
                    i, len(run_r), written[i]))
            run_s = run_s[:written[i]]
        check_delivery("run %d" % i, run_s, run_r, policy)
    check(not channel_exists(chans["sink"]), "channel left listening")
    return "%d runs, reached the sink %d, read %d" % (len(gens), len(s), len(r))


@case("eos-restart", policies=("lossless", "live"))
def _(tmp, policy):
    """End of stream, then the same pipeline to NULL and PLAYING again to a second end of stream: the first
    reader ends cleanly at the first, a second reader reads the whole second run, a new generation."""
    n = 60
    chans, prod, readers = run_sink_case(
        tmp, policy, SRC + "name=src num-buffers=%d ! %s ! queue max-size-buffers=2 ! {sink}" % (n, FAST),
        script="restart")
    r0 = readers[0]
    line = prod.expect("run 0")
    r0.finish(30)
    check("eos" in r0.line("end"), "the first reader did not end at end of stream: %s" % r0.line("end"))
    split = int(field(line, "records"))
    r1 = Proc("second reader", ["pyreader", chans["sink"], os.path.join(tmp, "read-second.jsonl"),
                                "--delay", SLOW])
    finish_all([prod, r1])
    stamps = load(os.path.join(tmp, "stamps.jsonl"))
    s = load(os.path.join(tmp, "sink-sink.jsonl"))
    a, b = load(os.path.join(tmp, "read-sink.jsonl")), load(os.path.join(tmp, "read-second.jsonl"))
    check_stamps("first run", a, stamps)
    check_stamps("second run", b, stamps)
    check_delivery("first run", s[:split], a, policy)
    check_delivery("second run", s[split:], b, policy)
    if policy == "lossless":
        check(len(a) == n and len(b) == n, "read %d and %d frames, expected %d each" % (len(a), len(b), n))
    check(a[0]["gen"] != b[0]["gen"], "the second run has the first's generation")
    return "read %d then %d" % (len(a), len(b))


CAPS_BIG = "video/x-raw,format=BGR,width=640,height=480,framerate=240/1"
CAPS_SMALL = "video/x-raw,format=BGR,width=160,height=120,framerate=240/1"


@case("caps-smaller", policies=("lossless", "live"))
def _(tmp, policy):
    """Caps renegotiated mid-stream to a smaller frame (320x240 -> 160x120) with pool buffers of the first
    size in the queue: every frame of both sizes, each checked against the first of its size."""
    def both(stamps, sink, read):
        sizes = {x["fmt"] for x in read["sink"]}
        check(sizes == {"BGR 320x240", "BGR 160x120"}, "read frames of %s" % sorted(sizes))
    return sink_shape(tmp, policy, SRC + "name=src num-buffers=150 ! capsfilter name=cf caps=%s ! "
                      "queue max-size-buffers=2 ! {sink}" % FAST, script="caps",
                      pargs=("--every", 50, "--caps", CAPS_SMALL), expect=150, extra_check=both)


@case("caps-larger-error", policies=("lossless", "live"))
def _(tmp, policy):
    """Caps renegotiated to a larger frame (640x480) than the slots (sized for 320x240): a clear error
    naming max-frame-size, never a hang; the reader reads the frames before it and sees the channel close."""
    chans, prod, readers = run_sink_case(
        tmp, policy, SRC + "name=src num-buffers=150 ! capsfilter name=cf caps=%s ! "
        "queue max-size-buffers=2 ! {sink}" % FAST, script="caps",
        pargs=("--every", 50, "--caps", CAPS_BIG, "--expect-error", "max-frame-size"), closed_ok=True)
    finish_all([prod] + readers)
    err = prod.line("expected-error")
    check("max-frame-size=921600" in err, "the error does not give the max-frame-size to set: %s" % err)
    stamps, sink, read = gather(tmp, ["sink"])
    s, r = sink["sink"], read["sink"]
    check_stamps("read", r, stamps)
    written = json.loads(prod.line("counters")[len("counters "):])["sink"]["frames-written"]
    small = [x for x in s if x["size"] == W * H * 3]
    check_delivery("channel", small[:written] if policy == "lossless" else small, r, policy)
    check(all(x["fmt"] == "BGR 320x240" for x in r), "read a frame of the larger caps")
    check("closed" in readers[0].line("end"), "the reader did not see the channel close: %s" %
          readers[0].line("end"))
    return "%s; read %d frames" % (err[:120], len(r))


@case("caps-larger-fits", policies=("lossless",))
def _(tmp, policy):
    """With max-frame-size for 640x480 up front: 320x240 -> 640x480 -> 160x120 mid-stream, every frame."""
    def all3(stamps, sink, read):
        sizes = {x["fmt"] for x in read["sink"]}
        check(len(sizes) == 3, "read frames of %s" % sorted(sizes))
    return sink_shape(tmp, policy, SRC + "name=src num-buffers=150 ! capsfilter name=cf caps=%s ! "
                      "queue max-size-buffers=2 ! {sink} max-frame-size=%d" % (FAST, 640 * 480 * 3),
                      script="caps", pargs=("--every", 50, "--caps", CAPS_BIG, "--caps", CAPS_SMALL),
                      expect=150, extra_check=all3)


def unlink_case(abrupt):
    def fn(tmp, policy):
        chans, prod, readers = run_sink_case(
            tmp, policy, SRC + "name=src ! %s ! tee name=t ! queue ! fakesink sync=true t. ! "
            "queue name=q2 max-size-buffers=2 ! {sink}" % FAST, script="unlink",
            pargs=("--every", 40) + (("--abrupt",) if abrupt else ()), closed_ok=abrupt)
        line = prod.expect("removed")
        readers[0].finish(30)
        check(not channel_exists(chans["sink"]), "the removed sink's channel still listens")
        prod.send("go")
        finish_all([prod])
        stamps, sink, read = gather(tmp, ["sink"])
        s, r = sink["sink"], read["sink"]
        check_stamps("read", r, stamps)
        written = int(field(line, "written"))
        end = readers[0].line("end")
        check(("closed" if abrupt else "eos") in end, "the reader ended with %r" % end)
        check_delivery("channel", s[:written] if policy == "lossless" else s, r, policy)
        if policy == "lossless":
            check(len(r) == written, "read %d frames, the sink wrote %d" % (len(r), written))
        return "the sink wrote %d, read %d, reader: %s" % (written, len(r), end)
    fn.__doc__ = ("the sink's branch (queue ! shmringsink) taken out of a running tee pipeline%s: the "
                  "reader reads every frame written and %s; the rest of the pipeline goes on to its end of "
                  "stream; the channel is gone at once" % (
                      " without end of stream (unlinked, set to NULL)" if abrupt else ", given EOS first",
                      "sees the close" if abrupt else "ends at end of stream"))
    return fn


case("unlink-eos", policies=("lossless", "live"))(unlink_case(False))
case("unlink-abrupt", policies=("lossless",))(unlink_case(True))


# -- reader side: shmringsrc pipelines

RS_N = 120


def reader_side(tmp, policy, rdesc, *, n=RS_N, hold="", slow=0.0, unconvert="", rate=None, exact=True,
                dups=False, fps=240, sync=False, check_fn=None):
    """A plain producer (videotestsrc ! shmringsink, no queue) and a shmringsrc pipeline in a gi process
    (shapes_peers gstreader); every buffer at its appsinks is checked against the frame of its stamp."""
    ch = channel("rs")
    r = Proc("reading pipeline", ["gstreader", tmp, "--desc", "shmringsrc name=src channel=%s ! %s" % (ch, rdesc),
                                  "--timeout", 40 * PACE] + (["--hold", hold] if hold else []) +
             (["--slow", slow] if slow else []) + (["--unconvert", unconvert] if unconvert else []))
    prod = Proc("producer", ["producer", tmp, "--desc",
                             SRC + "name=src num-buffers=%d ! %s,framerate=%d/1 ! %s sync=%s" % (
                                 n, RAW, fps, sink_el("sink", ch, policy, "wait-for-reader=true"),
                                 "true" if sync else "false"),
                             "--stamp", "src", "--timeout", 40 * PACE])
    finish_all([prod, r], timeout=70)
    stamps = load(os.path.join(tmp, "stamps.jsonl"))
    sink = load(os.path.join(tmp, "sink-sink.jsonl"))
    by_stamp = {x["stamp"]: x for x in sink}
    end = r.line("end")
    out = {}
    for name in ["out"] + ([hold] if hold else []):
        recs = load(os.path.join(tmp, "read-%s.jsonl" % name))
        check(recs, "%s: no frame" % name)
        offs = set()
        last = None
        for i, x in enumerate(recs):
            s = x["stamp"]
            check(s in by_stamp, "%s frame %d: stamp %s never reached the sink" % (name, i, s))
            y = by_stamp[s]
            check((x["crc"], x["size"]) == (y["crc"], y["size"]),
                  "%s frame %d (stamp %d): content differs from the frame the sink got" % (name, i, s))
            offs.add(x["pts"] - y["pts"])
            if last is not None:
                check(s > last or (dups and s == last), "%s frame %d: stamp %d after %d" % (name, i, s, last))
            last = s
        if rate is None:
            check(len(offs) == 1, "%s: PTS moved against the producer's by %d different offsets" % (
                name, len(offs)))
        if exact and policy == "lossless":
            check([x["stamp"] for x in recs] == [x["stamp"] for x in sink],
                  "%s: read %d frames, %d reached the sink: not every frame in order" % (name, len(recs), len(sink)))
            check(not any(x["discont"] for x in recs[1:]), "%s: a DISCONT buffer with nothing lost" % name)
        out[name] = recs
    check_stamps("at the sink", sink, stamps)
    if policy == "lossless":
        check("missed=0" in end and "received=%d" % n in end, "shmringsrc counters: %s" % end)
    if check_fn:
        check_fn(out, sink)
    return "%s; %s" % (end, ", ".join("%s read %d" % (k, len(v)) for k, v in out.items()))


@case("rs-queue-convert", policies=("lossless", "live"))
def _(tmp, policy):
    """shmringsrc ! queue max-size-buffers=50 ! videoconvert ! RGB ! appsink: every frame, its pixels the
    producer's (converted back); the queue holds frames past the source's holds (copies)."""
    return reader_side(tmp, policy, "queue max-size-buffers=50 ! videoconvert ! video/x-raw,format=RGB ! "
                       "appsink name=out sync=false", unconvert="rgb")


@case("rs-tee-hold", policies=("lossless",))
def _(tmp, policy):
    """shmringsrc ! tee into two queues: one pulled as frames come, one (unbounded) holding every frame
    until the other branch ended: both get every frame, in order, intact."""
    return reader_side(tmp, policy, "tee name=t ! queue max-size-buffers=50 ! appsink name=out sync=false "
                       "t. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! appsink name=hold "
                       "sync=false", hold="hold")


@case("rs-videorate", policies=("lossless",))
def _(tmp, policy):
    """shmringsrc ! videorate ! 15/1 (from 30/1): about half the frames, each intact, in order.  skip-to-first:
    otherwise videorate fills the time from the segment's start to the first frame (how long the producer
    took to start) with copies of it, a count no test can predict."""
    def half(out, sink):
        k = len(out["out"])
        check(abs(k - RS_N // 2) <= 2, "videorate gave %d frames, expected about %d" % (k, RS_N // 2))
    return reader_side(tmp, policy, "videorate skip-to-first=true ! video/x-raw,framerate=15/1 ! "
                       "appsink name=out sync=false",
                       fps=30, rate=True, exact=False, check_fn=half)


@case("rs-sync", policies=("lossless",))
def _(tmp, policy):
    """shmringsrc ! appsink sync=true from a producer running ahead (60 frames a second of PTS): every frame,
    presented on the clock (the last about a second after the first, not at once)."""
    def paced(out, sink):
        t = [x["t"] for x in out["out"]]
        span = t[-1] - t[0]
        want = (len(t) - 1) / 60.0
        check(span >= 0.8 * want, "%d frames presented in %.3f s, the clock says %.3f s: not synchronised" % (
            len(t), span, want))
    return reader_side(tmp, policy, "appsink name=out sync=true", n=60, fps=60, check_fn=paced)


@case("rs-appsink-drop", policies=("lossless", "live"))
def _(tmp, policy):
    """A Python application pulling from appsink max-buffers=1 drop=true, slower than the frames come: it
    gets a clean subsequence ending with the last frame, shmringsrc receives every frame (lossless), no hang."""
    def last(out, sink):
        check(out["out"][-1]["stamp"] == sink[-1]["stamp"], "the application did not get the last frame")
        check(len(out["out"]) < len(sink), "nothing was dropped: the application was not slow")
    return reader_side(tmp, policy, "appsink name=out sync=false max-buffers=1 drop=true", slow=0.02,
                       exact=False, check_fn=last)


# ---------------------------------------------------------------- the checks themselves

def selftest(tmp, policy):
    """The checks of this suite fail on what they are meant to catch: a lost, duplicated, stale, reordered
    or corrupted frame, a stamp that disagrees with its PTS, a sequence gap not counted, rows stamped
    differently, a picture that changed, a broken JPEG; and pass on good lists."""
    import numpy as np
    from shapes_peers import Bad, FrameCheck, stamp_bytes

    sink = [{"stamp": i, "pts": i * 1000, "size": 10, "crc": 100 + i, "flags": 0} for i in range(10)]
    stamps = [{"stamp": i, "pts": i * 1000} for i in range(10)]

    def rd(i, seq=None, dropped=0, **kw):
        r = dict(sink[i], seq=i if seq is None else seq, dropped=dropped)
        r.update(kw)
        return r

    def must_fail(what, fn):
        try:
            fn()
        except (Fail, Bad):
            return
        raise Fail("the check passed on %s" % what)

    good = [rd(i) for i in range(10)]
    check_delivery("good", sink, good, "lossless")
    check_stamps("good", good, stamps)
    sub = [rd(i, dropped=(1 if i else 0)) for i in (0, 2, 4, 6, 8, 9)]
    sub[-1]["dropped"] = 0
    check_delivery("good", sink, sub, "live")
    check_delivery("good", sink, sub, "drop-new")
    cases = {
        "a lost frame (lossless)": lambda: check_delivery("x", sink, good[:4] + good[5:], "lossless"),
        "a frame short at the end (lossless)": lambda: check_delivery("x", sink, good[:9], "lossless"),
        "a duplicated frame": lambda: check_delivery("x", sink, sub[:2] + [dict(sub[1], seq=3)] + sub[2:],
                                                     "live"),
        "a stale frame": lambda: check_delivery("x", sink, [rd(0), rd(5, dropped=4), rd(3, seq=6, dropped=0),
                                                            rd(9, seq=9, dropped=2)], "live"),
        "a corrupted frame": lambda: check_delivery("x", sink, [rd(0), dict(rd(1), crc=7)] + good[2:], "live"),
        "a missing last frame (live)": lambda: check_delivery("x", sink, good[:8], "live"),
        "a missing first frame (drop-new)": lambda: check_delivery("x", sink, [dict(r, seq=r["seq"] - 1)
                                                                               for r in good[1:]], "drop-new"),
        "a gap not counted": lambda: check_delivery("x", sink, [rd(0), rd(2)] + good[3:], "live"),
        "a sequence going back": lambda: check_delivery("x", sink, [rd(0), rd(1, seq=5), rd(2, seq=4)], "live"),
        "a stamp with another PTS": lambda: check_stamps("x", [rd(0), dict(rd(1), stamp=2)], stamps),
        "a stamp going back": lambda: check_stamps("x", [rd(2), rd(1)], stamps),
        "a repeated stamp": lambda: check_stamps("x", [rd(2), rd(2)], stamps),
        "a stamp never given": lambda: check_stamps("x", [dict(rd(0), stamp=99)], stamps),
        "a bad stamp at the sink": lambda: check_stamps("x", [dict(rd(0), stamp="bad: rows disagree")], stamps),
    }
    for what, fn in cases.items():
        must_fail(what, fn)

    w, h = 16, 4
    stride = w * 3
    rng = np.random.default_rng(1)
    pic = rng.integers(0, 256, size=(h, stride), dtype=np.uint8)

    def frame(n, pic=pic):
        f = pic.copy()
        f[:, :8] = np.frombuffer(stamp_bytes(n), np.uint8)
        return f

    caps = "video/x-raw,format=BGR"
    chk = FrameCheck()
    check(chk.check(frame(5).tobytes(), caps, "BGR", w, h, stride)[0] == 5, "stamp 5 not read")
    check(chk.check(frame(6).tobytes(), caps, "BGR", w, h, stride)[0] == 6, "stamp 6 not read")
    mixed = frame(7)
    mixed[2] = frame(8)[2]
    changed = frame(9)
    changed[3, 20] ^= 1
    plain = pic.copy()
    must_fail("rows stamped with two frames", lambda: chk.check(mixed.tobytes(), caps, "BGR", w, h, stride))
    must_fail("a changed picture", lambda: chk.check(changed.tobytes(), caps, "BGR", w, h, stride))
    must_fail("a frame without a stamp", lambda: chk.check(plain.tobytes(), caps, "BGR", w, h, stride))
    must_fail("a cut JPEG", lambda: chk.check(b"\xff\xd8" + bytes(10), "image/jpeg", "", 0, 0, 0))
    must_fail("H.264 without a start code", lambda: chk.check(bytes(3) + b"\x02", "video/x-h264", "", 0, 0, 0))
    chk.check(b"\xff\xd8" + bytes(10) + b"\xff\xd9", "image/jpeg", "", 0, 0, 0)
    return "%d bad lists and 5 bad frames caught, the good ones passed" % len(cases)


CASES["checks"] = (selftest, None, 30, False)


# ---------------------------------------------------------------- main

def main():
    if sys.argv[1:] == ["--list"]:
        for name in CASES:
            print(name)
        return 0
    if sys.argv[1:2] == ["--registered"]:
        # meson.build's list against this file's: a case nobody runs, or a test with no case, fails
        given = sys.argv[2:]
        missing = [c for c in CASES if c not in given]
        unknown = [c for c in given if c not in CASES]
        dup = sorted({c for c in given if given.count(c) > 1})
        for what, names in (("not registered in tests/gst/meson.build", missing),
                            ("registered but not a case of shapes.py", unknown), ("registered twice", dup)):
            if names:
                print("%s: %s" % (what, " ".join(names)))
        if missing or unknown or dup:
            return 1
        print("ok: %d cases registered" % len(given))
        return 0
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: shapes.py CASE | --list; cases: %s" % " ".join(CASES), file=sys.stderr)
        return 2
    import importlib.util
    missing = [m for m in ("gi", "numpy") if importlib.util.find_spec(m) is None]
    if missing:
        print("skipped: no %s here (python3-gi, python3-numpy)" % " ".join(missing))
        return 77
    name = sys.argv[1]
    fn, policy, _timeout, _heavy = CASES[name]
    print("%s: %s" % (name, " ".join((fn.__doc__ or "").split())), flush=True)
    tmp = tempfile.mkdtemp(prefix="shapes-")
    t0 = time.monotonic()
    try:
        summary = fn(tmp, policy)
    except Skip as e:
        print("skipped:", e)
        return 77
    except Fail as e:
        print("FAIL %s (%.1f s): %s" % (name, time.monotonic() - t0, e))
        print("run times: %s" % ", ".join("%s %.1f s%s" % (pr.what, (pr.t1 or time.monotonic()) - pr.t0,
                                                            "" if pr.t1 else " (not ended)") for pr in Proc.procs))
        return 1
    finally:
        Proc.kill_all()
        if os.environ.get("SHAPES_KEEP"):  # SHAPES_KEEP=1: keep the records for a look
            print("records kept in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("ok %s (%.1f s): %s" % (name, time.monotonic() - t0, summary))
    if Proc.procs:
        print("run times: %s" % ", ".join("%s %.1f s" % (pr.what, (pr.t1 or time.monotonic()) - pr.t0)
                                          for pr in Proc.procs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
