#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# gi_appsink.py: a Python GStreamer pipeline "shmringsrc ! appsink" turning samples into numpy arrays.
"""Usage: /usr/bin/python3 examples/gi_appsink.py NAME [--frames N]

Runs ``shmringsrc channel=NAME ! appsink`` and maps each sample into a numpy
array shaped (height, width, channels) from the buffer's video meta / caps.
Needs python3-gi, the GStreamer plugin (GST_PLUGIN_PATH) and numpy.
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("--frames", type=int, default=0, help="stop after N frames (0 = until end of stream)")
    args = ap.parse_args()
    try:
        import gi
        gi.require_version("Gst", "1.0")
        gi.require_version("GstVideo", "1.0")
        from gi.repository import Gst, GstVideo
        import numpy as np
    except (ImportError, ValueError) as e:
        print(f"gi_appsink: {e} (install python3-gi, gir1.2-gst-plugins-base-1.0, python3-numpy)", file=sys.stderr)
        return 1
    Gst.init(None)
    if Gst.ElementFactory.find("shmringsrc") is None:
        print("gi_appsink: the shmringsrc element is not found (set GST_PLUGIN_PATH)", file=sys.stderr)
        return 1
    pipe = Gst.parse_launch(f"shmringsrc channel={args.name} ! appsink name=sink sync=false max-buffers=2")
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    n = 0
    t0 = time.monotonic()
    try:
        while True:
            sample = sink.emit("try-pull-sample", 10 * Gst.SECOND)
            if sample is None:
                break  # end of stream or error
            buf = sample.get_buffer()
            info = GstVideo.VideoInfo.new_from_caps(sample.get_caps())
            ok, mi = buf.map(Gst.MapFlags.READ)
            if not ok:
                print("gi_appsink: cannot map buffer", file=sys.stderr)
                break
            try:
                stride = info.stride[0]
                comps = info.finfo.pixel_stride[0] or 1
                arr = np.ndarray((info.height, info.width, comps), np.uint8, mi.data, 0, (stride, comps, 1))
                n += 1
                if n == 1 or (args.frames and n >= args.frames):
                    print(f"frame {n}: pts {buf.pts} shape {arr.shape} mean {float(arr.mean()):.1f}", flush=True)
            finally:
                buf.unmap(mi)
            if args.frames and n >= args.frames:
                break
    except KeyboardInterrupt:
        pass
    msg = pipe.get_bus().pop_filtered(Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    if msg is not None:
        err, dbg = msg.parse_error()
        print(f"gi_appsink: {err.message} ({dbg})", file=sys.stderr)
        return 1
    dt = time.monotonic() - t0
    print(f"{n} frames in {dt:.2f} s ({n / dt if dt else 0:.1f} fps)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
