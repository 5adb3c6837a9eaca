# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that debian/ says what meson.build says (version, license) and names one packager and one origin.

The origin and the contact are the packager's: debian/control's Maintainer is
debian/changelog's, the Homepage is the -Dpackage_origin debian/rules builds
with (or both are absent), and debian/copyright's Source, if named, is the
same URL.

usage: debian_metadata.py SOURCE_DIR VERSION LICENSE
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
    source, version, license_ = sys.argv[1:]
    debian = os.path.join(source, "debian")
    control = fields(os.path.join(debian, "control"))
    copyright_ = fields(os.path.join(debian, "copyright"))
    with open(os.path.join(debian, "changelog"), encoding="utf-8") as f:
        changelog = f.read()
    with open(os.path.join(debian, "rules"), encoding="utf-8") as f:
        rules = f.read()
    first = changelog.split("\n", 1)[0]
    trailer = re.search(r"^ -- (.*?)  \S", changelog, re.M)
    origin = re.search(r"^\s+.*-Dpackage_origin=(\S+)", rules, re.M)
    origins = {
        "debian/control Homepage": control.get("Homepage"),
        "debian/copyright Source": copyright_.get("Source"),
        "debian/rules -Dpackage_origin": origin.group(1).strip("'\"") if origin else None,
    }
    errors = []
    if re.sub(r"^\S+ \(([^)]*)\).*", r"\1", first) != version:
        errors.append(f"debian/changelog's first entry is {first!r}, meson.build's version {version!r}")
    if copyright_.get("License") != license_:
        errors.append(f"debian/copyright License is {copyright_.get('License')!r}, meson.build says {license_!r}")
    if not trailer or trailer.group(1) != control.get("Maintainer"):
        errors.append(f"debian/control Maintainer is {control.get('Maintainer')!r}, "
                      f"debian/changelog's last entry is by {trailer.group(1) if trailer else None!r}")
    homepage, source_, built = origins.values()
    if homepage != built or (source_ is not None and source_ != homepage):
        errors.append("the origin is not one URL (the Homepage is the one the build is given, and the Source, "
                      "if named, is the same): " + ", ".join(f"{k} {v!r}" for k, v in origins.items()))
    for e in errors:
        print("error:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
