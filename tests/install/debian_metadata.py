# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that debian/ says what meson.build says: version, homepage, contact, license.

usage: debian_metadata.py SOURCE_DIR VERSION URL CONTACT LICENSE
"""

from __future__ import annotations

import os
import re
import sys


def fields(path: str) -> dict[str, str]:
    """The first value of every 'Field: value' line of a deb822 file."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for m in re.finditer(r"^([A-Za-z-]+):[ \t]*(.*)$", f.read(), re.M):
            out.setdefault(m.group(1), m.group(2).strip())
    return out


def main() -> int:
    source, version, url, contact, license_ = sys.argv[1:]
    debian = os.path.join(source, "debian")
    control = fields(os.path.join(debian, "control"))
    copyright_ = fields(os.path.join(debian, "copyright"))
    with open(os.path.join(debian, "changelog"), encoding="utf-8") as f:
        first = f.readline()
    want = {
        "debian/changelog version": (re.sub(r"^\S+ \(([^)]*)\).*\n", r"\1", first), version),
        "debian/control Homepage": (control.get("Homepage"), url),
        "debian/control Maintainer": (control.get("Maintainer"), contact),
        "debian/copyright Source": (copyright_.get("Source"), url),
        "debian/copyright Upstream-Contact": (copyright_.get("Upstream-Contact"), contact),
        "debian/copyright License": (copyright_.get("License"), license_),
    }
    errors = [f"{what} is {got!r}, meson.build says {expected!r}" for what, (got, expected) in want.items()
              if got != expected]
    for e in errors:
        print("error:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
