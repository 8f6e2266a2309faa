"""/salesbot: teams, roles, quotas, links, setup and pipeline modals — admins, and managers for their team."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from slack_bolt import App
from sqlalchemy import select

from core.db import UnitOfWork
from core.deals import deals
from core.tables import Quota, Role, Team, User
from core.workspace.users import Actor, owner_by_name
from tests.bot.fake_slack import FakeSlack
from tests.bot.signing import send_command
from tests.bot.surfaces import command, opened_view, text_of


def salesbot(app: App, fake: FakeSlack, text: str, user: str = "UROOT") -> str:
    return text_of(command(app, fake, "/salesbot", text, user))


def team_row(uow: UnitOfWork, name: str) -> Team | None:
    with uow.read() as s:
        return s.scalar(select(Team).where(Team.name == name))


def role_of(uow: UnitOfWork, slack_id: str) -> Role:
    with uow.read() as s:
        return s.scalars(select(User.role).where(User.slack_id == slack_id)).one()


def test_team_create_add_and_channel(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor) -> None:
    assert "Team North Star created" in salesbot(app, fake_slack, "team create North Star <@UNINA|nina>")
    assert role_of(uow, "UNINA") == Role.MANAGER
    text = salesbot(app, fake_slack, "team add North Star <@UAL|al> U0BEA2")
    assert "<@UAL>" in text and "<@U0BEA2>" in text
    assert "<#C0NORTH>" in salesbot(app, fake_slack, "team channel north star <#C0NORTH|north>")
    team = team_row(uow, "North Star")
    assert team is not None and team.channel_id == "C0NORTH"


def test_a_manager_runs_their_own_team_only(app: App, fake_slack: FakeSlack, uow: UnitOfWork, mia: Actor,
                                            bob: Actor) -> None:
    assert "now has" in salesbot(app, fake_slack, "team add East <@UNEW|new>", user="UMIA")
    assert "manager of West" in salesbot(app, fake_slack, "team add West <@UNEW2|n>", user="UMIA")
    assert "Only admins can create teams" in salesbot(app, fake_slack, "team create South <@UMIA>", user="UMIA")
    assert team_row(uow, "South") is None


def test_team_list_shows_managers_members_and_channels(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                       root: Actor, mia: Actor, ana: Actor, bob: Actor) -> None:
    salesbot(app, fake_slack, "team channel East <#C0EAST|sales-east>")
    body = command(app, fake_slack, "/salesbot", "team list", "UROOT")  # checked against Block Kit
    shown = text_of(body)
    assert "Teams* (2)" in shown
    east = next(b["text"]["text"] for b in body["blocks"] if b.get("block_id", "").startswith("team:")
                and "*East*" in b["text"]["text"])
    assert "Manager: <@UMIA>" in east and "<#C0EAST>" in east and "<@UANA>" in east and "Members (2)" in east
    assert "*West*" in shown and "no manager" in shown and "no channel yet" in shown and "<@UBOB>" in shown
    # A manager sees their own team only; a rep theirs.
    mine = text_of(command(app, fake_slack, "/salesbot", "team list", "UMIA"))
    assert "*East*" in mine and "West" not in mine and "Your team" in mine
    assert "*West*" in text_of(command(app, fake_slack, "/salesbot", "team list", "UBOB"))
    one = text_of(command(app, fake_slack, "/salesbot", "team list west", "UROOT"))
    assert "*West*" in one and "*East*" not in one
    assert 'no team "West" that you can see' in salesbot(app, fake_slack, "team list West", user="UMIA")


def test_team_list_before_any_team_says_how_to_create_one(app: App, fake_slack: FakeSlack, root: Actor) -> None:
    shown = salesbot(app, fake_slack, "team list")
    assert "No teams yet" in shown and "/salesbot team create" in shown


def test_team_add_says_who_moved_from_which_team(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor,
                                                 mia: Actor, bob: Actor) -> None:
    body = command(app, fake_slack, "/salesbot", "team add East <@UBOB|bob> <@UNEW|new>", "UROOT")
    assert "Bob moved from West to East." in body["text"]
    assert "<@UBOB> (Bob) moved from *West* to *East*." in text_of(body)
    assert "UNEW" not in body["text"]  # came from no team: not a move
    with uow.read() as s:
        assert s.scalar(select(Team.name).join(User, User.team_id == Team.id).where(User.slack_id == "UBOB")) == "East"
    # Adding someone already there moves nobody.
    assert "moved" not in salesbot(app, fake_slack, "team add East <@UBOB|bob>")


@pytest.mark.parametrize("text,expected", [
    ("team create North", "Mention one person"),
    ("team add <@UX1|x>", "Which team?"),
    ("team channel East", "Name one channel"),
    ("team rename East", "team create"),
    ("team add Nowhere <@UX1|x>", 'no team "Nowhere"'),
    ("role @somebody admin", "Mention one person"),
    ("role <@UANA|ana> boss", "rep, manager or admin"),
    ("role <@UANA|ana>", "Which role"),
    ("quota <@UANA|ana>", "How much?"),
    ("quota <@UANA|ana> 10k next decade", "next decade"),
    ('link "Nobody Here" <@UANA|ana>', "No imported owner"),
    ("link Anna", "Mention one person"),
])
def test_bad_input_says_what_is_expected(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor,
                                         ana: Actor, text: str, expected: str) -> None:
    assert expected in salesbot(app, fake_slack, text)
    assert role_of(uow, "UANA") == Role.REP


def test_roles(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor, ana: Actor) -> None:
    assert "<@UANA> is now manager" in salesbot(app, fake_slack, "role <@UANA|ana> manager")
    assert role_of(uow, "UANA") == Role.MANAGER
    assert "Only admins can change roles" in salesbot(app, fake_slack, "role <@UROOT> rep", user="UANA")
    assert role_of(uow, "UROOT") == Role.ADMIN


def test_quota(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor, ana: Actor) -> None:
    text = salesbot(app, fake_slack, "quota <@UANA|ana> 120k Q1 2027")
    assert "2027-Q1" in text and "$120,000.00" in text
    with uow.read() as s:
        assert s.scalars(select(Quota.amount_minor)).one() == 12_000_000
    assert "Only admins" in salesbot(app, fake_slack, "quota <@UANA|ana> 1k", user="UANA")


def quota_rows(uow: UnitOfWork) -> list[tuple[int | None, int | None, str, int]]:
    with uow.read() as s:
        rows = s.execute(select(Quota.user_id, Quota.team_id, Quota.period, Quota.amount_minor).order_by(Quota.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_team_quota(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor, mia: Actor, ana: Actor,
                    bob: Actor) -> None:
    text = salesbot(app, fake_slack, 'quota team "East" 250k Q1 2027')
    assert "Quota of East for 2027-Q1: $250,000.00" in text
    east = team_row(uow, "East")
    assert east is not None
    assert quota_rows(uow) == [(None, east.id, "2027-Q1", 25_000_000)]
    # The team's manager may replace it; an unquoted one-word name works too.
    assert "Quota of East for 2027-Q1: €300,000.00" in salesbot(app, fake_slack, "quota team east 300k EUR Q1 2027",
                                                                user="UMIA")
    assert quota_rows(uow) == [(None, east.id, "2027-Q1", 30_000_000)]
    assert "manager of West" in salesbot(app, fake_slack, "quota team West 1k", user="UMIA")
    assert "manager of East" in salesbot(app, fake_slack, "quota team East 1k", user="UANA")
    assert quota_rows(uow) == [(None, east.id, "2027-Q1", 30_000_000)]


@pytest.mark.parametrize("text,expected", [
    ("quota team", "Which team?"),
    ("quota team 10k", "Which team?"),
    ('quota team "Nowhere" 10k', 'no team "Nowhere"'),
    ("quota team East", "How much?"),
    ('quota team "East" lots', '"lots" is not an amount'),
    ('quota team "East" 10k next decade', "next decade"),
    ('quota team "East" -5k', "cannot be negative"),
    ("quota team East <@UANA|ana> 10k", "not both"),
])
def test_team_quota_bad_input_sets_nothing(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor,
                                           ana: Actor, text: str, expected: str) -> None:
    assert expected in salesbot(app, fake_slack, text)
    assert quota_rows(uow) == []


def test_link_an_imported_owner(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor, ana: Actor,
                                now: datetime) -> None:
    with uow.transaction() as s:
        imported_id = owner_by_name(s, root.workspace_id, "Anna Smith", now).id
    deals.create_deal(uow, root, title="Imported deal", owner_id=imported_id, now=now)
    text = salesbot(app, fake_slack, 'link "Anna Smith" <@UANA|ana>')
    assert '"Anna Smith" is now <@UANA>: 1 deal,' in text  # one deal, not "1 deals" (ngettext)
    assert deals.get_deal(uow, ana, "D-1").owner_slack_id == "UANA"
    assert "Only admins" in salesbot(app, fake_slack, 'link "Anna Smith" <@UANA|ana>', user="UANA")


def test_setup_and_pipeline_open_their_modals_for_admins_only(app: App, fake_slack: FakeSlack, root: Actor,
                                                               ana: Actor) -> None:
    for sub, callback in (("setup", "salesbot_setup"), ("pipeline", "salesbot_pipeline")):
        fake_slack.clear()
        send_command(app, "/salesbot", sub, user_id="UROOT")
        assert opened_view(fake_slack)["callback_id"] == callback
        assert "Only admins" in salesbot(app, fake_slack, sub, user="UANA")
        assert not fake_slack.calls("views.open")


def test_help_and_unknown_subcommands(app: App, fake_slack: FakeSlack, root: Actor) -> None:
    text = salesbot(app, fake_slack, "help")
    for sub in ("setup", "pipeline", "team list", "team create", "team add", "team channel", "role", "quota",
                "link"):
        assert f"/salesbot {sub}" in text
    assert '"explode" is not a /salesbot command' in salesbot(app, fake_slack, "explode")
    assert "/salesbot setup" in salesbot(app, fake_slack, "")


def test_any_salesbot_text_answers_or_says_what_is_wrong(fake_slack: FakeSlack, uow: UnitOfWork, root: Actor,
                                                         mia: Actor, now: datetime) -> None:
    """Property: whatever follows /salesbot, the answer is valid Block Kit or a UserError — never a crash."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from slack_sdk import WebClient

    from bot.commands import Request
    from bot.commands.admin import run
    from tests.bot.blockkit import assert_valid_view
    from tests.bot.surfaces import answers_of_run

    client = WebClient(token="xoxb-test", base_url=fake_slack.url)
    pieces = st.sampled_from(["team", "create", "add", "channel", "list", "role", "quota", "link", "setup", "pipeline",
                              "help", "East", '"Anna Smith"', "<@U0X1|x>", "<@UMIA>", "<#C0A1|c>", "admin", "rep",
                              "boss", "12k", "Q3", "-1", "EUR", '"', "stage:x", "ş", " "])
    actors = st.sampled_from([root, mia])

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(pieces, max_size=6).map(" ".join), actors)
    def check(text: str, actor: Actor) -> None:
        fake_slack.clear()
        req = Request(uow=uow, actor=actor, now=now, client=client, respond=lambda **_: None, trigger_id="1.2.3",
                      channel_id="C1")
        if answers_of_run(run, req, text) is None:
            return
        for call in fake_slack.calls("views.open"):
            view = call["view"]
            assert_valid_view(view if isinstance(view, dict) else json.loads(view))

    check()


