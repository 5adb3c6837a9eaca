# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ``python3 -m shmring`` command line: ls, info, view, clean."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Optional, Sequence

from ._errors import Error
from ._segment import Stats, inspect, list_channels, remove_stale, remove_unfinished

__all__ = ["main"]

_NS = 1_000_000_000


def _pid(pid: int, alive: bool) -> str:
    if not pid:
        return "-"
    return f"{pid} ({'alive' if alive else 'gone'})"


def cmd_ls(args: argparse.Namespace) -> int:
    names = list_channels()
    if not names:
        print("no channels")
        return 0
    print(f"{'NAME':<24} {'STATE':<7} {'POLICY':<9} {'PRODUCER':<16} {'READER':<16} {'WRITTEN':>9} "
          f"{'DROPPED':>8}  STREAM")
    for name in names:
        try:
            st = inspect(name)
        except Error as e:
            print(f"{name:<24} error: {e}")
            continue
        s = st.stream
        stream = "-"
        if s is not None:
            stream = f"{s.format} {s.width}x{s.height}" if s.format else s.caps.split(",", 1)[0]
        print(f"{name:<24} {st.state:<7} {st.policy:<9} {_pid(st.producer_pid, st.producer_alive):<16} "
              f"{_pid(st.reader_pid, st.reader_alive):<16} {st.frames_written:>9} {st.frames_dropped:>8}  "
              f"{stream}")
    return 0


def _print_info(st: Stats, fps: Optional[float]) -> None:
    s = st.stream
    print(f"channel:        {st.name}")
    print(f"state:          {st.state}")
    print(f"policy:         {st.policy}")
    print(f"ring size:      {st.ring_size} bytes")
    print(f"generation:     {st.generation}")
    print(f"producer:       {_pid(st.producer_pid, st.producer_alive)}")
    print(f"reader:         {_pid(st.reader_pid, st.reader_alive)}  (attaches: {st.reader_attaches})")
    if s is None:
        print("caps:           (no stream description yet)")
    else:
        print(f"caps:           {s.caps}")
        if s.format:
            print(f"format:         {s.format} {s.width}x{s.height}, {s.n_planes} plane(s), "
                  f"strides {list(s.plane_strides)}, offsets {list(s.plane_offsets)}")
        print(f"frame size:     {s.frame_size if s.frame_size else 'variable'} bytes")
        print(f"stream fps:     {f'{s.fps:.3f}' if s.fps else 'unknown'}")
    if fps is not None:
        print(f"measured fps:   {fps:.2f}")
    print(f"frames:         written {st.frames_written}, read {st.frames_read}, "
          f"dropped {st.frames_dropped}, skipped {st.frames_skipped}")
    print(f"lag:            {st.lag_frames} frame(s), {st.lag_bytes} bytes")


def cmd_info(args: argparse.Namespace) -> int:
    st = inspect(args.name)
    fps = None
    if args.measure > 0:
        time.sleep(args.measure)  # sampling interval for the measured rate
        st2 = inspect(args.name)
        fps = (st2.frames_written - st.frames_written) / args.measure
        st = st2
    _print_info(st, fps)
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    try:
        import numpy as np
    except ImportError:
        raise Error("view needs numpy (install python3-numpy)") from None
    try:
        import cv2
    except ImportError:
        raise Error("view needs OpenCV (install python3-opencv)") from None
    from ._reader import Reader
    from .opencv import require_display, to_bgr

    require_display()

    title = f"shmring: {args.name}"
    shown = 0
    t0 = time.monotonic()
    fps = 0.0
    with Reader(args.name, timeout=args.timeout, latest=True, reconnect=args.reconnect) as reader:
        for frame in reader:
            img = to_bgr(frame)
            shown += 1
            now = time.monotonic()
            if now - t0 >= 1.0:
                fps = shown / (now - t0)
                shown, t0 = 0, now
            img = np.array(img, copy=True)  # the overlay must not draw into the ring
            cv2.putText(img, f"{fps:5.1f} fps  seq {frame.seq}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                        (0, 255, 0), 2)
            cv2.imshow(title, img)
            if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                break
            if args.frames and reader.frames >= args.frames:
                break
    cv2.destroyAllWindows()
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    removed = 0
    for name in args.names or list_channels():
        try:
            pid = inspect(name).producer_pid
        except Error:
            pid = 0  # not even a valid header: still ours to remove if unlocked
        if remove_stale(name):
            removed += 1
            print(f"removed {name}" + (f" (producer pid {pid} is gone)" if pid else ""))
    for name, pid in remove_unfinished(args.names or None):
        removed += 1
        print(f"removed an unfinished segment of {name} (producer pid {pid} died while creating it)")
    if not removed:
        print("nothing to clean: every channel has a live producer")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m shmring", description="Inspect shmring channels.")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.required = True
    s = sub.add_parser("ls", help="list channels")
    s.set_defaults(func=cmd_ls)
    s = sub.add_parser("info", help="show a channel's stream, counters and pids")
    s.add_argument("name")
    s.add_argument("--measure", type=float, default=0.5, metavar="SECONDS",
                   help="sample the frame rate over this long (0 = do not; default 0.5)")
    s.set_defaults(func=cmd_info)
    s = sub.add_parser("view", help="show a channel in an OpenCV window (q or Esc quits)")
    s.add_argument("name")
    s.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the channel")
    s.add_argument("--frames", type=int, default=0, help="stop after this many frames")
    s.add_argument("--reconnect", action="store_true", help="wait for a restarted producer")
    s.set_defaults(func=cmd_view)
    s = sub.add_parser("clean", help="remove the channels of producers that died (crashed), and the "
                       "segments they died while creating")
    s.add_argument("names", nargs="*", metavar="NAME", help="only these channels (default: all)")
    s.set_defaults(func=cmd_clean)
    args = p.parse_args(argv)
    try:
        return int(args.func(args))
    except Error as e:
        print(f"shmring: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
