"""A workspace's deal history as arrays, and the pipeline as it stood at any past instant.

The history-based forecast (core.insight.projection) and the backtest (core.insight.backtest) replay the
past from these arrays: one row a deal (when it entered the pipeline, when it closed, won or
not, its amount) and its stage changes, loaded in two queries.

- A snapshot at instant `t` is the set of deals open then: started before `t` and not
  closed before it. Each deal's stage at `t` comes from the change history (the old value
  of its first stage change after `t`, else its current stage).
- An imported deal without any stage history has stage "unknown" at every instant: for a
  deal imported closed, its current stage (Won or Lost) would tell the model the future,
  and treating the imported open deals alike keeps the two groups indistinguishable.

Known limit: a deal's amount is today's amount (amount edits are not replayed); for an
imported data set a won deal carries its close value, an open or lost one its list price.
Arithmetic is in float on integer hundredths: these are estimates, and every result is
rounded to whole cents (Decimal) before anyone sees it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session

from core.deals.stage_flow import deal_start
from core.money import from_minor
from core.tables import Deal, DealChange, DealStatus, Stage, User
from core.workspace.rates import RateBook

_DAY = 86400.0
UNKNOWN_STAGE = "(stage unknown)"


def day_number(moment: datetime | date) -> float:
    """Days since the epoch (UTC) as a float: dates count from their midnight UTC."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(), tzinfo=UTC)
    return moment.timestamp() / _DAY


def to_money(minor: float) -> Decimal:
    """A float of hundredths as Decimal whole cents.

    Floats are for estimates only (probability x amount, rates, variances); sums of actual
    amounts are taken in integers (see won_between).
    """
    return Decimal(round(minor)).scaleb(-2).quantize(Decimal("0.01"))


