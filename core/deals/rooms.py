"""Deal rooms (issue 15 point 3): a private Slack channel per deal, kept by the outbox.

Life of a room (`DealRoom.state`): creating (asked for by `/deal room`, or automatically when a
deal reaches the stage or amount set in `/salesbot setup`) -> open (delivery created the
channel, invited the people, pinned the deal card) -> archived (the deal closed: renamed
`-won` / `-lost`, archived) -> open again when the deal reopens. Slack may refuse to create
it: failed, with the reason; `/deal room` again retries.

Every Slack step is an outbox row of kind `deal_room` (`{"op": "room_create" | "room_invite" |
"room_sync", "room_id": ...}`) so it happens once, even with two replicas or a crash; delivery
(bot/rooms_delivery.py) reads what to do from here (`room_target`) and writes each result back
(`room_created`, `room_refused`, `room_synced`) before the next step. `room_sync` is not "rename"
or "archive" but "make the channel match the deal as it is now", so steps queued by a close and
a reopen can never be applied in the wrong order.

What happens on the deal (stage moves, notes and activities, reminders, closing) reaches this
module through one hook, `on_deal_event`, called by core.deals.deals and core.notify.reminders;
when a room is made unasked is core.deals.room_settings.

Uses core.workspace and the kernel.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.deals.cards import CARD_VIEW, deal_card_data
from core.deals.queries import load_deal
from core.deals.room_settings import room_settings, wants_room
from core.errors import InvalidInput
from core.i18n import _
from core.outbox_enqueue import enqueue
from core.tables import (
    Deal,
    DealRoom,
    DealStatus,
    Reminder,
    ReminderStatus,
    RoomState,
    Team,
    User,
    Workspace,
)
from core.words import status_word
from core.workspace.users import Actor

ROOM_STEP = "deal_room"  # outbox kind of a room's Slack steps (bot/rooms_delivery.py)
EVENT_VIEW = "room_event"  # a short post into the room about the deal
FAILED_VIEW = "room_failed"  # the DM telling who asked that Slack refused the room
NOT_INVITED_VIEW = "room_not_invited"  # the DM telling who asked that some people could not be invited
MAX_NAME = 80  # Slack's limit for a channel name
PREFIX = "deal-"
MAX_SUFFIX = 9  # name, name-2 ... name-9; then the deal's number
_TURKISH = str.maketrans({"ı": "i", "İ": "i", "ş": "s", "Ş": "s", "ğ": "g", "Ğ": "g", "ü": "u", "Ü": "u",
                          "ö": "o", "Ö": "o", "ç": "c", "Ç": "c"})
_NOT_ALLOWED = re.compile(r"[^a-z0-9_-]+")
_HYPHENS = re.compile(r"-{2,}")


# -- names -------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    text = text.translate(_TURKISH)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
    text = _NOT_ALLOWED.sub("-", text)
    return _HYPHENS.sub("-", text).strip("-_")


def _fit(name: str, limit: int = MAX_NAME) -> str:
    return name[:limit].rstrip("-_")


def room_name(title: str, account: str | None = None, number: int | None = None) -> str:
    """The channel name of a deal: `deal-acme-renewal` (Slack's rules: at most 80 characters of
    lower-case letters, digits, hyphens and underscores; Turkish letters spelled in Latin ones).

    The account leads when the title does not already say it; a title of no usable letters
    gives `deal-<number>`.
    """
    slug = _slug(title)
    account_slug = _slug(account or "")
    if account_slug and f"-{account_slug}-" not in f"-{slug}-":  # "GTXPro - Dontechi" says its account
        slug = f"{account_slug}-{slug}".strip("-")
    if not slug:
        slug = str(number) if number is not None else "room"
    return _fit(PREFIX + slug)


def with_suffix(name: str, suffix: str) -> str:
    """`name-suffix`, shortened first so that the whole stays within Slack's 80 characters."""
    return _fit(name, MAX_NAME - len(suffix) - 1) + "-" + suffix


def name_candidates(name: str, number: int) -> list[str]:
    """The names tried in turn when Slack answers name_taken: name, name-2 ... name-9, name-d<number>."""
    return [name, *(with_suffix(name, str(n)) for n in range(2, MAX_SUFFIX + 1)), with_suffix(name, f"d{number}")]


def closed_name(name: str, status: DealStatus) -> str:
    """The name of the room of a closed deal: `<name>-won` / `<name>-lost`."""
    return with_suffix(name, "won" if status == DealStatus.WON else "lost")


