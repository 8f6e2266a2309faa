"""Discount approvals through signed requests against the fake Slack: `/deal discount`, the
approver's DM (delivered from the outbox), Approve / Reject clicks, the Reject form, setup."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.delivery import Deliverer, delivery_client, render
from bot.jobs import run_job
from bot.views import discounts as views
from bot.views.deals import deal_shown
from core.db import UnitOfWork
from core.deals.deals import create_deal, get_deal
from core.money import Money
from core.notify import discounts
from core.tables import DiscountRequest, DiscountStatus, OutboxMessage, Role
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message, assert_valid_view
from tests.bot.fake_slack import FakeSlack
from tests.bot.fake_slack_rate_limited import VirtualClock
from tests.bot.signing import BOT_TOKEN
from tests.bot.surfaces import (
    answer_changing_nothing,
    deal,
    number_value,
    opened_view,
    press,
    select_value,
    submit,
    text_of,
    text_value,
    time_value,
)
from tests.conftest import make_actor


@pytest.fixture
def acme(uow: UnitOfWork, ana: Actor, mia: Actor, root: Actor, now: datetime) -> str:
    return create_deal(uow, ana, title="Acme renewal", amount=Money(Decimal("10000"), "USD"), now=now).ref


def deliver(uow: UnitOfWork, fake: FakeSlack, now: datetime) -> None:
    client = delivery_client(WebClient(token=BOT_TOKEN, base_url=fake.url), timeout=5)
    clock = VirtualClock(now)
    Deliverer(uow, client, clock=clock.now, sleep=clock.sleep).drain()  # type: ignore[arg-type]


def request_id(uow: UnitOfWork) -> int:
    with uow.read() as s:
        found = s.scalar(select(func.max(DiscountRequest.id)))
    assert found is not None
    return int(found)


def status(uow: UnitOfWork, rid: int) -> DiscountStatus:
    with uow.read() as s:
        return s.get_one(DiscountRequest, rid).status


def dm_to(fake: FakeSlack, user: str) -> dict[str, Any]:
    posts = [c for c in fake.calls("chat.postMessage") if c["channel"] == user]
    assert len(posts) == 1, fake.methods()
    body = {"text": posts[0]["text"], "blocks": posts[0]["blocks"]}
    body["blocks"] = json.loads(body["blocks"]) if isinstance(body["blocks"], str) else body["blocks"]
    assert_valid_message(body)
    return body


def test_ask_approve_and_the_dm_is_updated_in_place(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, acme: str, now: datetime
) -> None:
    answer = text_of(deal(app, fake_slack, f"discount {acme} 15% multi-year commitment"))
    assert "15 % off" in answer and "Waiting on <@UMIA>" in answer
    rid = request_id(uow)
    fake_slack.clear()
    deliver(uow, fake_slack, now)
    ask = dm_to(fake_slack, "UMIA")
    assert "multi-year commitment" in text_of(ask) and "Asked by <@UANA>" in text_of(ask)
    buttons = [e["action_id"] for b in ask["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [views.APPROVE, views.REJECT]
    with uow.read() as s:
        ts = s.scalar(select(OutboxMessage.slack_ts).where(OutboxMessage.kind == "discount_ask"))
    assert ts

    calls = press(app, fake_slack, views.APPROVE, str(rid), user="UMIA", channel_id="DMIA",
                  message={"ts": ts})
    [reply] = [c for c in calls if c.method == "response_url"]
    assert "Approved. D-1 is now $8,500.00" in reply["text"]
    assert get_deal(uow, ana, acme).amount == Decimal("8500.00")
    fake_slack.clear()
    deliver(uow, fake_slack, now)
    [update] = fake_slack.calls("chat.update")
    assert (update["channel"], update["ts"]) == ("DMIA", ts)
    blocks = json.loads(update["blocks"]) if isinstance(update["blocks"], str) else update["blocks"]
    assert_valid_message({"text": update["text"], "blocks": blocks})
    assert not [b for b in blocks if b["type"] == "actions"] and "Approved by <@UMIA>" in json.dumps(blocks)
    outcome = dm_to(fake_slack, "UANA")
    assert "Your discount was approved" in text_of(outcome)


def test_reject_asks_for_a_comment_in_a_form(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, acme: str, now: datetime
) -> None:
    deal(app, fake_slack, f"discount {acme} 10%")
    rid = request_id(uow)
    press(app, fake_slack, views.REJECT, str(rid), user="UMIA", channel_id="DMIA")
    form = opened_view(fake_slack)
    assert form["callback_id"] == views.REJECT_FORM
    meta = json.loads(form["private_metadata"])
    ack = submit(app, fake_slack, views.REJECT_FORM, {"comment": text_value(None)}, user="UMIA", metadata=meta,
                 blocks=form["blocks"])
    assert list(ack["errors"]) == ["comment"] and status(uow, rid) == DiscountStatus.PENDING
    ack = submit(app, fake_slack, views.REJECT_FORM, {"comment": text_value("Not this quarter")}, user="UMIA",
                 metadata=meta, blocks=form["blocks"])
    assert ack == {} and status(uow, rid) == DiscountStatus.REJECTED
    assert get_deal(uow, ana, acme).amount == Decimal("10000.00")
    fake_slack.clear()
    deliver(uow, fake_slack, now)
    assert "Rejected by <@UMIA>: Not this quarter" in text_of(dm_to(fake_slack, "UANA"))


def test_a_wrong_person_or_a_second_click_gets_a_clear_answer_and_changes_nothing(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, bob: Actor, acme: str
) -> None:
    deal(app, fake_slack, f"discount {acme} 10%")
    rid = request_id(uow)
    for user, action in (("UBOB", views.APPROVE), ("UANA", views.APPROVE), ("UBOB", views.REJECT)):
        calls = press(app, fake_slack, action, str(rid), user=user)
        [reply] = [c for c in calls if c.method == "response_url"]
        assert "Mia's turn" in reply["text"] or "You asked for this discount" in reply["text"]
        assert not [c for c in calls if c.method == "views.open"]
    assert status(uow, rid) == DiscountStatus.PENDING
    press(app, fake_slack, views.APPROVE, str(rid), user="UMIA")
    calls = press(app, fake_slack, views.APPROVE, str(rid), user="UMIA")
    [reply] = [c for c in calls if c.method == "response_url"]
    assert "already approved by Mia; nothing changed" in reply["text"]
    assert get_deal(uow, ana, acme).amount == Decimal("9000.00")
    calls = press(app, fake_slack, views.APPROVE, "not-a-number", user="UMIA")
    assert "does not name a discount request" in next(c for c in calls if c.method == "response_url")["text"]


def test_above_the_threshold_an_admin_decides_after_the_manager(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, acme: str, now: datetime
) -> None:
    deal(app, fake_slack, f"discount {acme} 25%")
    rid = request_id(uow)
    calls = press(app, fake_slack, views.APPROVE, str(rid), user="UMIA")
    assert "now waits on an admin (<@UROOT>)" in next(c for c in calls if c.method == "response_url")["text"]
    assert get_deal(uow, ana, acme).amount == Decimal("10000.00")
    fake_slack.clear()
    deliver(uow, fake_slack, now)
    assert "an admin decides" in text_of(dm_to(fake_slack, "UROOT"))
    press(app, fake_slack, views.APPROVE, str(rid), user="UROOT")
    assert get_deal(uow, ana, acme).amount == Decimal("7500.00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("discount D-1 150%", "over 100 %"),
        ("discount D-1 -5%", "can't be negative"),
        ("discount D-1 0", "0 changes nothing"),
        ("discount D-1 20000", "more than the deal's amount"),
        ("discount D-1 plenty please", "is not a percentage or an amount"),
        ("discount D-1", "how much"),
        ("discount", "how much"),
        ("discount D-9 10%", "no deal D-9"),
    ],
)
def test_bad_discount_commands_are_answered_and_change_nothing(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, acme: str, text: str, expected: str
) -> None:
    answer = answer_changing_nothing(app, fake_slack, uow, text)
    assert expected.lower() in answer.lower()
    with uow.read() as s:
        assert s.scalar(select(func.count(DiscountRequest.id))) == 0
        assert s.scalar(select(func.count(OutboxMessage.id))) == 0


def test_a_second_request_and_the_card_show_the_pending_one(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, acme: str
) -> None:
    deal(app, fake_slack, f"discount {acme} $1,500 bundle")
    answer = answer_changing_nothing(app, fake_slack, uow, f"discount {acme} 5%")
    assert "already has a discount of 15 % waiting" in answer
    shown = text_of(deal(app, fake_slack, f"show {acme}"))
    assert "Discount 15 % ($1,500.00) asked by <@UANA>, waiting on <@UMIA>" in shown


def test_turkish_alias_and_percent_sign_first(app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime) -> None:
    fake_slack.add_user("UAYS", "Ayşe", tz="Europe/Istanbul", locale="tr-TR")
    make_actor(uow, "UMUR", name="Murat", role=Role.MANAGER, manages="Doğu")
    ayse = make_actor(uow, "UAYS", name="Ayşe", team="Doğu", tz="Europe/Istanbul")
    ref = create_deal(uow, ayse, title="Anadolu", amount=Money(Decimal("100000"), "TRY"), now=now).ref
    answer = text_of(deal(app, fake_slack, f"indirim {ref} %15 üç yıllık", user="UAYS"))
    assert "%15" in answer and "İndirim" in answer, answer
    assert discounts.get_discount(uow, ayse, request_id(uow)).discount == Decimal("15000.00")


def test_the_threshold_is_set_in_setup_with_field_errors(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor
) -> None:
    values = {"default_currency": text_value("EUR"), "locale": select_value("en"),
              "digest_weekday": select_value("0"), "digest_time": time_value("09:00"),
              "hot_lead_threshold": number_value("70"), "quiet_start": time_value("20:00"),
              "quiet_end": time_value("08:00")}
    ack = submit(app, fake_slack, "salesbot_setup", {**values, "discount_manager_up_to": number_value("150")},
                 user="UROOT")
    assert list(ack["errors"]) == ["discount_manager_up_to"]
    assert discounts.get_discount_settings(uow, root).manager_up_to_percent == Decimal(20)
    assert get_deal_currency(uow) == "USD"  # nothing else was saved either
    ack = submit(app, fake_slack, "salesbot_setup", {**values, "discount_manager_up_to": number_value("12.5")},
                 user="UROOT")
    assert ack == {} and discounts.get_discount_settings(uow, root).manager_up_to_percent == Decimal("12.5")
    from bot.modals.admin_modals import setup_view
    from core.workspace.setup import workspace_settings

    view = setup_view(workspace_settings(uow, root), discounts.get_discount_settings(uow, root))
    assert_valid_view(view)
    [block] = [b for b in view["blocks"] if b.get("block_id") == "discount_manager_up_to"]
    assert block["element"]["initial_value"] == "12.5"


def get_deal_currency(uow: UnitOfWork) -> str:
    from core.tables import Workspace

    with uow.read() as s:
        return s.scalars(select(Workspace)).one().default_currency


def test_the_discounts_job_reminds_once_and_expires(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, acme: str, now: datetime
) -> None:
    deal(app, fake_slack, f"discount {acme} 10%")
    rid = request_id(uow)
    deliver(uow, fake_slack, now)  # the ask itself
    none = "discounts: 0 reminder(s) queued, 0 request(s) expired"
    one = "discounts: 1 reminder(s) queued, 0 request(s) expired"
    assert run_job("discounts", uow, now + timedelta(hours=2), None) == none
    assert run_job("discounts", uow, now + timedelta(days=1), None) == one
    assert run_job("discounts", uow, now + timedelta(days=2), None).startswith("discounts: 0 reminder(s)")
    fake_slack.clear()
    deliver(uow, fake_slack, now + timedelta(days=1))
    assert "Still waiting on you" in text_of(dm_to(fake_slack, "UMIA"))
    assert run_job("discounts", uow, now + timedelta(days=7), None).endswith("1 request(s) expired")
    assert status(uow, rid) == DiscountStatus.EXPIRED
    fake_slack.clear()
    deliver(uow, fake_slack, now + timedelta(days=7))
    assert "Your discount request expired" in text_of(dm_to(fake_slack, "UANA"))
    # the ask and its reminder both show it expired
    assert [c["channel"] for c in fake_slack.calls("chat.update")] == ["DMIA", "DMIA"]


def test_a_request_on_a_deal_won_meanwhile_is_withdrawn_and_everyone_sees_it(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, mia: Actor, acme: str, now: datetime
) -> None:
    deal(app, fake_slack, f"discount {acme} 10%")
    rid = request_id(uow)
    deliver(uow, fake_slack, now)
    deal(app, fake_slack, f"won {acme}")
    assert run_job("discounts", uow, now + timedelta(minutes=5), None).endswith("1 withdrawn (deal closed)")
    assert status(uow, rid) == DiscountStatus.WITHDRAWN
    fake_slack.clear()
    deliver(uow, fake_slack, now + timedelta(minutes=5))
    assert "Your discount request was withdrawn" in text_of(dm_to(fake_slack, "UANA"))
    [ask] = fake_slack.calls("chat.update")
    assert ask["channel"] == "DMIA" and "was closed before anyone decided" in text_of(ask)
    assert not [b for b in ask["blocks"] if b["type"] == "actions"]


def test_every_discount_view_is_valid_block_kit(uow: UnitOfWork, ana: Actor, mia: Actor, root: Actor,
                                                now: datetime) -> None:
    ref = create_deal(uow, ana, title="Acme " + "x" * 190, amount=Money(Decimal("10000"), "USD"), now=now).ref
    asked = discounts.request_discount(uow, ana, ref, "25%", "r" * 500, now=now)
    data = discounts.view_data(asked)
    for variant in (data, {**data, "step": "admin"}, {**data, "status": "approved", "decided_by": "UMIA"},
                    {**data, "status": "approved", "needs_admin": False, "decided_by": "UROOT"},
                    {**data, "status": "rejected", "comment": "c" * 500, "decided_by": "UMIA"},
                    {**data, "status": "expired"}, {**data, "status": "withdrawn"}):
        for name in ("discount_ask", "discount_reminder", "discount_outcome"):
            assert_valid_message(render({"view": name, "data": variant}))
    assert_valid_message(views.requested(asked))
    assert_valid_view(views.reject_form(asked))
    advanced = discounts.approve_discount(uow, mia, asked.id, now=now)
    assert_valid_message(views.decided(advanced))
    assert_valid_message(views.decided(discounts.reject_discount(uow, root, asked.id, "no", now=now)))
    card = deal_shown(get_deal(uow, ana, ref), ana, discount_line=views.pending_line(asked))
    assert_valid_message(card)


def test_the_app_home_shows_a_discount_waiting(app: App, fake_slack: FakeSlack, uow: UnitOfWork, acme: str) -> None:
    from tests.bot.signing import app_home_opened, send_event
    from tests.bot.surfaces import published_views

    deal(app, fake_slack, f"discount {acme} 10% loyalty")
    fake_slack.clear()
    assert send_event(app, app_home_opened("UANA")).status == 200
    fake_slack.wait_for("views.publish")
    [home] = published_views(fake_slack)
    assert "Discount 10 % ($1,000.00) asked by <@UANA>, waiting on <@UMIA>" in json.dumps(home["blocks"])


def test_two_admins_clicking_approve_at_once_apply_it_once(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, acme: str
) -> None:
    import threading

    from tests.bot.signing import block_actions_payload, send_action

    make_actor(uow, "UADA", name="Ada", role=Role.ADMIN)
    deal(app, fake_slack, f"discount {acme} 30%")
    rid = request_id(uow)
    press(app, fake_slack, views.APPROVE, str(rid), user="UMIA")
    fake_slack.clear()
    barrier = threading.Barrier(2)

    def click(user: str) -> None:
        barrier.wait()
        send_action(app, block_actions_payload(views.APPROVE, str(rid), user_id=user))

    threads = [threading.Thread(target=click, args=(u,)) for u in ("UROOT", "UADA")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    replies = sorted(c["text"] for c in fake_slack.calls("response_url"))
    assert len(replies) == 2 and sum(r.startswith("Approved.") for r in replies) == 1, replies
    assert any("already approved by" in r or "a moment ago" in r for r in replies), replies
    assert get_deal(uow, ana, acme).amount == Decimal("7000.00")
    with uow.read() as s:
        assert s.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "discount_outcome")) == 1
