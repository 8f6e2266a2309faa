"""/deal through signed requests and a fake Slack: every subcommand, its bad input, permissions."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from slack_bolt import App
from sqlalchemy import select

from core.db import UnitOfWork
from core.deals import deals
from core.money import Money
from core.tables import Activity, Deal, DealStatus, Reminder
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack
from tests.bot.surfaces import (
    answer_changing_nothing,
    answers,
    deal,
    opened_view,
    press,
    published_views,
    snapshot,
    text_of,
)
from tests.conftest import make_actor


def usd(x: str) -> Money:
    return Money(Decimal(x), "USD")


@pytest.fixture
def acme(uow: UnitOfWork, ana: Actor, now: datetime) -> deals.DealView:
    return deals.create_deal(uow, ana, title="Acme renewal", amount=usd("12000"), stage="Qualified",
                             expected_close=date(2026, 12, 18), now=now)


@pytest.fixture
def cal(uow: UnitOfWork, mia: Actor) -> Actor:
    """Another rep in team East, like Ana."""
    return make_actor(uow, "UCAL", name="Cal", team="East")


def only_deal(uow: UnitOfWork) -> Deal:
    with uow.read() as s:
        found = list(s.scalars(select(Deal)))
        assert len(found) == 1
        return found[0]


# -- new ------------------------------------------------------------------------------------------


def test_new_with_amount_stage_close_date(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor) -> None:
    body = deal(app, fake_slack, "new Acme renewal 12k stage:proposal close:2026-12-04")
    assert body["response_type"] == "ephemeral"
    assert "D-1" in body["text"] and "Proposal" in body["text"] and "$12,000.00" in body["text"]
    created = only_deal(uow)
    assert (created.title, created.amount_minor, created.expected_close) == ("Acme renewal", 1200000,
                                                                            date(2026, 12, 4))
    assert published_views(fake_slack), "the App Home is refreshed after a change"


def test_new_reads_a_multi_word_date_and_a_quoted_stage(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                        ana: Actor) -> None:
    deal(app, fake_slack, 'new Globex 5000 EUR close:next friday stage:"Negotiation"')
    created = only_deal(uow)
    assert created.title == "Globex" and created.currency == "EUR" and created.expected_close is not None
    assert created.expected_close.weekday() == 4


def test_a_manager_creates_a_deal_for_a_rep_of_their_team(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                           ana: Actor, mia: Actor) -> None:
    deal(app, fake_slack, "new Initech 3k <@UANA|ana>", user="UMIA")
    assert only_deal(uow).owner_id == ana.user_id


def test_a_rep_cannot_create_a_deal_for_another_rep(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                                    bob: Actor) -> None:
    body = deal(app, fake_slack, "new Initech 3k <@UBOB|bob>")
    assert "can't create deals for Bob" in body["text"]
    assert snapshot(uow)[0] == []


@pytest.mark.parametrize("text,expected", [
    ("new Acme stage:nowhere", 'no stage "nowhere"'),
    ("new Acme -5k", "negative"),
    ("new Acme 1.2.3", "amount"),
    ("new Acme close:someday", "someday"),
    ("new 12k", "needs a title"),
    ("new Acme #C123", "#channel"),
    ("new Acme <@U1|a> <@U2|b>", "one owner"),
    ("new Acme closing:this month", "does not apply"),
    ('new "Acme', "not closed"),
])
def test_new_with_bad_input_says_why_and_saves_nothing(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                       ana: Actor, text: str, expected: str) -> None:
    body = deal(app, fake_slack, text)
    assert expected in text_of(body)
    assert body["response_type"] == "ephemeral"
    assert snapshot(uow)[0] == []


def test_bare_deal_opens_the_new_deal_modal(app: App, fake_slack: FakeSlack, ana: Actor) -> None:
    fake_slack.clear()
    from tests.bot.signing import send_command

    send_command(app, "/deal", "", user_id="UANA", trigger_id="T-1")
    view = opened_view(fake_slack)
    assert fake_slack.calls("views.open")[0]["trigger_id"] == "T-1"
    assert view["callback_id"] == "deal_new"
    stage = next(b for b in view["blocks"] if b.get("block_id") == "stage")
    assert [o["value"] for o in stage["element"]["options"]] == ["Prospecting", "Qualified", "Proposal",
                                                                 "Negotiation"]


# -- list -----------------------------------------------------------------------------------------


def test_list_shows_open_deals_with_buttons(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                            acme: deals.DealView, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Closed one", now=now)
    deals.close_deal_won(uow, ana, "Closed one", now=now)
    body = deal(app, fake_slack, "list mine")
    assert "Acme renewal" in text_of(body) and "Closed one" not in text_of(body)
    buttons = [e["action_id"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["deal_show", "deal_edit", "deal_won", "deal_lost"]


def test_list_filters_by_stage_closing_and_person(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                                  mia: Actor, acme: deals.DealView, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Later deal", stage="Proposal", expected_close=date(2027, 3, 1), now=now)
    assert "Later deal" not in text_of(deal(app, fake_slack, "list stage:qualified"))
    assert "Acme renewal" in text_of(deal(app, fake_slack, "list closing:this quarter"))
    assert "Later deal" not in text_of(deal(app, fake_slack, "list closing:this quarter"))
    assert "Later deal" in text_of(deal(app, fake_slack, "list <@UANA|ana>", user="UMIA"))
    assert "Acme renewal" in text_of(deal(app, fake_slack, "list team"))


def test_list_without_a_scope_is_the_callers_own_deals(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                       ana: Actor, mia: Actor, root: Actor, bob: Actor,
                                                       now: datetime) -> None:
    deals.create_deal(uow, ana, title="Ana's own", now=now)
    deals.create_deal(uow, mia, title="Mia's own", now=now)
    deals.create_deal(uow, bob, title="Bob's own", now=now)
    mine = deal(app, fake_slack, "list")
    assert "Your open deals" in text_of(mine)
    assert "Ana's own" in text_of(mine) and "Mia's own" not in text_of(mine)
    team = text_of(deal(app, fake_slack, "list team"))
    assert "Ana's own" in team and "Mia's own" in team and "Bob's own" not in team
    assert "Mia's own" in text_of(deal(app, fake_slack, "list <@UMIA|mia>"))  # anyone reads their team's
    # An admin's bare list is their own too (none here); `all` is everything they may see.
    assert "Ana's own" not in text_of(deal(app, fake_slack, "list", user="UROOT"))
    everything = text_of(deal(app, fake_slack, "list all", user="UROOT"))
    assert all(t in everything for t in ("Ana's own", "Mia's own", "Bob's own"))
    assert "Bob's own" not in text_of(deal(app, fake_slack, "list all"))


@pytest.mark.parametrize("text,expected", [
    ("list everyone", "not a scope"),
    ("list mine team", "one scope"),
    ("list closing:whenever", "whenever"),
    ("list stage:nowhere", 'no stage "nowhere"'),
])
def test_list_bad_input(app: App, fake_slack: FakeSlack, ana: Actor, text: str, expected: str) -> None:
    assert expected in text_of(deal(app, fake_slack, text))


def test_a_rep_cannot_list_another_teams_deals(app: App, fake_slack: FakeSlack, ana: Actor, bob: Actor) -> None:
    assert "another team" in text_of(deal(app, fake_slack, "list <@UBOB|bob>"))


def test_a_long_list_is_cut_to_fifty_blocks_with_and_n_more(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                            ana: Actor, now: datetime) -> None:
    for i in range(300):
        deals.create_deal(uow, ana, title=f"Deal {i} " + "x" * 150, amount=usd(str(1000 + i)), now=now)
    body = deal(app, fake_slack, "list mine")
    assert len(body["blocks"]) <= 50
    assert "300 deals" in text_of(body)
    shown = sum(1 for b in body["blocks"] if b["type"] == "actions")
    assert f"and {300 - shown} more" in text_of(body)


# -- show, edit -----------------------------------------------------------------------------------


def test_show_by_id_number_and_title(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                     acme: deals.DealView, now: datetime) -> None:
    deals.log_activity(uow, ana, "D-1", "call", "talked to the CFO", now=now)
    for ref in ("D-1", "1", "acme"):
        body = deal(app, fake_slack, f"show {ref}")
        assert "Acme renewal" in text_of(body) and "talked to the CFO" in text_of(body)


def test_show_a_ref_that_matches_nothing(app: App, fake_slack: FakeSlack, ana: Actor, acme: deals.DealView) -> None:
    assert "There is no deal D-99" in text_of(deal(app, fake_slack, "show D-99"))
    assert 'No deal matches "globex"' in text_of(deal(app, fake_slack, "show globex"))
    assert "Which deal?" in text_of(deal(app, fake_slack, "show"))


def test_an_ambiguous_ref_offers_the_candidates_and_a_pick_runs_the_command(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, acme: deals.DealView, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme expansion", now=now)
    body = deal(app, fake_slack, "stage acme proposal")
    picks = [b["accessory"] for b in body["blocks"] if b.get("accessory", {}).get("action_id") == "deal_pick"]
    assert len(picks) == 2
    assert snapshot(uow)[0][0][4] == snapshot(uow)[0][0][4]  # nothing moved yet
    value = next(p["value"] for p in picks if json.loads(p["value"])["ref"] == "D-1")
    calls = press(app, fake_slack, "deal_pick", value)
    reply = [c.body for c in calls if c.method == "response_url"]
    assert reply and reply[0]["replace_original"] is True and "moved to Proposal" in reply[0]["text"]
    assert deals.get_deal(uow, ana, "D-1").stage == "Proposal"
    assert deals.get_deal(uow, ana, "D-2").stage == "Prospecting"


def test_edit_opens_a_filled_modal(app: App, fake_slack: FakeSlack, ana: Actor, acme: deals.DealView) -> None:
    fake_slack.clear()
    from tests.bot.signing import send_command

    send_command(app, "/deal", "edit D-1", user_id="UANA")
    view = opened_view(fake_slack)
    assert view["callback_id"] == "deal_edit_form"
    title = next(b for b in view["blocks"] if b["block_id"] == "title")
    assert title["element"]["initial_value"] == "Acme renewal"
    assert json.loads(view["private_metadata"])["ref"] == "D-1"


def test_edit_of_another_reps_deal_is_refused_before_the_modal(app: App, fake_slack: FakeSlack, ana: Actor,
                                                               bob: Actor, cal: Actor, acme: deals.DealView) -> None:
    assert "You can't change D-1: it is Ana's" in text_of(deal(app, fake_slack, "edit D-1", user="UCAL"))
    assert not fake_slack.calls("views.open")
    assert "There is no deal D-1" in text_of(deal(app, fake_slack, "edit D-1", user="UBOB"))
    assert not fake_slack.calls("views.open")


# -- stage, won, lost -----------------------------------------------------------------------------


def test_stage_moves_the_deal(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                              acme: deals.DealView) -> None:
    body = deal(app, fake_slack, "stage D-1 negotiation")
    assert "D-1 moved to Negotiation" in body["text"]
    assert deals.get_deal(uow, ana, "D-1").stage == "Negotiation"
    deal(app, fake_slack, 'stage "acme renewal" stage:proposal')
    assert deals.get_deal(uow, ana, "D-1").stage == "Proposal"


@pytest.mark.parametrize("text,expected", [
    ("stage D-1 nowhere", 'no stage "nowhere"'),
    ("stage D-1", "Which deal, and which stage?"),
    ("stage D-1 qualified", "already in Qualified"),
    ("stage D-1 lost", "needs a reason"),
    ("stage D-9 proposal", "no deal D-9"),
])
def test_stage_bad_input_changes_nothing(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                         acme: deals.DealView, text: str, expected: str) -> None:
    assert expected in answer_changing_nothing(app, fake_slack, uow, text)


def test_a_rep_cannot_move_another_reps_deal(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                             bob: Actor, cal: Actor, acme: deals.DealView) -> None:
    before = snapshot(uow)
    body = deal(app, fake_slack, "stage D-1 proposal", user="UCAL")
    assert "You can't change D-1: it is Ana's" in text_of(body)
    assert "Reps change their own" in text_of(body)
    # Bob is in another team: for him the deal does not exist (issue 12).
    assert "There is no deal D-1" in text_of(deal(app, fake_slack, "stage D-1 proposal", user="UBOB"))
    assert snapshot(uow) == before


def test_the_manager_and_an_admin_can_move_a_reps_deal(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                        ana: Actor, mia: Actor, root: Actor,
                                                        acme: deals.DealView) -> None:
    deal(app, fake_slack, "stage D-1 proposal", user="UMIA")
    assert deals.get_deal(uow, ana, "D-1").stage == "Proposal"
    deal(app, fake_slack, "stage D-1 negotiation", user="UROOT")
    assert deals.get_deal(uow, ana, "D-1").stage == "Negotiation"


def test_won_is_announced_in_the_channel(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                         acme: deals.DealView) -> None:
    body = deal(app, fake_slack, "won D-1")
    assert body["response_type"] == "in_channel" and "won" in body["text"]
    assert deals.get_deal(uow, ana, "D-1").status == DealStatus.WON
    again = deal(app, fake_slack, "won D-1")
    assert again["response_type"] == "ephemeral" and "already won" in again["text"]


def test_lost_with_a_reason(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                            acme: deals.DealView) -> None:
    body = deal(app, fake_slack, "lost D-1 went with a competitor")
    assert "closed as lost" in body["text"]
    lost = deals.get_deal(uow, ana, "D-1")
    assert (lost.status, lost.lost_reason) == (DealStatus.LOST, "went with a competitor")


def test_lost_without_a_reason_opens_the_close_lost_modal(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                          ana: Actor, acme: deals.DealView) -> None:
    fake_slack.clear()
    from tests.bot.signing import send_command

    send_command(app, "/deal", "lost D-1", user_id="UANA")
    view = opened_view(fake_slack)
    reason = next(b for b in view["blocks"] if b.get("block_id") == "reason")
    assert reason["optional"] is False
    assert deals.get_deal(uow, ana, "D-1").status == DealStatus.OPEN


def test_lost_by_another_rep_is_refused(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, cal: Actor,
                                        acme: deals.DealView) -> None:
    before = snapshot(uow)
    assert "You can't change D-1" in text_of(deal(app, fake_slack, "lost D-1 no budget", user="UCAL"))
    assert "You can't change D-1" in text_of(deal(app, fake_slack, "lost D-1", user="UCAL"))
    assert snapshot(uow) == before and not fake_slack.calls("views.open")


# -- note, log, remind ----------------------------------------------------------------------------


def test_note_and_log(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, acme: deals.DealView) -> None:
    assert "Note added to D-1" in deal(app, fake_slack, "note D-1 budget approved")["text"]
    assert "Call logged on D-1" in deal(app, fake_slack, 'log "acme renewal" call talked to the CFO')["text"]
    assert "Demo logged on D-1" in deal(app, fake_slack, "log D-1 demo")["text"]
    with uow.read() as s:
        got = [(a.kind.value, a.text) for a in s.scalars(select(Activity).order_by(Activity.id))]
    assert got == [("note", "budget approved"), ("call", "talked to the CFO"), ("demo", "")]


@pytest.mark.parametrize("text,expected", [
    ("note D-1", "What's the note?"),
    ("note", "Which deal?"),
    ("log D-1 lunch with them", '"lunch" is not an activity'),
    ("note D-7 hello", "no deal D-7"),
])
def test_note_and_log_bad_input(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                acme: deals.DealView, text: str, expected: str) -> None:
    assert expected in answer_changing_nothing(app, fake_slack, uow, text)


def test_remind_sets_a_reminder_in_the_users_time(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                                  acme: deals.DealView) -> None:
    body = deal(app, fake_slack, "remind D-1 tomorrow 3pm send the proposal")
    assert "I'll remind you" in body["text"] and "send the proposal" in body["text"]
    with uow.read() as s:
        reminder = s.scalars(select(Reminder)).one()
    assert reminder.due_at == datetime(2026, 11, 24, 15, 0, tzinfo=reminder.due_at.tzinfo)
    assert reminder.text == "send the proposal" and reminder.user_id == ana.user_id


@pytest.mark.parametrize("text,expected", [
    ("remind", "Which deal?"),
    ("remind D-1 someday maybe", "someday"),
    ("remind D-1 yesterday", "past"),
])
def test_remind_bad_input(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, acme: deals.DealView,
                          text: str, expected: str) -> None:
    assert expected in answer_changing_nothing(app, fake_slack, uow, text)


# -- help, unknown, errors ------------------------------------------------------------------------


def test_help_lists_every_subcommand_with_an_example(app: App, fake_slack: FakeSlack, ana: Actor) -> None:
    body = text_of(deal(app, fake_slack, "help"))
    for sub in ("new", "list", "show", "edit", "stage", "won", "lost", "note", "log", "remind"):
        assert f"/deal {sub}" in body


def test_an_unknown_subcommand_answers_with_help(app: App, fake_slack: FakeSlack, ana: Actor) -> None:
    body = text_of(deal(app, fake_slack, "frobnicate D-1"))
    assert '"frobnicate" is not a /deal command' in body and "/deal new" in body


def test_an_unexpected_error_is_logged_with_an_id_and_apologised_for(
        app: App, fake_slack: FakeSlack, ana: Actor, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(deals, "get_deal", broken)
    body = deal(app, fake_slack, "show D-1")
    assert "Sorry, something went wrong" in body["text"]
    error_id = body["text"].rsplit("error ", 1)[1].rstrip(".")
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)


# -- buttons on deal messages ---------------------------------------------------------------------


def message_with_buttons(app: App, fake_slack: FakeSlack) -> dict[str, object]:
    body = deal(app, fake_slack, "show D-1")
    return {"ts": "1700000000.000001", "blocks": body["blocks"], "text": body["text"]}


def test_won_button_updates_the_message_in_place(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                                 acme: deals.DealView) -> None:
    message = message_with_buttons(app, fake_slack)
    calls = press(app, fake_slack, "deal_won", "D-1", message=message)
    replies = [c.body for c in calls if c.method == "response_url"]
    replaced = next(r for r in replies if r.get("replace_original"))
    assert "<@UANA> closed D-1 as won" in text_of(replaced)
    assert not any(b["type"] == "actions" for b in replaced["blocks"])
    assert any(r.get("response_type") == "in_channel" for r in replies)
    assert deals.get_deal(uow, ana, "D-1").status == DealStatus.WON


def test_buttons_refuse_another_rep_and_change_nothing(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                       ana: Actor, cal: Actor, acme: deals.DealView) -> None:
    before = snapshot(uow)
    for action in ("deal_won", "deal_lost", "deal_edit"):
        calls = press(app, fake_slack, action, "D-1", user="UCAL")
        replies = [c.body for c in calls if c.method == "response_url"]
        assert replies and "You can't change D-1" in text_of(replies[0])
        assert not [c for c in calls if c.method == "views.open"]
    assert snapshot(uow) == before


def test_show_edit_and_lost_buttons(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                    acme: deals.DealView) -> None:
    calls = press(app, fake_slack, "deal_show", "D-1")
    assert "Acme renewal" in text_of(next(c.body for c in calls if c.method == "response_url"))
    calls = press(app, fake_slack, "deal_edit", "D-1")
    assert opened_view(fake_slack)["callback_id"] == "deal_edit_form"
    calls = press(app, fake_slack, "deal_lost", "D-1")
    view = opened_view(fake_slack)
    assert view["callback_id"] == "deal_lost_form"
    assert json.loads(view["private_metadata"])["response_url"].startswith("http://127.0.0.1")


def test_a_show_button_on_the_app_home_answers_by_dm(app: App, fake_slack: FakeSlack, ana: Actor,
                                                     acme: deals.DealView) -> None:
    calls = press(app, fake_slack, "deal_show", "D-1", view={"id": "VHOME", "type": "home"}, response_url=None)
    dm = [c for c in calls if c.method == "chat.postMessage"]
    assert dm and dm[0]["channel"] == "UANA" and "Acme renewal" in text_of(dm[0].body)
    assert answers(fake_slack) == []


@pytest.mark.parametrize("text,callback", [("log D-1", "deal_log_form"), ("remind D-1", "deal_remind_form")])
def test_log_and_remind_without_details_open_their_modal(app: App, fake_slack: FakeSlack, ana: Actor,
                                                         acme: deals.DealView, text: str, callback: str) -> None:
    from tests.bot.signing import send_command

    fake_slack.clear()
    send_command(app, "/deal", text, user_id="UANA")
    view = opened_view(fake_slack)
    assert view["callback_id"] == callback and json.loads(view["private_metadata"])["ref"] == "D-1"


def test_log_and_remind_buttons_on_the_deal_card(app: App, fake_slack: FakeSlack, ana: Actor, cal: Actor,
                                                 acme: deals.DealView) -> None:
    card = deal(app, fake_slack, "show D-1")
    ids = [e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "deal_log" in ids and "deal_remind" in ids
    press(app, fake_slack, "deal_log", "D-1")
    assert opened_view(fake_slack)["callback_id"] == "deal_log_form"
    press(app, fake_slack, "deal_remind", "D-1")
    assert opened_view(fake_slack)["callback_id"] == "deal_remind_form"
    calls = press(app, fake_slack, "deal_remind", "D-1", user="UCAL")
    assert not [c for c in calls if c.method == "views.open"]


def test_amounts_follow_the_users_locale_and_dates_their_time_zone(app: App, fake_slack: FakeSlack,
                                                                   uow: UnitOfWork, now: datetime) -> None:
    from core.tables import User, Workspace

    kiri = make_actor(uow, "UKIRI", name="Kiri", tz="Pacific/Auckland")
    with uow.transaction() as s:
        s.get_one(User, kiri.user_id).locale = "tr"
        s.get_one(Workspace, kiri.workspace_id).default_currency = "TRY"
    deal(app, fake_slack, "new Acme 12.000 close:tomorrow", user="UKIRI")
    created = only_deal(uow)
    # 14:00 UTC Monday is 03:00 Tuesday in Auckland: "tomorrow" there is Wednesday.
    assert (created.amount_minor, created.currency, created.expected_close) == (1_200_000, "TRY", date(2026, 11, 25))


def test_every_deal_view_holds_slack_limits_with_extreme_values(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    from bot.views import deals as views
    from bot.views.help import admin_help, deal_help, pipeline_help
    from tests.bot.blockkit import assert_valid_message

    big = deals.create_deal(uow, ana, title="T<&>" * 50, amount=usd("999999999999"), account="A" * 200,
                            next_step="N" * 500, expected_close=date(2026, 12, 1), now=now)
    for _ in range(8):
        deals.log_activity(uow, ana, big.ref, "call", "x" * 3000, now=now)
    lost = deals.close_deal_lost(uow, ana, big.ref, "R" * 500, now=now)
    activities = deals.deal_activities(uow, ana, big.ref)
    many = [lost] * 300
    for body in (views.deal_shown(lost, ana, activities), views.deal_changed(lost, ana, "moved" * 100),
                 views.deal_won(lost, ana), views.deal_list(many, ana, "L" * 500),
                 views.candidates("?" * 4000, many, ana, "note", "z" * 3000),
                 views.candidates("which?", many, ana, "stage", "proposal"),
                 views.reminder_set(lost.ref, now, "r" * 3000, ana),
                 views.with_acted_line(views.deal_list(many, ana, "x"), ana, "did" * 100, now),
                 deal_help("n" * 4000), pipeline_help(), admin_help()):
        assert_valid_message(body)
    long_message = views.deal_list(many, ana, "x")["blocks"]
    assert_valid_message({"text": "t", "blocks": views.acted_on(long_message, "line")})


def test_any_deal_command_text_answers_or_says_what_is_wrong(fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                                            acme: deals.DealView, now: datetime) -> None:
    """Property: whatever follows /deal, the answer is a message or a UserError — never a crash."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from slack_sdk import WebClient

    from bot.commands import Request
    from bot.commands.deal import run
    from tests.bot.surfaces import answers_of_run

    client = WebClient(token="xoxb-test", base_url=fake_slack.url)
    pieces = st.sampled_from(["new", "list", "show", "stage", "won", "lost", "note", "log", "remind", "edit", "D-1",
                              "acme", "12k", "-3", "stage:", "stage:proposal", "close:fri", "closing:q3", '"', "<@U1>",
                              "#C1", "mine", "team", "call", "tomorrow", "3pm", "ç", "\u200b", "D-0", "9" * 12, " "])

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(pieces, max_size=8).map(" ".join))
    def check(text: str) -> None:
        req = Request(uow=uow, actor=ana, now=now, client=client, respond=lambda **_: None, trigger_id="1.2.3",
                      channel_id="C1")
        answers_of_run(run, req, text)

    check()


