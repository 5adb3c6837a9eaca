# SPDX-License-Identifier: LGPL-2.1-or-later
"""The exceptions raised by the shmring package; all derive from shmring.Error."""

from __future__ import annotations

__all__ = ["Error", "InvalidName", "ChannelNotFound", "Refused", "ChannelBusy", "ProducerDied",
           "ProducerClosed", "CorruptSegment", "ProtocolVersion", "FrameTooLarge", "Timeout",
           "NoSpace", "FrameReleased", "ChannelOSError", "PermissionDenied", "UntrustedProducer", "Closed",
           "HoldsExhausted"]


class Error(Exception):
    """Base class of every shmring error."""


class InvalidName(Error, ValueError):
    """The channel name is not 1..99 characters of [A-Za-z0-9._-] not starting with '.'."""


class ChannelNotFound(Error, FileNotFoundError):
    """No channel of that name exists (within the timeout)."""


class Refused(Error):
    """The producer refused this reader; the message is the producer's (limit, access or protocol).

    ``errno`` holds the producer's reason: EBUSY (reader limit: ChannelBusy),
    EACCES (uid not allowed: PermissionDenied), EPROTO (version, or this
    reader broke the protocol).
    """

    def __init__(self, message: str, err: int = 0) -> None:
        super().__init__(message)
        self.errno = err


class ChannelBusy(Refused):
    """The channel has a producer already, or as many readers as its limit; the message names the pids.

    ``pids`` are the pids the message names (the readers attached, or the producer).
    """

    def __init__(self, message: str, err: int = 16, pids: tuple[int, ...] = ()) -> None:
        super().__init__(message, err)
        self.pids = pids
        self.pid = pids[0] if pids else 0


class ProducerDied(Error):
    """The producer exited without closing the channel (crash or kill)."""


class ProducerClosed(Error):
    """The producer closed the channel cleanly without sending end-of-stream."""


class CorruptSegment(Error):
    """A value read from shared memory is impossible; the message names it."""


class ProtocolVersion(CorruptSegment):
    """The segment speaks a protocol version this package does not know."""


class FrameTooLarge(Error, ValueError):
    """A frame does not fit in a slot; the message gives both sizes and the fix."""


class Timeout(Error, TimeoutError):
    """A wait took longer than its timeout."""


class ChannelOSError(Error, OSError):
    """A system call on a channel failed; the message names the channel, the file and the cause.

    ``errno`` holds the operating system's error number.
    """

    def __init__(self, message: str, err: int = 0) -> None:
        super().__init__(message)
        self.errno = err


class NoSpace(ChannelOSError):
    """There is not enough shared memory for the channel's pool; the message gives the size and the fix."""


class PermissionDenied(Refused, ChannelOSError, PermissionError):
    """The channel's producer does not share it with this user; the message names the uid and the setting."""

    # Refused's errno, always set; declared here, as OSError's is int in some
    # typeshed versions and Optional[int] in others.
    errno: int


class UntrustedProducer(Error, PermissionError):
    """The channel's name is served by a process of another user, not trusted as its producer (anyone can take a
    channel's name first); the message names its uid and the setting that trusts it."""


class Closed(Error, ValueError):
    """The Reader or Writer was closed; none of its methods can be used any more."""


class FrameReleased(Error):
    """The frame was released (or its reader closed); its data is gone."""


class HoldsExhausted(Error):
    """The reader holds as many frames as it was granted; release one (or keep a frame.copy())."""
