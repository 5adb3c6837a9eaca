#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# shapes_peers.py: the processes of the gst-shapes tests: a producer pipeline whose frames are stamped and
# whose sinks are recorded, a shmring.Reader reader and a shmringsrc reader.
"""Usage: shapes_peers.py producer|pyreader|gstreader ARGS (started by shapes.py, one process each).

The stamp: the producer numbers every buffer leaving the element given
with --stamp (before any queue) and writes that number into the first
8 bytes of every row of plane 0 (BGR frames): the number, then the number
xor STAMP_XOR.  Rows that disagree, or a number that does not agree with
the frame's PTS, show a frame overwritten or mixed with another.  The
rest of the picture is the source's static pattern (videotestsrc's smpte),
the same in every frame of one size.

Records: one JSON object per line.  The producer writes what reached each
recorded shmringsink (stamp, pts, dts, size, crc32 of the whole buffer,
flags) and what left the stamping element (stamp, pts); readers write what
they read, so the test compares the lists frame by frame.
"""

import argparse
import faulthandler
import json
import os
import sys
import threading
import time
import zlib

STAMP_XOR = 0x5A5A5A5A
STAMP_FORMATS = ("BGR", "RGB")  # packed 3-byte formats whose rows carry the stamp
NONE = -1  # no time / no stamp in a record


class Bad(Exception):
    """A frame that fails a check."""


def log(*a):
    print(*a, flush=True)


def stamp_bytes(n):
    return n.to_bytes(4, "little") + (n ^ STAMP_XOR).to_bytes(4, "little")


def rows_of(np, data, stride, height):
    """Plane 0 of a packed frame as a (rows, stride) uint8 array (a view)."""
    return np.frombuffer(data, np.uint8, count=stride * height).reshape(height, stride)


def read_stamp(np, rows):
    """The number stamped in every row, or Bad."""
    s = rows[:, :8]
    if not (s == s[0]).all():
        bad = int(np.nonzero((s != s[0]).any(axis=1))[0][0])
        raise Bad("rows disagree: row 0 has %s, row %d has %s" % (bytes(s[0]).hex(), bad, bytes(s[bad]).hex()))
    head = bytes(s[0])
    n = int.from_bytes(head[:4], "little")
    if int.from_bytes(head[4:], "little") != n ^ STAMP_XOR:
        raise Bad("no stamp in the frame (first bytes %s)" % head.hex())
    return n


class FrameCheck:
    """Checks one reader's frames: stamps, the static picture (per size), JPEG/H.264 framing; crc32."""

    def __init__(self, body=True):
        import numpy
        self.np = numpy
        self.body = body
        self.refs = {}

    def check(self, data, caps, fmt, width, height, stride):
        """Returns (stamp or NONE, crc32).  data: the frame's payload (a buffer)."""
        np = self.np
        stamp = NONE
        if caps.startswith("video/x-raw") and fmt in STAMP_FORMATS and width >= 3:
            rows = rows_of(np, data, stride, height)
            stamp = read_stamp(np, rows)
            if self.body:
                key = (fmt, width, height, stride)
                body = rows[:, 8:width * 3]
                ref = self.refs.get(key)
                if ref is None:
                    self.refs[key] = body.copy()
                elif not np.array_equal(body, ref):
                    diff = np.argwhere(body != ref)
                    raise Bad("frame %d: %d bytes of the picture differ from the first frame of %dx%d, "
                              "first at row %d column %d" % (stamp, len(diff), width, height, diff[0][0],
                                                             diff[0][1] + 8))
        elif caps.startswith("image/jpeg"):
            b = bytes(memoryview(data)[:2]) + bytes(memoryview(data)[-2:])
            if b != b"\xff\xd8\xff\xd9":
                raise Bad("not one whole JPEG image (starts %s, ends %s)" % (b[:2].hex(), b[2:].hex()))
        elif caps.startswith("video/x-h264"):
            head = bytes(memoryview(data)[:4])
            if not (head == b"\0\0\0\1" or head[:3] == b"\0\0\1"):
                raise Bad("H.264 access unit without a start code (%s)" % head.hex())
        return stamp, zlib.crc32(data)


