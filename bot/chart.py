"""The digest chart: open pipeline by stage, this week against last week, as a PNG.

matplotlib with the Agg backend (no display, thread-safe enough for one figure at a time
under a lock): the scheduler renders charts in a background thread.
"""
from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

_LOCK = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe


def _short(value: float, _pos: int = 0) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.0f}"


def pipeline_chart(
    stages: Sequence[str],
    this_week: Sequence[Decimal],
    last_week: Sequence[Decimal],
    title: str,
    currency: str = "USD",
) -> bytes:
    """A grouped bar chart (PNG bytes) of the open amount per stage, this week vs last week."""
    if not (len(stages) == len(this_week) == len(last_week)):
        raise ValueError("one amount per stage for each week")
    figure = Figure(figsize=(8, 4.2), dpi=100)  # a Figure of its own: no pyplot global state
    with _LOCK:
        ax = figure.add_subplot(1, 1, 1)
        positions = list(range(len(stages)))
        width = 0.38
        ax.bar([p - width / 2 for p in positions], [float(v) for v in last_week], width, label="Last week",
               color="#b0bec5")
        ax.bar([p + width / 2 for p in positions], [float(v) for v in this_week], width, label="This week",
               color="#1e88e5")
        ax.set_xticks(positions, list(stages), rotation=20 if len(stages) > 5 else 0)
        ax.yaxis.set_major_formatter(FuncFormatter(_short))
        ax.set_ylabel(f"Open amount ({currency})")
        ax.set_title(title)
        ax.legend(frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()
