"""Modals: every view valid Block Kit; submissions save, or answer on the field and save nothing."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from slack_bolt import App
from sqlalchemy import select

from bot.modals import deal_forms as forms
from bot.modals.admin_modals import pipeline_view, setup_view
from core.db import UnitOfWork
from core.deals import deals
from core.money import Money
from core.tables import DealStatus, Reminder, Workspace, WorkspaceConfig
from core.workspace import setup as setup
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_view
from tests.bot.fake_slack import FakeSlack
from tests.bot.surfaces import (
    date_value,
    number_value,
    published_views,
    select_value,
    snapshot,
    submit,
    text_of,
    text_value,
    time_value,
    user_value,
)


@pytest.fixture
def acme(uow: UnitOfWork, ana: Actor, now: datetime) -> deals.DealView:
    return deals.create_deal(uow, ana, title="Acme renewal", amount=Money(Decimal("12000"), "USD"),
                             stage="Qualified", now=now)


def new_deal_values(title: str | None = "Globex", amount: str | None = "12k", stage: str = "Proposal",
                    close: str | None = "2026-12-04", owner: str | None = None) -> dict[str, Any]:
    return {"title": text_value(title), "amount": text_value(amount), "stage": select_value(stage),
            "close": date_value(close), "owner": user_value(owner), "account": text_value("Globex Corp"),
            "next_step": text_value(None)}


def input_blocks(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view["blocks"] if b["type"] == "input"]


# -- the views --------------------------------------------------------------------------------------


def test_every_modal_view_is_valid_block_kit_even_with_long_values(uow: UnitOfWork, root: Actor,
                                                                   now: datetime) -> None:
    long_deal = deals.create_deal(uow, root, title="T" * 200, amount=Money(Decimal("999999999999"), "USD"),
                                  account="A" * 200, next_step="N" * 500, now=now)
    many = [f"Stage {i} " + "s" * 90 for i in range(150)]
    views = [
        forms.new_deal_view(many, "UROOT", "C1"),
        forms.new_deal_view([], None, None),
        forms.edit_deal_view(long_deal, "tr", "C1"),
        forms.close_won_view(long_deal, "en", None),
        forms.close_lost_view(long_deal, "C1", "1.2"),
        forms.log_activity_view(long_deal, None),
        forms.reminder_view(long_deal, "C1"),
        setup_view(setup.workspace_settings(uow, root)),
        pipeline_view(setup.pipeline_stages(uow, root)),
    ]
    for view in views:
        assert_valid_view(view)
        ids = [b["block_id"] for b in input_blocks(view)]
        assert len(ids) == len(set(ids))


# -- new deal ---------------------------------------------------------------------------------------


def test_new_deal_modal_creates_the_deal_and_confirms(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                      ana: Actor) -> None:
    ack = submit(app, fake_slack, "deal_new", new_deal_values(), metadata={"channel": "C1"})
    assert ack == {}
    created = deals.get_deal(uow, ana, "D-1")
    assert (created.title, created.amount, created.stage, created.expected_close, created.account) == (
        "Globex", Decimal("12000.00"), "Proposal", date(2026, 12, 4), "Globex Corp")
    confirm = fake_slack.calls("chat.postEphemeral")
    assert confirm and confirm[0]["channel"] == "C1" and confirm[0]["user"] == "UANA"
    assert "D-1 created in Proposal" in confirm[0]["text"]
    assert published_views(fake_slack)


def test_a_double_submit_creates_one_deal(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor) -> None:
    submit(app, fake_slack, "deal_new", new_deal_values(), view_id="VSAME")
    submit(app, fake_slack, "deal_new", new_deal_values(), view_id="VSAME")
    assert len(snapshot(uow)[0]) == 1
    submit(app, fake_slack, "deal_new", new_deal_values(), view_id="VOTHER")
    assert len(snapshot(uow)[0]) == 2


@pytest.mark.parametrize("values,block,message", [
    ({"amount": "twelve"}, "amount", "as an amount"),
    ({"amount": "-5"}, "amount", "negative"),
    ({"amount": "12 XYZ"}, "amount", 'Unknown currency "XYZ"'),  # issue 10: ISO 4217 in the modal too
    ({"amount": "12,50"}, "amount", "can be read two ways: 12.50 or 1,250"),  # a question, not a guess
    ({"title": None}, "title", "needs a title"),
    ({"title": "x" * 250}, "title", "under 200"),
    ({"stage": "Won"}, "stage", "open stage"),
    ({"stage": "Nowhere"}, "stage", "no stage"),
    ({"close": "not-a-date"}, "close", "calendar"),
    ({"owner": "UBOB"}, "owner", "can't create deals for Bob"),
])
def test_new_deal_errors_show_on_their_field_and_nothing_is_saved(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, bob: Actor, values: dict[str, Any],
        block: str, message: str) -> None:
    view = forms.new_deal_view(["Prospecting", "Proposal"], "UANA", "C1")
    ack = submit(app, fake_slack, "deal_new", new_deal_values(**values), blocks=view["blocks"])
    assert ack["response_action"] == "errors"
    assert list(ack["errors"]) == [block] and message in ack["errors"][block]
    assert snapshot(uow)[0] == []
    assert not fake_slack.calls("chat.postEphemeral")


def test_an_unexpected_error_in_a_modal_keeps_it_open_with_an_id(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(deals, "create_deal", broken)
    ack = submit(app, fake_slack, "deal_new", new_deal_values())
    assert "Sorry, something went wrong" in ack["errors"]["title"] and "error " in ack["errors"]["title"]


# -- edit, won, lost, log, remind --------------------------------------------------------------------


def test_edit_modal_saves_the_changes(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                      acme: deals.DealView) -> None:
    values = {"title": text_value("Acme renewal 2027"), "amount": text_value("$15,000"), "close": date_value(None),
              "owner": user_value("UANA"), "account": text_value("Acme Inc"), "contact": text_value("Wile E."),
              "next_step": text_value("send contract")}
    assert submit(app, fake_slack, "deal_edit_form", values, metadata={"ref": "D-1"}) == {}
    edited = deals.get_deal(uow, ana, "D-1")
    assert (edited.title, edited.amount, edited.contact, edited.next_step) == (
        "Acme renewal 2027", Decimal("15000.00"), "Wile E.", "send contract")
    assert "updated" in fake_slack.calls("chat.postMessage")[0]["text"]  # no channel: a DM


def test_edit_modal_refuses_another_rep_and_bad_amounts(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                        ana: Actor, bob: Actor, acme: deals.DealView) -> None:
    before = snapshot(uow)
    values = {"title": text_value("Stolen"), "amount": text_value("1k")}
    ack = submit(app, fake_slack, "deal_edit_form", values, metadata={"ref": "D-1"}, user="UBOB")
    assert ack["response_action"] == "errors" and "D-1" in ack["errors"]["title"]
    ack = submit(app, fake_slack, "deal_edit_form", {"title": text_value("Acme"), "amount": text_value("1.2.3")},
                 metadata={"ref": "D-1"})
    assert "amount" in ack["errors"]
    ack = submit(app, fake_slack, "deal_edit_form", {"title": text_value("Acme")}, metadata={})
    assert "lost track" in ack["errors"]["title"]
    assert snapshot(uow) == before


def test_close_won_modal_with_the_final_amount(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                               acme: deals.DealView) -> None:
    assert submit(app, fake_slack, "deal_won_form", {"amount": text_value("11k")},
                  metadata={"ref": "D-1", "channel": "C1"}) == {}
    won = deals.get_deal(uow, ana, "D-1")
    assert (won.status, won.amount) == (DealStatus.WON, Decimal("11000.00"))
    announced = fake_slack.calls("chat.postMessage")
    assert announced and announced[0]["channel"] == "C1" and "won" in announced[0]["text"]


def test_close_lost_needs_a_reason(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                   acme: deals.DealView) -> None:
    before = snapshot(uow)
    ack = submit(app, fake_slack, "deal_lost_form", {"reason": text_value("  ")}, metadata={"ref": "D-1"})
    assert ack["response_action"] == "errors" and "why" in ack["errors"]["reason"]
    assert snapshot(uow) == before


def test_close_lost_from_a_button_updates_that_message(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                       ana: Actor, acme: deals.DealView) -> None:
    url = fake_slack.response_url("lostbutton")
    ack = submit(app, fake_slack, "deal_lost_form", {"reason": text_value("no budget")},
                 metadata={"ref": "D-1", "response_url": url})
    assert ack == {}
    lost = deals.get_deal(uow, ana, "D-1")
    assert (lost.status, lost.lost_reason) == (DealStatus.LOST, "no budget")
    update = fake_slack.calls("response_url")
    assert update and update[0]["replace_original"] is True
    assert "<@UANA> closed D-1 as lost · Mon 23 Nov 14:00" in text_of(update[0].body)
    assert "no budget" in text_of(update[0].body)


def test_log_activity_modal(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                            acme: deals.DealView) -> None:
    assert submit(app, fake_slack, "deal_log_form", {"kind": select_value("meeting"), "text": text_value("onsite")},
                  metadata={"ref": "D-1"}) == {}
    assert [a.kind.value for a in deals.deal_activities(uow, ana, "D-1")] == ["meeting"]
    ack = submit(app, fake_slack, "deal_log_form", {"kind": select_value("lunch")}, metadata={"ref": "D-1"})
    assert "kind" in ack["errors"]


def test_reminder_modal(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                        acme: deals.DealView) -> None:
    before = snapshot(uow)
    ack = submit(app, fake_slack, "deal_remind_form", {"when": text_value("someday")}, metadata={"ref": "D-1"})
    assert "someday" in ack["errors"]["when"]
    ack = submit(app, fake_slack, "deal_remind_form", {"when": text_value("yesterday")}, metadata={"ref": "D-1"})
    assert "when" in ack["errors"]
    assert snapshot(uow) == before
    assert submit(app, fake_slack, "deal_remind_form", {"when": text_value("fri 10am"), "text": text_value("call")},
                  metadata={"ref": "D-1"}) == {}
    with uow.read() as s:
        assert s.scalars(select(Reminder)).one().text == "call"


# -- admin modals ---------------------------------------------------------------------------------------


def setup_values(currency: str = "EUR", threshold: str = "80") -> dict[str, Any]:
    return {"default_currency": text_value(currency), "locale": select_value("tr"),
            "digest_weekday": select_value("4"), "digest_time": time_value("08:30"),
            "hot_lead_threshold": number_value(threshold), "quiet_start": time_value("21:00"),
            "quiet_end": time_value("07:00")}


def test_setup_modal_saves_the_settings(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor) -> None:
    assert submit(app, fake_slack, "salesbot_setup", setup_values(), user="UROOT") == {}
    with uow.read() as s:
        ws = s.scalars(select(Workspace)).one()
        assert (ws.default_currency, ws.locale, ws.digest_weekday, ws.digest_time, ws.hot_lead_threshold) == (
            "EUR", "tr", 4, "08:30", 80)


def test_setup_modal_errors_and_refusals_save_nothing(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                      root: Actor, ana: Actor) -> None:
    view = setup_view(setup.workspace_settings(uow, root))
    ack = submit(app, fake_slack, "salesbot_setup", setup_values(currency="euro"), user="UROOT",
                 blocks=view["blocks"])
    assert list(ack["errors"]) == ["default_currency"]
    ack = submit(app, fake_slack, "salesbot_setup", setup_values(threshold="500"), user="UROOT",
                 blocks=view["blocks"])
    assert list(ack["errors"]) == ["hot_lead_threshold"]
    ack = submit(app, fake_slack, "salesbot_setup", setup_values(), user="UANA", blocks=view["blocks"])
    assert "Only admins" in json.dumps(ack["errors"])
    with uow.read() as s:
        assert s.scalars(select(Workspace)).one().default_currency == "USD"


def test_pipeline_modal(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor) -> None:
    ack = submit(app, fake_slack, "salesbot_pipeline", {"stages": text_value("Lead, 5%\nDeal, 150%")}, user="UROOT")
    assert "0 to 100" in ack["errors"]["stages"]
    assert setup.open_stage_names(uow, root) == ["Prospecting", "Qualified", "Proposal", "Negotiation"]
    assert submit(app, fake_slack, "salesbot_pipeline", {"stages": text_value("Lead, 5%, 7\nPitch, 40%")},
                  user="UROOT") == {}
    assert setup.open_stage_names(uow, root) == ["Lead", "Pitch"]


def test_edit_from_a_button_updates_that_message(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                                 acme: deals.DealView) -> None:
    url = fake_slack.response_url("editbutton")
    assert submit(app, fake_slack, "deal_edit_form", {"title": text_value("Acme 2027")},
                  metadata={"ref": "D-1", "response_url": url}) == {}
    update = fake_slack.calls("response_url")
    assert update and update[0]["replace_original"] is True
    assert "<@UANA> edited D-1" in text_of(update[0].body) and "Acme 2027" in text_of(update[0].body)


def test_setup_modal_sets_the_workspace_webhook_secret_and_never_shows_it(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor) -> None:
    secret = "ws-own-secret-abcdef123456"
    before = setup_view(setup.workspace_settings(uow, root))
    field = next(b for b in input_blocks(before) if b["block_id"] == "lead_webhook_secret")
    assert field["optional"] is True and "Not set" in field["element"]["placeholder"]["text"]
    ack = submit(app, fake_slack, "salesbot_setup", {**setup_values(), "lead_webhook_secret": text_value("short")},
                 user="UROOT", blocks=before["blocks"])
    assert list(ack["errors"]) == ["lead_webhook_secret"]
    assert setup.workspace_settings(uow, root).lead_webhook_secret_set is False
    assert submit(app, fake_slack, "salesbot_setup", {**setup_values(), "lead_webhook_secret": text_value(secret)},
                  user="UROOT") == {}
    with uow.read() as s:
        stored = s.scalars(select(WorkspaceConfig).where(WorkspaceConfig.name == setup.LEAD_WEBHOOK_CONFIG)).one()
        assert stored.data == {"secret": secret}
    after = setup_view(setup.workspace_settings(uow, root))
    assert_valid_view(after)
    assert secret not in json.dumps(after)
    field = next(b for b in input_blocks(after) if b["block_id"] == "lead_webhook_secret")
    assert "Leave blank to keep it" in field["element"]["placeholder"]["text"]
    told = json.dumps([c.body for c in fake_slack.calls()])
    assert "own secret" in told and secret not in told
