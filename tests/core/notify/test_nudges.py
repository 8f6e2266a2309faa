"""Nudges: due reminders to DMs, one morning message per rep, the manager told after N ignored nudges."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from core.db import UnitOfWork
from core.deals.deals import create_deal, log_activity, move_stage
from core.notify import outbox, reminders
from core.notify.nudges import morning_sweep, sweep_due_reminders
from core.tables import Deal, OutboxMessage, Reminder, ReminderStatus, Role
from core.workspace.users import Actor
from tests.conftest import make_actor


def _messages(uow: UnitOfWork, kind: str | None = None) -> list[OutboxMessage]:
    with uow.read() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list(s.scalars(query))


def _age(uow: UnitOfWork, ref: str, days: int, now: datetime, close: date | None = None) -> None:
    """Pretend nobody touched the deal for `days` (and set its expected close)."""
    with uow.transaction() as s:
        deal = s.scalar(select(Deal).where(Deal.number == int(ref[2:])))
        assert deal is not None
        deal.last_touch_at = now - timedelta(days=days)
        if close is not None:
            deal.expected_close = close


def _sweep_due(uow: UnitOfWork, at: datetime) -> int:
    with uow.transaction() as s:
        return sweep_due_reminders(s, at)


def _morning(uow: UnitOfWork, at: datetime):  # type: ignore[no-untyped-def]
    with uow.transaction() as s:
        return morning_sweep(s, at)


def test_a_due_reminder_becomes_one_nudge(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deal = create_deal(uow, ana, title="Acme renewal", now=now)
    r = reminders.set_reminder(uow, ana, deal_ref=deal.ref, due_at=now + timedelta(minutes=30), text="call", now=now)
    assert _sweep_due(uow, now + timedelta(minutes=29)) == 0
    assert _sweep_due(uow, now + timedelta(minutes=30)) == 1
    assert _sweep_due(uow, now + timedelta(minutes=31)) == 0  # a second sweep queues nothing
    [msg] = _messages(uow)
    assert (msg.kind, msg.channel, msg.next_attempt_at) == ("nudge", "UANA", now + timedelta(minutes=30))
    assert msg.payload["data"]["deal"]["ref"] == deal.ref and msg.payload["data"]["reminder_id"] == r.id
    assert reminders.get_reminder(uow, ana, r.id).status == ReminderStatus.SENT


def test_a_reminder_due_at_night_is_held_for_the_recipients_morning(uow: UnitOfWork, now: datetime) -> None:
    ny = make_actor(uow, "UNY", name="Nia", tz="America/New_York")
    due = datetime.fromisoformat("2026-11-24T02:00:00+00:00")  # 21:00 in New York
    reminders.set_reminder(uow, ny, due_at=due, text="send proposal", now=now)
    assert _sweep_due(uow, due) == 1
    [msg] = _messages(uow)
    assert msg.next_attempt_at == datetime.fromisoformat("2026-11-24T14:00:00+00:00")  # 09:00 EST


def test_a_snoozed_reminder_nudges_again_when_due_again(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    r = reminders.set_reminder(uow, ana, due_at=now + timedelta(minutes=1), text="call", now=now)
    _sweep_due(uow, now + timedelta(minutes=1))
    with uow.transaction() as s:  # delivered
        [first] = outbox.claim(s, now + timedelta(minutes=1))
        outbox.mark_sent(s, first.id, now + timedelta(minutes=1))
    reminders.snooze_reminder(uow, ana, r.id, now + timedelta(days=1), now + timedelta(minutes=2))
    assert _sweep_due(uow, now + timedelta(hours=2)) == 0
    assert _sweep_due(uow, now + timedelta(days=1)) == 1
    assert len({m.key for m in _messages(uow, "nudge")}) == 2


def test_one_morning_message_per_rep_groups_stale_and_slipped_deals(
    uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    stale_a = create_deal(uow, ana, title="Stale A", now=now)
    stale_b = create_deal(uow, ana, title="Stale B", now=now)
    planned = create_deal(uow, ana, title="Planned", now=now)
    fresh = create_deal(uow, ana, title="Fresh", now=now)
    slipped = create_deal(uow, ana, title="Slipped", now=now, expected_close=now.date() - timedelta(days=3))
    for ref in (stale_a.ref, stale_b.ref, planned.ref):
        _age(uow, ref, 20, now)  # Prospecting rots after 14 days
    _age(uow, fresh.ref, 13, now)
    reminders.set_reminder(uow, ana, deal_ref=planned.ref, due_at=now + timedelta(days=1), text="demo", now=now)
    result = _morning(uow, now)
    assert (result.messages, result.stale_deals, result.slipped_deals) == (1, 2, 1)
    [msg] = _messages(uow, "morning")
    data = msg.payload["data"]
    assert msg.channel == "UANA" and msg.key == f"morning:u{ana.user_id}:2026-11-23"
    assert sorted(d["ref"] for d in data["stale"]) == sorted([stale_a.ref, stale_b.ref])
    assert [d["ref"] for d in data["slipped"]] == [slipped.ref] and data["slipped"][0]["days_late"] == 3
    assert _morning(uow, now + timedelta(hours=3)).messages == 0  # once a day


def test_stage_rotting_days_decide_staleness(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deal = create_deal(uow, ana, title="Hot one", now=now, stage="Negotiation")  # rots after 7 days
    _age(uow, deal.ref, 8, now)
    assert _morning(uow, now).stale_deals == 1


def test_no_message_before_nine_local_on_weekends_or_at_night(uow: UnitOfWork, now: datetime) -> None:
    ny = make_actor(uow, "UNY", name="Nia", tz="America/New_York")
    deal = create_deal(uow, ny, title="Old", now=now)
    _age(uow, deal.ref, 30, now)
    assert _morning(uow, datetime.fromisoformat("2026-11-23T13:59:00+00:00")).messages == 0  # 08:59 NY
    assert _morning(uow, datetime.fromisoformat("2026-11-22T15:00:00+00:00")).messages == 0  # Sunday
    assert _morning(uow, datetime.fromisoformat("2026-11-24T02:00:00+00:00")).messages == 0  # 21:00 NY Monday
    assert _morning(uow, datetime.fromisoformat("2026-11-23T14:00:00+00:00")).messages == 1


def test_the_manager_is_told_after_two_ignored_nudges_once(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime
) -> None:
    deal = create_deal(uow, ana, title="Ignored", now=now)
    _age(uow, deal.ref, 20, now)
    days = [now + timedelta(days=i) for i in range(4)]  # Mon..Thu
    escalations = [_morning(uow, day).escalations for day in days]
    assert escalations == [0, 0, 1, 0]
    [msg] = _messages(uow, "escalation")
    assert msg.channel == "UMIA" and [d["ref"] for d in msg.payload["data"]["deals"]] == [deal.ref]
    assert msg.payload["data"]["rep"]["slack_id"] == "UANA"


def test_a_real_touch_resets_the_count_and_the_bots_own_nudges_do_not(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime
) -> None:
    deal = create_deal(uow, ana, title="Touched", now=now)
    _age(uow, deal.ref, 20, now)
    _morning(uow, now)
    _morning(uow, now + timedelta(days=1))
    with uow.read() as s:
        assert s.scalar(select(Deal.stale_nudges).where(Deal.number == deal.number)) == 2
    log_activity(uow, ana, deal.ref, "call", "talked to the buyer", now=now + timedelta(days=1, hours=1))
    assert _morning(uow, now + timedelta(days=2)).stale_deals == 0
    move_stage(uow, ana, deal.ref, "Qualified", now=now + timedelta(days=2, hours=1))
    _age(uow, deal.ref, 15, now + timedelta(days=3))
    assert _morning(uow, now + timedelta(days=3)).escalations == 0  # the count started again


def test_reps_without_a_slack_account_or_a_manager_get_no_dm(uow: UnitOfWork, now: datetime) -> None:
    boss = make_actor(uow, "UBOSS", name="Boss", role=Role.MANAGER, manages="Solo")
    deal = create_deal(uow, boss, title="Own deal", now=now)
    _age(uow, deal.ref, 20, now)
    escalations = [_morning(uow, now + timedelta(days=i)).escalations for i in range(3)]
    assert escalations == [0, 0, 0]  # a manager is not escalated to themself
    assert len(_messages(uow, "morning")) == 3


def test_sweeps_leave_reminders_of_other_states_alone(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    r = reminders.set_reminder(uow, ana, due_at=now + timedelta(minutes=5), text="x", now=now)
    reminders.cancel_reminder(uow, ana, r.id, now)
    assert _sweep_due(uow, now + timedelta(hours=1)) == 0
    with uow.read() as s:
        assert s.get(Reminder, r.id).status == ReminderStatus.CANCELLED  # type: ignore[union-attr]


def test_morning_messages_follow_dst_in_new_york_and_berlin(uow: UnitOfWork, now: datetime) -> None:
    ny = make_actor(uow, "UNY", name="Nia", tz="America/New_York")
    de = make_actor(uow, "UDE", name="Dirk", tz="Europe/Berlin")
    for actor in (ny, de):
        deal = create_deal(uow, actor, title=f"Old {actor.name}", now=now - timedelta(days=400))
        _age(uow, deal.ref, 300, now)
    # Monday 9 March 2026, the day after New York springs forward: 09:00 EDT is 13:00 UTC.
    assert _morning(uow, datetime.fromisoformat("2026-03-09T12:55:00+00:00")).messages == 1  # Berlin only
    assert _morning(uow, datetime.fromisoformat("2026-03-09T13:00:00+00:00")).messages == 1  # now New York
    # Monday 26 October 2026, the day after Berlin falls back: 09:00 CET is 08:00 UTC.
    assert _morning(uow, datetime.fromisoformat("2026-10-26T07:55:00+00:00")).messages == 0
    assert _morning(uow, datetime.fromisoformat("2026-10-26T08:00:00+00:00")).messages == 1
    keys = sorted(m.key for m in _messages(uow, "morning"))
    assert keys == sorted([f"morning:u{de.user_id}:2026-03-09", f"morning:u{ny.user_id}:2026-03-09",
                           f"morning:u{de.user_id}:2026-10-26"])


def test_the_postgresql_sweep_writes_what_the_portable_one_writes(
    uow: UnitOfWork, ana: Actor, backend: str, now: datetime
) -> None:
    from core.notify.nudges import _sweep_due_portable

    deal = create_deal(uow, ana, title="Acme & <Co>", now=now)
    ny = make_actor(uow, "UNY", name="Nia", tz="America/New_York")
    reminders.set_reminder(uow, ana, deal_ref=deal.ref, due_at=now + timedelta(minutes=1), text="Call \"Jo\"",
                           now=now)
    reminders.set_reminder(uow, ny, due_at=now + timedelta(minutes=2), text="night one", now=now)
    at = now + timedelta(hours=10)  # 19:00 in New York... and 00:00 UTC for Ana: quiet for both

    def written(sweep: object) -> list[tuple[str, str, datetime, dict[str, object]]]:
        session = uow.session_factory()
        try:
            assert sweep(session, at, 100) == 2  # type: ignore[operator]
            rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.key)).all()
            return [(m.key, m.channel, m.next_attempt_at, m.payload) for m in rows]
        finally:
            session.rollback()
            session.close()

    portable = written(_sweep_due_portable)
    assert written(sweep_due_reminders) == portable
    assert portable[0][3]["data"]["deal"]["amount"] is None  # type: ignore[index]


# --- issue 10 point 7: a closed deal's reminders stop, and come back on reopen ------------------


def test_a_won_deals_reminder_does_not_fire_and_fires_after_reopen(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    from core.deals.deals import close_deal_won, reopen_deal

    deal = create_deal(uow, ana, title="Acme renewal", now=now)
    r = reminders.set_reminder(uow, ana, deal_ref=deal.ref, due_at=now + timedelta(minutes=30), text="call", now=now)
    close_deal_won(uow, ana, deal.ref, now=now + timedelta(minutes=5))
    assert _sweep_due(uow, now + timedelta(hours=2)) == 0  # due while won: nothing
    assert _messages(uow) == []
    assert reminders.get_reminder(uow, ana, r.id).status == ReminderStatus.PENDING
    reopen_deal(uow, ana, deal.ref, now=now + timedelta(hours=3))
    # its time passed while the deal was closed: it is nudged at the next sweep
    assert _sweep_due(uow, now + timedelta(hours=3, minutes=1)) == 1
    [msg] = _messages(uow)
    assert msg.payload["data"]["reminder_id"] == r.id


def test_a_nudge_held_for_the_morning_is_taken_back_when_the_deal_closes(uow: UnitOfWork, now: datetime) -> None:
    from core.deals.deals import close_deal_lost, reopen_deal

    ny = make_actor(uow, "UNY", name="Nia", tz="America/New_York")
    deal = create_deal(uow, ny, title="Night deal", now=now)
    due = datetime.fromisoformat("2026-11-24T02:00:00+00:00")  # 21:00 in New York: held until 09:00
    r = reminders.set_reminder(uow, ny, deal_ref=deal.ref, due_at=due, text="send proposal", now=now)
    assert _sweep_due(uow, due) == 1
    close_deal_lost(uow, ny, deal.ref, "no budget", now=due + timedelta(hours=1))
    assert _messages(uow, "nudge") == []  # nothing will arrive at 09:00 about a lost deal
    assert reminders.get_reminder(uow, ny, r.id).status == ReminderStatus.PENDING
    reopen_deal(uow, ny, deal.ref, now=due + timedelta(hours=2))
    assert _sweep_due(uow, due + timedelta(hours=2)) == 1
    [msg] = _messages(uow, "nudge")
    assert msg.next_attempt_at == datetime.fromisoformat("2026-11-24T14:00:00+00:00")


def test_a_delivered_nudge_stays_delivered_when_the_deal_closes(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    from core.deals.deals import close_deal_won

    deal = create_deal(uow, ana, title="Acme", now=now)
    r = reminders.set_reminder(uow, ana, deal_ref=deal.ref, due_at=now + timedelta(minutes=1), text="x", now=now)
    _sweep_due(uow, now + timedelta(minutes=1))
    with uow.transaction() as s:
        [item] = outbox.claim(s, now + timedelta(minutes=1))
        outbox.mark_sent(s, item.id, now + timedelta(minutes=1))
    close_deal_won(uow, ana, deal.ref, now=now + timedelta(minutes=2))
    assert reminders.get_reminder(uow, ana, r.id).status == ReminderStatus.SENT
    assert len(_messages(uow, "nudge")) == 1


def test_closed_deals_get_no_stale_or_slipped_nudges(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    from core.deals.deals import close_deal_won, reopen_deal

    create_deal(uow, ana, title="Old deal", now=now - timedelta(days=90))
    _age(uow, "D-1", 60, now, close=date(2026, 10, 1))
    close_deal_won(uow, ana, "D-1", now=now - timedelta(days=1))
    _age(uow, "D-1", 60, now)
    morning = datetime.fromisoformat("2026-11-24T09:30:00+00:00")  # Tuesday 09:30 UTC
    assert _morning(uow, morning).messages == 0
    reopen_deal(uow, ana, "D-1", now=morning)
    _age(uow, "D-1", 60, morning)  # reopened and left alone again: nudged as any open deal
    assert _morning(uow, morning + timedelta(days=1)).stale_deals == 1


def test_reminders_cannot_be_set_on_a_closed_deal(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    import pytest

    from core.deals.deals import close_deal_won
    from core.errors import InvalidInput

    deal = create_deal(uow, ana, title="Acme", now=now)
    close_deal_won(uow, ana, deal.ref, now=now)
    with pytest.raises(InvalidInput, match="Reopen it first"):
        reminders.set_reminder(uow, ana, deal_ref=deal.ref, due_at=now + timedelta(hours=1), text="x", now=now)
    with uow.read() as s:
        assert s.query(Reminder).count() == 0


def test_a_reminder_in_quiet_hours_says_when_it_will_arrive(uow: UnitOfWork, now: datetime) -> None:
    ist = make_actor(uow, "UIST", name="Ipek", tz="Europe/Istanbul")
    late = datetime.fromisoformat("2026-11-23T20:30:00+00:00")  # 23:30 in Istanbul, quiet from 20:00
    r = reminders.set_reminder(uow, ist, due_at=late, text="call", now=now)
    assert r.arrives_at == datetime.fromisoformat("2026-11-24T06:00:00+00:00")  # 09:00 Istanbul
    early = datetime.fromisoformat("2026-11-23T15:00:00+00:00")  # 18:00: not moved
    assert reminders.set_reminder(uow, ist, due_at=early, text="call", now=now).arrives_at == early


def test_a_closed_deals_reminders_leave_the_follow_up_list_until_it_reopens(
    uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    from core.deals.deals import close_deal_won, reopen_deal

    deal = create_deal(uow, ana, title="Acme", now=now)
    r = reminders.set_reminder(uow, ana, deal_ref=deal.ref, due_at=now + timedelta(hours=1), text="x", now=now)
    free = reminders.set_reminder(uow, ana, due_at=now + timedelta(hours=2), text="call mum", now=now)
    close_deal_won(uow, ana, deal.ref, now=now)
    assert [x.id for x in reminders.list_reminders(uow, ana)] == [free.id]
    assert [x.id for x in reminders.list_reminders(uow, ana, closed_deals=True)] == [r.id, free.id]
    reopen_deal(uow, ana, deal.ref, now=now)
    assert [x.id for x in reminders.list_reminders(uow, ana)] == [r.id, free.id]
