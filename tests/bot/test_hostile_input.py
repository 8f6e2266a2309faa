"""Hostile input (issue 12): no pings from user text, no bodies in logs, no 500s, no replays.

The probe's reproductions are here as regression tests: a web-form lead named `<!channel> x`
that turns hot; unsigned 1 MB and 10 MB posts and a badly signed genuine command; timestamps,
encodings, JSON and content types that gave 500; another team's deal found by its title.
Requests go through the real WSGI app (bot/server.py) and the real Bolt app; Slack is the fake
on loopback.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import random
import time
import types
import typing
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.config import Settings
from bot.delivery import Deliverer, delivery_client, render
from bot.request_guard import MAX_JSON_DEPTH, LogThrottle, json_depth, load_json
from bot.server import SalesbotServer
from bot.views import admin, deals, digest, forecast, home, kpis, leads, nudges, pipeline
from bot.views.common import apology, error_message, escape
from bot.webhooks import sign as hook_sign
from core.db import UnitOfWork
from core.deals import deals as deal_service
from core.errors import InvalidInput
from core.insight.forecast import QuarterForecast
from core.insight.kpis import Kpis, StageFlow, StageTotal
from core.leads.leads import LeadView
from core.leads.points import Reason
from core.notify import reminders
from core.notify.nudges import sweep_due_reminders
from core.tables import Deal, Lead, Role, Team
from core.workspace.admin import LinkResult, TeamView
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack
from tests.bot.fake_slack_rate_limited import VirtualClock
from tests.bot.signing import SIGNING_SECRET, command_body, sign
from tests.bot.surfaces import command, text_of
from tests.conftest import NOW as TEST_NOW

# Slack's control sequences, in every user-supplied field.
HOSTILE = "<!channel> <!here> <!everyone> <!subteam^S1> <@U1> <#C1> <http://x|y> & < >"
RAW = ("<!channel>", "<!here>", "<!everyone>", "<!subteam", "<@U1>", "<#C1>", "<http://x|y>", "& < >", "<!")
# Keys whose strings Slack never renders as text (ids, values handed back to us, URLs we build).
NOT_RENDERED = {"value", "initial_value", "private_metadata", "action_id", "block_id", "callback_id", "url",
                "image_url", "files", "content", "filename", "view", "data"}
NOW = TEST_NOW  # the `now` fixture: the server's and the webhooks' clock in these tests
HOOK_SECRET = "hook-secret"


def rendered_strings(node: Any, key: str = "") -> Iterator[str]:
    """Every string of a message or view that Slack shows (top-level text and blocks alike)."""
    if key in NOT_RENDERED:
        return
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from rendered_strings(v, k)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from rendered_strings(item, key)


def assert_no_control_sequence(payload: Any, where: str = "") -> None:
    strings = list(rendered_strings(payload))
    assert strings, f"{where}: nothing rendered"
    assert any("&lt;!channel&gt;" in s for s in strings), f"{where}: the hostile field is not shown at all"
    for s in strings:
        for raw in RAW:
            assert raw not in s, f"{where}: {raw!r} survives unescaped in {s!r}"


# -- every builder, fed Slack's control sequences in every user field -----------------------


CHECKED_CODES = {"currency": "USD", "tz": "UTC", "locale": "en", "period": "2026-Q4"}


def fake(cls: type[Any], **given: Any) -> Any:
    """A `cls` dataclass whose text fields all hold HOSTILE (others: plain values, or `given`)."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in given:
            values[f.name] = given[f.name]
            continue
        if f.name in CHECKED_CODES:  # validated on input: never free text
            values[f.name] = CHECKED_CODES[f.name]
            continue
        hint = hints[f.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        base = args[0] if args and typing.get_origin(hint) in (typing.Union, types.UnionType) else hint
        origin = typing.get_origin(base) or base
        if base is str:
            values[f.name] = HOSTILE
        elif base is bool:
            values[f.name] = False
        elif base is int:
            values[f.name] = 3
        elif base is Decimal:
            values[f.name] = Decimal("1200.00")
        elif base is datetime:
            values[f.name] = NOW
        elif base is date:
            values[f.name] = date(2026, 12, 1)
        elif isinstance(origin, type) and issubclass(origin, Enum):
            values[f.name] = next(iter(origin))
        elif origin in (list, tuple, frozenset, dict, set):
            values[f.name] = origin()
        elif dataclasses.is_dataclass(origin):
            values[f.name] = fake(origin)  # type: ignore[arg-type]
        else:
            values[f.name] = None
    return cls(**values)


def hostile_actor() -> Actor:
    return Actor(workspace_id=1, user_id=1, role=Role.REP, name=HOSTILE, slack_id=None)


def _deal() -> Any:
    return fake(deal_service.DealView, ref="D-1", owner_slack_id=None, amount=Decimal("1200.00"),
                weighted=Decimal("600.00"), probability=50)


def _activity() -> Any:
    from core.deals.queries import ActivityView

    return fake(ActivityView, deal_ref="D-1")


def _lead() -> Any:
    return fake(LeadView, ref="L-1", owner_slack_id=None, owner_id=2, reasons=(Reason(10, HOSTILE),),
                hot_since=NOW, deal_ref="D-1")


def _stage() -> StageTotal:
    return fake(StageTotal, count=2, amount=Decimal("100"), weighted=Decimal("50"))


def _card() -> dict[str, Any]:
    return {"lead_id": 1, "ref": "L-1", "name": HOSTILE, "company": HOSTILE, "title": HOSTILE, "email": HOSTILE,
            "score": 80, "predicted": 40, "reasons": [Reason(20, HOSTILE).to_json()],
            "hot_since": NOW.isoformat(), "why": HOSTILE}


def _deal_item() -> dict[str, Any]:
    return {"ref": "D-1", "title": HOSTILE, "stage": HOSTILE, "amount": "1200.00", "currency": "USD",
            "owner": HOSTILE, "owner_slack_id": None, "idle_days": 20, "rotting_days": 14,
            "expected_close": "2026-11-01", "days_late": 22}


def _nudge() -> dict[str, Any]:
    view = fake(reminders.ReminderView, id=1, user_slack_id="UANA", deal_ref="D-1", lead_ref=None,
                lead_id=None, done_at=None)
    return nudges.nudge_data(view, "UTC", deal={"ref": "D-1", "title": HOSTILE, "stage": HOSTILE,
                                                "amount": "1200.00", "currency": "USD"})


def _digest() -> dict[str, Any]:
    totals = {"open_count": 2, "open_amount": "100", "prev_amount": "90", "open_weighted": "50",
              "prev_weighted": "40"}
    stage = {"stage": HOSTILE, "probability": 50, "count": 2, "prev_count": 1, "amount": "100",
             "prev_amount": "90", "weighted": "50"}
    return {"currency": "USD", "team_name": HOSTILE, "start": (NOW - timedelta(days=7)).isoformat(),
            "end": NOW.isoformat(), "totals": totals,
            "stages": [stage], "new": [1, "100"], "won": [1, "100"], "lost": [0, "0"],
            "moves": [{"from_stage": HOSTILE, "to_stage": HOSTILE, "count": 1}], "quota": "1000",
            "quarter": "2026-Q4", "quarter_won": "100", "slipped": [1, "100"], "slipped_deals": [_deal_item()],
            "stale": [1, "100"], "stale_deals": [_deal_item()], "top_deals": [_deal_item()],
            "activity": [{"slack_id": None, "name": HOSTILE, "counts": {"call": 1}}]}


def _home() -> dict[str, Any]:
    data = home.HomeData(
        stages=[_stage()], deals=[_deal()], follow_ups=[home.FollowUp(NOW, HOSTILE, "D-1")], follow_ups_total=1,
        hot_leads=[home.HotLead("L-1", HOSTILE, HOSTILE, 80)], hot_leads_total=1,
        teams=[home.TeamPanel(HOSTILE, [_stage()], "2026-Q4", None, None)],
    )
    return home.home_view(hostile_actor(), data, NOW)


def _team() -> TeamView:
    from core.workspace.admin import TeamMove

    moved = (TeamMove("U0BOB0001", HOSTILE, HOSTILE),)
    return TeamView(1, HOSTILE, None, HOSTILE, None, ("U0ANA0001",), (HOSTILE,), moved)


def _forecast() -> list[Any]:
    from core.insight.projection import ModelForecast

    model = fake(ModelForecast, reason="fewer than four past quarters")  # our words, not a user's
    f = fake(QuarterForecast, period="2026-Q4", accuracy=None, quota=None, model=model)
    return forecast.quarter_blocks(f, hostile_actor(), HOSTILE)


BUILDERS: dict[str, Callable[[], Any]] = {
    "deal_list": lambda: deals.deal_list([_deal()], hostile_actor(), HOSTILE),
    "deal_list_empty": lambda: deals.deal_list([], hostile_actor(), HOSTILE),
    "deal_shown": lambda: deals.deal_shown(_deal(), hostile_actor(), [_activity()]),
    "deal_changed": lambda: deals.deal_changed(_deal(), hostile_actor(), HOSTILE, in_channel=True),
    "deal_won": lambda: deals.deal_won(_deal(), hostile_actor()),
    "activity_logged": lambda: deals.activity_logged(_activity(), hostile_actor()),
    "candidates": lambda: deals.candidates(HOSTILE, [_deal(), _deal()], hostile_actor(), "show", HOSTILE),
    "reminder_set": lambda: deals.reminder_set("D-1", NOW, HOSTILE, hostile_actor()),
    "with_acted_line": lambda: deals.with_acted_line(deals.deal_shown(_deal(), hostile_actor()), hostile_actor(),
                                                     HOSTILE, NOW),
    "team_saved": lambda: admin.team_saved(_team(), HOSTILE),
    "teams_listed": lambda: admin.teams_listed([_team(), _team()], is_admin=True),
    "linked": lambda: admin.linked(LinkResult("UANA", HOSTILE, 1, 1, 1, 1)),
    "error_message": lambda: error_message(InvalidInput(f'No deal matches "{HOSTILE}".')),
    "lead_shown": lambda: leads.lead_shown(_lead(), NOW, "UTC", None, HOSTILE),
    "leads_listed": lambda: leads.leads_listed([_lead()], "open"),
    "lead_changed": lambda: leads.lead_changed(_lead(), HOSTILE),
    "lead_converted": lambda: leads.lead_converted(_lead(), "D-1", HOSTILE),
    "pipeline": lambda: pipeline.pipeline_message([_stage()], hostile_actor(), HOSTILE),
    "kpis": lambda: {"blocks": kpis.kpi_blocks(fake(Kpis, activities={}, stages=[fake(StageFlow)], quota=None),
                                               hostile_actor(), HOSTILE)},
    "forecast": lambda: {"blocks": _forecast()},
    "digest_blocks": lambda: digest.digest_blocks(_digest()),
    "home": _home,
    # The renderers bot/delivery.py calls at send time, on the payloads the outbox holds.
    "render_nudge": lambda: render({"view": "nudge", "data": _nudge()}),
    "render_morning": lambda: render({"view": "morning", "data": {"stale": [_deal_item()],
                                                                  "slipped": [_deal_item()]}}),
    "render_escalation": lambda: render({"view": "escalation", "data": {
        "rep": {"name": HOSTILE, "slack_id": None}, "deals": [_deal_item()], "nudges": 2}}),
    "render_digest": lambda: {k: v for k, v in render({"view": "digest", "data": _digest()}).items()
                              if k != "files"},
    "render_hot_lead": lambda: render({"view": "hot_lead", "data": _card()}),
    "render_hot_lead_burst": lambda: render({"view": "hot_lead_burst", "data": {"leads": [_card(), _card()]}}),
    "render_lead_assigned": lambda: render({"view": "lead_assigned", "data": _card()}),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_builder_escapes_slack_control_sequences(name: str) -> None:
    assert_no_control_sequence(BUILDERS[name](), name)


def test_escape_is_the_one_function_and_keeps_text_readable() -> None:
    assert escape(HOSTILE).count("&lt;") == HOSTILE.count("<")
    assert escape("Tom & Jerry <3") == "Tom &amp; Jerry &lt;3"
    assert apology("E1")["text"].startswith("Sorry")


# -- the probe's reproductions: a web form pinging a channel, a nudge's fallback -------------


def _deliver(uow: UnitOfWork, fake_slack: FakeSlack, at: datetime) -> None:
    clock = VirtualClock(at)
    client = delivery_client(WebClient(token="xoxb-test", base_url=fake_slack.url), timeout=5)
    Deliverer(uow, client, clock=clock.now, sleep=clock.sleep).drain()


def _hook(uow: UnitOfWork, now: datetime, path: str, payload: Any) -> tuple[int, dict[str, Any]]:
    from bot.webhooks import handle_request

    body = json.dumps(payload).encode()
    stamp = str(int(now.timestamp()))
    headers = {"X-Salesbot-Timestamp": stamp, "X-Salesbot-Signature": hook_sign(HOOK_SECRET, stamp, body)}
    return handle_request(uow, Settings(lead_webhook_secret=HOOK_SECRET), path, {}, headers, body, now)


def test_a_web_form_lead_that_turns_hot_cannot_ping_the_channel(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    with uow.transaction() as s:
        s.scalars(select(Team)).first().channel_id = "CEAST"  # type: ignore[union-attr]
    lead = {"name": "<!channel> x", "company": "<https://evil.test|Verify>", "email": "x@evil.test",
            "title": "VP Sales", "employees": 2000}
    assert _hook(uow, now, "/hooks/leads", lead)[0] == 200
    events = [{"type": "demo_request", "email": "x@evil.test", "at": (now - timedelta(hours=2)).isoformat()},
              {"type": "meeting_booked", "email": "x@evil.test", "at": (now - timedelta(hours=1)).isoformat()}]
    status, body = _hook(uow, now, "/hooks/lead-events", events)
    assert status == 200 and body["leads"][0]["hot"] is True
    _deliver(uow, fake_slack, now)
    [alert] = [c.body for c in fake_slack.calls("chat.postMessage") if c.body.get("channel") == "CEAST"]
    shown = [alert["text"], *rendered_strings(alert["blocks"])]
    assert "&lt;!channel&gt; x" in alert["text"]
    for s in shown:
        assert "<!channel>" not in s and "<https://evil.test" not in s


def test_a_nudge_fallback_text_is_escaped(uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack) -> None:
    reminders.set_reminder(uow, ana, due_at=now + timedelta(minutes=1), text=HOSTILE, now=now)
    with uow.transaction() as s:
        sweep_due_reminders(s, now + timedelta(minutes=1))
    _deliver(uow, fake_slack, now + timedelta(minutes=1))
    [call] = fake_slack.calls("chat.postMessage")
    assert_no_control_sequence({"text": call.body["text"], "blocks": call.body["blocks"]}, "nudge")


def test_a_deal_title_cannot_ping_through_a_command_answer(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    # Typed in a command, a broadcast is refused by the parser; from a form or a CSV it is stored.
    assert "not understood" in text_of(command(app, fake_slack, "/deal", "new <!channel> deal 12k"))
    deal_service.create_deal(uow, ana, title=HOSTILE, account=HOSTILE, next_step=HOSTILE, now=now)
    for ask in ("show D-1", "list"):
        assert_no_control_sequence(command(app, fake_slack, "/deal", ask), f"/deal {ask}")


# -- request bodies capped before they are read; no bodies, signatures or URLs in the log ------


def wsgi(server: SalesbotServer, path: str, body: bytes, headers: dict[str, str],
         stream: io.BytesIO | None = None, length: str | None = None) -> tuple[int, bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "localhost", "SERVER_PORT": "3000", "wsgi.url_scheme": "http",
        "wsgi.input": stream if stream is not None else io.BytesIO(body),
        "CONTENT_LENGTH": length if length is not None else str(len(body)),
        "CONTENT_TYPE": headers.get("content-type", ""),
    }
    for k, v in headers.items():
        environ["HTTP_" + k.upper().replace("-", "_")] = v
    got: list[str] = []
    out = b"".join(server(environ, lambda status, hdrs, exc=None: got.append(status)))
    return int(got[0].split()[0]), out


@pytest.fixture
def server(app: App, slack_settings: Settings, uow: UnitOfWork, now: datetime) -> SalesbotServer:
    import bot.server as server_module

    server_module._REFUSED_LOG = LogThrottle(burst=5, window=60.0)  # a fresh log budget per test
    settings = dataclasses.replace(slack_settings, lead_webhook_secret=HOOK_SECRET)
    return SalesbotServer(settings, uow, bolt_app=app, clock=lambda: now)


class Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_big_unsigned_bodies_get_413_unread_and_bad_signatures_one_short_line(
    server: SalesbotServer, fake_slack: FakeSlack, uow: UnitOfWork, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    form = {"content-type": "application/x-www-form-urlencoded"}
    for size in (1024 * 1024 + 1, 10 * 1024 * 1024):
        stream = Counting(b"x" * size)
        status, _ = wsgi(server, "/slack/events", b"", form, stream=stream, length=str(size))
        assert status == 413 and stream.bytes_read == 0
    # Exactly 1 MB, unsigned: read, refused 401.
    assert wsgi(server, "/slack/events", b"y" * 1_000_000, form)[0] == 401
    # A genuine command, signed with the wrong secret: its response_url and text must not leak.
    body = command_body("/deal", "new Secret Corp 99k", response_url="https://hooks.slack.com/commands/T1/SECRETURL")
    forged = {**form, **sign(body, "not-the-secret")}
    assert wsgi(server, "/slack/events", body.encode(), forged)[0] == 401
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert len(log) < 2000, log[:500]
    for leaked in ("SECRETURL", "Secret Corp", forged["x-slack-signature"], "yyyy", "xxxx", "hooks.slack.com"):
        assert leaked not in log
    refused = [r.getMessage() for r in caplog.records if r.name == "bot.server"]
    assert refused == ["refused 413 /slack/events: body over 1 MiB"] * 2 + [
        "refused 401 /slack/events: unsigned", "refused 401 /slack/events: wrong signature"]
    with uow.read() as s:
        assert s.scalar(select(func.count()).select_from(Deal)) == 0


def test_a_flood_of_bad_signatures_is_a_few_log_lines(
    server: SalesbotServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for i in range(500):
        body = f"command=%2Fdeal&text=x{i}".encode()
        headers = {"content-type": "application/x-www-form-urlencoded",
                   "x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": "v0=" + "0" * 64}
        assert wsgi(server, "/slack/events", body, headers)[0] == 401
    lines = [r for r in caplog.records if r.name.startswith(("bot", "slack_bolt"))]
    assert 1 <= len(lines) <= 5


def test_log_throttle_counts_what_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    t = [0.0]
    throttle = LogThrottle(burst=2, window=60.0, clock=lambda: t[0])
    log = logging.getLogger("bot.test_throttle")
    caplog.set_level(logging.INFO, "bot.test_throttle")
    for _ in range(10):
        throttle.log(log, "refused %s", "x")
    t[0] = 61.0
    throttle.log(log, "refused %s", "y")
    assert [r.getMessage() for r in caplog.records] == [
        "refused x", "refused x", "8 more refused requests in the last minute were not logged", "refused y"]


def test_bolt_never_logs_a_refused_body(app: App, caplog: pytest.LogCaptureFixture) -> None:
    """Requests that reach Bolt without the server (tests, adapters) keep bodies out of the log too."""
    from tests.bot.signing import send_command

    caplog.set_level(logging.DEBUG)
    send_command(app, "/deal", "new Leaky 1k", secret="wrong", response_url="https://hooks.slack.com/LEAKY")
    assert not [r for r in caplog.records if "LEAKY" in r.getMessage() or "Leaky" in r.getMessage()]


# -- malformed input: 400 or 401, never 500 -------------------------------------------------


def _slack_signed(body: bytes, content_type: str = "application/x-www-form-urlencoded",
                  timestamp: str | None = None) -> dict[str, str]:
    import hashlib
    import hmac

    ts = timestamp or str(int(time.time()))
    mac = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"content-type": content_type, "x-slack-request-timestamp": ts, "x-slack-signature": f"v0={mac}"}


def _hook_signed(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    stamp = str(int(NOW.timestamp()))
    return {"content-type": content_type, "x-salesbot-timestamp": stamp,
            "x-salesbot-signature": hook_sign(HOOK_SECRET, stamp, body)}


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


MALFORMED_SLACK: list[tuple[str, bytes, Callable[[bytes], dict[str, str]], int]] = [
    ("timestamp abc", b"command=%2Fdeal", lambda b: {**_slack_signed(b), "x-slack-request-timestamp": "abc"}, 401),
    ("timestamp superscript", b"command=%2Fdeal",
     lambda b: {**_slack_signed(b), "x-slack-request-timestamp": "\u00b2"}, 401),
    ("timestamp huge", b"command=%2Fdeal", lambda b: {**_slack_signed(b), "x-slack-request-timestamp": "9" * 400}, 401),
    ("signature non-ascii", b"command=%2Fdeal", lambda b: {**_slack_signed(b), "x-slack-signature": "v0=\u00e9"}, 401),
    ("unsigned bad json", b"{not json", lambda b: {"content-type": "application/json"}, 401),
    ("unsigned bad utf-8", b"\xff\xfe\xfd", lambda b: {"content-type": "application/json"}, 401),
    ("signed bad utf-8", b"\xff\xfe{", lambda b: _slack_signed(b, "application/json"), 400),
    ("signed bad json", b"{not json", lambda b: _slack_signed(b, "application/json"), 400),
    ("signed json list", b"[1, 2]", lambda b: _slack_signed(b, "application/json"), 400),
    ("signed deep json", deep(100_000), lambda b: _slack_signed(b, "application/json"), 400),
    ("signed deep payload", b"payload=" + deep(5000), lambda b: _slack_signed(b), 400),
    ("signed bad payload", b"payload=%7Bnope", lambda b: _slack_signed(b), 400),
    ("signed text/plain", b"hello", lambda b: _slack_signed(b, "text/plain"), 400),
    ("signed no content type", b"hello", lambda b: {**_slack_signed(b), "content-type": ""}, 400),
]


@pytest.mark.parametrize("case", MALFORMED_SLACK, ids=[c[0] for c in MALFORMED_SLACK])
def test_malformed_slack_requests_get_400_or_401(
    server: SalesbotServer, caplog: pytest.LogCaptureFixture, case: tuple[str, bytes, Any, int]
) -> None:
    _, body, headers, expected = case
    assert wsgi(server, "/slack/events", body, headers(body))[0] == expected
    assert not [r for r in caplog.records if r.exc_info]


MALFORMED_HOOKS: list[tuple[str, bytes, Callable[[bytes], dict[str, str]], int]] = [
    ("timestamp abc", b"{}", lambda b: {**_hook_signed(b), "x-salesbot-timestamp": "abc"}, 401),
    ("timestamp superscript", b"{}", lambda b: {**_hook_signed(b), "x-salesbot-timestamp": "\u00b2"}, 401),
    ("signature non-ascii", b"{}", lambda b: {**_hook_signed(b), "x-salesbot-signature": "v1=\u00e9"}, 401),
    ("signed bad utf-8", b"\xff\xfe", _hook_signed, 400),
    ("signed bad json", b"{nope", _hook_signed, 400),
    ("signed deep json", deep(100_000), _hook_signed, 400),
    ("signed deep object", b'{"a":' * 70 + b"1" + b"}" * 70, _hook_signed, 400),
    ("signed text/plain garbage", b"name=x", lambda b: _hook_signed(b, "text/plain"), 400),
    ("signed nul in a name", json.dumps({"name": "a\u0000b", "email": "a@b.io"}).encode(), _hook_signed, 200),
    ("bad content length", b"{}", lambda b: {**_hook_signed(b), "content-length-override": "x"}, 400),
]


@pytest.mark.parametrize("path", ["/hooks/leads", "/hooks/lead-events"])
@pytest.mark.parametrize("case", MALFORMED_HOOKS, ids=[c[0] for c in MALFORMED_HOOKS])
def test_malformed_webhook_requests_get_400_or_401(
    server: SalesbotServer, ana: Actor, now: datetime, caplog: pytest.LogCaptureFixture,
    case: tuple[str, bytes, Any, int], path: str,
) -> None:
    name, body, headers, expected = case
    hdrs = headers(body)
    length = "x" if hdrs.pop("content-length-override", None) else None
    if name.startswith("signed nul") and path == "/hooks/lead-events":
        expected = 400  # not an event
    assert wsgi(server, path, body, hdrs, length=length)[0] == expected
    assert not [r for r in caplog.records if r.exc_info]


def test_a_signed_webhook_nested_100000_levels_is_400_not_500(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    """The probe's reproduction: RecursionError became a 500."""
    from bot.webhooks import handle_request

    body = deep(100_000)
    stamp = str(int(now.timestamp()))
    headers = {"X-Salesbot-Timestamp": stamp, "X-Salesbot-Signature": hook_sign(HOOK_SECRET, stamp, body)}
    status, answer = handle_request(uow, Settings(lead_webhook_secret=HOOK_SECRET), "/hooks/leads", {}, headers,
                                    body, now)
    assert status == 400 and answer["field"] == "body" and "deeper" in answer["error"]


def test_json_depth_is_measured_on_the_parsed_value() -> None:
    assert json_depth({"a": "[[[[[[", "b": [1, {"c": "]]]"}]}) == 3
    assert json_depth('"[[["') == 0 and json_depth([]) == 1
    assert load_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    assert load_json('{"brackets": "' + "[" * 500 + '"}') == {"brackets": "[" * 500}  # in a string: no depth
    for too_deep in ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "[" * 100_000 + "]" * 100_000,
                     '{"a":' * 5000 + "1" + "}" * 5000):
        with pytest.raises(ValueError, match="deeper than"):
            load_json(too_deep)


def _fuzz_bodies(rng: random.Random, n: int) -> Iterator[tuple[bytes, str]]:
    pieces = [b"{", b"}", b"[", b"]", b'"', b"\\", b":", b",", b"payload=", b"command=%2Fdeal", b"&", b"=",
              b"\xff", b"\xc3", b"\x00", b"\xe2\x80\xae", b"null", b"1e999", b"-0", b'"type":"event_callback"',
              b"%", b"%zz", b"%7B", b"text=", b" ", b"\n"]
    types = ["application/json", "application/x-www-form-urlencoded", "text/plain", "", "multipart/form-data",
             "application/json; charset=latin-1", "application/x-www-form-urlencoded; charset=utf-8"]
    for _ in range(n):
        if rng.random() < 0.1:
            depth = rng.choice([10, 63, 65, 1000, 50_000])
            body = rng.choice([b"[", b'{"a":']) * depth
        else:
            body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        yield body, rng.choice(types)


@pytest.mark.parametrize("path", ["/slack/events", "/hooks/leads", "/hooks/lead-events"])
def test_fuzz_finds_no_500_and_no_traceback(
    server: SalesbotServer, ana: Actor, now: datetime, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.INFO)
    rng = random.Random(f"fuzz {path}")
    statuses: dict[int, int] = {}
    started = time.monotonic()
    for body, content_type in _fuzz_bodies(rng, 2000):
        signed = rng.random() < 0.7
        if path == "/slack/events":
            headers = _slack_signed(body, content_type) if signed else {"content-type": content_type}
            if rng.random() < 0.1:
                headers["x-slack-request-timestamp"] = rng.choice(["abc", "-1", "", "1e3", "\u0663", "0x10"])
        else:
            headers = _hook_signed(body, content_type) if signed else {"content-type": content_type}
            if rng.random() < 0.1:
                headers["x-salesbot-timestamp"] = rng.choice(["abc", "-1", "", "1e3", "\u0663", "0x10"])
        status, _ = wsgi(server, path, body, headers)
        statuses[status] = statuses.get(status, 0) + 1
    assert time.monotonic() - started < 60
    # 404: a signed, well-formed body no listener handles (Bolt's answer); never a 500.
    assert set(statuses) <= {200, 400, 401, 404, 413}, statuses
    assert statuses.get(400, 0) > 100 and statuses.get(401, 0) > 100, statuses
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# -- what a user may not see does not exist for them ----------------------------------------


def test_another_teams_deal_is_no_deal_by_title_or_ref(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime
) -> None:
    deal_service.create_deal(uow, ana, title="Zephyr secret expansion", now=now)
    for ask in ("show Zephyr secret", "show D-1", "note zephyr hello", "stage D-1 Proposal"):
        answer = text_of(command(app, fake_slack, "/deal", ask, user="UBOB"))
        assert "another team" not in answer and "Ana" not in answer and "expansion" not in answer, answer
        assert "No deal matches" in answer or "There is no deal D-1" in answer, answer
    # Their own team still finds it; so does Ana.
    assert "Zephyr secret expansion" in text_of(command(app, fake_slack, "/deal", "show Zephyr", user="UANA"))


BIDI = "\u202e\u2066\u200b\u200d\ufeff\u2060\u200e\u200f"


def test_bidi_and_zero_width_characters_are_removed_from_titles_and_names(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    from core.clean import clean_name, clean_text

    assert clean_name(f" Ac{BIDI}me\u202a  renewal\u0000 ") == "Acme renewal"
    assert clean_text("line\u202e one\nline\u200b two") == "line one\nline two"
    # A command, a core call, a webhook and a CSV import all store the plain text.
    command(app, fake_slack, "/deal", f"new Fake{BIDI}Title 1k")
    deal_service.create_deal(uow, ana, title="\u202eexe.doc", account=f"Gl{BIDI}obex", now=now)
    _hook(uow, now, "/hooks/leads", {"name": f"Zoe{BIDI} Hart", "company": "Ac\u200bme", "email": "zoe@a.io"})
    from core.deals.importer import import_deals

    csv_text = f"title,stage,amount,account\nImp{BIDI}orted,Qualified,10,Init{BIDI}ech\n"
    import_deals(uow, ana.workspace_id, io.StringIO(csv_text), now=now)
    with uow.read() as s:
        titles = sorted(s.scalars(select(Deal.title)))
        accounts = sorted(a for a in s.scalars(select(Deal.account)) if a)
        names = [(lead.name, lead.company) for lead in s.scalars(select(Lead))]
    assert titles == ["FakeTitle", "Imported", "exe.doc"]
    assert accounts == ["Globex", "Initech"]
    assert names == [("Zoe Hart", "Acme")]