def test_titles_are_escaped_so_they_cannot_link_or_mention(app: App, fake_slack: FakeSlack, ana: Actor) -> None:
    deal(app, fake_slack, "new AT&amp;T &lt;http://evil.example|click&gt; 5k")
    body = deal(app, fake_slack, "list mine")
    line = body["blocks"][1]["text"]["text"]
    assert "AT&amp;T &lt;http://evil.example|click&gt;" in line and "<http" not in line


# -- issue 10: amounts read right, whatever the workspace locale --------------------------------------


def _workspace(uow: UnitOfWork, actor: Actor, *, locale: str, currency: str, user_locale: str | None = None) -> None:
    from core.tables import User, Workspace

    with uow.transaction() as s:
        ws = s.get_one(Workspace, actor.workspace_id)
        ws.locale, ws.default_currency = locale, currency
        s.get_one(User, actor.user_id).locale = user_locale or locale


@pytest.mark.parametrize("text,locale,currency,amount_minor,saved_currency", [
    ("new Gamma ₺12.000", "en", "USD", 1_200_000, "TRY"),  # was TRY 12.00
    ("new Gebze $12,000", "tr", "TRY", 1_200_000, "USD"),  # was $12.00
    ("new Delta €1.2M", "en", "USD", 120_000_000, "EUR"),
    ("new Theta 12000 EUR", "tr", "TRY", 1_200_000, "EUR"),
    ("new Gebze 12 bin", "tr", "TRY", 1_200_000, "TRY"),
    ("new Kartal 1,5 milyon", "tr", "TRY", 150_000_000, "TRY"),
    ("new Pendik 12.000 TL", "tr", "TRY", 1_200_000, "TRY"),
    ("new Pendik 3 milyon TL", "en", "USD", 300_000_000, "TRY"),
    ("new Acme 12k", "en", "USD", 1_200_000, "USD"),
    ("new Acme 1.5m", "tr", "TRY", 150_000_000, "TRY"),
    ("new Acme $12.000,00", "en", "USD", 1_200_000, "USD"),
    ("new Acme ₺12,000.00", "tr", "TRY", 1_200_000, "TRY"),
    ("new Gamma 12,50 EUR", "en", "USD", 1250, "EUR"),  # EUR writes decimals with a comma: read, not asked
])
def test_new_reads_amounts_one_way_in_any_workspace_locale(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, text: str, locale: str, currency: str,
    amount_minor: int, saved_currency: str,
) -> None:
    _workspace(uow, ana, locale=locale, currency=currency)
    body = deal(app, fake_slack, text)
    created = only_deal(uow)
    assert (created.amount_minor, created.currency) == (amount_minor, saved_currency), text_of(body)
    assert created.title == text.split()[1]