def test_mentions_stay_mentions_and_user_text_is_escaped(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                         root: Actor, ana: Actor, now: datetime) -> None:
    body = command(app, fake_slack, "/salesbot", "role <@UANA|ana> manager", "UROOT")
    assert "<@UANA> is now manager" in body["blocks"][0]["text"]["text"]
    with uow.transaction() as s:
        owner_by_name(s, root.workspace_id, "<!channel> & co", now)
    body = command(app, fake_slack, "/salesbot", 'link "&lt;!channel&gt; &amp; co" <@UANA|ana>', "UROOT")
    shown = body["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt; &amp; co" in shown and "<@UANA>" in shown


# -- issue 10: exchange rates -----------------------------------------------------------------------


def _rates(uow: UnitOfWork) -> list[tuple[str, str]]:
    from core.tables import ExchangeRate

    with uow.read() as s:
        return [(c, str(r.normalize())) for c, r in s.execute(
            select(ExchangeRate.currency, ExchangeRate.rate).order_by(ExchangeRate.currency))]


def test_rate_sets_and_lists_rates(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor) -> None:
    assert "No exchange rates yet" in salesbot(app, fake_slack, "rate")
    assert "1 EUR = 1.08 USD from 2026-11-23." in salesbot(app, fake_slack, "rate EUR 1.08")
    assert "1 TRY = 0.029 USD" in salesbot(app, fake_slack, "rate try 0.029")
    listed = salesbot(app, fake_slack, "rate")
    assert "Exchange rates into USD" in listed and "1 EUR = 1.08 USD (from 2026-11-23)" in listed
    assert "1 TRY = 0.029 USD" in listed
    assert _rates(uow) == [("EUR", "1.08"), ("TRY", "0.029")]


@pytest.mark.parametrize("text,expected", [
    ("rate XYZ 1.08", '"XYZ" is not a currency code'),
    ("rate EUR 0", "above zero"),
    ("rate EUR -1", "is not a rate"),
    ("rate EUR abc", "is not a rate"),
    ("rate USD 1", "USD is the base currency"),
    ("rate EUR", "Give a currency and its rate"),
    ("rate EUR 1.08 extra", "Give a currency and its rate"),
    ("rate <@UANA|ana> 1", "Usage"),
])
def test_bad_rates_say_why_and_save_nothing(app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor,
                                            text: str, expected: str) -> None:
    assert expected in salesbot(app, fake_slack, text)
    assert _rates(uow) == []


def test_only_admins_set_rates(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, mia: Actor) -> None:
    for user in ("UANA", "UMIA"):
        assert "Only admins" in salesbot(app, fake_slack, "rate EUR 1.08", user=user)
    assert _rates(uow) == []


def test_help_lists_rate(app: App, fake_slack: FakeSlack, root: Actor) -> None:
    assert "/salesbot rate EUR 1.08" in salesbot(app, fake_slack, "help")


def test_setup_refuses_an_unknown_currency_on_its_field(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                        root: Actor) -> None:
    from bot.modals.admin_modals import setup_view
    from core.tables import Workspace
    from core.workspace import setup
    from tests.bot.surfaces import submit
    from tests.bot.test_modals import setup_values

    view = setup_view(setup.workspace_settings(uow, root))
    ack = submit(app, fake_slack, "salesbot_setup", setup_values(currency="XYZ"), user="UROOT", blocks=view["blocks"])
    assert list(ack["errors"]) == ["default_currency"] and "not a currency code" in ack["errors"]["default_currency"]
    with uow.read() as s:
        assert s.scalars(select(Workspace)).one().default_currency == "USD"
