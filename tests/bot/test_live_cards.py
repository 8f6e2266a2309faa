"""Cards that stay current (issue 15 point 2), end to end through the outbox and the fake Slack.

A card is posted with metadata saying what it is about; when its deal or lead changes, the
`cards` job queues one update and delivery edits the message in place (chat.update, with the
metadata), once, however many replicas run; a deleted message is never tried again.
"""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine, select, update

from bot.delivery import Deliverer, delivery_client
from bot.jobs import run_job
from core.db import UnitOfWork, make_engine
from core.deals.cards import CARD_VIEW, deal_card_data
from core.deals.deals import add_note, close_deal_won, create_deal, move_stage
from core.leads import leads
from core.leads.alerts import lead_card
from core.money import Money
from core.notify import outbox
from core.tables import Card, Deal, Lead, LeadStatus, OutboxMessage, OutboxStatus
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message
from tests.bot.fake_slack import FakeSlack
from tests.bot.fake_slack_rate_limited import VirtualClock
from tests.bot.surfaces import deal, text_of
from tests.conftest import make_actor


def _deliverer(uow: UnitOfWork, fake: FakeSlack, clock: VirtualClock) -> Deliverer:
    client = delivery_client(WebClient(token="xoxb-test", base_url=fake.url), timeout=5)
    return Deliverer(uow, client, clock=clock.now, sleep=clock.sleep)


def _share(uow: UnitOfWork, actor: Actor, ref: str, now: datetime, channel: str = "C1") -> None:
    with uow.transaction() as s:
        deal = s.scalar(select(Deal).where(Deal.workspace_id == actor.workspace_id, Deal.number == int(ref[2:])))
        assert deal is not None
        payload = {"view": CARD_VIEW, "data": deal_card_data(s, deal)}
        outbox.enqueue(s, actor.workspace_id, f"share:{ref}:{channel}", CARD_VIEW, channel, payload, now)


def _cards_and_deliver(uow: UnitOfWork, fake: FakeSlack, clock: VirtualClock) -> str:
    summary = run_job("cards", uow, clock.now(), None)
    _deliverer(uow, fake, clock).drain()
    return summary


def _shown(call: Any) -> str:
    return text_of({"text": call["text"], "blocks": call["blocks"]})