@pytest.mark.parametrize("text,user_locale,expected", [
    ("new Acme 12,50", "en-US", '"12,50" can be read two ways: 12.50 or 1,250. Write 12.50 or 1250 to say which.'),
    ("new Acme 12.50", "tr", "iki şekilde okunabilir: 12,50 ya da 1.250"),  # a Turkish user reads Turkish
    ("new Gamma 12 XYZ", "en-US", 'Unknown currency "XYZ"'),
    ("new Gamma 12 XYZ stage:proposal", "en-US", 'Unknown currency "XYZ"'),
    ("new Acme close:05/06", "en", '"05/06" can be 5 June 2027 or 6 May 2027'),
    ("new Acme close:31/02", "en-GB", "February has 28 days (29 in a leap year)"),
    ("new Acme close:31/02", "en-US", "February has 28 days (29 in a leap year)"),
])
def test_ambiguous_amounts_dates_and_unknown_currencies_are_asked_and_save_nothing(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, text: str, user_locale: str, expected: str
) -> None:
    _workspace(uow, ana, locale="tr" if user_locale == "tr" else "en", currency="USD", user_locale=user_locale)
    body = deal(app, fake_slack, text)
    assert expected in text_of(body)
    assert snapshot(uow)[0] == []


@pytest.mark.parametrize("user_locale", ["en-GB", "tr"])
def test_close_dates_are_day_first_where_the_locale_writes_them_so(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, user_locale: str
) -> None:
    _workspace(uow, ana, locale="en", currency="USD", user_locale=user_locale)
    deal(app, fake_slack, "new Acme 12k close:15/12")
    assert only_deal(uow).expected_close == date(2026, 12, 15)


