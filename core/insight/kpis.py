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

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from core.deals.stage_flow import StageFlow, days_between, deal_start, stage_flow
from core.errors import InvalidInput
from core.insight.quotas import label_bounds, quarter_label, quota_for, utc_bounds
from core.tables import Activity, Deal, DealStatus, Pipeline, Quota, Stage, Team, User

WIN_RATE_DEFINITION = "win rate = won ÷ (won + lost), of deals closed in the period"

_CENT = Decimal("0.01")


def minor_to_decimal(minor: int | Decimal | None) -> Decimal:
    """Integer hundredths (or a SQL sum of them) as Decimal with two places; None is 0."""
    if minor is None:
        return Decimal("0.00")
    return (Decimal(minor) / 100).quantize(_CENT)


@dataclass(frozen=True)
class StageTotal:
    """Open deals in one stage: how many, their amount, and amount x stage probability."""

    stage_id: int
    stage: str
    position: int
    probability: int
    count: int
    amount: Decimal
    weighted: Decimal


def owner_filter(
    workspace_id: int, owner_ids: list[int] | None = None, team_id: int | None = None
) -> list[ColumnElement[bool]]:
    """WHERE conditions on Deal for the scope: the workspace, some owners and/or a team."""
    conds: list[ColumnElement[bool]] = [Deal.workspace_id == workspace_id]
    if owner_ids is not None:
        conds.append(Deal.owner_id.in_(owner_ids))
    if team_id is not None:
        conds.append(Deal.owner_id.in_(select(User.id).where(User.team_id == team_id)))
    return conds


