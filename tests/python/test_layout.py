# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks every constant of shmring._layout against the C header, the protocol's specification."""

from __future__ import annotations

import os
import re

from shmring import _layout as L

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib", "include", "shmring",
                      "shmring.h")


def _text() -> str:
    with open(HEADER, encoding="utf-8") as f:
        return f.read()


def _defines(text: str) -> dict[str, int | str]:
    out: dict[str, int | str] = {}
    raw = dict(re.findall(r"^#define\s+SHMRING_([A-Z0-9_]+)\s+(.+?)\s*(?:/\*.*)?$", text, re.M))
    names = set(raw)

    def value(expr: str) -> int | str:
        if expr.startswith('"'):
            return expr.strip('"')
        e = re.sub(r"\bSHMRING_([A-Z0-9_]+)\b", lambda m: f"({value(raw[m.group(1)])})", expr)
        e = re.sub(r"(?<=[0-9a-fA-F])(ull|ll|u)\b", "", e)
        e = e.replace("UINT64_MAX", str((1 << 64) - 1))
        return int(eval(e, {"__builtins__": {}}))  # noqa: S307 - constant integer expressions only

    for n in names:
        try:
            out[n] = value(raw[n])
        except Exception:
            pass  # macros with arguments or attributes
    return out


def _enums(text: str) -> dict[str, int]:
    out = {}
    for name, expr in re.findall(r"^\s*SHMRING_([A-Z0-9_]+)\s*=\s*([^,]+),", text, re.M):
        expr = re.sub(r"/\*.*", "", expr).strip().replace("u", "")
        out[name] = int(eval(expr, {"__builtins__": {}}))  # noqa: S307
    return out


