#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# twoproc.py: two-process tests of shmringsink -> shmringsrc (real pipelines in separate processes).
"""Usage: twoproc.py TEST  (run by meson), or twoproc.py role-NAME ARGS (a helper process)."""

import os
import signal
import subprocess
import sys

GST_LAUNCH = os.environ.get("GST_LAUNCH", "gst-launch-1.0")
SELF = os.path.abspath(__file__)
PY = sys.executable


def channel(tag):
    return "t-2p-%d-%s" % (os.getpid(), tag)


def channel_exists(name):
    """A producer listens on the channel's abstract socket @shmring/NAME."""
    with open("/proc/net/unix") as f:
        return any(line.rstrip("\n").endswith(" @shmring/" + name) for line in f)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def launch(desc, **kw):
    return subprocess.Popen([GST_LAUNCH, "-q"] + desc.split(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def helper(role, *args, stdout=subprocess.PIPE):
    return subprocess.Popen([PY, SELF, role] + [str(a) for a in args], stdin=subprocess.PIPE,
                            stdout=stdout, stderr=subprocess.PIPE, text=True, bufsize=1)


def finish(p, what, timeout=120):
    # read through the same buffered files expect_line() used
    if p.stdin:
        p.stdin.close()
    out = p.stdout.read() if p.stdout else ""
    err = p.stderr.read() if p.stderr else ""
    p.wait(timeout=timeout)
    check(p.returncode == 0, "%s exited %d: %s %s" % (what, p.returncode, out[-2000:], err[-2000:]))
    return out


def expect_line(p, prefix):
    """Read the helper's stdout until a line starting with prefix."""
    for line in iter(p.stdout.readline, ""):
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError("helper ended before printing %r: %s" % (prefix, p.stderr.read()[-2000:]))


def no_leftover(*names):
    for n in names:
        check(not channel_exists(n), "channel left listening: " + n)


# ---------------------------------------------------------------- helper roles (gi)

def gst():
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstApp", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    return Gst


def pop(pipeline, Gst, types):
    msg = pipeline.get_bus().timed_pop_filtered(60 * Gst.SECOND, types)
    if msg is None:
        raise SystemExit("no message on the bus")
    if msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        raise SystemExit("error: %s (%s)" % (err.message, dbg))
    return msg


def role_reader(name, *opts):
    """shmringsrc ! appsink; prints one line per frame and 'eos' at the end.
    With the option 'stall', prints 'attached' and reads nothing until 'go'
    on stdin (the source takes frames until the appsink is full)."""
    stall = "stall" in opts
    opts = [o for o in opts if o != "stall"]
    Gst = gst()
    p = Gst.parse_launch("shmringsrc name=src channel=%s timestamp-mode=producer %s ! "
                         "appsink name=sink sync=false max-buffers=1" % (name, " ".join(opts)))
    sink = p.get_by_name("sink")
    src = p.get_by_name("src")
    p.set_state(Gst.State.PLAYING)
    if stall:
        while src.get_property("generation") == 0:
            import time
            time.sleep(0.01)
        print("attached", flush=True)
        check(sys.stdin.readline().strip() == "go", "expected go")
    last_caps = None
    while True:
        sample = sink.emit("try-pull-sample", 60 * Gst.SECOND)
        if sample is None:
            break
        buf = sample.get_buffer()
        caps = sample.get_caps().to_string()
        caps, last_caps = ("same" if caps == last_caps else caps), caps
        ok, info = buf.map(Gst.MapFlags.READ)
        first = int.from_bytes(info.data[:4], "little") if info.size >= 4 else -1
        buf.unmap(info)
        print("frame seq=%d pts=%d size=%d first=%d gen=%d discont=%d caps=%s" % (
            buf.offset, buf.pts, buf.get_size(), first, src.get_property("generation"),
            int(buf.has_flags(Gst.BufferFlags.DISCONT)), caps), flush=True)
        del buf, sample
    pop(p, Gst, Gst.MessageType.ERROR | Gst.MessageType.EOS)
    print("eos received=%d missed=%d" % (src.get_property("frames-received"),
                                         src.get_property("frames-missed")), flush=True)
    p.set_state(Gst.State.NULL)


def role_writer(name, policy, max_frame_size, count, *caps_list):
    """appsrc ! shmringsink; frames carry their index in their first 4 bytes.
    Prints 'ready', pushes `count` frames per caps on 'go', prints 'rendered'
    once the sink has handled them all, then its counters ('stats'), sends
    EOS on 'eos'."""
    Gst = gst()
    p = Gst.parse_launch("appsrc name=a format=time ! shmringsink name=s channel=%s policy=%s "
                         "max-frame-size=%s wait-for-reader=true sync=false" %
                         (name, policy, max_frame_size))
    a = p.get_by_name("a")
    s = p.get_by_name("s")
    def probe(pad, info):
        ev = info.get_event()
        if ev.type == Gst.EventType.CUSTOM_DOWNSTREAM:
            print("rendered", flush=True)
            print("stats written=%d dropped=%d copied=%d" % (
                s.get_property("frames-written"), s.get_property("frames-dropped"),
                s.get_property("frames-copied")), flush=True)
        return Gst.PadProbeReturn.OK

    s.get_static_pad("sink").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, probe)
    a.set_property("caps", Gst.Caps.from_string(caps_list[0]))
    p.set_state(Gst.State.PLAYING)
    print("ready", flush=True)
    check(sys.stdin.readline().strip() == "go", "expected go")
    gi_vi = __import__("gi.repository.GstVideo", fromlist=["VideoInfo"])
    index = 0
    for c in caps_list:
        caps = Gst.Caps.from_string(c)
        a.set_property("caps", caps)
        # A Caps method, not the structure's name: gst-python 1.26 wraps
        # get_structure()'s result in a StructureWrapper without get_name().
        if caps.is_subset(Gst.Caps.from_string("video/x-raw")):
            vi = gi_vi.VideoInfo.new_from_caps(caps)
            size_b = vi.size
        else:
            size_b = 1000
        for _ in range(int(count)):
            data = bytearray(size_b)
            data[:4] = index.to_bytes(4, "little")
            buf = Gst.Buffer.new_wrapped(bytes(data))
            buf.pts = index * Gst.MSECOND
            buf.duration = Gst.MSECOND
            a.emit("push-buffer", buf)
            index += 1
    a.send_event(Gst.Event.new_custom(Gst.EventType.CUSTOM_DOWNSTREAM,
                                      Gst.Structure.new_empty("flushed")))
    check(sys.stdin.readline().strip() == "eos", "expected eos")
    a.emit("end-of-stream")
    pop(p, Gst, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    p.set_state(Gst.State.NULL)


def role_copies(name, *downstream):
    """shmringsrc ! DOWNSTREAM (gst-launch syntax, with an appsink named out to hold: it is pulled only
    once the source received `hold` frames, given as hold=N first); prints 'end' with the source's counters
    at end of stream."""
    hold = 0
    if downstream and downstream[0].startswith("hold="):
        hold, downstream = int(downstream[0][5:]), downstream[1:]
    Gst = gst()
    p = Gst.parse_launch("shmringsrc name=src channel=%s ! %s" % (name, " ".join(downstream)))
    src = p.get_by_name("src")
    p.set_state(Gst.State.PLAYING)
    pulled = 0
    if hold:
        # Downstream keeps every buffer (the appsink is not pulled, the queue before it takes the rest) until
        # the source has taken them all: it must copy them past its holds, not wait for one to come back.
        wait_for(lambda: src.get_property("frames-received") >= hold, "%d frames received" % hold, 60)
        print("held received=%d copied=%d" % (src.get_property("frames-received"),
                                              src.get_property("frames-copied")), flush=True)
        out = p.get_by_name("out")
        while out.emit("try-pull-sample", 60 * Gst.SECOND) is not None:
            pulled += 1
    pop(p, Gst, Gst.MessageType.ERROR | Gst.MessageType.EOS)
    print("end received=%d copied=%d missed=%d pulled=%d" % (
        src.get_property("frames-received"), src.get_property("frames-copied"),
        src.get_property("frames-missed"), pulled), flush=True)
    p.set_state(Gst.State.NULL)


def counters(line):
    """'end received=1 copied=2 ...' as {'received': 1, 'copied': 2, ...}"""
    return {k: int(v) for k, v in (x.split("=") for x in line.split()[1:])}


def role_cycle(side, name, n):
    """PLAYING/NULL n times; fails on any error message or failed change."""
    Gst = gst()
    if side == "sink":
        desc = ("videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=100/1 ! "
                "shmringsink channel=%s policy=live" % name)
    else:
        desc = "shmringsrc channel=%s reconnect=true ! fakesink" % name
    p = Gst.parse_launch(desc)
    bus = p.get_bus()
    for i in range(int(n)):
        check(p.set_state(Gst.State.PLAYING) != Gst.StateChangeReturn.FAILURE, "PLAYING failed")
        if side == "sink":
            # a live pipeline completes PLAYING with its first buffer; the
            # reading side may have no producer at this moment, so only the
            # producing side waits for it
            ret, _, _ = p.get_state(30 * Gst.SECOND)
            check(ret == Gst.StateChangeReturn.SUCCESS, "PLAYING did not complete: %s" % ret)
        check(p.set_state(Gst.State.NULL) == Gst.StateChangeReturn.SUCCESS, "NULL failed")
        msg = bus.pop_filtered(Gst.MessageType.ERROR)
        if msg:
            raise SystemExit("error in cycle %d: %s" % (i, msg.parse_error()[0].message))
    print("cycled", n, flush=True)


# ---------------------------------------------------------------- tests

def test_oddwidth_caps_discovery(tmp):
    """Odd-width BGR and I420 arrive byte-identical; the reader has no capsfilter."""
    for fmt in ("BGR", "I420"):
        name = channel("odd" + fmt)
        ref, out = os.path.join(tmp, "ref" + fmt), os.path.join(tmp, "out" + fmt)
        # a ring of about 3 frames: the producer cannot finish before the reader reads
        c = subprocess.Popen([GST_LAUNCH, "-v", "shmringsrc", "channel=" + name, "!",
                              "filesink", "location=" + out], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        p = launch("videotestsrc num-buffers=20 pattern=ball ! video/x-raw,format=%s,width=641,"
                   "height=481,framerate=30/1 ! tee name=t ! queue ! filesink location=%s t. ! "
                   "queue ! shmringsink channel=%s sync=false" % (fmt, ref, name))
        finish(p, "producer")
        log = finish(c, "consumer")
        check("width=(int)641" in log and "format=(string)%s" % fmt in log,
              "consumer did not discover the caps: " + log[-1000:])
        a, b = open(ref, "rb").read(), open(out, "rb").read()
        check(len(a) > 0 and a == b, "%s frames differ (%d vs %d bytes)" % (fmt, len(a), len(b)))
        no_leftover(name)
    # and through a converter, no caps typed anywhere on the reading side
    name = channel("conv")
    c = launch("shmringsrc channel=%s ! videoconvert ! video/x-raw,format=RGBA ! fakesink" % name)
    p = launch("videotestsrc num-buffers=10 ! video/x-raw,format=BGR,width=641,height=481 ! "
               "shmringsink channel=%s" % name)
    finish(p, "producer")
    finish(c, "consumer")
    no_leftover(name)


def test_caps_change(tmp):
    """A caps change mid-stream reaches the reader in order with the frames."""
    name = channel("capschange")
    caps_a = "video/x-raw,format=BGR,width=320,height=240,framerate=30/1"
    caps_b = "video/x-raw,format=I420,width=161,height=121,framerate=25/1"
    w = helper("role-writer", name, "lossless", 1 << 20, 5, caps_a, caps_b)
    expect_line(w, "ready")
    r = helper("role-reader", name)
    w.stdin.write("go\n")
    w.stdin.flush()
    expect_line(w, "rendered")
    w.stdin.write("eos\n")
    w.stdin.flush()
    finish(w, "writer")
    lines = [x for x in finish(r, "reader").splitlines() if x.startswith("frame")]
    check(len(lines) == 10, "expected 10 frames, got %d" % len(lines))
    caps = ""
    for i, line in enumerate(lines):
        if not line.endswith("caps=same"):
            caps = line.split("caps=")[1]
        line = line.replace("caps=same", "caps=" + caps)
        want_fmt, want_w, want_size = ("BGR", 320, 320 * 240 * 3) if i < 5 else ("I420", 161, None)
        check("first=%d " % i in line, "frame %d out of order: %s" % (i, line))
        check("format=(string)%s" % want_fmt in line and "width=(int)%d" % want_w in line,
              "frame %d has the wrong caps: %s" % (i, line))
        if want_size:
            check("size=%d " % want_size in line, line)
    no_leftover(name)


def test_lossless_10000(tmp):
    """10,000 lossless frames through a queue of 16 frames, none lost, in sequence."""
    name = channel("lossless")
    log = open(os.path.join(tmp, "reader.log"), "w+")
    r = helper("role-reader", name, stdout=log)
    p = launch("videotestsrc num-buffers=10000 ! video/x-raw,format=GRAY8,width=64,height=48,"
               "framerate=1000/1 ! shmringsink channel=%s queue-length=16 sync=false" % name)
    finish(p, "producer")
    finish(r, "reader")
    log.seek(0)
    out = log.read().splitlines()
    frames = [x for x in out if x.startswith("frame")]
    check(len(frames) == 10000, "got %d frames" % len(frames))
    for i, line in enumerate(frames):
        check(line.startswith("frame seq=%d pts=%d " % (i, i * 1000000)), "frame %d: %s" % (i, line))
    check(out[-1] == "eos received=10000 missed=0", out[-1])
    no_leftover(name)


def run_policy(policy, count=40):
    """A writer of count frames with wait-for-reader=true; the reader is
    attached first.  lossless: it reads as they come; drop-new and live: it
    stalls (reads nothing) until every frame was produced."""
    name = channel(policy)
    w = helper("role-writer", name, policy, 4096, count,
               "video/x-raw,format=GRAY8,width=64,height=64,framerate=30/1")
    expect_line(w, "ready")
    stall = policy != "lossless"
    r = helper("role-reader", name, *(["stall"] if stall else []))
    if stall:
        expect_line(r, "attached")
    w.stdin.write("go\n")
    w.stdin.flush()
    expect_line(w, "rendered")
    stats = expect_line(w, "stats")
    if stall:
        r.stdin.write("go\n")
        r.stdin.flush()
    w.stdin.write("eos\n")
    w.stdin.flush()
    finish(w, "writer")
    out = finish(r, "reader")
    firsts = [int(x.split("first=")[1].split()[0]) for x in out.splitlines()
              if x.startswith("frame")]
    written = int(stats.split("written=")[1].split()[0])
    dropped = int(stats.split("dropped=")[1].split()[0])
    no_leftover(name)
    return firsts, written, dropped, out


def test_policies(tmp):
    firsts, written, dropped, _ = run_policy("lossless")
    check(firsts == list(range(40)) and written == 40 and dropped == 0,
          "lossless: %s %d %d" % (firsts, written, dropped))
    # the counters are read with every frame rendered, the reader stalled:
    # it holds what its source took and its queue of 2
    firsts, written, dropped, out = run_policy("drop-new")
    # the reader got the first frames, in order, then (stalled) no new one
    # while its queue was full: every frame it lacks was dropped once (one
    # more, maybe, pushed out by the end of stream, which reaches every
    # reader, after the counters were read)
    # (the reader's thread may not have taken any before the stall: then its
    # queue holds 0 and 1, and the end of stream pushes 0 out)
    k = len(firsts)
    check(1 <= k < 40 and firsts[0] in (0, 1) and firsts == sorted(set(firsts)) and
          written == 40 and dropped in (40 - k, 39 - k),
          "drop-new: %s written=%d dropped=%d %s" % (firsts, written, dropped, out))
    firsts, written, dropped, out = run_policy("live")
    # the reader got what it held, then the newest frames, in order, ending
    # with the last; the others were reclaimed (one more, maybe, for the
    # end of stream, after the counters were read)
    k = len(firsts)
    check(1 <= k < 40 and firsts == sorted(set(firsts)) and firsts[-1] == 39 and
          dropped in (40 - k, 39 - k) and written == 40,
          "live: %s written=%d dropped=%d" % (firsts, written, dropped))


def test_reader_killed(tmp):
    """SIGKILL of one of two readers of a lossless sink: the other reader
    and the sink go on, and end cleanly at end of stream."""
    name = channel("rkill")
    a = helper("role-reader", name)
    b = helper("role-reader", name)
    p = launch("videotestsrc is-live=true num-buffers=300 ! video/x-raw,format=GRAY8,width=64,"
               "height=48,framerate=100/1 ! shmringsink channel=%s policy=lossless "
               "wait-for-reader=true" % name)
    expect_line(a, "frame")
    expect_line(b, "frame")
    a.send_signal(signal.SIGKILL)
    a.wait()
    finish(p, "producer")
    out = finish(b, "surviving reader")
    frames = [x for x in out.splitlines() if x.startswith("frame")]
    check(len(frames) >= 200 and "eos received=" in out and "missed=0" in out,
          "the surviving reader: %d frames, %s" % (len(frames), out[-300:]))
    no_leftover(name)


def test_kill_and_restart(tmp):
    """SIGKILL of the producer: an error naming the channel, or with
    reconnect=true the next producer's frames."""
    name = channel("kill")
    prod = "videotestsrc is-live=true %s ! video/x-raw,width=64,height=48,framerate=100/1 ! " \
           "shmringsink channel=%s policy=live"
    p = launch(prod % ("", name))
    c = helper("role-reader", name)
    expect_line(c, "frame")
    p.send_signal(signal.SIGKILL)
    p.wait()
    out, err = c.stdout.read(), c.stderr.read()
    c.wait(timeout=60)
    check(c.returncode != 0, "reader should fail when its producer dies")
    check(name in err and "died" in err, "error does not name the channel: " + err[-1000:])
    # a new producer takes the dead one's name
    r = helper("role-reader", name, "reconnect=true")
    p1 = launch(prod % ("", name))
    line = expect_line(r, "frame")
    gen1 = int(line.split("gen=")[1].split()[0])
    p1.send_signal(signal.SIGKILL)
    p1.wait()
    p2 = launch(prod % ("num-buffers=20", name))
    gen2 = None
    for line in iter(r.stdout.readline, ""):
        if line.startswith("frame") and int(line.split("gen=")[1].split()[0]) != gen1:
            gen2 = line
            break
    check(gen2 is not None and "discont=1" in gen2, "no frame from the new producer: %s" % gen2)
    finish(p2, "second producer")
    out = r.stdout.read()
    r.wait(timeout=60)
    check(r.returncode == 0 and "eos received=" in out, "reader did not end cleanly: " + out[-500:])
    no_leftover(name)


def test_eos_exits(tmp):
    """EOS: both gst-launch processes exit 0 and every frame arrived; a
    producer whose reader was killed still exits 0 at EOS."""
    name = channel("eos")
    log = open(os.path.join(tmp, "consumer.log"), "w+")
    c = subprocess.Popen([GST_LAUNCH, "-v", "shmringsrc", "channel=" + name, "!", "fakesink",
                          "silent=false"], stdout=log, stderr=subprocess.PIPE, text=True)
    p = launch("videotestsrc num-buffers=50 ! video/x-raw,width=320,height=240 ! "
               "shmringsink channel=%s" % name)
    finish(p, "producer")
    finish(c, "consumer")
    log.seek(0)
    out = log.read()
    check(out.count("chain   ******* (fakesink0:sink)") == 50, "consumer did not get 50 frames")
    no_leftover(name)

    name = channel("eos2")
    r = helper("role-reader", name)
    w = helper("role-writer", name, "lossless", 1 << 20, 10,
               "video/x-raw,format=GRAY8,width=64,height=64,framerate=30/1")
    expect_line(w, "ready")
    w.stdin.write("go\n")
    w.stdin.flush()
    expect_line(r, "frame")
    r.kill()
    r.wait()
    expect_line(w, "rendered")
    w.stdin.write("eos\n")
    w.stdin.flush()
    finish(w, "writer whose reader died")
    no_leftover(name)


def test_sink_last_sample_no_copy(tmp):
    """The first pipelines a user writes: a live 30 fps camera into a shmringsink with its defaults, read by
    `shmringsrc ! fakesink` (and `! videoconvert ! fakesink`) with theirs.  fakesink keeps its last buffer
    (enable-last-sample), so the source lends the frame being rendered and that one: the channel's default
    max-holds leaves it a third hold, and it copies no frame (with 2 it copied every other one)."""
    for downstream in ("fakesink", "videoconvert ! fakesink"):
        name = channel("lastsample")
        r = helper("role-copies", name, downstream)
        p = launch("videotestsrc is-live=true num-buffers=60 ! video/x-raw,format=BGR,width=320,height=240,"
                   "framerate=30/1 ! shmringsink channel=%s wait-for-reader=true" % name)
        finish(p, "producer")
        end = counters(expect_line(r, "end"))
        finish(r, "reader")
        check(end["received"] >= 30, "%s: received %d of 60 frames" % (downstream, end["received"]))
        check(end["copied"] == 0, "shmringsrc ! %s copied %d of %d frames: lending the rendered frame and the "
              "last sample left it no spare hold" % (downstream, end["copied"], end["received"]))
        no_leftover(name)


def test_downstream_keeps_every_frame(tmp):
    """`shmringsrc ! queue ! stalled sink`: downstream keeps every buffer, so past the frames it may lend the
    source copies, and takes every frame instead of waiting for a hold that never comes back (the lossless
    producer would wait for it in turn)."""
    name = channel("keepall")
    r = helper("role-copies", name, "hold=60", "queue max-size-buffers=100 max-size-bytes=0 max-size-time=0 ! "
               "appsink name=out sync=false max-buffers=1")
    p = launch("videotestsrc num-buffers=60 ! video/x-raw,format=BGR,width=320,height=240,framerate=30/1 ! "
               "shmringsink channel=%s policy=lossless wait-for-reader=true sync=false" % name)
    held = counters(expect_line(r, "held"))
    finish(p, "producer")
    end = counters(expect_line(r, "end"))
    finish(r, "reader")
    # The default max-holds, 3: two frames lent, the third hold kept to take the next frame with.
    check(held == {"received": 60, "copied": 58}, "with every buffer kept downstream: %s" % held)
    check(end == {"received": 60, "copied": 58, "missed": 0, "pulled": 60}, "at the end: %s" % end)
    no_leftover(name)


def test_state_cycles(tmp):
    """Both sides go PLAYING -> NULL 100 times at the same time."""
    name = channel("cycles")
    a = helper("role-cycle", "sink", name, 100)
    b = helper("role-cycle", "src", name, 100)
    check("cycled 100" in finish(a, "sink cycles", 240), "sink side")
    check("cycled 100" in finish(b, "src cycles", 240), "src side")
    no_leftover(name)


class Skip(Exception):
    """The test cannot run here (exit code 77)."""


def wait_for(cond, what, timeout=20.0):
    """Poll cond() until it holds, for at most timeout seconds."""
    import time
    end = time.monotonic() + timeout
    while not cond():
        check(time.monotonic() < end, "timed out waiting for " + what)
        time.sleep(0.02)


def test_permission_hint(tmp):
    """A reader of another user is refused, and told how the producer
    shares the channel (share-user / share-group)."""
    if os.geteuid() != 0:
        raise Skip("needs root, to read as another user")
    name = channel("perm")
    p = launch("videotestsrc is-live=true ! video/x-raw,width=64,height=48 ! "
               "shmringsink channel=%s" % name)
    try:
        wait_for(lambda: channel_exists(name), "the channel")
        os.chmod(tmp, 0o777)
        env = dict(os.environ, GST_REGISTRY_1_0=os.path.join(tmp, "registry.bin"))
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            GST_LAUNCH, "shmringsrc", "channel=" + name, "!", "fakesink"],
                           env=env, capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        check(r.returncode != 0, "the reader did not fail: " + out)
        check("Permission denied" in out and name in out and "65534" in out, out)
        check("share-user=" in out and "share-group=" in out, out)
    finally:
        p.send_signal(signal.SIGINT)  # gst-launch-1.0 stops the pipeline cleanly
        p.communicate(timeout=60)
    no_leftover(name)


def test_untrusted_producer(tmp):
    """A producer of another user (here nobody) holds the channel's name: root's shmringsrc and Python Reader
    refuse it, naming its uid and the setting; trusting that uid (producer-user=, producer_uid=) reads it."""
    if os.geteuid() != 0:
        raise Skip("needs root, to produce as another user")
    name = channel("untrusted")
    os.chmod(tmp, 0o777)
    env = dict(os.environ, GST_REGISTRY_1_0=os.path.join(tmp, "registry.bin"))
    p = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", GST_LAUNCH, "-q",
                          "videotestsrc", "is-live=true", "!", "video/x-raw,width=64,height=48", "!",
                          "shmringsink", "channel=" + name], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: channel_exists(name), "the channel")
        r = subprocess.run([GST_LAUNCH, "shmringsrc", "channel=" + name, "!", "fakesink"],
                           capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        check(r.returncode != 0, "root's reader took frames from uid 65534: " + out)
        check("not served by a trusted producer" in out and "uid 65534" in out and "producer-user=65534" in out,
              out)
        r = subprocess.run([GST_LAUNCH, "-q", "shmringsrc", "channel=" + name, "producer-user=65534",
                            "num-buffers=5", "!", "fakesink"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "trusted with producer-user: " + r.stdout + r.stderr)
        code = ("import shmring, sys\n"
                "try:\n    shmring.Reader(sys.argv[1], timeout=5)\n"
                "except shmring.UntrustedProducer as e:\n    print('refused', e)\n"
                "with shmring.Reader(sys.argv[1], timeout=5, producer_uid=65534) as rd:\n"
                "    f = rd.next_frame(timeout=10)\n    print('read', f.size)\n    f.release()\n")
        r = subprocess.run([PY, "-c", code, name], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and "refused channel" in r.stdout and "uid 65534" in r.stdout and
              "read " in r.stdout, r.stdout + r.stderr)
        ls = subprocess.run([PY, "-m", "shmring", "info", name, "--measure", "0"], capture_output=True, text=True,
                            timeout=60)
        check(", uid 65534" in ls.stdout, ls.stdout + ls.stderr)
    finally:
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=60)
    no_leftover(name)


def role_hangup_producer(name, until):
    """A producer (the Python Writer) that hangs up on every reader right after WELCOME; prints
    "ready", then, once `until` readers have come and gone, the seconds between the first and the last."""
    import threading
    import time
    from shmring import _writer

    seen = []
    enough = threading.Event()

    class HangUp(_writer.Writer):
        def _admit(self, *args):
            super()._admit(*args)
            seen.append(time.monotonic())
            for r in list(self._readers):
                if r is not None:
                    self._drop(r)
            if len(seen) >= int(until):
                enough.set()

    with HangUp(name, width=64, height=48, format="GRAY8"):
        print("ready", flush=True)
        check(enough.wait(60), "only %d readers came in 60 s" % len(seen))
        print("span %.3f" % (seen[-1] - seen[0]), flush=True)
        sys.stdin.read()  # until the test is done


def test_reconnect_backoff(tmp):
    """reconnect=true against a producer that hangs up on every reader: the reader comes back less and
    less often (10 ms doubling to 1 s), not ~1,000 times a second, and says so on the bus once."""
    name = channel("hangup")
    prod = helper("role-hangup_producer", name, 8)
    expect_line(prod, "ready")
    # Not quiet: gst-launch-1.0 -q prints no warnings.
    r = subprocess.Popen([GST_LAUNCH, "shmringsrc", "channel=" + name, "reconnect=true", "!", "fakesink"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        span = float(expect_line(prod, "span").split()[1])
        # 7 waits of 10, 20, ..., 640 ms come to 1.27 s; without a backoff 8 readers take a few ms.
        check(span > 0.6, "8 reconnections within %.3f s: no backoff" % span)
    finally:
        r.send_signal(signal.SIGINT)
        out, err = r.communicate(timeout=60)
        finish(prod, "the producer")
    check("hung up 5 times in a row before a frame" in out + err, "no warning: " + out + err)


def main():
    if len(sys.argv) >= 2 and sys.argv[1].startswith("role-"):
        globals()["role_" + sys.argv[1][5:]](*sys.argv[2:])
        return 0
    try:
        import gi  # noqa: F401
    except ImportError:
        print("python3-gi is missing: skipped")
        return 77
    import tempfile
    test = globals()["test_" + sys.argv[1]]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            test(tmp)
        except Skip as e:
            print("skipped:", e)
            return 77
    print("ok", sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
