#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# opencv_display.py: show a shmring channel in an OpenCV window with a frame-rate overlay.
"""Usage: /usr/bin/python3 examples/opencv_display.py NAME [--frames N] [--screenshot FILE.png]

Reads the newest frame of channel NAME (zero copy), converts it to BGR when
needed and shows it with the measured frame rate.  q or Esc quits.
"""

from __future__ import annotations

import argparse
import sys
import time

import shmring


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("--frames", type=int, default=0, help="quit after N frames")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the producer")
    ap.add_argument("--screenshot", metavar="FILE.png",
                    help="save the last displayed image (with its overlay) to this file")
    args = ap.parse_args()
    try:
        import cv2
        import numpy as np
        from shmring.opencv import require_display, to_bgr
    except ImportError as e:
        print(f"opencv_display: {e.name} is missing (install python3-opencv and python3-numpy)", file=sys.stderr)
        return 1
    try:
        require_display()
    except shmring.Error as e:
        print(f"opencv_display: {e}", file=sys.stderr)
        return 1
    title = f"shmring {args.name}"
    shown, fps, t0 = 0, 0.0, time.monotonic()
    img = None
    try:
        with shmring.Reader(args.name, timeout=args.timeout, latest=True) as reader:
            for frame in reader:
                img = np.array(to_bgr(frame), copy=True)  # own copy: the overlay must not touch shared memory
                shown += 1
                now = time.monotonic()
                if now - t0 >= 0.5:
                    fps, shown, t0 = shown / (now - t0), 0, now
                cv2.putText(img, f"{fps:5.1f} fps  seq {frame.seq}  dropped {reader.dropped}", (8, 24),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 2)
                cv2.imshow(title, img)
                if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                    break
                if args.frames and reader.frames >= args.frames:
                    break
            print(f"displayed {reader.frames} frames", flush=True)
    except shmring.Error as e:
        print(f"opencv_display: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    cv2.destroyAllWindows()
    if args.screenshot:
        if img is None:
            print("opencv_display: no frame was shown, so there is no screenshot", file=sys.stderr)
            return 1
        if not cv2.imwrite(args.screenshot, img):
            print(f"opencv_display: could not write {args.screenshot} (does its directory exist, and does the "
                  "name end in .png or .jpg?)", file=sys.stderr)
            return 1
        print(f"screenshot (the last frame as shown): {args.screenshot}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
