# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ``shmring`` command (also ``python3 -m shmring``): ls, info, view, top, clean."""

from __future__ import annotations

import argparse
import os
import select
import sys
import time
from typing import Any, Iterator, Optional, Sequence

from . import __version__
from ._errors import Error
from ._segment import Stats, clean, inspect, list_channels

__all__ = ["main"]

_NS = 1_000_000_000


def _pid(pid: int, alive: bool) -> str:
    if not pid:
        return "-"
    return f"{pid} ({'alive' if alive else 'gone'})"


def _stream(st: Stats) -> str:
    s = st.stream
    if s is None:
        return "-"
    return f"{s.format} {s.width}x{s.height}" if s.format else s.caps.split(",", 1)[0]


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def _ls2() -> None:
    """The protocol 2 channels (several readers each), from the abstract sockets of this network namespace."""
    from . import _observe2 as O
    print(f"{'NAME':<24} {'STATE':<7} {'POLICY':<9} {'PRODUCER':<9} {'READERS':<8} {'WRITTEN':>9} "
          f"{'MEMORY':>22}  STREAM")
    for name in O.list_channels():
        try:
            c = O.inspect(name)
        except Error as e:
            print(f"{name:<24} error: {e}")
            continue
        mem = f"{c.n_slots} x {c.slot_size} = {_mib(c.pool_size)}"
        stream = "-" if c.stream is None else (f"{c.stream.format} {c.stream.width}x{c.stream.height}"
                                               if c.stream.format else c.stream.caps.split(",", 1)[0])
        print(f"{name:<24} {c.state:<7} {c.policy:<9} {c.producer_pid:<9} {len(c.readers)}/{c.max_readers:<6} "
              f"{c.frames_written:>9} {mem:>22}  {stream}")


def _info2(name: str) -> None:
    from . import _observe2 as O
    c = O.inspect(name)
    print(f"channel:        {c.name} (protocol 2)")
    print(f"state:          {c.state}{', end of stream sent' if c.eos else ''}")
    print(f"policy:         {c.policy}")
    print(f"producer:       {c.producer_pid}")
    print(f"generation:     {c.generation}")
    print(f"memory:         {c.n_slots} slots x {c.slot_size} bytes = {c.pool_size} bytes ({_mib(c.pool_size)}): "
          f"{c.max_readers} readers x (queue {c.queue_len} + holds {c.max_holds}) + reserved + 1")
    if c.stream is None:
        print("caps:           (no stream description yet)")
    else:
        print(f"caps:           {c.stream.caps}")
    print(f"frames:         written {c.frames_written}")
    print(f"readers:        {len(c.readers)} of {c.max_readers}")
    for r in c.readers:
        print(f"  pid {r.pid:<8} uid {r.uid:<6} {'live' if r.live else 'follows policy':<15} holds {r.holds:<3} "
              f"queued {r.frames_queued:<9} dropped {r.frames_dropped:<8} lag {r.lag}")


def cmd_ls(args: argparse.Namespace) -> int:
    from . import _observe2 as O
    names = list_channels()
    if O.list_channels():
        _ls2()
        if not names:
            return 0
        print()
    elif not names:
        print("no channels")
        return 0
    print(f"{'NAME':<24} {'STATE':<7} {'POLICY':<9} {'PRODUCER':<16} {'READER':<16} {'WRITTEN':>9} "
          f"{'DROPPED':>8}  STREAM")
    for name in names:
        try:
            st = inspect(name)
        except Error as e:
            print(f"{name:<24} error: {e}")  # one broken channel does not hide the others
            continue
        note = f"  ({st.producer_status})" if st.producer_status else ""
        print(f"{name:<24} {st.state:<7} {st.policy:<9} {_pid(st.producer_pid, st.producer_alive):<16} "
              f"{_pid(st.reader_pid, st.reader_alive):<16} {st.frames_written:>9} {st.frames_dropped:>8}  "
              f"{_stream(st)}{note}")
    return 0


def _print_info(st: Stats, fps: Optional[float]) -> None:
    s = st.stream
    status = f", {st.producer_status}" if st.producer_status else ""
    print(f"channel:        {st.name}")
    print(f"state:          {st.state}")
    print(f"policy:         {st.policy}")
    print(f"ring size:      {st.ring_size} bytes")
    print(f"generation:     {st.generation}")
    print(f"producer:       {_pid(st.producer_pid, st.producer_alive)}{status}")
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
    from . import _observe2 as O
    if args.name in O.list_channels():
        _info2(args.name)
        return 0
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
        import cv2  # type: ignore[import]
    except ImportError:
        raise Error("view needs OpenCV (install python3-opencv)") from None
    from ._reader import Reader
    from .opencv import require_display, to_bgr

    title = f"shmring: {args.name}"
    shown = 0
    t0 = time.monotonic()
    fps = 0.0
    with Reader(args.name, timeout=args.timeout, latest=True, reconnect=args.reconnect) as reader:
        require_display()  # after the channel: a typo in its name is said first
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


# --- top -----------------------------------------------------------------
def _sample() -> dict[str, Any]:
    """name -> Stats (or the Error met inspecting it) for every channel."""
    out: dict[str, Any] = {}
    for name in list_channels():
        try:
            out[name] = inspect(name)
        except Error as e:
            out[name] = e
    return out


def _ms(ns: Optional[int]) -> str:
    return "-" if ns is None else f"{ns / 1e6:.1f} ms"


