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
from core import formatting
from core.i18n import _, ngettext
from core.insight.forecast import COMMIT_PROBABILITY, ForecastReport, QuarterForecast
from core.workspace.users import Actor


def percent(fraction: Decimal | None) -> str:
    return formatting.percent(fraction, 0)


def _quarters(n: int) -> str:
    """`quarter` / `3 quarters`, as in "the last 3 quarters"."""
    return _("quarter") if n == 1 else ngettext("{n} quarter", "{n} quarters", n).format(n=formatting.number(n))


def accuracy_line(f: QuarterForecast) -> str:
    """`Backtest: last 3 quarters within 8 % (mean 5 %)`, or why there is none yet."""
    if not f.learned:
        return _("Accuracy: no backtest yet — the history-based forecast needs more closed deals.")
    if f.accuracy is None:
        return _("Accuracy: not measured yet — no past quarter could be replayed with history before it.")
    a = f.accuracy
    return _("Accuracy (backtest): last {quarters} within {worst} (mean error {mean}); the range is calibrated on "
             "the backtest's own errors.").format(quarters=_quarters(a.periods), worst=percent(a.worst),
                                                   mean=percent(a.mape))


def _won(n: int) -> str:
    return ngettext("{n} won", "{n} won", n).format(n=formatting.number(n))


def _headline(f: QuarterForecast, cur: str) -> str:
    m = lambda v: amount_text(v, cur, None, f.approx)  # noqa: E731
    if f.is_past:
        assert f.actual is not None
        landed = _("{period} landed at {amount}").format(period=f.period, amount=m(f.actual))
        line = f"*{landed}* ({_won(f.won_count)})"
        if f.learned:
            err = f.landed_error
            line += "\n" + _("Forecast at its start: {expected} (likely {low} – {high})").format(
                expected=m(f.model.expected), low=m(f.model_low), high=m(f.model_high))
            if err is not None:
                line += " · " + _("off by {percent}").format(percent=percent(err))
        else:
            line += "\n" + _("No forecast was possible at its start: {reason}.").format(reason=f.model.reason)
        return line
    forecast = "*" + _("Forecast {period}: {amount}").format(period=f.period, amount=m(f.expected)) + "*"
    if f.learned:
        return forecast + " " + _("(likely {low} – {high})").format(low=m(f.low), high=m(f.high))
    return (forecast + " " + _("(weighted pipeline)") + "\n:hourglass: "
            + _("Can't learn from your history yet: {reason}. Showing the weighted pipeline only.").format(
                reason=f.model.reason))


def _quota_line(f: QuarterForecast, cur: str) -> str:
    if f.quota is None:
        return "*{}*\n{}".format(_("Quota"), _("not set — {command}").format(command="`/salesbot quota @user 250k Q4`"))
    gap = f.gap or Decimal(0)
    gap_text = (":white_check_mark: " + _("on track to meet it") if gap == 0
                else _("gap to close {amount}").format(amount=money(gap, cur)))
    return "*{}*\n{} · {}".format(_("Quota"), money(f.quota, cur), gap_text)


def quarter_blocks(f: QuarterForecast, actor: Actor, label: str) -> list[dict[str, object]]:
    """The blocks of one quarter's forecast (or, for a quarter that is over, how it landed)."""
    cur = actor.currency
    m = lambda v: amount_text(v, cur, None, f.approx)  # noqa: E731
    if f.is_past:
        notes = [n for n in (accuracy_line(f), missing_rates_note(f.missing)) if n]
        return [header(f"{f.period} · {escape(label)}"), section(_headline(f, cur)), context(*notes)]
    won = "*{}*\n{} ({})".format(_("Won so far"), m(f.won_to_date), _won(f.won_count))
    if f.attainment is not None:
        won += " · " + _("{percent} of quota").format(percent=percent(f.attainment))
    fields = [
        won,
        _quota_line(f, cur),
        "*{}*\n{}".format(_("Weighted"), m(f.weighted)),
        "*{}* ({}+)\n{}".format(_("Commit"), formatting.percent(Decimal(COMMIT_PROBABILITY) / 100, 0), m(f.commit)),
        "*{}*\n{}".format(_("Best case"), m(f.best_case)),
    ]
    if f.learned:
        fields.append("*{}*\n{} / {}".format(_("Still to win: pipeline / past quarters"), m(f.model.bottom_up),
                                              m(f.model.top_down)))
    notes = [accuracy_line(f)]
    if f.undated:
        notes.append(ngettext(
            "{n} open deal without a close date counts in this quarter's weighted, commit and best case.",
            "{n} open deals without a close date count in this quarter's weighted, commit and best case.",
            f.undated).format(n=formatting.number(f.undated)))
    note = missing_rates_note(f.missing)
    if note:
        notes.append(note)
    return [
        header(_("Forecast {period} · {label}").format(period=f.period, label=escape(label))),
        section(_headline(f, cur)),
        fields_section(fields),
        context(*notes),
    ]


def forecast_message(report: ForecastReport, actor: Actor) -> Message:
    """The reply to `/pipeline forecast [mine|team] [quarter]`, from core.insight.forecast.forecast_report."""
    f, following = report.forecast, report.following
    blocks = quarter_blocks(f, actor, report.scope_label)
    cur = actor.currency
    if following is not None:
        expected = amount_text(following.expected, cur, None, following.approx)
        if not following.learned:
            expected += " " + _("(weighted)")
        line = "*" + _("Next quarter {period}:").format(period=following.period) + "* " + expected + " · " + _(
            "weighted {amount}").format(amount=amount_text(following.weighted, cur, None, following.approx))
        if following.quota is not None:
            line += " · " + _("quota {amount}").format(amount=money(following.quota, cur))
        blocks.append(section(line))
    blocks.append(context(_(
        "History-based: the mean of two estimates learned from past quarters. Pipeline: the share of deals of each "
        "stage and age that closed won, applied to today's open deals (less where deals that never close pile up), "
        "plus the run-rate of new deals. Past quarters: what the same weeks brought. The range holds the actual "
        "about {percent} of the time in the backtest. Weighted: stage probability × amount."
    ).format(percent=formatting.percent(Decimal("0.8"), 0))))
    if f.is_past:
        fallback = _("{period} ({label}) landed at {amount}").format(
            period=f.period, label=escape(report.scope_label), amount=amount_text(f.actual, cur, None, f.approx))
    else:
        fallback = _("Forecast {period} ({label}): {amount}").format(
            period=f.period, label=escape(report.scope_label), amount=amount_text(f.expected, cur, None, f.approx))
        if f.gap:
            fallback += ", " + _("gap to quota {amount}").format(amount=money(f.gap, cur))
    return message(fallback, blocks)
