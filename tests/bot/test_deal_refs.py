"""Multi-word refs without quotes: `/deal note acme renewal call went well` (core.deals.queries.split_ref)."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from slack_bolt import App
from sqlalchemy import select

from core.db import UnitOfWork
from core.deals import deals
from core.tables import Activity, DealStatus, Reminder
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack
from tests.bot.signing import send_command
from tests.bot.surfaces import answer_changing_nothing, deal, opened_view, press, snapshot, text_of


@pytest.fixture
def two_acmes(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    """D-1 "Acme renewal" and D-2 "Acme expansion", both Ana's and open."""
    deals.create_deal(uow, ana, title="Acme renewal", expected_close=date(2026, 12, 18), now=now)
    deals.create_deal(uow, ana, title="Acme expansion", now=now)


def activities(uow: UnitOfWork) -> list[tuple[int, str, str]]:
    with uow.read() as s:
        return [(a.deal_id, a.kind.value, a.text) for a in s.scalars(select(Activity).order_by(Activity.id))]


def test_note_takes_the_longest_run_that_names_one_deal(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                        ana: Actor, two_acmes: None) -> None:
    assert "Note added to D-1" in deal(app, fake_slack, "note acme renewal call went well")["text"]
    assert "Note added to D-2" in deal(app, fake_slack, "note Acme Expansion budget approved")["text"]
    assert "Note added to D-1" in deal(app, fake_slack, 'note "acme renewal" quoted still works')["text"]
    assert activities(uow) == [(1, "note", "call went well"), (2, "note", "budget approved"),
                               (1, "note", "quoted still works")]


def test_an_ambiguous_run_offers_buttons_that_keep_the_text(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                            ana: Actor, two_acmes: None) -> None:
    before = snapshot(uow)
    body = deal(app, fake_slack, "note acme hello there")
    assert "matches 2 deals" in text_of(body)
    picks = [b["accessory"]["value"] for b in body["blocks"]
             if b.get("accessory", {}).get("action_id") == "deal_pick"]
    assert [json.loads(v)["ref"] for v in picks] == ["D-2", "D-1"]
    assert all(json.loads(v)["rest"] == "hello there" for v in picks)
    assert snapshot(uow) == before, "nothing is written before the user picks"
    calls = press(app, fake_slack, "deal_pick", next(v for v in picks if json.loads(v)["ref"] == "D-1"))
    reply = [c.body for c in calls if c.method == "response_url"]
    assert reply and "Note added to D-1" in reply[0]["text"]
    assert [(kind, text) for _, kind, text in activities(uow)] == [("note", "hello there")]


def test_lost_log_and_remind_take_multi_word_refs(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                                  two_acmes: None) -> None:
    assert "Call logged on D-1" in deal(app, fake_slack, "log acme renewal call talked to the CFO")["text"]
    assert "I'll remind you" in deal(app, fake_slack, "remind acme expansion tomorrow 3pm send the proposal")["text"]
    assert "closed as lost" in deal(app, fake_slack, "lost acme expansion went with a competitor")["text"]
    assert [(kind, text) for _, kind, text in activities(uow)] == [("call", "talked to the CFO")]
    with uow.read() as s:
        reminder = s.scalars(select(Reminder)).one()
    assert reminder.text == "send the proposal"
    assert reminder.due_at == datetime(2026, 11, 24, 15, 0, tzinfo=reminder.due_at.tzinfo)
    lost = deals.get_deal(uow, ana, "D-2")
    assert (lost.status, lost.lost_reason) == (DealStatus.LOST, "went with a competitor")
    assert deals.get_deal(uow, ana, "D-1").status == DealStatus.OPEN


def test_lost_and_log_with_only_a_multi_word_ref_open_their_modal(app: App, fake_slack: FakeSlack,
                                                                  ana: Actor, two_acmes: None) -> None:
    for text, ref in (("lost acme expansion", "D-2"), ("log acme renewal", "D-1")):
        fake_slack.clear()
        assert send_command(app, "/deal", text, user_id="UANA").status == 200
        view = opened_view(fake_slack)
        assert json.loads(view["private_metadata"])["ref"] == ref


def test_stage_takes_a_multi_word_ref_and_a_multi_word_stage(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                             ana: Actor, two_acmes: None) -> None:
    assert "moved to Proposal" in deal(app, fake_slack, "stage acme renewal proposal")["text"]
    assert "moved to Negotiation" in deal(app, fake_slack, "stage D-2 negotiation")["text"]
    assert deals.get_deal(uow, ana, "D-1").stage == "Proposal"
    assert deals.get_deal(uow, ana, "D-2").stage == "Negotiation"
    before = snapshot(uow)
    assert 'no stage "closed nowhere"' in deal(app, fake_slack, "stage acme renewal closed nowhere")["text"]
    assert "matches 2 deals" in text_of(deal(app, fake_slack, "stage acme won"))
    assert snapshot(uow) == before


@pytest.mark.parametrize("text,expected", [
    ("note globex call went well", 'No deal matches "globex"'),
    ("note D-9 call went well", "There is no deal D-9"),
    ("note acme renewal", "What's the note?"),
    ("log acme renewal lunch with them", '"lunch" is not an activity'),
    ("stage acme renewal", "matches 2 deals"),
])
def test_multi_word_refs_bad_input_changes_nothing(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                                   two_acmes: None, text: str, expected: str) -> None:
    assert expected in answer_changing_nothing(app, fake_slack, uow, text)
