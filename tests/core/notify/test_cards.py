"""Cards that stay current (issue 15 point 2), in core: subjects, revisions, the refresh sweep."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from core.db import UnitOfWork, make_engine
from core.deals.cards import CARD_VIEW, deal_card_data
from core.deals.deals import add_note, close_deal_won, create_deal, edit_deal, move_stage
from core.deals.importer import import_deals
from core.leads import leads
from core.money import Money
from core.notify import cards, outbox
from core.notify.cards import Subject, refresh_sweep, subjects_of
from core.tables import Card, CardSubject, Deal, Lead, LeadStatus, OutboxMessage, OutboxStatus
from core.workspace.setup import update_pipeline_stages
from core.workspace.users import Actor

DEAL = CardSubject.DEAL
LEAD = CardSubject.LEAD


def _rev(uow: UnitOfWork, model: type[Deal] | type[Lead], ident: int) -> int:
    with uow.read() as s:
        return int(s.scalar(select(model.revision).where(model.id == ident)) or 0)


def _deal_id(uow: UnitOfWork, ref: str) -> int:
    with uow.read() as s:
        found = s.scalar(select(Deal.id).where(Deal.number == int(ref[2:])))
        assert found is not None
        return found


def test_subjects_come_from_the_data_of_any_view() -> None:
    assert subjects_of({"view": CARD_VIEW, "data": {"deal_id": 7}}) == [Subject(DEAL, 7)]
    assert subjects_of({"view": "hot_lead", "data": {"lead_id": 3, "ref": "L-3"}}) == [Subject(LEAD, 3)]
    burst = {"view": "hot_lead_burst", "data": {"leads": [{"lead_id": 1}, {"lead_id": 2}, {"lead_id": 1}]}}
    assert subjects_of(burst) == [Subject(LEAD, 1), Subject(LEAD, 2)]
    assert subjects_of({"view": "room_post", "data": {"deal_id": "9"}}) == [Subject(DEAL, 9)]
    # Not about one deal or lead: plain text, a digest, a morning list.
    assert subjects_of({"text": "hi"}) == []
    assert subjects_of({"view": "digest", "data": {"teams": []}}) == []
    assert subjects_of({"view": "morning", "data": {"stale": [{"id": 1}]}}) == []
    # A nudge says which deal it is about, but is not kept current (its buttons act on it in place).
    nudge = {"view": "nudge", "data": {"reminder_id": 1, "deal_id": 4, "lead_id": None}}
    assert subjects_of(nudge) == [Subject(DEAL, 4)] and cards.is_live(nudge)
    # Only views re-rendered from the database are kept current.
    assert cards.is_live(burst) and not cards.is_live({"view": "room_post", "data": {"deal_id": 9}})


def test_every_change_a_card_shows_bumps_the_deal(
    uow: UnitOfWork, ana: Actor, root: Actor, now: datetime
) -> None:
    made = create_deal(uow, ana, title="Acme", amount=Money(Decimal("100"), "USD"), now=now)
    deal_id = _deal_id(uow, made.ref)
    steps = [
        lambda: edit_deal(uow, ana, made.ref, now=now, title="Acme renewal"),  # a command or a modal
        lambda: move_stage(uow, ana, made.ref, "Proposal", now=now),  # a card button does the same
        lambda: add_note(uow, ana, made.ref, "Called", now=now),  # an activity the card lists
        lambda: update_pipeline_stages(  # a stage renamed: the card shows the stage's name
            uow, root, "Qualified, 20%\nProposal -> Offer, 50%\nNegotiation, 70%", now=now),
        lambda: close_deal_won(uow, ana, made.ref, now=now),
    ]
    for step in steps:
        before = _rev(uow, Deal, deal_id)
        step()
        assert _rev(uow, Deal, deal_id) > before, step
    # Bookkeeping no card shows (the stale sweep's counter) moves nothing.
    before = _rev(uow, Deal, deal_id)
    with uow.transaction() as s:
        s.execute(update(Deal).where(Deal.id == deal_id).values(stale_nudges=Deal.stale_nudges + 1))
    assert _rev(uow, Deal, deal_id) == before


def test_an_import_that_changes_a_deal_bumps_it(uow: UnitOfWork, ana: Actor, now: datetime, tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text("id,title,stage,amount\nA1,Acme,Qualified,100\n", encoding="utf-8")
    import_deals(uow, ana.workspace_id, path, now=now)
    with uow.read() as s:
        deal_id, first = s.execute(select(Deal.id, Deal.revision).where(Deal.external_id == "A1")).one()
    path.write_text("id,title,stage,amount\nA1,Acme,Proposal,100\n", encoding="utf-8")
    report = import_deals(uow, ana.workspace_id, path, now=now + timedelta(hours=1))
    assert report.updated == 1
    assert _rev(uow, Deal, deal_id) == first + 1


def test_claims_assignments_and_not_a_fit_bump_the_lead(uow: UnitOfWork, ana: Actor, mia: Actor,
                                                        now: datetime) -> None:
    lead = leads.create_lead(uow, mia, {"name": "Zoe", "company": "Acme", "email": "zoe@acme.io"}, now=now)
    with uow.transaction() as s:  # unowned, as an alert leaves it
        s.execute(update(Lead).where(Lead.id == lead.id).values(owner_id=None, status=LeadStatus.NEW))
    steps = [
        lambda: leads.claim_lead(uow, ana, lead.id, now=now),  # a conditional UPDATE statement
        lambda: leads.assign_lead(uow, mia, lead.ref, mia.user_id, now=now),
        lambda: leads.disqualify_lead(uow, mia, lead.ref, "no budget", now=now),
        lambda: leads.undo_disqualify(uow, mia, lead.id, now=now),
    ]
    for step in steps:
        before = _rev(uow, Lead, lead.id)
        step()
        assert _rev(uow, Lead, lead.id) == before + 1, step


# -- the refresh sweep ------------------------------------------------------------------------


def _post_card(uow: UnitOfWork, actor: Actor, ref: str, posted_at: datetime, ts: str = "1.000001") -> int:
    """A deal card queued and delivered (as bot/delivery.py records it)."""
    with uow.transaction() as s:
        deal = s.scalar(select(Deal).where(Deal.workspace_id == actor.workspace_id, Deal.number == int(ref[2:])))
        assert deal is not None
        payload = {"view": CARD_VIEW, "data": deal_card_data(s, deal)}
        outbox.enqueue(s, actor.workspace_id, f"share:{ref}:{ts}", "deal_card", "C1", payload, posted_at)
        message_id = s.scalar(select(OutboxMessage.id).where(OutboxMessage.key == f"share:{ref}:{ts}"))
        assert message_id is not None
        outbox.mark_sent(s, message_id, posted_at, "C1", ts)
        shown = cards.revisions(s, actor.workspace_id, subjects_of(payload))
        cards.record_posted(s, message_id, actor.workspace_id, "C1", ts, posted_at, shown)
        return message_id


def _updates(uow: UnitOfWork) -> list[OutboxMessage]:
    with uow.read() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == cards.CARD_UPDATES)
                              .order_by(OutboxMessage.id)))


def _deliver_updates(uow: UnitOfWork, now: datetime) -> None:
    """What delivery does with each waiting update: marks it sent and records what it showed."""
    with uow.transaction() as s:
        for m in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == cards.CARD_UPDATES,
                                                       OutboxMessage.status == OutboxStatus.PENDING)):
            outbox.mark_sent(s, m.id, now, m.payload["update"]["channel"], m.payload["update"]["ts"])
            target = cards.card_message_id(m.payload)
            assert target is not None
            cards.record_updated(s, target, cards.revisions(s, m.workspace_id, subjects_of(m.payload)), now)


def test_a_changed_deal_queues_one_update_of_its_card_and_nothing_when_unchanged(
    uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    made = create_deal(uow, ana, title="Acme", now=now)
    message_id = _post_card(uow, ana, made.ref, now)
    with uow.transaction() as s:
        assert refresh_sweep(s, now + timedelta(minutes=1)) == 0  # nothing changed
    move_stage(uow, ana, made.ref, "Proposal", now=now + timedelta(minutes=2))
    add_note(uow, ana, made.ref, "Sent the offer", now=now + timedelta(minutes=2))
    with uow.transaction() as s:
        assert refresh_sweep(s, now + timedelta(minutes=3)) == 1
    with uow.transaction() as s:  # the update waits: a second run (or replica) adds nothing
        assert refresh_sweep(s, now + timedelta(minutes=3)) == 0
    [queued] = _updates(uow)
    assert queued.channel == "C1" and queued.next_attempt_at == now + timedelta(minutes=3)  # at once
    assert queued.payload["update"] == {"channel": "C1", "ts": "1.000001"}
    assert queued.payload["card"] == {"message_id": message_id} and queued.payload["view"] == CARD_VIEW
    _deliver_updates(uow, now + timedelta(minutes=3))
    with uow.transaction() as s:
        assert refresh_sweep(s, now + timedelta(minutes=4)) == 0  # caught up
    edit_deal(uow, ana, made.ref, now=now + timedelta(minutes=5), title="Acme renewal")
    with uow.transaction() as s:
        assert refresh_sweep(s, now + timedelta(minutes=6)) == 1
    assert len({m.key for m in _updates(uow)}) == 2


def test_cards_older_than_90_days_and_gone_cards_are_left_alone(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    made = create_deal(uow, ana, title="Acme", now=now)
    sweep_at = now + timedelta(days=100)
    edge = _post_card(uow, ana, made.ref, sweep_at - timedelta(days=90), ts="1.1")  # exactly 90 days: kept
    _post_card(uow, ana, made.ref, sweep_at - timedelta(days=90, seconds=1), ts="1.2")  # older: left
    gone = _post_card(uow, ana, made.ref, sweep_at - timedelta(days=1), ts="1.3")
    with uow.transaction() as s:
        assert cards.mark_gone(s, gone, sweep_at) == 1
    move_stage(uow, ana, made.ref, "Proposal", now=sweep_at)
    with uow.transaction() as s:
        assert refresh_sweep(s, sweep_at) == 1
    assert [cards.card_message_id(m.payload) for m in _updates(uow)] == [edge]


def test_a_card_about_several_leads_gets_one_update_for_all_their_changes(
    uow: UnitOfWork, mia: Actor, ana: Actor, now: datetime
) -> None:
    one = leads.create_lead(uow, mia, {"name": "One", "email": "one@x.io"}, now=now)
    two = leads.create_lead(uow, mia, {"name": "Two", "email": "two@x.io"}, now=now)
    with uow.transaction() as s:
        payload = {"view": "hot_lead_burst", "data": {"leads": [{"lead_id": one.id}, {"lead_id": two.id}]}}
        outbox.enqueue(s, mia.workspace_id, "burst", "hot_lead_burst", "C1", payload, now)
        message_id = s.scalar(select(OutboxMessage.id).where(OutboxMessage.key == "burst"))
        assert message_id is not None
        cards.record_posted(s, message_id, mia.workspace_id, "C1", "2.1", now,
                            cards.revisions(s, mia.workspace_id, subjects_of(payload)))
        assert s.scalar(select(func.count()).select_from(Card)) == 2  # one row per subject
    leads.disqualify_lead(uow, mia, one.ref, "spam", now=now)
    leads.disqualify_lead(uow, mia, two.ref, "spam", now=now)
    with uow.transaction() as s:
        assert refresh_sweep(s, now + timedelta(minutes=1)) == 1


def test_two_replicas_sweeping_at_once_queue_one_update(
    engine: Engine, db_url: str, uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    made = create_deal(uow, ana, title="Acme", now=now)
    _post_card(uow, ana, made.ref, now)
    move_stage(uow, ana, made.ref, "Proposal", now=now)
    engines = [make_engine(db_url) for _ in range(2)]  # two processes' pools
    barrier = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def replica(eng: Engine) -> None:
        try:
            barrier.wait(timeout=10)
            with UnitOfWork(eng).transaction() as s:
                counts.append(refresh_sweep(s, now + timedelta(minutes=1)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=replica, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for e in engines:
        e.dispose()
    assert not errors, errors
    assert sorted(counts) == [0, 1]
    assert len(_updates(uow)) == 1


@pytest.mark.parametrize("change", ["title", "stage"])
def test_many_changes_within_the_minute_cost_one_update(
    uow: UnitOfWork, ana: Actor, now: datetime, change: str
) -> None:
    made = create_deal(uow, ana, title="Acme", now=now)
    _post_card(uow, ana, made.ref, now)
    for i, stage in enumerate(["Proposal", "Negotiation", "Qualified", "Proposal"]):
        at = now + timedelta(seconds=10 * i)
        if change == "title":
            edit_deal(uow, ana, made.ref, now=at, title=f"Acme {i}")
        else:
            move_stage(uow, ana, made.ref, stage, now=at)
        with uow.transaction() as s:
            refresh_sweep(s, at)
    assert len(_updates(uow)) == 1  # the first is still waiting; it will render the final state


def test_a_lead_just_marked_not_a_fit_keeps_its_undo_button_for_the_window(
    uow: UnitOfWork, mia: Actor, now: datetime
) -> None:
    lead = leads.create_lead(uow, mia, {"name": "Zoe", "email": "zoe@x.io"}, now=now)
    with uow.transaction() as s:
        payload = {"view": "hot_lead", "data": {"lead_id": lead.id, "ref": lead.ref}}
        outbox.enqueue(s, mia.workspace_id, "hot", "hot_lead", "C1", payload, now)
        message_id = s.scalar(select(OutboxMessage.id).where(OutboxMessage.key == "hot"))
        assert message_id is not None
        cards.record_posted(s, message_id, mia.workspace_id, "C1", "3.1", now,
                            cards.revisions(s, mia.workspace_id, subjects_of(payload)))
    leads.disqualify_lead(uow, mia, lead.ref, "spam", now=now)
    with uow.transaction() as s:
        assert refresh_sweep(s, now + cards.UNDO_WINDOW - timedelta(seconds=1)) == 0
    with uow.transaction() as s:
        assert refresh_sweep(s, now + cards.UNDO_WINDOW) == 1
