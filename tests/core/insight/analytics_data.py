"""Small deal histories written straight into the tables, for the analytics tests.

The analytics read what the deals service writes (deals + deal_changes); writing the rows
here keeps these tests independent of the service while it changes, and lets a test
place a deal's creation, stage moves and close anywhere in the past.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.tables import Activity, ActivityKind, Deal, DealChange, DealStatus, Stage, Workspace
from core.workspace.users import Actor
from core.workspace.workspaces import default_pipeline


def at(d: date, hour: int = 12) -> datetime:
    """Noon UTC on a day."""
    return datetime.combine(d, time(hour), tzinfo=UTC)


def stage_named(s: Session, workspace_id: int, name: str) -> Stage:
    pipeline = default_pipeline(s, workspace_id)
    stage = s.scalar(select(Stage).where(Stage.pipeline_id == pipeline.id, Stage.name == name))
    assert stage is not None, name
    return stage


def add_deal(
    uow: UnitOfWork,
    owner: Actor,
    amount: str | None,
    *,
    created: date,
    stage: str = "Prospecting",
    moves: list[tuple[date, str]] | None = None,
    won: date | None = None,
    lost: date | None = None,
    expected_close: date | None = None,
    engaged: date | None = None,
    title: str = "Deal",
) -> int:
    """A deal created on `created` in `stage`, moved through `moves`, maybe closed; its id."""
    with uow.transaction() as s:
        ws = s.get(Workspace, owner.workspace_id)
        assert ws is not None
        number = (s.scalar(select(func.max(Deal.number)).where(Deal.workspace_id == ws.id)) or 0) + 1
        first = stage_named(s, ws.id, stage)
        deal = Deal(
            workspace_id=ws.id,
            number=number,
            title=f"{title} {number}",
            amount_minor=None if amount is None else int(Decimal(amount) * 100),
            currency="USD",
            pipeline_id=first.pipeline_id,
            stage_id=first.id,
            status=DealStatus.OPEN,
            owner_id=owner.user_id,
            expected_close=expected_close,
            created_at=at(created),
            engaged_at=at(engaged) if engaged else at(created),
            updated_at=at(created),
            last_touch_at=at(created),
        )
        s.add(deal)
        s.flush()
        current = first
        steps = list(moves or [])
        if won:
            steps.append((won, "Won"))
        if lost:
            steps.append((lost, "Lost"))
        for when, name in steps:
            nxt = stage_named(s, ws.id, name)
            s.add(
                DealChange(
                    workspace_id=ws.id,
                    deal_id=deal.id,
                    field="stage",
                    old_value=current.name,
                    new_value=nxt.name,
                    changed_by_id=owner.user_id,
                    changed_at=at(when),
                    source="slack",
                )
            )
            current = nxt
            deal.stage_id = nxt.id
            if nxt.is_won or nxt.is_lost:
                deal.status = DealStatus.WON if nxt.is_won else DealStatus.LOST
                deal.closed_at = at(when)
        s.flush()
        return deal.id


def add_activity(uow: UnitOfWork, owner: Actor, deal_id: int, kind: ActivityKind, when: date) -> None:
    with uow.transaction() as s:
        s.add(
            Activity(
                workspace_id=owner.workspace_id,
                deal_id=deal_id,
                kind=kind,
                user_id=owner.user_id,
                at=at(when),
                text="",
                created_at=at(when),
            )
        )


def days(n: int) -> timedelta:
    return timedelta(days=n)
