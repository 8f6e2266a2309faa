"""Shortcuts (issue 15.1): New deal / New lead from anywhere; a deal made from a message, and a
message added to a deal, read from the payload (no history, no channel membership)."""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from slack_bolt import App

from core.db import UnitOfWork
from core.deals import deals
from core.money import Money
from core.tables import ActivityKind
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack
from tests.bot.shortcut_payloads import (
    global_shortcut,
    message_shortcut,
    send_shortcut,
    send_suggestion,
    suggestion,
)
from tests.bot.surfaces import opened_view, select_value, snapshot, submit, text_value
from tests.conftest import make_actor

CUSTOMER_MESSAGE = {"user": "UCUST", "text": "*Globex wants 40 seats*\nCan you send a quote by Friday?",
                    "ts": "1700000000.000200"}


@pytest.fixture
def acme(uow: UnitOfWork, ana: Actor, now: datetime) -> deals.DealView:
    return deals.create_deal(uow, ana, title="Acme renewal", amount=Money(Decimal("12000"), "USD"), now=now)


def shortcut(app: App, fake: FakeSlack, payload: dict[str, Any]) -> None:
    fake.clear()
    response = send_shortcut(app, payload)
    assert response.status == 200, response.body


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(view["private_metadata"]))


@pytest.mark.parametrize(("callback_id", "modal"), [("new_deal", "deal_new"), ("new_lead", "lead_new")])
def test_global_shortcuts_open_the_new_deal_and_new_lead_modals(app: App, fake_slack: FakeSlack, ana: Actor,
                                                                callback_id: str, modal: str) -> None:
    shortcut(app, fake_slack, global_shortcut(callback_id))
    assert opened_view(fake_slack)["callback_id"].startswith(modal.split("_")[0])
    assert opened_view(fake_slack)["callback_id"] == modal


def test_create_deal_from_message_prefills_the_title_and_keeps_the_message_as_the_first_note(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor) -> None:
    fake_slack.add_user("UCUST", "Gina Globex")
    shortcut(app, fake_slack, message_shortcut("deal_from_message", CUSTOMER_MESSAGE))
    view = opened_view(fake_slack)
    title = next(b for b in view["blocks"] if b["block_id"] == "title")
    assert title["element"]["initial_value"] == "Globex wants 40 seats"
    assert not fake_slack.calls("conversations.history")  # read from the payload, not from history

    ack = submit(app, fake_slack, "deal_new", {"title": text_value("Globex wants 40 seats"),
                                               "amount": text_value("40k"), "stage": select_value("Qualified")},
                 metadata=metadata(view))
    assert ack == {}
    activities = deals.deal_activities(uow, ana, "D-1")
    assert [a.kind for a in activities] == [ActivityKind.NOTE]
    note = activities[0].text
    assert "Gina Globex" in note and "Can you send a quote by Friday?" in note
    assert "https://acme.slack.com/archives/C1/p1700000000000200" in note


def test_a_message_in_a_thread_links_to_its_thread(app: App, fake_slack: FakeSlack, ana: Actor) -> None:
    reply = {**CUSTOMER_MESSAGE, "ts": "1700000000.000300", "thread_ts": "1700000000.000200"}
    shortcut(app, fake_slack, message_shortcut("deal_from_message", reply, channel_id="G9"))
    note = metadata(opened_view(fake_slack))["first_note"]
    assert "https://acme.slack.com/archives/G9/p1700000000000300?thread_ts=1700000000.000200&cid=G9" in note


def test_a_long_non_ascii_message_still_fits_the_modal(app: App, fake_slack: FakeSlack, ana: Actor) -> None:
    long = {**CUSTOMER_MESSAGE, "text": "Şirketimiz için teklif\n" + "çğıöşü İstanbul " * 400}
    shortcut(app, fake_slack, message_shortcut("deal_from_message", long))
    view = opened_view(fake_slack)
    assert len(view["private_metadata"]) <= 3000
    assert metadata(view)["first_note"].startswith("From a Slack message by")


