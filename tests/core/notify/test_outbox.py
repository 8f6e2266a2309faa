"""The outbox: one row per key, claims that never overlap, failures kept for admins."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.db import UnitOfWork
from core.errors import InvalidInput
from core.notify import outbox
from core.tables import OutboxMessage, OutboxStatus
from core.workspace.users import Actor


def test_the_same_key_is_queued_once(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    with uow.transaction() as s:
        first = outbox.enqueue(s, ana.workspace_id, "nudge:r1:x", "nudge", "UANA", {"text": "hi"}, now)
    with uow.transaction() as s:
        second = outbox.enqueue(s, ana.workspace_id, "nudge:r1:x", "nudge", "UANA", {"text": "again"}, now)
    assert (first, second) == (True, False)
    with uow.read() as s:
        rows = s.query(OutboxMessage).all()
    assert [r.payload["text"] for r in rows] == ["hi"]


def test_a_message_queued_in_a_rolled_back_transaction_does_not_exist(
    uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    with pytest.raises(RuntimeError), uow.transaction() as s:
        outbox.enqueue(s, ana.workspace_id, "k", "nudge", "UANA", {"text": "hi"}, now)
        raise RuntimeError("the decision failed")
    with uow.read() as s:
        assert outbox.pending_count(s) == 0


def test_bad_keys_and_channels_are_refused(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    with uow.transaction() as s:
        with pytest.raises(InvalidInput, match="1-200"):
            outbox.enqueue(s, ana.workspace_id, "x" * 201, "nudge", "UANA", {}, now)
        with pytest.raises(InvalidInput, match="channel"):
            outbox.enqueue(s, ana.workspace_id, "k", "nudge", "", {}, now)
    with uow.read() as s:
        assert outbox.pending_count(s) == 0


def test_claims_hide_rows_until_the_hold_ends(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    with uow.transaction() as s:
        for i in range(3):
            outbox.enqueue(s, ana.workspace_id, f"k{i}", "nudge", "UANA", {"text": str(i)}, now)
        outbox.enqueue(s, ana.workspace_id, "later", "nudge", "UANA", {}, now, not_before=now + timedelta(hours=2))
    with uow.transaction() as s:
        first = outbox.claim(s, now, limit=2, hold=timedelta(minutes=5))
    with uow.transaction() as s:
        second = outbox.claim(s, now, limit=10)
    assert [m.key for m in first] == ["k0", "k1"] and [m.key for m in second] == ["k2"]
    with uow.transaction() as s:
        # The worker died: after the hold the rows come back, the held-back one only later.
        again = outbox.claim(s, now + timedelta(minutes=6), limit=10, hold=timedelta(hours=3))
    assert sorted(m.key for m in again) == ["k0", "k1", "k2"]
    with uow.transaction() as s:
        assert [m.key for m in outbox.claim(s, now + timedelta(hours=2), limit=10)] == ["later"]


def test_sent_and_failed_messages_are_never_claimed_again(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    with uow.transaction() as s:
        outbox.enqueue(s, ana.workspace_id, "a", "nudge", "UANA", {}, now)
        outbox.enqueue(s, ana.workspace_id, "b", "digest", "CGONE", {}, now)
    with uow.transaction() as s:
        a, b = outbox.claim(s, now)
        outbox.mark_sent(s, a.id, now, "D1", "1.0001")
        outbox.mark_failed(s, b.id, now, "channel_not_found")
    with uow.transaction() as s:
        assert outbox.claim(s, now + timedelta(days=1)) == []
        failed = outbox.failed_messages(s, ana.workspace_id)
        sent = s.get(OutboxMessage, a.id)
    assert [(f.key, f.reason) for f in failed] == [("b", "channel_not_found")]
    assert sent is not None and sent.status == OutboxStatus.SENT and sent.slack_ts == "1.0001"


def test_withdraw_drops_only_unsent_messages(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    with uow.transaction() as s:
        outbox.enqueue(s, ana.workspace_id, "a", "nudge", "UANA", {}, now)
        outbox.enqueue(s, ana.workspace_id, "b", "nudge", "UANA", {}, now)
        b = outbox.claim(s, now)[1]
        outbox.mark_sent(s, b.id, now)
    with uow.transaction() as s:
        assert outbox.withdraw(s, ana.workspace_id, "a") is True
        assert outbox.withdraw(s, ana.workspace_id, "b") is False
    with uow.read() as s:
        assert [m.key for m in s.query(OutboxMessage)] == ["b"]


def test_one_lease_holder_at_a_time(uow: UnitOfWork, now: datetime) -> None:
    ttl = timedelta(seconds=30)
    with uow.transaction() as s:
        assert outbox.acquire_lease(s, "deliver", "w1", now, ttl)
    with uow.transaction() as s:
        assert not outbox.acquire_lease(s, "deliver", "w2", now + timedelta(seconds=10), ttl)
        assert outbox.acquire_lease(s, "deliver", "w1", now + timedelta(seconds=10), ttl)  # renewal
    with uow.transaction() as s:
        # w1 vanished without releasing: w2 takes over once the lease runs out.
        assert outbox.acquire_lease(s, "deliver", "w2", now + timedelta(seconds=41), ttl)
        outbox.release_lease(s, "deliver", "w2", now + timedelta(seconds=42))
    with uow.transaction() as s:
        assert outbox.acquire_lease(s, "deliver", "w1", now + timedelta(seconds=42), ttl)


def test_leases_claims_and_retries_follow_the_wall_clock_whatever_the_due_time(
    uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    hold = timedelta(seconds=20)
    with uow.transaction() as s:
        outbox.enqueue(s, ana.workspace_id, "held", "nudge", "UANA", {}, now)
        outbox.enqueue(s, ana.workspace_id, "morning", "nudge", "UANA", {}, now, not_before=now + timedelta(days=3))
    with uow.transaction() as s:
        # A run "as if" in 2030: everything is due, yet the claim ends 20 s after the real now.
        items = outbox.claim(s, now, hold=hold, due_by=datetime.fromisoformat("2030-01-01T00:00:00+00:00"),
                             holder="w1")
    assert sorted(i.key for i in items) == ["held", "morning"]
    with uow.read() as s:
        assert {m.held_until for m in s.query(OutboxMessage)} == {now + hold}
    with uow.transaction() as s:
        # Another run "as if" in 2030 cannot take rows still held on the wall clock ...
        assert outbox.claim(s, now + timedelta(seconds=5), due_by=datetime(2030, 1, 2, tzinfo=now.tzinfo)) == []
        # ... a retry timer is a wall-clock time too ...
        outbox.retry_later(s, items[0].id, now + timedelta(seconds=30), "HTTP 500")
        outbox.release(s, [items[1]], now)
    with uow.transaction() as s:
        # ... and a run "as if" in the past still sees a released row only once it is due.
        assert outbox.claim(s, now + timedelta(seconds=31), due_by=now - timedelta(days=7)) == []
        [retried] = outbox.claim(s, now + timedelta(seconds=31))
    assert retried.key == "held" and retried.unsure_since == now  # a 5xx may have posted it: look first


def test_next_due_at_is_on_the_wall_clock(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    with uow.transaction() as s:
        assert outbox.next_due_at(s, now) is None
        outbox.enqueue(s, ana.workspace_id, "soon", "nudge", "UANA", {}, now, not_before=now + timedelta(hours=1))
        outbox.enqueue(s, ana.workspace_id, "now", "nudge", "UANA", {}, now)
        [item] = outbox.claim(s, now, hold=timedelta(seconds=20))
    with uow.read() as s:
        assert outbox.next_due_at(s, now) == now + timedelta(seconds=20)  # the claim's end
        # As if an hour later: "soon" is due at once by that clock.
        assert outbox.next_due_at(s, now, due_by=now + timedelta(hours=1)) == now
    assert item.key == "now"


def test_a_claim_that_never_resolved_comes_back_unsure_and_stays_so_when_handed_back(
    uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    with uow.transaction() as s:
        outbox.enqueue(s, ana.workspace_id, "k", "nudge", "UANA", {}, now)
        [first] = outbox.claim(s, now, hold=timedelta(seconds=20), holder="dead")
    assert first.unsure_since is None
    with uow.transaction() as s:
        # The dead sender renews nothing; another cannot renew rows it does not hold.
        assert outbox.renew_claims(s, [first.id], "other", now + timedelta(hours=1)) == 0
        [again] = outbox.claim(s, now + timedelta(seconds=21), holder="alive")
        assert again.unsure_since == now
        outbox.release(s, [again], now + timedelta(seconds=22))  # stopped before trying it
        [third] = outbox.claim(s, now + timedelta(seconds=23), holder="alive")
        assert third.unsure_since == now  # still to be looked for in Slack
        assert outbox.renew_claims(s, [third.id], "alive", now + timedelta(seconds=60)) == 1
        assert outbox.claim(s, now + timedelta(seconds=59)) == []
        outbox.mark_sent(s, third.id, now + timedelta(seconds=24), "DANA", "1.1")
    with uow.transaction() as s:
        outbox.enqueue(s, ana.workspace_id, "fresh", "nudge", "UANA", {}, now)
        [fresh] = outbox.claim(s, now)
        outbox.release(s, [fresh], now)  # never tried: sure not to be in Slack
        [back] = outbox.claim(s, now)
    assert back.unsure_since is None


def test_a_lease_written_with_a_future_clock_binds_nobody(uow: UnitOfWork, now: datetime) -> None:
    ttl = timedelta(seconds=20)
    with uow.transaction() as s:
        # What `salesbot jobs run deliver --at 2030-...` left behind before leases took the wall clock.
        assert outbox.acquire_lease(s, "outbox-delivery", "old", datetime(2030, 1, 1, tzinfo=now.tzinfo), ttl)
    with uow.transaction() as s:
        assert outbox.acquire_lease(s, "outbox-delivery", "w1", now, ttl)
    with uow.transaction() as s:
        assert not outbox.acquire_lease(s, "outbox-delivery", "w2", now + timedelta(seconds=19), ttl)
        assert outbox.acquire_lease(s, "outbox-delivery", "w2", now + timedelta(seconds=21), ttl)
