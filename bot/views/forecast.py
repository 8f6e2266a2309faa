"""`/pipeline forecast [mine|team] [quarter]`: where the quarter will land, against quota.

The headline is the history-based forecast with its range, then won so far, quota and the
gap to close, the weighted / commit / best-case views, and one line on how accurate the
forecast was in the backtest of recent quarters, so a manager knows how far to trust it.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from bot.views.common import Message, context, escape, fields_section, header, message, money, section
from core.db import UnitOfWork
from core.insight.forecast import COMMIT_PROBABILITY, QuarterForecast, next_quarter, quarter_forecast
from core.insight.history import load_history
from core.insight.quotas import parse_quarter
from core.workspace.admin import pipeline_scope
from core.workspace.users import Actor

SCOPE_WORDS = ("mine", "team")


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
            f"(mean error {percent(a.mape)}).")


def _headline(f: QuarterForecast, cur: str, loc: str) -> str:
    if f.learned:
        return (f"*Forecast {f.period}: {money(f.expected, cur, loc)}* "
                f"(likely {money(f.low, cur, loc)} – {money(f.high, cur, loc)})")
    return (f"*Forecast {f.period}: {money(f.expected, cur, loc)}* (weighted pipeline)\n"
            f":hourglass: Can't learn from your history yet: {f.model.reason}. "
            "Showing the weighted pipeline only.")


def _quota_line(f: QuarterForecast, cur: str, loc: str) -> str:
    if f.quota is None:
        return "*Quota*\nnot set — `/salesbot quota @user 250k Q4`"
    gap = f.gap or Decimal(0)
    gap_text = ":white_check_mark: on track to meet it" if gap == 0 else f"gap to close {money(gap, cur, loc)}"
    return f"*Quota*\n{money(f.quota, cur, loc)} · {gap_text}"


def quarter_blocks(f: QuarterForecast, actor: Actor, label: str) -> list[dict[str, object]]:
    """The blocks of one quarter's forecast."""
    cur, loc = actor.currency, actor.locale
    fields = [
        f"*Won so far*\n{money(f.won_to_date, cur, loc)}"
        + (f" ({percent(f.attainment)} of quota)" if f.attainment is not None else ""),
        _quota_line(f, cur, loc),
        f"*Weighted*\n{money(f.weighted, cur, loc)}",
        f"*Commit* ({COMMIT_PROBABILITY} %+)\n{money(f.commit, cur, loc)}",
        f"*Best case*\n{money(f.best_case, cur, loc)}",
    ]
    if f.learned:
        fields.append(f"*Still to win: pipeline / past quarters*\n{money(f.model.bottom_up, cur, loc)} / "
                      f"{money(f.model.top_down, cur, loc)}")
    notes = [accuracy_line(f)]
    if f.undated:
        notes.append(f"{f.undated} open deal{'s' if f.undated != 1 else ''} without a close date "
                     "count in this quarter's weighted, commit and best case.")
    return [
        header(f"Forecast {f.period} · {escape(label)}"),
        section(_headline(f, cur, loc)),
        fields_section(fields),
        context(*notes),
    ]


def forecast_message(uow: UnitOfWork, actor: Actor, text: str, now: datetime) -> Message:
    """The reply to `/pipeline forecast [mine|team] [quarter]`; UserError on a bad quarter."""
    words = text.split()
    scope_word = words.pop(0).lower() if words and words[0].lower() in SCOPE_WORDS else None
    asked = " ".join(words)
    period = parse_quarter(asked, now, actor.tz, actor.locale)
    scope = pipeline_scope(uow, actor, scope_word, None, now=now)
    with uow.read() as session:
        history = load_history(session, actor.workspace_id, scope.owner_ids, scope.team_id)
        f = quarter_forecast(session, actor.workspace_id, now, period, scope.owner_ids, scope.team_id, history)
        following = None
        if not asked:  # the plain command shows the next quarter too
            following = quarter_forecast(
                session, actor.workspace_id, now, next_quarter(period), scope.owner_ids, scope.team_id, history
            )
    blocks = quarter_blocks(f, actor, scope.label)
    cur, loc = actor.currency, actor.locale
    if following is not None:
        quota = f" · quota {money(following.quota, cur, loc)}" if following.quota is not None else ""
        blocks.append(section(f"*Next quarter {following.period}:* {money(following.expected, cur, loc)}"
                              f"{' (weighted)' if not following.learned else ''} · weighted "
                              f"{money(following.weighted, cur, loc)}{quota}"))
    blocks.append(context("History-based: the mean of two estimates learned from past quarters. Pipeline: the "
                          "share of deals of each stage and age that closed won, applied to today's open deals "
                          "(less where deals that never close pile up), plus the run-rate of new deals. Past "
                          "quarters: what the same weeks brought. "
                          "Weighted: stage probability × amount."))
    gap = f", gap to quota {money(f.gap, cur, loc)}" if f.gap else ""
    fallback = f"Forecast {f.period} ({escape(scope.label)}): {money(f.expected, cur, loc)}{gap}"
    return message(fallback, blocks)
