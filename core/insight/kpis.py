"""Pipeline numbers a manager can trust: open pipeline by stage, and the KPIs of a period.

Every figure is one SQL aggregate over the deals (and their change history): no Python
loop over deals, so a workspace with 100k deals answers as fast as one with ten.
Amounts are integer hundredths in the database; sums stay integers until the end,
where they become Decimal (never float).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from core.deals.stage_flow import StageFlow, days_between, deal_start, stage_flow
from core.errors import InvalidInput
from core.i18n import N_, _
from core.insight.digest_figures import in_parallel
from core.insight.figures import (
    FAR,
    Amount,
    StageAmount,
    basis,
    closed_in,
    created_in,
    open_at,
    open_totals,
    scope,
    total,
)
from core.insight.quotas import label_bounds, quarter_label, quota_for
from core.tables import Activity, Deal, DealStatus, Pipeline, Quota, Stage, Team, User

# Marked for translation: a view shows it as _(WIN_RATE_DEFINITION) (see win_rate_definition).
WIN_RATE_DEFINITION = N_("win rate = won ÷ (won + lost), of deals closed in the period")


def win_rate_definition() -> str:
    """What the win rate means, in the current language."""
    return _(WIN_RATE_DEFINITION)


_CENT = Decimal("0.01")


def minor_to_decimal(minor: int | Decimal | None) -> Decimal:
    """Integer hundredths (or a SQL sum of them) as Decimal with two places; None is 0."""
    if minor is None:
        return Decimal("0.00")
    return (Decimal(minor) / 100).quantize(_CENT)


@dataclass(frozen=True)
class StageTotal:
    """Open deals in one stage: how many, their amount, and amount x stage probability.

    Amounts are in the base currency; `approx` when some were converted, `missing` the deals
    left out of the amounts for want of a rate, by currency.
    """

    stage_id: int
    stage: str
    position: int
    probability: int
    count: int
    amount: Decimal
    weighted: Decimal
    approx: bool = False
    missing: dict[str, int] = field(default_factory=dict)
    exact_amount: Decimal = Decimal(0)  # unrounded: totals add these, then round
    exact_weighted: Decimal = Decimal(0)


@dataclass(frozen=True)
class OpenTotal:
    """The open pipeline of a list of stages, all together (what totals lines show)."""

    count: int
    amount: Decimal
    weighted: Decimal
    approx: bool
    missing: dict[str, int]


def open_total(stages: list[StageTotal]) -> OpenTotal:
    """The stages' sum, rounded once, so it equals the same figure computed in one group."""
    missing: dict[str, int] = {}
    for s in stages:
        for cur, n in s.missing.items():
            missing[cur] = missing.get(cur, 0) + n
    return OpenTotal(
        count=sum(s.count for s in stages),
        amount=sum((s.exact_amount for s in stages), Decimal(0)).quantize(_CENT),
        weighted=sum((s.exact_weighted for s in stages), Decimal(0)).quantize(_CENT),
        approx=any(s.approx for s in stages),
        missing=missing,
    )


def owner_filter(
    workspace_id: int, owner_ids: list[int] | None = None, team_id: int | None = None
) -> list[ColumnElement[bool]]:
    """WHERE conditions on Deal for the scope: the workspace, some owners and/or a team."""
    return list(scope(workspace_id, owner_ids, team_id).conds)


def pipeline_by_stage(
    session: Session,
    workspace_id: int,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
    now: datetime | None = None,
) -> list[StageTotal]:
    """Open pipeline as of `now` by stage; the default pipeline's empty stages show as 0."""
    b = basis(session, workspace_id, now or FAR)
    cells = open_at(session, b, scope(workspace_id, owner_ids, team_id))
    by_stage = {stage_id: cell for (_key, stage_id), cell in cells.items()}
    stages = session.execute(
        select(Stage, Pipeline.is_default)
        .join(Pipeline, Pipeline.id == Stage.pipeline_id)
        .where(
            Stage.workspace_id == workspace_id,
            Stage.is_won.is_(False),
            Stage.is_lost.is_(False),
        )
        .order_by(Pipeline.is_default.desc(), Pipeline.id, Stage.position)
    ).all()
    totals: list[StageTotal] = []
    for stage, is_default in stages:
        cell = by_stage.get(stage.id)
        if cell is None and not is_default:
            continue  # other pipelines' stages only when they hold deals
        cell = cell or StageAmount()
        notes = cell.amount + cell.weighted
        totals.append(
            StageTotal(
                stage_id=stage.id,
                stage=stage.name,
                position=stage.position,
                probability=stage.probability,
                count=cell.amount.count,
                amount=cell.amount.amount,
                weighted=cell.weighted.amount,
                approx=notes.approx,
                missing=dict(cell.amount.missing),
                exact_amount=cell.amount.exact,
                exact_weighted=cell.weighted.exact,
            )
        )
    return totals


