"""/lead through signed requests and the fake Slack: every subcommand, bad input, permissions, the modal."""

from __future__ import annotations

import json
from datetime import date, datetime

from slack_bolt import App
from sqlalchemy import func, select

from core.db import UnitOfWork
from core.leads import leads
from core.leads.intake import clean_lead, intake
from core.tables import Deal, Lead, LeadStatus, OutboxMessage, Workspace
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message
from tests.bot.fake_slack import FakeSlack
from tests.bot.signing import send_command
from tests.bot.surfaces import command, date_value, opened_view, submit, text_of, text_value, user_value
from tests.conftest import make_actor


def lead(app: App, fake: FakeSlack, text: str = "", user: str = "UANA") -> dict:
    return command(app, fake, "/lead", text, user)


def lead_rows(uow: UnitOfWork) -> list[tuple]:
    with uow.read() as s:
        return [
            tuple(r)
            for r in s.execute(select(Lead.number, Lead.name, Lead.status, Lead.owner_id).order_by(Lead.number))
        ]


def unowned(uow: UnitOfWork, actor: Actor, now: datetime, **fields: object) -> str:
    with uow.transaction() as s:
        return intake(s, s.get_one(Workspace, actor.workspace_id), [clean_lead(fields)], now)[0].ref


def test_bare_lead_opens_the_new_lead_modal(app, fake_slack, ana):
    fake_slack.clear()
    from tests.bot.signing import send_command

    assert send_command(app, "/lead", "", trigger_id="t1").status == 200
    view = opened_view(fake_slack)
    assert view["callback_id"] == "lead_new"
    assert [b["block_id"] for b in view["blocks"]][:3] == ["name", "email", "company"]


def test_new_with_quoted_name_company_email_and_source(app, fake_slack, uow, ana):
    body = lead(app, fake_slack, 'new "Zoe Hart" Acme Inc <mailto:zoe@acme.io|zoe@acme.io> source:webinar')
    assert "L-1" in body["text"] and body["response_type"] == "ephemeral"
    with uow.read() as s:
        row = s.scalars(select(Lead)).one()
        assert (row.name, row.company, row.email, row.source, row.owner_id) == (
            "Zoe Hart",
            "Acme Inc",
            "zoe@acme.io",
            "webinar",
            ana.user_id,
        )


def test_new_splits_name_and_company_on_a_comma(app, fake_slack, uow, ana):
    lead(app, fake_slack, "new Zoe Hart, Acme")
    with uow.read() as s:
        assert s.scalar(select(Lead.company)) == "Acme"


def test_new_without_a_name_or_with_a_bad_email_changes_nothing(app, fake_slack, uow, ana):
    body = lead(app, fake_slack, "new zoe@acme.io")
    assert "needs a name" in body["text"]
    body = lead(app, fake_slack, "new Zoe stage:won")
    assert "source:" in body["text"]
    assert lead_rows(uow) == []


def test_a_malformed_email_is_refused_not_kept_in_the_name(app, fake_slack, uow, ana):
    for text, shown in (("new Zed Acme zed@@x", "zed@@x"), ("new Zed Acme zed@x", "zed@x"),
                        ("new Zed @acme.io", "@acme.io"), ("new Zed Acme zed@acme.io@", "zed@acme.io@")):
        body = lead(app, fake_slack, text)
        assert f'"{shown}" is not a valid email address' in body["text"], text
        assert "nothing was saved" in body["text"]
    body = lead(app, fake_slack, "new Zed Acme zed@acme.io zed@acme.com")
    assert "Give one email address" in body["text"]
    assert lead_rows(uow) == []
    # A quoted name may hold an @; a valid address is still the email.
    lead(app, fake_slack, 'new "Zed @ Acme" zed@acme.io')
    with uow.read() as s:
        assert s.execute(select(Lead.name, Lead.email)).one() == ("Zed @ Acme", "zed@acme.io")


def test_list_show_and_help(app, fake_slack, uow, ana, now):
    lead(app, fake_slack, 'new "Zoe Hart" Acme zoe@acme.io')
    unowned(uow, ana, now, name="Kim Lee", email="kim@b.io", title="VP Sales", employees=2000)
    listed = lead(app, fake_slack, "list")
    assert "Zoe Hart" in text_of(listed) and "Kim Lee" in text_of(listed)
    assert "Kim Lee" in text_of(lead(app, fake_slack, "list new"))
    assert "Kim Lee" not in text_of(lead(app, fake_slack, "list mine"))
    shown = text_of(lead(app, fake_slack, "show L-2"))
    assert "decision-maker title" in shown and "+15" in shown
    assert "No predictive model yet" in shown
    assert "Claim" in shown  # unowned: claimable from here
    helped = text_of(lead(app, fake_slack, "help"))
    assert "/lead convert L-7" in helped and "/lead assign L-7 @ana" in helped
    assert "not a /lead command" in text_of(lead(app, fake_slack, "frobnicate"))
    assert "Usage" in text_of(lead(app, fake_slack, "list everything"))


