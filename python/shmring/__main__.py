# SPDX-License-Identifier: LGPL-2.1-or-later
"""``python3 -m shmring``: list, inspect and view channels."""

from ._cli import main

raise SystemExit(main())
