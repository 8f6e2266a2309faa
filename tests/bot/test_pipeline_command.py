"""/pipeline: open pipeline by stage (count, amount, weighted) for mine, team or @user."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from slack_bolt import App

from bot.views.pipeline import pipeline_message
from core.db import UnitOfWork
from core.deals import deals
from core.insight.kpis import StageTotal
from core.money import Money
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message
from tests.bot.fake_slack import FakeSlack
from tests.bot.surfaces import command, text_of
from tests.conftest import make_actor


def usd(x: str) -> Money:
    return Money(Decimal(x), "USD")


@pytest.fixture
def book(uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor, now: datetime) -> None:
    cal = make_actor(uow, "UCAL", name="Cal", team="East")
    deals.create_deal(uow, ana, title="Acme", amount=usd("12000"), stage="Proposal", now=now)
    deals.create_deal(uow, ana, title="Globex", amount=usd("8000"), stage="Proposal", now=now)
    deals.create_deal(uow, cal, title="Initech", amount=usd("4000"), stage="Qualified", now=now)
    deals.create_deal(uow, bob, title="West deal", amount=usd("100000"), stage="Negotiation", now=now)
    deals.create_deal(uow, ana, title="Done", amount=usd("5000"), now=now)
    deals.close_deal_won(uow, ana, "Done", now=now)


def pipeline(app: App, fake: FakeSlack, text: str = "", user: str = "UANA") -> str:
    return text_of(command(app, fake, "/pipeline", text, user))


def test_the_team_pipeline_by_stage_with_totals(app: App, fake_slack: FakeSlack, book: None) -> None:
    text = pipeline(app, fake_slack)
    assert "team East" in text
    assert "*Proposal* (50%) — 2 deals · $20,000.00 · weighted $10,000.00" in text
    assert "*Qualified* (25%) — 1 deal · $4,000.00 · weighted $1,000.00" in text
    assert "*Total* — 3 open deals · $24,000.00 · weighted $11,000.00" in text
    assert "West deal" not in text and "100,000" not in text


def test_mine_and_a_teammate(app: App, fake_slack: FakeSlack, book: None) -> None:
    assert "*Total* — 2 open deals · $20,000.00" in pipeline(app, fake_slack, "mine")
    assert "*Total* — 1 open deal · $4,000.00" in pipeline(app, fake_slack, "<@UCAL|cal>")


def test_an_admin_sees_the_whole_workspace(app: App, fake_slack: FakeSlack, book: None, root: Actor) -> None:
    assert "*Total* — 4 open deals · $124,000.00" in pipeline(app, fake_slack, user="UROOT")


def test_another_teams_rep_is_refused(app: App, fake_slack: FakeSlack, book: None) -> None:
    assert "another team" in pipeline(app, fake_slack, "<@UBOB|bob>")


@pytest.mark.parametrize("text,expected", [
    ("everything", '"everything" is not a /pipeline command'),
    ("mine team", "Usage"),
    ("stage:proposal", "Usage"),
    ("help", "/pipeline forecast"),
])
def test_bad_input_answers_with_usage_or_help(app: App, fake_slack: FakeSlack, ana: Actor, text: str,
                                              expected: str) -> None:
    assert expected in pipeline(app, fake_slack, text)


def test_forecast_and_digest_answer(app: App, fake_slack: FakeSlack, ana: Actor) -> None:
    # Their content belongs to the analytics and scheduler surfaces; here: an answer arrives, valid.
    for text in ("forecast", "digest"):
        assert command(app, fake_slack, "/pipeline", text)["text"]


def test_many_stages_stay_within_limits(uow: UnitOfWork, ana: Actor) -> None:
    stages = [StageTotal(i, "S" * 100, i, 50, 10**6, Decimal("999999999.99"), Decimal("1")) for i in range(60)]
    assert_valid_message(pipeline_message(stages, ana, "x" * 200))


def test_any_pipeline_text_answers_or_says_what_is_wrong(fake_slack: FakeSlack, uow: UnitOfWork, book: None,
                                                         ana: Actor, now: datetime) -> None:
    """Property: whatever follows /pipeline, the answer is valid Block Kit or a UserError — never a crash."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from slack_sdk import WebClient

    from bot.commands import Request
    from bot.commands.pipeline import run
    from core.errors import UserError

    client = WebClient(token="xoxb-test", base_url=fake_slack.url)
    pieces = st.sampled_from(["mine", "team", "<@UCAL|cal>", "<@UBOB>", "U0NEW1", "help", "x", '"', "stage:a",
                              "#C1", "ü", " "])

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(pieces, max_size=4).map(" ".join))
    def check(text: str) -> None:
        answers: list[dict[str, object]] = []
        req = Request(uow=uow, actor=ana, now=now, client=client, respond=lambda **kw: answers.append(kw))
        try:
            run(req, text)
        except UserError as err:
            assert err.message
            return
        assert len(answers) == 1
        assert_valid_message(answers[0])

    check()