def test_show_an_unknown_or_ambiguous_lead(app, fake_slack, uow, ana, now):
    unowned(uow, ana, now, name="Zoe Hart")
    unowned(uow, ana, now, name="Zack Hart")
    assert "No lead L-9" in text_of(lead(app, fake_slack, "show L-9"))
    body = text_of(lead(app, fake_slack, "show hart"))
    assert "L-1 Zoe Hart" in body and "L-2 Zack Hart" in body


def test_assign_by_a_manager_dms_the_assignee_and_a_rep_is_refused(app, fake_slack, uow, ana, bob, mia, now):
    unowned(uow, ana, now, name="Zoe Hart")
    refused = lead(app, fake_slack, "assign L-1 <@UANA|ana>", user="UBOB")
    assert "can't assign" in refused["text"]
    assert lead_rows(uow)[0][3] is None
    done = lead(app, fake_slack, "assign L-1 <@UANA|ana>", user="UMIA")
    assert "assigned to Ana" in done["text"]
    with uow.read() as s:
        assert s.scalar(select(OutboxMessage.channel).where(OutboxMessage.kind == "lead_assigned")) == "UANA"
    assert "Mention one person" in lead(app, fake_slack, "assign L-1", user="UMIA")["text"]


def deal_rows(uow: UnitOfWork) -> list[tuple]:
    with uow.read() as s:
        return [tuple(r) for r in s.execute(select(Deal.number, Deal.title, Deal.amount_minor, Deal.currency,
                                                   Deal.expected_close, Deal.owner_id, Deal.lead_id))]


def open_convert_form(app: App, fake: FakeSlack, ref: str, user: str = "UANA") -> dict:
    fake.clear()
    assert send_command(app, "/lead", f"convert {ref}", user_id=user, trigger_id="t1").status == 200
    return opened_view(fake)  # checked against Block Kit


def test_convert_opens_a_form_prefilled_from_the_lead(app, fake_slack, uow, ana, bob):
    lead(app, fake_slack, 'new "Zoe Hart" Acme zoe@acme.io')
    assert "can't convert" in lead(app, fake_slack, "convert L-1", user="UBOB")["text"]
    assert not fake_slack.calls("views.open")
    view = open_convert_form(app, fake_slack, "L-1")
    assert view["callback_id"] == "lead_convert_form"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["title"]["element"]["initial_value"] == "Acme – Zoe Hart"
    assert blocks["owner"]["element"]["initial_user"] == "UANA"
    assert "USD" in blocks["amount"]["label"]["text"]
    assert blocks["close"]["element"]["type"] == "datepicker"
    assert not blocks["amount"]["optional"] and not blocks["close"]["optional"]
    assert deal_rows(uow) == []  # opening the form creates nothing
    assert lead_rows(uow)[0][2] == LeadStatus.ASSIGNED


def test_convert_form_refuses_bad_amounts_and_dates_on_their_field_and_saves_nothing(app, fake_slack, uow, ana):
    lead(app, fake_slack, 'new "Zoe Hart" Acme zoe@acme.io')
    view = open_convert_form(app, fake_slack, "L-1")
    meta = json.loads(view["private_metadata"])
    good = {"title": text_value("Acme pilot"), "amount": text_value("12k"), "close": date_value("2027-01-15"),
            "owner": user_value("UANA")}
    for changes, block, says in (
        ({"amount": text_value(None)}, "amount", "How much"),
        ({"amount": text_value("lots")}, "amount", "lots"),
        ({"amount": text_value("-5")}, "amount", "negative"),
        ({"close": date_value(None)}, "close", "Pick a date"),
        ({"close": date_value("2026-11-01")}, "close", "in the past"),
    ):
        ack = submit(app, fake_slack, "lead_convert_form", good | changes, metadata=meta, blocks=view["blocks"])
        assert ack["response_action"] == "errors" and list(ack["errors"]) == [block], (changes, ack)
        assert says in ack["errors"][block]
    assert deal_rows(uow) == [] and lead_rows(uow)[0][2] == LeadStatus.ASSIGNED

    ack = submit(app, fake_slack, "lead_convert_form", good, metadata=meta, blocks=view["blocks"])
    assert ack == {}
    with uow.read() as s:
        lead_id = s.scalar(select(Lead.id))
    assert deal_rows(uow) == [(1, "Acme pilot", 1200000, "USD", date(2027, 1, 15), ana.user_id, lead_id)]
    assert lead_rows(uow)[0][2] == LeadStatus.CONVERTED
    told = fake_slack.calls("chat.postEphemeral")
    assert len(told) == 1 and "converted to deal D-1 Acme pilot" in told[0]["text"]
    assert_valid_message({"text": told[0]["text"], "blocks": json.loads(told[0]["blocks"])
                          if isinstance(told[0]["blocks"], str) else told[0]["blocks"]})

    # A second submit, or a second /lead convert, of the converted lead: a clear no, nothing new.
    ack = submit(app, fake_slack, "lead_convert_form", good, metadata=meta, blocks=view["blocks"])
    assert ack["response_action"] == "errors" and "already converted to deal D-1" in str(ack["errors"])
    assert "already converted to deal D-1" in lead(app, fake_slack, "convert L-1")["text"]
    assert len(deal_rows(uow)) == 1


