"""The Slack steps of a deal room, run by the outbox deliverer (bot/delivery.py) for rows of kind
`deal_room` (core.deals.rooms): create the private channel, invite people, and make the channel
follow the deal (renamed `-won` / `-lost` and archived when it closes, back when it reopens).

Each step reads the room from the database, does only what Slack does not hold yet, and writes
each result back before the next call, so a step retried after a 5xx, a 429 or a crash repeats
nothing that landed. Temporary errors are raised for the deliverer to retry; a refusal to create
the channel marks the room failed (core.deals.rooms.room_refused) and is not retried.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from core.db import UnitOfWork
from core.deals.rooms import (
    RoomTarget,
    name_candidates,
    room_created,
    room_invites_failed,
    room_refused,
    room_synced,
    room_target,
    rooms_holding,
)
from core.notify.outbox import OutboxItem

logger = logging.getLogger(__name__)

# Answers about one person that must not stop the others' invitations.
SKIP_INVITEE = frozenset({
    "already_in_channel", "cant_invite_self", "user_not_found", "user_is_deactivated", "cant_invite",
    "user_is_restricted", "user_is_ultra_restricted", "ura_max_channels", "not_allowed_token_type",
})
MAX_PAGES = 10  # of the bot's private channels, looking for one an earlier try made
# Answers that say a rename or an (un)archive is done already.
ALREADY = frozenset({"already_archived", "not_archived", "already_pinned"})


def _error(exc: SlackApiError) -> str:
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error") or "")


def run_room_step(uow: UnitOfWork, client: WebClient, item: OutboxItem, clock: Callable[[], datetime],
                  is_temporary: Callable[[Exception], bool]) -> None:
    """Do one room step (`item.payload["op"]`); raise what the deliverer should retry."""
    op = item.payload.get("op")
    room_id = int(item.payload.get("room_id") or 0)
    with uow.read() as session:
        target = room_target(session, item.workspace_id, room_id)
    if target is None:  # its deal (or workspace) is gone: nothing to do
        return
    if op == "room_create":
        if item.unsure_since is not None and _adopt(uow, client, target, clock):
            return
        _create(uow, client, target, clock, is_temporary)
    elif op == "room_invite":
        refused = _invite(client, target, [str(u) for u in item.payload.get("users") or []], is_temporary)
        if refused:
            with uow.transaction() as session:
                room_invites_failed(session, target.room_id, item.key, refused, clock())
    elif op == "room_sync":
        _sync(uow, client, target, clock)
    else:
        raise LookupError(f"unknown deal room step {op!r}")


def _create(uow: UnitOfWork, client: WebClient, target: RoomTarget, clock: Callable[[], datetime],
            is_temporary: Callable[[Exception], bool]) -> None:
    if target.channel_id is not None:  # created by an earlier try of this step
        return
    for name in name_candidates(target.name, target.deal_number):
        try:
            answer = client.conversations_create(name=name, is_private=True)
        except SlackApiError as exc:
            if is_temporary(exc):
                raise
            if _error(exc) == "name_taken":
                logger.info("deal room %s: the name %s is taken, trying the next", target.room_id, name)
                continue
            with uow.transaction() as session:
                room_refused(session, target.room_id, _error(exc) or "refused", clock())
            return
        with uow.transaction() as session:
            room_created(session, target.room_id, str(answer["channel"]["id"]), name, clock())
        return
    with uow.transaction() as session:
        room_refused(session, target.room_id, "name_taken", clock())


def _adopt(uow: UnitOfWork, client: WebClient, target: RoomTarget, clock: Callable[[], datetime]) -> bool:
    """Find the channel an earlier try made before its sender died (or its answer was lost): a private
    channel of the bot under one of the room's names that no other room holds. True when adopted."""
    names = name_candidates(target.name, target.deal_number)
    mine: dict[str, str] = {}
    cursor: str | None = None
    for _page in range(MAX_PAGES):
        page = client.users_conversations(types="private_channel", exclude_archived=True, limit=200, cursor=cursor)
        for channel in page.get("channels") or []:
            if channel.get("name") in names:
                mine.setdefault(str(channel["name"]), str(channel["id"]))
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    with uow.read() as session:
        held = rooms_holding(session, target.workspace_id, list(mine.values()))
    found = next(((name, mine[name]) for name in names if name in mine and mine[name] not in held), None)
    if found is None:
        return False
    logger.info("deal room %s: adopting %s (%s), made by an earlier try", target.room_id, found[0], found[1])
    with uow.transaction() as session:
        room_created(session, target.room_id, found[1], found[0], clock())
    return True


def _invite(client: WebClient, target: RoomTarget, users: list[str],
            is_temporary: Callable[[Exception], bool]) -> dict[str, str]:
    """One call a person: one who cannot join (gone, a guest, a bot) does not keep the others out.
    Returns those who could not be invited, with Slack's reason (for the DM to who asked)."""
    assert target.channel_id is not None
    refused: dict[str, str] = {}
    for user in users:
        try:
            client.conversations_invite(channel=target.channel_id, users=user)
        except SlackApiError as exc:
            if is_temporary(exc) or _error(exc) not in SKIP_INVITEE:
                raise
            if _error(exc) not in ("already_in_channel", "cant_invite_self"):
                logger.info("deal room %s: %s not invited (%s)", target.room_id, user, _error(exc))
                refused[user] = _error(exc)
    return refused


def _sync(uow: UnitOfWork, client: WebClient, target: RoomTarget, clock: Callable[[], datetime]) -> None:
    """Make the channel match the deal as it is now: name first, then archived or not."""
    assert target.channel_id is not None
    channel = target.channel_id
    name, archived = target.slack_name or target.name, target.slack_archived

    def record() -> None:
        with uow.transaction() as session:
            room_synced(session, target.room_id, name, archived, clock())

    if archived and (not target.want_archived or name != target.want_name):
        _tolerant(lambda: client.conversations_unarchive(channel=channel))
        archived = False
        record()
    if name != target.want_name:
        try:
            client.conversations_rename(channel=channel, name=target.want_name)
            name = target.want_name
        except SlackApiError as exc:
            if _error(exc) != "name_taken":
                raise
            logger.info("deal room %s: %s is taken; the channel keeps %s", target.room_id, target.want_name, name)
        record()
    if target.want_archived and not archived:
        _tolerant(lambda: client.conversations_archive(channel=channel))
        archived = True
        record()


def _tolerant(call: Callable[[], object]) -> None:
    """Run a Slack call whose "already so" answer counts as done."""
    try:
        call()
    except SlackApiError as exc:
        if _error(exc) not in ALREADY:
            raise


def pin(client: WebClient, channel: str, ts: str) -> None:
    """Pin a posted message (the room's deal card); pinned already counts as done."""
    _tolerant(lambda: client.pins_add(channel=channel, timestamp=ts))
