# SPDX-License-Identifier: LGPL-2.1-or-later
"""fanout_gst.py: a shmringsrc reader of the fanout tests (same arguments and output as fanout_reader.c).

usage: fanout_gst.py CHANNEL MIN MAX MODE HOLDS SLEEP_MS
The pipeline is ``shmringsrc ! appsink``; every buffer's bytes are checked
in the mapped memory.
"""

import json
import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

from shmring.testing import check_pattern, pattern_seq  # noqa: E402

from fanout_sizes import frame_size  # noqa: E402


def main() -> int:
    channel, lo, hi, mode, holds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], \
        int(sys.argv[5])
    Gst.init(None)
    src = Gst.ElementFactory.make("shmringsrc")
    if src is None:
        print("fanout_gst.py: no shmringsrc element (GST_PLUGIN_PATH?)", file=sys.stderr)
        return 1
    src.set_property("channel", channel)
    src.set_property("timeout", 10 * Gst.SECOND)
    src.set_property("latest", mode == "live")
    if holds:
        src.set_property("holds", holds)
    sink = Gst.ElementFactory.make("appsink")
    sink.set_property("sync", False)
    pipeline = Gst.Pipeline()
    pipeline.add(src)
    pipeline.add(sink)
    src.link(sink)
    # READY -> PAUSED runs the source's start(), which attaches to the channel.
    if pipeline.set_state(Gst.State.PAUSED) == Gst.StateChangeReturn.FAILURE:
        msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
        err = msg.parse_error()[0].message if msg else "state change failed"
        print(f"fanout_gst.py: {err}", file=sys.stderr)
        pipeline.set_state(Gst.State.NULL)
        return 3 if "limit" in err or "refused" in err else 1
    print(f"ready {os.getpid()}", flush=True)
    pipeline.set_state(Gst.State.PLAYING)
    read = missed = wrong = 0
    next_seq = 0
    while True:
        sample = sink.emit("try-pull-sample", 30 * Gst.SECOND)
        if sample is None:
            break
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        if not ok:
            wrong += 1
            continue
        try:
            data = info.data
            seq = pattern_seq(data) if len(data) >= 8 else -1
            if seq < next_seq or len(data) != frame_size(seq, lo, hi) or not check_pattern(data, seq):
                wrong += 1
            else:
                missed += seq - next_seq
            next_seq = max(next_seq, seq + 1)
            read += 1
        finally:
            buf.unmap(info)
    msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg:
        err = msg.parse_error()[0].message
        print(f"fanout_gst.py: {err}", file=sys.stderr)
        return 3 if "limit" in err else 1  # refused by the producer, as fanout_reader.c says
    if not sink.get_property("eos"):
        print("fanout_gst.py: no end of stream within 30 s", file=sys.stderr)
        return 1
    print(json.dumps({"read": read, "missed": missed, "wrong": wrong, "last": next_seq - 1}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
