# SPDX-License-Identifier: LGPL-2.1-or-later
"""Operating-system helpers: futex system calls, OFD locks, channel names.

Only the standard library is used: the futex is reached through
``ctypes`` and libc's ``syscall()``, the locks through ``fcntl``.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import platform
import re
import struct

from . import _layout as L
from ._errors import Error, InvalidName

__all__ = ["futex_wait", "futex_wake", "lock_try", "lock_wait", "unlock", "lock_is_held",
           "check_name", "channel_path"]

_SYS_FUTEX = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98}.get(platform.machine().lower())
FUTEX_WAIT = 0
FUTEX_WAKE = 1
_INT_MAX = 0x7FFFFFFF

F_OFD_GETLK = getattr(fcntl, "F_OFD_GETLK", 36)
F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)
F_OFD_SETLKW = getattr(fcntl, "F_OFD_SETLKW", 38)
_FLOCK = "hhqqi4x"  # struct flock on x86-64 / aarch64: type, whence, start, len, pid


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def futex_wait(addr: int, expected: int, timeout_s: float) -> int:
    """FUTEX_WAIT (shared) on the u32 at address ``addr`` for at most ``timeout_s``.

    Returns 0 when woken or the word no longer held ``expected``, otherwise
    the errno (ETIMEDOUT, EINTR, EAGAIN).  EINTR is returned, not retried, so
    that a pending KeyboardInterrupt is raised by the caller's next bytecode.
    """
    if _SYS_FUTEX is None:
        raise Error(f"futex: unsupported machine {platform.machine()!r}")
    if timeout_s < 0:
        timeout_s = 0.0
    sec = int(timeout_s)
    ts = _Timespec(sec, int((timeout_s - sec) * 1e9))
    r = _syscall(_SYS_FUTEX, ctypes.c_void_p(addr), FUTEX_WAIT, ctypes.c_uint32(expected),
                 ctypes.byref(ts), None, 0)
    if r == 0:
        return 0
    e = ctypes.get_errno()
    if e in (errno.ETIMEDOUT, errno.EINTR, errno.EAGAIN):
        return e
    raise OSError(e, f"futex wait: {os.strerror(e)}")


def futex_wake(addr: int) -> None:
    """FUTEX_WAKE (shared) every waiter on the u32 at address ``addr``."""
    if _SYS_FUTEX is None:
        raise Error(f"futex: unsupported machine {platform.machine()!r}")
    _syscall(_SYS_FUTEX, ctypes.c_void_p(addr), FUTEX_WAKE, _INT_MAX, None, None, 0)


def _flock(kind: int, byte: int) -> bytes:
    return struct.pack(_FLOCK, kind, os.SEEK_SET, byte, 1, 0)


def lock_try(fd: int, byte: int) -> bool:
    """Take the OFD write lock on ``byte`` without blocking; False if it is held elsewhere."""
    try:
        fcntl.fcntl(fd, F_OFD_SETLK, _flock(fcntl.F_WRLCK, byte))
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def lock_wait(fd: int, byte: int) -> None:
    """Take the OFD write lock on ``byte``, blocking (held only briefly by the other side)."""
    fcntl.fcntl(fd, F_OFD_SETLKW, _flock(fcntl.F_WRLCK, byte))


def unlock(fd: int, byte: int) -> None:
    """Release the OFD lock on ``byte`` held through ``fd``."""
    fcntl.fcntl(fd, F_OFD_SETLK, _flock(fcntl.F_UNLCK, byte))


def lock_is_held(fd: int, byte: int) -> bool:
    """True if another open file description holds a lock on ``byte``."""
    res = fcntl.fcntl(fd, F_OFD_GETLK, _flock(fcntl.F_WRLCK, byte))
    kind: int = struct.unpack(_FLOCK, res)[0]
    return kind != fcntl.F_UNLCK


_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")


def check_name(name: object) -> str:
    """Return ``name`` if it is a valid channel name, else raise InvalidName saying why."""
    if not isinstance(name, str):
        raise InvalidName(f"channel name must be a string, not {type(name).__name__}")
    if not name:
        raise InvalidName("channel name is empty")
    if len(name) > L.NAME_MAX:
        raise InvalidName(f"channel name is {len(name)} characters long; the limit is {L.NAME_MAX}")
    if name.startswith("."):
        raise InvalidName(f"channel name {name!r} starts with '.'")
    if not _NAME_RE.fullmatch(name):
        bad = next(c for c in name if not _NAME_RE.fullmatch(c))
        raise InvalidName(f"channel name {name!r} contains {bad!r}; allowed are A-Z a-z 0-9 . _ -")
    return name


def channel_path(name: str) -> str:
    """The /dev/shm path of channel ``name`` (validated)."""
    return L.PATH_PREFIX + check_name(name)


def pid_alive(pid: int) -> bool:
    """Best-effort: does process ``pid`` exist?  (Informative only; locks are the truth.)"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