# -- asking for a room -------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomAnswer:
    """What `/deal room` did: made (or retried) a room, or found one, and whom it invited."""

    deal_ref: str
    name: str
    state: RoomState
    channel_id: str | None
    created: bool  # a room is being made now (new, or retried after Slack refused)
    invited: tuple[str, ...] = ()  # Slack ids newly asked to join an existing room


def _members(session: Session, deal: Deal, extra: list[str]) -> list[str]:
    """Slack ids of the owner, their team's manager, then `extra`, once each, in that order."""
    ids: list[str] = []
    owner = session.get(User, deal.owner_id) if deal.owner_id else None
    if owner is not None:
        ids.append(owner.slack_id or "")
        if owner.team_id is not None:
            team = session.get(Team, owner.team_id)
            manager = session.get(User, team.manager_id) if team and team.manager_id else None
            if manager is not None:
                ids.append(manager.slack_id or "")
    ids.extend(extra)
    return list(dict.fromkeys(i for i in ids if i))


def request_room(uow: UnitOfWork, actor: Actor, ref: str, named: list[str], *, now: datetime) -> RoomAnswer:
    """`/deal room <ref> [@people]`: make the deal's room, or invite the people named to the one it has.

    Only someone who may change the deal asks (SPEC section 7); a closed deal gets no room.
    """
    with uow.transaction() as session:
        deal = load_deal(session, actor, ref, for_change=True)
        if deal.status != DealStatus.OPEN:
            raise InvalidInput(_("{ref} is {status}: rooms are for open deals. `/deal reopen {ref}` opens it "
                                 "again.").format(ref=deal.ref, status=status_word(deal.status)))
        room = session.scalar(select(DealRoom).where(DealRoom.deal_id == deal.id))
        if room is not None and room.state != RoomState.FAILED:
            invited = _invite(session, room, named, now)
            return RoomAnswer(deal.ref, room.name, room.state, room.channel_id, False, tuple(invited))
        members = _members(session, deal, [*([actor.slack_id] if actor.slack_id else []), *named])
        started = _start(session, deal, room, members, actor.user_id, now)
        if started is None:  # another request made it a moment ago: that room it is
            room = session.scalar(select(DealRoom).where(DealRoom.deal_id == deal.id))
            assert room is not None
            invited = _invite(session, room, named, now)
            return RoomAnswer(deal.ref, room.name, room.state, room.channel_id, False, tuple(invited))
        return RoomAnswer(deal.ref, started.name, started.state, None, True)


def _start(session: Session, deal: Deal, room: DealRoom | None, members: list[str], requested_by: int | None,
           now: datetime) -> DealRoom | None:
    """Make a room row (or take a failed one back) and queue its creation.

    None when a concurrent request (another replica) made the deal's room first: the unique deal_id
    lets one row in; the other waits for its commit on PostgreSQL, then finds it.
    """
    if room is None:
        name = room_name(deal.title, deal.account, deal.number)
        room = DealRoom(workspace_id=deal.workspace_id, deal_id=deal.id, base_name=name, name=name,
                        state=RoomState.CREATING, attempts=1, events=0, members=members,
                        requested_by_id=requested_by, created_at=now, updated_at=now)
        try:
            with session.begin_nested():
                session.add(room)
                session.flush()
        except IntegrityError:
            return None
    else:  # failed before: try again, with who asked this time
        room.state, room.reason, room.attempts = RoomState.CREATING, None, room.attempts + 1
        room.members = list(dict.fromkeys([*(room.members or []), *members]))
        room.requested_by_id, room.updated_at = requested_by, now
        session.flush()
    enqueue(session, deal.workspace_id, f"room:{room.id}:create:{room.attempts}", ROOM_STEP, f"room:{room.id}",
            {"op": "room_create", "room_id": room.id}, now)
    return room


def _invite(session: Session, room: DealRoom, named: list[str], now: datetime) -> list[str]:
    """Add people to a room: queued now when it exists in Slack, else with its creation."""
    new = [i for i in dict.fromkeys(named) if i not in (room.members or [])]
    if not new:
        return []
    room.members = [*(room.members or []), *new]
    room.updated_at = now
    if room.channel_id is not None:
        enqueue(session, room.workspace_id, f"room:{room.id}:invite:{_next_event(session, room)}", ROOM_STEP,
                room.channel_id, {"op": "room_invite", "room_id": room.id, "users": new}, now)
    return new


def _next_event(session: Session, room: DealRoom) -> int:
    """The room's next event number, taken atomically (two replicas never share one)."""
    number = session.execute(
        update(DealRoom).where(DealRoom.id == room.id).values(events=DealRoom.events + 1).returning(DealRoom.events)
    ).scalar_one()
    room.events = int(number)
    return int(number)


# -- what happens on the deal -------------------------------------------------------------------