def test_disqualify_keeps_the_reason(app, fake_slack, uow, ana, bob):
    lead(app, fake_slack, 'new "Kim Lee" B kim@b.io')
    body = lead(app, fake_slack, "disqualify L-1 student, no budget")
    assert "student, no budget" in body["text"]
    assert [r[2] for r in lead_rows(uow)] == [LeadStatus.DISQUALIFIED]
    assert "already" in lead(app, fake_slack, "disqualify L-1")["text"]
    assert "was disqualified" in lead(app, fake_slack, "convert L-1")["text"]


def test_the_new_lead_modal_saves_or_shows_the_error_on_its_field(app, fake_slack, uow, ana):
    values = {"name": text_value("Zoe Hart"), "email": text_value("not-an-email"), "employees": text_value("12")}
    ack = submit(app, fake_slack, "lead_new", values)
    assert ack["response_action"] == "errors" and "email" in ack["errors"]
    ack = submit(app, fake_slack, "lead_new", {**values, "email": text_value(None), "employees": text_value("lots")})
    assert list(ack["errors"]) == ["employees"]
    ack = submit(app, fake_slack, "lead_new", {"name": text_value(None)})
    assert list(ack["errors"]) == ["name"]
    assert lead_rows(uow) == []
    ack = submit(
        app, fake_slack, "lead_new", {**values, "email": text_value("zoe@acme.io")}, metadata={"channel": "C1"}
    )
    assert ack == {}
    with uow.read() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 1
    posted = fake_slack.calls("chat.postEphemeral") + fake_slack.calls("chat.postMessage")
    assert posted and "L-1" in posted[0]["text"]


def test_a_rep_in_another_team_cannot_update_a_known_email(app, fake_slack, uow, ana, bob):
    lead(app, fake_slack, 'new "Zoe Hart" Acme zoe@acme.io')
    body = lead(app, fake_slack, 'new "Zoe H" Other zoe@ACME.io', user="UBOB")
    assert "can't update" in body["text"]
    with uow.read() as s:
        assert s.scalar(select(Lead.company)) == "Acme"


def test_every_lead_answer_is_valid_block_kit(uow, ana, now):
    from bot.views import leads as views

    card = {
        "lead_id": 1,
        "ref": "L-1",
        "name": "Zoe",
        "company": "Acme",
        "title": "CEO",
        "email": "z@a.io",
        "score": 82,
        "predicted": 64,
        "team": "East",
        "hot_since": now.isoformat(),
        "reasons": [{"points": 40, "label": "demo requested", "at": now.isoformat(), "count": 1}],
    }
    assert_valid_message(views.hot_lead_message(card))
    assert_valid_message(views.hot_burst_message({"leads": [card, {**card, "lead_id": 2}], "window_minutes": 2}))
    assert_valid_message(views.lead_assigned_message({**card, "why": "assigned by Mia"}))
    make_actor(uow, "UX", name="X")
    view = leads.list_leads(uow, ana, "open")
    assert_valid_message(views.leads_listed(view, "open"))


def test_new_finds_the_company_from_the_email_domain(app, fake_slack, uow, ana):
    lead(app, fake_slack, "new Jane Doe Acme Inc jane@acme.com")
    lead(app, fake_slack, "new Kim Lee kim@gmail.com")
    with uow.read() as s:
        rows = s.execute(select(Lead.name, Lead.company).order_by(Lead.number)).all()
    assert [tuple(r) for r in rows] == [("Jane Doe", "Acme Inc"), ("Kim Lee", None)]


def test_no_word_with_an_at_sign_ends_up_in_a_name(fake_slack, uow, ana, now):
    """Property: `/lead new` either saves a lead whose name and company hold no unquoted `@` word, or says
    what is wrong and saves nothing."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from slack_sdk import WebClient

    from bot.commands import Request
    from bot.commands.lead import run
    from tests.bot.surfaces import answers_of_run

    client = WebClient(token="xoxb-test", base_url=fake_slack.url)
    words = st.sampled_from(["Zed", "Acme", "Inc", "zed@acme.io", "zed@@x", "@x", "a@b", "x@y.z", "zed@acme.io@",
                             "<mailto:k@b.io|k@b.io>", "@", ",", "source:web", "ş"])

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(words, min_size=1, max_size=6).map(" ".join))
    def check(text: str) -> None:
        before = lead_rows(uow)
        req = Request(uow=uow, actor=ana, now=now, client=client, respond=lambda **_: None, trigger_id="1.2.3",
                      channel_id="C1")
        if answers_of_run(run, req, "new " + text) is None:  # a UserError, which said what is wrong
            assert lead_rows(uow) == before
            return
        with uow.read() as s:
            row = s.scalars(select(Lead).order_by(Lead.updated_at.desc(), Lead.id.desc())).first()
        assert row is not None
        assert "@" not in row.name and "@" not in (row.company or "")

    check()
