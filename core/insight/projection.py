"""The history-based forecast: how much won revenue a window will bring, learned from the past.

Learned from the workspace's own history (core.insight.history), never from anything later
than the instant `t` the forecast is made at, so a backtest replays exactly what would have
been known then.

Training windows. For a forecast at `t` of the window [w0, w1), the analogous windows of the
past are taken: the same position in earlier quarters (t - 3, 6, 9 ... months, the window
shifted alike), because sales close in rhythm with the quarter; when those hold fewer than
MIN_CLOSED closes, every earlier month. A window is used only when it ended by `t` (its
outcome was known) and its snapshot is not before the month of the first close ever recorded
(before that the history has no outcomes to learn from). The most recent window weighs most:
each one further back counts RECENCY times as much, because a pipeline's habits drift.

Two estimates of the window's won revenue, averaged with equal weights (a plain average of
two different methods is the textbook robust combination; weights fitted to past errors
would need more periods than a young history has):

- bottom-up: for each deal open at `t`, the amount-weighted share of open deals of its
  (stage, age) cell that closed won within the training windows, backing off to the age
  bucket, then to all deals, when a cell has fewer than MIN_CELL deals; plus the run-rate,
  the won revenue of deals that started after the snapshot and closed won within its window.
  Won amounts differ from list prices; the share is of amounts (won value / open value), so
  that ratio is learned with it. The share is corrected for deals that will never close
  (see `_dormancy`).
- top-down: the won revenue of the training windows themselves (what the same stretch of the
  quarter brought before), which catches what the pipeline does not show.

The range is expected -/+ the larger of 1.28 standard deviations (an 80 % band: the pipeline
as independent Bernoulli outcomes, the run-rate and the top-down figure from their spread
across the training windows, at least their count noise) and half the gap between the two
estimates (when two sound methods disagree, the truth is as likely near either). Users see
the range the backtest calibrates instead, once there are past errors: expected -/+ the 80th
percentile of them (core.insight.backtest.calibrated, core.insight.forecast.QuarterForecast).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
from dateutil.relativedelta import relativedelta

from core.i18n import _, ngettext
from core.insight.history import History, day_number, day_to_date, to_money

AGE_BINS = np.array([15, 30, 45, 60, 75, 90, 105, 120])  # days since the deal started
MIN_CELL = 10  # deals a (stage, age) cell needs before its own rate is trusted
MIN_CLOSED = 20  # closed deals the training windows need before we forecast at all
RECENCY = 0.5  # weight of a training window relative to the next more recent one
BAND = 1.2816  # z of an 80 % two-sided band

Window = tuple[date, date, date]  # (snapshot instant, window start, window end exclusive)


@dataclass(frozen=True)
class ModelForecast:
    """The history-based forecast of one window; `learned` is False with too little history.

    expected = (bottom-up + top-down) / 2, bottom-up = from_pipeline + run_rate.
    """

    learned: bool
    expected: Decimal = Decimal("0.00")
    low: Decimal = Decimal("0.00")
    high: Decimal = Decimal("0.00")
    from_pipeline: Decimal = Decimal("0.00")
    run_rate: Decimal = Decimal("0.00")
    top_down: Decimal = Decimal("0.00")
    windows: tuple[date, ...] = field(default_factory=tuple)
    closed_seen: int = 0
    reason: str = ""

    @property
    def bottom_up(self) -> Decimal:
        return self.from_pipeline + self.run_rate


def _shift(d: date, months: int) -> date:
    return d + relativedelta(months=months)


def training_snapshots(history: History, t: date, w0: date, w1: date) -> list[list[Window]]:
    """Candidate training sets for a forecast at t, best first, each most recent window first.

    First the same position in earlier quarters, then every earlier month; each keeps only
    windows that ended by t and start no earlier than the month of the first close.
    """
    if history.first_close is None:
        return []
    first = day_to_date(history.first_close).replace(day=1)

    def usable(step: int) -> list[Window]:
        out: list[Window] = []
        k = 1
        while (s := _shift(t, -step * k)) >= first:
            end = _shift(w1, -step * k)
            if end <= t:
                out.append((s, _shift(w0, -step * k), end))
            k += 1
        return out

    return [snaps for snaps in (usable(3), usable(1)) if snaps]


def _buckets(ages: np.ndarray) -> np.ndarray:
    buckets: np.ndarray = np.digitize(ages, AGE_BINS)
    return buckets


def _open_share(history: History, t: float) -> tuple[np.ndarray, np.ndarray]:
    """(open amount, started amount) per age bucket at instant t."""
    started = history.start < t
    live = started & (history.close >= t)
    n = len(AGE_BINS) + 1
    opened = np.bincount(_buckets(t - history.start[live]), history.amount[live], n)
    return opened, np.bincount(_buckets(t - history.start[started]), history.amount[started], n)


@dataclass
class _Training:
    """What the weighted training windows showed: per (stage, age) cell, per window, open shares."""

    cell_amt: np.ndarray  # weighted open amount at the snapshot
    cell_won: np.ndarray  # weighted amount of those deals won within the window
    cell_n: np.ndarray  # deals (unweighted: how much evidence a cell has)
    run_rates: np.ndarray  # per window: won revenue of deals started after the snapshot
    totals: np.ndarray  # per window: all won revenue in the window (the top-down figure)
    run_sq: np.ndarray  # per window: sum of squared amounts of those run-rate wins
    totals_sq: np.ndarray  # per window: sum of squared amounts of all wins in the window
    weights: np.ndarray  # per window
    age_open: np.ndarray  # weighted open amount per age bucket
    age_started: np.ndarray  # weighted started amount per age bucket
    closed_seen: int


def _learn(history: History, snaps: list[Window]) -> _Training:
    n_stage, n_age = len(history.stage_names), len(AGE_BINS) + 1
    cell_amt, cell_won, cell_n = (np.zeros((n_stage, n_age)) for _ in range(3))
    age_open, age_started = np.zeros(n_age), np.zeros(n_age)
    run_rates, totals, run_sq, totals_sq = (np.zeros(len(snaps)) for _ in range(4))
    weights = RECENCY ** np.arange(len(snaps), dtype=float)
    closed_seen = 0
    for i, (s, s0, s1) in enumerate(snaps):
        ts, a, b = day_number(s), day_number(s0), day_number(s1)
        w = weights[i]
        live = history.open_at(ts)
        codes = history.stage_at(ts)[live]
        ages = _buckets(ts - history.start[live])
        close = history.close[live]
        hit = history.won[live] & (close >= a) & (close < b)
        amounts = history.amount[live]
        np.add.at(cell_amt, (codes, ages), w * amounts)
        np.add.at(cell_won, (codes, ages), w * amounts * hit)
        np.add.at(cell_n, (codes, ages), 1)
        opened, started = _open_share(history, ts)
        age_open += w * opened
        age_started += w * started
        closed_seen += int(((close >= ts) & (close < b)).sum())
        fresh = (history.start >= ts) & history.won & (history.close >= a) & (history.close < b)
        run_rates[i] = history.amount[fresh].sum()
        run_sq[i] = (history.amount[fresh] ** 2).sum()
        closed_seen += int(fresh.sum())
        in_window = history.won & (history.close >= a) & (history.close < b)
        totals[i] = history.amount[in_window].sum()
        totals_sq[i] = (history.amount[in_window] ** 2).sum()
    return _Training(
        cell_amt, cell_won, cell_n, run_rates, totals, run_sq, totals_sq, weights, age_open, age_started, closed_seen
    )


def _dormancy(training: _Training, opened: np.ndarray, started: np.ndarray) -> np.ndarray:
    """Per age bucket, the factor (<= 1) for deals that will never close.

    Some deals are never closed: they stay open and pile up in the older age buckets. When
    an age group holds a larger open share of what started than the training windows did
    (open/started at t above open/started then), the excess is most likely such dormant
    deals, not ones about to close: assuming the live deals still open at that age are the
    same share of what started as before, P(live | open) falls by
    (training open share) / (open share now). Capped at 1: the training rate already counts
    the dormant deals of its own time, and a smaller open share now may just mean faster
    closing, so the rate is never raised above what was seen.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        then = training.age_open / training.age_started
        now = opened / started
        factor = np.where((training.age_started > 0) & (opened > 0), np.minimum(then / now, 1.0), 1.0)
    result: np.ndarray = np.nan_to_num(factor, nan=1.0)
    return result


