# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks shmring.v2's constants, offsets and struct formats against lib/v2/shmring2.h, protocol 2's specification."""

from __future__ import annotations

import os
import re
import struct

from shmring import v2

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib", "v2", "shmring2.h")


def _text() -> str:
    with open(HEADER, encoding="utf-8") as f:
        return f.read()


def _defines(text: str) -> dict[str, int]:
    """SHMRING2_* defines that are plain integers (with u/ull suffixes) or UINT32_MAX."""
    out = {}
    for name, expr in re.findall(r"^#define\s+SHMRING2_([A-Z0-9_]+)\s+(.+?)\s*(?:/\*.*)?$", text, re.M):
        e = expr.replace("UINT32_MAX", str(0xFFFFFFFF))
        e = re.sub(r"(?<=[0-9a-fA-F])(ull|ll|u)\b", "", e)
        if re.fullmatch(r"[0-9xa-fA-F()<> ]+", e):
            out[name] = int(eval(e, {"__builtins__": {}}))  # noqa: S307 - constant integer expressions only
    return out


def _enums(text: str) -> dict[str, int]:
    return {n: int(v.rstrip("u")) for n, v in re.findall(r"^\s*SHMRING2_([A-Z0-9_]+)\s*=\s*(\d+u?),", text, re.M)}


def _offsets(text: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for s, field, off in re.findall(r"^SHMRING2_CHECK_OFFSET\((\w+),\s*(\w+),\s*(\d+)\);", text, re.M):
        out.setdefault(s, {})[field] = int(off)
    return out


def test_constants_match() -> None:
    d = {**_defines(_text()), **_enums(_text())}
    mine = {
        "MAGIC": v2.MAGIC, "VERSION": v2.VERSION, "HEADER_SIZE": v2.HEADER_SIZE,
        "SLOT_HEADER_SIZE": v2.SLOT_HEADER_SIZE, "READER_LINES_OFFSET": v2.READER_LINES_OFFSET,
        "MAX_READERS": v2.MAX_READERS, "QUEUE_MAX": v2.QUEUE_MAX, "HOLDS_MAX": v2.HOLDS_MAX,
        "RESERVED_MAX": v2.RESERVED_MAX, "BLOCK_SIZE": v2.BLOCK_SIZE, "SLOT_NONE": v2.SLOT_NONE,
        "SLOT_ALIGN": v2.SLOT_ALIGN, "MAX_SLOT_SIZE": v2.MAX_SLOT_SIZE, "MESSAGE_MAX": v2.MESSAGE_MAX,
        "STATE_OPEN": v2.STATE_OPEN, "STATE_CLOSED": v2.STATE_CLOSED, "SLOT_FRAME": v2.SLOT_FRAME,
        "SLOT_EOS": v2.SLOT_EOS, "MODE_CHANNEL": v2.MODE_CHANNEL, "MODE_LIVE": v2.MODE_LIVE,
        "ROLE_READER": v2.ROLE_READER, "MSG_HELLO": v2.MSG_HELLO, "MSG_WELCOME": v2.MSG_WELCOME,
        "MSG_REFUSED": v2.MSG_REFUSED,
    }
    assert {k: d.get(k) for k in mine} == mine
    assert re.search(r'#define SHMRING2_SOCKET_PREFIX "' + re.escape(v2.SOCKET_PREFIX) + '"', _text())


def test_offsets_match() -> None:
    o = _offsets(_text())
    pool, block = o["shmring2_pool_header"], o["shmring2_block"]
    assert (pool["commit_seq"], pool["state"], pool["desc_id"], pool["producer_waiting"], pool["eos"],
            pool["reserved0"]) == (v2._COMMIT_SEQ, v2._STATE, v2._DESC_ID, v2._PRODUCER_WAITING, v2._EOS,
                                   v2._IDENTITY.size)
    assert (block["head"], block["waiting"], block["taken"], block["tail"], block["queue"], block["holds"]) == \
        (v2._HEAD, v2._WAITING, v2._TAKEN, v2._TAIL, v2._QUEUE, v2._HOLDS)


def _check_format(fmt: struct.Struct, offsets: dict[str, int], fields: list[str], size: int) -> None:
    """Each field of ``fields`` sits in ``fmt`` at the header's offset; ``fmt`` covers ``size`` bytes."""
    assert fmt.size == size
    pos = 0
    for code, field in zip(re.findall(r"\d*[QIHi]", fmt.format.lstrip("<")), fields):
        assert offsets[field] == pos, field
        pos += struct.calcsize("<" + code)


def test_struct_formats_match() -> None:
    o = _offsets(_text())
    _check_format(v2._IDENTITY, o["shmring2_pool_header"],
                  "magic version header_size pool_size slot_table_offset payload_offset slot_size generation n_slots "
                  "max_readers queue_len max_holds max_reserved policy block_size desc_offset desc_slot_size "
                  "desc_slots reader_lines_offset".split(), 100)
    _check_format(v2._SLOT, o["shmring2_slot"],
                  "seq size pts dts duration commit_ns desc_id type flags reserved".split(), 64)
    _check_format(v2._HELLO, o["shmring2_msg_hello"], "type size version role holds mode reserved".split(), 32)
    _check_format(v2._WELCOME, o["shmring2_msg_welcome"],
                  "type size version index pool_size generation holds mode".split(), 40)
    _check_format(v2._REFUSED_HEAD, o["shmring2_msg_refused"], "type size error reserved".split(), 16)
    assert o["shmring2_msg_refused"]["message"] == v2._REFUSED_HEAD.size
