"""Cards that stay current: messages about a deal or a lead, updated in place when it changes.

The rule, in one place:
- A message's subjects are read from its outbox payload's data (`subjects_of`): `deal_id`,
  `lead_id`, and the `lead_id` of each of `leads`. Any message with subjects is *about* those
  deals or leads and carries Slack message metadata saying so (the bot builds it: event type
  `salesbot_deal` or `salesbot_lead`, the workspace's ids, the subject ids, never amounts).
  A new kind of message about a deal becomes one by putting `deal_id` in its data.
- A message is a *live card* when its view is also re-rendered from the database at send
  time (`LIVE_VIEWS`: the deal card, follow-up nudges, hot-lead alerts, the lead-assigned DM). Each live card
  posted is recorded (`record_posted`, in the transaction that marks it sent) with the
  subject's `revision` it shows. A log-like post about a deal (a room's "moved to Proposal")
  has subjects but is not live: it tells what happened then, and stays as it is.
- Every change a card shows bumps the subject's `revision` (core/tables.py, in one place).
  The `cards` job (`refresh_sweep`, every minute) queues one in-place update per card whose
  subject moved on, keyed by the revisions it will catch up with, so a second run or a second
  replica queues nothing more; it is sent at once (an update is not a notification: no quiet
  hours). Delivery re-renders the card with the data of that moment and records the revision
  it read (`record_updated`). Cards posted more than `MAX_AGE` ago are left as they are; a card
  Slack no longer has (deleted) is marked gone (`mark_gone`) and never tried again.

A follow-up nudge is live too: a refresh shows its deal as it is now and where its reminder
stands (done, snoozed, cancelled, or the deal closed: no buttons then), read from the reminder
row, so it agrees with what its buttons did. Morning lists and escalations are a day's list of
several deals and digests a week's figures: they say what was true when sent and stay so.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.deals.cards import CARD_VIEW
from core.deals.cards import deal_card_data as deal_only_data
from core.deals.queries import load_deal
from core.errors import InvalidInput
from core.i18n import _
from core.notify import discounts, outbox
from core.tables import (
    Card,
    CardSubject,
    Deal,
    DealStatus,
    Installation,
    Lead,
    OutboxMessage,
    OutboxStatus,
    Reminder,
    ReminderStatus,
    Workspace,
)
from core.workspace.users import Actor

MAX_AGE = timedelta(days=90)
# "Not a fit" can be undone from the lead's card this long (core.leads.leads): the card keeps
# its Undo button meanwhile, so its refresh waits the window out.
UNDO_WINDOW = timedelta(minutes=1)
CARD_UPDATES = "card_update"
# Views re-rendered from the database at send time (bot/delivery.py): only these are kept current.
NUDGE_VIEW = "nudge"
LIVE_VIEWS = frozenset({CARD_VIEW, NUDGE_VIEW, "hot_lead", "hot_lead_burst", "lead_assigned"})
_MODELS: dict[CardSubject, type[Deal] | type[Lead]] = {CardSubject.DEAL: Deal, CardSubject.LEAD: Lead}


@dataclass(frozen=True, order=True)
class Subject:
    """A deal or a lead a message is about."""

    kind: CardSubject
    id: int


def deal_card_data(session: Session, deal: Deal) -> dict[str, Any]:
    """What a deal card shows: the deal, its latest activities, and a discount waiting for approval."""
    data = deal_only_data(session, deal)
    pending = discounts.pending_discount(session, deal.id)
    if pending is not None:
        data["discount"] = discounts.view_data(pending)
    return data


def current_card(session: Session, workspace_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """A `deal_card` outbox payload with the deal as it is now (as queued if it is gone)."""
    data = payload.get("data") or {}
    deal = session.scalar(select(Deal).where(Deal.id == data.get("deal_id"), Deal.workspace_id == workspace_id))
    if deal is None:
        return payload
    return {**payload, "data": deal_card_data(session, deal)}


def current_nudge(session: Session, workspace_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """A follow-up nudge with its deal as it is now and where its reminder stands (done, snoozed,
    cancelled, or its deal closed), so a refreshed nudge drops the buttons nobody needs any more."""
    data = dict(payload.get("data") or {})
    reminder = session.scalar(select(Reminder).where(
        Reminder.id == _id(data.get("reminder_id")), Reminder.workspace_id == workspace_id))
    if reminder is None:
        return payload
    due = datetime.fromisoformat(str(data["due_at"])) if data.get("due_at") else None
    data["state"] = {
        "status": ReminderStatus(reminder.status).value,
        "due_at": reminder.due_at.isoformat(),
        "done_at": reminder.done_at.isoformat() if reminder.done_at else None,
        # Put off past the time this nudge was for: snoozed (a later nudge comes then).
        "moved": due is not None and reminder.due_at > due,
    }
    deal = session.get(Deal, reminder.deal_id) if reminder.deal_id is not None else None
    if deal is not None:
        data["deal"] = {"ref": deal.ref, "title": deal.title, "stage": deal.stage.name,
                        "amount": str(deal.amount) if deal.amount is not None else None,
                        "currency": deal.currency, "status": DealStatus(deal.status).value}
    return {**payload, "data": data}


def current_payload(session: Session, workspace_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """A deal card's or a nudge's payload rebuilt from the database (delivery calls it before each
    send or update; lead cards are rebuilt by core.leads.alerts.current_payload)."""
    view = payload.get("view")
    if view == CARD_VIEW:
        return current_card(session, workspace_id, payload)
    if view == NUDGE_VIEW:
        return current_nudge(session, workspace_id, payload)
    return payload


def _id(value: Any) -> int | None:
    return int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else None


def subjects_of(payload: dict[str, Any]) -> list[Subject]:
    """The deals and leads an outbox payload is about (none for plain text or digests)."""
    data = payload.get("data")
    if not isinstance(data, dict):
        return []
    found: list[Subject] = []
    deal_id, lead_id = _id(data.get("deal_id")), _id(data.get("lead_id"))
    if deal_id is not None:
        found.append(Subject(CardSubject.DEAL, deal_id))
    if lead_id is not None:
        found.append(Subject(CardSubject.LEAD, lead_id))
    for item in data.get("leads") or []:
        lid = _id(item.get("lead_id")) if isinstance(item, dict) else None
        if lid is not None:
            found.append(Subject(CardSubject.LEAD, lid))
    return list(dict.fromkeys(found))


def is_live(payload: dict[str, Any]) -> bool:
    """True for a card kept current (its view re-reads the database at send time)."""
    return payload.get("view") in LIVE_VIEWS and bool(subjects_of(payload))


@dataclass(frozen=True)
class WorkspaceIds:
    """The Slack ids of a workspace, for message metadata."""

    team_id: str
    enterprise_id: str | None


def workspace_ids(session: Session, workspace_id: int) -> WorkspaceIds:
    """The workspace's team id and, on an Enterprise Grid install, its enterprise id."""
    team_id = session.scalar(select(Workspace.team_id).where(Workspace.id == workspace_id)) or ""
    enterprise = session.scalar(
        select(Installation.enterprise_id).where(Installation.workspace_id == workspace_id).limit(1)
    )
    return WorkspaceIds(team_id, enterprise or None)


