# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python API a newcomer meets: read-only views, copy(), poll(), repr, help, closed readers, hints."""

from __future__ import annotations

import errno
import inspect
import os
import pydoc
import threading
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import shmring
from shmring.testing import pattern


def test_view_is_read_only_and_shared_memory_unchanged(channel: str) -> None:
    with shmring.Writer(channel, width=8, height=4, format="BGR") as wr, shmring.Reader(channel, timeout=1) as rd, \
            shmring.Reader(channel, timeout=1) as rd2:
        img = np.arange(8 * 4 * 3, dtype=np.uint8).reshape(4, 8, 3)
        wr.write(img)
        f = rd.next_frame(timeout=1)
        other = rd2.next_frame(timeout=1)  # a second reader maps the same pool
        assert other is not None
        before = other.tobytes()
        with pytest.raises(ValueError, match="read-only"):
            f.array[0, 0, 0] = 255  # drawing into a view fails loudly
        with pytest.raises(ValueError):
            f.array.flags.writeable = True  # and cannot be made writable
        with pytest.raises(ValueError):
            f.planes[0][:] = 0
        with pytest.raises(TypeError):
            f.data[0] = 1
        assert other.tobytes() == before == img.tobytes()
        other.release()
        assert np.array_equal(f.array, img)
        f.release()


def test_copy_is_owned_writable_and_outlives_the_frame(channel: str) -> None:
    """Keeping copies from the loop keeps each frame's own pixels (views would show later frames)."""
    n = 40
    with shmring.Writer(channel, width=16, height=8, format="GRAY8") as wr, \
            shmring.Reader(channel, timeout=1, frame_timeout=1) as rd:
        kept = []
        for i in range(n):  # the 8 KiB ring is reused every few frames
            wr.write(np.full((8, 16), i, np.uint8), pts=i)
            frame = next(rd)
            kept.append(frame.copy())
        assert [int(c.array[0, 0]) for c in kept] == list(range(n))
        assert all(np.array_equal(c.array, np.full((8, 16), i, np.uint8)) for i, c in enumerate(kept))
        c = kept[-1]
        assert c.is_copy and not c.released and c.seq == n - 1 and c.pts == n - 1 and c.info.format == "GRAY8"
        c.array[0, 0] = 200  # writable, and only the copy changes
        assert c.array[0, 0] == 200 and c.tobytes()[0] == 200
    assert kept[3].array.shape == (8, 16) and int(kept[3].array.sum()) == 3 * 128  # reader closed: still there


def test_poll_returns_none_when_nothing_is_there(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096) as wr, \
            shmring.Reader(channel, timeout=1, frame_timeout=None) as rd:
        assert rd.poll() is None  # empty: at once, no Timeout
        wr.write(b"abc")
        f = rd.poll()
        assert f is not None and f.tobytes() == b"abc"
        f.release()
        assert rd.poll() is None
        wr.eos()
        assert rd.poll() is None and rd.eos


def test_poll_notices_a_closed_producer(channel: str) -> None:
    wr = shmring.Writer(channel, caps="application/x-test", max_frame_size=4096)
    with shmring.Reader(channel, timeout=1) as rd:
        assert rd.poll() is None
        wr.close()
        with pytest.raises(shmring.ProducerClosed):
            rd.poll()


def test_reprs(channel: str) -> None:
    with shmring.Writer(channel, width=4, height=2, format="RGB", policy="drop-new") as wr:
        assert repr(wr) == (f"<shmring.Writer {channel!r} open policy=drop-new RGB 4x2 written=0 readers=0 "
                            f"{wr.n_slots} slots x 4096 bytes>")
        with shmring.Reader(channel, timeout=1) as rd:
            wr.write(np.zeros((2, 4, 3), np.uint8), pts=5)
            assert "readers=1" in repr(wr) and "written=1" in repr(wr)
            f = rd.next_frame(timeout=1)
            assert repr(f) == "<shmring.Frame seq=0 RGB 4x2 shape=(2, 4, 3) size=24 pts=5 held>"
            assert repr(rd) == f"<shmring.Reader {channel!r} attached mode=channel frames=1 dropped=0 held=1>"
            c = f.copy()
            f.release()
            assert repr(f).endswith(" released>") and repr(c).endswith(" copy>")
        assert repr(rd) == f"<shmring.Reader {channel!r} closed mode=channel frames=1 dropped=0 held=0>"
    assert repr(wr) == f"<shmring.Writer {channel!r} closed>"


