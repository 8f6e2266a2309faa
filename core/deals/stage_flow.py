"""How deals move through the stages, from the change history: conversion and time in stage.

A deal "leaves" a stage when a `stage` change is recorded with that stage as its old
value. It converts when it goes on to a later stage or to Won; it does not when it is
lost or moved back. Time in stage runs from the previous stage change of that deal (or
its start, for the first stage) to the move. One window-function query (LAG) does it all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session, aliased

from core.tables import Deal, DealChange, Stage, User


@dataclass(frozen=True)
class StageFlow:
    """Deals that left one stage in the period: how many, how many went forward, how long they stayed."""

    stage: str
    position: int
    exits: int
    forward: int
    won: int
    avg_days: Decimal | None

    @property
    def conversion(self) -> Decimal | None:
        """Share of the deals leaving this stage that moved forward (a fraction)."""
        if not self.exits:
            return None
        return (Decimal(self.forward) / self.exits).quantize(Decimal("0.0001"))


def deal_start() -> ColumnElement[Any]:
    """When a deal entered the pipeline: its engagement date when earlier than its creation.

    Imported deals are created at import time but engaged long before; deals made in Slack
    have both at the same instant.
    """
    return case(
        (and_(Deal.engaged_at.is_not(None), Deal.engaged_at < Deal.created_at), Deal.engaged_at),
        else_=Deal.created_at,
    )


def days_between(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    """(end - start) in days as a SQL number, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(end) - func.julianday(start)
    return func.extract("epoch", end - start) / 86400


def days_summed(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    """sum(end - start) in days as a SQL aggregate, on SQLite and PostgreSQL.

    PostgreSQL sums the intervals and converts once per group: EXTRACT gives a numeric, and
    numeric arithmetic on every one of a million rows costs more than the interval sum.
    """
    if session.get_bind().dialect.name == "sqlite":
        return func.sum(func.julianday(end) - func.julianday(start))
    return func.extract("epoch", func.sum(end - start)) / 86400


def stage_flow(
    session: Session,
    workspace_id: int,
    lo: datetime,
    hi: datetime,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
    by_team: bool = False,
) -> dict[Any, list[StageFlow]]:
    """Conversion and time in stage of moves made in [lo, hi); keyed by team id, or None."""
    # Ordered by time only (no id tie-break): rows that tie have the same time, so LAG gives
    # the same value either way, and PostgreSQL can read the (deal_id, changed_at) index in order.
    previous = func.lag(DealChange.changed_at).over(
        partition_by=DealChange.deal_id, order_by=DealChange.changed_at
    )
    conds = [DealChange.workspace_id == workspace_id, DealChange.field == "stage", DealChange.changed_at < hi]
    first_change = session.scalar(
        select(func.min(DealChange.changed_at)).where(DealChange.workspace_id == workspace_id)
    )
    if first_change is not None and first_change < lo:
        # Only deals that moved in the period need their earlier moves (for the time in
        # stage): for a quarter, a small part of a large history. A period that covers the
        # whole history needs them all, and skips this filter.
        moved = select(DealChange.deal_id).where(
            DealChange.workspace_id == workspace_id,
            DealChange.field == "stage",
            DealChange.changed_at >= lo,
            DealChange.changed_at < hi,
        )
        conds.append(DealChange.deal_id.in_(moved.distinct()))
    moves = (
        select(
            DealChange.deal_id,
            DealChange.old_value,
            DealChange.new_value,
            DealChange.changed_at,
            previous.label("prev_at"),
        )
        .where(*conds)
        .subquery()
    )
    entered = func.coalesce(moves.c.prev_at, deal_start())
    # Aggregate the moves per (owner, pipeline, from, to) first: the stage joins and, by
    # team, the owner -> team lookup then touch a few thousand rows instead of every move.
    owner = [Deal.owner_id.label("owner")] if by_team else []
    pairs = (
        select(
            *owner,
            Deal.pipeline_id.label("pipeline_id"),
            moves.c.old_value.label("old_value"),
            moves.c.new_value.label("new_value"),
            func.count().label("n"),
            days_summed(session, entered, moves.c.changed_at).label("days"),
        )
        .select_from(moves)
        .join(Deal, Deal.id == moves.c.deal_id)
        .where(moves.c.changed_at >= lo)
    )
    if owner_ids is not None:
        pairs = pairs.where(Deal.owner_id.in_(owner_ids))
    if team_id is not None:
        pairs = pairs.where(Deal.owner_id.in_(select(User.id).where(User.team_id == team_id)))
    p = pairs.group_by(*owner, Deal.pipeline_id, moves.c.old_value, moves.c.new_value).subquery()
    old, new = aliased(Stage), aliased(Stage)
    forward = case(
        (new.is_won.is_(True), p.c.n),
        (and_(new.is_lost.is_(False), new.position > old.position), p.c.n),
        else_=0,
    )
    group = [*([User.team_id] if by_team else []), old.name, old.position]
    stmt = (
        select(
            *group,
            func.sum(p.c.n),
            func.sum(forward),
            func.sum(case((new.is_won.is_(True), p.c.n), else_=0)),
            func.sum(p.c.days) / func.sum(p.c.n),
        )
        .select_from(p)
        .join(old, and_(old.pipeline_id == p.c.pipeline_id, old.name == p.c.old_value))
        .join(new, and_(new.pipeline_id == p.c.pipeline_id, new.name == p.c.new_value))
    )
    if by_team:
        stmt = stmt.join(User, User.id == p.c.owner).where(User.team_id.is_not(None))
    stmt = stmt.group_by(*group).order_by(old.position)
    out: dict[Any, list[StageFlow]] = {}
    for row in session.execute(stmt).all():
        k, vals = (row[0], row[1:]) if by_team else (None, row)
        out.setdefault(k, []).append(
            StageFlow(
                stage=str(vals[0]),
                position=int(vals[1] or 0),
                exits=int(vals[2] or 0),
                forward=int(vals[3] or 0),
                won=int(vals[4] or 0),
                avg_days=None if vals[5] is None else Decimal(str(vals[5])).quantize(Decimal("0.1")),
            )
        )
    return out
