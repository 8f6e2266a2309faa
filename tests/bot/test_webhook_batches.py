"""POST /hooks/leads with batches (issue 14 point 7) and per-workspace webhook secrets (point 4).

Batches: up to 500 leads, as a list or `{"leads": [...]}`, answered item by item in order;
all-or-nothing for validity (every bad item listed, nothing written). Secrets: a workspace
with its own secret accepts only that one, so no other secret adds leads to it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.webhooks import MAX_BODY, MAX_LEADS, handle_request, sign
from core.db import UnitOfWork
from core.errors import InvalidInput, NotAllowed
from core.leads.alerts import BURST_KIND, HOT_KIND
from core.leads.intake import clean_lead, intake
from core.tables import IdempotencyKey, Lead, OutboxMessage, Team, Workspace
from core.workspace import setup
from core.workspace.users import Actor
from tests.conftest import NOW, make_actor

SECRET = "install-wide-secret"
SETTINGS = Settings(lead_webhook_secret=SECRET)


def post(
    uow: UnitOfWork,
    now: datetime,
    payload: Any,
    *,
    secret: str = SECRET,
    team: str | None = None,
    settings: Settings = SETTINGS,
    raw: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    body = raw if raw is not None else json.dumps(payload).encode()
    stamp = str(int(now.timestamp()))
    headers = {"X-Salesbot-Timestamp": stamp, "X-Salesbot-Signature": sign(secret, stamp, body)}
    return handle_request(uow, settings, "/hooks/leads", {"team": team} if team else {}, headers, body, now)


def leads_of(uow: UnitOfWork, team_id: str = "T1") -> list[Lead]:
    with uow.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.team_id == team_id))
        assert ws is not None
        return list(s.scalars(select(Lead).where(Lead.workspace_id == ws.id).order_by(Lead.number)))


def total_leads(uow: UnitOfWork) -> int:
    with uow.read() as s:
        return int(s.scalar(select(func.count()).select_from(Lead)) or 0)


def a_lead(i: int) -> dict[str, Any]:
    return {
        "name": f"Lead {i}",
        "email": f"lead{i}@example.com",
        "company": f"Company {i % 7}",
        "title": "VP Sales" if i % 3 == 0 else "Engineer",
        "employees": (i * 37) % 3000,
        "source": "referral" if i % 4 == 0 else "ads",
        "attributes": {"campaign": f"c{i % 5}"},
    }


# -- good batches ---------------------------------------------------------------------------------


def test_a_full_batch_of_500_is_written_scored_and_answered_in_order(uow, ana, now):
    batch = [a_lead(i) for i in range(MAX_LEADS)]
    body = json.dumps(batch).encode()
    assert len(body) < MAX_BODY / 4  # 500 leads of a usual size are far below the 1 MiB cap
    status, answer = post(uow, now, batch)
    assert status == 200 and answer["ok"] is True
    assert [r["index"] for r in answer["leads"]] == list(range(MAX_LEADS))
    assert [r["ref"] for r in answer["leads"]] == [f"L-{i + 1}" for i in range(MAX_LEADS)]
    assert {r["status"] for r in answer["leads"]} == {"created"}
    stored = leads_of(uow)
    assert [(lead.email, lead.score, lead.hot) for lead in stored] == [
        (f"lead{i}@example.com", r["score"], r["hot"]) for i, r in enumerate(answer["leads"])
    ]
    # Each lead is scored and routed exactly as a lead sent alone: compare with the one-by-one path.
    with uow.transaction() as s:
        other = make_actor(uow, "UOTHER", team_id="T9", team="East")
        ws9 = s.get_one(Workspace, other.workspace_id)
        alone = [intake(s, ws9, [clean_lead(a_lead(i))], now)[0] for i in (0, 1, 3, 250, 499)]
    assert [a.score for a in alone] == [answer["leads"][i]["score"] for i in (0, 1, 3, 250, 499)]
    assert all(lead.team_id is not None and lead.score_reasons for lead in stored)
    assert stored[3].attributes == {"campaign": "c3"} and stored[3].employees == 111


def test_the_leads_object_form_is_the_same_as_a_list(uow, ana, now):
    status, answer = post(uow, now, {"leads": [a_lead(1), a_lead(2)]})
    assert status == 200 and [r["ref"] for r in answer["leads"]] == ["L-1", "L-2"]
    assert len(leads_of(uow)) == 2


def test_known_emails_update_and_repeats_within_a_batch_merge(uow, ana, now):
    post(uow, now, {"name": "Zoe", "email": "zoe@acme.io"})
    batch = [
        {"name": "Kim", "email": "kim@b.io"},  # new
        {"email": "ZOE@acme.io", "title": "CEO"},  # known before the request
        {"email": "KIM@B.IO", "company": "B Corp"},  # repeats item 0
        {"name": "Ext", "external_id": "crm-1"},  # new, by external id
        {"name": "Ext again", "external_id": "crm-1", "email": "ext@c.io"},  # repeats item 3
    ]
    status, answer = post(uow, now + timedelta(minutes=1), batch)
    assert status == 200
    assert [(r["ref"], r["status"], r.get("duplicate_of")) for r in answer["leads"]] == [
        ("L-2", "created", None),
        ("L-1", "updated", None),
        ("L-2", "duplicate", 0),
        ("L-3", "created", None),
        ("L-3", "duplicate", 3),
    ]
    stored = {lead.number: lead for lead in leads_of(uow)}
    assert len(stored) == 3
    assert stored[1].title == "CEO" and stored[2].company == "B Corp"
    assert stored[3].name == "Ext again" and stored[3].email == "ext@c.io"


def test_hot_leads_of_a_batch_are_alerted_through_the_outbox_as_one_burst(uow, ana, now):
    with uow.transaction() as s:
        s.scalars(select(Team)).one().channel_id = "CEAST"
        s.scalars(select(Workspace)).one().hot_lead_threshold = 20
    batch = [a_lead(i) for i in range(30)]
    status, answer = post(uow, now, batch)
    hot = [r["ref"] for r in answer["leads"] if r["hot"]]
    assert status == 200 and 3 <= len(hot) < 30
    with uow.read() as s:
        messages = s.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_((HOT_KIND, BURST_KIND)))).all()
    # More hot leads than the burst size in one team: one grouped message holding every one of them.
    assert [(m.kind, m.channel) for m in messages] == [(BURST_KIND, "CEAST")]
    assert [card["ref"] for card in messages[0].payload["data"]["leads"]] == hot


def test_a_few_hot_leads_get_one_alert_each(uow, ana, now):
    with uow.transaction() as s:
        s.scalars(select(Team)).one().channel_id = "CEAST"
        s.scalars(select(Workspace)).one().hot_lead_threshold = 20
    hot_lead = {"name": "Big", "email": "big@x.io", "title": "VP Sales", "employees": 2000, "source": "referral"}
    cold = {"name": "Small", "email": "small@x.io", "title": "Student"}
    status, answer = post(uow, now, [cold, hot_lead])
    assert status == 200 and [r["hot"] for r in answer["leads"]] == [False, True]
    with uow.read() as s:
        messages = s.scalars(select(OutboxMessage)).all()
    assert [(m.kind, m.payload["data"]["ref"]) for m in messages] == [(HOT_KIND, "L-2")]


def test_the_same_batch_twice_has_the_effect_of_one(uow, ana, now):
    batch = [a_lead(i) for i in range(20)]
    first = post(uow, now, batch)
    second = post(uow, now + timedelta(seconds=40), batch)
    assert first == second and first[0] == 200
    assert total_leads(uow) == 20


# -- bad batches: a clear answer, nothing written -------------------------------------------------


def test_over_500_leads_gets_413_naming_the_limit_and_writes_nothing(uow, ana, now):
    status, answer = post(uow, now, [{"name": f"L{i}"} for i in range(MAX_LEADS + 1)])
    assert status == 413 and answer["ok"] is False
    assert answer["error"] == "501 leads in one request: send at most 500 a request"
    status, answer = post(uow, now, {"leads": [{"name": f"L{i}"} for i in range(MAX_LEADS + 1)]})
    assert status == 413
    assert total_leads(uow) == 0


@pytest.mark.parametrize("payload", [[], {"leads": []}], ids=["list", "object"])
def test_an_empty_batch_gets_400(uow, ana, now, payload):
    status, answer = post(uow, now, payload)
    assert status == 400 and answer["field"] == "body" and "empty" in answer["error"]


@pytest.mark.parametrize(
    "payload",
    [{"leads": {"name": "A"}}, {"leads": "A"}, {"leads": [{"name": "A"}], "name": "B"}],
    ids=["object-not-list", "text", "extra-key"],
)
def test_a_leads_key_must_hold_a_list_and_nothing_else(uow, ana, now, payload):
    status, answer = post(uow, now, payload)
    assert status == 400 and answer["field"] == "leads" and '{"leads": [...]}' in answer["error"]
    assert total_leads(uow) == 0


def test_every_bad_item_is_listed_with_its_index_and_nothing_is_written(uow, ana, now):
    batch = [
        a_lead(0),
        "just a name",
        a_lead(2),
        {"name": "No", "email": "not-an-email"},
        None,
        {"name": ["a", "list"]},
        {"company": "Acme"},
        {"name": "A", "employees": "lots"},
        {"name": "A", "colour": "red"},
        a_lead(9),
    ]
    status, answer = post(uow, now, batch)
    assert status == 400 and answer["ok"] is False
    assert [(e["index"], e["field"]) for e in answer["errors"]] == [
        (1, "leads[1]"),
        (3, "email"),
        (4, "leads[4]"),
        (5, "name"),
        (6, "name"),
        (7, "employees"),
        (8, "colour"),
    ]
    assert answer["errors"][1]["error"] == "leads[3]: email 'not-an-email' is not an email address"
    assert answer["error"].startswith("7 of 10 leads are not valid, so none was added")
    assert answer["field"] == "leads[1]"
    assert total_leads(uow) == 0
    with uow.read() as s:  # a refused batch leaves no idempotency key: fixed and re-sent, it is new
        assert s.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


def test_a_long_list_of_errors_is_cut_and_counted(uow, ana, now):
    status, answer = post(uow, now, [{"company": "no name"} for _ in range(120)])
    assert status == 400 and len(answer["errors"]) == 50 and answer["errors_not_listed"] == 70
    assert answer["error"].startswith("120 of 120 leads are not valid")


def test_a_single_bad_lead_answers_as_before(uow, ana, now):
    status, answer = post(uow, now, {"company": "Acme"})
    assert (status, answer) == (400, {"ok": False, "error": "a lead needs a name or an email", "field": "name"})


# -- per-workspace secrets ------------------------------------------------------------------------

OWN = "t2-own-secret-0123456789"


@pytest.fixture
def two(uow: UnitOfWork, ana: Actor) -> Actor:
    """An admin of workspace T2, which has set its own webhook secret."""
    from core.tables import Role

    admin = make_actor(uow, "UADM2", team_id="T2", role=Role.ADMIN)
    settings = setup.workspace_settings(uow, admin)
    saved = setup.update_workspace_settings(
        uow, admin, now=NOW, default_currency=settings.default_currency, locale=settings.locale,
        digest_weekday=settings.digest_weekday, digest_time=settings.digest_time,
        hot_lead_threshold=settings.hot_lead_threshold, quiet_start=settings.quiet_start,
        quiet_end=settings.quiet_end, lead_webhook_secret=OWN,
    )
    assert saved.lead_webhook_secret_set is True
    return admin


def test_a_workspace_secret_adds_leads_to_that_workspace_only(uow, ana, two, now):
    assert post(uow, now, a_lead(1), secret=OWN, team="T2")[0] == 200
    assert [lead.email for lead in leads_of(uow, "T2")] == ["lead1@example.com"]
    # T2's secret aimed at T1 (which uses the install's secret) is refused and T1 is untouched.
    status, answer = post(uow, now, [a_lead(2)], secret=OWN, team="T1")
    assert (status, answer["error"]) == (401, "wrong signature")
    # The install's secret no longer opens T2: its own secret replaced it there.
    assert post(uow, now, [a_lead(3)], secret=SECRET, team="T2")[0] == 401
    # The install's secret still serves T1.
    assert post(uow, now, [a_lead(4)], secret=SECRET, team="T1")[0] == 200
    assert [lead.email for lead in leads_of(uow, "T1")] == ["lead4@example.com"]
    assert [lead.email for lead in leads_of(uow, "T2")] == ["lead1@example.com"]


def test_without_an_install_secret_only_workspaces_with_their_own_take_leads(uow, ana, two, now):
    off = Settings()
    assert post(uow, now, a_lead(1), secret=OWN, team="T2", settings=off)[0] == 200
    status, answer = post(uow, now, a_lead(2), secret=OWN, team="T1", settings=off)
    assert status == 404 and "lead webhook is off" in answer["error"]
    status, answer = post(uow, now, a_lead(3), secret=OWN, settings=off)  # no ?team among two workspaces
    assert status == 400 and answer["field"] == "team"
    assert total_leads(uow) == 1


def test_an_unknown_team_is_refused_without_the_right_signature_first(uow, ana, two, now):
    assert post(uow, now, a_lead(1), secret="guess", team="T404")[0] == 401
    status, answer = post(uow, now, a_lead(1), team="T404")
    assert status == 404 and answer["field"] == "team"
    assert total_leads(uow) == 0


def test_removing_a_workspace_secret_brings_the_install_secret_back(uow, ana, two, now):
    s = setup.workspace_settings(uow, two)
    values = dict(default_currency=s.default_currency, locale=s.locale, digest_weekday=s.digest_weekday,
                  digest_time=s.digest_time, hot_lead_threshold=s.hot_lead_threshold, quiet_start=s.quiet_start,
                  quiet_end=s.quiet_end)
    # Blank keeps it.
    assert setup.update_workspace_settings(uow, two, now=now, **values, lead_webhook_secret="").lead_webhook_secret_set
    assert post(uow, now, a_lead(1), secret=OWN, team="T2")[0] == 200
    saved = setup.update_workspace_settings(uow, two, now=now, **values, lead_webhook_secret=" - ")
    assert saved.lead_webhook_secret_set is False
    assert post(uow, now, a_lead(2), secret=OWN, team="T2")[0] == 401
    assert post(uow, now, a_lead(2), secret=SECRET, team="T2")[0] == 200


@pytest.mark.parametrize("bad", ["short", "has spaces in the middle of it", "x" * 201, "ünïcödé-secret-long-enough"])
def test_a_bad_secret_is_refused_naming_the_field_and_changes_nothing(uow, ana, two, now, bad):
    s = setup.workspace_settings(uow, two)
    with pytest.raises(InvalidInput) as caught:
        setup.update_workspace_settings(
            uow, two, now=now, default_currency="EUR", locale=s.locale, digest_weekday=s.digest_weekday,
            digest_time=s.digest_time, hot_lead_threshold=s.hot_lead_threshold, quiet_start=s.quiet_start,
            quiet_end=s.quiet_end, lead_webhook_secret=bad,
        )
    assert caught.value.field == "lead_webhook_secret" and "16 to 200" in caught.value.message
    assert setup.workspace_settings(uow, two).default_currency == "USD"
    assert post(uow, now, a_lead(1), secret=OWN, team="T2")[0] == 200  # the old secret still holds


def test_only_admins_set_a_webhook_secret(uow, ana, two, now):
    rep = make_actor(uow, "UREP2", team_id="T2")
    with pytest.raises(NotAllowed):
        setup.update_workspace_settings(
            uow, rep, now=now, default_currency="USD", locale="en", digest_weekday=0, digest_time="09:00",
            hot_lead_threshold=70, quiet_start="20:00", quiet_end="08:00", lead_webhook_secret="r" * 20,
        )
    assert post(uow, now, a_lead(1), secret="r" * 20, team="T2")[0] == 401


def test_a_batch_folds_waiting_single_alerts_into_its_burst_and_the_next_batch_joins_it(uow, ana, now):
    with uow.transaction() as s:
        s.scalars(select(Team)).one().channel_id = "CEAST"
        s.scalars(select(Workspace)).one().hot_lead_threshold = 20
    hot = {"title": "VP Sales", "employees": 2000, "source": "referral"}
    for i in (1, 2):  # two hot leads alone: two single alerts, below the burst size of 3
        assert post(uow, now, {**hot, "name": f"H{i}", "email": f"h{i}@x.io"})[1]["leads"][0]["hot"] is True
    with uow.read() as s:
        assert [m.kind for m in s.scalars(select(OutboxMessage))] == [HOT_KIND, HOT_KIND]
    later = now + timedelta(seconds=30)
    status, _ = post(uow, later, [{**hot, "name": "H3", "email": "h3@x.io"}, {**hot, "name": "H4", "email": "h4@x.io"}])
    assert status == 200
    with uow.read() as s:
        messages = s.scalars(select(OutboxMessage)).all()
        assert [m.kind for m in messages] == [BURST_KIND]
        assert [c["ref"] for c in messages[0].payload["data"]["leads"]] == ["L-1", "L-2", "L-3", "L-4"]
    post(uow, later + timedelta(seconds=10), [{**hot, "name": "H5", "email": "h5@x.io"}, {"name": "cold"}])
    with uow.read() as s:
        messages = s.scalars(select(OutboxMessage)).all()
        assert [m.kind for m in messages] == [BURST_KIND]
        assert [c["ref"] for c in messages[0].payload["data"]["leads"]] == ["L-1", "L-2", "L-3", "L-4", "L-5"]
    # Outside the window, a new batch starts afresh: single alerts again.
    post(uow, later + timedelta(minutes=10), [{**hot, "name": "H7", "email": "h7@x.io"}])
    with uow.read() as s:
        assert [m.kind for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))] == [BURST_KIND, HOT_KIND]


def test_a_flood_of_hot_leads_keeps_one_small_grouped_message_that_counts_them_all(uow, ana, now):
    from bot.views.leads import hot_burst_message
    from core.leads.alerts import MAX_BURST_CARDS
    from tests.bot.blockkit import assert_valid_message

    with uow.transaction() as s:
        s.scalars(select(Team)).one().channel_id = "CEAST"
        s.scalars(select(Workspace)).one().hot_lead_threshold = 20
    hot = {"title": "VP Sales", "employees": 2000, "source": "referral"}
    post(uow, now, [{**hot, "name": f"H{i}", "email": f"h{i}@x.io"} for i in range(60)])
    post(uow, now + timedelta(seconds=20), [{**hot, "name": f"G{i}", "email": f"g{i}@x.io"} for i in range(40)])
    with uow.read() as s:
        [burst] = s.scalars(select(OutboxMessage)).all()
    data = burst.payload["data"]
    assert len(data["leads"]) == MAX_BURST_CARDS and data["more"] == 100 - MAX_BURST_CARDS
    assert [c["ref"] for c in data["leads"]] == [f"L-{i}" for i in range(1, MAX_BURST_CARDS + 1)]
    message = hot_burst_message(data)
    assert_valid_message(message)
    assert message["text"] == "100 hot leads" and "100 hot leads in 2 minutes" in json.dumps(message)
    assert "and 55 more" in json.dumps(message["blocks"][-1])


def test_nan_or_infinity_in_attributes_is_refused_naming_the_lead(uow, ana, now):
    raw = b'[{"name": "A"}, {"name": "B", "attributes": {"x": NaN}}, {"name": "C", "attributes": {"y": -Infinity}}]'
    status, answer = post(uow, now, None, raw=raw)
    assert status == 400
    assert [(e["index"], e["field"]) for e in answer["errors"]] == [(1, "attributes"), (2, "attributes")]
    assert answer["errors"][0]["error"] == "leads[1]: attributes.x should be a finite number"
    assert total_leads(uow) == 0


def test_hot_leads_of_one_team_arriving_together_are_alerted_once_each_in_one_grouped_message(uow, ana, now):
    # Concurrent requests do not queue on the workspace row any more (lead numbers are taken
    # beside the transaction): the team's alerting is held instead, so no waiting alert is
    # folded twice and no second grouped message is started.
    import threading

    with uow.transaction() as s:
        s.scalars(select(Team)).one().channel_id = "CEAST"
        s.scalars(select(Workspace)).one().hot_lead_threshold = 20
    hot = {"title": "VP Sales", "employees": 2000, "source": "referral"}
    answers: list[tuple[int, dict[str, Any]]] = []

    def send(i: int) -> None:
        answers.append(post(uow, now, {**hot, "name": f"H{i}", "email": f"h{i}@x.io"}))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in answers] == [200] * 10
    refs = sorted(body["leads"][0]["ref"] for _, body in answers)
    with uow.read() as s:
        messages = s.scalars(select(OutboxMessage)).all()
    assert [m.kind for m in messages] == [BURST_KIND]
    assert sorted(card["ref"] for card in messages[0].payload["data"]["leads"]) == refs