def _documented(cls: type, instance: object) -> list[str]:
    """Public attributes of ``cls``/``instance`` that help() would show without a word of explanation."""
    doc = cls.__doc__ or ""
    missing = []
    names = {n for n in dir(cls) if not n.startswith("_")}
    names |= {n for n in getattr(instance, "__dict__", {}) if not n.startswith("_")}
    for n in sorted(names):
        attr = inspect.getattr_static(cls, n, None)
        if isinstance(attr, property) or callable(attr) or inspect.ismemberdescriptor(attr):
            d = inspect.getdoc(attr)  # a slot's documentation comes from the __slots__ dict
            if not (d and d.strip()):
                missing.append(n)
        elif f"{n}:" not in doc and f"``{n}``" not in doc:
            missing.append(n)
    return missing


def test_help_documents_every_attribute(channel: str) -> None:
    with shmring.Writer(channel, width=4, height=2, format="GRAY8") as wr, shmring.Reader(channel, timeout=1) as rd:
        wr.write(np.zeros((2, 4), np.uint8))
        f = rd.next_frame(timeout=1)
        for cls, obj in ((shmring.Reader, rd), (shmring.Writer, wr), (shmring.Frame, f),
                         (shmring.StreamInfo, f.info), (shmring.Stats, rd.stats())):
            assert _documented(cls, obj) == [], cls.__name__
        f.release()
    text = pydoc.render_doc(shmring.Frame, renderer=pydoc.plaintext)
    assert "view" in text and "valid only until the frame is released" in text and "copy()" in text


def test_stats_list_the_asking_reader(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096), \
            shmring.Reader(channel, timeout=1) as rd:
        st = rd.stats()
        assert [r.pid for r in st.readers] == [os.getpid()] and st.producer_pid == os.getpid()
        assert rd.producer_alive() and st.state == "open"


def test_closed_reader_raises_value_error(channel: str) -> None:
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096):
        rd = shmring.Reader(channel, timeout=1)
        rd.close()
        rd.close()  # twice is fine
        for call in (rd.next_frame, rd.poll, rd.stats, rd.producer_alive, lambda: rd.stream, lambda: next(rd)):
            with pytest.raises(ValueError, match=f"reader of channel '{channel}' is closed"):
                call()


def test_missing_channel_suggests_similar_names(channel: str) -> None:
    typo = channel[:-2] + channel[-1] + channel[-2]  # two letters swapped
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096):
        with pytest.raises(shmring.ChannelNotFound, match=f"no channel '{typo}'.*; did you mean '{channel}'"):
            shmring.Reader(typo, timeout=0.05)


def test_closed_without_eos_names_the_fix(channel: str) -> None:
    wr = shmring.Writer(channel, caps="application/x-test", max_frame_size=4096)
    with shmring.Reader(channel, timeout=1) as rd:
        wr.close()
        with pytest.raises(shmring.ProducerClosed) as e:
            rd.next_frame(timeout=1)
        assert rd.end_reason == "closed"
    msg = str(e.value)
    assert "gst-launch-1.0 -e" in msg and "reconnect=True" in msg and "shmringsrc reconnect=true" in msg


def test_permission_denied_names_the_uids_and_the_setting(channel: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run a reader as another user")
    code = (f"import os, shmring; os.setgid(65534); os.setuid(65534)\n"
            f"try:\n    shmring.Reader({channel!r}, timeout=0)\n"
            f"except shmring.PermissionDenied as e:\n    print(isinstance(e, PermissionError), e)\n")
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"True channel '{channel}' (producer uid 0) does not accept readers of uid 65534")
    assert "share_uid" in r.stdout and "share_gid" in r.stdout


@pytest.mark.parametrize("width", [32, 6])  # planes packed tightly, rows padded to 4 bytes
def test_nv12_array_goes_to_cvtcolor(channel: str, width: int) -> None:
    cv2 = pytest.importorskip("cv2")
    from shmring.opencv import to_bgr
    with shmring.Writer(channel, width=width, height=16, format="NV12") as wr, \
            shmring.Reader(channel, timeout=1) as rd:
        wr.write(pattern(1, wr.stream.frame_size))
        f = rd.next_frame(timeout=1)
        y, uv = f.planes
        packed = np.concatenate([y.reshape(-1), uv.reshape(-1)]).reshape(24, width)
        want = cv2.cvtColor(packed, cv2.COLOR_YUV2BGR_NV12)
        if width == 32:
            assert f.array.shape == (24, 32)
            assert np.array_equal(cv2.cvtColor(f.array, cv2.COLOR_YUV2BGR_NV12), want)
        assert np.array_equal(to_bgr(f), want)
        f.release()