def gst_init():
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstVideo", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    return Gst


def video_geometry(caps):
    """(format, width, height, stride of plane 0) of raw video caps, else None."""
    from gi.repository import Gst, GstVideo
    # Caps.is_subset: gst-python 1.26's get_structure() gives a wrapper without get_name().
    if not caps.is_subset(Gst.Caps.from_string("video/x-raw")):
        return None
    vi = GstVideo.VideoInfo.new_from_caps(caps)
    if vi is None:
        return None
    return vi.finfo.name, vi.width, vi.height, vi.stride[0]


def t_or_none(Gst, t):
    return NONE if t == Gst.CLOCK_TIME_NONE else t


# ---------------------------------------------------------------- producer

class Producer:
    """A pipeline from a description; stamps at --stamp, records every --sinks sink's input."""

    def __init__(self, a):
        self.a = a
        Gst = self.Gst = gst_init()
        import numpy
        self.np = numpy
        self.p = Gst.parse_launch(a.desc)
        if not isinstance(self.p, Gst.Pipeline):
            raise SystemExit("the description must make a pipeline")
        self.p.set_property("message-forward", True)
        self.bus = self.p.get_bus()
        # An error fails the run at once, from the thread that posts it: the main thread may be blocked
        # where the error leaves it (an application in appsrc's push-buffer, block=true, whose
        # streaming thread stopped) and would never see the message.
        self.bus.set_sync_handler(self.sync_handler)
        self.stamps = []  # (stamp, pts) in order, from the stamping element
        self.next_stamp = 0
        self.recs = {}  # sink name -> records
        self.eos_at = {}  # sink name -> records seen when its EOS arrived
        self.sink_eos = set()  # sinks that handled EOS (forwarded EOS messages)
        self.eos = False
        self.error = None
        self.expected_seen = False  # the expected error came: later ones are its consequences
        self.flags = {}  # application message name -> count
        self.geo_cache = {}
        self.stamp_failure = None
        self.stamped = bool(a.stamp) or a.script == "appsrc"
        if a.stamp:
            el = self.p.get_by_name(a.stamp)
            if el is None:
                raise SystemExit("no element %s to stamp at" % a.stamp)
            el.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.stamp_probe)
        for name in a.sinks.split(","):
            self.watch_sink(name)

    def watch_sink(self, name):
        Gst = self.Gst
        el = self.p.get_by_name(name)
        if el is None:
            raise SystemExit("no sink %s" % name)
        self.recs[name] = []
        el.get_static_pad("sink").add_probe(
            Gst.PadProbeType.BUFFER | Gst.PadProbeType.EVENT_DOWNSTREAM,
            lambda pad, info: self.sink_probe(name, pad, info))

    def geometry(self, pad):
        caps = pad.get_current_caps()
        if caps is None:
            return None
        key = caps.to_string()
        if key not in self.geo_cache:
            self.geo_cache[key] = video_geometry(caps)
        return self.geo_cache[key]

    def tick(self, what):
        Gst = self.Gst
        self.p.post_message(Gst.Message.new_application(self.p, Gst.Structure.new_empty(what)))

    def stamp_probe(self, pad, info):
        Gst = self.Gst
        buf = info.get_buffer()
        geo = self.geometry(pad)
        n = self.next_stamp
        self.next_stamp += 1
        if geo is None or geo[0] not in STAMP_FORMATS:
            self.stamp_failure = self.stamp_failure or "cannot stamp %s" % pad.get_current_caps()
            self.tick("stamp-failed")
            return Gst.PadProbeReturn.OK
        fmt, w, h, stride = geo
        # The buffer itself is not writable here (the probe's wrapper holds a reference); its one
        # memory is, and writing it is what the source would have done.
        if buf.n_memory() != 1:
            self.stamp_failure = "a buffer of %d memories at %s" % (buf.n_memory(), self.a.stamp)
            self.tick("stamp-failed")
            return Gst.PadProbeReturn.OK
        mem = buf.peek_memory(0)
        ok, mi = mem.map(Gst.MapFlags.READ | Gst.MapFlags.WRITE)
        if not ok:
            self.stamp_failure = "memory at %s is not writable" % self.a.stamp
            self.tick("stamp-failed")
            return Gst.PadProbeReturn.OK
        try:
            rows = rows_of(self.np, mi.data, stride, h)
            rows[:, :8] = self.np.frombuffer(stamp_bytes(n), self.np.uint8)
            del rows
        finally:
            mem.unmap(mi)
        self.stamps.append((n, t_or_none(Gst, buf.pts)))
        return Gst.PadProbeReturn.OK

    def sink_probe(self, name, pad, info):
        Gst = self.Gst
        if info.type & Gst.PadProbeType.BUFFER:
            buf = info.get_buffer()
            geo = self.geometry(pad)
            ok, mi = buf.map(Gst.MapFlags.READ)
            stamp = NONE
            try:
                crc = zlib.crc32(mi.data)
                if geo is not None and geo[0] in STAMP_FORMATS and self.stamped:
                    try:
                        stamp = read_stamp(self.np, rows_of(self.np, mi.data, geo[3], geo[2]))
                    except Bad as e:
                        stamp = "bad: %s" % e
            finally:
                buf.unmap(mi)
            self.recs[name].append({"stamp": stamp, "pts": t_or_none(Gst, buf.pts),
                                    "dts": t_or_none(Gst, buf.dts), "size": buf.get_size(), "crc": crc,
                                    "flags": int(buf.get_flags())})
            self.tick("buffer")
        else:
            ev = info.get_event()
            if ev.type == Gst.EventType.EOS:
                self.eos_at[name] = len(self.recs[name])
        return Gst.PadProbeReturn.OK

    # -- the bus
    def sync_handler(self, bus, msg):
        Gst = self.Gst
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            text = "%s: %s (%s)" % (msg.src.get_name(), err.message, dbg)
            if self.a.expect_error and self.a.expect_error in text:
                self.expected_seen = True
            elif not self.expected_seen:
                log("error:", text)
                self.fail("an error on the bus: " + text)
            # After the expected error, upstream's own (not-negotiated) is its consequence.
        return Gst.BusSyncReply.PASS

    def handle(self, msg):
        Gst = self.Gst
        t = msg.type
        if t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            text = "%s: %s (%s)" % (msg.src.get_name(), err.message, dbg)
            log("error:", text)
            if self.a.expect_error and self.a.expect_error in text:
                self.error = text
            elif self.error is None or not self.a.expect_error or self.a.expect_error not in self.error:
                self.error = text
                self.fail("an error on the bus: " + text)
        elif t == Gst.MessageType.EOS:
            self.eos = True
        elif t == Gst.MessageType.WARNING:
            err, dbg = msg.parse_warning()
            print("warning: %s: %s" % (msg.src.get_name(), err.message), file=sys.stderr, flush=True)
        elif t == Gst.MessageType.APPLICATION:
            n = msg.get_structure().get_name()
            self.flags[n] = self.flags.get(n, 0) + 1
            if n == "stamp-failed":
                self.fail(self.stamp_failure)
        elif t == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            if s.get_name() == "GstBinForwarded":
                inner = s.get_value("message")
                if inner.type == Gst.MessageType.EOS:
                    self.sink_eos.add(inner.src.get_name())
            elif s.get_name().startswith("shmring-"):
                self.flags[s.get_name()] = self.flags.get(s.get_name(), 0) + 1

    def pump(self, cond, what, timeout=None):
        """Handle bus messages until cond() holds; fails after the timeout."""
        Gst = self.Gst
        end = time.monotonic() + (timeout or self.a.timeout)
        while not cond():
            left = end - time.monotonic()
            if left <= 0:
                self.fail("timed out waiting for " + what)
            msg = self.bus.timed_pop(int(left * Gst.SECOND))
            if msg is not None:
                self.handle(msg)

    def drain_bus(self):
        while True:
            msg = self.bus.pop()
            if msg is None:
                return
            self.handle(msg)

    def fail(self, why):
        log("fail:", why)
        self.write()
        os._exit(2)

    def set_state(self, state, what=None):
        Gst = self.Gst
        r = self.p.set_state(state)
        if r == Gst.StateChangeReturn.FAILURE:
            self.drain_bus()
            self.fail("%s failed" % (what or state.value_nick))
        return r

    def wait_state(self, state):
        Gst = self.Gst
        end = time.monotonic() + self.a.timeout
        while True:
            r, cur, _ = self.p.get_state(50 * Gst.MSECOND)
            self.drain_bus()
            if r in (Gst.StateChangeReturn.SUCCESS, Gst.StateChangeReturn.NO_PREROLL) and cur == state:
                return
            if r == Gst.StateChangeReturn.FAILURE:
                self.fail("going to %s failed" % state.value_nick)
            if time.monotonic() > end:
                self.fail("the pipeline did not reach %s (%s)" % (state.value_nick, r.value_nick))

    def count(self, name=None):
        return len(self.recs[name or self.first_sink])

    @property
    def first_sink(self):
        return self.a.sinks.split(",")[0]

    def wait_frames(self, k, name=None):
        want = self.count(name) + k
        self.pump(lambda: self.count(name) >= want, "%d more frames at %s" % (k, name or self.first_sink))

    def counters(self):
        out = {}
        for name in self.recs:
            el = self.p.get_by_name(name)
            if el is not None and el.find_property("frames-written") is not None:
                out[name] = {k: el.get_property(k) for k in ("frames-written", "frames-dropped", "frames-copied")}
        return out

    def write(self):
        d = self.a.out
        with open(os.path.join(d, "stamps.jsonl"), "w") as f:
            for n, pts in self.stamps:
                f.write(json.dumps({"stamp": n, "pts": pts}) + "\n")
        for name, recs in self.recs.items():
            with open(os.path.join(d, "sink-%s.jsonl" % name), "w") as f:
                for r in recs:
                    f.write(json.dumps(r) + "\n")

    # -- scripts
    def run(self):
        getattr(self, "script_" + self.a.script.replace("-", "_"))()
        self.write()
        log("counters", json.dumps(self.counters()))
        self.set_state(self.Gst.State.NULL)
        log("done")

    def to_eos(self):
        self.pump(lambda: self.eos, "end of stream")

    def script_eos(self):
        """PLAYING until end of stream."""
        self.set_state(self.Gst.State.PLAYING)
        self.to_eos()

    def script_pause(self):
        """PLAYING -> PAUSED -> PLAYING --times times, --every frames apart; then to end of stream."""
        Gst = self.Gst
        self.set_state(Gst.State.PLAYING)
        for i in range(self.a.times):
            self.wait_frames(self.a.every)
            self.set_state(Gst.State.PAUSED)
            self.wait_state(Gst.State.PAUSED)
            self.set_state(Gst.State.PLAYING)
            self.wait_state(Gst.State.PLAYING)
        log("cycled", self.a.times)
        self.to_eos()

    def script_seek(self):
        """PLAYING; after --every frames a flushing accurate seek to --position ns; to end of stream."""
        Gst = self.Gst
        self.set_state(Gst.State.PLAYING)
        self.wait_frames(self.a.every)
        self.wait_state(Gst.State.PLAYING)
        # The first frame of the new position is the first one stamped after the flush ends at the
        # stamping element: until the flush starts there, the streaming thread goes on stamping frames
        # of the old position, however soon after the seek call.
        flushed = threading.Event()
        boundary = []

        def on_flush(pad, info):
            if info.get_event().type == Gst.EventType.FLUSH_STOP and not flushed.is_set():
                boundary.append(self.next_stamp)
                flushed.set()
            return Gst.PadProbeReturn.OK

        pad = self.p.get_by_name(self.a.stamp).get_static_pad("src")
        probe = pad.add_probe(Gst.PadProbeType.EVENT_FLUSH, on_flush)
        if not self.p.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.ACCURATE,
                                  self.a.position):
            self.fail("the seek was refused")
        if not flushed.wait(60):
            self.fail("the seek's flush never reached %s" % self.a.stamp)
        pad.remove_probe(probe)
        log("seeked after-stamp=%d" % boundary[0])
        self.to_eos()

    def script_cycles(self):
        """NULL -> PLAYING -> NULL --times times, --every frames each; then once more to end of stream."""
        Gst = self.Gst
        sink = self.p.get_by_name(self.first_sink)
        for i in range(self.a.times):
            self.set_state(Gst.State.PLAYING)
            self.wait_frames(self.a.every)
            self.set_state(Gst.State.NULL)
            self.drain_bus()
            log("cycle %d records=%d written=%d" % (i, self.count(), sink.get_property("frames-written")))
        self.set_state(Gst.State.PLAYING)
        self.wait_frames(self.a.every)
        self.p.send_event(Gst.Event.new_eos())
        self.to_eos()
        log("cycle %d records=%d" % (self.a.times, self.count()))

    def script_restart(self):
        """To end of stream, NULL, and again to end of stream (the same elements)."""
        Gst = self.Gst
        self.set_state(Gst.State.PLAYING)
        self.to_eos()
        self.set_state(Gst.State.NULL)
        log("run 0 records=%d" % self.count())
        self.eos = False
        self.set_state(Gst.State.PLAYING)
        self.to_eos()
        log("run 1 records=%d" % self.count())

    def script_caps(self):
        """PLAYING; every --every frames, the capsfilter named cf gets the next of --caps; to end of stream
        (or, with --expect-error, to an error containing that text)."""
        Gst = self.Gst
        cf = self.p.get_by_name("cf")
        self.set_state(Gst.State.PLAYING)
        for c in self.a.caps:
            self.wait_frames(self.a.every)
            log("caps %s after-stamp=%d" % (c, self.next_stamp))
            cf.set_property("caps", Gst.Caps.from_string(c))
        if self.a.expect_error:
            self.pump(lambda: self.error is not None or self.eos, "an error")
            if self.error is None:
                self.fail("no error, expected one containing %r" % self.a.expect_error)
            if self.a.expect_error not in self.error:
                self.fail("the error does not say %r: %s" % (self.a.expect_error, self.error))
            log("expected-error", self.error)
        else:
            self.to_eos()

    def script_unlink(self):
        """PLAYING; after --every frames at the sink, its branch (queue q2 ! sink) leaves the tee t
        while the pipeline runs: unlinked in an idle probe, given EOS (unless --abrupt), set to NULL,
        removed and its tee pad released.  Prints 'removed', waits for 'go' on stdin, then sends EOS
        to the pipeline."""
        Gst = self.Gst
        tee, q2, sink = (self.p.get_by_name(n) for n in ("t", "q2", self.first_sink))
        self.set_state(Gst.State.PLAYING)
        self.wait_frames(self.a.every)
        qpad = q2.get_static_pad("sink")
        teepad = qpad.get_peer()
        done = []

        def idle(pad, info):
            pad.unlink(qpad)
            if not self.a.abrupt:
                qpad.send_event(Gst.Event.new_eos())
            done.append(True)
            self.tick("unlinked")
            return Gst.PadProbeReturn.REMOVE

        teepad.add_probe(Gst.PadProbeType.IDLE, idle)
        self.pump(lambda: done, "the tee pad to go idle")
        if not self.a.abrupt:
            self.pump(lambda: sink.get_name() in self.sink_eos, "the unlinked sink's end of stream")
        for el in (q2, sink):
            if el.set_state(Gst.State.NULL) != Gst.StateChangeReturn.SUCCESS:
                self.fail("the unlinked %s did not go to NULL" % el.get_name())
            self.p.remove(el)
        tee.release_request_pad(teepad)
        log("removed records=%d written=%d" % (self.count(), sink.get_property("frames-written")))
        if sys.stdin.readline().strip() != "go":
            self.fail("expected go on stdin")
        self.p.send_event(Gst.Event.new_eos())
        self.to_eos()

    def script_appsrc(self):
        """The application's thread feeds appsrc (named app) from the sink's own pool: frame 0 from
        system memory (it carries the caps), then an allocation query on appsrc's src pad, buffers
        acquired from the pool it answers, filled, stamped and pushed; --frames frames in all."""
        Gst = self.Gst
        np = self.np
        app = self.p.get_by_name("app")
        caps = app.get_property("caps")
        fmt, w, h, stride = video_geometry(caps)
        from gi.repository import GstVideo
        vi = GstVideo.VideoInfo.new_from_caps(caps)
        size = vi.size
        dur = Gst.util_uint64_scale(Gst.SECOND, vi.fps_d, vi.fps_n)
        rng = np.random.default_rng(19)
        picture = rng.integers(0, 256, size=size, dtype=np.uint8)

        def fill(data, n):
            a = np.frombuffer(data, np.uint8, count=size)
            a[:] = picture
            rows_of(np, data, stride, h)[:, :8] = np.frombuffer(stamp_bytes(n), np.uint8)

        def push(buf, n):
            buf.pts = n * dur
            buf.duration = dur
            buf.offset = n
            self.stamps.append((n, n * dur))
            r = app.emit("push-buffer", buf)
            if r != Gst.FlowReturn.OK:
                self.fail("push-buffer returned %s at frame %d" % (r.value_nick, n))

        self.set_state(Gst.State.PLAYING)
        first = bytearray(size)
        fill(first, 0)
        push(Gst.Buffer.new_wrapped(bytes(first)), 0)
        # the sink creates its channel at these caps: then it can answer the allocation query
        self.pump(lambda: self.flags.get("shmring-wait-for-reader"), "the channel")
        q = Gst.Query.new_allocation(caps, True)
        if not app.get_static_pad("src").peer_query(q) or q.get_n_allocation_pools() == 0:
            self.fail("the sink offered no pool for %s" % caps.to_string())
        pool, psize, pmin, pmax = q.parse_nth_allocation_pool(0)
        if pool is None:
            self.fail("the allocation query answered no pool object")
        config = pool.get_config()
        Gst.BufferPool.config_set_params(config, caps, psize, pmin, pmax)
        if not pool.set_config(config) and not pool.is_active():
            # a pool may adjust the config it is given: take its own
            config = pool.get_config()
            if not pool.set_config(config):
                self.fail("the sink's pool refused its configuration")
        if not pool.set_active(True):
            self.fail("the sink's pool did not activate")
        log("pool %s size=%d min=%d max=%d" % (pool.get_name(), psize, pmin, pmax))
        kept = []  # (n, buffer) the application still holds after pushing it (--keep)

        def check_kept():
            for k, b in kept:
                ok, mi = b.map(Gst.MapFlags.READ)
                try:
                    got = read_stamp(np, rows_of(np, mi.data, stride, h))
                except Bad as e:
                    got = str(e)
                finally:
                    b.unmap(mi)
                if got != k:
                    self.fail("frame %d, pushed and still held by the application, now holds %s: its slot "
                              "was reused under it" % (k, got))

        for n in range(1, self.a.frames):
            r, buf = pool.acquire_buffer(None)
            if r != Gst.FlowReturn.OK:
                self.fail("acquire_buffer returned %s at frame %d" % (r.value_nick, n))
            mem = buf.peek_memory(0)
            ok, mi = mem.map(Gst.MapFlags.WRITE)
            if not ok:
                self.fail("a pool buffer could not be mapped for writing")
            fill(mi.data, n)
            mem.unmap(mi)
            push(buf, n)
            check_kept()
            if self.a.keep:
                kept.append((n, buf))
                del kept[:-self.a.keep]
            del buf, mem
            self.drain_bus()
        check_kept()
        del kept[:]
        app.emit("end-of-stream")
        self.to_eos()
        pool.set_active(False)


