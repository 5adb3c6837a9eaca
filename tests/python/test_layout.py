# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks shmring._layout's constants, offsets and struct formats against shmring/shmring.h, the specification."""

from __future__ import annotations

import os
import re
import struct

from shmring import _layout as L

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib", "include", "shmring",
                      "shmring.h")


def _text() -> str:
    with open(HEADER, encoding="utf-8") as f:
        return f.read()


def _defines(text: str) -> dict[str, int]:
    """SHMRING_* defines that are integer expressions (with u/ull suffixes, UINT32_MAX, UINT64_MAX, other defines)."""
    out: dict[str, int] = {}
    for name, expr in re.findall(r"^#define\s+SHMRING_([A-Z0-9_]+)\s+(.+?)\s*(?:/\*.*)?$", text, re.M):
        e = expr.replace("UINT32_MAX", str(0xFFFFFFFF)).replace("UINT64_MAX", str((1 << 64) - 1))
        e = re.sub(r"(?<=[0-9a-fA-F])(ull|ll|u)\b", "", e)
        e = re.sub(r"SHMRING_([A-Z0-9_]+)", lambda m: str(out.get(m.group(1), "x")), e)
        if re.fullmatch(r"[0-9xa-fA-F()<>*+ ]+", e):
            out[name] = int(eval(e, {"__builtins__": {}}))  # noqa: S307 - constant integer expressions only
    return out


def _enums(text: str) -> dict[str, int]:
    return {n: int(v.rstrip("u").replace("1u << ", "1<<").split("<<")[-1]) if "<<" in v else int(v.rstrip("u"))
            for n, v in re.findall(r"^\s*SHMRING_([A-Z0-9_]+)\s*=\s*([0-9u <]+?),", text, re.M)}


def _offsets(text: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for s, field, off in re.findall(r"^SHMRING_CHECK_OFFSET\((\w+),\s*(\w+),\s*(\d+)\);", text, re.M):
        out.setdefault(s, {})[field] = int(off)
    return out


def test_constants_match() -> None:
    d = {**_defines(_text()), **{k: v for k, v in _enums(_text()).items()}}
    names = ["MAGIC", "VERSION", "HEADER_SIZE", "DESC_OFFSET", "DESC_SLOT_SIZE", "DESC_SLOTS", "NAME_MAX", "CAPS_MAX",
             "MAX_PLANES", "NO_TIME", "SLOT_TABLE_OFFSET", "SLOT_HEADER_SIZE", "READER_LINES_OFFSET",
             "READER_LINE_SIZE", "MAX_READERS", "QUEUE_MAX", "HOLDS_MAX", "RESERVED_MAX", "BLOCK_SIZE", "SLOT_NONE",
             "SLOT_ALIGN", "MAX_SLOT_SIZE", "MAX_POOL_SIZE", "MESSAGE_MAX", "STATE_OPEN", "STATE_CLOSED",
             "SLOT_FRAME", "SLOT_EOS", "MODE_CHANNEL", "MODE_LIVE", "ROLE_READER", "ROLE_OBSERVER", "MSG_HELLO",
             "MSG_WELCOME", "MSG_REFUSED", "POLICY_LOSSLESS", "POLICY_DROP_NEW", "POLICY_LIVE", "HELLO_WAKE_FD",
             "HELLO_FLAGS_ALL", "WAITING_FD"]
    mine = {n: getattr(L, n) for n in names}
    assert {k: d.get(k) for k in mine} == mine
    assert 1 << _enums(_text())["READER_STALLED"] == L.READER_STALLED  # a flag: 1u << n
    assert re.search(r'#define SHMRING_SOCKET_PREFIX "' + re.escape(L.SOCKET_PREFIX) + '"', _text())


def test_flags_match() -> None:
    flags = dict(re.findall(r"^\s*SHMRING_(FLAG_[A-Z_]+)\s*=\s*1u << (\d+),", _text(), re.M))
    assert flags, "no SHMRING_FLAG_* in the header"
    assert {k: 1 << int(v) for k, v in flags.items()} == {k: getattr(L, k) for k in flags}


def test_offsets_match() -> None:
    o = _offsets(_text())
    for struct_name, mine in (("shmring_pool_header", L.POOL), ("shmring_block", L.BLOCK),
                              ("shmring_reader_line", L.READER_LINE), ("shmring_desc", L.DESC)):
        theirs = o[struct_name]
        common = {k for k in theirs if not k.startswith("reserved") or k in mine}
        assert {k: mine.get(k, (None,))[0] for k in common} == {k: theirs[k] for k in common}, struct_name


def _check_format(fmt: struct.Struct, offsets: dict[str, int], fields: list[str], size: int) -> None:
    """Each field of ``fields`` sits in ``fmt`` at the header's offset; ``fmt`` covers ``size`` bytes."""
    assert fmt.size == size
    pos = 0
    for code, field in zip(re.findall(r"\d*[QIHix]", fmt.format.lstrip("<")), fields):
        if field != "-":
            assert offsets[field] == pos, field
        pos += struct.calcsize("<" + code)


def test_struct_formats_match() -> None:
    o = _offsets(_text())
    _check_format(L.IDENTITY, o["shmring_pool_header"],
                  "magic version header_size pool_size slot_table_offset payload_offset slot_size generation n_slots "
                  "max_readers queue_len max_holds max_reserved policy block_size desc_offset desc_slot_size "
                  "desc_slots reader_lines_offset".split(), 100)
    _check_format(L.SLOT, o["shmring_slot"],
                  "seq size pts dts duration commit_ns desc_id type flags reserved".split(), 64)
    _check_format(L.HELLO, o["shmring_msg_hello"], "type size version role holds mode flags".split(), 32)
    _check_format(L.WELCOME, o["shmring_msg_welcome"],
                  "type size version index pool_size generation holds mode".split(), 40)
    _check_format(L.REFUSED_HEAD, o["shmring_msg_refused"], "type size error reserved".split(), 16)
    _check_format(L.READER_LINE_STRUCT, o["shmring_reader_line"],
                  "pid uid mode holds frames_queued frames_dropped lag flags reserved".split(), 64)
    assert o["shmring_msg_refused"]["message"] == L.REFUSED_HEAD.size
    assert struct.calcsize(L.DESC_FIXED_STRUCT) == o["shmring_desc"]["caps"]
