"""A refusal core raises reaches a Slack user in their own language (issue 13): the middleware
sets the language for the request, core builds the message in it, the data inside stays as written."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from slack_bolt import App

from core.db import UnitOfWork
from core.deals import deals
from core.money import Money
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack
from tests.bot.surfaces import deal, snapshot, text_of


def test_a_turkish_user_reads_core_errors_in_turkish_and_an_english_one_in_english(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Karadeniz Enerji", amount=Money(Decimal("75000"), "TRY"), now=now)
    before = snapshot(uow)
    fake_slack.add_user("UANA", "Ana", tz="Europe/Istanbul", locale="tr-TR")
    assert "D-99 diye bir fırsat yok" in text_of(deal(app, fake_slack, "show D-99"))
    assert "Karadeniz Enerji" in text_of(deal(app, fake_slack, "show karadeniz"))
    fake_slack.add_user("UEMMA", "Emma", tz="Europe/London", locale="en-GB")
    assert "There is no deal D-99" in text_of(deal(app, fake_slack, "show D-99", user="UEMMA"))
    assert snapshot(uow) == before
