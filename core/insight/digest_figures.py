"""The SQL behind the weekly digest's lists and counts: each an aggregate over all teams at once.

The digest's money figures (won, lost, new, the quarter, the open pipeline now and a week
ago) are core.insight.figures', shared with every surface. Here: the slipped and stale
totals (one scan grouped by team and currency, converted), one window query for the
ranked lists, the stage moves, the activity and the quotas. Rows come back grouped (a few
hundred), never one per deal; results are keyed by team id (or 0 for the whole workspace).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, case, false, func, literal, or_, select, text
from sqlalchemy.orm import Session, aliased

from core.deals.queries import stale_clause
from core.insight.figures import Amount, Basis, OpenNow, no_jit, open_now
from core.money import from_minor
from core.tables import (
    Activity,
    Deal,
    DealChange,
    Pipeline,
    Quota,
    Reminder,
    Stage,
    User,
)
from core.text import sort_key

LISTED = 10
TOP_DEALS = 5
ACTIVITY_KINDS = ("call", "email", "meeting", "demo", "proposal")


@dataclass(frozen=True)
class DealLine:
    """A deal as a digest lists it."""

    ref: str
    title: str
    owner: str
    owner_slack_id: str | None
    stage: str
    amount: Decimal | None  # in the deal's own currency
    expected_close: date | None
    idle_days: int
    currency: str = "USD"


@dataclass(frozen=True)
class Move:
    """Deals moved from one stage to another in the week."""

    from_stage: str
    to_stage: str
    count: int


@dataclass(frozen=True)
class RepActivity:
    """A rep's logged activities in the week, by kind."""

    name: str
    slack_id: str | None
    counts: dict[str, int]


def _minor(value: Any) -> Decimal:
    return from_minor(int(value or 0))


def team_key(grouped: bool) -> Any:
    """Group by the owner's team, or everything under key 0 (the whole workspace)."""
    return User.team_id if grouped else literal(0)


def _scope(query: Any, ws_id: int, team_ids: list[int] | None) -> Any:
    query = query.join(User, User.id == Deal.owner_id).where(Deal.workspace_id == ws_id)
    return query.where(User.team_id.in_(team_ids)) if team_ids is not None else query


def _stale(on: OpenNow, rotting: list[tuple[int, int]], now: datetime) -> Any:
    """core.deals.queries.stale_clause on the stage and last touch as of now (see figures.open_now)."""
    if on.then is None:
        return stale_clause(rotting, now)
    parts = [and_(on.stage_id == stage_id, on.last_touch_at < now - timedelta(days=days))
             for stage_id, days in rotting if days > 0]
    return or_(*parts) if parts else false()


def _rotting(session: Session, ws_id: int) -> list[tuple[int, int]]:
    rows = session.execute(select(Stage.id, Stage.rotting_days).where(Stage.workspace_id == ws_id)).all()
    return [(int(i), int(d)) for i, d in rows]


def _future_reminders(now: datetime) -> Any:
    """Deals with a live reminder due after `now` (a scheduled next step), as a derived table."""
    return (
        select(Reminder.deal_id.label("deal_id"))
        .where(Reminder.deal_id.is_not(None), Reminder.status.in_(("pending", "snoozed")), Reminder.due_at > now)
        .distinct()
        .subquery()
    )


@dataclass(frozen=True)
class Window:
    """The moments a digest is about."""

    now: datetime
    start: datetime  # the week's first instant: Monday 00:00 in the reader's zone
    end: datetime  # the week's end: the next Monday 00:00
    today: date  # in the reader's zone (slipped = expected close before today)


_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")


