"""Deal room settings (`/salesbot setup`): when a deal gets its room without being asked (core.deals.rooms).

Uses core.workspace and the kernel.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.deals.queries import stage_named
from core.errors import InvalidInput
from core.i18n import N_, _
from core.money import Money, check_currency, to_minor
from core.tables import Deal, DealStatus, Stage, WorkspaceConfig
from core.workspace.rates import RateBook
from core.workspace.users import Actor, require_admin
from core.workspace.workspaces import default_pipeline, stages_of

# WorkspaceConfig: {"stage_id": id | None, "min_amount": {"amount", "currency"} | None}; the stage by id, so
# renaming it (or the stages following a new language) keeps the rule.
CONFIG = "deal_rooms"


# -- settings (`/salesbot setup`) ----------------------------------------------------------------


@dataclass(frozen=True)
class RoomSettings:
    """When a room is made without being asked for: at `stage` (or a later one), or from `min_amount`."""

    stage: str | None = None
    min_amount: Money | None = None
    stage_id: int | None = None

    @property
    def automatic(self) -> bool:
        return self.stage is not None or self.min_amount is not None


def room_settings(session: Session, workspace_id: int) -> RoomSettings:
    """The workspace's automatic-room settings (none: rooms only on request)."""
    data = session.scalar(select(WorkspaceConfig.data).where(
        WorkspaceConfig.workspace_id == workspace_id, WorkspaceConfig.name == CONFIG)) or {}
    amount = data.get("min_amount")
    money = Money(Decimal(amount["amount"]), amount["currency"]) if amount else None
    stage = session.get(Stage, data["stage_id"]) if data.get("stage_id") else None
    return RoomSettings(stage.name if stage else None, money, stage.id if stage else None)


def read_room_settings(uow: UnitOfWork, actor: Actor) -> RoomSettings:
    """The settings as `/salesbot setup` shows them."""
    with uow.read() as session:
        return room_settings(session, actor.workspace_id)


def save_room_settings(uow: UnitOfWork, actor: Actor, stage: str | None, min_amount: Money | None, *,
                       now: datetime) -> RoomSettings:
    """Set when rooms are made automatically (admins). A bad value names its field and saves nothing."""
    require_admin(actor, N_("set up deal rooms"))
    with uow.transaction() as session:
        found: Stage | None = None
        if stage and stage.strip():
            found = _open_stage(session, actor.workspace_id, stage.strip())
        if min_amount is not None:
            if min_amount.amount <= 0:
                raise InvalidInput(_("The room amount must be above zero (or empty: no amount rule)."),
                                   field="room_amount")
            check_currency(min_amount.currency, field="room_amount")
        data: dict[str, Any] = {
            "stage_id": found.id if found else None,
            "min_amount": {"amount": str(min_amount.amount), "currency": min_amount.currency} if min_amount else None,
        }
        row = session.scalar(select(WorkspaceConfig).where(
            WorkspaceConfig.workspace_id == actor.workspace_id, WorkspaceConfig.name == CONFIG))
        if row is None:
            session.add(WorkspaceConfig(workspace_id=actor.workspace_id, name=CONFIG, data=data, updated_at=now))
        else:
            row.data, row.updated_at = data, now
        return RoomSettings(found.name if found else None, min_amount, found.id if found else None)


def parse_room_amount(text: str | None, currency: str) -> Money | None:
    """A plain amount typed in the setup modal (`50000`, `50000 EUR`); None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    parts = text.replace(",", "").split()
    try:
        amount = Decimal(parts[0])
    except (InvalidOperation, IndexError):
        raise InvalidInput(_('"{text}" is not an amount; write e.g. 50000 or 50000 EUR.').format(text=text),
                           field="room_amount") from None
    if len(parts) > 2 or not amount.is_finite():
        raise InvalidInput(_('"{text}" is not an amount; write e.g. 50000 or 50000 EUR.').format(text=text),
                           field="room_amount")
    return Money(amount, parts[1].upper() if len(parts) == 2 else currency)


def _open_stage(session: Session, workspace_id: int, name: str) -> Stage:
    pipeline = default_pipeline(session, workspace_id)
    open_names = ", ".join(s.name for s in stages_of(session, pipeline.id) if not s.is_terminal)
    try:
        found = stage_named(session, pipeline.id, name)
    except InvalidInput:
        found = None
    if found is None or found.is_terminal:
        raise InvalidInput(_('"{name}" is not an open stage; pick one of {stages}.').format(
            name=name, stages=open_names), field="room_stage")
    return found


def wants_room(session: Session, deal: Deal, settings: RoomSettings, now: datetime) -> bool:
    """Whether the deal is at or past the room stage, or at or above the room amount."""
    if deal.status != DealStatus.OPEN or not settings.automatic:
        return False
    if settings.stage_id is not None:
        ids = [s.id for s in stages_of(session, deal.pipeline_id) if not s.is_terminal]
        if settings.stage_id in ids and deal.stage_id in ids[ids.index(settings.stage_id):]:
            return True
    if settings.min_amount is not None and deal.amount_minor is not None:
        book = RateBook.load(session, deal.workspace_id)
        today = now.date()
        have = book.to_base(deal.amount_minor, deal.currency, today)
        need = book.to_base(to_minor(settings.min_amount.amount), settings.min_amount.currency, today)
        if have is not None and need is not None and have >= need:
            return True
    return False