@dataclass
class History:
    """Every deal of a scope as arrays (one row a deal), and its stage changes."""

    start: np.ndarray  # day number the deal entered the pipeline
    close: np.ndarray  # day number it closed, +inf while open
    won: np.ndarray  # bool
    amount: np.ndarray  # hundredths (0 when unknown)
    stage: np.ndarray  # stage code now
    probability: np.ndarray  # stage code -> stage probability 0-100
    stage_names: list[str]
    change_deal: np.ndarray  # row index of the deal, sorted by (deal, time)
    change_at: np.ndarray
    change_old: np.ndarray  # stage code before the change (-1 when unknown)
    first_close: float | None = None
    # Day number of the latest close: where the actuals end. Not the latest start: an import dates
    # the deals it cannot date (Maven's Prospecting rows) at the import, which is no actual to score.
    last_close: float | None = None
    missing: dict[str, int] = field(default_factory=dict)  # deals without a rate, by currency
    _stages: dict[float, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def size(self) -> int:
        return int(self.start.size)

    def open_at(self, t: float) -> np.ndarray:
        """Mask of the deals open at instant t (started before it, not closed before it)."""
        return (self.start < t) & (self.close >= t)

    def stage_at(self, t: float) -> np.ndarray:
        """Stage code of every deal at instant t, rebuilt from the change history (cached per t)."""
        cached = self._stages.get(t)
        if cached is not None:
            return cached
        codes = self.stage.copy()
        later = self.change_at >= t
        if later.any():
            # Changes are grouped by deal and in time order: a deal's first change after t is
            # a `later` row whose predecessor is another deal's or not later.
            new_deal = np.ones(later.size, bool)
            new_deal[1:] = self.change_deal[1:] != self.change_deal[:-1]
            before = np.zeros(later.size, bool)
            before[1:] = ~later[:-1]
            first = later & (new_deal | before)
            old = self.change_old[first]
            known = old >= 0
            codes[self.change_deal[first][known]] = old[known]
        self._stages[t] = codes
        return codes


def _epoch_days(session: Session, column: Any) -> Any:
    """A UTC timestamp column as float days since 1970-01-01, computed by the database."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(column) - 2440587.5
    return cast(func.extract("epoch", column), Float) / 86400.0


def load_history(
    session: Session,
    workspace_id: int,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
    today: date | None = None,
) -> History:
    """Two queries: the deals of the scope and their stage changes, as arrays.

    Amounts are in the workspace's base currency: a closed deal converted at the rate of its
    close day, an open one at `today`'s (default: the latest rate); deals of a currency
    without a rate weigh 0 and are counted in `History.missing`.
    """
    book = RateBook.load(session, workspace_id)
    stages = session.execute(
        select(Stage.id, Stage.name, Stage.probability).where(Stage.workspace_id == workspace_id)
    ).all()
    names = [*sorted({name for _, name, _ in stages}), UNKNOWN_STAGE]
    code_of_name = {name: i for i, name in enumerate(names)}
    code_of_id = {sid: code_of_name[name] for sid, name, _ in stages}
    probability = np.zeros(len(names))
    for _, name, prob in stages:
        probability[code_of_name[name]] = prob
    conds = [Deal.workspace_id == workspace_id]
    if owner_ids is not None:
        conds.append(Deal.owner_id.in_(owner_ids))
    if team_id is not None:
        conds.append(Deal.owner_id.in_(select(User.id).where(User.team_id == team_id)))
    # Times come back as float days from SQL: no datetime objects for 100k deals / 1M changes.
    closed_at = case((Deal.status != DealStatus.OPEN, Deal.closed_at), else_=None)
    rows = session.execute(
        select(
            Deal.id,
            _epoch_days(session, deal_start()),
            _epoch_days(session, closed_at),
            case((Deal.status == DealStatus.WON, 1), else_=0),
            func.coalesce(Deal.amount_minor, 0),
            Deal.stage_id,
            case((Deal.external_id.is_(None), 0), else_=1),
            Deal.currency,
        )
        .where(*conds)
        .order_by(Deal.id)
    ).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 8
    ids = np.array(columns[0], dtype=np.int64)
    start = np.array(columns[1], dtype=float)
    close = np.array([np.inf if c is None else c for c in columns[2]], dtype=float)
    won = np.array(columns[3], dtype=bool) & np.isfinite(close)
    amount = np.array(columns[4], dtype=float)
    missing: dict[str, int] = {}
    last_day = today or date(9000, 1, 1)
    for i, currency in enumerate(columns[7]):
        if currency == book.base or not amount[i]:
            continue
        on = day_to_date(close[i]) if np.isfinite(close[i]) else last_day
        converted = book.to_base(int(amount[i]), currency, on)
        if converted is None:
            missing[currency] = missing.get(currency, 0) + 1
        amount[i] = float(converted or 0)
    stage = np.array([code_of_id[sid] for sid in columns[5]], dtype=int)
    imported = np.array(columns[6], dtype=bool)
    changes = session.execute(
        select(DealChange.deal_id, _epoch_days(session, DealChange.changed_at), DealChange.old_value)
        .join(Deal, Deal.id == DealChange.deal_id)
        .where(*conds, DealChange.field == "stage")
        .order_by(DealChange.deal_id, DealChange.changed_at, DealChange.id)
    ).all()
    ch = list(zip(*changes, strict=True)) if changes else [(), (), ()]
    # Deal ids are sorted, so a binary search turns each change's deal id into its row.
    change_deal = np.searchsorted(ids, np.array(ch[0], dtype=np.int64)).astype(int)
    change_at = np.array(ch[1], dtype=float)
    change_old = np.array([code_of_name.get(old or "", -1) for old in ch[2]], dtype=int)
    unknown = imported.copy()
    unknown[change_deal] = False
    open_unknown = unknown & ~np.isfinite(close)
    # The unknown stage weighs like the imported deals still open do today (their mean).
    probability[-1] = probability[stage[open_unknown]].mean() if open_unknown.any() else 0
    stage[unknown] = len(names) - 1
    closed_days = close[np.isfinite(close)]
    return History(
        start=start, close=close, won=won, amount=amount, stage=stage, probability=probability,
        stage_names=names, change_deal=change_deal, change_at=change_at, change_old=change_old,
        first_close=float(closed_days.min()) if closed_days.size else None,
        last_close=float(closed_days.max()) if closed_days.size else None,
        missing=missing,
    )


def weighted_at(history: History, t: date) -> Decimal:
    """Stage probability x amount of every deal open at t, with its stage as it was then."""
    tt = day_number(t)
    live = history.open_at(tt)
    probs = history.probability[history.stage_at(tt)[live]] / 100
    return to_money(float((probs * history.amount[live]).sum()))


def won_between(history: History, w0: date, w1: date) -> Decimal:
    """Won revenue closed in [w0, w1)."""
    a, b = day_number(w0), day_number(w1)
    hit = history.won & (history.close >= a) & (history.close < b)
    # Actual revenue: the amounts are whole hundredths, so sum them exactly as integers.
    return from_minor(int(history.amount[hit].astype(np.int64).sum()))


def day_to_date(day: float) -> date:
    """The UTC date of a day number."""
    return datetime.fromtimestamp(day * _DAY, UTC).date()
