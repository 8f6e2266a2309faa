"""Replaying the history: how good would the forecast have been, period by period?

For each month (or quarter) the pipeline is rebuilt as it stood at the period's first
instant (00:00 UTC): deals started before it and not yet closed, each in the stage the
change history gives for that moment. Three forecasts of the period's won revenue are
made from that state and compared with what actually closed won in it:

- weighted: stage probability x amount of every open deal (expected close dates are not
  used: their history is not reliable, and an import writes the actual close date there);
- history: core.insight.projection, trained only on windows that had ended by that instant;
- naive: the previous period's won revenue (the baseline any forecast must beat).

Known limit: a deal's amount is today's amount (core.insight.history). Deals without an
engagement date (Maven's "Prospecting" rows) start when they were created, at import time,
so they are in no past snapshot: they were not known then.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.i18n import _
from core.insight.history import History, day_to_date, load_history, weighted_at, won_between
from core.insight.projection import ModelForecast, forecast_window

PERIODS = {"month": 1, "quarter": 3}
ACCURACY_PERIODS = 3  # how many past periods the accuracy figure looks back on
NOMINAL = Decimal("0.80")  # the range claims to hold the actual this often
MIN_CALIBRATION = 4  # errors needed before the range is the errors' own quantile


@dataclass(frozen=True)
class BacktestRow:
    """One replayed period: the three forecasts made at its start and what really closed."""

    start: date
    end: date  # exclusive
    actual: Decimal
    weighted: Decimal
    history: ModelForecast
    naive: Decimal | None
    # The range as users would have seen it: expected -/+ the NOMINAL quantile of the model's
    # absolute errors over the periods that had ended by then (see `calibrated`).
    low: Decimal = Decimal("0.00")
    high: Decimal = Decimal("0.00")

    @property
    def label(self) -> str:
        months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
        if months == 3 and self.start.month % 3 == 1:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return self.start.strftime("%Y-%m")

    def error(self, forecast: Decimal | None) -> Decimal | None:
        """(forecast - actual) / actual as a fraction; None when nothing closed or no forecast."""
        if forecast is None or not self.actual:
            return None
        return ((forecast - self.actual) / self.actual).quantize(Decimal("0.0001"))

    @property
    def history_error(self) -> Decimal | None:
        return self.error(self.history.expected) if self.history.learned else None

    @property
    def weighted_error(self) -> Decimal | None:
        return self.error(self.weighted)

    @property
    def naive_error(self) -> Decimal | None:
        return self.error(self.naive)


@dataclass(frozen=True)
class Backtest:
    period: str
    rows: list[BacktestRow]

    def errors(self, method: str) -> list[Decimal]:
        """Errors of `history`, `weighted` or `naive` over the periods the history model forecast.

        All three methods are scored on the same periods, so their MAPEs compare.
        """
        return [e for e in (getattr(r, f"{method}_error") for r in self.learned_rows) if e is not None]

    def mape(self, method: str, last: int | None = None) -> Decimal | None:
        """Mean absolute percentage error (a fraction) of `history`, `weighted` or `naive`."""
        errors = self.errors(method)
        if last is not None:
            errors = errors[-last:]
        if not errors:
            return None
        return (sum((abs(e) for e in errors), Decimal(0)) / len(errors)).quantize(Decimal("0.0001"))

    def worst(self, method: str, last: int) -> tuple[int, Decimal] | None:
        """(how many periods, largest absolute error) of the last `last` periods it forecast."""
        errors = self.errors(method)[-last:]
        if not errors:
            return None
        return len(errors), max(abs(e) for e in errors)

    @property
    def learned_rows(self) -> list[BacktestRow]:
        return [r for r in self.rows if r.history.learned]

    @property
    def scored_rows(self) -> list[BacktestRow]:
        """Periods the model forecast and that had actual closes (what every score is over)."""
        return [r for r in self.learned_rows if r.actual]

    def coverage(self) -> tuple[int, int]:
        """(periods whose actual fell inside the shown range, periods scored)."""
        rows = self.scored_rows
        return sum(1 for r in rows if r.low <= r.actual <= r.high), len(rows)

    def bias(self, method: str) -> Decimal | None:
        """Mean signed error (a fraction): above 0 the method forecasts too high."""
        errors = self.errors(method)
        if not errors:
            return None
        return (sum(errors, Decimal(0)) / len(errors)).quantize(Decimal("0.0001"))

    pooled: tuple[Decimal, ...] = ()  # finer periods' errors, pooled in while this kind has few

    def band(self, method: str = "history") -> Decimal | None:
        """The relative half-width a forecast made now gets: calibrated on every error so far."""
        errors = self.errors(method)
        return calibrated(errors if len(errors) >= MIN_CALIBRATION else errors + list(self.pooled))


def period_starts(history: History, step: int, until: date) -> list[date]:
    """Starts of the periods of `step` months that ended by `until` and by the end of the data.

    The data ends at its last close: periods after it have no actuals to score, so they are
    not replayed (an imported history that ended years ago replays its own span only).
    """
    if not history.size:
        return []
    first = day_to_date(float(history.start.min()))
    if history.last_close is not None:
        until = min(until, day_to_date(history.last_close) + relativedelta(days=1))
    month = (first.month - 1) // step * step + 1
    s = date(first.year, month, 1)
    out = []
    while s + relativedelta(months=step) <= until:
        out.append(s)
        s += relativedelta(months=step)
    return out


def replay(history: History, period: str, until: date) -> Backtest:
    """Backtest over every whole month or quarter of `history` that ended by `until`.

    A quarter's range is calibrated on the quarters' own errors; while there are fewer than
    MIN_CALIBRATION of them, the months' errors known by then are pooled in (a young history
    has few quarters, and a quarter's relative error is rarely larger than a month's).
    """
    if period not in PERIODS:
        raise InvalidInput(_('"{period}" is not a backtest period; use month or quarter.').format(period=period),
                           field="period")
    step = PERIODS[period]
    finer: list[tuple[date, Decimal]] = []
    if step > 1:
        finer = [(r.end, err) for r in replay(history, "month", until).learned_rows
                 if (err := r.history_error) is not None]
    rows: list[BacktestRow] = []
    previous: Decimal | None = None
    errors: list[Decimal] = []  # of the periods replayed so far: all ended by the next start
    for s in period_starts(history, step, until):
        e = s + relativedelta(months=step)
        actual = won_between(history, s, e)
        model = forecast_window(history, s, s, e)
        has_closes = history.first_close is not None and history.first_close < (e - date(1970, 1, 1)).days
        if has_closes:
            known = errors if len(errors) >= MIN_CALIBRATION else errors + [x for end, x in finer if end <= s]
            low, high = ranged(model, calibrated(known))
            row = BacktestRow(s, e, actual, weighted_at(history, s), model, previous, low, high)
            rows.append(row)
            if row.history_error is not None:
                errors.append(row.history_error)
        previous = actual
    return Backtest(period, rows, tuple(e for _, e in finer))


def calibrated(errors: list[Decimal]) -> Decimal | None:
    """The relative half-width that held NOMINAL of `errors` (their empirical quantile), or None without any.

    The NOMINAL quantile of the absolute errors, interpolated between the two nearest; with
    fewer than MIN_CALIBRATION errors the largest one (too few periods to know better). Each
    backtest period is calibrated only on periods that had ended before it, so the coverage
    the backtest measures is out of sample.
    """
    if not errors:
        return None
    ordered = sorted(abs(e) for e in errors)
    if len(ordered) < MIN_CALIBRATION:
        return ordered[-1]
    pos = NOMINAL * (len(ordered) - 1)
    i = int(pos)
    if i + 1 >= len(ordered):
        return ordered[-1]
    return (ordered[i] + (ordered[i + 1] - ordered[i]) * (pos - i)).quantize(Decimal("0.0001"))


def ranged(model: ModelForecast, band: Decimal | None) -> tuple[Decimal, Decimal]:
    """expected -/+ band x expected (never below 0); the model's own band before any error is known."""
    if not model.learned:
        return Decimal("0.00"), Decimal("0.00")
    if band is None:
        return model.low, model.high
    low = max(model.expected * (1 - band), Decimal(0))
    high = model.expected * (1 + band)
    return low.quantize(Decimal("0.01")), high.quantize(Decimal("0.01"))


def backtest(
    session: Session,
    workspace_id: int,
    period: str,
    until: date,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
) -> Backtest:
    """Load the scope's history (two queries) and replay it month by month or quarter by quarter."""
    return replay(load_history(session, workspace_id, owner_ids, team_id), period, until)
