"""Clicks on a nudge, through signed requests: Done, Snooze, pick a date, Log activity, Open deal."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt import App

from bot.views.nudges import DONE, LOG, OPEN, SNOOZE_DATE, SNOOZE_DAY, SNOOZE_WEEK, nudge_data, nudge_message
from core.db import UnitOfWork
from core.deals.deals import create_deal
from core.notify import reminders
from core.tables import ReminderStatus
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message, assert_valid_view
from tests.bot.fake_slack import FakeSlack
from tests.bot.signing import block_actions_payload, send_action


def _nudge(uow: UnitOfWork, actor: Actor, now: datetime) -> tuple[reminders.ReminderView, dict[str, Any], str]:
    deal = create_deal(uow, actor, title="Acme renewal", now=now)
    r = reminders.set_reminder(uow, actor, deal_ref=deal.ref, due_at=now + timedelta(minutes=5), text="Call Jo",
                               now=now)
    message = nudge_message(nudge_data(r, actor.tz))
    assert_valid_message(message)
    return r, {"ts": "1700000000.000777", **message}, deal.ref


def _click(app: App, action_id: str, value: str | None, message: dict[str, Any], user: str = "UANA",
           **kw: Any) -> None:
    response = send_action(app, block_actions_payload(action_id, value, user_id=user, channel_id="DANA",
                                                      message=message, **kw))
    assert response.status == 200


def _updated(fake: FakeSlack) -> dict[str, Any]:
    [update] = fake.calls("chat.update")
    assert (update["channel"], update["ts"]) == ("DANA", "1700000000.000777")
    assert_valid_message({"text": update["text"], "blocks": update["blocks"]})
    assert not [b for b in update["blocks"] if b["type"] == "actions"]  # buttons gone
    return dict(update.body)


def test_done_completes_the_reminder_and_updates_the_nudge_in_place(
    app: App, uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    r, message, _ = _nudge(uow, ana, now)
    _click(app, DONE, str(r.id), message)
    assert reminders.get_reminder(uow, ana, r.id).status == ReminderStatus.DONE
    update = _updated(fake_slack)
    assert "<@UANA> marked it done" in str(update["blocks"])


def test_snooze_a_day_or_a_week(app: App, uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack) -> None:
    r, message, _ = _nudge(uow, ana, now)
    _click(app, SNOOZE_DAY, str(r.id), message)
    after = reminders.get_reminder(uow, ana, r.id)
    assert (after.status, after.due_at) == (ReminderStatus.SNOOZED, now + timedelta(days=1))
    assert "snoozed it to Tue 24 Nov 14:00" in str(_updated(fake_slack)["blocks"])
    fake_slack.clear()
    _click(app, SNOOZE_WEEK, str(r.id), message)
    assert reminders.get_reminder(uow, ana, r.id).due_at == now + timedelta(days=7)


def test_snooze_to_a_picked_date_is_nine_in_the_morning_local(
    app: App, uow: UnitOfWork, now: datetime, fake_slack: FakeSlack
) -> None:
    from tests.conftest import make_actor

    kay = make_actor(uow, "UKAY", name="Kay", tz="Asia/Kolkata")
    r, message, _ = _nudge(uow, kay, now)
    _click(app, SNOOZE_DATE, None, message, user="UKAY", action_type="datepicker",
           block_id=f"nudge_actions:{r.id}", selected={"selected_date": "2026-11-27"})
    assert reminders.get_reminder(uow, kay, r.id).due_at == datetime(2026, 11, 27, 3, 30, tzinfo=UTC)


def test_a_date_in_the_past_is_refused_and_nothing_changes(
    app: App, uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    r, message, _ = _nudge(uow, ana, now)
    _click(app, SNOOZE_DATE, None, message, action_type="datepicker", block_id=f"nudge_actions:{r.id}",
           selected={"selected_date": "2026-11-20"})
    assert reminders.get_reminder(uow, ana, r.id).status == ReminderStatus.PENDING
    assert fake_slack.calls("chat.update") == []
    [answer] = fake_slack.calls("response_url")
    assert "in the past" in answer["text"]


def test_someone_elses_nudge_cannot_be_closed(
    app: App, uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    r, message, _ = _nudge(uow, ana, now)
    _click(app, DONE, str(r.id), message, user="UBOB")
    assert reminders.get_reminder(uow, ana, r.id).status == ReminderStatus.PENDING
    [answer] = fake_slack.calls("response_url")
    assert "belongs to Ana" in answer["text"] and fake_slack.calls("chat.update") == []


def test_log_activity_opens_the_log_modal_and_open_deal_shows_it(
    app: App, uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    _, message, ref = _nudge(uow, ana, now)
    _click(app, LOG, ref, message)
    [opened] = fake_slack.calls("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else __import__("json").loads(opened["view"])
    assert_valid_view(view)
    assert ref in view["title"]["text"]
    _click(app, OPEN, ref, message)
    [shown] = fake_slack.calls("response_url")
    assert_valid_message(shown.body)
    assert ref in shown["text"]
