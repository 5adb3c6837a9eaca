# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs pytest on the given files and exits 77 (meson's "skipped") when every test was skipped."""

from __future__ import annotations

import sys

import pytest


class _Count:
    def __init__(self) -> None:
        self.passed = self.skipped = self.failed = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            self.skipped += 1
        elif report.failed:
            self.failed += 1
        elif report.when == "call":
            self.passed += 1


def main() -> int:
    c = _Count()
    rc = pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]], plugins=[c])
    if rc == 0 and c.passed == 0 and c.skipped > 0:
        return 77
    return int(rc)


if __name__ == "__main__":
    sys.exit(main())