def on_deal_event(session: Session, deal: Deal, event: str, now: datetime, *, by: str | None = None,
                  detail: dict[str, Any] | None = None) -> None:
    """The one hook of deal rooms: something happened on `deal` (in the caller's transaction).

    `event`: created, stage, amount, activity, reminder, reminder_due, won, lost, reopened,
    renamed. An open room gets a short post about it (`by` is who did it, `detail` what: plain
    values); closing and reopening make the channel follow, and so does a new title or account
    (the channel takes the new name unless Slack says it is taken); a deal that reaches the
    workspace's room stage or amount gets its room, once.
    """
    room = None if event == "created" else session.scalar(select(DealRoom).where(DealRoom.deal_id == deal.id))
    if room is None:
        if event in ("created", "stage", "amount") and wants_room(
                session, deal, room_settings(session, deal.workspace_id), now):
            _start(session, deal, None, _members(session, deal, []), None, now)
        return
    if event == "renamed":
        named = room_name(deal.title, deal.account, deal.number)
        if named != room.name and room.state in (RoomState.CREATING, RoomState.OPEN, RoomState.ARCHIVED):
            room.name, room.updated_at = named, now  # a room being created takes it when it is made
            if room.channel_id is not None:
                _queue_sync(session, room, now)
        return
    if room.channel_id is None:  # not in Slack yet: its card, posted once it is, shows the deal as it is then
        return
    if event == "reopened":  # unarchived before the post about it (queued in order, delivered in order)
        _queue_sync(session, room, now)
    if event not in ("amount", "created") and (room.state == RoomState.OPEN or event == "reopened"):
        _post(session, deal, room, event, by, detail, now)
    if event in ("won", "lost"):
        _queue_sync(session, room, now)


def _post(session: Session, deal: Deal, room: DealRoom, event: str, by: str | None, detail: dict[str, Any] | None,
          now: datetime, key: str | None = None) -> None:
    assert room.channel_id is not None
    tz = session.scalar(select(Workspace.timezone).where(Workspace.id == deal.workspace_id)) or "UTC"
    # deal_id: the post is about the deal (its Slack metadata says so; core.notify.cards), though not a live card
    data = {"event": event, "deal_id": deal.id, "ref": deal.ref, "title": deal.title, "by": by, "tz": tz,
            **(detail or {})}
    enqueue(session, deal.workspace_id, key or f"room:{room.id}:event:{_next_event(session, room)}", EVENT_VIEW,
            room.channel_id, {"view": EVENT_VIEW, "data": data}, now)


def post_fired_reminders(session: Session, now: datetime) -> int:
    """Post in their rooms the deal reminders the nudge sweep just sent (`sent_at == now`); returns how many.

    Driven from the rooms (a small table) to the reminders of their deals (indexed by deal), so the
    sweep pays one cheap query; keyed by reminder and due time, so a second sweep posts nothing twice.
    """
    rows = session.execute(
        select(DealRoom, Deal, Reminder, User.name)
        .join(Deal, Deal.id == DealRoom.deal_id)
        .join(Reminder, Reminder.deal_id == DealRoom.deal_id)
        .join(User, User.id == Reminder.user_id)
        .where(DealRoom.state == RoomState.OPEN, DealRoom.channel_id.is_not(None),
               Reminder.status == ReminderStatus.SENT, Reminder.sent_at == now)
    ).all()
    for room, deal, reminder, name in rows:
        _post(session, deal, room, "reminder_due", name, {"due_at": reminder.due_at.isoformat(),
                                                          "text": reminder.text[:300]}, now,
              key=f"room:{room.id}:reminder:{reminder.id}:{reminder.due_at.isoformat()}")
    return len(rows)


def _queue_sync(session: Session, room: DealRoom, now: datetime) -> None:
    assert room.channel_id is not None
    enqueue(session, room.workspace_id, f"room:{room.id}:sync:{_next_event(session, room)}", ROOM_STEP,
            room.channel_id, {"op": "room_sync", "room_id": room.id}, now)


# -- delivery's side (bot/rooms_delivery.py) ----------------------------------------------------


@dataclass(frozen=True)
class RoomTarget:
    """What delivery needs for one step of a room: the room as recorded and as it should be now."""

    room_id: int
    workspace_id: int
    deal_ref: str
    deal_number: int
    state: RoomState
    channel_id: str | None
    name: str
    slack_name: str | None
    slack_archived: bool
    want_name: str  # the channel's name for the deal as it is now
    want_archived: bool
    members: tuple[str, ...] = field(default_factory=tuple)