def _weighted_mean_var(values: np.ndarray, squares: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted mean of training-window sums of won amounts, and the variance of such a sum.

    The variance is the larger of the spread across the windows (unbiased for equal weights;
    unknown with one window) and the compound-Poisson variance of a sum of random wins (the
    sum of their squared amounts): a few windows can agree by chance, the count noise stays.
    """
    mean = float(np.average(values, weights=weights))
    poisson = float(np.average(squares, weights=weights))
    if values.size < 2:
        return mean, poisson
    spread = float(np.average((values - mean) ** 2, weights=weights)) * values.size / (values.size - 1)
    return mean, max(spread, poisson)


def forecast_window(history: History, t: date, w0: date, w1: date) -> ModelForecast:
    """Expected won revenue in [w0, w1) from what was known at t (see the module doc)."""
    candidates = training_snapshots(history, t, w0, w1)
    if not candidates:
        return ModelForecast(learned=False, reason=_("no full period of closed deals to learn from yet"))
    seen = 0
    for snaps in candidates:  # the first candidate with enough closes wins
        training = _learn(history, snaps)
        if training.closed_seen >= MIN_CLOSED:
            break
        seen = max(seen, training.closed_seen)
    else:
        return ModelForecast(
            learned=False,
            closed_seen=seen,
            reason=ngettext("only {n} deal closed in the history so far; it needs {needed}",
                            "only {n} deals closed in the history so far; it needs {needed}", seen).format(
                n=seen, needed=MIN_CLOSED),
        )
    cell_amt, cell_won, cell_n = training.cell_amt, training.cell_won, training.cell_n
    age_amt, age_won, age_n = cell_amt.sum(0), cell_won.sum(0), cell_n.sum(0)
    overall = cell_won.sum() / cell_amt.sum() if cell_amt.sum() else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        by_age = np.where((age_n >= MIN_CELL) & (age_amt > 0), age_won / age_amt, overall)
        rate = np.where((cell_n >= MIN_CELL) & (cell_amt > 0), cell_won / cell_amt, by_age[None, :])
    tt = day_number(t)
    live = history.open_at(tt)
    ages = _buckets(tt - history.start[live])
    rate = rate * _dormancy(training, *_open_share(history, tt))[None, :]
    p = rate[history.stage_at(tt)[live], ages]
    amounts = history.amount[live]
    pipeline = float((p * amounts).sum())
    run_rate, run_var = _weighted_mean_var(training.run_rates, training.run_sq, training.weights)
    top_down, top_var = _weighted_mean_var(training.totals, training.totals_sq, training.weights)
    bottom_up = pipeline + run_rate
    expected = (bottom_up + top_down) / 2
    bottom_var = float((p * (1 - p) * amounts**2).sum()) + run_var
    spread = max(BAND * ((bottom_var + top_var) / 4) ** 0.5, abs(bottom_up - top_down) / 2)
    return ModelForecast(
        learned=True,
        expected=to_money(expected),
        low=to_money(max(expected - spread, 0.0)),
        high=to_money(expected + spread),
        from_pipeline=to_money(pipeline),
        run_rate=to_money(run_rate),
        top_down=to_money(top_down),
        windows=tuple(s for s, _, _ in snaps),
        closed_seen=training.closed_seen,
    )
