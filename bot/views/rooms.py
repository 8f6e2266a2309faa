"""Deal rooms (issue 15 point 3): the answers of `/deal room`, the posts into a room, and the DM
that says Slack refused to make one."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.views.common import ACTIVITY_KIND, Message, cut, escape, label, message, section
from core import formatting
from core.deals.rooms import RoomAnswer
from core.i18n import _
from core.tables import RoomState


def _channel(channel_id: str | None, name: str) -> str:
    return f"<#{channel_id}>" if channel_id else f"#{escape(name)}"


def room_answer(answer: RoomAnswer, invited_names: list[str] | None = None) -> Message:
    """What `/deal room` did, with a link to the room once it exists."""
    where = _channel(answer.channel_id, answer.name)
    if answer.created:
        text = _("Creating the room {room} for {ref}: you, the owner and their manager will be invited, and the "
                 "deal card pinned there.").format(room=where, ref=answer.deal_ref)
    elif answer.state == RoomState.CREATING:
        text = _("The room {room} for {ref} is being created.").format(room=where, ref=answer.deal_ref)
    else:
        text = _("{ref} has its room: {room}.").format(ref=answer.deal_ref, room=where)
    if answer.invited:
        people = ", ".join(f"<@{i}>" for i in answer.invited)
        text += " " + _("Invited: {people}.").format(people=people)
    return message(text, [section(text)])


def room_event_message(data: dict[str, Any]) -> Message:
    """The outbox view `room_event`: one line in the room about what happened on its deal."""
    ref, by = str(data.get("ref") or ""), escape(str(data.get("by") or "")) or _("someone")
    event = data.get("event")
    if event == "stage":
        text = _("{ref} moved from {old} to {new} by {by}.").format(
            ref=ref, old=escape(str(data.get("from"))), new=escape(str(data.get("to"))), by=by)
    elif event == "won":
        text = _(":tada: {ref} was won ({by}). This room is archived now.").format(ref=ref, by=by)
    elif event == "lost":
        text = _("{ref} was lost ({by}). This room is archived now.").format(ref=ref, by=by)
    elif event == "reopened":
        text = _("{ref} was reopened in {stage} by {by}.").format(ref=ref, stage=escape(str(data.get("to"))), by=by)
    elif event == "activity":
        kind = str(data.get("kind") or "note")
        what = _("{by} added a note") if kind == "note" else _("{by} logged a {kind}")
        text = what.format(by=by, kind=label(ACTIVITY_KIND, kind))
        if data.get("text"):
            text += ": " + escape(cut(str(data["text"]), 2500))
    elif event == "reminder":
        due = datetime.fromisoformat(str(data["due_at"])).astimezone(ZoneInfo(str(data.get("tz") or "UTC")))
        text = _("{by} set a reminder for {when}: {text}").format(
            by=by, when=formatting.moment(due), text=escape(cut(str(data.get("text") or ""), 2500)))
    elif event == "reminder_due":
        due = datetime.fromisoformat(str(data["due_at"])).astimezone(ZoneInfo(str(data.get("tz") or "UTC")))
        text = _(":alarm_clock: {by}'s reminder on {ref} came due ({when}): {text}").format(
            by=by, ref=ref, when=formatting.moment(due), text=escape(cut(str(data.get("text") or ""), 2500)))
    else:
        text = _("{ref} changed.").format(ref=ref)
    return message(text, [section(text)])


def room_failed_message(data: dict[str, Any]) -> Message:
    """The outbox view `room_failed`: Slack would not make the room; nothing was left behind."""
    text = _("Slack refused to create the room #{name} for {ref} ({reason}). Nothing was created; "
             "`/deal room {ref}` tries again.").format(
        name=escape(str(data.get("name") or "")), ref=data.get("ref"), reason=escape(str(data.get("reason") or "")))
    return message(text, [section(text)])


def room_not_invited_message(data: dict[str, Any]) -> Message:
    """The outbox view `room_not_invited`: people Slack would not add to the room, and why."""
    refused = data.get("refused") or {}
    people = ", ".join(f"<@{escape(str(user))}> ({escape(str(reason))})" for user, reason in refused.items())
    channel = str(data.get("channel") or "")
    room = f"<#{escape(channel)}>" if channel else _("the room")
    text = _("Slack would not add {people} to {room} for {ref}; the others are in. Invite them by hand if they "
             "should be there (guests need a full account or a channel invitation).").format(
        people=people, room=room, ref=data.get("ref"))
    return message(text, [section(text)])
