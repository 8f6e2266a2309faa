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

from core import formatting
from core.i18n import _

_LOCK = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe


def _short(value: float, _pos: int = 0) -> str:
    """An axis tick: `75K`, `1.2M` / `75 bin`, `1,2 milyon` (core.formatting, the current language)."""
    return formatting.compact_number(Decimal(str(round(value, 2))))


def chart_labels(currency: str) -> dict[str, str]:
    """The legend and axis words, in the language the text is being built in."""
    return {"last": _("Last week"), "this": _("This week"),
            "amount": _("Open amount ({currency})").format(currency=currency)}


def pipeline_chart(
    stages: Sequence[str],
    this_week: Sequence[Decimal],
    last_week: Sequence[Decimal],
    title: str,
    currency: str = "USD",
) -> bytes:
    """A grouped bar chart (PNG bytes) of the open amount per stage, this week vs last week.

    Its legend, axis label and ticks are in the language the text is being built in (the
    caller's `use_locale`); `title` comes translated.
    """
    if not (len(stages) == len(this_week) == len(last_week)):
        raise ValueError("one amount per stage for each week")
    labels = chart_labels(currency)
    figure = Figure(figsize=(8, 4.2), dpi=100)  # a Figure of its own: no pyplot global state
    with _LOCK:
        ax = figure.add_subplot(1, 1, 1)
        positions = list(range(len(stages)))
        width = 0.38
        ax.bar([p - width / 2 for p in positions], [float(v) for v in last_week], width, label=labels["last"],
               color="#b0bec5")
        ax.bar([p + width / 2 for p in positions], [float(v) for v in this_week], width, label=labels["this"],
               color="#1e88e5")
        ax.set_xticks(positions, list(stages), rotation=20 if len(stages) > 5 else 0)
        ax.yaxis.set_major_formatter(FuncFormatter(_short))
        ax.set_ylabel(labels["amount"])
        ax.set_title(title)
        ax.legend(frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()
