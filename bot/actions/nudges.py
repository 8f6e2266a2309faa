"""Buttons on a follow-up nudge: Done, Snooze (1 day, 1 week, a date), Log activity, Open deal.

Done and Snooze change the reminder (core.notify.reminders checks who may) and then update the
nudge in place with chat.update: its buttons replaced by who did what, when. Log activity
opens the deal's log modal (handled with the other deal modals); Open deal shows the deal.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.commands import Request, Respond, answering, request_from
from bot.modals import deal_forms as forms
from bot.modals.prefs import note_morning_click
from bot.views import deals as deal_views
from bot.views import nudges as views
from bot.views.common import when
from core.deals import deals
from core.errors import InvalidInput
from core.i18n import _
from core.notify import reminders


def register(app: App) -> None:
    """Listen to the nudge buttons and the snooze date picker."""
    app.action(views.DONE)(on_done)
    app.action(views.SNOOZE_DAY)(on_snooze_day)
    app.action(views.SNOOZE_WEEK)(on_snooze_week)
    app.action(views.SNOOZE_DATE)(on_snooze_date)
    app.action(views.LOG)(on_log)
    app.action(views.OPEN)(on_open)


def _action(body: dict[str, Any]) -> dict[str, Any]:
    return dict((body.get("actions") or [{}])[0])


def _reminder_id(body: dict[str, Any]) -> int:
    action = _action(body)
    raw = str(action.get("value") or "") or str(action.get("block_id") or "").rpartition(":")[2]
    if not raw.isdigit():
        raise InvalidInput(_("This button does not name a reminder any more; set a new one with `/deal remind`."))
    return int(raw)


def _update_in_place(req: Request, body: dict[str, Any], reminder: reminders.ReminderView, outcome: str) -> None:
    """Replace the nudge by its acted-on version (no buttons, who did what, when)."""
    message = views.nudge_message(views.nudge_data(reminder, req.actor.tz), outcome=outcome)
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
    if channel and ts:
        req.client.chat_update(channel=channel, ts=ts, text=message["text"], blocks=message["blocks"])
    else:
        req.respond(replace_original=True, **message)


def _snooze(body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext,
            until: Any) -> None:
    with answering(respond, "nudge snooze"):
        req = request_from(context, client, respond, body)
        target: datetime = until(req) if callable(until) else until
        reminder = reminders.snooze_reminder(req.uow, req.actor, _reminder_id(body), target, req.now)
        what = _("snoozed it to {when}").format(when=when(target, req.actor.tz))
        outcome = views.outcome_line(req.actor.slack_id, what, req.now, req.actor.tz)
        _update_in_place(req, body, reminder, outcome)


def on_done(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    with answering(respond, "nudge Done"):
        req = request_from(context, client, respond, body)
        reminder = reminders.complete_reminder(req.uow, req.actor, _reminder_id(body), req.now)
        outcome = views.outcome_line(req.actor.slack_id, _("marked it done"), req.now, req.actor.tz)
        _update_in_place(req, body, reminder, outcome)


def on_snooze_day(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    _snooze(body, client, respond, context, lambda req: req.now + timedelta(days=1))


def on_snooze_week(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    _snooze(body, client, respond, context, lambda req: req.now + timedelta(days=7))


def _morning_of(req: Request, picked: str) -> datetime:
    """The send time (09:00) in the user's zone on the picked date."""
    try:
        day = date.fromisoformat(picked)
    except ValueError:
        raise InvalidInput(_('"{picked}" is not a date; pick one in the calendar.').format(picked=picked)) from None
    return reminders.morning_of(req.uow, req.actor, day)


def on_snooze_date(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    picked = str(_action(body).get("selected_date") or "")
    _snooze(body, client, respond, context, lambda req: _morning_of(req, picked))


def on_log(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    with answering(respond, "nudge Log activity"):
        req = request_from(context, client, respond, body)
        deal = deals.get_deal(req.uow, req.actor, str(_action(body).get("value") or ""))
        client.views_open(trigger_id=body.get("trigger_id"), view=forms.log_activity_view(deal, req.channel_id))


def on_open(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    with answering(respond, "nudge Open deal"):
        req = request_from(context, client, respond, body)
        note_morning_click(context, body)  # a morning list was not ignored (back-off, core.notify.preferences)
        deal = deals.get_deal(req.uow, req.actor, str(_action(body).get("value") or ""))
        activities = deals.deal_activities(req.uow, req.actor, deal.ref, limit=5)
        req.answer(deal_views.deal_shown(deal, req.actor, activities))
