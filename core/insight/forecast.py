"""Where will the quarter land? The forecast of a quarter against its quota.

Two methods, side by side:
- weighted: won so far + stage probability x amount of the open deals closing in the
  quarter. "Closing in the quarter" is an expected close date inside it; for the current
  quarter also deals with no close date and deals whose date has passed (still open, so
  still to close). Commit counts open deals at COMMIT_PROBABILITY % or more at their full
  amount; best case counts every open deal closing in the quarter at its full amount.
- history: won so far + core.insight.projection for the rest of the quarter (the mean of the
  open pipeline at learned rates plus the run-rate of new deals, and what the same weeks of
  past quarters brought), learned from the workspace's own history, with a low-high range.
  With too little history it says it cannot learn yet and only the weighted figures are shown.
Beside them, the accuracy of the history method in the backtest of the last quarters, so
readers know how far to trust it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import InvalidInput
from core.i18n import _
from core.insight.backtest import replay
from core.insight.figures import Amount, Basis, basis, open_now, scope, won_in
from core.insight.history import History, load_history
from core.insight.kpis import minor_to_decimal, owner_filter
from core.insight.projection import ModelForecast, forecast_window
from core.insight.quotas import label_bounds, parse_quarter, quarter_label, quota_for
from core.tables import Deal, Quota, Stage
from core.workspace.admin import pipeline_scope
from core.workspace.users import Actor

COMMIT_PROBABILITY = 75
ACCURACY_QUARTERS = 3


@dataclass(frozen=True)
class Accuracy:
    """How the history method did in the backtest: over `periods` quarters, off by at most `worst`."""

    periods: int
    worst: Decimal  # largest absolute error, a fraction
    mape: Decimal  # mean absolute error, a fraction


@dataclass(frozen=True)
class QuarterForecast:
    """One quarter: won so far, the weighted and history-based forecasts, quota and gap."""

    period: str
    start: date
    end: date
    is_current: bool
    won_to_date: Decimal
    weighted: Decimal
    commit: Decimal
    best_case: Decimal
    deals_in_period: int
    undated: int
    model: ModelForecast
    quota: Decimal | None
    accuracy: Accuracy | None
    band: Decimal | None = None  # calibrated relative half-width of the range (backtest), or None
    actual: Decimal | None = None  # a quarter that is over: what it landed at
    past_range: tuple[Decimal, Decimal] | None = None  # ... and the range shown at its start (backtest)
    won_count: int = 0
    approx: bool = False
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def is_past(self) -> bool:
        return self.actual is not None

    @property
    def learned(self) -> bool:
        return self.model.learned

    @property
    def expected(self) -> Decimal:
        """The headline figure: the history-based forecast, else the weighted one."""
        return self.won_to_date + self.model.expected if self.learned else self.weighted

    def _half_width(self) -> Decimal | None:
        """Half the range around the model's part: the backtest's calibrated error, else the model's band."""
        if self.band is not None:
            return self.model.expected * self.band
        return None

    @property
    def low(self) -> Decimal | None:
        if not self.learned:
            return None
        half = self._half_width()
        part = self.model.low if half is None else self.model.expected - half
        return max(self.won_to_date + part, self.won_to_date).quantize(Decimal("0.01"))

    @property
    def high(self) -> Decimal | None:
        if not self.learned:
            return None
        half = self._half_width()
        part = self.model.high if half is None else self.model.expected + half
        return (self.won_to_date + part).quantize(Decimal("0.01"))

    @property
    def model_low(self) -> Decimal:
        """The range of the model's part alone (a past quarter: as forecast at its start)."""
        if self.past_range is not None:
            return self.past_range[0]
        half = self._half_width()
        return max(self.model.low if half is None else self.model.expected - half, Decimal(0)).quantize(
            Decimal("0.01"))

    @property
    def model_high(self) -> Decimal:
        if self.past_range is not None:
            return self.past_range[1]
        half = self._half_width()
        return (self.model.high if half is None else self.model.expected + half).quantize(Decimal("0.01"))

    @property
    def landed_error(self) -> Decimal | None:
        """A quarter that is over: (forecast at its start - actual) / actual."""
        if self.actual is None or not self.actual or not self.learned:
            return None
        return ((self.model.expected - self.actual) / self.actual).quantize(Decimal("0.0001"))

    @property
    def gap(self) -> Decimal | None:
        """What the forecast falls short of quota by (0 when it meets it); None without quota."""
        if self.quota is None:
            return None
        return max(self.quota - self.expected, Decimal("0.00"))

    @property
    def attainment(self) -> Decimal | None:
        if not self.quota:
            return None
        return (self.won_to_date / self.quota).quantize(Decimal("0.0001"))


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(), tzinfo=UTC)