def test_a_deal_card_says_what_it_is_about_and_is_updated_in_place_once(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    made = create_deal(uow, ana, title="Acme renewal", amount=Money(Decimal("12345"), "USD"), now=now)
    clock = VirtualClock(now)
    _share(uow, ana, made.ref, now)
    assert _deliverer(uow, fake_slack, clock).drain().sent == 1
    [post] = fake_slack.calls("chat.postMessage")
    meta = post["metadata"]
    with uow.read() as s:
        deal_id, revision = s.execute(select(Deal.id, Deal.revision)).one()
        [card] = s.scalars(select(Card)).all()
    assert meta == {"event_type": "salesbot_deal", "event_payload": {
        "team_id": "T1", "deal_id": deal_id, "ref": made.ref, "key": f"share:{made.ref}:C1"}}
    assert "12345" not in json.dumps(meta) and "12,345" not in json.dumps(meta)  # no amounts
    assert (card.channel, card.ts, card.shown_revision) == ("C1", post_ts(fake_slack), revision)

    clock.sleep(60)
    assert _cards_and_deliver(uow, fake_slack, clock) == "cards: 0 card update(s) queued"  # nothing changed
    assert fake_slack.updates() == []

    move_stage(uow, ana, made.ref, "Proposal", now=clock.now())
    add_note(uow, ana, made.ref, "Sent the offer", now=clock.now())
    clock.sleep(60)
    assert _cards_and_deliver(uow, fake_slack, clock) == "cards: 1 card update(s) queued"
    [edit] = fake_slack.updates()
    assert (edit["channel"], edit["ts"]) == ("C1", card.ts)
    assert edit["metadata"]["event_type"] == "salesbot_deal"
    assert edit["metadata"]["event_payload"]["deal_id"] == deal_id
    assert "12345" not in json.dumps(edit["metadata"])
    assert_valid_message({"text": edit["text"], "blocks": edit["blocks"]})
    assert "Proposal" in _shown(edit) and "Sent the offer" in _shown(edit)
    stored = fake_slack.message("C1", card.ts)
    assert stored is not None and stored["metadata"] == edit["metadata"]

    clock.sleep(60)  # caught up: the next runs update nothing
    _cards_and_deliver(uow, fake_slack, clock)
    assert len(fake_slack.updates()) == 1
    close_deal_won(uow, ana, made.ref, now=clock.now())
    clock.sleep(60)
    _cards_and_deliver(uow, fake_slack, clock)
    assert len(fake_slack.updates()) == 2 and "Won" in _shown(fake_slack.updates()[-1])


def post_ts(fake: FakeSlack) -> str:
    return str(fake.history["C1"][0]["ts"])


def test_a_hot_lead_card_shows_who_claimed_it_instead_of_the_claim_button(
    uow: UnitOfWork, mia: Actor, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    made = leads.create_lead(uow, mia, {"name": "Zoe", "company": "Acme", "email": "zoe@acme.io"}, now=now)
    with uow.transaction() as s:
        s.execute(update(Lead).where(Lead.id == made.id).values(owner_id=None, status=LeadStatus.NEW, hot=True))
        lead = s.get_one(Lead, made.id)
        outbox.enqueue(s, mia.workspace_id, "hot:1", "hot_lead", "C0LEADS", {"view": "hot_lead",
                                                                              "data": lead_card(lead)}, now)
    clock = VirtualClock(now)
    _deliverer(uow, fake_slack, clock).drain()
    [post] = fake_slack.calls("chat.postMessage")
    assert post["metadata"]["event_type"] == "salesbot_lead"
    payload = post["metadata"]["event_payload"]
    assert payload["lead_id"] == made.id and payload["team_id"] == "T1" and payload["ref"] == made.ref
    assert "zoe@acme.io" not in json.dumps(post["metadata"])  # no emails
    assert "lead_claim" in json.dumps(post["blocks"])

    leads.claim_lead(uow, ana, made.id, now=now)
    clock.sleep(60)
    _cards_and_deliver(uow, fake_slack, clock)
    [edit] = fake_slack.updates()
    assert_valid_message({"text": edit["text"], "blocks": edit["blocks"]})
    assert "lead_claim" not in json.dumps(edit["blocks"]) and "<@UANA>" in json.dumps(edit["blocks"])


def test_a_deleted_card_is_marked_gone_and_never_tried_again(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    made = create_deal(uow, ana, title="Acme", now=now)
    clock = VirtualClock(now)
    _share(uow, ana, made.ref, now)
    _deliverer(uow, fake_slack, clock).drain()
    fake_slack.deleted.add(("C1", post_ts(fake_slack)))
    move_stage(uow, ana, made.ref, "Proposal", now=now)
    clock.sleep(60)
    _cards_and_deliver(uow, fake_slack, clock)
    with uow.read() as s:
        [card] = s.scalars(select(Card)).all()
        failed = outbox.failed_messages(s, ana.workspace_id)
    assert card.gone_at is not None
    assert [f.reason for f in failed] == ["message_not_found"]
    move_stage(uow, ana, made.ref, "Negotiation", now=now)
    clock.sleep(60)
    assert _cards_and_deliver(uow, fake_slack, clock) == "cards: 0 card update(s) queued"
    assert len(fake_slack.updates()) == 1


def test_a_card_a_dead_sender_posted_is_found_by_its_key_not_posted_twice(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    made = create_deal(uow, ana, title="Acme", now=now)
    clock = VirtualClock(now)
    _share(uow, ana, made.ref, now)
    _deliverer(uow, fake_slack, clock).drain()
    with uow.transaction() as s:  # as if the sender died between Slack's answer and its mark
        s.execute(update(OutboxMessage).values(status=OutboxStatus.PENDING, slack_channel=None, slack_ts=None,
                                               sent_at=None, claimed_at=clock.now(), held_until=None))
        s.execute(Card.__table__.delete())
    clock.sleep(30)
    stats = _deliverer(uow, fake_slack, clock).drain()
    assert (stats.sent, stats.found) == (1, 1)
    assert len(fake_slack.calls("chat.postMessage")) == 1
    with uow.read() as s:
        [card] = s.scalars(select(Card)).all()  # recorded where Slack has it
    assert card.ts == post_ts(fake_slack)


def test_two_replicas_update_a_card_once_per_change(
    engine: Engine, db_url: str, uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    made = create_deal(uow, ana, title="Acme", now=now)
    clock = VirtualClock(now)
    _share(uow, ana, made.ref, now)
    _deliverer(uow, fake_slack, clock).drain()
    for stage in ("Proposal", "Negotiation", "Qualified"):  # several changes within the minute
        move_stage(uow, ana, made.ref, stage, now=now)
    clock.sleep(60)
    engines = [make_engine(db_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def replica(eng: Engine) -> None:
        try:
            replica_uow = UnitOfWork(eng)
            barrier.wait(timeout=10)
            run_job("cards", replica_uow, clock.now(), None)
            _deliverer(replica_uow, fake_slack, clock).drain()
            run_job("cards", replica_uow, clock.now(), None)  # the other may have delivered by now
            _deliverer(replica_uow, fake_slack, clock).drain()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=replica, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    _deliverer(uow, fake_slack, clock).drain()  # whatever a replica left to the lease holder
    for e in engines:
        e.dispose()
    assert not errors, errors
    [edit] = fake_slack.updates()
    assert "Qualified" in _shown(edit)  # the final state


# -- /deal share ------------------------------------------------------------------------------


def test_deal_share_posts_the_live_card_in_the_channel(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    made = create_deal(uow, ana, title="Acme renewal", amount=Money(Decimal("12000"), "USD"), now=now)
    answer = deal(app, fake_slack, f"share {made.ref}")
    assert "Posting the card of" in answer["text"] and made.ref in answer["text"]
    again = deal(app, fake_slack, f"paylaş {made.ref}")  # Turkish alias; the same minute: queued once
    assert "already on its way" in again["text"]
    fake_slack.clear()
    clock = VirtualClock(datetime.now(UTC))
    assert _deliverer(uow, fake_slack, clock).drain().sent == 1
    [post] = fake_slack.calls("chat.postMessage")
    assert post["channel"] == "C1" and post["metadata"]["event_type"] == "salesbot_deal"
    assert_valid_message({"text": post["text"], "blocks": post["blocks"]})
    with uow.read() as s:
        assert len(s.scalars(select(Card)).all()) == 1  # a live card, kept current from now on


def test_deal_share_where_the_bot_is_not_invited_tells_the_sharer(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    made = create_deal(uow, ana, title="Acme renewal", now=now)
    deal(app, fake_slack, f"share {made.ref}")
    fake_slack.clear()
    fake_slack.fail_next("chat.postMessage", 1, status=200, error="not_in_channel")
    clock = VirtualClock(datetime.now(UTC))
    stats = _deliverer(uow, fake_slack, clock).drain()
    assert (stats.sent, stats.failed) == (1, 1)
    notice = fake_slack.calls("chat.postMessage")[-1]
    assert notice["channel"] == "UANA" and "/invite @salesbot" in notice["text"] and "<#C1>" in notice["text"]
    assert_valid_message({"text": notice["text"], "blocks": notice["blocks"]})


@pytest.mark.parametrize(("text", "expected"), [("share", "Which deal?"), ("share D-99", "D-99")])
def test_deal_share_with_a_bad_ref_says_so_and_queues_nothing(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, text: str, expected: str
) -> None:
    assert expected in text_of(deal(app, fake_slack, text))
    with uow.read() as s:
        assert s.scalars(select(OutboxMessage)).all() == []


def test_a_nudge_about_a_deal_says_so_in_its_metadata_and_follows_the_deal(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    from core.notify import reminders
    from core.notify.nudges import sweep_due_reminders

    made = create_deal(uow, ana, title="Acme", amount=Money(Decimal("12345"), "USD"), now=now)
    reminders.set_reminder(uow, ana, deal_ref=made.ref, due_at=now + timedelta(minutes=1), text="Call", now=now)
    clock = VirtualClock(now + timedelta(minutes=1))
    with uow.transaction() as s:
        sweep_due_reminders(s, clock.now())
        deal_id = s.scalar(select(Deal.id))
    _deliverer(uow, fake_slack, clock).drain()
    [post] = fake_slack.calls("chat.postMessage")
    assert post["metadata"]["event_type"] == "salesbot_deal"
    assert post["metadata"]["event_payload"]["deal_id"] == deal_id
    assert post["metadata"]["event_payload"]["ref"] == made.ref
    assert "12345" not in json.dumps(post["metadata"]) and "Acme" not in json.dumps(post["metadata"])
    with uow.read() as s:
        [card] = s.scalars(select(Card)).all()  # a live card: it follows its deal
    assert card.ts
    assert "Done" in _shown(post)

    move_stage(uow, ana, made.ref, "Proposal", now=clock.now())
    clock.sleep(60)
    _cards_and_deliver(uow, fake_slack, clock)
    [moved] = fake_slack.updates()
    assert (moved["channel"], moved["ts"]) == (card.channel, card.ts)
    assert "Proposal" in _shown(moved) and "Done" in _shown(moved)  # still to do: the buttons stay
    assert_valid_message({"text": moved["text"], "blocks": moved["blocks"]})

    close_deal_won(uow, ana, made.ref, now=clock.now())
    clock.sleep(60)
    _cards_and_deliver(uow, fake_slack, clock)
    won = fake_slack.updates()[-1]
    assert f"{made.ref}* was won: nothing to follow up." in _shown(won)
    assert not [b for b in won["blocks"] if b["type"] == "actions"]  # no Done / Snooze on a won deal


def test_a_refreshed_nudge_says_it_was_done_or_snoozed(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    from core.notify import reminders
    from core.notify.nudges import sweep_due_reminders

    made = create_deal(uow, ana, title="Acme", amount=Money(Decimal("100"), "USD"), now=now)
    first = reminders.set_reminder(uow, ana, deal_ref=made.ref, due_at=now + timedelta(minutes=1), text="Call",
                                   now=now)
    clock = VirtualClock(now + timedelta(minutes=1))
    with uow.transaction() as s:
        sweep_due_reminders(s, clock.now())
    _deliverer(uow, fake_slack, clock).drain()
    reminders.snooze_reminder(uow, ana, first.id, clock.now() + timedelta(days=1), clock.now())
    add_note(uow, ana, made.ref, "Left a voicemail", now=clock.now())
    clock.sleep(60)
    _cards_and_deliver(uow, fake_slack, clock)
    [snoozed] = fake_slack.updates()
    assert ":zzz: Snoozed to" in _shown(snoozed) and not [b for b in snoozed["blocks"] if b["type"] == "actions"]

    reminders.complete_reminder(uow, ana, first.id, clock.now())
    add_note(uow, ana, made.ref, "Reached them", now=clock.now())
    clock.sleep(60)
    _cards_and_deliver(uow, fake_slack, clock)
    assert ":white_check_mark: Done" in _shown(fake_slack.updates()[-1])


def test_a_discount_shows_on_the_deal_card_while_it_waits_and_the_card_follows_the_approval(
    uow: UnitOfWork, ana: Actor, mia: Actor, root: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    from core.notify import discounts

    made = create_deal(uow, ana, title="Acme renewal", amount=Money(Decimal("10000"), "USD"), now=now)
    clock = VirtualClock(now)
    _share(uow, ana, made.ref, now)
    _deliverer(uow, fake_slack, clock).drain()
    assert "Discount" not in _shown(fake_slack.calls("chat.postMessage")[0])

    asked = discounts.request_discount(uow, ana, made.ref, "15%", "multi-year", now=clock.now())
    clock.sleep(60)
    _cards_and_deliver(uow, fake_slack, clock)
    [waiting] = fake_slack.updates()
    assert "Discount 15 % ($1,500.00) asked by <@UANA>, waiting on <@UMIA>" in _shown(waiting)
    assert "$10,000.00" in _shown(waiting)

    discounts.approve_discount(uow, mia, asked.id, now=clock.now())
    clock.sleep(60)
    _cards_and_deliver(uow, fake_slack, clock)
    on_card = [u for u in fake_slack.updates() if u["channel"] == "C1"]  # the approver's DM is updated too
    assert len(on_card) == 2
    approved = on_card[-1]
    assert "Discount" not in _shown(approved) and "$8,500.00" in _shown(approved)
    assert_valid_message({"text": approved["text"], "blocks": approved["blocks"]})


def test_an_is_yours_dm_says_so_when_the_lead_went_to_someone_else(
    uow: UnitOfWork, mia: Actor, ana: Actor, root: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    bob = make_actor(uow, "UBOB2", name="Bob", team="East")
    made = leads.create_lead(uow, mia, {"name": "Zoe", "company": "Acme", "email": "zoe@acme.io"}, now=now)
    leads.assign_lead(uow, mia, made.ref, ana.user_id, now=now)
    clock = VirtualClock(now)
    _deliverer(uow, fake_slack, clock).drain()
    [dm] = [c for c in fake_slack.calls("chat.postMessage") if c["channel"] == "UANA"]
    assert "is yours" in _shown(dm)
    leads.assign_lead(uow, mia, made.ref, bob.user_id, now=clock.now())
    clock.sleep(60)
    _cards_and_deliver(uow, fake_slack, clock)
    [moved] = fake_slack.updates()  # in the DM's conversation (DANA), where Slack put it
    assert "now with <@UBOB2>" in _shown(moved) and "is yours" not in _shown(moved)
    assert_valid_message({"text": moved["text"], "blocks": moved["blocks"]})
