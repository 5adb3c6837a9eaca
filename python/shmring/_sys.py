# SPDX-License-Identifier: LGPL-2.1-or-later
"""Operating-system helpers: futex system calls, channel names.

Only the standard library is used: the futex is reached through
``ctypes`` and libc's ``syscall()``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import re

from . import _layout as L
from ._errors import Error, InvalidName

__all__ = ["futex_wait", "futex_wake", "check_name", "pid_alive"]

_SYS_FUTEX = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98}.get(platform.machine().lower())
FUTEX_WAIT = 0
FUTEX_WAKE = 1
_INT_MAX = 0x7FFFFFFF

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