def top_screen(prev: dict[str, Any], cur: dict[str, Any], dt: float, now_ns: int) -> list[str]:
    """The lines of one ``shmring top`` screen from two samples ``dt`` seconds apart."""
    lines = [f"shmring top: {len(cur)} channel(s), {time.strftime('%H:%M:%S')}  (q or Ctrl-C quits)",
             f"{'NAME':<24} {'STATE':<7} {'FPS':>7} {'READERS':<14} {'LAG':>6} {'DROPPED':>8} {'LATENCY':>10}  "
             f"STREAM"]
    for name, st in cur.items():
        if not isinstance(st, Stats):
            lines.append(f"{name:<24} error: {st}")
            continue
        p = prev.get(name)
        fps = "-"
        if isinstance(p, Stats) and p.generation == st.generation and dt > 0:
            fps = f"{(st.frames_written - p.frames_written) / dt:.1f}"
        readers = f"1 (pid {st.reader_pid})" if st.reader_alive else "0"
        lat = None if st.newest_commit_ns is None else max(now_ns - st.newest_commit_ns, 0)
        note = f"  ({st.producer_status})" if st.producer_status else ""
        lines.append(f"{name:<24} {st.state:<7} {fps:>7} {readers:<14} {st.lag_frames:>6} "
                     f"{st.frames_dropped + st.frames_skipped:>8} {_ms(lat):>10}  {_stream(st)}{note}")
    if not cur:
        lines.append("(no channels)")
    return lines


class _Keys:
    """Single key presses from stdin in cbreak mode, only when stdin is a terminal; restores it on exit."""

    def __init__(self) -> None:
        self.fd = -1  # read keys from here; -1: none to read
        self.tty = -1  # the terminal whose attributes ``saved`` holds
        self.saved: Optional[list[Any]] = None

    def __enter__(self) -> "_Keys":
        try:
            if os.isatty(sys.stdin.fileno()):
                import termios
                import tty
                self.fd = self.tty = sys.stdin.fileno()
                self.saved = termios.tcgetattr(self.tty)
                tty.setcbreak(self.tty)
        except (OSError, ValueError, AttributeError):  # no stdin at all, or not a usable one
            self.fd = -1
        return self

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            import termios
            try:
                termios.tcsetattr(self.tty, termios.TCSADRAIN, self.saved)
            except termios.error:
                pass  # the terminal is gone

    def wait_quit(self, seconds: float) -> bool:
        """Wait ``seconds``; True if 'q' was pressed meanwhile."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self.fd < 0:
                time.sleep(left)  # the refresh interval
                return False
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                keys = os.read(self.fd, 32)
                if not keys:
                    self.fd = -1  # the terminal hung up: only the interval is left
                elif b"q" in keys.lower():
                    return True


def _screens(interval: float, keys: _Keys) -> Iterator[list[str]]:
    prev, t0 = _sample(), time.monotonic()
    while True:
        if keys.wait_quit(interval):
            return
        cur, t1 = _sample(), time.monotonic()
        yield top_screen(prev, cur, t1 - t0, time.monotonic_ns())
        prev, t0 = cur, t1


def cmd_top(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        raise Error(f"--interval must be positive, got {args.interval}")
    count = 1 if args.once else args.count
    clear = sys.stdout.isatty()
    shown = 0
    try:
        with _Keys() as keys:
            for lines in _screens(args.interval, keys):
                text = "\n".join(lines) + "\n"
                sys.stdout.write(("\x1b[H\x1b[2J" + text) if clear else (text + "\n" if count != 1 else text))
                sys.stdout.flush()
                shown += 1
                if count and shown >= count:
                    break
    except KeyboardInterrupt:
        pass  # Ctrl-C is how top ends
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    results = clean(args.names or None, dry_run=args.dry_run)
    failed = removed = live = 0
    for r in results:
        if r.failed:
            print(f"shmring: {r.message}", file=sys.stderr)
            failed += 1
        elif args.names or not r.live:
            print(r.message)
        removed += r.removed
        live += r.live
    if not removed and not failed:
        if not results:
            print("nothing to clean: no channels")
        elif not args.names:
            print(f"nothing to clean: {live} channel(s), each with a live producer")
    return 1 if failed else 0


def build_parser(prog: str = "shmring") -> argparse.ArgumentParser:
    """The command-line parser (its subcommands are the man page's COMMANDS)."""
    p = argparse.ArgumentParser(prog=prog, description="Inspect shmring shared-memory video channels.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
    s = sub.add_parser("top", help="a live view of every channel: fps, readers, lag, drops, latency "
                       "(q or Ctrl-C quits)")
    s.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help="refresh period (default 1)")
    s.add_argument("--once", action="store_true", help="print one screen and exit")
    s.add_argument("--count", type=int, default=0, metavar="N", help="exit after N screens (0 = never)")
    s.set_defaults(func=cmd_top)
    s = sub.add_parser("clean", help="remove the channels of producers that died (crashed), and the "
                       "segments they died while creating")
    s.add_argument("names", nargs="*", metavar="NAME", help="only these channels (default: all)")
    s.add_argument("-n", "--dry-run", action="store_true", help="say what would be removed, remove nothing")
    s.set_defaults(func=cmd_clean)
    return p


def main(argv: Optional[Sequence[str]] = None, prog: str = "shmring") -> int:
    """Run the command with ``argv`` (default: sys.argv[1:]); returns the exit status."""
    args = build_parser(prog).parse_args(argv)
    try:
        return int(args.func(args))
    except Error as e:
        print(f"shmring: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