@dataclass(frozen=True)
class WeightedViews:
    weighted: Amount
    commit: Amount
    best: Amount
    undated: int


def _weighted_views(
    session: Session,
    b: Basis,
    start: date,
    end: date,
    is_current: bool,
    owner_ids: list[int] | None,
    team_id: int | None,
) -> WeightedViews:
    """Weighted, commit and best case of open deals closing in [start, end], by currency, converted.

    The open deals are the open pipeline as of now (core.insight.figures.open_now), in the stage
    and at the amount they stood at then, like every surface's open pipeline.
    """
    on = open_now(session, b.workspace_id, b.now, b.later(session))
    close = on.expected_close
    in_period: ColumnElement[bool] = close.between(start, end)
    if is_current:
        in_period = or_(in_period, close.is_(None), close < start)
    amount = func.coalesce(on.amount_minor, 0)
    query = on.join(
        select(
            Deal.currency,
            func.coalesce(func.sum(amount * Stage.probability), 0),
            func.coalesce(func.sum(case((Stage.probability >= COMMIT_PROBABILITY, amount), else_=0)), 0),
            func.sum(case((Stage.probability >= COMMIT_PROBABILITY, 1), else_=0)),
            func.coalesce(func.sum(amount), 0),
            func.count(Deal.id),
            func.coalesce(func.sum(case((close.is_(None), 1), else_=0)), 0),
        )
        .select_from(Deal)
    )
    rows = session.execute(
        query.join(Stage, Stage.id == on.stage_id)
        .where(*owner_filter(b.workspace_id, owner_ids, team_id), on.is_open, in_period)
        .group_by(Deal.currency)
    ).all()
    weighted, commit, best = Amount(), Amount(), Amount()
    undated = 0
    for currency, w, c, nc, total_minor, n, nd in rows:
        weighted.put(b.book, currency, b.today, int(n), int(w or 0), scale=10000)
        commit.put(b.book, currency, b.today, int(nc or 0), int(c or 0))
        best.put(b.book, currency, b.today, int(n), int(total_minor or 0))
        undated += int(nd or 0)
    return WeightedViews(weighted, commit, best, undated)


def scope_quota(
    session: Session, workspace_id: int, period: str, owner_ids: list[int] | None, team_id: int | None
) -> Decimal | None:
    """The quota of a scope: a team's, one rep's, several reps' summed, or the workspace's."""
    if team_id is not None:
        found = quota_for(session, workspace_id, period, team_id=team_id)
    elif owner_ids is None:
        found = quota_for(session, workspace_id, period)
    elif len(owner_ids) == 1:
        found = quota_for(session, workspace_id, period, user_id=owner_ids[0])
    else:
        total = session.scalar(
            select(func.sum(Quota.amount_minor)).where(
                Quota.workspace_id == workspace_id, Quota.period == period, Quota.user_id.in_(owner_ids)
            )
        )
        return None if total is None else minor_to_decimal(total)
    return found[0] if found else None