# -- issue 10 point 7: reopen ---------------------------------------------------------------------------


def test_reopen_a_won_deal(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                           acme: deals.DealView, now: datetime) -> None:
    deals.close_deal_won(uow, ana, "D-1", now=now)
    body = deal(app, fake_slack, "reopen D-1")
    assert "D-1 reopened in Qualified" in body["text"]
    reopened = deals.get_deal(uow, ana, "D-1")
    assert (reopened.status, reopened.stage) == (DealStatus.OPEN, "Qualified")
    assert [c.field for c in deals.deal_history(uow, ana, "D-1")].count("status") == 2


@pytest.mark.parametrize("text,expected", [
    ("reopen D-1", "D-1 is open already (in Qualified): nothing to reopen."),
    ("reopen", "Which deal? Usage: `/deal reopen D-42`."),
    ("reopen D-99", "D-99"),
    ("reopen D-1 <#C1|x>", "does not take a #channel"),
])
def test_reopen_bad_input_changes_nothing(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                          acme: deals.DealView, text: str, expected: str) -> None:
    assert expected in answer_changing_nothing(app, fake_slack, uow, text)


def test_reopen_by_someone_else_is_refused_with_the_reason(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                            ana: Actor, cal: Actor, acme: deals.DealView,
                                                            now: datetime) -> None:
    deals.close_deal_won(uow, ana, "D-1", now=now)
    text = answer_changing_nothing(app, fake_slack, uow, "reopen D-1", user="UCAL")
    assert "D-1" in text and "can't" in text
    assert deals.get_deal(uow, ana, "D-1").status == DealStatus.WON