@dataclass(frozen=True)
class Kpis:
    """The numbers of one scope (a rep, a team, the workspace) over one period.

    Closed figures count deals closed in the period; `new_*` deals that entered the pipeline
    in it (created, or engaged when an import dates that earlier); `open_*` the pipeline
    open now. Money is in the workspace's base currency, each deal converted at the rate of its
    close day (open deals: today); see core.insight.figures for the definitions.
    """

    start: date
    end: date
    won_count: int = 0
    lost_count: int = 0
    won_amount: Decimal = Decimal("0.00")
    lost_amount: Decimal = Decimal("0.00")
    cycle_mean_days: Decimal | None = None
    cycle_median_days: Decimal | None = None
    new_count: int = 0
    new_amount: Decimal = Decimal("0.00")
    open_count: int = 0
    open_amount: Decimal = Decimal("0.00")
    open_weighted: Decimal = Decimal("0.00")
    activities: dict[str, int] = field(default_factory=dict)
    stages: list[StageFlow] = field(default_factory=list)
    quota: Decimal | None = None
    approx: bool = False  # some amount was converted from another currency ("≈")
    missing: dict[str, int] = field(default_factory=dict)  # deals left out of amounts: no rate, by currency

    @property
    def closed_count(self) -> int:
        return self.won_count + self.lost_count

    @property
    def win_rate(self) -> Decimal | None:
        """Won / (won + lost) of deals closed in the period, a fraction; None if none closed."""
        if not self.closed_count:
            return None
        return (Decimal(self.won_count) / self.closed_count).quantize(Decimal("0.0001"))

    @property
    def avg_won(self) -> Decimal | None:
        if not self.won_count:
            return None
        return (self.won_amount / self.won_count).quantize(_CENT)

    @property
    def velocity_per_day(self) -> Decimal | None:
        """Pipeline velocity: open deals x average won deal x win rate / mean cycle (per day)."""
        if self.avg_won is None or self.win_rate is None or not self.cycle_mean_days:
            return None
        value = self.open_count * self.avg_won * self.win_rate / self.cycle_mean_days
        return value.quantize(_CENT)

    @property
    def quota_remaining(self) -> Decimal | None:
        if self.quota is None:
            return None
        return max(self.quota - self.won_amount, Decimal("0.00"))

    @property
    def coverage(self) -> Decimal | None:
        """Open weighted pipeline / quota remaining (3 means three times what is left)."""
        remaining = self.quota_remaining
        if not remaining:
            return None
        return (self.open_weighted / remaining).quantize(Decimal("0.01"))

    @property
    def activity_total(self) -> int:
        return sum(self.activities.values())


def _grouped(stmt: Select[Any], key: Any) -> Select[Any]:
    return stmt if key is None else stmt.group_by(key)


def _cycle_rows(
    session: Session, conds: list[ColumnElement[bool]], lo: Any, hi: Any, key: Any
) -> dict[Any, Decimal]:
    """Mean days from start to close of won deals closed in [lo, hi), by key."""
    cycle = days_between(session, deal_start(), Deal.closed_at)
    stmt = select(*([key] if key is not None else []), func.avg(cycle)).select_from(Deal).where(
        *conds, Deal.status == DealStatus.WON, Deal.closed_at >= lo, Deal.closed_at < hi
    )
    out: dict[Any, Decimal] = {}
    for row in session.execute(_grouped(stmt, key)).all():
        k, value = (row[0], row[1]) if key is not None else (None, row[0])
        if value is not None:
            out[k] = Decimal(str(value)).quantize(Decimal("0.01"))
    return out


