# SPDX-License-Identifier: LGPL-2.1-or-later
"""Video frame layouts: GStreamer's default plane strides/offsets and numpy plane shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

__all__ = ["StreamInfo", "FORMATS", "TILED", "VSUB", "default_layout", "plane_geometry", "plane_rows", "raw_caps"]


def _up(v: int, a: int) -> int:
    return (v + a - 1) // a * a


def _half(v: int) -> int:
    return (v + 1) // 2


# Packed formats: name -> (bytes per pixel, numpy dtype, components in the last axis).
PACKED: dict[str, tuple[int, str, int]] = {
    "BGR": (3, "u1", 3), "RGB": (3, "u1", 3),
    "BGRx": (4, "u1", 4), "RGBx": (4, "u1", 4), "xRGB": (4, "u1", 4), "xBGR": (4, "u1", 4),
    "BGRA": (4, "u1", 4), "RGBA": (4, "u1", 4), "ARGB": (4, "u1", 4), "ABGR": (4, "u1", 4),
    "GRAY8": (1, "u1", 1), "GRAY16_LE": (2, "<u2", 1), "GRAY16_BE": (2, ">u2", 1),
    "YUY2": (2, "u1", 2), "UYVY": (2, "u1", 2), "YVYU": (2, "u1", 2),
}
# Planar formats: name -> per plane (width divisor, height divisor, components).
PLANAR: dict[str, tuple[tuple[int, int, int], ...]] = {
    "I420": ((1, 1, 1), (2, 2, 1), (2, 2, 1)),
    "YV12": ((1, 1, 1), (2, 2, 1), (2, 2, 1)),
    "NV12": ((1, 1, 1), (2, 2, 2)),
    "NV21": ((1, 1, 1), (2, 2, 2)),
    "Y42B": ((1, 1, 1), (2, 1, 1), (2, 1, 1)),
    "Y444": ((1, 1, 1), (1, 1, 1), (1, 1, 1)),
}
FORMATS = tuple(PACKED) + tuple(PLANAR)

# Every format the C library knows: name -> vertical subsampling of each plane.
# A description's planes are checked whole against it (docs: shmring.h).
_VSUB_GROUPS: tuple[tuple[tuple[int, ...], str], ...] = (
    ((1,), "RGB BGR v308 RGBx BGRx xRGB xBGR RGBA BGRA ARGB ABGR AYUV VUYA r210 RGB16 BGR16 RGB15 BGR15 "
           "GRAY8 GRAY16_LE GRAY16_BE YUY2 UYVY YVYU"),
    ((1, 2, 2), "I420 YV12 I420_10LE I420_10BE I420_12LE I420_12BE"),
    ((1, 1, 1), "Y42B Y444 Y41B GBR I422_10LE I422_10BE Y444_10LE Y444_10BE"),
    ((1, 4, 4), "YUV9 YVU9"),
    ((1, 2), "NV12 NV21 P010_10LE P010_10BE P012_LE P012_BE P016_LE P016_BE NV12_10LE32 NV12_10LE40"),
    ((1, 1), "NV16 NV61 NV24"),
    ((1, 2, 2, 1), "A420"),
    ((1, 1, 1, 1), "GBRA"),
)
VSUB: dict[str, tuple[int, ...]] = {f: divs for divs, names in _VSUB_GROUPS for f in names.split()}
# Tiled two-plane layouts: the stride encodes tiles, so rows cannot be
# counted from it; only the plane offsets are checked (0 rows).
TILED = frozenset("NV12_4L4 NV12_32L32 NV12_16L32S NV12_64Z32 NV12_8L128 NV12_10BE_8L128 "
                  "NV12_10LE40_4L4 MT2110T MT2110R".split())


def plane_rows(fmt: str, height: int, n_planes: int) -> Optional[list[int]]:
    """Rows of each plane of a ``fmt`` frame; None if ``fmt`` has another number of planes.

    An unknown format is taken conservatively: every plane ``height`` rows.
    """
    if fmt in TILED:
        return [0, 0] if n_planes == 2 else None
    divs = VSUB.get(fmt)
    if divs is None:
        return [height] * n_planes
    if len(divs) != n_planes:
        return None
    return [(height + d - 1) // d for d in divs]


@dataclass(frozen=True)
class StreamInfo:
    """The stream description in force for a frame (a private, validated copy).

    Attributes:
        desc_id: the description's id in the segment (frames name it).
        caps: the GStreamer caps string.
        format: the GStreamer video format name ("" for non-raw caps such as image/jpeg).
        width: width in pixels (0 if not raw video).
        height: height in pixels (0 if not raw video).
        fps_n: frame rate numerator (0 if unknown or variable).
        fps_d: frame rate denominator.
        frame_size: bytes of one frame; 0 for variable-size frames.
        plane_offsets: byte offset of each plane in a frame.
        plane_strides: bytes from one row of each plane to the next.
    """

    desc_id: int
    caps: str
    format: str
    width: int
    height: int
    fps_n: int
    fps_d: int
    frame_size: int
    plane_offsets: tuple[int, ...] = field(default=())
    plane_strides: tuple[int, ...] = field(default=())

    @property
    def n_planes(self) -> int:
        """Number of planes (0 for non-raw streams)."""
        return len(self.plane_offsets)

    @property
    def fps(self) -> float:
        """Frames per second (0.0 when unknown or variable)."""
        return self.fps_n / self.fps_d if self.fps_n and self.fps_d else 0.0


def plane_geometry(fmt: str, width: int, height: int) -> Optional[list[tuple[int, int, int, int, str]]]:
    """Per plane: (rows, columns, components, bytes per element, dtype) or None if unknown."""
    if fmt in PACKED:
        bpp, dtype, comps = PACKED[fmt]
        return [(height, width, comps, bpp // comps, dtype)]
    if fmt in PLANAR:
        out = []
        for wd, hd, comps in PLANAR[fmt]:
            cols = width if wd == 1 else _half(width)
            rows = height if hd == 1 else _half(height)
            out.append((rows, cols, comps, 1, "u1"))
        return out
    return None


def default_layout(fmt: str, width: int, height: int) -> tuple[list[int], list[int], int]:
    """GStreamer's default (plane offsets, plane strides, frame size) for a raw format."""
    if width <= 0 or height <= 0:
        raise ValueError(f"width and height must be positive, got {width}x{height}")
    if fmt in PACKED:
        bpp = PACKED[fmt][0]
        stride = _up(width * bpp, 4)
        return [0], [stride], stride * height
    if fmt in ("I420", "YV12"):
        ys = _up(width, 4)
        uvs = _up(_up(width, 2) // 2, 4)
        h2 = _up(height, 2)
        u = ys * h2
        v = u + uvs * (h2 // 2)
        return [0, u, v], [ys, uvs, uvs], v + uvs * (h2 // 2)
    if fmt in ("NV12", "NV21"):
        s = _up(width, 4)
        h2 = _up(height, 2)
        return [0, s * h2], [s, s], s * h2 + s * (h2 // 2)
    if fmt == "Y42B":
        ys = _up(width, 4)
        uvs = _up(width, 8) // 2
        u = ys * height
        v = u + uvs * height
        return [0, u, v], [ys, uvs, uvs], v + uvs * height
    if fmt == "Y444":
        s = _up(width, 4)
        return [0, s * height, 2 * s * height], [s, s, s], 3 * s * height
    raise ValueError(f"unknown video format {fmt!r}; known: {', '.join(FORMATS)}")


def raw_caps(fmt: str, width: int, height: int, fps_n: int, fps_d: int) -> str:
    """A GStreamer caps string for raw video."""
    caps = f"video/x-raw, format=(string){fmt}, width=(int){width}, height=(int){height}"
    caps += f", framerate=(fraction){fps_n}/{fps_d}"
    return caps
