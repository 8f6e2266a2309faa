"""Deal cards: the plain data of a deal as a posted message shows it.

A message posted about a deal (a room's pinned card, a shared card) stores this data in its
outbox payload; the bot's view `deal_card` renders it. core.notify.cards adds what other
modules know of the deal (a discount waiting for approval) and refreshes it. The data is built again from the
database whenever the card is (re)sent or updated in place, so a card shows the deal as it is
now. Plain JSON only (strings, numbers, lists), as the outbox payload is a JSON column.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.deals.queries import ActivityView, DealView, deal_view, latest_activities
from core.tables import ActivityKind, Deal, DealStatus, Workspace

CARD_VIEW = "deal_card"
CARD_ACTIVITIES = 5  # the latest activities a card lists
_DATES = ("expected_close",)
_TIMES = ("created_at", "updated_at", "closed_at", "last_touch_at")
_DECIMALS = ("amount", "weighted")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, DealStatus | ActivityKind):
        return value.value
    return value


def deal_card_data(session: Session, deal: Deal) -> dict[str, Any]:
    """What a deal card shows: the deal, its latest activities and the workspace's time zone."""
    activities = latest_activities(session, deal, CARD_ACTIVITIES)
    tz = session.scalar(select(Workspace.timezone).where(Workspace.id == deal.workspace_id)) or "UTC"
    return {
        "deal_id": deal.id,
        "deal": {k: _plain(v) for k, v in asdict(deal_view(deal)).items()},
        "activities": [{k: _plain(v) for k, v in asdict(a).items()} for a in activities],
        "tz": tz,
    }


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def card_deal(data: dict[str, Any]) -> DealView:
    """The DealView a card's data holds (the inverse of `deal_card_data`)."""
    fields = dict(data["deal"])
    for name in _DECIMALS:
        fields[name] = None if fields.get(name) is None else Decimal(fields[name])
    for name in _DATES:
        fields[name] = date.fromisoformat(fields[name]) if fields.get(name) else None
    for name in _TIMES:
        fields[name] = _time(fields.get(name))
    fields["status"] = DealStatus(fields["status"])
    return DealView(**fields)


def card_activities(data: dict[str, Any]) -> list[ActivityView]:
    """The activities a card's data holds, newest first."""
    out = []
    for item in data.get("activities") or []:
        fields = dict(item)
        fields["kind"] = ActivityKind(fields["kind"])
        fields["at"] = _time(fields["at"])
        out.append(ActivityView(**fields))
    return out