def _offsets(text: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for struct_name, field, off in re.findall(r"^SHMRING_CHECK_OFFSET\((\w+),\s*(\w+),\s*(\d+)\);", text, re.M):
        out.setdefault(struct_name, {})[field] = int(off)
    return out


def test_defines_match() -> None:
    d = _defines(_text())
    checked = {
        "MAGIC": L.MAGIC, "VERSION": L.VERSION, "HEADER_SIZE": L.HEADER_SIZE, "DESC_OFFSET": L.DESC_OFFSET,
        "DESC_SLOT_SIZE": L.DESC_SLOT_SIZE, "DESC_SLOTS": L.DESC_SLOTS, "RING_OFFSET": L.RING_OFFSET,
        "RECORD_ALIGN": L.RECORD_ALIGN, "RECORD_HEADER_SIZE": L.RECORD_HEADER_SIZE,
        "MIN_RING_SIZE": L.MIN_RING_SIZE, "MAX_RING_SIZE": L.MAX_RING_SIZE, "RELEASE_NONE": L.RELEASE_NONE,
        "NAME_MAX": L.NAME_MAX, "PATH_PREFIX": L.PATH_PREFIX, "CAPS_MAX": L.CAPS_MAX,
        "MAX_PLANES": L.MAX_PLANES, "NO_TIME": L.NO_TIME, "LOCK_PRODUCER": L.LOCK_PRODUCER,
        "LOCK_READER": L.LOCK_READER, "LOCK_CLAIM": L.LOCK_CLAIM,
    }
    for k, v in checked.items():
        assert k in d, f"SHMRING_{k} not found in the header"
        assert d[k] == v, f"SHMRING_{k}: header {d[k]!r}, Python {v!r}"


def test_enums_match() -> None:
    e = _enums(_text())
    checked = {
        "STATE_OPEN": L.STATE_OPEN, "STATE_CLOSED": L.STATE_CLOSED, "POLICY_LOSSLESS": L.POLICY_LOSSLESS,
        "POLICY_DROP_NEW": L.POLICY_DROP_NEW, "POLICY_LIVE": L.POLICY_LIVE, "RECORD_FRAME": L.RECORD_FRAME,
        "RECORD_PAD": L.RECORD_PAD, "RECORD_EOS": L.RECORD_EOS, "FLAG_DISCONT": L.FLAG_DISCONT,
        "FLAG_DELTA_UNIT": L.FLAG_DELTA_UNIT, "FLAG_HEADER": L.FLAG_HEADER, "FLAG_GAP": L.FLAG_GAP,
        "FLAG_DROPPABLE": L.FLAG_DROPPABLE, "FLAG_MARKER": L.FLAG_MARKER, "FLAG_CORRUPTED": L.FLAG_CORRUPTED,
        "FLAG_LIVE": L.FLAG_LIVE, "FLAGS_ALL": L.FLAGS_ALL,
    }
    for k, v in checked.items():
        assert k in e, f"SHMRING_{k} not found in the header"
        assert e[k] == v, f"SHMRING_{k}: header {e[k]}, Python {v}"


def test_offsets_match() -> None:
    offs = _offsets(_text())
    for cname, table in (("shmring_header", L.HEADER), ("shmring_desc", L.DESC), ("shmring_record", L.RECORD)):
        c = offs[cname]
        assert set(c) == set(table), f"{cname}: fields differ: {sorted(set(c) ^ set(table))}"
        for field, (off, _size) in table.items():
            assert c[field] == off, f"{cname}.{field}: header offset {c[field]}, Python {off}"


def test_sizes_tile_the_structs() -> None:
    """Each field ends where the next begins (sizes are right), and the structs have their C sizes."""
    for table, total in ((L.HEADER, L.HEADER_SIZE), (L.DESC, L.DESC_SLOT_SIZE), (L.RECORD, L.RECORD_HEADER_SIZE)):
        items = sorted(table.values())
        ends = [o + s for o, s in items]
        starts = [o for o, _ in items[1:]] + [total]
        # header: 116 reserved0 ends at 120 etc.; the only allowed hole is the padding before aligned lines
        for (o, s), nxt in zip(items, starts):
            assert o + s <= nxt, f"field at {o} of {s} bytes overlaps the next at {nxt}"
        assert ends[-1] == total


def test_struct_formats() -> None:
    import struct
    assert struct.calcsize(L.RECORD_STRUCT) == L.RECORD_HEADER_SIZE
    assert struct.calcsize(L.DESC_FIXED_STRUCT) == L.DESC["caps"][0]
    assert struct.calcsize(L.IDENTITY_STRUCT) == L.HEADER["write_pos"][0]


def _c_formats() -> dict[str, tuple[int, ...] | None]:
    """The C library's raw-format table: name -> vertical subsampling per plane (None: tiled)."""
    path = os.path.join(os.path.dirname(HEADER), "..", "..", "common.c")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out: dict[str, tuple[int, ...] | None] = {}
    for name, n, body in re.findall(r'\{"(\w+)", (\d), (P1\([^)]*\)|YUV\([^)]*\)|YC\([^)]*\)|YC_TILED|'
                                    r'\{(?:\{[^}]*\},? ?)+\})\}', text):
        if body == "YC_TILED":
            out[name] = None
            continue
        if body.startswith(("YUV", "YC")):
            ys = int(body[body.index("(") + 1:-1].split(",")[2])
            planes = [0] + [ys] * (int(n) - 1)
        elif body.startswith("P1"):
            planes = [0]
        else:
            planes = [int(t.split(",")[1]) for t in re.findall(r"\{(\d+, *\d+, *\d+)\}", body)]
        assert len(planes) == int(n), (name, body)
        out[name] = tuple(1 << y for y in planes)
    return out


def test_format_tables_match() -> None:
    """The Python reader checks planes with the same rows as the C library, format by format."""
    from shmring._video import TILED, VSUB

    c = _c_formats()
    assert len(c) > 40, sorted(c)
    assert {n for n, v in c.items() if v is None} == set(TILED)
    assert {n: v for n, v in c.items() if v is not None} == VSUB