def pipeline_by_stage(
    session: Session,
    workspace_id: int,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
) -> list[StageTotal]:
    """Open pipeline by stage (one GROUP BY); the default pipeline's empty stages show as 0."""
    weighted_minor = func.sum(Deal.amount_minor * Stage.probability)
    rows = session.execute(
        select(
            Stage.id,
            func.count(Deal.id),
            func.coalesce(func.sum(Deal.amount_minor), 0),
            func.coalesce(weighted_minor, 0),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(and_(*owner_filter(workspace_id, owner_ids, team_id)), Deal.status == DealStatus.OPEN)
        .group_by(Stage.id)
    ).all()
    by_stage = {row[0]: row for row in rows}
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
        row = by_stage.get(stage.id)
        if row is None and not is_default:
            continue  # other pipelines' stages only when they hold deals
        count, amount_minor, weighted = (row[1], row[2], row[3]) if row else (0, 0, 0)
        totals.append(
            StageTotal(
                stage_id=stage.id,
                stage=stage.name,
                position=stage.position,
                probability=stage.probability,
                count=int(count),
                amount=minor_to_decimal(amount_minor),
                # sum(minor x percent) is in ten-thousandths of a unit
                weighted=(Decimal(weighted or 0) / 10000).quantize(_CENT),
            )
        )
    return totals


@dataclass(frozen=True)
class Kpis:
    """The numbers of one scope (a rep, a team, the workspace) over one period.

    Closed figures count deals closed in the period; `new_*` deals that entered the pipeline
    in it (created, or engaged when an import dates that earlier); `open_*` the pipeline
    open now. Money is in the workspace currency (amounts are not converted).
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


def _closed_rows(
    session: Session, conds: list[ColumnElement[bool]], lo: Any, hi: Any, key: Any
) -> dict[Any, dict[str, Any]]:
    """Won/lost counts and sums and the mean cycle of deals closed in [lo, hi), by key."""
    won = Deal.status == DealStatus.WON
    cycle = days_between(session, deal_start(), Deal.closed_at)
    cols: list[Any] = [
        func.sum(case((won, 1), else_=0)),
        func.sum(case((Deal.status == DealStatus.LOST, 1), else_=0)),
        func.coalesce(func.sum(case((won, Deal.amount_minor), else_=0)), 0),
        func.coalesce(func.sum(case((Deal.status == DealStatus.LOST, Deal.amount_minor), else_=0)), 0),
        func.avg(case((won, cycle), else_=None)),
    ]
    stmt = select(*([key] if key is not None else []), *cols).select_from(Deal).where(
        *conds, Deal.status != DealStatus.OPEN, Deal.closed_at >= lo, Deal.closed_at < hi
    )
    out: dict[Any, dict[str, Any]] = {}
    for row in session.execute(_grouped(stmt, key)).all():
        k, vals = (row[0], row[1:]) if key is not None else (None, row)
        out[k] = dict(
            won_count=int(vals[0] or 0),
            lost_count=int(vals[1] or 0),
            won_amount=minor_to_decimal(vals[2]),
            lost_amount=minor_to_decimal(vals[3]),
            cycle_mean_days=None if vals[4] is None else Decimal(str(vals[4])).quantize(Decimal("0.01")),
        )
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


def _new_rows(
    session: Session, conds: list[ColumnElement[bool]], lo: Any, hi: Any, key: Any
) -> dict[Any, tuple[int, Decimal]]:
    stmt = select(
        *([key] if key is not None else []), func.count(Deal.id), func.coalesce(func.sum(Deal.amount_minor), 0)
    ).select_from(Deal).where(*conds, deal_start() >= lo, deal_start() < hi)
    out: dict[Any, tuple[int, Decimal]] = {}
    for row in session.execute(_grouped(stmt, key)).all():
        k, vals = (row[0], row[1:]) if key is not None else (None, row)
        out[k] = (int(vals[0]), minor_to_decimal(vals[1]))
    return out


def _open_rows(
    session: Session, conds: list[ColumnElement[bool]], key: Any
) -> dict[Any, tuple[int, Decimal, Decimal]]:
    stmt = (
        select(
            *([key] if key is not None else []),
            func.count(Deal.id),
            func.coalesce(func.sum(Deal.amount_minor), 0),
            func.coalesce(func.sum(Deal.amount_minor * Stage.probability), 0),
        )
        .select_from(Deal)
        .join(Stage, Stage.id == Deal.stage_id)
        .where(*conds, Deal.status == DealStatus.OPEN)
    )
    out: dict[Any, tuple[int, Decimal, Decimal]] = {}
    for row in session.execute(_grouped(stmt, key)).all():
        k, vals = (row[0], row[1:]) if key is not None else (None, row)
        out[k] = (int(vals[0]), minor_to_decimal(vals[1]), (Decimal(vals[2] or 0) / 10000).quantize(_CENT))
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


def kpis(
    session: Session,
    workspace_id: int,
    start: date,
    end: date,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
) -> Kpis:
    """Every KPI of a rep (owner_ids), a team or the workspace over [start, end] (UTC dates)."""
    if end < start:
        raise InvalidInput("The period ends before it starts.", field="period")
    lo, hi = utc_bounds(start, end)
    conds = owner_filter(workspace_id, owner_ids, team_id)
    closed = _closed_rows(session, conds, lo, hi, None).get(None, {})
    median = _median_cycles(session, conds, lo, hi, None).get(None)
    new = _new_rows(session, conds, lo, hi, None).get(None, (0, Decimal("0.00")))
    open_ = _open_rows(session, conds, None).get(None, (0, Decimal("0.00"), Decimal("0.00")))
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
        **closed,
        cycle_median_days=median,
        new_count=new[0],
        new_amount=new[1],
        open_count=open_[0],
        open_amount=open_[1],
        open_weighted=open_[2],
        activities=acts,
        stages=stage_flow(session, workspace_id, lo, hi, owner_ids=owner_ids, team_id=team_id).get(None, []),
        quota=quota,
    )


def kpis_by_team(session: Session, workspace_id: int, start: date, end: date) -> dict[int, Kpis]:
    """The KPIs of every team of the workspace at once: each figure one GROUP BY team query."""
    lo, hi = utc_bounds(start, end)
    key = User.team_id
    # Each helper selects from deals; linking the owner row supplies the team key.
    conds: list[ColumnElement[bool]] = [
        Deal.workspace_id == workspace_id,
        User.id == Deal.owner_id,
        User.team_id.is_not(None),
    ]
    closed = _closed_rows(session, conds, lo, hi, key)
    medians = _median_cycles(session, conds, lo, hi, key)
    new = _new_rows(session, conds, lo, hi, key)
    open_ = _open_rows(session, conds, key)
    acts = _activity_rows(session, workspace_id, None, lo, hi, key)
    flows = stage_flow(session, workspace_id, lo, hi, by_team=True)
    label = quarter_label(start)
    quotas: dict[int, Decimal] = {}
    if (start, end) == label_bounds(label):
        for team_id, total in session.execute(
            select(Quota.team_id, func.sum(Quota.amount_minor))
            .where(Quota.workspace_id == workspace_id, Quota.period == label, Quota.team_id.is_not(None))
            .group_by(Quota.team_id)
        ).all():
            quotas[int(team_id or 0)] = minor_to_decimal(total)
    team_ids = set(closed) | set(new) | set(open_) | set(acts) | set(flows)
    team_ids |= set(session.scalars(select(Team.id).where(Team.workspace_id == workspace_id)))
    result: dict[int, Kpis] = {}
    for team_id in sorted(t for t in team_ids if t is not None):
        n = new.get(team_id, (0, Decimal("0.00")))
        o = open_.get(team_id, (0, Decimal("0.00"), Decimal("0.00")))
        result[team_id] = Kpis(
            start=start,
            end=end,
            **closed.get(team_id, {}),
            cycle_median_days=medians.get(team_id),
            new_count=n[0],
            new_amount=n[1],
            open_count=o[0],
            open_amount=o[1],
            open_weighted=o[2],
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
    return kpis(session, workspace_id, start, end, owner_ids=owner_ids, team_id=team_id)