def room_target(session: Session, workspace_id: int, room_id: int) -> RoomTarget | None:
    """The room of an outbox step (None: it is gone with its deal or workspace)."""
    found = session.execute(
        select(DealRoom, Deal).join(Deal, Deal.id == DealRoom.deal_id)
        .where(DealRoom.id == room_id, DealRoom.workspace_id == workspace_id)
    ).first()
    if found is None:
        return None
    room, deal = found
    closed = deal.status != DealStatus.OPEN
    want = closed_name(room.name, deal.status) if closed else room.name
    return RoomTarget(room.id, room.workspace_id, deal.ref, deal.number, room.state, room.channel_id, room.name,
                      room.slack_name, room.slack_archived, want, closed, tuple(room.members or ()))


def _room(session: Session, room_id: int) -> tuple[DealRoom, Deal]:
    room = session.get_one(DealRoom, room_id)
    return room, session.get_one(Deal, room.deal_id)


def room_created(session: Session, room_id: int, channel_id: str, name: str, now: datetime) -> None:
    """Slack made the channel: record it, then queue the invitations, the pinned card, and the
    rename and archive when the deal closed meanwhile."""
    room, deal = _room(session, room_id)
    if room.channel_id is not None:
        return
    room.channel_id, room.name, room.slack_name = channel_id, name, name
    room.state, room.reason, room.updated_at = RoomState.OPEN, None, now
    session.flush()
    if room.members:
        enqueue(session, room.workspace_id, f"room:{room.id}:invite:{_next_event(session, room)}", ROOM_STEP,
                channel_id, {"op": "room_invite", "room_id": room.id, "users": list(room.members)}, now)
    enqueue(session, room.workspace_id, f"room:{room.id}:card", CARD_VIEW, channel_id,
            {"view": CARD_VIEW, "data": deal_card_data(session, deal), "pin": True}, now)
    if deal.status != DealStatus.OPEN:
        _queue_sync(session, room, now)


def rooms_holding(session: Session, workspace_id: int, channel_ids: list[str]) -> set[str]:
    """Which of these Slack channels are already some deal's room."""
    if not channel_ids:
        return set()
    held = session.scalars(select(DealRoom.channel_id).where(
        DealRoom.workspace_id == workspace_id, DealRoom.channel_id.in_(channel_ids)))
    return {channel for channel in held if channel is not None}


def room_refused(session: Session, room_id: int, reason: str, now: datetime) -> None:
    """Slack refused to make the channel: the room is failed, with why, and who asked is told by DM."""
    room, deal = _room(session, room_id)
    if room.channel_id is not None:
        return
    room.state, room.reason, room.updated_at = RoomState.FAILED, reason[:200], now
    asker_id = room.requested_by_id or deal.owner_id
    asker = session.get(User, asker_id) if asker_id else None
    if asker is not None and asker.slack_id:
        enqueue(session, room.workspace_id, f"room:{room.id}:failed:{room.attempts}", FAILED_VIEW, asker.slack_id,
                {"view": FAILED_VIEW, "data": {"ref": deal.ref, "name": room.name, "reason": reason[:200]}}, now)


def room_invites_failed(session: Session, room_id: int, step_key: str, refused: dict[str, str],
                        now: datetime) -> None:
    """Some people could not be invited (gone, a guest, a bot): who asked for the room is told, by
    DM, who and why (Slack's reason), once per invitation step."""
    if not refused:
        return
    room, deal = _room(session, room_id)
    asker_id = room.requested_by_id or deal.owner_id
    asker = session.get(User, asker_id) if asker_id else None
    if asker is not None and asker.slack_id:
        enqueue(session, room.workspace_id, f"{step_key}:not-invited", NOT_INVITED_VIEW, asker.slack_id,
                {"view": NOT_INVITED_VIEW, "data": {"ref": deal.ref, "channel": room.channel_id,
                                                   "refused": dict(sorted(refused.items()))}}, now)


def room_synced(session: Session, room_id: int, slack_name: str, archived: bool, now: datetime) -> None:
    """Record the channel's name and archive flag as Slack now holds them."""
    room = session.get_one(DealRoom, room_id)
    room.slack_name, room.slack_archived, room.updated_at = slack_name, archived, now
    if room.state in (RoomState.OPEN, RoomState.ARCHIVED):
        room.state = RoomState.ARCHIVED if archived else RoomState.OPEN


def room_of(uow: UnitOfWork, workspace_id: int, deal_id: int) -> DealRoom | None:
    """The room row of a deal (tests and the admin's view)."""
    with uow.read() as session:
        room = session.scalar(
            select(DealRoom).where(DealRoom.deal_id == deal_id, DealRoom.workspace_id == workspace_id))
        if room is not None:
            session.expunge(room)
        return room

