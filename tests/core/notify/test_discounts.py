"""Discount approvals in core: the chain, the amount, bad input, reminders, expiry, two clicks."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import UnitOfWork
from core.deals.deals import close_deal_won, create_deal, deal_history, edit_deal, get_deal
from core.errors import InvalidInput, NotAllowed, UserError
from core.money import Money
from core.notify import discounts, outbox
from core.tables import DiscountRequest, DiscountStatus, DiscountStep, OutboxMessage, Role
from core.workspace.users import Actor
from tests.conftest import make_actor


def _deal(uow: UnitOfWork, actor: Actor, now: datetime, amount: str = "10000", currency: str = "USD") -> str:
    return create_deal(uow, actor, title="Acme renewal", amount=Money(Decimal(amount), currency), now=now).ref


def _outbox(uow: UnitOfWork) -> list[tuple[str, str, str]]:
    with uow.read() as s:
        return [(m.key, m.kind, m.channel) for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def _requests(uow: UnitOfWork) -> int:
    with uow.read() as s:
        return int(s.scalar(select(func.count(DiscountRequest.id))) or 0)


def test_a_manager_approves_a_small_discount_and_the_amount_changes_then(
    uow: UnitOfWork, ana: Actor, mia: Actor, root: Actor, now: datetime
) -> None:
    ref = _deal(uow, ana, now)
    asked = discounts.request_discount(uow, ana, ref, "15%", "multi-year", now=now)
    assert (asked.percent, asked.discount, asked.new_amount) == (Decimal(15), Decimal("1500.00"), Decimal("8500.00"))
    assert asked.step == DiscountStep.MANAGER and not asked.needs_admin and asked.waiting_on_slack_ids == ("UMIA",)
    assert get_deal(uow, ana, ref).amount == Decimal("10000.00")  # not before the approval
    assert _outbox(uow) == [(f"discount:{asked.id}:ask:manager:u{mia.user_id}", "discount_ask", "UMIA")]
    with uow.read() as s:
        assert discounts.pending_discount(s, asked.deal_id) == asked

    decision = discounts.approve_discount(uow, mia, asked.id, now=now + timedelta(hours=1))
    assert decision.outcome == "approved" and decision.request.status == DiscountStatus.APPROVED
    assert get_deal(uow, ana, ref).amount == Decimal("8500.00")
    assert (f"discount:{asked.id}:outcome:approved:manager", "discount_outcome", "UANA") in _outbox(uow)
    history = [(c.field, c.old_value, c.new_value) for c in deal_history(uow, ana, ref)]
    assert ("amount", "10000.00", "8500.00") in history
    assert ("discount", "requested", "15%: 10000.00 -> 8500.00 USD") in history
    assert ("discount", "approved", "15%: 10000.00 -> 8500.00 USD") in history
    assert discounts.pending_discount_of(uow, asked.deal_id) is None


def test_above_the_threshold_the_manager_then_an_admin_approve(
    uow: UnitOfWork, ana: Actor, mia: Actor, root: Actor, now: datetime
) -> None:
    ref = _deal(uow, ana, now)
    asked = discounts.request_discount(uow, ana, ref, "3,000", None, now=now)  # 30 % of 10,000: above 20
    assert asked.needs_admin and asked.percent == Decimal(30) and not asked.given_as_percent
    first = discounts.approve_discount(uow, mia, asked.id, now=now)
    assert first.outcome == "advanced" and first.request.step == DiscountStep.ADMIN
    assert first.request.waiting_on_slack_ids == ("UROOT",)
    assert get_deal(uow, ana, ref).amount == Decimal("10000.00")
    assert (f"discount:{asked.id}:ask:admin:u{root.user_id}", "discount_ask", "UROOT") in _outbox(uow)
    with pytest.raises(NotAllowed, match="approved this discount on D-1 already"):
        discounts.approve_discount(uow, mia, asked.id, now=now)
    last = discounts.approve_discount(uow, root, asked.id, now=now)
    assert last.outcome == "approved" and get_deal(uow, ana, ref).amount == Decimal("7000.00")


def test_the_threshold_comes_from_setup(uow: UnitOfWork, ana: Actor, mia: Actor, root: Actor, now: datetime) -> None:
    with pytest.raises(NotAllowed):
        discounts.update_discount_settings(uow, mia, now=now, manager_up_to_percent="50")
    for bad in ("-1", "101", "abc", "", "12.345"):
        with pytest.raises(InvalidInput) as err:
            discounts.update_discount_settings(uow, root, now=now, manager_up_to_percent=bad)
        assert err.value.field == "discount_manager_up_to"
    assert discounts.get_discount_settings(uow, root).manager_up_to_percent == Decimal(20)
    discounts.update_discount_settings(uow, root, now=now, manager_up_to_percent="%35")
    assert discounts.get_discount_settings(uow, root).manager_up_to_percent == Decimal(35)
    asked = discounts.request_discount(uow, ana, _deal(uow, ana, now), "30%", None, now=now)
    assert not asked.needs_admin


def test_a_rejection_needs_a_comment_and_leaves_the_deal_alone(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime
) -> None:
    ref = _deal(uow, ana, now)
    asked = discounts.request_discount(uow, ana, ref, "10%", None, now=now)
    for comment, message in (("   ", "Say why"), ("x" * 501, "under 500")):
        with pytest.raises(InvalidInput, match=message):
            discounts.reject_discount(uow, mia, asked.id, comment, now=now)
    assert discounts.get_discount(uow, ana, asked.id).status == DiscountStatus.PENDING
    decision = discounts.reject_discount(uow, mia, asked.id, "Too early in the quarter", now=now)
    assert decision.request.status == DiscountStatus.REJECTED and decision.request.comment == "Too early in the quarter"
    assert decision.request.decided_by_slack_id == "UMIA"
    assert get_deal(uow, ana, ref).amount == Decimal("10000.00")
    assert (f"discount:{asked.id}:outcome:rejected:manager", "discount_outcome", "UANA") in _outbox(uow)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("150%", "over 100 %"),
        ("0%", "zero discount changes nothing"),
        ("-5%", "can't be negative"),
        ("-500", "can't be negative"),
        ("0", "0 changes nothing"),
        ("20000", "more than the deal's amount"),
        ("12%%", "as a percentage"),
        ("lots", "amount"),
        ("500 EUR", "in USD"),
        ("", "How much"),
        ("0.01%", "zero discount changes nothing"),  # of 10.00: rounds to nothing
    ],
)
def test_bad_discounts_are_refused_and_nothing_changes(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime, text: str, message: str
) -> None:
    amount = "10" if text == "0.01%" else "10000"
    ref = _deal(uow, ana, now, amount)
    with pytest.raises(InvalidInput, match=message):
        discounts.request_discount(uow, ana, ref, text, None, now=now)
    assert _requests(uow) == 0 and _outbox(uow) == []
    assert get_deal(uow, ana, ref).amount == Decimal(amount).quantize(Decimal("0.01"))


def test_a_long_reason_is_refused(uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime) -> None:
    with pytest.raises(InvalidInput, match="under 500") as err:
        discounts.request_discount(uow, ana, _deal(uow, ana, now), "5%", "r" * 501, now=now)
    assert err.value.field == "reason" and _requests(uow) == 0


def test_turkish_forms_read_as_the_existing_parsers_do(uow: UnitOfWork, now: datetime) -> None:
    make_actor(uow, "UMUR", name="Murat", role=Role.MANAGER, manages="Doğu")
    ayse = make_actor(uow, "UAYS", name="Ayşe", team="Doğu")
    ayse = Actor(**{**ayse.__dict__, "locale": "tr"})
    ref = _deal(uow, ayse, now, "100000", "TRY")
    asked = discounts.request_discount(uow, ayse, ref, "%12,5", None, now=now)
    assert (asked.percent, asked.discount) == (Decimal("12.5"), Decimal("12500.00"))
    discounts.reject_discount(uow, make_actor(uow, "UMUR"), asked.id, "hayır", now=now)
    again = discounts.request_discount(uow, ayse, ref, "1.500 TL", None, now=now)
    assert again.discount == Decimal("1500.00") and again.percent == Decimal("1.5")


def test_closed_deals_deals_without_amount_and_a_second_request_are_refused(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime
) -> None:
    won = _deal(uow, ana, now)
    close_deal_won(uow, ana, won, now=now)
    with pytest.raises(InvalidInput, match="closed"):
        discounts.request_discount(uow, ana, won, "5%", None, now=now)
    empty = create_deal(uow, ana, title="No amount yet", now=now).ref
    with pytest.raises(InvalidInput, match="no amount yet"):
        discounts.request_discount(uow, ana, empty, "5%", None, now=now)
    ref = _deal(uow, ana, now)
    discounts.request_discount(uow, ana, ref, "5%", None, now=now)
    with pytest.raises(InvalidInput, match="already has a discount of 5 % waiting"):
        discounts.request_discount(uow, ana, ref, "7%", None, now=now)
    assert _requests(uow) == 1


def test_only_the_approver_whose_turn_it_is_can_act_and_only_once(
    uow: UnitOfWork, ana: Actor, mia: Actor, bob: Actor, root: Actor, now: datetime
) -> None:
    ref = _deal(uow, ana, now)
    asked = discounts.request_discount(uow, ana, ref, "10%", None, now=now)
    with pytest.raises(NotAllowed, match="You asked for this discount"):
        discounts.approve_discount(uow, ana, asked.id, now=now)
    with pytest.raises(NotAllowed, match="It's Mia's turn"):
        discounts.approve_discount(uow, bob, asked.id, now=now)
    with pytest.raises(NotAllowed, match="It's Mia's turn"):
        discounts.reject_discount(uow, root, asked.id, "no", now=now)
    discounts.approve_discount(uow, mia, asked.id, now=now)
    outbox_before = _outbox(uow)
    with pytest.raises(InvalidInput, match="already approved by Mia"):
        discounts.approve_discount(uow, mia, asked.id, now=now)
    with pytest.raises(InvalidInput, match="already approved by Mia"):
        discounts.reject_discount(uow, mia, asked.id, "changed my mind", now=now)
    assert _outbox(uow) == outbox_before and get_deal(uow, ana, ref).amount == Decimal("9000.00")


def test_a_rep_without_a_manager_goes_straight_to_an_admin(
    uow: UnitOfWork, bob: Actor, root: Actor, now: datetime
) -> None:
    asked = discounts.request_discount(uow, bob, _deal(uow, bob, now), "5%", None, now=now)
    assert asked.step == DiscountStep.ADMIN and asked.waiting_on_slack_ids == ("UROOT",)
    with pytest.raises(NotAllowed, match="only an admin"):
        discounts.approve_discount(uow, make_actor(uow, "UCAT", name="Cat", team="West"), asked.id, now=now)
    assert discounts.approve_discount(uow, root, asked.id, now=now).outcome == "approved"


def test_nobody_to_approve_is_said_and_nothing_is_saved(uow: UnitOfWork, bob: Actor, now: datetime) -> None:
    ref = _deal(uow, bob, now)
    with pytest.raises(InvalidInput, match="Nobody can approve this: you have no manager to ask"):
        discounts.request_discount(uow, bob, ref, "5%", None, now=now)
    assert _requests(uow) == 0 and _outbox(uow) == []


def test_a_manager_known_only_by_an_imported_name_is_named_with_the_way_to_link_them(
    uow: UnitOfWork, bob: Actor, now: datetime
) -> None:
    from core.tables import Team, User
    from core.workspace.users import owner_by_name

    ref = _deal(uow, bob, now)
    with uow.transaction() as s:
        boss = owner_by_name(s, bob.workspace_id, "Melvin Marxen", now)  # from a CRM import: no Slack id
        team = s.get_one(Team, s.get_one(User, bob.user_id).team_id)
        team.manager_id = boss.id
    with pytest.raises(InvalidInput, match=r'your manager Melvin Marxen is not linked to a Slack user.*'
                                           r'`/salesbot link "Melvin Marxen" @user`'):
        discounts.request_discount(uow, bob, ref, "5%", None, now=now)
    assert _requests(uow) == 0 and _outbox(uow) == []


def test_above_the_threshold_with_no_other_admin_is_refused(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime
) -> None:
    ref = _deal(uow, ana, now)
    with pytest.raises(InvalidInput, match="above 20 % an admin approves after Mia"):
        discounts.request_discount(uow, ana, ref, "25%", None, now=now)
    assert _requests(uow) == 0 and _outbox(uow) == []
    assert discounts.request_discount(uow, ana, ref, "20%", None, now=now).waiting_on_slack_ids == ("UMIA",)


def test_someone_elses_deal_is_refused(uow: UnitOfWork, ana: Actor, bob: Actor, root: Actor, now: datetime) -> None:
    ref = _deal(uow, ana, now)
    with pytest.raises(UserError):
        discounts.request_discount(uow, bob, ref, "5%", None, now=now)
    assert _requests(uow) == 0


def test_a_reminder_after_one_working_day_once_and_expiry_after_seven_days(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime
) -> None:
    friday = now + timedelta(days=4)  # Friday 27 Nov, 14:00 UTC
    asked = discounts.request_discount(uow, ana, _deal(uow, ana, friday), "5%", None, now=friday)
    with uow.transaction() as s:
        assert discounts.discount_sweep(s, friday + timedelta(days=2)) == discounts.SweepResult(0, 0)  # Sunday
    monday = friday + timedelta(days=3)
    with uow.transaction() as s:
        assert discounts.discount_sweep(s, monday) == discounts.SweepResult(1, 0)
    with uow.transaction() as s:
        assert discounts.discount_sweep(s, monday + timedelta(hours=5)) == discounts.SweepResult(0, 0)
    reminders = [k for k, kind, __ in _outbox(uow) if kind == "discount_reminder"]
    assert reminders == [f"discount:{asked.id}:remind:manager:u{mia.user_id}"]
    with uow.transaction() as s:
        assert discounts.discount_sweep(s, friday + timedelta(days=7)) == discounts.SweepResult(0, 1)
    with uow.transaction() as s:
        assert discounts.discount_sweep(s, friday + timedelta(days=8)) == discounts.SweepResult(0, 0)
    assert discounts.get_discount(uow, ana, asked.id).status == DiscountStatus.EXPIRED
    told = [k for k, kind, ch in _outbox(uow) if kind == "discount_outcome" and ch == "UANA"]
    assert told == [f"discount:{asked.id}:outcome:expired:manager"]
    with pytest.raises(InvalidInput, match="has expired"):
        discounts.approve_discount(uow, mia, asked.id, now=friday + timedelta(days=8))


def test_a_sent_approval_dm_is_updated_in_place_and_an_unsent_one_taken_back(
    uow: UnitOfWork, ana: Actor, mia: Actor, root: Actor, now: datetime
) -> None:
    asked = discounts.request_discount(uow, ana, _deal(uow, ana, now), "30%", None, now=now)
    key = f"discount:{asked.id}:ask:manager:u{mia.user_id}"
    with uow.transaction() as s:
        row = s.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        assert row is not None
        outbox.mark_sent(s, row.id, now, "DMIA", "1700000000.000100")
    discounts.approve_discount(uow, mia, asked.id, now=now)
    with uow.read() as s:
        update = s.scalar(select(OutboxMessage).where(OutboxMessage.key == f"{key}:approved:manager"))
        assert update is not None and update.payload["update"] == {"channel": "DMIA", "ts": "1700000000.000100"}
        assert update.payload["data"]["decided_by"] == "UMIA"
    with uow.transaction() as s:  # a day later the admin is reminded; the reminder lands in Slack
        discounts.discount_sweep(s, now + timedelta(days=1))
        reminder = s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "discount_reminder"))
        assert reminder is not None
        outbox.mark_sent(s, reminder.id, now, "DROOT", "1700000000.000200")
    admin_key = f"discount:{asked.id}:ask:admin:u{root.user_id}"
    discounts.reject_discount(uow, root, asked.id, "too much", now=now)
    assert admin_key not in [k for k, __, ___ in _outbox(uow)]  # never sent: withdrawn, nobody asked about it
    with uow.read() as s:  # the reminder that was sent shows the outcome too
        pattern = f"discount:{asked.id}:remind:%:rejected:%"
        closed = s.scalar(select(OutboxMessage).where(OutboxMessage.key.like(pattern)))
        assert closed is not None and closed.payload["update"] == {"channel": "DROOT", "ts": "1700000000.000200"}


def test_an_amount_changed_meanwhile_is_not_overwritten(uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime) -> None:
    ref = _deal(uow, ana, now)
    asked = discounts.request_discount(uow, ana, ref, "10%", None, now=now)
    edit_deal(uow, ana, ref, now=now, amount=Money(Decimal("12000"), "USD"))
    with pytest.raises(InvalidInput, match="amount changed since"):
        discounts.approve_discount(uow, mia, asked.id, now=now)
    assert get_deal(uow, ana, ref).amount == Decimal("12000.00")
    assert discounts.get_discount(uow, ana, asked.id).status == DiscountStatus.PENDING


def test_two_clicks_at_once_apply_once(uow: UnitOfWork, ana: Actor, mia: Actor, root: Actor, now: datetime) -> None:
    admins = [make_actor(uow, f"UADM{i}", name=f"Admin {i}", role=Role.ADMIN) for i in range(4)]
    ref = _deal(uow, ana, now)
    asked = discounts.request_discount(uow, ana, ref, "30%", None, now=now)
    discounts.approve_discount(uow, mia, asked.id, now=now)
    results: list[str] = []
    barrier = threading.Barrier(len(admins))

    def click(admin: Actor) -> None:
        barrier.wait()
        try:
            results.append(discounts.approve_discount(uow, admin, asked.id, now=now).outcome)
        except UserError as err:
            results.append(err.message)

    threads = [threading.Thread(target=click, args=(a,)) for a in admins]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("approved") == 1, results
    assert all("already approved" in r or "a moment ago" in r for r in results if r != "approved")
    assert get_deal(uow, ana, ref).amount == Decimal("7000.00")
    with uow.read() as s:
        changes = s.scalar(select(func.count()).select_from(DiscountRequest).where(
            DiscountRequest.status == DiscountStatus.APPROVED))
    assert changes == 1


def test_a_request_on_a_deal_closed_meanwhile_is_withdrawn_and_its_dms_lose_their_buttons(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime
) -> None:
    ref = _deal(uow, ana, now)
    asked = discounts.request_discount(uow, ana, ref, "5%", "loyalty", now=now)
    key = f"discount:{asked.id}:ask:manager:u{mia.user_id}"
    with uow.transaction() as s:  # the approver's DM is in Slack
        row = s.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        assert row is not None
        outbox.mark_sent(s, row.id, now, "DMIA", "1700000000.000100")
    close_deal_won(uow, ana, ref, now=now + timedelta(minutes=1))
    with uow.transaction() as s:
        assert discounts.discount_sweep(s, now + timedelta(minutes=5)) == discounts.SweepResult(0, 0, 1)
    with uow.transaction() as s:  # once only
        assert discounts.discount_sweep(s, now + timedelta(minutes=10)) == discounts.SweepResult(0, 0, 0)
    withdrawn = discounts.get_discount(uow, ana, asked.id)
    assert withdrawn.status == DiscountStatus.WITHDRAWN and get_deal(uow, ana, ref).amount == Decimal("10000.00")
    with uow.read() as s:
        update = s.scalar(select(OutboxMessage).where(OutboxMessage.key == f"{key}:withdrawn:manager"))
        assert update is not None and update.payload["update"] == {"channel": "DMIA", "ts": "1700000000.000100"}
    told = [k for k, kind, ch in _outbox(uow) if kind == "discount_outcome" and ch == "UANA"]
    assert told == [f"discount:{asked.id}:outcome:withdrawn:manager"]
    assert [c.old_value for c in deal_history(uow, ana, ref) if c.field == "discount"] == ["requested", "withdrawn"]
    with pytest.raises(UserError):
        discounts.approve_discount(uow, mia, asked.id, now=now + timedelta(minutes=11))
    with uow.read() as s:
        assert discounts.pending_discount(s, withdrawn.deal_id) is None
