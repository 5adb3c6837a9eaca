# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bar charts of benchmark results as PNG files (matplotlib, Agg backend: no display needed).

The benchmarks call :func:`bars` with their numbers; the PNG goes to
``$BENCH_PLOT_DIR`` (the build directory when run by ``meson test --benchmark``)
or the current directory. Without matplotlib (Debian: python3-matplotlib) the
plot is skipped with a message, the benchmark itself still runs.
"""

from __future__ import annotations

import os
import sys
from typing import Optional, Sequence

__all__ = ["Panel", "bars"]

# One panel: (title, y-axis label, group labels, {series name: one value per group}, log scale).
# A value of None (failed or skipped) leaves its bar out.
Panel = tuple[str, str, Sequence[str], dict[str, Sequence[Optional[float]]], bool]


def bars(filename: str, title: str, panels: Sequence[Panel]) -> Optional[str]:
    """Write grouped bar charts, one panel each, side by side, to filename; return its path or None."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot skipped: matplotlib is not installed (apt-get install python3-matplotlib)", file=sys.stderr)
        return None
    path = os.path.join(os.environ.get("BENCH_PLOT_DIR", "."), filename)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.6), squeeze=False)
    for ax, (ptitle, ylabel, groups, series, log) in zip(axes[0], panels):
        width = 0.8 / max(1, len(series))
        for i, (name, values) in enumerate(series.items()):
            xs = [g + (i - (len(series) - 1) / 2) * width for g, v in enumerate(values) if v is not None]
            ys = [v for v in values if v is not None]
            drawn = ax.bar(xs, ys, width, label=name)
            ax.bar_label(drawn, labels=[f"{v:,.0f}" if v >= 100 else f"{v:.1f}" for v in ys], fontsize=7,
                         padding=1, rotation=90 if len(series) * len(groups) > 6 else 0)
        ax.set_xticks(range(len(groups)), [_wrap(g) for g in groups], fontsize=7)
        ax.set_title(ptitle, fontsize=10)
        ax.set_ylabel(ylabel)
        top = max((v for vs in series.values() for v in vs if v is not None), default=1.0)
        if log:
            ax.set_yscale("log")
            ax.set_ylim(top=top * 20)  # room for the value labels and the legend
        else:
            ax.set_ylim(0, top * 1.35)
        if len(series) > 1:
            ax.legend(fontsize=8, loc="upper right")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return os.path.abspath(path)


def _wrap(label: str) -> str:
    """A group label on several short lines, broken before arrows and pipes and after colons and commas."""
    for old, new in ((" → ", "\n→ "), (" ! ", "\n! "), (": ", ":\n"), (", ", ",\n")):
        label = label.replace(old, new)
    return label