def in_parallel(session: Session, jobs: dict[str, Callable[[Session], Any]]) -> dict[str, Any]:
    """Run read-only query groups, on PostgreSQL side by side on their own connections.

    Every connection imports the snapshot of `session`'s transaction (pg_export_snapshot),
    so the figures agree as if read by one query. Elsewhere (SQLite) they run one by one.
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or not isinstance(bind, Engine) or len(jobs) < 2:
        _sort_in_memory(session)
        return {name: job(session) for name, job in jobs.items()}
    snapshot = str(session.execute(text("SELECT pg_export_snapshot()")).scalar_one())
    if not _SNAPSHOT_ID.match(snapshot):  # it goes into SQL text below: never anything else
        raise RuntimeError(f"unexpected snapshot id {snapshot!r}")

    def run(job: Callable[[Session], Any]) -> Any:
        with bind.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            conn.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
            with Session(bind=conn) as worker:
                _sort_in_memory(worker)
                return job(worker)

    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="digest") as pool:
        # each job in a copy of this context: a text built there is in the reader's language
        futures = {name: pool.submit(copy_context().run, run, job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def _sort_in_memory(session: Session) -> None:
    no_jit(session)
    if session.get_bind().dialect.name == "postgresql":
        # The ranked lists sort ~100k rows: keep those sorts in memory, in this transaction only.
        session.execute(text("SET LOCAL work_mem = '64MB'"))


def risk_totals(
    session: Session, b: Basis, team_ids: list[int] | None, grouped: bool, w: Window
) -> dict[str, dict[Any, Amount]]:
    """Slipped and stale open deals per team: one scan grouped by (team, currency), converted at today's rate.

    Returns {"slipped"|"stale": {team: Amount}}. The open deals, their stage, amount and last
    touch are the open pipeline's as of now (core.insight.figures.open_now).
    """
    fr = _future_reminders(w.now)
    rotting = _rotting(session, b.workspace_id)
    on = open_now(session, b.workspace_id, w.now, b.later(session))
    is_open = on.is_open
    conds = {
        "slipped": and_(is_open, on.expected_close.is_not(None), on.expected_close < w.today),
        "stale": and_(is_open, _stale(on, rotting, w.now), fr.c.deal_id.is_(None)),
    }
    key = team_key(grouped)
    columns: list[Any] = []
    for cond in conds.values():
        columns += [func.count(Deal.id).filter(cond), func.sum(on.amount_minor).filter(cond)]
    query = (
        on.join(select(key, Deal.currency, *columns).select_from(Deal))
        .outerjoin(fr, fr.c.deal_id == Deal.id)
        .where(is_open, *([Deal.created_at <= w.now] if on.then is None else []))
        .group_by(key, Deal.currency)
    )
    out: dict[str, dict[Any, Amount]] = {name: {} for name in conds}
    for row in session.execute(_scope(query, b.workspace_id, team_ids)).all():
        team, currency, values = row[0], row[1], row[2:]
        for i, name in enumerate(conds):
            n, minor = int(values[2 * i] or 0), int(values[2 * i + 1] or 0)
            if n:
                out[name].setdefault(team, Amount()).put(b.book, currency, b.today, n, minor)
    return out


def ranked_lists(
    session: Session, ws_id: int, team_ids: list[int] | None, grouped: bool, w: Window
) -> dict[str, dict[Any, list[DealLine]]]:
    """Per team: the first slipped (by close date), stale (longest idle) and biggest open deals.

    One scan of the open deals; three window rankings push the wanted deals first.
    """
    fr = _future_reminders(w.now)
    rotting = _rotting(session, ws_id)
    on = open_now(session, ws_id, w.now)  # the open deals as of now, as every surface counts them
    key = team_key(grouped)
    slipped = and_(on.expected_close.is_not(None), on.expected_close < w.today)
    stale = and_(_stale(on, rotting, w.now), fr.c.deal_id.is_(None))

    def first(cond: Any, *order: Any) -> Any:
        return func.row_number().over(partition_by=key, order_by=(case((cond, 0), else_=1), *order, Deal.number))

    # The deal's own columns ride along, so no second visit to the deals table is needed.
    inner = _scope(
        on.join(select(
            key.label("team"), Deal.number, Deal.title, on.amount_minor.label("amount_minor"),
            on.expected_close.label("expected_close"),
            on.last_touch_at.label("last_touch_at"), on.stage_id.label("stage_id"), Deal.owner_id, Deal.currency,
            case((slipped, 1), else_=0).label("is_slipped"), case((stale, 1), else_=0).label("is_stale"),
            first(slipped, on.expected_close).label("r_slipped"),
            first(stale, on.last_touch_at).label("r_stale"),
            func.row_number().over(partition_by=key, order_by=(on.amount_minor.desc().nulls_last(), Deal.number))
            .label("r_top"),
        ).select_from(Deal))
        .outerjoin(fr, fr.c.deal_id == Deal.id)
        .where(on.is_open, *([Deal.created_at <= w.now] if on.then is None else [])),
        ws_id,
        team_ids,
    ).subquery()
    owner = aliased(User)
    rows = session.execute(
        select(inner.c.team, inner.c.is_slipped, inner.c.is_stale, inner.c.r_slipped, inner.c.r_stale, inner.c.r_top,
               inner.c.number, inner.c.title, inner.c.amount_minor, inner.c.currency, inner.c.expected_close,
               inner.c.last_touch_at,
               Stage.name, owner.name, owner.slack_id)
        .join(Stage, Stage.id == inner.c.stage_id)
        .outerjoin(owner, owner.id == inner.c.owner_id)
        .where(or_(and_(inner.c.is_slipped == 1, inner.c.r_slipped <= LISTED),
                   and_(inner.c.is_stale == 1, inner.c.r_stale <= LISTED), inner.c.r_top <= TOP_DEALS))
    ).all()
    ranked: dict[str, list[tuple[Any, int, DealLine]]] = {"slipped": [], "stale": [], "top": []}
    for team, is_slipped, is_stale, r_slipped, r_stale, r_top, number, title, amount, currency, close, touched, \
            stage, owner, slack_id in rows:
        line = DealLine(
            ref=f"D-{number}", title=title, owner=owner or "", owner_slack_id=slack_id, stage=stage,
            amount=None if amount is None else _minor(amount), currency=currency, expected_close=close,
            idle_days=max(0, (w.now - touched).days),
        )
        if is_slipped and r_slipped <= LISTED:
            ranked["slipped"].append((team, r_slipped, line))
        if is_stale and r_stale <= LISTED:
            ranked["stale"].append((team, r_stale, line))
        if r_top <= TOP_DEALS:
            ranked["top"].append((team, r_top, line))
    out: dict[str, dict[Any, list[DealLine]]] = {}
    for name, items in ranked.items():
        by_team: dict[Any, list[DealLine]] = {}
        for team, _rank, line in sorted(items, key=lambda x: (x[0], x[1])):
            by_team.setdefault(team, []).append(line)
        out[name] = by_team
    return out


def stage_moves(
    session: Session, ws_id: int, ids: list[int] | None, grouped: bool, start: datetime, end: datetime
) -> dict[Any, list[Move]]:
    key = team_key(grouped)
    query = (
        select(key, DealChange.old_value, DealChange.new_value, func.count(DealChange.id))
        .select_from(DealChange)
        .join(Deal, Deal.id == DealChange.deal_id)
        .where(DealChange.field == "stage", DealChange.changed_at >= start, DealChange.changed_at < end,
               DealChange.source != "import")  # an import is not a move made this week
    )
    query = _scope(query, ws_id, ids).group_by(key, DealChange.old_value, DealChange.new_value)
    out: dict[Any, list[Move]] = {}
    for team, old, new, n in session.execute(query).all():
        out.setdefault(team, []).append(Move(old or "", new or "", int(n)))
    for moves in out.values():
        moves.sort(key=lambda m: (-m.count, m.from_stage, m.to_stage))
    return out


def team_quotas(session: Session, ws_id: int, ids: list[int] | None, grouped: bool, period: str) -> dict[Any, Decimal]:
    """A team's quota for the quarter: its own, else the sum of its reps' quotas."""
    team_rows = session.execute(
        select(Quota.team_id, func.sum(Quota.amount_minor))
        .where(Quota.workspace_id == ws_id, Quota.period == period, Quota.team_id.is_not(None))
        .group_by(Quota.team_id)
    ).all()
    key = team_key(grouped)
    rep_rows = session.execute(
        select(key, func.sum(Quota.amount_minor))
        .join(User, User.id == Quota.user_id)
        .where(Quota.workspace_id == ws_id, Quota.period == period, Quota.user_id.is_not(None))
        .group_by(key)
    ).all()
    out = {team: _minor(total) for team, total in rep_rows}
    if grouped:
        out.update({team: _minor(total) for team, total in team_rows})
    elif team_rows:
        out[0] = sum((_minor(t) for _, t in team_rows), Decimal("0.00"))
    return out



def activity_by_rep(
    session: Session, ws_id: int, ids: list[int] | None, grouped: bool, start: datetime, end: datetime
) -> dict[Any, list[RepActivity]]:
    """Each rep's activities in [start, end) by kind: counted by (user, kind), named afterwards."""
    counts = session.execute(
        select(Activity.user_id, Activity.kind, func.count(Activity.id))
        .where(Activity.workspace_id == ws_id, Activity.at >= start, Activity.at < end, Activity.user_id.is_not(None))
        .group_by(Activity.user_id, Activity.kind)
    ).all()
    # Every user of the workspace in one plain query: cheaper than an IN list of thousands.
    users_query = select(User.id, User.team_id, User.name, User.slack_id).where(User.workspace_id == ws_id)
    users = {uid: (team if grouped else 0, name, slack) for uid, team, name, slack in session.execute(users_query)}
    reps: dict[Any, dict[int, RepActivity]] = {}
    for uid, kind, n in counts:
        team, name, slack_id = users.get(uid, (None, "", None)) if uid is not None else (None, "", None)
        if team is None or (ids is not None and team not in ids):
            continue
        blank = RepActivity(name, slack_id, dict.fromkeys(ACTIVITY_KINDS, 0))
        rep = reps.setdefault(team, {}).setdefault(int(uid or 0), blank)
        kind_name = str(getattr(kind, "value", kind))
        if kind_name in rep.counts:
            rep.counts[kind_name] += int(n)
    return {
        team: sorted(by_rep.values(), key=lambda r: (-sum(r.counts.values()), sort_key(r.name)))
        for team, by_rep in reps.items()
    }


def stage_rows(session: Session, ws_id: int) -> list[tuple[int, str, int, bool]]:
    """Open stages in display order: (id, name, probability, in the default pipeline)."""
    rows = session.execute(
        select(Stage.id, Stage.name, Stage.probability, Pipeline.is_default)
        .join(Pipeline, Pipeline.id == Stage.pipeline_id)
        .where(Stage.workspace_id == ws_id, Stage.is_won.is_(False), Stage.is_lost.is_(False))
        .order_by(Pipeline.is_default.desc(), Pipeline.id, Stage.position)
    ).all()
    return [(i, n, p, bool(d)) for i, n, p, d in rows]
