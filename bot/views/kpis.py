"""KPI blocks and a one-line forecast, for the App Home and the weekly digest.

The win rate is always shown with its definition (won ÷ (won + lost) of deals closed in
the period), so nobody reads it as won ÷ all deals.
"""
from __future__ import annotations

from decimal import Decimal

from bot.views.common import (
    Block,
    amount_text,
    context,
    escape,
    fields_section,
    header,
    missing_rates_note,
    money,
    section,
)
from core.insight.forecast import QuarterForecast
from core.insight.kpis import WIN_RATE_DEFINITION, Kpis
from core.workspace.users import Actor


def _pct(fraction: Decimal | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.1f} %"


def _days(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.0f} days"


def kpi_blocks(k: Kpis, actor: Actor, label: str) -> list[Block]:
    """Header, ten KPI fields, stage conversion and the definitions, for `label` (a scope)."""
    cur, loc = actor.currency, actor.locale

    def m(value: Decimal | None) -> str:
        return amount_text(value, cur, loc, k.approx)

    fields = [
        f"*Win rate*\n{_pct(k.win_rate)} ({k.won_count} won / {k.lost_count} lost)",
        f"*Won*\n{m(k.won_amount)}",
        f"*Average won deal*\n{m(k.avg_won)}",
        f"*Sales cycle*\nmedian {_days(k.cycle_median_days)} · mean {_days(k.cycle_mean_days)}",
        f"*New deals*\n{k.new_count} · {m(k.new_amount)}",
        f"*Open pipeline*\n{k.open_count} · {m(k.open_amount)} "
        f"(weighted {m(k.open_weighted)})",
        f"*Pipeline velocity*\n{m(k.velocity_per_day)} a day",
        f"*Coverage*\n{'—' if k.coverage is None else f'{k.coverage:.1f}×'} of quota left",
        "*Activities*\n" + (", ".join(f"{n} {kind}" for kind, n in sorted(k.activities.items())) or "none"),
    ]
    blocks: list[Block] = [
        header(f"{escape(label)}: {k.start:%-d %b %Y} – {k.end:%-d %b %Y}"),
        fields_section(fields),
    ]
    if k.stages:
        lines = [
            f"*{escape(f.stage)}* → next: {_pct(f.conversion)} of {f.exits} · {_days(f.avg_days)} in stage"
            for f in k.stages[:20]
        ]
        blocks.append(section("*Stage conversion*\n" + "\n".join(lines)))
    note = missing_rates_note(k.missing)
    if note:
        blocks.append(context(note))
    blocks.append(context(
        f"{WIN_RATE_DEFINITION}. Cycle: days from engagement (or creation) to a win. "
        "Velocity: open deals × average won deal × win rate ÷ mean cycle. "
        "Coverage: open weighted pipeline ÷ quota left."
    ))
    return blocks


def forecast_line(f: QuarterForecast, currency: str, locale: str) -> str:
    """`Q4 forecast $1.2M (likely $1.0M–$1.4M) · quota $1.5M · gap $300K · last 3 quarters within 8 %`."""
    parts = [f"*{f.period} forecast* {money(f.expected, currency, locale, compact=True)}"]
    if f.learned:
        parts[0] += (f" (likely {money(f.low, currency, locale, compact=True)}–"
                     f"{money(f.high, currency, locale, compact=True)})")
    else:
        parts[0] += " (weighted pipeline; not enough history to learn from yet)"
    if f.quota is not None:
        parts.append(f"quota {money(f.quota, currency, locale, compact=True)}")
        parts.append("on track" if not f.gap else f"gap {money(f.gap, currency, locale, compact=True)}")
    if f.accuracy is not None:
        quarters = "quarter" if f.accuracy.periods == 1 else f"{f.accuracy.periods} quarters"
        parts.append(f"last {quarters} within {f.accuracy.worst * 100:.0f} %")
    return " · ".join(parts)
