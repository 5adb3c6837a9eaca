# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that debian/libshmring0.symbols lists exactly the functions libshmring exports.

usage: debian_symbols.py SYMBOLS_FILE LIBRARY
A function added to the API goes into the symbols file with the version that
brings it; one removed breaks the ABI (and needs a new soname).
"""

from __future__ import annotations

import re
import subprocess
import sys


def main() -> int:
    symbols_file, library = sys.argv[1:]
    with open(symbols_file, encoding="utf-8") as f:
        listed = set(re.findall(r"^ (\S+)@Base ", f.read(), re.M))
    nm = subprocess.run(["nm", "-D", "--defined-only", library], check=True, capture_output=True, text=True)
    exported = {line.split()[2] for line in nm.stdout.splitlines() if line.split()[1:2] == ["T"]}
    missing, gone = sorted(exported - listed), sorted(listed - exported)
    if missing:
        print(f"error: {library} exports {missing}, not in {symbols_file}: add ' NAME@Base VERSION' lines")
    if gone:
        print(f"error: {symbols_file} lists {gone}, which {library} no longer exports (an ABI break)")
    if not missing and not gone:
        print(f"{len(exported)} exported functions, all in {symbols_file}")
    return 1 if missing or gone else 0


if __name__ == "__main__":
    sys.exit(main())
