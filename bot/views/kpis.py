"""KPI blocks and a one-line forecast, for the App Home and the weekly digest.

The win rate is always shown with its definition (won ÷ (won + lost) of deals closed in
the period), so nobody reads it as won ÷ all deals.
"""
from __future__ import annotations

from decimal import Decimal

from bot.views.common import (
    Block,
    activity_count,
    amount_text,
    context,
    escape,
    fields_section,
    header,
    missing_rates_note,
    money,
    section,
)
from core import formatting
from core.i18n import _, ngettext, pgettext
from core.insight.forecast import QuarterForecast
from core.insight.kpis import WIN_RATE_DEFINITION, Kpis
from core.workspace.users import Actor


def _pct(fraction: Decimal | None) -> str:
    return formatting.percent(fraction)


def _days(value: Decimal | None) -> str:
    if value is None:
        return "—"
    n = int(value.quantize(Decimal(1)))
    return ngettext("{n} day", "{n} days", n).format(n=formatting.number(n))


def kpi_blocks(k: Kpis, actor: Actor, label: str) -> list[Block]:
    """Header, ten KPI fields, stage conversion and the definitions, for `label` (a scope)."""
    cur = actor.currency

    def m(value: Decimal | None) -> str:
        return amount_text(value, cur, None, k.approx)

    def field(name: str, value: str) -> str:
        return f"*{name}*\n{value}"

    won_lost = _("{won} won / {lost} lost").format(won=formatting.number(k.won_count),
                                                   lost=formatting.number(k.lost_count))
    activities = ", ".join(activity_count(kind, n) for kind, n in sorted(k.activities.items()))
    coverage = "—" if k.coverage is None else formatting.times(k.coverage)
    fields = [
        field(_("Win rate"), f"{_pct(k.win_rate)} ({won_lost})"),
        field(pgettext("figure", "Won"), m(k.won_amount)),
        field(_("Average won deal"), m(k.avg_won)),
        field(_("Sales cycle"), _("median {median} · mean {mean}").format(
            median=_days(k.cycle_median_days), mean=_days(k.cycle_mean_days))),
        field(_("New deals"), f"{formatting.number(k.new_count)} · {m(k.new_amount)}"),
        field(_("Open pipeline"), f"{formatting.number(k.open_count)} · {m(k.open_amount)} "
              + "({})".format(_("weighted {amount}").format(amount=m(k.open_weighted)))),
        field(_("Pipeline velocity"), _("{amount} a day").format(amount=m(k.velocity_per_day))),
        field(_("Coverage"), _("{times} of quota left").format(times=coverage)),
        field(_("Activities"), activities or _("none")),
    ]
    blocks: list[Block] = [
        header(f"{escape(label)}: {formatting.span_date(k.start)} – {formatting.span_date(k.end)}"),
        fields_section(fields),
    ]
    if k.stages:
        lines = [
            f"*{escape(f.stage)}* → " + _("next: {percent} of {exits} · {days} in stage").format(
                percent=_pct(f.conversion), exits=formatting.number(f.exits), days=_days(f.avg_days))
            for f in k.stages[:20]
        ]
        blocks.append(section("*" + _("Stage conversion") + "*\n" + "\n".join(lines)))
    note = missing_rates_note(k.missing)
    if note:
        blocks.append(context(note))
    blocks.append(context(
        _(WIN_RATE_DEFINITION) + ". " + _(
            "Cycle: days from engagement (or creation) to a win. "
            "Velocity: open deals × average won deal × win rate ÷ mean cycle. "
            "Coverage: open weighted pipeline ÷ quota left.")
    ))
    return blocks


def forecast_line(f: QuarterForecast, currency: str, locale: str | None = None) -> str:
    """`Q4 forecast $1.2M (likely $1.0M–$1.4M) · quota $1.5M · gap $300K · last 3 quarters within 8 %`."""
    def short(amount: Decimal | None) -> str:
        return money(amount, currency, locale, compact=True)

    head = "*" + _("{period} forecast").format(period=f.period) + "* " + short(f.expected)
    if f.learned:
        head += " " + _("(likely {low}–{high})").format(low=short(f.low), high=short(f.high))
    else:
        head += " " + _("(weighted pipeline; not enough history to learn from yet)")
    parts = [head]
    if f.quota is not None:
        parts.append(_("quota {amount}").format(amount=short(f.quota)))
        parts.append(_("on track") if not f.gap else _("gap {amount}").format(amount=short(f.gap)))
    if f.accuracy is not None:
        n = f.accuracy.periods
        quarters = _("quarter") if n == 1 else ngettext("{n} quarter", "{n} quarters", n).format(n=formatting.number(n))
        parts.append(_("last {quarters} within {percent}").format(
            quarters=quarters, percent=formatting.percent(f.accuracy.worst, 0, locale)))
    return " · ".join(parts)