@pytest.mark.parametrize(("message", "says"), [
    ({"bot_id": "B123", "subtype": "bot_message", "text": "Deploy finished"}, "posted by an app"),
    ({"subtype": "tombstone", "text": "This message was deleted.", "hidden": True}, "has been deleted"),
    ({"text": "   "}, "no text"),
])
@pytest.mark.parametrize("callback_id", ["deal_from_message", "deal_add_message"])
def test_a_shortcut_on_a_bot_or_deleted_message_says_why_and_changes_nothing(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, message: dict[str, Any], says: str,
        callback_id: str) -> None:
    before = snapshot(uow)
    shortcut(app, fake_slack, message_shortcut(callback_id, {**message, "ts": "1700000000.000400"}))
    assert not fake_slack.calls("views.open")
    answers = fake_slack.calls("response_url")
    assert len(answers) == 1 and says in answers[0]["text"]
    assert answers[0]["response_type"] == "ephemeral"
    assert snapshot(uow) == before


def test_add_to_deal_searches_refs_and_titles_and_logs_the_message(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, acme: deals.DealView, now: datetime) -> None:
    fake_slack.add_user("UCUST", "Gina Globex")
    shortcut(app, fake_slack, message_shortcut("deal_add_message", CUSTOMER_MESSAGE))
    view = opened_view(fake_slack)
    assert next(b for b in view["blocks"] if b["block_id"] == "deal")["element"]["type"] == "external_select"

    for typed in ("acme", "D-1", "1", "RENEW", ""):
        options = send_suggestion(app, suggestion("deal_pick", typed))["options"]
        assert [o["value"] for o in options] == ["D-1"], typed
    assert send_suggestion(app, suggestion("deal_pick", "nothing like it"))["options"] == []

    ack = submit(app, fake_slack, "deal_add_message_form", {
        "deal": {"deal_pick": {"type": "external_select", "selected_option": {
            "text": {"type": "plain_text", "text": "D-1 · Acme renewal"}, "value": "D-1"}}},
        "kind": select_value("email"),
        "text": text_value("Can you send a quote by Friday?"),
    }, metadata=metadata(view))
    assert ack == {}
    [activity] = deals.deal_activities(uow, ana, "D-1")
    assert activity.kind == ActivityKind.EMAIL
    assert "Gina Globex" in activity.text and "p1700000000000200" in activity.text


def test_the_picker_offers_only_deals_the_user_may_read(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                       ana: Actor, bob: Actor, now: datetime) -> None:
    deals.create_deal(uow, bob, title="Acme West expansion", now=now)
    deals.create_deal(uow, ana, title="Acme East renewal", now=now)
    other = make_actor(uow, "UZED", name="Zed", team_id="T2")
    deals.create_deal(uow, other, title="Acme in another workspace", now=now)
    options = send_suggestion(app, suggestion("deal_pick", "acme"))["options"]
    assert [o["text"]["text"] for o in options] == ["D-2 · Acme East renewal"]


def test_add_to_deal_without_a_deal_or_on_someone_elses_deal_saves_nothing(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime) -> None:
    deals.create_deal(uow, bob, title="Bob's deal", now=now)
    meta = {"link": "https://acme.slack.com/archives/C1/p1", "author": "Gina"}
    before = snapshot(uow)
    ack = submit(app, fake_slack, "deal_add_message_form", {
        "deal": {"deal_pick": {"type": "external_select", "selected_option": None}},
        "kind": select_value("note"), "text": text_value("hello")}, metadata=meta)
    assert ack["response_action"] == "errors" and "Pick the deal" in ack["errors"]["deal"]
    ack = submit(app, fake_slack, "deal_add_message_form", {
        "deal": {"deal_pick": {"type": "external_select", "selected_option": {
            "text": {"type": "plain_text", "text": "D-1"}, "value": "D-1"}}},
        "kind": select_value("note"), "text": text_value("hello")}, metadata=meta)
    assert ack["response_action"] == "errors"
    assert snapshot(uow) == before


def test_a_turkish_user_is_answered_in_turkish(app: App, fake_slack: FakeSlack, uow: UnitOfWork) -> None:
    fake_slack.add_user("UTRK", "Ayşe", tz="Europe/Istanbul", locale="tr-TR")
    bot_message = {"bot_id": "B1", "subtype": "bot_message", "text": "Dağıtım bitti", "ts": "1700000000.000500"}
    shortcut(app, fake_slack, message_shortcut("deal_add_message", bot_message, user_id="UTRK"))
    [answer] = fake_slack.calls("response_url")
    assert "bir uygulama göndermiş" in answer["text"]
    shortcut(app, fake_slack, message_shortcut("deal_add_message", CUSTOMER_MESSAGE, user_id="UTRK"))
    view = opened_view(fake_slack)
    assert view["title"]["text"] == "Fırsata ekle"
    assert [b["label"]["text"] for b in view["blocks"]] == ["Fırsat", "Kaydetme türü", "Mesaj"]