def revisions(session: Session, workspace_id: int, subjects: list[Subject]) -> dict[Subject, int]:
    """The current revision of each subject that still exists in the workspace.

    Read before the card's data is rendered: a change landing in between then shows up as a
    newer revision on the next sweep (one update too many at worst, never one too few).
    """
    found: dict[Subject, int] = {}
    for kind, model in _MODELS.items():
        ids = [s.id for s in subjects if s.kind == kind]
        if ids:
            for sid, rev in session.execute(
                select(model.id, model.revision).where(model.workspace_id == workspace_id, model.id.in_(ids))
            ):
                found[Subject(kind, sid)] = int(rev)
    return found


def record_posted(
    session: Session, message_id: int, workspace_id: int, channel: str, ts: str, posted_at: datetime,
    shown: dict[Subject, int],
) -> int:
    """Record a card just posted (one row per subject); call it where the message is marked sent."""
    existing = set(
        session.execute(select(Card.subject, Card.subject_id).where(Card.outbox_id == message_id)).all()
    )
    added = 0
    for subject, rev in sorted(shown.items()):
        if (subject.kind, subject.id) in existing:
            continue
        session.add(Card(workspace_id=workspace_id, outbox_id=message_id, subject=subject.kind,
                         subject_id=subject.id, channel=channel, ts=ts, posted_at=posted_at, shown_revision=rev))
        added += 1
    session.flush()
    return added


def record_updated(session: Session, message_id: int, shown: dict[Subject, int], now: datetime) -> None:
    """A card was updated in place showing these revisions (never moves a card backwards)."""
    for subject, rev in shown.items():
        session.execute(
            update(Card)
            .where(Card.outbox_id == message_id, Card.subject == subject.kind, Card.subject_id == subject.id,
                   Card.shown_revision < rev)
            .values(shown_revision=rev, updated_at=now)
        )