def role_producer(argv):
    ap = argparse.ArgumentParser(prog="shapes_peers.py producer")
    ap.add_argument("out")
    ap.add_argument("--desc", required=True)
    ap.add_argument("--stamp", default="")
    ap.add_argument("--sinks", default="sink")
    ap.add_argument("--script", default="eos")
    ap.add_argument("--times", type=int, default=10)
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--keep", type=int, default=0, help="appsrc: buffers the application keeps after pushing")
    ap.add_argument("--position", type=int, default=0)
    ap.add_argument("--caps", action="append", default=[])
    ap.add_argument("--expect-error", default="")
    ap.add_argument("--abrupt", action="store_true")
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args(argv)
    # a hang anywhere (a C call that never returns) prints every thread's stack and exits
    faulthandler.dump_traceback_later(a.timeout + 5, exit=True)
    Producer(a).run()


# ---------------------------------------------------------------- shmring.Reader reader

def role_pyreader(argv):
    """Reads a channel with shmring.Reader; one record per frame, 'end ...' at the end of stream."""
    ap = argparse.ArgumentParser(prog="shapes_peers.py pyreader")
    ap.add_argument("channel")
    ap.add_argument("out")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds each frame is held (a slow reader)")
    ap.add_argument("--latest", action="store_true")
    ap.add_argument("--reconnect", action="store_true")
    ap.add_argument("--closed-ok", action="store_true", help="a close without end of stream ends cleanly")
    ap.add_argument("--no-body", action="store_true")
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args(argv)
    faulthandler.dump_traceback_later(a.timeout + 5, exit=True)
    import shmring
    chk = FrameCheck(body=not a.no_body)
    n = 0
    ended = "eos"
    with open(a.out, "w") as out:
        try:
            r = shmring.Reader(a.channel, timeout=a.timeout, reconnect=a.reconnect, latest=a.latest)
        except shmring.Error as e:
            log("error: attach: %s" % e)
            return 1
        log("attached gen=%d" % r.generation)
        try:
            while True:
                try:
                    f = r.next_frame(timeout=a.timeout)
                except shmring.ProducerClosed as e:
                    if not a.closed_ok:
                        raise
                    ended = "closed: %s" % e
                    break
                if f is None:
                    break
                i = f.info
                stride = i.plane_strides[0] if i.plane_strides else 0
                try:
                    stamp, crc = chk.check(f.data, i.caps, i.format, i.width, i.height, stride)
                    if a.delay:
                        time.sleep(a.delay)  # a slow reader holds its frame this long
                        stamp2, crc2 = chk.check(f.data, i.caps, i.format, i.width, i.height, stride)
                        if (stamp2, crc2) != (stamp, crc):
                            raise Bad("frame seq %d changed while it was held: stamp %d -> %d, crc %08x -> %08x"
                                      % (f.seq, stamp, stamp2, crc, crc2))
                except Bad as e:
                    log("bad: seq %d: %s" % (f.seq, e))
                    return 1
                out.write(json.dumps({"seq": f.seq, "gen": f.generation, "stamp": stamp,
                                      "pts": NONE if f.pts is None else f.pts,
                                      "dts": NONE if f.dts is None else f.dts, "size": f.size, "crc": crc,
                                      "flags": f.flags, "dropped": f.dropped,
                                      "discont": bool(f.flags & shmring.FLAG_DISCONT),
                                      "fmt": "%s %dx%d" % (i.format, i.width, i.height),
                                      "t": time.monotonic_ns(), "lat": time.monotonic_ns() - f.commit_ns}) + "\n")
                n += 1
                f.release()
        except shmring.Error as e:
            log("error: after %d frames: %s: %s" % (n, type(e).__name__, e))
            return 1
        finally:
            r.close()
    log("end frames=%d dropped=%d reconnects=%d %s" % (n, r.dropped, r.reconnects, ended))
    return 0


