"""Reminders: rows with a due time, owned by a person, checked like deals (SPEC 7)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.db import UnitOfWork
from core.deals.deals import create_deal
from core.errors import InvalidInput, NotAllowed, NotFound
from core.notify import outbox, reminders
from core.tables import Reminder, ReminderStatus
from core.workspace.users import Actor
from tests.conftest import make_actor


def _count(uow: UnitOfWork) -> int:
    with uow.read() as s:
        return s.query(Reminder).count()


def test_a_rep_sets_a_reminder_on_their_deal(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deal = create_deal(uow, ana, title="Acme renewal", now=now)
    r = reminders.set_reminder(uow, ana, deal_ref=deal.ref, due_at=now + timedelta(days=2), text="", now=now)
    assert (r.deal_ref, r.text, r.status, r.user_slack_id) == (
        deal.ref, "Follow up on Acme renewal", ReminderStatus.PENDING, "UANA"
    )
    assert [x.id for x in reminders.list_reminders(uow, ana)] == [r.id]


@pytest.mark.parametrize(
    ("due", "text", "message"),
    [
        (timedelta(hours=-2), "call back", "in the past"),
        (timedelta(days=2000), "call back", "three years"),
        (timedelta(hours=1), "x" * 501, "under 500"),
        (timedelta(hours=1), "   ", "what to follow up"),
    ],
)
def test_bad_reminders_are_refused_and_nothing_is_saved(
    uow: UnitOfWork, ana: Actor, now: datetime, due: timedelta, text: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        reminders.set_reminder(uow, ana, due_at=now + due, text=text, now=now)
    assert _count(uow) == 0


def test_a_naive_due_time_is_refused(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        reminders.set_reminder(uow, ana, due_at=datetime(2026, 12, 1, 9), text="x", now=now)
    assert _count(uow) == 0


def test_an_unknown_deal_is_not_found(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    with pytest.raises(NotFound):
        reminders.set_reminder(uow, ana, deal_ref="D-999", due_at=now + timedelta(hours=1), text="x", now=now)
    with pytest.raises(NotFound):
        reminders.set_reminder(uow, ana, lead_ref="L-5", due_at=now + timedelta(hours=1), text="x", now=now)
    assert _count(uow) == 0


def test_a_rep_cannot_set_reminders_on_another_teams_deal(
    uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime
) -> None:
    deal = create_deal(uow, bob, title="Bob's deal", now=now)
    # Another team's deal does not exist for Ana (issue 12), by ref or by title.
    for ref in (deal.ref, "bob's deal"):
        with pytest.raises(NotFound):
            reminders.set_reminder(uow, ana, deal_ref=ref, due_at=now + timedelta(hours=1), text="x", now=now)
    # A teammate's deal exists but is not hers to remind about.
    cal = make_actor(uow, "UCAL", name="Cal", team="East")
    mate = create_deal(uow, cal, title="Cal's deal", now=now)
    with pytest.raises(NotAllowed, match="not yours"):
        reminders.set_reminder(uow, ana, deal_ref=mate.ref, due_at=now + timedelta(hours=1), text="x", now=now)
    assert _count(uow) == 0


def test_snooze_complete_and_cancel(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    r = reminders.set_reminder(uow, ana, due_at=now + timedelta(hours=1), text="call Acme", now=now)
    snoozed = reminders.snooze_reminder(uow, ana, r.id, now + timedelta(days=1), now)
    assert (snoozed.status, snoozed.due_at) == (ReminderStatus.SNOOZED, now + timedelta(days=1))
    done = reminders.complete_reminder(uow, ana, r.id, now)
    assert (done.status, done.done_at) == (ReminderStatus.DONE, now)
    assert reminders.complete_reminder(uow, ana, r.id, now + timedelta(minutes=1)).done_at == now  # idempotent
    with pytest.raises(InvalidInput, match="already done"):
        reminders.snooze_reminder(uow, ana, r.id, now + timedelta(days=2), now)
    with pytest.raises(InvalidInput, match="already done"):
        reminders.cancel_reminder(uow, ana, r.id, now)
    other = reminders.set_reminder(uow, ana, due_at=now + timedelta(hours=1), text="other", now=now)
    assert reminders.cancel_reminder(uow, ana, other.id, now).status == ReminderStatus.CANCELLED
    assert reminders.list_reminders(uow, ana) == []
    assert len(reminders.list_reminders(uow, ana, status=("done", "cancelled"))) == 2


def test_snoozing_into_the_past_is_refused(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    r = reminders.set_reminder(uow, ana, due_at=now + timedelta(hours=1), text="call", now=now)
    with pytest.raises(InvalidInput, match="in the past"):
        reminders.snooze_reminder(uow, ana, r.id, now - timedelta(days=1), now)
    assert reminders.get_reminder(uow, ana, r.id).status == ReminderStatus.PENDING


def test_only_the_owner_their_manager_or_an_admin_may_touch_a_reminder(
    uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor, root: Actor, now: datetime
) -> None:
    r = reminders.set_reminder(uow, ana, due_at=now + timedelta(hours=1), text="call", now=now)
    with pytest.raises(NotAllowed, match="belongs to Ana"):
        reminders.complete_reminder(uow, bob, r.id, now)
    assert reminders.get_reminder(uow, ana, r.id).status == ReminderStatus.PENDING
    assert reminders.snooze_reminder(uow, mia, r.id, now + timedelta(days=1), now).status == ReminderStatus.SNOOZED
    assert reminders.complete_reminder(uow, root, r.id, now).status == ReminderStatus.DONE
    with pytest.raises(NotFound):
        reminders.complete_reminder(uow, ana, 99999, now)


def test_unknown_status_filter_is_refused(uow: UnitOfWork, ana: Actor) -> None:
    with pytest.raises(InvalidInput, match="Unknown reminder status"):
        reminders.list_reminders(uow, ana, status="later")


def test_due_reminders_are_the_live_ones_due_by_now(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    a = reminders.set_reminder(uow, ana, due_at=now + timedelta(minutes=5), text="a", now=now)
    b = reminders.set_reminder(uow, ana, due_at=now + timedelta(minutes=1), text="b", now=now)
    c = reminders.set_reminder(uow, ana, due_at=now + timedelta(minutes=2), text="c", now=now)
    reminders.set_reminder(uow, ana, due_at=now + timedelta(hours=5), text="later", now=now)
    reminders.complete_reminder(uow, ana, c.id, now)
    with uow.read() as s:
        due = reminders.due_reminders(s, now + timedelta(minutes=10), limit=10)
    assert [r.id for r in due] == [b.id, a.id]
    listed = reminders.list_reminders(uow, ana, due_before=now + timedelta(minutes=10))
    assert [r.id for r in listed] == [b.id, a.id]


def test_completing_withdraws_a_nudge_held_for_the_morning(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    r = reminders.set_reminder(uow, ana, due_at=now + timedelta(hours=1), text="call", now=now)
    with uow.transaction() as s:
        key = reminders.nudge_key(r.id, r.due_at)
        outbox.enqueue(s, ana.workspace_id, key, "nudge", "UANA", {}, now, not_before=now + timedelta(hours=20))
    reminders.complete_reminder(uow, ana, r.id, now)
    with uow.read() as s:
        assert not outbox.is_queued(s, ana.workspace_id, key)
