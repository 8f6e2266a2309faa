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

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.insight.backtest import replay
from core.insight.history import History, load_history, won_between
from core.insight.kpis import minor_to_decimal, owner_filter
from core.insight.projection import ModelForecast, forecast_window
from core.insight.quotas import label_bounds, quarter_label, quota_for
from core.tables import Deal, DealStatus, Quota, Stage

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

    @property
    def learned(self) -> bool:
        return self.model.learned

    @property
    def expected(self) -> Decimal:
        """The headline figure: the history-based forecast, else the weighted one."""
        return self.won_to_date + self.model.expected if self.learned else self.weighted

    @property
    def low(self) -> Decimal | None:
        if not self.learned:
            return None
        low = self.won_to_date + self.model.low
        if self.accuracy:  # the statistical band is narrow; the backtest says how wrong we get
            low = min(low, self.expected - (self.expected - self.won_to_date) * self.accuracy.worst)
        return max(low, self.won_to_date).quantize(Decimal("0.01"))

    @property
    def high(self) -> Decimal | None:
        if not self.learned:
            return None
        high = self.won_to_date + self.model.high
        if self.accuracy:
            high = max(high, self.expected + (self.expected - self.won_to_date) * self.accuracy.worst)
        return high.quantize(Decimal("0.01"))

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


def _weighted_views(
    session: Session,
    workspace_id: int,
    start: date,
    end: date,
    is_current: bool,
    owner_ids: list[int] | None,
    team_id: int | None,
) -> tuple[Decimal, Decimal, Decimal, int, int]:
    """(weighted, commit, best case, deals, undated) of open deals closing in [start, end]: one query."""
    in_period: ColumnElement[bool] = Deal.expected_close.between(start, end)
    if is_current:
        in_period = or_(in_period, Deal.expected_close.is_(None), Deal.expected_close < start)
    amount = func.coalesce(Deal.amount_minor, 0)
    row = session.execute(
        select(
            func.coalesce(func.sum(amount * Stage.probability), 0),
            func.coalesce(func.sum(case((Stage.probability >= COMMIT_PROBABILITY, amount), else_=0)), 0),
            func.coalesce(func.sum(amount), 0),
            func.count(Deal.id),
            func.coalesce(func.sum(case((Deal.expected_close.is_(None), 1), else_=0)), 0),
        )
        .select_from(Deal)
        .join(Stage, Stage.id == Deal.stage_id)
        .where(*owner_filter(workspace_id, owner_ids, team_id), Deal.status == DealStatus.OPEN, in_period)
    ).one()
    weighted = (Decimal(row[0] or 0) / 10000).quantize(Decimal("0.01"))
    return weighted, minor_to_decimal(row[1]), minor_to_decimal(row[2]), int(row[3] or 0), int(row[4] or 0)


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

    Pass `history` (core.insight.history.load_history of the same scope) to reuse it when
    forecasting several quarters.
    """
    today = now.astimezone(UTC).date()
    label = period or quarter_label(today)
    start, end = label_bounds(label)
    if end < today:
        raise InvalidInput(f"{label} is over; forecasts are for this quarter or a later one.", field="period")
    is_current = start <= today
    if history is None:
        history = load_history(session, workspace_id, owner_ids, team_id)
    after = end + timedelta(days=1)
    # The model starts from today's open pipeline: wins before today are counted as won.
    won = won_between(history, start, today) if is_current else Decimal("0.00")
    model = forecast_window(history, today, today if is_current else start, after)
    weighted, commit, best, deals, undated = _weighted_views(
        session, workspace_id, start, end, is_current, owner_ids, team_id
    )
    backtested = replay(history, "quarter", today)
    worst = backtested.worst("history", ACCURACY_QUARTERS)
    mape = backtested.mape("history", ACCURACY_QUARTERS)
    accuracy = Accuracy(worst[0], worst[1], mape) if worst and mape is not None else None
    return QuarterForecast(
        period=label,
        start=start,
        end=end,
        is_current=is_current,
        won_to_date=won,
        weighted=won + weighted,
        commit=won + commit,
        best_case=won + best,
        deals_in_period=deals,
        undated=undated if is_current else 0,
        model=model,
        quota=scope_quota(session, workspace_id, label, owner_ids, team_id),
        accuracy=accuracy,
    )


def next_quarter(label: str) -> str:
    """`2026-Q4` -> `2027-Q1`."""
    _, end = label_bounds(label)
    return quarter_label(end + timedelta(days=1))