def mark_gone(session: Session, message_id: int, now: datetime) -> int:
    """The message is no longer in Slack (deleted): its card is never updated again."""
    result = session.execute(
        update(Card).where(Card.outbox_id == message_id, Card.gone_at.is_(None)).values(gone_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def update_key(message_id: int, behind: list[tuple[Subject, int]]) -> str:
    """The outbox key of the update that brings a card up to these revisions (one per change)."""
    seen = ",".join(f"{s.kind.value}{s.id}.{rev}" for s, rev in sorted(behind))
    return f"card:{message_id}:{hashlib.sha1(seen.encode()).hexdigest()[:16]}"


def _behind(session: Session, cutoff: datetime, limit: int) -> dict[int, list[tuple[Card, int]]]:
    """Live cards posted since `cutoff` whose subject's revision moved past the one they show."""
    by_message: dict[int, list[tuple[Card, int]]] = defaultdict(list)
    for kind, model in _MODELS.items():
        rows = session.execute(
            select(Card, model.revision)
            .join(model, and_(model.id == Card.subject_id, model.workspace_id == Card.workspace_id))
            .where(Card.subject == kind, Card.gone_at.is_(None), Card.posted_at >= cutoff,
                   model.revision > Card.shown_revision)
            .order_by(Card.id)
            .limit(limit)
        )
        for card, rev in rows.all():
            by_message[card.outbox_id].append((card, int(rev)))
    return by_message


def _undoable(session: Session, behind: dict[int, list[tuple[Card, int]]], now: datetime) -> set[int]:
    """The leads among `behind` marked "Not a fit" less than UNDO_WINDOW ago."""
    ids = {c.subject_id for rows in behind.values() for c, _rev in rows if c.subject == CardSubject.LEAD}
    if not ids:
        return set()
    found = set()
    for lead_id, undo in session.execute(
        select(Lead.id, Lead.disqualify_undo).where(Lead.id.in_(ids), Lead.disqualify_undo.is_not(None))
    ):
        at = (undo or {}).get("at")
        if at and now - datetime.fromisoformat(at) < UNDO_WINDOW:
            found.add(int(lead_id))
    return found


def refresh_sweep(session: Session, now: datetime, limit: int = 1000) -> int:
    """Queue one in-place update for each card whose deal or lead changed; returns how many.

    A card that already has an update waiting is left for the next run: that update renders
    the data of the moment it is sent, so a burst of changes costs one update per run.
    """
    behind = _behind(session, now - MAX_AGE, limit)
    if not behind:
        return 0
    waiting = {
        int(key.split(":")[1])
        for key in session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.status == OutboxStatus.PENDING,
                                            OutboxMessage.kind == CARD_UPDATES)
        )
    }
    originals = {
        m.id: m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(list(behind))))
    }
    undoable = _undoable(session, behind, now)
    queued = 0
    for message_id, rows in sorted(behind.items()):
        original = originals.get(message_id)
        if message_id in waiting or original is None:
            continue
        if any(c.subject == CardSubject.LEAD and c.subject_id in undoable for c, _rev in rows):
            continue  # its Undo button still works: the next run after the window updates it
        card = rows[0][0]
        key = update_key(message_id, [(Subject(c.subject, c.subject_id), rev) for c, rev in rows])
        payload = {
            **{k: v for k, v in (original.payload or {}).items() if k in ("view", "data")},
            "update": {"channel": card.channel, "ts": card.ts},
            "card": {"message_id": message_id},
        }
        queued += outbox.enqueue(session, card.workspace_id, key, CARD_UPDATES, card.channel, payload, now)
    return queued


def card_message_id(payload: dict[str, Any]) -> int | None:
    """The outbox id of the card an update payload brings up to date (None: not a card update)."""
    card = payload.get("card")
    return _id(card.get("message_id")) if isinstance(card, dict) else None


# -- sharing a deal's card in a channel (`/deal share`) ----------------------------------------

SHARED_CARDS = "deal_share"
SHARE_FAILED_VIEW = "card_share_failed"


@dataclass(frozen=True)
class SharedCard:
    """A deal card queued for a channel: which deal, and whether it was new (not a repeat)."""

    ref: str
    title: str
    queued: bool


def share_deal(uow: UnitOfWork, actor: Actor, ref: str, channel: str, now: datetime) -> SharedCard:
    """Queue the deal's live card for `channel` (a card any reader of the deal may post).

    The same deal shared in the same channel within the same minute is queued once (a
    double-submitted command). If Slack refuses the post (the bot is not in the channel),
    the sharer is told by DM (`failure_notice`).
    """
    if not channel:
        raise InvalidInput(_("Run `/deal share` in the channel where the card should go."))
    with uow.transaction() as session:
        deal = load_deal(session, actor, ref, for_change=False)
        payload = {
            "view": CARD_VIEW,
            "data": deal_card_data(session, deal),
            "tell_on_failure": {"user": actor.slack_id, "ref": deal.ref, "channel": channel},
        }
        key = f"share:{deal.id}:{channel}:{now.strftime('%Y%m%dT%H%M')}"
        queued = outbox.enqueue(session, actor.workspace_id, key, SHARED_CARDS, channel, payload, now)
        return SharedCard(deal.ref, deal.title, queued)


def failure_notice(session: Session, workspace_id: int, payload: dict[str, Any], reason: str, now: datetime) -> bool:
    """Tell the sharer of a card that Slack refused it (by DM, in their language); False if nobody asked."""
    tell = payload.get("tell_on_failure")
    if not isinstance(tell, dict) or not tell.get("user"):
        return False
    data = {"ref": tell.get("ref"), "channel": tell.get("channel"), "reason": reason}
    key = f"share-failed:{tell.get('channel')}:{tell.get('ref')}:{now.strftime('%Y%m%dT%H%M%S')}"
    return outbox.enqueue(session, workspace_id, key[:outbox.MAX_KEY], "card_share_failed", str(tell["user"]),
                          {"view": SHARE_FAILED_VIEW, "data": data}, now)