def quarter_forecast(
    session: Session,
    workspace_id: int,
    now: datetime,
    period: str | None = None,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
    history: History | None = None,
) -> QuarterForecast:
    """The forecast of quarter `period` (`2026-Q4`; default the current one) for a scope.

    Won so far is core.insight.figures' won-in-period as of `now` (today's closes count). A
    quarter that is over shows what it landed at (`actual`) against the forecast made at its
    start. Pass `history` (load_history of the same scope) to reuse it for several quarters.
    """
    b = basis(session, workspace_id, now)
    today = b.today
    label = period or quarter_label(today)
    start, end = label_bounds(label)
    is_past = end < today
    is_current = start <= today and not is_past
    if history is None:
        history = load_history(session, workspace_id, owner_ids, team_id, today=today)
    after = end + timedelta(days=1)
    sc = scope(workspace_id, owner_ids, team_id)
    won_amount = won_in(session, b, sc, start, end).get(None, Amount())
    won = won_amount.amount if (is_current or is_past) else Decimal("0.00")
    if is_past:
        model = forecast_window(history, start, start, after)  # as it was made at the quarter's start
    else:
        # Today's closes are in won so far: the model forecasts from tomorrow on.
        tomorrow = today + timedelta(days=1)
        model = forecast_window(history, tomorrow, tomorrow if is_current else start, after)
    if is_past:
        weighted = commit = best = Decimal("0.00")
        deals = undated = 0
        missing: dict[str, int] = dict(won_amount.missing)
        approx = won_amount.approx
    else:
        views = _weighted_views(session, b, start, end, is_current, owner_ids, team_id)
        weighted, commit, best = views.weighted.amount, views.commit.amount, views.best.amount
        deals, undated = views.best.count, views.undated
        merged = won_amount + views.best
        missing, approx = merged.missing, merged.approx
    backtested = replay(history, "quarter", today)
    worst = backtested.worst("history", ACCURACY_QUARTERS)
    mape = backtested.mape("history", ACCURACY_QUARTERS)
    accuracy = Accuracy(worst[0], worst[1], mape) if worst and mape is not None else None
    return QuarterForecast(
        period=label,
        start=start,
        end=end,
        is_current=is_current,
        won_to_date=won if not is_past else Decimal("0.00"),
        weighted=won + weighted,
        commit=won + commit,
        best_case=won + best,
        deals_in_period=deals,
        undated=undated if is_current else 0,
        model=model,
        quota=scope_quota(session, workspace_id, label, owner_ids, team_id),
        accuracy=accuracy,
        band=None if is_past else backtested.band("history"),
        past_range=next(((r.low, r.high) for r in backtested.learned_rows if r.start == start), None),
        actual=won if is_past else None,
        won_count=won_amount.count if (is_current or is_past) else 0,
        approx=approx,
        missing=missing,
    )


def next_quarter(label: str) -> str:
    """`2026-Q4` -> `2027-Q1`."""
    __, end = label_bounds(label)
    return quarter_label(end + timedelta(days=1))


SCOPE_WORDS = ("mine", "team")
_BARE_QUARTER = re.compile(r"q([1-4])", re.IGNORECASE)


@dataclass(frozen=True)
class ForecastReport:
    """What `/pipeline forecast [mine|team] [quarter]` shows: one quarter, and the next when none was named."""

    forecast: QuarterForecast
    following: QuarterForecast | None
    scope_label: str


def nearest_quarter(q: int, today: date) -> str:
    """`Q3` without a year: the Q3 nearest to `today` (last year's, this year's or next year's)."""

    def distance(year: int) -> int:
        start, end = label_bounds(f"{year}-Q{q}")
        return 0 if start <= today <= end else min(abs((start - today).days), abs((today - end).days))

    year = min((today.year - 1, today.year, today.year + 1), key=distance)
    return f"{year}-Q{q}"


def forecast_report(uow: UnitOfWork, actor: Actor, text: str, now: datetime) -> ForecastReport:
    """The forecast a user asked for in `text` (`[mine|team] [quarter]`); InvalidInput on a bad quarter."""
    words = text.split()
    scope_word = words.pop(0).lower() if words and words[0].lower() in SCOPE_WORDS else None
    asked = " ".join(words).strip()
    with uow.read() as session:
        today = basis(session, actor.workspace_id, now).today
    bare = _BARE_QUARTER.fullmatch(asked)
    if bare:
        period = nearest_quarter(int(bare[1]), today)
    else:
        try:
            period = parse_quarter(asked, now, actor.tz, actor.locale)
        except InvalidInput as err:
            raise InvalidInput(
                _('"{text}" is not a quarter. Try `/pipeline forecast Q3`, `2017-Q3` or `next quarter`.').format(
                    text=asked[:40]),
                field="period",
            ) from err
    sc = pipeline_scope(uow, actor, scope_word, None, now=now)
    with uow.read() as session:
        history = load_history(session, actor.workspace_id, sc.owner_ids, sc.team_id, today=today)
        f = quarter_forecast(session, actor.workspace_id, now, period, sc.owner_ids, sc.team_id, history)
        following = None
        if not asked:  # the plain command shows the next quarter too
            following = quarter_forecast(
                session, actor.workspace_id, now, next_quarter(period), sc.owner_ids, sc.team_id, history
            )
    return ForecastReport(f, following, sc.label)
