# SPDX-License-Identifier: LGPL-2.1-or-later
"""OpenCV helpers: turn a shmring frame into a BGR image for display."""

from __future__ import annotations

import importlib
import os
from typing import Any

from ._errors import Error

__all__ = ["to_bgr", "require_display"]


def import_cv2() -> Any:
    """OpenCV's cv2 module (ImportError without it), typed Any.

    Imported by name: python3-opencv ships type stubs from 4.8 on and not
    before, and the same code type-checks with and without them.
    """
    return importlib.import_module("cv2")


def require_display() -> None:
    """Raise Error unless a window can be opened (X11 or Wayland display set).

    Without one, OpenCV's Qt backend aborts the whole process instead of
    raising, so check first.
    """
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise Error("no display to open a window on (DISPLAY is not set); run it in a desktop "
                    "session, over ssh -X, or under xvfb-run")

_PACKED_CODES = {
    "RGB": "COLOR_RGB2BGR", "RGBA": "COLOR_RGBA2BGR", "BGRA": "COLOR_BGRA2BGR", "BGRx": "COLOR_BGRA2BGR",
    "RGBx": "COLOR_RGBA2BGR", "GRAY8": "COLOR_GRAY2BGR", "YUY2": "COLOR_YUV2BGR_YUY2",
    "UYVY": "COLOR_YUV2BGR_UYVY", "YVYU": "COLOR_YUV2BGR_YVYU",
}
_PLANAR_CODES = {"I420": "COLOR_YUV2BGR_I420", "YV12": "COLOR_YUV2BGR_YV12", "NV12": "COLOR_YUV2BGR_NV12",
                 "NV21": "COLOR_YUV2BGR_NV21"}


def to_bgr(frame: Any) -> Any:
    """A BGR image of ``frame`` for cv2.imshow: the frame's own view for BGR, else a converted copy."""
    import numpy as np
    try:
        cv2 = import_cv2()
    except ImportError:
        raise Error("OpenCV is required (install python3-opencv)") from None
    fmt = frame.info.format
    if fmt == "BGR":
        return frame.array
    if fmt in _PACKED_CODES:
        return cv2.cvtColor(np.ascontiguousarray(frame.array), getattr(cv2, _PACKED_CODES[fmt]))
    if fmt in ("xRGB", "ARGB"):
        return np.ascontiguousarray(frame.array[:, :, 3:0:-1])
    if fmt in ("xBGR", "ABGR"):
        return np.ascontiguousarray(frame.array[:, :, 1:4])
    if fmt in _PLANAR_CODES:
        w, h = frame.info.width, frame.info.height
        if w % 2 or h % 2:
            raise Error(f"cannot display {fmt} {w}x{h}: odd sizes are not supported by this viewer")
        img = frame.array  # (h * 3/2, w) when the planes are packed tightly
        if img.ndim != 2:
            # Rows padded: pack the planes tightly in the order OpenCV expects.
            flat = np.concatenate([np.ascontiguousarray(p).reshape(-1) for p in frame.planes])
            img = flat.reshape(h * 3 // 2, w)
        return cv2.cvtColor(img, getattr(cv2, _PLANAR_CODES[fmt]))
    if not fmt and frame.caps.startswith("image/jpeg"):
        img = cv2.imdecode(np.frombuffer(frame.data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise Error(f"frame seq {frame.seq}: undecodable JPEG of {frame.size} bytes")
        return img
    raise Error(f"cannot display format {fmt or frame.caps!r}")