def test_a_closed_deals_card_has_a_reopen_button_that_reopens_it_in_place(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, mia: Actor, cal: Actor, acme: deals.DealView,
    now: datetime,
) -> None:
    deals.close_deal_lost(uow, ana, "D-1", "no budget", now=now)
    message = message_with_buttons(app, fake_slack)
    ids = [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]  # type: ignore[union-attr, index]
    assert "deal_reopen" in ids and "deal_won" not in ids and "deal_remind" not in ids
    before = snapshot(uow)
    calls = press(app, fake_slack, "deal_reopen", "D-1", user="UCAL", message=message)
    assert "You can't change D-1" in text_of(next(c.body for c in calls if c.method == "response_url"))
    assert snapshot(uow) == before
    calls = press(app, fake_slack, "deal_reopen", "D-1", user="UMIA", message=message)  # her team's deal
    replies = [c.body for c in calls if c.method == "response_url"]
    replaced = next(r for r in replies if r.get("replace_original"))
    assert "<@UMIA> reopened D-1" in text_of(replaced)
    assert deals.get_deal(uow, ana, "D-1").status == DealStatus.OPEN


def test_remind_in_quiet_hours_says_when_it_will_arrive(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                        acme: deals.DealView) -> None:
    from core.tables import User

    ana_id = acme.owner_id
    with uow.transaction() as s:
        s.get_one(User, ana_id).tz = "Europe/Istanbul"
    body = deal(app, fake_slack, "remind D-1 today 23:30 call back")
    assert "quiet hours: it will reach you at 09:00 tomorrow" in text_of(body)
    body = deal(app, fake_slack, "remind D-1 today 19:30 call back")
    assert "quiet hours" not in text_of(body)


def test_help_lists_reopen(app: App, fake_slack: FakeSlack, ana: Actor) -> None:
    assert "/deal reopen D-42" in text_of(deal(app, fake_slack, "help"))