# ---------------------------------------------------------------- shmringsrc reader

def role_gstreader(argv):
    """A reading pipeline (shmringsrc name=src ... ! appsink name=out [... appsink name=hold]).
    'out' is pulled as frames come (--slow seconds between pulls: a slow application), 'hold' only
    after 'out' ended: its branch keeps every frame until then.  One record per buffer per appsink."""
    ap = argparse.ArgumentParser(prog="shapes_peers.py gstreader")
    ap.add_argument("out")
    ap.add_argument("--desc", required=True)
    ap.add_argument("--hold", default="")
    ap.add_argument("--slow", type=float, default=0.0)
    ap.add_argument("--unconvert", default="", help="'rgb': appsink frames are RGB of the producer's BGR")
    ap.add_argument("--no-body", action="store_true")
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args(argv)
    faulthandler.dump_traceback_later(a.timeout + 5, exit=True)
    Gst = gst_init()
    import numpy as np
    p = Gst.parse_launch(a.desc)
    bus = p.get_bus()
    src = p.get_by_name("src")

    seen = {"eos": False, "error": None}

    def drain():
        """Every message on the bus so far (pop_filtered would throw the others away): the first error."""
        while True:
            m = bus.pop()
            if m is None:
                return seen["error"]
            if m.type == Gst.MessageType.ERROR and seen["error"] is None:
                err, dbg = m.parse_error()
                seen["error"] = "%s: %s (%s)" % (m.src.get_name(), err.message, dbg)
            elif m.type == Gst.MessageType.WARNING:
                print("warning: %s: %s" % (m.src.get_name(), m.parse_warning()[0].message), file=sys.stderr)
            elif m.type == Gst.MessageType.EOS:
                seen["eos"] = True

    def pull_all(name):
        sink = p.get_by_name(name)
        chk = FrameCheck(body=not a.no_body)
        recs = []
        t0 = time.monotonic()
        while True:
            sample = sink.emit("try-pull-sample", int(a.timeout * Gst.SECOND))
            if sample is None:
                err = drain()
                if err:
                    log("error: %s after %d frames: %s" % (name, len(recs), err))
                    sys.exit(1)
                if not sink.get_property("eos"):
                    log("error: %s: no frame for %.0f s and no end of stream (after %d frames)" % (
                        name, a.timeout, len(recs)))
                    sys.exit(1)
                return recs
            buf = sample.get_buffer()
            geo = video_geometry(sample.get_caps())
            caps = sample.get_caps().to_string()
            ok, mi = buf.map(Gst.MapFlags.READ)
            try:
                data = mi.data
                fmt, w, h, stride = geo if geo else ("", 0, 0, 0)
                if a.unconvert == "rgb" and fmt == "RGB":
                    rows = np.frombuffer(data, np.uint8, count=stride * h).reshape(h, stride).copy()
                    px = rows[:, :w * 3].reshape(h, w, 3)
                    px[:] = px[:, :, ::-1]
                    data = rows.tobytes() + bytes(memoryview(mi.data)[stride * h:])
                    fmt, caps = "BGR", caps.replace("RGB", "BGR")
                stamp, crc = chk.check(data, caps, fmt, w, h, stride)
            except Bad as e:
                log("bad: %s frame %d: %s" % (name, len(recs), e))
                sys.exit(1)
            finally:
                buf.unmap(mi)
            recs.append({"stamp": stamp, "pts": t_or_none(Gst, buf.pts), "size": buf.get_size(), "crc": crc,
                         "flags": int(buf.get_flags()),
                         "discont": bool(buf.has_flags(Gst.BufferFlags.DISCONT)),
                         "t": time.monotonic() - t0})
            del buf, sample, mi
            if a.slow:
                time.sleep(a.slow)  # a slow application

    if p.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        log("error: PLAYING failed: %s" % drain())
        return 1
    log("playing")
    out = {"out": pull_all("out")}
    if a.hold:
        out[a.hold] = pull_all(a.hold)
    # the pipeline's end: EOS reached every sink, no error
    end = time.monotonic() + a.timeout
    while not seen["eos"] and seen["error"] is None and time.monotonic() < end:
        m = bus.timed_pop(int((end - time.monotonic()) * Gst.SECOND))
        if m is not None:
            if m.type == Gst.MessageType.EOS:
                seen["eos"] = True
            elif m.type == Gst.MessageType.ERROR:
                seen["error"] = m.parse_error()[0].message
    if not seen["eos"] or seen["error"]:
        log("error: no end of stream on the bus: %s" % (seen["error"] or "nothing within %.0f s" % a.timeout))
        p.set_state(Gst.State.NULL)
        return 1
    for name, recs in out.items():
        with open(os.path.join(a.out, "read-%s.jsonl" % name), "w") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
    log("end %s received=%d missed=%d" % (" ".join("%s=%d" % (k, len(v)) for k, v in out.items()),
                                          src.get_property("frames-received"), src.get_property("frames-missed")))
    p.set_state(Gst.State.NULL)
    return 0


def main():
    role = sys.argv[1]
    fn = {"producer": role_producer, "pyreader": role_pyreader, "gstreader": role_gstreader}[role]
    return fn(sys.argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main())
