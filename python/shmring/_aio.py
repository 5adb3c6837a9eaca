# SPDX-License-Identifier: LGPL-2.1-or-later
"""shmring.AsyncReader: ``async for frame in reader`` in an asyncio loop, on the reader's wake descriptor.

No thread and no polling: a pollable Reader (PROTOCOL.md W5) arms its wake
descriptor when ``poll()`` finds nothing, and the loop waits on it with
``add_reader`` until the producer's next commit (or end of stream, close,
death) makes it readable.  Any number of readers share one loop.
"""

from __future__ import annotations

import asyncio
import functools
import time
import weakref
from typing import Any, Optional

from ._errors import Timeout
from ._frame import Frame
from ._reader import Reader

__all__ = ["AsyncReader"]


def _expire(fut: "asyncio.Future[bool]") -> None:
    if not fut.done():
        fut.set_result(False)


class AsyncReader:
    """A Reader for asyncio: ``async for frame in AsyncReader("cam"): ...``.

    ``AsyncReader(name, timeout=5.0, **options)`` attaches a pollable
    ``Reader(name, timeout, pollable=True, **options)`` at once (waiting up
    to ``timeout`` for the producer, blocking the loop meanwhile);
    ``await AsyncReader.open(name, ...)`` attaches in the loop's default
    executor instead.  ``AsyncReader(reader)`` wraps a Reader opened with
    ``pollable=True``.

    Iterating yields frames until end of stream, each released when the
    iteration moves on, and also when the task iterating ends in any way
    (``task.cancel()``, an exception, loop shutdown): a cancelled consumer
    gives its holds back at once, with the frames taken ahead of it (those
    are then lost to this reader, a gap in ``seq``).  ``await
    next_frame(timeout)`` returns a frame the caller releases (None at end
    of stream) and raises Timeout like ``Reader.next_frame``.  Errors are
    the Reader's.  ``close()`` (or ``async with``) hangs up.
    """

    def __init__(self, name: Any, timeout: Optional[float] = 5.0, **options: Any) -> None:
        if isinstance(name, Reader):
            if options:
                raise TypeError("AsyncReader(reader) takes no options: they are the Reader's")
            reader = name
            reader.fileno()  # Error for a reader that is not pollable
        else:
            reader = Reader(name, timeout, pollable=True, **options)
        self.reader = reader
        self._held: Optional[Frame] = None
        # The loop and descriptor watched (add_reader), and the future of the wait in progress.  The watch stays
        # while frames flow (no epoll_ctl per frame) and ends when the descriptor is readable with nobody waiting.
        self._watch: Optional[tuple[asyncio.AbstractEventLoop, int]] = None
        self._waiter: Optional[asyncio.Future[bool]] = None
        self._hooked: "weakref.WeakSet[asyncio.Task[Any]]" = weakref.WeakSet()

    @classmethod
    async def open(cls, name: str, timeout: Optional[float] = 5.0, **options: Any) -> "AsyncReader":
        """Attach in the loop's default executor (waiting for the producer does not block the loop)."""
        loop = asyncio.get_running_loop()
        reader = await loop.run_in_executor(None, functools.partial(Reader, name, timeout, pollable=True,
                                                                     **options))
        return cls(reader)

    @property
    def name(self) -> str:
        """The channel name."""
        return self.reader.name

    def fileno(self) -> int:
        """The reader's wake descriptor (see Reader.fileno)."""
        return self.reader.fileno()

    async def next_frame(self, timeout: Optional[float] = -1.0) -> Optional[Frame]:
        """The next frame (the caller releases it), None at end of stream; waits up to ``timeout`` seconds
        (None = forever, default: the reader's frame_timeout) in the loop, never blocking it."""
        r = self.reader
        if timeout is not None and timeout < 0:
            timeout = r.frame_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        loop = asyncio.get_running_loop()
        while True:
            f = r.poll()  # None: nothing queued, and the wake descriptor is armed (W5)
            if f is not None or r.eos:
                return f
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise Timeout(f"channel {r.name!r}: no frame within {timeout} s")
            watch = (loop, r.fileno())  # another descriptor after a reconnect
            if self._watch != watch:
                self._unwatch()
                loop.add_reader(watch[1], self._readable)
                self._watch = watch
            fut: asyncio.Future[bool] = loop.create_future()
            self._waiter = fut
            later = None if left is None else loop.call_later(left, _expire, fut)
            try:
                await fut
            finally:
                self._waiter = None
                if later is not None:
                    later.cancel()

    def _readable(self) -> None:
        """The wake descriptor is readable: wake the wait in progress if something is due (else it was a wake for
        nothing, and _due() armed the descriptor again); with no wait in progress, stop watching rather than be
        called at every turn of the loop."""
        fut = self._waiter
        if fut is None or fut.done():
            self._unwatch()
        elif self.reader._due():
            fut.set_result(True)

    def _unwatch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch[0].remove_reader(watch[1])

    def _give_back(self, _task: Any = None) -> None:
        """Release the frame handed out by the iteration and the frames taken ahead of it."""
        f, self._held = self._held, None
        if f is not None:
            f.release()
        r = self.reader
        if not r.closed:
            r._drop_ready()

    def __aiter__(self) -> "AsyncReader":
        return self

    async def __anext__(self) -> Frame:
        f, self._held = self._held, None
        if f is not None:
            f.release()
        task = asyncio.current_task()
        if task is not None and task not in self._hooked:
            # The task's end, however it ends, gives the holds back (one callback per task, not per frame).
            self._hooked.add(task)
            task.add_done_callback(self._give_back)
        f = await self.next_frame(None)
        if f is None:
            raise StopAsyncIteration
        self._held = f
        return f

    def close(self) -> None:
        """Hang up (every frame held comes back to the producer).  Safe to call twice."""
        self._held = None
        self._unwatch()
        self.reader.close()

    async def aclose(self) -> None:
        """close(), for ``contextlib.aclosing`` and the like."""
        self.close()

    async def __aenter__(self) -> "AsyncReader":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<shmring.AsyncReader of {self.reader!r}>"

