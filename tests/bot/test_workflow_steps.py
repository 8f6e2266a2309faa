"""Workflow Builder steps (issue 15.5): "Create a deal" and "Add a lead" complete with the new ref,
or fail with a sentence the workflow's owner can act on, and change nothing then."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from slack_bolt import App
from sqlalchemy import func, select

from core.db import UnitOfWork
from core.deals import deals
from core.leads import leads
from core.tables import Lead
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack
from tests.bot.shortcut_payloads import function_executed, send_function
from tests.bot.surfaces import snapshot


def outputs(fake: FakeSlack) -> dict[str, Any]:
    [call] = fake.calls("functions.completeSuccess")
    assert not fake.calls("functions.completeError")
    found = call["outputs"]
    return dict(json.loads(found) if isinstance(found, str) else found)


def error(fake: FakeSlack) -> str:
    [call] = fake.calls("functions.completeError")
    assert not fake.calls("functions.completeSuccess")
    return str(call["error"])


def run(app: App, fake: FakeSlack, callback_id: str, inputs: dict[str, Any], **kw: Any) -> None:
    fake.clear()
    response = send_function(app, function_executed(callback_id, inputs, **kw))
    assert response.status == 200, response.body


def test_create_a_deal_completes_with_its_ref(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor) -> None:
    run(app, fake_slack, "create_deal", {"title": "Globex 40 seats", "owner": "UANA", "amount": "40k EUR",
                                         "stage": "Qualified", "close_date": "2026-12-18", "account": "Globex"})
    assert outputs(fake_slack) == {"deal_ref": "D-1", "deal_title": "Globex 40 seats"}
    deal = deals.get_deal(uow, ana, "D-1")
    assert (deal.owner_id, deal.amount, deal.currency, deal.stage, deal.expected_close, deal.account) == (
        ana.user_id, Decimal("40000.00"), "EUR", "Qualified", date(2026, 12, 18), "Globex")
    # Completed with the function's own token, as Slack requires.
    assert fake_slack.calls("functions.completeSuccess")[0].headers.get("Authorization") == "Bearer xwfp-function-token"


def test_a_retried_step_creates_one_deal(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor) -> None:
    for _ in range(2):
        run(app, fake_slack, "create_deal", {"title": "Globex", "owner": "UANA"}, execution_id="FxSAME")
        assert outputs(fake_slack)["deal_ref"] == "D-1"
    assert len(snapshot(uow)[0]) == 1


@pytest.mark.parametrize(("inputs", "says"), [
    ({"owner": "UANA"}, "A deal needs a title"),
    ({"title": "Globex", "owner": "UANA", "amount": "lots"}, "lots"),
    ({"title": "Globex", "owner": "UANA", "stage": "Nowhere"}, "Nowhere"),
    ({"title": "Globex", "owner": "UANA", "stage": "Won"}, "open stage"),
    ({"title": "Globex"}, "the person it acts for"),
    ({"title": ["not", "text"], "owner": "UANA"}, "must be text"),
])
def test_bad_inputs_fail_the_step_with_a_readable_error_and_create_nothing(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, inputs: dict[str, Any], says: str) -> None:
    before = snapshot(uow)
    run(app, fake_slack, "create_deal", inputs)
    assert says in error(fake_slack)
    assert snapshot(uow) == before


def test_add_a_lead_completes_with_its_ref_and_score(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                     ana: Actor) -> None:
    run(app, fake_slack, "add_lead", {"name": "Zoe Hart", "added_by": "UANA", "email": "zoe@globex.example",
                                      "company": "Globex", "source": "webinar"})
    out = outputs(fake_slack)
    lead = leads.get_lead(uow, ana, out["lead_ref"])
    assert (lead.name, lead.email, lead.owner_id) == ("Zoe Hart", "zoe@globex.example", ana.user_id)
    assert out["score"] == lead.score and isinstance(out["score"], int)


def test_add_a_lead_without_a_name_fails(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor) -> None:
    before = count_leads(uow)
    run(app, fake_slack, "add_lead", {"added_by": "UANA", "email": "zoe@globex.example"})
    assert "A lead needs a name" in error(fake_slack)
    assert count_leads(uow) == before == 0


def count_leads(uow: UnitOfWork) -> int:
    with uow.read() as s:
        return int(s.scalar(select(func.count(Lead.id))) or 0)
