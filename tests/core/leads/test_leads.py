"""Leads: intake merges by email, permissions, claim (first click wins), assign, convert, disqualify."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.db import UnitOfWork
from core.errors import Ambiguous, InvalidInput, NotAllowed, NotFound
from core.leads import leads
from core.leads.events import clean_event, intake_events
from core.leads.intake import clean_lead, intake
from core.tables import Deal, DealChange, Lead, LeadStatus, OutboxMessage, Workspace
from core.workspace.users import Actor
from tests.conftest import make_actor


def _intake(uow: UnitOfWork, actor: Actor, now: datetime, *items: dict) -> list:
    with uow.transaction() as s:
        ws = s.get_one(Workspace, actor.workspace_id)
        return intake(s, ws, [clean_lead(i) for i in items], now)


def test_a_known_email_in_any_case_updates_the_lead_instead_of_adding_one(uow, ana, now):
    first = _intake(uow, ana, now, {"name": "Zoe Hart", "email": "Zoe@Acme.io", "company": "Acme"})
    again = _intake(uow, ana, now, {"email": "zoe@acme.IO", "title": "VP Sales", "attributes": {"plan": "pro"}})
    assert first[0].ref == again[0].ref and first[0].created and not again[0].created
    with uow.read() as s:
        rows = s.scalars(select(Lead)).all()
        assert len(rows) == 1
        assert (rows[0].name, rows[0].company, rows[0].title) == ("Zoe Hart", "Acme", "VP Sales")
        assert rows[0].attributes == {"plan": "pro"}
        assert rows[0].score > 0 and rows[0].score_reasons


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"company": "Acme"}, "name"),
        ({"name": "Zoe", "email": "not-an-email"}, "email"),
        ({"name": "Zoe", "employees": "many"}, "employees"),
        ({"name": "Zoe", "favourite": "x"}, "favourite"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Zoe", "attributes": ["a"]}, "attributes"),
        ("just text", "lead"),
    ],
)
def test_bad_lead_data_is_refused_naming_the_field(data, field):
    with pytest.raises(InvalidInput) as err:
        clean_lead(data)
    assert err.value.field == field


def test_bad_events_are_refused_naming_the_field():
    good = {"type": "demo_request", "email": "a@b.io", "at": "2026-11-23T10:00:00Z"}
    assert clean_event(good)["type"] == "demo_request"
    for change, field in (({"type": "tweet"}, "type"), ({"at": "yesterday"}, "at"), ({"email": "nope"}, "email"),
                          ({"at": "2026-11-23T10:00:00"}, "at"), ({"type": "page_view"}, "url")):
        with pytest.raises(InvalidInput) as err:
            clean_event({**good, **change})
        assert err.value.field == field


def test_events_raise_the_score_and_the_same_event_counts_once(uow, ana, now):
    _intake(uow, ana, now, {"name": "Zoe", "email": "zoe@acme.io"})
    event = clean_event({"type": "demo_request", "email": "ZOE@acme.io", "at": (now - timedelta(days=2)).isoformat()})
    with uow.transaction() as s:
        ws = s.get_one(Workspace, ana.workspace_id)
        first = intake_events(s, ws, [event], now)
        second = intake_events(s, ws, [event], now)
    assert first[0].score == second[0].score > 10
    view = leads.get_lead(uow, ana, "zoe@acme.io")
    assert view.events == 1
    assert any(r.label == "demo requested" and r.at is not None for r in view.reasons)


def test_an_event_for_an_unknown_email_creates_the_lead(uow, ana, now):
    event = clean_event({"type": "email_open", "email": "new@lead.io", "at": now.isoformat()})
    with uow.transaction() as s:
        res = intake_events(s, s.get_one(Workspace, ana.workspace_id), [event], now)
    assert res[0].created
    assert leads.get_lead(uow, ana, res[0].ref).name == "new"


def test_find_lead_by_ref_number_email_and_name(uow, ana, now):
    _intake(uow, ana, now, {"name": "Zoe Hart", "email": "zoe@acme.io"}, {"name": "Zack Hart", "company": "Hart Co"})
    assert leads.get_lead(uow, ana, "L-1").name == "Zoe Hart"
    assert leads.get_lead(uow, ana, "2").name == "Zack Hart"
    assert leads.get_lead(uow, ana, "zoe").ref == "L-1"
    with pytest.raises(Ambiguous) as err:
        leads.get_lead(uow, ana, "hart")
    assert len(err.value.candidates) == 2
    with pytest.raises(NotFound):
        leads.get_lead(uow, ana, "L-99")


def test_list_filters(uow, ana, bob, now):
    leads.create_lead(uow, ana, {"name": "Mine", "email": "m@x.io"}, now=now)
    _intake(uow, ana, now, {"name": "Fresh", "email": "f@x.io"})
    assert [v.name for v in leads.list_leads(uow, ana, "mine")] == ["Mine"]
    assert [v.name for v in leads.list_leads(uow, ana, "new")] == ["Fresh"]
    assert leads.list_leads(uow, bob, "mine") == []
    with pytest.raises(InvalidInput):
        leads.list_leads(uow, ana, "everything")


def test_claim_first_click_wins(uow, ana, bob, now):
    ref = _intake(uow, ana, now, {"name": "Zoe", "email": "zoe@acme.io"})[0].ref
    with uow.read() as s:
        lead_id = s.scalar(select(Lead.id))
    first = leads.claim_lead(uow, bob, lead_id, now=now)
    second = leads.claim_lead(uow, ana, lead_id, now=now)
    assert first.won and not second.won
    assert second.lead.owner_name == "Bob" and second.lead.ref == ref


def test_twenty_concurrent_claims_leave_exactly_one_owner(uow, now):
    actors = [make_actor(uow, f"UC{i}", name=f"Rep {i}", team="East") for i in range(20)]
    _intake(uow, actors[0], now, {"name": "Zoe", "email": "zoe@acme.io"})
    with uow.read() as s:
        lead_id = s.scalar(select(Lead.id))
    results: list[bool] = []
    barrier = threading.Barrier(20)

    def click(actor: Actor) -> None:
        barrier.wait()
        results.append(leads.claim_lead(uow, actor, lead_id, now=now).won)

    threads = [threading.Thread(target=click, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 19 + [True]
    with uow.read() as s:
        lead = s.get_one(Lead, lead_id)
        assert lead.owner_id in {a.user_id for a in actors} and lead.status == LeadStatus.ASSIGNED


def test_assign_needs_the_right_to_change_and_dms_the_assignee(uow, ana, bob, mia, now):
    _intake(uow, ana, now, {"name": "Zoe", "email": "zoe@acme.io"})
    with pytest.raises(NotAllowed):
        leads.assign_lead(uow, bob, "L-1", ana.user_id, now=now)  # unowned, not for himself
    view = leads.assign_lead(uow, mia, "L-1", ana.user_id, now=now)
    assert view.owner_name == "Ana" and view.status == LeadStatus.ASSIGNED
    with pytest.raises(NotAllowed):
        leads.assign_lead(uow, bob, "L-1", bob.user_id, now=now)  # Ana's now
    with uow.read() as s:
        dm = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "lead_assigned")).one()
        assert dm.channel == "UANA" and dm.payload["data"]["ref"] == "L-1"


def test_convert_creates_a_linked_deal_with_history(uow, ana, bob, now):
    leads.create_lead(uow, ana, {"name": "Zoe", "company": "Acme", "email": "zoe@acme.io"}, now=now)
    with pytest.raises(NotAllowed):
        leads.convert_lead(uow, bob, "L-1", now=now)
    lead, deal = leads.convert_lead(uow, ana, "L-1", now=now)
    assert lead.status == LeadStatus.CONVERTED and lead.deal_ref == deal.ref
    assert deal.account == "Acme" and deal.contact == "Zoe" and deal.owner_id == ana.user_id
    with uow.read() as s:
        row = s.get_one(Deal, deal.id)
        assert row.lead_id == lead.id
        assert s.scalar(select(DealChange.new_value).where(DealChange.field == "lead")) == "L-1"
    with pytest.raises(InvalidInput):
        leads.convert_lead(uow, ana, "L-1", now=now)
    with uow.read() as s:
        assert s.scalar(select(func.count()).select_from(Deal)) == 1


def test_disqualify_keeps_the_reason_and_refuses_others(uow, ana, bob, now):
    leads.create_lead(uow, ana, {"name": "Zoe", "email": "zoe@acme.io"}, now=now)
    with pytest.raises(NotAllowed):
        leads.disqualify_lead(uow, bob, "L-1", "spam", now=now)
    assert leads.get_lead(uow, ana, "L-1").status == LeadStatus.ASSIGNED
    view = leads.disqualify_lead(uow, ana, "L-1", "  student,   no budget ", now=now)
    assert view.status == LeadStatus.DISQUALIFIED and view.disqualify_reason == "student, no budget"
    with pytest.raises(InvalidInput):
        leads.convert_lead(uow, ana, "L-1", now=now)


def test_a_lead_added_in_the_transaction_that_made_a_deal_number_gets_its_number(uow, ana, now):
    """The workspace row is locked by our own transaction: numbering must not wait on itself."""
    from core.deals import deals

    with uow.transaction() as s:
        deals.create_deal(uow, ana, title="Acme", now=now)
        ws = s.get_one(Workspace, ana.workspace_id)
        first = intake(s, ws, [clean_lead({"name": "Zoe", "email": "zoe@acme.io"})], now)
        second = intake(s, ws, [clean_lead({"name": "Kim", "email": "kim@acme.io"})], now)
    assert [first[0].ref, second[0].ref] == ["L-1", "L-2"]


def _snapshot(uow: UnitOfWork) -> list[tuple]:
    with uow.read() as s:
        return [tuple(r) for r in s.execute(select(Lead.number, Lead.status, Lead.owner_id, Lead.claimed_at, Lead.hot,
                                                   Lead.hot_since, Lead.disqualify_reason).order_by(Lead.number))]


def _hot_unowned(uow: UnitOfWork, actor: Actor, now: datetime) -> str:
    ref = _intake(uow, actor, now, {"name": "Kim", "email": "kim@b.io"})[0].ref
    with uow.transaction() as s:
        row = s.scalars(select(Lead).where(Lead.number == int(ref[2:]))).one()
        row.team_id, row.hot, row.hot_since = actor.team_id, True, now - timedelta(hours=1)
    return ref


def test_not_a_fit_is_undone_within_a_minute_as_it_was(uow, ana, mia, now):
    ref = _hot_unowned(uow, ana, now)
    before = _snapshot(uow)
    lead_id = leads.disqualify_check(uow, ana, leads.get_lead(uow, ana, ref).id).id
    with pytest.raises(InvalidInput, match="Say why"):
        leads.disqualify_lead(uow, ana, ref, "  ", now=now, require_reason=True)
    assert _snapshot(uow) == before
    done = leads.disqualify_lead(uow, ana, ref, "student", now=now, require_reason=True)
    assert (done.status, done.owner_id, done.disqualify_reason, done.hot) == (
        LeadStatus.DISQUALIFIED, ana.user_id, "student", False)
    after = _snapshot(uow)
    # Someone else may not undo it, even their manager; nothing changes.
    with pytest.raises(NotAllowed, match="Only Ana can undo"):
        leads.undo_disqualify(uow, mia, lead_id, now=now + timedelta(seconds=5))
    assert _snapshot(uow) == after
    back = leads.undo_disqualify(uow, ana, lead_id, now=now + timedelta(seconds=60))
    assert back.status == LeadStatus.NEW and back.owner_id is None and back.hot
    assert _snapshot(uow) == before  # status, owner, claim, heat and reason as they were
    with pytest.raises(InvalidInput, match="nothing to undo"):
        leads.undo_disqualify(uow, ana, lead_id, now=now + timedelta(seconds=61))


def test_undo_after_a_minute_is_too_late_and_changes_nothing(uow, ana, now):
    leads.create_lead(uow, ana, {"name": "Zoe", "email": "zoe@acme.io"}, now=now)
    claimed_at = leads.get_lead(uow, ana, "L-1")
    view = leads.disqualify_lead(uow, ana, "L-1", "no budget", now=now)
    after = _snapshot(uow)
    with pytest.raises(InvalidInput, match="Too late to undo"):
        leads.undo_disqualify(uow, ana, view.id, now=now + timedelta(seconds=61))
    assert _snapshot(uow) == after
    back = leads.undo_disqualify(uow, ana, view.id, now=now + timedelta(seconds=30))
    assert (back.status, back.owner_id) == (LeadStatus.ASSIGNED, claimed_at.owner_id)


def test_convert_takes_amount_close_date_and_owner(uow, ana, mia, bob, now):
    from datetime import date
    from decimal import Decimal

    from core.money import Money

    leads.create_lead(uow, ana, {"name": "Zoe", "company": "Acme", "email": "zoe@acme.io"}, now=now)
    assert leads.conversion_check(uow, ana, "L-1").ref == "L-1"
    assert leads.default_deal_title(leads.get_lead(uow, ana, "L-1")) == "Acme – Zoe"
    with pytest.raises(NotAllowed):
        leads.conversion_check(uow, bob, "L-1")
    # A manager converts a team lead for its owner; a rep may not give a deal to another team's rep.
    with pytest.raises(NotAllowed):
        leads.convert_lead(uow, ana, "L-1", now=now, amount=Money(Decimal("5000"), "USD"),
                           expected_close=date(2027, 1, 15), owner_id=bob.user_id)
    with uow.read() as s:
        assert s.scalar(select(func.count()).select_from(Deal)) == 0
        assert s.scalar(select(Lead.status)) == LeadStatus.ASSIGNED
    _, deal = leads.convert_lead(uow, mia, "L-1", now=now, amount=Money(Decimal("5000"), "USD"),
                                 expected_close=date(2027, 1, 15), title="Acme pilot")
    assert (deal.title, deal.amount, deal.currency, deal.expected_close, deal.owner_id) == (
        "Acme pilot", Decimal("5000.00"), "USD", date(2027, 1, 15), ana.user_id)
    with pytest.raises(InvalidInput, match=f"already converted to deal {deal.ref}"):
        leads.conversion_check(uow, ana, "L-1")
