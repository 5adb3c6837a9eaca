# SPDX-License-Identifier: LGPL-2.1-or-later
"""Pollable readers (PROTOCOL.md W5): Reader.fileno(), shmring.wait(), AsyncReader in one asyncio loop."""

from __future__ import annotations

import asyncio
import select
import threading
import time

import pytest

import shmring
from shmring import _atomic as A
from shmring import _layout as L

_B_WAITING = L.BLOCK["waiting"][0]
_B_HOLDS = L.BLOCK["holds"][0]


def writer(name: str) -> shmring.Writer:
    w = shmring.Writer(name, max_readers=2)
    w.set_stream(caps="application/x-test")
    return w


def only_reader(w: shmring.Writer):
    """The writer's one reader, as the producer knows it (its block, mapped by the producer)."""
    rs = [r for r in w._readers if r is not None]
    assert len(rs) == 1
    return rs[0]


def armed(w: shmring.Writer) -> bool:
    """The reader sleeps on its wake descriptor, as the producer sees it (W5)."""
    return bool(A.load_seq_cst_32(only_reader(w).addr + _B_WAITING) & L.WAITING_FD)


def holds_in_block(w: shmring.Writer) -> list[int]:
    """The slots the reader holds, as the producer reads them (P3)."""
    r = only_reader(w)
    return [s for s in (A.load_acquire_32(r.addr + _B_HOLDS + 4 * k) for k in range(r.holds)) if s != L.SLOT_NONE]


def write_when_armed(w: shmring.Writer, payload: bytes) -> threading.Thread:
    """Write one frame from another thread once the reader sleeps on its descriptor (a real event, looked at)."""
    def run() -> None:
        end = time.monotonic() + 10
        while not armed(w) and time.monotonic() < end:
            time.sleep(0.001)
        w.write(payload)
    t = threading.Thread(target=run)
    t.start()
    return t


def test_fileno_needs_pollable(channel: str) -> None:
    with writer(channel) as w, shmring.Reader(channel) as r:
        with pytest.raises(shmring.Error, match="pollable=True"):
            r.fileno()
        with pytest.raises(shmring.Error, match="pollable=True"):
            shmring.wait([r], 0)
        assert w.readers == 1


def test_fileno_readable_for_a_frame_then_eof_at_close(channel: str) -> None:
    w = writer(channel)
    with shmring.Reader(channel, pollable=True) as r:
        fd = r.fileno()
        assert r.poll() is None  # armed
        assert select.select([fd], [], [], 0)[0] == []
        t = write_when_armed(w, b"one")
        assert select.select([fd], [], [], 5)[0] == [fd], "the commit did not make the descriptor readable"
        t.join()
        f = r.poll()
        assert f is not None and bytes(f.data) == b"one"
        f.release()
        assert r.poll() is None  # armed again: the wake byte was read
        assert select.select([fd], [], [], 0)[0] == []
        w.close()  # without end of stream
        assert select.select([fd], [], [], 5)[0] == [fd], "the close did not make the descriptor readable"
        with pytest.raises(shmring.ProducerClosed):
            r.poll()


def test_wait_two_readers(channel: str) -> None:
    with writer(channel + "a") as wa, writer(channel + "b") as wb, \
            shmring.Reader(channel + "a", pollable=True) as ra, shmring.Reader(channel + "b", pollable=True) as rb:
        assert shmring.wait([ra, rb], 0) == []
        t = write_when_armed(wb, b"b0")
        t0 = time.monotonic()
        assert shmring.wait([ra, rb], 10) == [rb]
        assert time.monotonic() - t0 < 5
        t.join()
        f = rb.poll()
        assert f is not None and bytes(f.data) == b"b0"
        f.release()
        wa.write(b"a0")
        wb.write(b"b1")
        assert shmring.wait([ra, rb], 10) == [ra, rb]
        assert [bytes(f.data) for f in (ra.poll(), rb.poll()) if f is not None] == [b"a0", b"b1"]
        wa.eos()
        assert shmring.wait([ra, rb], 10) == [ra]
        assert ra.poll() is None and ra.eos
        assert shmring.wait([rb], 0) == []


async def consume(r: shmring.AsyncReader, seqs: list[int]) -> None:
    async for f in r:
        seqs.append(f.seq)


def test_async_two_channels_every_frame(channel: str) -> None:
    n = 120
    names = [channel + "a", channel + "b"]
    ws = [writer(x) for x in names]
    seqs: list[list[int]] = [[], []]

    def produce(w: shmring.Writer) -> None:
        for s in range(n):
            time.sleep(0.002)  # a camera's pace: the readers sleep between frames
            w.write(s.to_bytes(8, "little"))
        w.eos()

    async def main() -> None:
        rs = [shmring.AsyncReader(x, frame_timeout=10.0) for x in names]
        ts = [threading.Thread(target=produce, args=(w,)) for w in ws]
        for t in ts:
            t.start()
        try:
            await asyncio.wait_for(asyncio.gather(*(consume(r, s) for r, s in zip(rs, seqs))), 30)
        finally:
            for t in ts:
                t.join()
            for r in rs:
                r.close()

    try:
        asyncio.run(main())
    finally:
        for w in ws:
            w.close()
    assert seqs == [list(range(n))] * 2


def test_cancel_gives_the_holds_back(channel: str) -> None:
    with writer(channel) as w:
        async def main() -> None:
            r = shmring.AsyncReader(channel, holds=2)
            got: list[int] = []
            stuck = asyncio.Event()

            async def hold_forever() -> None:
                async for f in r:
                    got.append(f.seq)
                    stuck.set()
                    await asyncio.Event().wait()  # holds the frame until cancelled

            task = asyncio.create_task(hold_forever())
            for s in range(2):
                w.write(bytes([s]))
            await stuck.wait()
            assert got == [0]
            assert len(holds_in_block(w)) == 2  # the frame handed out and the one taken with it
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert holds_in_block(w) == []
            assert r.reader.held == 0
            # The reader goes on: the next frame reaches a new consumer (frame 1 was given back with the holds).
            w.write(b"\x02")
            f = await r.next_frame(5)
            assert f is not None and f.seq == 2 and f.dropped == 1
            f.release()
            r.close()

        asyncio.run(main())


def test_loop_shutdown_gives_the_holds_back(channel: str) -> None:
    with writer(channel) as w:
        r = shmring.AsyncReader(channel, holds=1)

        async def hold_forever() -> None:
            async for _f in r:
                await asyncio.Event().wait()

        async def main() -> None:
            asyncio.create_task(hold_forever())  # left running: asyncio.run cancels it at shutdown
            w.write(b"x")
            while not holds_in_block(w):
                await asyncio.sleep(0.001)

        asyncio.run(main())
        assert holds_in_block(w) == []
        r.close()


def test_async_timeout_and_end(channel: str) -> None:
    with writer(channel) as w:
        async def main() -> None:
            async with shmring.AsyncReader(channel) as r:
                with pytest.raises(shmring.Timeout):
                    await r.next_frame(0.05)
                w.eos()
                assert await r.next_frame(5) is None
                assert [f async for f in r] == []

        asyncio.run(main())


def test_async_reader_needs_a_pollable_reader(channel: str) -> None:
    with writer(channel), shmring.Reader(channel) as r:
        with pytest.raises(shmring.Error, match="pollable=True"):
            shmring.AsyncReader(r)