def test_package_snippet_keeps_the_right_frames(channel: str) -> None:
    """The first example of the documentation, run as written against a real producer."""
    doc = shmring.__doc__ or ""
    block = doc.split("::\n\n", 1)[1].split("\n\n\n", 1)[0] if "\n\n\n" in doc else doc.split("::\n\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line[4:])
    code = "\n".join(lines).replace('"cam"', repr(channel))
    with shmring.Writer(channel, width=8, height=6, format="GRAY8") as wr:
        t = threading.Thread(target=lambda: (wr.wait_reader(10), [wr.write(np.full((6, 8), i, np.uint8), pts=i) for i in range(61)],
                                             wr.eos()))
        t.start()
        scope: dict[str, object] = {}
        exec(compile(code, "snippet", "exec"), scope)  # prints one line per frame
        t.join(30)
    kept = scope["kept"]
    assert [(f.seq, int(f.array[5, 7])) for f in kept] == [(0, 0), (30, 30), (60, 60)]
    kept[0].array[:] = 255  # writable


def test_another_users_channel_name_is_refused_with_its_owner(channel: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run a writer as another user")
    code = (f"import os, shmring; os.setgid(65534); os.setuid(65534)\n"
            f"try:\n    shmring.Writer({channel!r}, caps='x', max_frame_size=4096)\n"
            f"except shmring.ChannelBusy as e:\n    print(e)\n")
    with shmring.Writer(channel, caps="application/x-test", max_frame_size=4096):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"channel '{channel}' is served by pid {os.getpid()}, uid 0; stop it or use another "
                               f"name")


def test_closed_writer_raises_value_error(channel: str) -> None:
    wr = shmring.Writer(channel, caps="application/x-test", max_frame_size=4096)
    wr.close()
    wr.close()  # twice is fine
    for call in (lambda: wr.write(b"x"), wr.eos, lambda: wr.set_stream(caps="x"), lambda: wr.readers):
        with pytest.raises(ValueError, match=f"writer of channel '{channel}' is closed"):
            call()


def test_pool_memory_follows_what_is_written(channel: str) -> None:
    """The pool is allocated once at start (a lack of memory is an error then), and its slots are given back
    until first written: a channel's resident memory follows the frames in flight, not its most."""
    with shmring.Writer(channel, width=256, height=256, format="BGR") as wr:
        st = shmring.inspect(channel)
        headers = st.pool_size - st.n_slots * st.slot_size
        assert st.n_slots >= 10 and st.resident is not None
        assert st.resident <= headers  # nothing written yet
        with shmring.Reader(channel, timeout=1) as rd:
            img = np.zeros((256, 256, 3), dtype=np.uint8)
            for i in range(50):
                img[:] = i
                wr.write(img)
                f = rd.next_frame(timeout=1)
                assert f is not None and int(f.array[0, 0, 0]) == i
                f.release()
            st = shmring.inspect(channel)
            assert st.resident is not None
            # A reader that keeps up: the same few low slots, over and over.
            assert headers + st.slot_size <= st.resident <= headers + 3 * st.slot_size
            assert st.resident < st.pool_size / 3


def test_unreadable_socket_table_is_an_error_not_an_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing that cannot read /proc/net/unix says so (ls would otherwise print "no channels"), and a
    reader of a missing channel still gets ChannelNotFound, only without suggestions."""
    real_open = open

    def guarded(path: Any, *a: Any, **kw: Any) -> Any:
        if path == "/proc/net/unix":
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, *a, **kw)

    monkeypatch.setattr("builtins.open", guarded)
    with pytest.raises(shmring.Error, match=r"cannot list the channels: /proc/net/unix: Permission denied"):
        shmring.list_channels()
    with pytest.raises(shmring.ChannelNotFound):
        shmring.Reader(f"nothing-here-{os.getpid()}", timeout=0.05)
