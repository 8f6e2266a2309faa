"""`/pipeline forecast [mine|team] [quarter]`: where the quarter will land, against quota.

The headline is the history-based forecast with its range, then won so far, quota and the
gap to close, the weighted / commit / best-case views, and one line on how accurate the
forecast was in the backtest of recent quarters, so a manager knows how far to trust it.
"""
from __future__ import annotations

from decimal import Decimal

from bot.views.common import (
    Message,
    amount_text,
    context,
    escape,
    fields_section,
    header,
    message,
    missing_rates_note,
    money,
    section,
)
from core.insight.forecast import COMMIT_PROBABILITY, ForecastReport, QuarterForecast
from core.workspace.users import Actor


def percent(fraction: Decimal | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.0f} %"


def accuracy_line(f: QuarterForecast) -> str:
    """`Backtest: last 3 quarters within 8 % (mean 5 %)`, or why there is none yet."""
    if not f.learned:
        return "Accuracy: no backtest yet — the history-based forecast needs more closed deals."
    if f.accuracy is None:
        return "Accuracy: not measured yet — no past quarter could be replayed with history before it."
    a = f.accuracy
    quarters = "quarter" if a.periods == 1 else f"{a.periods} quarters"
    return (f"Accuracy (backtest): last {quarters} within {percent(a.worst)} "
            f"(mean error {percent(a.mape)}); the range is calibrated on the backtest's own errors.")


def _headline(f: QuarterForecast, cur: str, loc: str) -> str:
    m = lambda v: amount_text(v, cur, loc, f.approx)  # noqa: E731
    if f.is_past:
        assert f.actual is not None
        line = f"*{f.period} landed at {m(f.actual)}* ({f.won_count} won)"
        if f.learned:
            err = f.landed_error
            line += (f"\nForecast at its start: {m(f.model.expected)} "
                     f"(likely {m(f.model_low)} – {m(f.model_high)})"
                     + (f" · off by {percent(err)}" if err is not None else ""))
        else:
            line += f"\nNo forecast was possible at its start: {f.model.reason}."
        return line
    if f.learned:
        return (f"*Forecast {f.period}: {m(f.expected)}* "
                f"(likely {m(f.low)} – {m(f.high)})")
    return (f"*Forecast {f.period}: {m(f.expected)}* (weighted pipeline)\n"
            f":hourglass: Can't learn from your history yet: {f.model.reason}. "
            "Showing the weighted pipeline only.")


def _quota_line(f: QuarterForecast, cur: str, loc: str) -> str:
    if f.quota is None:
        return "*Quota*\nnot set — `/salesbot quota @user 250k Q4`"
    gap = f.gap or Decimal(0)
    gap_text = ":white_check_mark: on track to meet it" if gap == 0 else f"gap to close {money(gap, cur, loc)}"
    return f"*Quota*\n{money(f.quota, cur, loc)} · {gap_text}"


def quarter_blocks(f: QuarterForecast, actor: Actor, label: str) -> list[dict[str, object]]:
    """The blocks of one quarter's forecast (or, for a quarter that is over, how it landed)."""
    cur, loc = actor.currency, actor.locale
    m = lambda v: amount_text(v, cur, loc, f.approx)  # noqa: E731
    if f.is_past:
        notes = [n for n in (accuracy_line(f), missing_rates_note(f.missing)) if n]
        return [header(f"{f.period} · {escape(label)}"), section(_headline(f, cur, loc)), context(*notes)]
    fields = [
        f"*Won so far*\n{m(f.won_to_date)} ({f.won_count} won)"
        + (f" · {percent(f.attainment)} of quota" if f.attainment is not None else ""),
        _quota_line(f, cur, loc),
        f"*Weighted*\n{m(f.weighted)}",
        f"*Commit* ({COMMIT_PROBABILITY} %+)\n{m(f.commit)}",
        f"*Best case*\n{m(f.best_case)}",
    ]
    if f.learned:
        fields.append(f"*Still to win: pipeline / past quarters*\n{m(f.model.bottom_up)} / "
                      f"{m(f.model.top_down)}")
    notes = [accuracy_line(f)]
    if f.undated:
        notes.append(f"{f.undated} open deal{'s' if f.undated != 1 else ''} without a close date "
                     "count in this quarter's weighted, commit and best case.")
    note = missing_rates_note(f.missing)
    if note:
        notes.append(note)
    return [
        header(f"Forecast {f.period} · {escape(label)}"),
        section(_headline(f, cur, loc)),
        fields_section(fields),
        context(*notes),
    ]


def forecast_message(report: ForecastReport, actor: Actor) -> Message:
    """The reply to `/pipeline forecast [mine|team] [quarter]`, from core.insight.forecast.forecast_report."""
    f, following = report.forecast, report.following
    blocks = quarter_blocks(f, actor, report.scope_label)
    cur, loc = actor.currency, actor.locale
    if following is not None:
        quota = f" · quota {money(following.quota, cur, loc)}" if following.quota is not None else ""
        blocks.append(section(f"*Next quarter {following.period}:* "
                              f"{amount_text(following.expected, cur, loc, following.approx)}"
                              f"{' (weighted)' if not following.learned else ''} · weighted "
                              f"{amount_text(following.weighted, cur, loc, following.approx)}{quota}"))
    blocks.append(context("History-based: the mean of two estimates learned from past quarters. Pipeline: the "
                          "share of deals of each stage and age that closed won, applied to today's open deals "
                          "(less where deals that never close pile up), plus the run-rate of new deals. Past "
                          "quarters: what the same weeks brought. The range holds the actual about 80 % of the "
                          "time in the backtest. Weighted: stage probability × amount."))
    if f.is_past:
        fallback = f"{f.period} ({escape(report.scope_label)}) landed at {amount_text(f.actual, cur, loc, f.approx)}"
    else:
        gap = f", gap to quota {money(f.gap, cur, loc)}" if f.gap else ""
        fallback = (f"Forecast {f.period} ({escape(report.scope_label)}): "
                    f"{amount_text(f.expected, cur, loc, f.approx)}{gap}")
    return message(fallback, blocks)
