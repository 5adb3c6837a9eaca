# SPDX-License-Identifier: LGPL-2.1-or-later
"""``python3 -m shmring``: the ``shmring`` command (ls, info, view, top)."""

from ._cli import main

raise SystemExit(main(prog="python3 -m shmring"))
