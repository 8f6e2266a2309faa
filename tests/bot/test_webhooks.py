"""The lead intake webhooks of SPEC section 6: signatures, limits, merging, idempotency."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.webhooks import MAX_BODY, handle_request, sign
from core.db import UnitOfWork
from core.tables import Lead, LeadEvent, OutboxMessage, Team
from core.workspace.users import Actor

SECRET = "hook-secret"
SETTINGS = Settings(lead_webhook_secret=SECRET)


def post(
    uow: UnitOfWork,
    now: datetime,
    payload: Any,
    *,
    path: str = "/hooks/leads",
    query: dict[str, str] | None = None,
    secret: str = SECRET,
    ts: int | None = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    settings: Settings = SETTINGS,
) -> tuple[int, dict[str, Any]]:
    body = raw if raw is not None else json.dumps(payload).encode()
    stamp = str(int(now.timestamp()) if ts is None else ts)
    hdrs = {"X-Salesbot-Timestamp": stamp, "X-Salesbot-Signature": sign(secret, stamp, body)}
    if headers is not None:
        hdrs = headers
    return handle_request(uow, settings, path, query or {}, hdrs, body, now)


def lead_count(uow: UnitOfWork) -> int:
    with uow.read() as s:
        return int(s.scalar(select(func.count()).select_from(Lead)) or 0)


def test_one_lead_is_added_and_answered_with_its_ref_score_and_hot_flag(uow, ana, now):
    status, body = post(uow, now, {"name": "Zoe Hart", "email": "zoe@acme.io", "company": "Acme", "employees": 300})
    assert status == 200 and body["ok"] is True
    score = body["leads"][0]["score"]
    assert body["leads"] == [{"index": 0, "ref": "L-1", "score": score, "hot": False, "status": "created"}]
    assert body["leads"][0]["score"] > 0


def test_a_list_is_added_and_a_known_email_updates_instead(uow, ana, now):
    post(uow, now, {"name": "Zoe", "email": "zoe@acme.io"})
    status, body = post(uow, now, [{"email": "ZOE@ACME.IO", "title": "CEO"}, {"name": "Kim", "email": "kim@b.io"}])
    assert status == 200 and [r["ref"] for r in body["leads"]] == ["L-1", "L-2"]
    assert lead_count(uow) == 2
    with uow.read() as s:
        assert s.scalar(select(Lead.title).where(Lead.number == 1)) == "CEO"


def test_the_same_request_twice_has_the_effect_of_one(uow, ana, now):
    payload = [{"name": "No Email Person", "company": "Acme"}]
    first = post(uow, now, payload)
    second = post(uow, now + timedelta(seconds=30), payload)  # re-sent later, signed again
    assert first == second
    assert lead_count(uow) == 1


def test_concurrent_duplicates_still_make_one_lead(uow, ana, now):
    payload = {"name": "Zoe", "email": "zoe@acme.io"}
    answers: list[int] = []

    def send() -> None:
        answers.append(post(uow, now, payload)[0])

    threads = [threading.Thread(target=send) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 5
    assert lead_count(uow) == 1


def test_concurrent_different_requests_with_one_email_make_one_lead_and_keep_numbering(uow, ana, now):
    # Different bodies (no idempotency shortcut): whoever loses the race merges into the winner.
    answers: list[tuple[int, dict[str, Any]]] = []

    def send(i: int) -> None:
        answers.append(post(uow, now, {"name": f"Zoe {i}", "email": "ZOE@acme.io", "title": f"T{i}"}))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in answers] == [200] * 6
    statuses = sorted(body["leads"][0]["status"] for _, body in answers)
    assert statuses == ["created"] + ["updated"] * 5
    refs = {body["leads"][0]["ref"] for _, body in answers}
    assert len(refs) == 1 and lead_count(uow) == 1
    # The next lead gets a later number: one lost to the race may be skipped, never reused.
    status, body = post(uow, now, {"name": "Ann", "email": "ann@acme.io"})
    assert status == 200
    assert int(body["leads"][0]["ref"][2:]) > int(refs.pop()[2:])


@pytest.mark.parametrize(
    "change",
    [
        {"headers": {}},
        {"secret": "wrong"},
        {"ts": 0},
        {"headers": {"X-Salesbot-Timestamp": "abc", "X-Salesbot-Signature": "v1=00"}},
    ],
    ids=["missing", "wrong-secret", "stale", "bad-timestamp"],
)
def test_unsigned_wrong_or_stale_requests_get_401_and_change_nothing(uow, ana, now, change):
    status, body = post(uow, now, {"name": "Zoe"}, **change)
    assert status == 401 and body["ok"] is False and body["error"]
    assert lead_count(uow) == 0


def test_a_signature_older_than_five_minutes_is_refused_but_four_minutes_is_fine(uow, ana, now):
    old = int((now - timedelta(minutes=5, seconds=1)).timestamp())
    assert post(uow, now, {"name": "A"}, ts=old)[0] == 401
    recent = int((now - timedelta(minutes=4)).timestamp())
    assert post(uow, now, {"name": "A"}, ts=recent)[0] == 200


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{not json", "body"),
        (json.dumps({"company": "Acme"}).encode(), "name"),
        (json.dumps([{"name": "ok"}, {"name": "Bad", "email": "nope"}]).encode(), "email"),
        (json.dumps([]).encode(), "body"),
        (json.dumps({"name": "A", "employees": "lots"}).encode(), "employees"),
    ],
)
def test_malformed_json_or_a_bad_lead_gets_400_naming_the_field(uow, ana, now, raw, field):
    status, body = post(uow, now, None, raw=raw)
    assert status == 400 and body["field"] == field
    assert lead_count(uow) == 0  # the good lead of a bad list is not half-imported


def test_a_body_over_one_mebibyte_gets_413(uow, ana, now):
    raw = b'{"name": "' + b"x" * MAX_BODY + b'"}'
    status, body = post(uow, now, None, raw=raw)
    assert status == 413 and body["ok"] is False and lead_count(uow) == 0


def test_webhook_off_or_unknown_path_is_404(uow, ana, now):
    assert post(uow, now, {"name": "A"}, settings=Settings())[0] == 404
    assert post(uow, now, {"name": "A"}, path="/hooks/other")[0] == 404


def test_the_workspace_is_chosen_by_team_when_there_are_several(uow, ana, now):
    from tests.conftest import make_actor

    make_actor(uow, "UOTHER", team_id="T2")
    status, body = post(uow, now, {"name": "A"})
    assert status == 400 and body["field"] == "team"
    assert post(uow, now, {"name": "A"}, query={"team": "T2"})[0] == 200
    assert post(uow, now, {"name": "A"}, query={"team": "T404"})[0] == 404


def test_events_raise_the_score_and_a_hot_crossing_queues_one_alert(uow, ana: Actor, now):
    with uow.transaction() as s:
        s.scalars(select(Team)).first().channel_id = "CEAST"  # type: ignore[union-attr]
    post(uow, now, {"name": "Zoe", "email": "zoe@acme.io", "title": "VP Sales", "employees": 2000})
    events = [
        {"type": "demo_request", "email": "zoe@acme.io", "at": (now - timedelta(hours=2)).isoformat()},
        {"type": "meeting_booked", "email": "zoe@acme.io", "at": (now - timedelta(hours=1)).isoformat()},
    ]
    status, body = post(uow, now, events, path="/hooks/lead-events")
    assert status == 200 and body["leads"][0]["hot"] is True and body["leads"][0]["score"] >= 70
    more = [{"type": "email_open", "email": "zoe@acme.io", "at": now.isoformat(), "id": "open-1"}]
    post(uow, now, more, path="/hooks/lead-events")
    post(uow, now, more, path="/hooks/lead-events")
    with uow.read() as s:
        alerts = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "hot_lead")).all()
        assert len(alerts) == 1 and alerts[0].channel == "CEAST"
        assert s.scalar(select(func.count()).select_from(LeadEvent)) == 3


def test_a_bad_event_gets_400_naming_the_field(uow, ana, now):
    status, body = post(
        uow, now, [{"type": "tweet", "email": "a@b.io", "at": now.isoformat()}], path="/hooks/lead-events"
    )
    assert status == 400 and body["field"] == "type" and "events[0]" in body["error"]


def test_served_by_the_wsgi_server(uow, ana, now):
    """The route in bot/server.py hands the raw request to handle_request and writes its answer."""
    import io

    from bot.server import SalesbotServer

    server = SalesbotServer(SETTINGS, uow, bolt_app=None, clock=lambda: now)
    body = json.dumps({"name": "Zoe", "email": "zoe@acme.io"}).encode()
    stamp = str(int(now.timestamp()))
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/hooks/leads",
        "QUERY_STRING": "team=T1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_X_SALESBOT_TIMESTAMP": stamp,
        "HTTP_X_SALESBOT_SIGNATURE": sign(SECRET, stamp, body),
    }
    seen: list[str] = []
    out = b"".join(server(environ, lambda status, headers: seen.append(status)))
    answer = json.loads(out)
    assert seen[0].startswith("200") and answer["ok"] is True and answer["leads"][0]["ref"] == "L-1"
    assert lead_count(uow) == 1
