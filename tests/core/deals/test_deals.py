"""Deals in the user's words: create, find, move, close, reopen, log, list — and refusals."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import UnitOfWork
from core.deals import deals
from core.errors import Ambiguous, InvalidInput, NotAllowed, NotFound
from core.money import Money
from core.tables import Deal, DealChange, DealStatus
from core.workspace.users import Actor
from tests.conftest import make_actor


def usd(x: str) -> Money:
    return Money(Decimal(x), "USD")


def snapshot(uow: UnitOfWork) -> tuple[int, int, list[tuple[object, ...]]]:
    """Everything a refused action must leave as it was."""
    with uow.read() as s:
        rows = s.execute(
            select(Deal.number, Deal.title, Deal.amount_minor, Deal.stage_id, Deal.status, Deal.owner_id,
                   Deal.lost_reason).order_by(Deal.number)
        ).all()
        return (
            int(s.scalar(select(func.count(Deal.id))) or 0),
            int(s.scalar(select(func.count(DealChange.id))) or 0),
            [tuple(r) for r in rows],
        )


def test_create_gives_short_refs_in_sequence_and_a_history_row(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    first = deals.create_deal(uow, ana, title="Acme renewal", amount=usd("12000"), now=now)
    second = deals.create_deal(uow, ana, title="Globex", stage="proposal", expected_close=date(2026, 12, 4), now=now)
    assert (first.ref, second.ref) == ("D-1", "D-2")
    assert first.stage == "Prospecting" and first.amount == Decimal("12000.00") and first.weighted == Decimal("1200.00")
    assert second.stage == "Proposal" and second.amount is None and second.currency == "USD"
    assert [c.field for c in deals.deal_history(uow, ana, "D-1")] == ["created"]


@pytest.mark.parametrize("ref", ["D-1", "d-1", "1", "#1", "acme", "ACME REN", "renewal"])
def test_refs_by_id_or_unambiguous_title_part(uow: UnitOfWork, ana: Actor, now: datetime, ref: str) -> None:
    deals.create_deal(uow, ana, title="Acme renewal", now=now)
    deals.create_deal(uow, ana, title="Globex", now=now)
    assert deals.get_deal(uow, ana, ref).ref == "D-1"


def test_ambiguous_ref_offers_the_candidates(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme renewal", now=now)
    deals.create_deal(uow, ana, title="Acme expansion", now=now)
    with pytest.raises(Ambiguous) as err:
        deals.get_deal(uow, ana, "acme")
    assert sorted(c.ref for c in err.value.candidates) == ["D-1", "D-2"]  # type: ignore[attr-defined]


def test_exact_title_or_the_only_open_match_wins(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme", now=now)
    deals.create_deal(uow, ana, title="Acme expansion", now=now)
    assert deals.get_deal(uow, ana, "acme").ref == "D-1"
    deals.close_deal_lost(uow, ana, "D-1", "budget cut", now=now)
    deals.create_deal(uow, ana, title="Initech deal", now=now)
    deals.close_deal_won(uow, ana, "D-3", now=now)
    deals.create_deal(uow, ana, title="Initech deal two", now=now)
    assert deals.get_deal(uow, ana, "initech").ref == "D-4"


@pytest.mark.parametrize("ref, error", [("D-99", NotFound), ("nothing like it", NotFound), ("", InvalidInput)])
def test_refs_that_match_nothing_say_so(uow: UnitOfWork, ana: Actor, now: datetime, ref: str, error: type) -> None:
    deals.create_deal(uow, ana, title="Acme", now=now)
    with pytest.raises(error) as err:
        deals.get_deal(uow, ana, ref)
    assert "D-42" in err.value.message or "deal" in err.value.message.lower()


def test_like_wildcards_in_a_ref_are_literal(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme", now=now)
    with pytest.raises(NotFound):
        deals.get_deal(uow, ana, "%")
    with pytest.raises(NotFound):
        deals.get_deal(uow, ana, "_")


def test_stage_moves_are_recorded_with_who_and_when(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme", amount=usd("1000"), now=now)
    later = now + timedelta(days=2)
    moved = deals.move_stage(uow, ana, "D-1", "neg", now=later)
    assert moved.stage == "Negotiation" and moved.weighted == Decimal("750.00") and moved.last_touch_at == later
    change = deals.deal_history(uow, ana, "D-1")[-1]
    assert (change.field, change.old_value, change.new_value, change.changed_by, change.changed_at) == (
        "stage", "Prospecting", "Negotiation", "Ana", later)


def test_close_won_lost_and_reopen(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme", stage="Proposal", amount=usd("500"), now=now)
    won = deals.close_deal_won(uow, ana, "D-1", amount=usd("650"), now=now)
    assert (won.status, won.stage, won.amount, won.closed_at) == (DealStatus.WON, "Won", Decimal("650.00"), now)
    reopened = deals.reopen_deal(uow, ana, "D-1", now=now)
    assert (reopened.status, reopened.stage, reopened.closed_at) == (DealStatus.OPEN, "Proposal", None)
    lost = deals.close_deal_lost(uow, ana, "D-1", "went with a competitor", now=now)
    assert (lost.status, lost.lost_reason) == (DealStatus.LOST, "went with a competitor")
    fields = [c.field for c in deals.deal_history(uow, ana, "D-1")]
    assert fields.count("status") == 3 and "amount" in fields and "lost_reason" in fields


def test_moving_to_won_closes_the_deal(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme", now=now)
    assert deals.move_stage(uow, ana, "D-1", "won", now=now).status == DealStatus.WON


@pytest.mark.parametrize(
    "action",
    [
        lambda uow, a, now: deals.close_deal_lost(uow, a, "D-1", "  ", now=now),
        lambda uow, a, now: deals.move_stage(uow, a, "D-1", "lost", now=now),
        lambda uow, a, now: deals.move_stage(uow, a, "D-1", "Nowhere", now=now),
        lambda uow, a, now: deals.move_stage(uow, a, "D-1", "Prospecting", now=now),
        lambda uow, a, now: deals.reopen_deal(uow, a, "D-1", now=now),
        lambda uow, a, now: deals.edit_deal(uow, a, "D-1", now=now, amount=usd("-5")),
        lambda uow, a, now: deals.edit_deal(uow, a, "D-1", now=now, amount=usd("5000000000000")),
        lambda uow, a, now: deals.edit_deal(uow, a, "D-1", now=now, amount=Money(Decimal(5), "dollars")),
        lambda uow, a, now: deals.edit_deal(uow, a, "D-1", now=now, title=" "),
        lambda uow, a, now: deals.edit_deal(uow, a, "D-1", now=now, title="x" * 201),
        lambda uow, a, now: deals.edit_deal(uow, a, "D-1", now=now, status="won"),
        lambda uow, a, now: deals.log_activity(uow, a, "D-1", "fax", "", now=now),
        lambda uow, a, now: deals.add_note(uow, a, "D-1", "", now=now),
        lambda uow, a, now: deals.create_deal(uow, a, title="", now=now),
        lambda uow, a, now: deals.create_deal(uow, a, title="New", stage="Won", now=now),
        lambda uow, a, now: deals.create_deal(uow, a, title="New", stage="bogus", now=now),
        lambda uow, a, now: deals.create_deal(uow, a, title="New", amount=usd("-1"), now=now),
    ],
)
def test_bad_input_is_refused_clearly_and_changes_nothing(uow: UnitOfWork, ana: Actor, now: datetime, action) -> None:  # type: ignore[no-untyped-def]
    deals.create_deal(uow, ana, title="Acme", amount=usd("100"), now=now)
    before = snapshot(uow)
    with pytest.raises(InvalidInput) as err:
        action(uow, ana, now)
    assert err.value.message.endswith((".", "?")) and len(err.value.message) > 15
    assert snapshot(uow) == before


def test_a_rep_cannot_change_another_reps_deal(uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime) -> None:
    cal = make_actor(uow, "UCAL", name="Cal", team="East")  # Ana's team: may read, not change
    deals.create_deal(uow, ana, title="Acme", now=now)
    before = snapshot(uow)
    for other, ref in ((cal, "D-1"), (cal, "acme"), (bob, "D-1"), (bob, "acme")):
        for action in (
            lambda who=other, r=ref: deals.move_stage(uow, who, r, "Proposal", now=now),
            lambda who=other, r=ref: deals.close_deal_won(uow, who, r, now=now),
            lambda who=other, r=ref: deals.add_note(uow, who, r, "mine now", now=now),
            lambda who=other, r=ref: deals.edit_deal(uow, who, r, now=now, title="Hijacked"),
        ):
            if other is cal:
                with pytest.raises(NotAllowed) as refused:
                    action()
                assert "Ana" in refused.value.message
            else:  # another team's deal does not exist for Bob: not whose it is, not even that it exists
                with pytest.raises(NotFound) as missing:
                    action()
                assert "Ana" not in missing.value.message and "team" not in missing.value.message
    assert snapshot(uow) == before


def test_managers_change_their_teams_deals_and_admins_all(
    uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor, root: Actor, now: datetime
) -> None:
    deals.create_deal(uow, ana, title="Acme", now=now)
    deals.create_deal(uow, bob, title="Globex", now=now)
    assert deals.move_stage(uow, mia, "D-1", "Proposal", now=now).stage == "Proposal"
    with pytest.raises(NotFound):  # Globex is West's: Mia manages East
        deals.move_stage(uow, mia, "D-2", "Proposal", now=now)
    assert deals.move_stage(uow, root, "D-2", "Proposal", now=now).stage == "Proposal"


def test_reassigning_needs_a_manager(uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme", now=now)
    with pytest.raises(NotAllowed):
        deals.edit_deal(uow, ana, "D-1", now=now, owner_id=bob.user_id)
    with pytest.raises(NotAllowed):
        deals.create_deal(uow, ana, title="For Bob", owner_id=bob.user_id, now=now)
    moved = deals.edit_deal(uow, mia, "D-1", now=now, owner_id=mia.user_id)
    assert moved.owner_name == "Mia"


def test_activities_touch_the_deal(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme", now=now)
    later = now + timedelta(days=9)
    deals.log_activity(uow, ana, "D-1", "Call", "talked budget", now=later)
    deals.add_note(uow, ana, "acme", "CFO on board", now=later)
    assert deals.get_deal(uow, ana, "D-1").last_touch_at == later
    acts = deals.deal_activities(uow, ana, "D-1")
    assert [(a.kind.value, a.text) for a in acts] == [("note", "CFO on board"), ("call", "talked budget")]


def test_editing_records_each_changed_field(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme", amount=usd("100"), now=now)
    view = deals.edit_deal(uow, ana, "D-1", now=now, title="Acme Corp", amount=Money(Decimal("90"), "EUR"),
                           expected_close=date(2027, 1, 29), next_step="send contract", account="Acme")
    assert (view.title, view.amount, view.currency, view.expected_close) == (
        "Acme Corp", Decimal("90.00"), "EUR", date(2027, 1, 29))
    changed = {c.field: (c.old_value, c.new_value) for c in deals.deal_history(uow, ana, "D-1")}
    assert changed["title"] == ("Acme", "Acme Corp")
    assert changed["amount"] == ("100.00", "90.00") and changed["currency"] == ("USD", "EUR")
    assert changed["expected_close"] == (None, "2027-01-29")


def test_list_filters_by_owner_team_stage_and_closing(
    uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor, now: datetime
) -> None:
    deals.create_deal(uow, ana, title="A1", stage="Proposal", expected_close=date(2026, 12, 10), now=now)
    deals.create_deal(uow, ana, title="A2", expected_close=date(2027, 3, 1), now=now)
    deals.create_deal(uow, bob, title="B1", stage="Proposal", now=now)
    deals.create_deal(uow, ana, title="A3", now=now)
    deals.close_deal_won(uow, ana, "A3", now=now)
    assert [d.title for d in deals.list_deals(uow, ana, owner_ids=[ana.user_id])] == ["A1", "A2"]
    assert [d.title for d in deals.list_deals(uow, ana, stage="proposal")] == ["A1"]
    december = (date(2026, 12, 1), date(2026, 12, 31))
    assert [d.title for d in deals.list_deals(uow, mia, team_id=ana.team_id, closing=december)] == ["A1"]
    assert [d.title for d in deals.list_deals(uow, ana, status="won")] == ["A3"]
    with pytest.raises(NotAllowed):
        deals.list_deals(uow, ana, owner_ids=[bob.user_id])
    with pytest.raises(NotFound, match='No deal matches "B1"'):
        deals.get_deal(uow, ana, "B1")


def test_a_double_submit_creates_one_deal(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    first = deals.create_deal(uow, ana, title="Acme", idempotency_key="view:V1", now=now)
    again = deals.create_deal(uow, ana, title="Acme", idempotency_key="view:V1", now=now)
    assert first.ref == again.ref and snapshot(uow)[0] == 1


# --- issue 10 point 7: reopening -----------------------------------------------------------------


def test_reopen_puts_the_deal_back_where_it_was_closed_from_with_history(
    uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    deals.create_deal(uow, ana, title="Acme", stage="Negotiation", now=now)
    deals.close_deal_lost(uow, ana, "D-1", "no budget", now=now)
    later = now + timedelta(days=2)
    reopened = deals.reopen_deal(uow, ana, "d-1", now=later)
    assert (reopened.status, reopened.stage, reopened.closed_at, reopened.lost_reason) == (
        DealStatus.OPEN, "Negotiation", None, None)
    history = [(c.field, c.old_value, c.new_value) for c in deals.deal_history(uow, ana, "D-1")
               if c.changed_at == later]
    assert sorted(history) == sorted([("stage", "Lost", "Negotiation"), ("status", "lost", "open"),
                                      ("lost_reason", "no budget", None)])


def test_reopening_an_open_deal_says_so_and_changes_nothing(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme", stage="Proposal", now=now)
    before = snapshot(uow)
    with pytest.raises(InvalidInput) as err:
        deals.reopen_deal(uow, ana, "D-1", now=now)
    assert err.value.message == "D-1 is open already (in Proposal): nothing to reopen."
    assert snapshot(uow) == before


def test_owner_manager_and_admin_may_reopen_others_are_told_why(
    uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor, root: Actor, now: datetime
) -> None:
    deals.create_deal(uow, ana, title="Acme", now=now)
    for who in (ana, mia, root):
        deals.close_deal_won(uow, ana, "D-1", now=now)
        assert deals.reopen_deal(uow, who, "D-1", now=now).status == DealStatus.OPEN
    deals.close_deal_won(uow, ana, "D-1", now=now)
    before = snapshot(uow)
    cal = make_actor(uow, "UCAL", name="Cal", team="East")  # Ana's team: sees the deal, may not reopen it
    with pytest.raises(NotAllowed) as err:
        deals.reopen_deal(uow, cal, "D-1", now=now)
    assert "D-1" in err.value.message and len(err.value.message) > 20
    with pytest.raises(NotFound):  # another team's deal does not exist for Bob
        deals.reopen_deal(uow, bob, "D-1", now=now)
    assert snapshot(uow) == before


def test_closing_a_closed_deal_points_to_reopen(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme", now=now)
    deals.close_deal_won(uow, ana, "D-1", now=now)
    with pytest.raises(InvalidInput, match="/deal reopen D-1"):
        deals.close_deal_won(uow, ana, "D-1", now=now)


@pytest.mark.parametrize("code", ["XYZ", "usd1", "DEM"])
def test_unknown_currency_codes_are_refused_on_deals(uow: UnitOfWork, ana: Actor, now: datetime, code: str) -> None:
    with pytest.raises(InvalidInput, match="not a currency code"):
        deals.create_deal(uow, ana, title="Gamma", amount=Money(Decimal(12), code), now=now)
    assert snapshot(uow)[0] == 0


# --- refs: `D-42`, `42`, `d-42` all name deal 42 (property) ---------------------------------------


def test_every_ref_form_names_the_same_deal(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    for i in range(1, 16):
        deals.create_deal(uow, ana, title=f"Deal number {i}", now=now)

    @settings(max_examples=120, deadline=None)
    @given(number=st.integers(1, 15), form=st.sampled_from(["D-{}", "{}", "d-{}", " D-{} ", "D-0{}", "d-00{}"]))
    def check(number: int, form: str) -> None:
        assert deals.get_deal(uow, ana, form.format(number)).number == number

    @settings(max_examples=60, deadline=None)
    @given(number=st.integers(16, 10**9), form=st.sampled_from(["D-{}", "{}", "d-{}"]))
    def missing(number: int, form: str) -> None:
        with pytest.raises(NotFound):
            deals.get_deal(uow, ana, form.format(number))

    check()
    missing()
