# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ``shmring`` command (also ``python3 -m shmring``): ls, info, view, top."""

from __future__ import annotations

import argparse
import errno
import os
import select
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, Optional, Sequence, Union

from . import __version__
from ._errors import Error, Refused
from ._reader import inspect
from ._stats import Stats, list_channels

__all__ = ["main"]

_NS = 1_000_000_000


def _safe(text: object) -> str:
    """``text`` for a terminal: what a producer or a peer wrote (caps, names, error messages) may hold control
    characters, escape sequences among them; each one is shown as an escape, never sent to the terminal."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(text))


def _stream(st: Stats) -> str:
    s = st.stream
    if s is None:
        return "-"
    return _safe(f"{s.format} {s.width}x{s.height}" if s.format else s.caps.split(",", 1)[0])


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def _trouble(name: str, e: BaseException) -> str:
    """One line (escaped) naming channel ``name`` and what went wrong asking it: its producer was silent, hung
    up, refused (its own words), answered garbage, or its memory failed the checks."""
    if isinstance(e, Refused):
        code = errno.errorcode.get(e.errno, str(e.errno))
        text = f"channel {name!r}: the producer refused this observer ({code}): {e}"
    elif isinstance(e, Error):
        text = str(e) if repr(name) in str(e) else f"channel {name!r}: {e}"
    elif isinstance(e, OSError):
        text = f"channel {name!r}: {e.strerror or e}"
    else:  # a bug here, or a check the reader lacks: said, not a traceback that hides the other channels
        text = f"channel {name!r}: {type(e).__name__}: {e}"
    return _safe(text)


def _short(name: str, line: str) -> str:
    """``_trouble``'s line without the channel's name, for a table whose first column is the name."""
    prefix = _safe(f"channel {name!r}: ")
    return line[len(prefix):] if line.startswith(prefix) else line


_Sample = Union[Stats, BaseException]


def _ask(name: str, timeout: float) -> _Sample:
    try:
        return inspect(name, timeout=timeout, answer_timeout=timeout)
    except Exception as e:  # whatever it is, it goes on the channel's own line
        return e


def _ask_all(names: list[str], timeout: float) -> dict[str, _Sample]:
    """name -> Stats, or the exception met asking it: every channel asked at once, each for at most ``timeout``
    seconds to appear and as long to answer, so that silent producers cost one timeout, not one each."""
    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=min(len(names), 64), thread_name_prefix="shmring ask") as pool:
        results = list(pool.map(lambda n: _ask(n, timeout), names))
    return dict(zip(names, results))


def _check_timeout(args: argparse.Namespace) -> None:
    if not args.timeout > 0:
        raise Error(f"--timeout must be positive, got {args.timeout}")


def cmd_ls(args: argparse.Namespace) -> int:
    _check_timeout(args)
    names = list_channels()
    if not names:
        print("no channels")
        return 0
    sampled = _ask_all(names, args.timeout)
    print(f"{'NAME':<24} {'STATE':<7} {'POLICY':<9} {'PRODUCER':>8} {'UID':>6} {'READERS':<24} {'WRITTEN':>9}  "
          "STREAM")
    for name, st in sampled.items():
        if not isinstance(st, Stats):
            # One channel in trouble does not hide the others, nor change the exit status: the listing worked.
            print(f"{name:<24} error: {_short(name, _trouble(name, st))}")
            continue
        pids = " ".join(str(r.pid) for r in st.readers)
        readers = f"{len(st.readers)}/{st.max_readers}" + (f" ({pids})" if pids else "")
        note = "  (waiting for a lossless reader)" if st.producer_waiting else ""
        print(f"{name:<24} {st.state:<7} {st.policy:<9} {st.producer_pid:>8} {st.producer_uid!s:>6} {readers:<24} "
              f"{st.frames_written:>9}  "
              f"{_stream(st)}{note}")
    return 0


def _print_info(st: Stats, fps: Optional[float]) -> None:
    s = st.stream
    print(f"channel:        {_safe(st.name)}")
    print(f"state:          {st.state}{' (end of stream)' if st.eos else ''}")
    print(f"policy:         {st.policy}")
    print(f"memory:         {st.n_slots} slots x {st.slot_size} bytes = {_mib(st.pool_size)} at most "
          f"(queue {st.queue_len}, holds {st.max_holds} per reader)")
    if st.resident is not None:
        print(f"resident:       {_mib(st.resident)} now (slots are allocated as they are first written)")
    print(f"generation:     {st.generation}")
    print(f"producer:       pid {st.producer_pid}, uid {st.producer_uid}"
          f"{', waiting for a lossless reader' if st.producer_waiting else ''}")
    print(f"readers:        {len(st.readers)} of at most {st.max_readers}")
    for r in st.readers:
        stalled = " (stalled: live until it catches up)" if r.stalled else ""
        print(f"  reader {r.index:<3}    pid {r.pid}, uid {r.uid}, mode {r.mode}{stalled}, holds {r.holds}, "
              f"frames {r.frames_queued}, dropped {r.frames_dropped}, lag {r.lag}")
    if s is None:
        print("caps:           (no stream description yet)")
    else:
        print(f"caps:           {_safe(s.caps)}")
        if s.format:
            print(f"format:         {_safe(s.format)} {s.width}x{s.height}, {s.n_planes} plane(s), "
                  f"strides {list(s.plane_strides)}, offsets {list(s.plane_offsets)}")
        print(f"frame size:     {s.frame_size if s.frame_size else 'variable'} bytes")
        print(f"stream fps:     {f'{s.fps:.3f}' if s.fps else 'unknown'}")
    if fps is not None:
        print(f"measured fps:   {fps:.2f}")
    lost = f", {st.frames_lost} lost before this channel" if st.frames_lost else ""
    print(f"frames:         written {st.frames_written}, next number {st.next_seq}{lost}")


def cmd_info(args: argparse.Namespace) -> int:
    _check_timeout(args)
    try:
        st = inspect(args.name, timeout=args.timeout, answer_timeout=args.timeout)
        fps = None
        if args.measure > 0:
            time.sleep(args.measure)  # sampling interval for the measured rate
            st2 = inspect(args.name, timeout=args.timeout, answer_timeout=args.timeout)
            if st2.generation == st.generation and st2.sampled > st.sampled:
                fps = (st2.frames_written - st.frames_written) / (st2.sampled - st.sampled)
            st = st2
    except (Error, OSError) as e:
        print(f"shmring: {_trouble(args.name, e)}", file=sys.stderr)
        return 1
    _print_info(st, fps)
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    try:
        import numpy as np
    except ImportError:
        raise Error("view needs numpy (install python3-numpy)") from None
    from .opencv import import_cv2, require_display, to_bgr
    try:
        cv2 = import_cv2()
    except ImportError:
        raise Error("view needs OpenCV (install python3-opencv)") from None
    from ._reader import Reader

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
            img = np.array(img, copy=True)  # the overlay must not draw into shared memory
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
def _sample(timeout: float) -> dict[str, Any]:
    """name -> Stats (or the exception met asking it) for every channel, asked at once."""
    return _ask_all(list_channels(), timeout)


def top_screen(prev: dict[str, Any], cur: dict[str, Any]) -> list[str]:
    """The lines of one ``shmring top`` screen from two samples (each channel's rate between the times its
    counters were read: asking may take longer than the interval on a busy machine)."""
    lines = [f"shmring top: {len(cur)} channel(s), {time.strftime('%H:%M:%S')}  (q or Ctrl-C quits)",
             f"{'NAME':<24} {'STATE':<7} {'FPS':>7} {'READERS':>7} {'LAG':>6} {'DROPPED':>8}  STREAM"]
    for name, st in cur.items():
        if not isinstance(st, Stats):
            lines.append(f"{name:<24} error: {_short(name, _trouble(name, st))}")
            continue
        p = prev.get(name)
        fps = "-"
        if isinstance(p, Stats) and p.generation == st.generation and st.sampled > p.sampled:
            fps = f"{(st.frames_written - p.frames_written) / (st.sampled - p.sampled):.1f}"
        lag = max((r.lag for r in st.readers), default=0)
        dropped = sum(r.frames_dropped for r in st.readers)
        lines.append(f"{name:<24} {st.state:<7} {fps:>7} {len(st.readers):>7} {lag:>6} {dropped:>8}  "
                     f"{_stream(st)}")
        for r in st.readers:
            lines.append(f"  pid {r.pid:<8} {'stalled' if r.stalled else r.mode:<8} holds {r.holds:<3} frames {r.frames_queued:<10} "
                         f"dropped {r.frames_dropped:<8} lag {r.lag}")
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


def _screens(interval: float, timeout: float, keys: _Keys) -> Iterator[list[str]]:
    prev = _sample(timeout)
    while True:
        if keys.wait_quit(interval):
            return
        cur = _sample(timeout)
        yield top_screen(prev, cur)
        prev = cur


def cmd_top(args: argparse.Namespace) -> int:
    if not args.interval > 0:
        raise Error(f"--interval must be positive, got {args.interval}")
    _check_timeout(args)
    count = 1 if args.once else args.count
    clear = sys.stdout.isatty()
    shown = 0
    try:
        with _Keys() as keys:
            for lines in _screens(args.interval, args.timeout, keys):
                text = "\n".join(lines) + "\n"
                sys.stdout.write(("\x1b[H\x1b[2J" + text) if clear else (text + "\n" if count != 1 else text))
                sys.stdout.flush()
                shown += 1
                if count and shown >= count:
                    break
    except KeyboardInterrupt:
        pass  # Ctrl-C is how top ends
    return 0


def build_parser(prog: str = "shmring") -> argparse.ArgumentParser:
    """The command-line parser (its subcommands are the man page's COMMANDS)."""
    p = argparse.ArgumentParser(prog=prog, description="Inspect shmring shared-memory video channels.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.required = True
    s = sub.add_parser("ls", help="list channels (each one in trouble on its own line, naming it)")
    s.add_argument("--timeout", type=float, default=1.0, metavar="SECONDS",
                   help="seconds to wait for each producer's answer, all asked at once (default 1)")
    s.set_defaults(func=cmd_ls)
    s = sub.add_parser("info", help="show a channel's stream, memory, counters and readers (as an observer)")
    s.add_argument("name")
    s.add_argument("--timeout", type=float, default=1.0, metavar="SECONDS",
                   help="seconds to wait for the producer, and as long for its answer (default 1)")
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
    s.add_argument("--timeout", type=float, default=1.0, metavar="SECONDS",
                   help="seconds to wait for each producer's answer, all asked at once (default 1)")
    s.set_defaults(func=cmd_top)
    return p


def main(argv: Optional[Sequence[str]] = None, prog: str = "shmring") -> int:
    """Run the command with ``argv`` (default: sys.argv[1:]); returns the exit status."""
    args = build_parser(prog).parse_args(argv)
    try:
        return int(args.func(args))
    except Error as e:
        print(f"shmring: {_safe(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