def _median_cycles(
    session: Session, conds: list[ColumnElement[bool]], lo: Any, hi: Any, key: Any
) -> dict[Any, Decimal]:
    """Median days from start to close of won deals closed in [lo, hi), by key (window functions)."""
    cycle = days_between(session, deal_start(), Deal.closed_at)
    part = [key] if key is not None else None
    inner = (
        select(
            *([key.label("k")] if key is not None else []),
            cycle.label("d"),
            func.row_number().over(partition_by=part, order_by=cycle).label("rn"),
            func.count().over(partition_by=part).label("n"),
        )
        .select_from(Deal)
        .where(*conds, Deal.status == DealStatus.WON, Deal.closed_at >= lo, Deal.closed_at < hi)
        .subquery()
    )
    # The middle row (odd n) or the two middle rows (even n), averaged.
    middle = inner.c.rn.between((inner.c.n + 1) // 2, (inner.c.n + 2) // 2)
    stmt = select(*([inner.c.k] if key is not None else []), func.avg(inner.c.d)).where(middle)
    if key is not None:
        stmt = stmt.group_by(inner.c.k)
    out: dict[Any, Decimal] = {}
    for row in session.execute(stmt).all():
        k, value = (row[0], row[1]) if key is not None else (None, row[0])
        if value is not None:
            out[k] = Decimal(str(value)).quantize(Decimal("0.01"))
    return out


def _activity_rows(
    session: Session, workspace_id: int, user_ids: Any, lo: Any, hi: Any, key: Any
) -> dict[Any, dict[str, int]]:
    stmt = select(*([key] if key is not None else []), Activity.kind, func.count(Activity.id)).where(
        Activity.workspace_id == workspace_id, Activity.at >= lo, Activity.at < hi
    )
    if key is not None:
        stmt = stmt.join(User, User.id == Activity.user_id)
    if user_ids is not None:
        stmt = stmt.where(Activity.user_id.in_(user_ids))
    stmt = stmt.group_by(*([key] if key is not None else []), Activity.kind)
    out: dict[Any, dict[str, int]] = {}
    for row in session.execute(stmt).all():
        k, kind, count = (row[0], row[1], row[2]) if key is not None else (None, row[0], row[1])
        out.setdefault(k, {})[str(kind.value if hasattr(kind, "value") else kind)] = int(count)
    return out


def _quota_of_period(
    session: Session, workspace_id: int, start: date, end: date, user_id: int | None, team_id: int | None
) -> Decimal | None:
    label = quarter_label(start)
    if (start, end) != label_bounds(label):
        return None  # quotas are per quarter: coverage only for a whole quarter
    found = quota_for(session, workspace_id, label, user_id=user_id, team_id=team_id)
    return found[0] if found else None


def _money_of(
    key: Any, closed: dict[Any, dict[DealStatus, Amount]], new: dict[Any, Amount], opened: dict[Any, StageAmount]
) -> dict[str, Any]:
    """The Kpis money fields of one group key, from the core figures."""
    won = closed.get(key, {}).get(DealStatus.WON, Amount())
    lost = closed.get(key, {}).get(DealStatus.LOST, Amount())
    n = new.get(key, Amount())
    o = opened.get(key, StageAmount())
    parts = [won, lost, n, o.amount, o.weighted]
    notes = total(parts)
    return dict(
        won_count=won.count, won_amount=won.amount, lost_count=lost.count, lost_amount=lost.amount,
        new_count=n.count, new_amount=n.amount, open_count=o.amount.count, open_amount=o.amount.amount,
        open_weighted=o.weighted.amount, approx=notes.approx,
        # a deal is left out once, however many of the figures it is in: the largest count says it
        missing={c: max(p.missing.get(c, 0) for p in parts) for c in notes.missing},
    )


def kpis(
    session: Session,
    workspace_id: int,
    start: date,
    end: date,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
    now: datetime | None = None,
) -> Kpis:
    """Every KPI of a rep (owner_ids), a team or the workspace over [start, end] as of `now`.

    Dates are the workspace's (its time zone); without `now` the data is taken as it stands
    (no cut-off at today, open = open now).
    """
    if end < start:
        raise InvalidInput(_("The period ends before it starts."), field="period")
    b = basis(session, workspace_id, now or FAR)
    lo, hi = b.period(start, end)
    sc = scope(workspace_id, owner_ids, team_id)
    conds = list(sc.conds)
    cycles = _cycle_rows(session, conds, lo, hi, None).get(None)
    median = _median_cycles(session, conds, lo, hi, None).get(None)
    money = _money_of(
        None, closed_in(session, b, sc, start, end), created_in(session, b, sc, start, end),
        open_totals(open_at(session, b, sc)),
    )
    if team_id is not None:
        user_ids: Any = select(User.id).where(User.team_id == team_id)
        if owner_ids is not None:
            user_ids = user_ids.where(User.id.in_(owner_ids))
    else:
        user_ids = owner_ids
    acts = _activity_rows(session, workspace_id, user_ids, lo, hi, None).get(None, {})
    only_user = owner_ids[0] if owner_ids is not None and len(owner_ids) == 1 else None
    quota = (
        _quota_of_period(session, workspace_id, start, end, only_user, team_id)
        if owner_ids is None or only_user is not None
        else None
    )
    return Kpis(
        start=start,
        end=end,
        **money,
        cycle_mean_days=cycles,
        cycle_median_days=median,
        activities=acts,
        stages=stage_flow(session, workspace_id, lo, hi, owner_ids=owner_ids, team_id=team_id).get(None, []),
        quota=quota,
    )


def kpis_by_team(
    session: Session, workspace_id: int, start: date, end: date, now: datetime | None = None
) -> dict[int, Kpis]:
    """The KPIs of every team of the workspace at once: each figure one GROUP BY team query."""
    b = basis(session, workspace_id, now or FAR)
    lo, hi = b.period(start, end)
    sc = scope(workspace_id, by_team=True)
    conds = list(sc.conds)
    key = sc.key

    def money(s: Session) -> tuple[Any, Any, Any]:
        return closed_in(s, b, sc, start, end), created_in(s, b, sc, start, end), open_totals(open_at(s, b, sc))

    def the_rest(s: Session) -> tuple[Any, Any, Any, Any]:
        return (_cycle_rows(s, conds, lo, hi, key), _median_cycles(s, conds, lo, hi, key),
                _activity_rows(s, workspace_id, None, lo, hi, key),
                stage_flow(s, workspace_id, lo, hi, by_team=True))

    # On PostgreSQL the two groups run side by side on the same snapshot (as the digest's do).
    parts = in_parallel(session, {"money": money, "rest": the_rest})
    closed, new, opened = parts["money"]
    cycles, medians, acts, flows = parts["rest"]
    label = quarter_label(start)
    quotas: dict[int, Decimal] = {}
    if (start, end) == label_bounds(label):
        for team_id, amount in session.execute(
            select(Quota.team_id, func.sum(Quota.amount_minor))
            .where(Quota.workspace_id == workspace_id, Quota.period == label, Quota.team_id.is_not(None))
            .group_by(Quota.team_id)
        ).all():
            quotas[int(team_id or 0)] = minor_to_decimal(amount)
    team_ids = set(closed) | set(new) | set(opened) | set(acts) | set(flows)
    team_ids |= set(session.scalars(select(Team.id).where(Team.workspace_id == workspace_id)))
    result: dict[int, Kpis] = {}
    for team_id in sorted(t for t in team_ids if t is not None):
        result[team_id] = Kpis(
            start=start,
            end=end,
            **_money_of(team_id, closed, new, opened),
            cycle_mean_days=cycles.get(team_id),
            cycle_median_days=medians.get(team_id),
            activities=acts.get(team_id, {}),
            stages=flows.get(team_id, []),
            quota=quotas.get(team_id),
        )
    return result


def kpis_for_period(
    session: Session,
    workspace_id: int,
    period: str,
    now: datetime,
    tz: str = "UTC",
    locale: str = "en",
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
) -> Kpis:
    """KPIs for a period as a user writes it (`this quarter`, `2026-03`, `Q3`); InvalidInput if unreadable."""
    from core.dates import parse_period  # the parser is only needed for typed periods

    start, end = parse_period(period, now, tz, locale)
    return kpis(session, workspace_id, start, end, owner_ids=owner_ids, team_id=team_id, now=now)
