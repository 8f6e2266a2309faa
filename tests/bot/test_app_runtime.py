"""The Bolt runtime: signatures, Slack retries, users on first contact, the request context.

Driven by signed requests through app.dispatch (the HTTP path) against the fake Slack. A tiny
test-only `/salesbot-test` command stands in for real listeners, so these tests hold whatever
listener modules exist.
"""

from __future__ import annotations

import html
import io
import json
import re
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import Ack, App, BoltContext, BoltResponse, Respond
from sqlalchemy import func, select

from bot.app import BOT_SCOPES, LISTENER_MODULES, create_app, make_client, register_listeners
from bot.clock import utcnow
from bot.config import Settings
from bot.context import user_directory
from bot.server import SalesbotServer
from core.db import UnitOfWork, make_engine
from core.tables import Deal, IdempotencyKey, Role, User, Workspace
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack
from tests.bot.signing import (
    SIGNING_SECRET,
    app_home_opened,
    block_actions_payload,
    command_body,
    event_envelope,
    send_action,
    send_command,
    send_event,
    sign,
    signed_request,
)
from tests.conftest import REPO, make_actor

TEST_COMMAND = "/salesbot-test"


def add_probe(app: App) -> list[dict[str, Any]]:
    """Register a test-only command that records what the middleware put in its context."""
    seen: list[dict[str, Any]] = []

    def probe(ack: Ack, respond: Respond, context: BoltContext, command: dict[str, Any]) -> None:
        ack()
        actor: Actor | None = context.get("actor")
        seen.append(
            {
                "actor": actor,
                "now": context.get("now"),
                "uow": context.get("uow"),
                "settings": context.get("settings"),
                "text": command["text"],
            }
        )
        respond(text=f"probe {command['text']} by {actor.name if actor else '?'}")

    app.command(TEST_COMMAND)(probe)
    return seen


def count_users(uow: UnitOfWork) -> int:
    with uow.read() as s:
        return int(s.scalar(select(func.count()).select_from(User)) or 0)


def test_utcnow_is_aware_utc() -> None:
    stamp = utcnow()
    assert stamp.utcoffset() == timedelta(0)


def test_client_has_retry_handlers(slack_settings: Settings) -> None:
    client = make_client(slack_settings)
    kinds = {type(h).__name__ for h in client.retry_handlers}
    assert {"RateLimitErrorRetryHandler", "ServerErrorRetryHandler", "ConnectionErrorRetryHandler"} <= kinds
    assert client.base_url == slack_settings.slack_api_url


def test_signed_command_reaches_listener_with_context(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, slack_settings: Settings
) -> None:
    seen = add_probe(app)
    resp = send_command(app, TEST_COMMAND, "hello", user_id="UNEW", team_id="T1")
    assert resp.status == 200
    assert len(seen) == 1
    assert seen[0]["now"] == now and seen[0]["uow"] is uow and seen[0]["settings"] is slack_settings
    assert isinstance(seen[0]["actor"], Actor) and seen[0]["actor"].slack_id == "UNEW"
    posted = fake_slack.calls("response_url")
    assert [c["text"] for c in posted] == ["probe hello by UNEW"]


def test_forged_signature_is_refused_and_changes_nothing(app: App, fake_slack: FakeSlack, uow: UnitOfWork) -> None:
    seen = add_probe(app)
    resp = send_command(app, TEST_COMMAND, "hello", secret="not-the-secret")
    assert resp.status == 401
    assert seen == []
    assert count_users(uow) == 0
    assert fake_slack.calls() == []


def test_stale_timestamp_is_refused(app: App, fake_slack: FakeSlack, uow: UnitOfWork) -> None:
    seen = add_probe(app)
    resp = send_command(app, TEST_COMMAND, "hello", timestamp=int(time.time()) - 6 * 60)
    assert resp.status == 401
    assert seen == [] and count_users(uow) == 0 and fake_slack.calls() == []


def _signed(app: App, body: str, content_type: str, timestamp: int, **headers: str) -> BoltResponse:
    """Dispatch these exact bytes, signed at `timestamp` (what Slack sends, and resends)."""
    return app.dispatch(signed_request(body, content_type, timestamp=timestamp, extra_headers=headers))


def count_deals(uow: UnitOfWork) -> int:
    with uow.read() as s:
        return int(s.scalar(select(func.count()).select_from(Deal)) or 0)


def test_slack_retry_of_a_processed_command_has_no_second_effect(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork
) -> None:
    seen = add_probe(app)
    body = command_body(TEST_COMMAND, "once", response_url=fake_slack.response_url("once"))
    stamp = int(time.time())
    first = _signed(app, body, "application/x-www-form-urlencoded", stamp)
    retry = _signed(app, body, "application/x-www-form-urlencoded", stamp,
                    **{"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"})
    assert first.status == 200 and retry.status == 200
    assert len(seen) == 1
    assert len(fake_slack.calls("response_url")) == 1


def test_a_first_delivery_carrying_a_retry_number_is_processed(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork
) -> None:
    """The original never reached us: Slack's retry is the only delivery, and it counts."""
    seen = add_probe(app)
    resp = send_command(app, TEST_COMMAND, "late", headers={"x-slack-retry-num": "1",
                                                              "x-slack-retry-reason": "http_timeout"})
    assert resp.status == 200
    assert [s["text"] for s in seen] == ["late"]
    assert [c["text"] for c in fake_slack.calls("response_url")] == ["probe late by UANA"]


def test_a_replayed_signed_deal_new_creates_one_deal(app: App, fake_slack: FakeSlack, uow: UnitOfWork) -> None:
    """The probe's reproduction: the same signed `/deal new` body twice within the window."""
    body = command_body("/deal", "new Replay Corp 12k", response_url=fake_slack.response_url("replay"))
    stamp = int(time.time())
    for _ in range(3):
        assert _signed(app, body, "application/x-www-form-urlencoded", stamp).status == 200
    assert count_deals(uow) == 1
    # A new command (new timestamp and trigger_id) with the same words is a new deal.
    send_command(app, "/deal", "new Replay Corp 12k")
    assert count_deals(uow) == 2


def test_a_replay_to_another_replica_has_no_second_effect(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, slack_settings: Settings, now: datetime
) -> None:
    """The keys are in the database: a second process (another Bolt app) sees them too."""
    other = create_app(slack_settings, uow, clock=lambda: now, process_before_response=True)
    body = command_body("/deal", "new Replica Corp 5k", response_url=fake_slack.response_url("replica"))
    stamp = int(time.time())
    assert _signed(app, body, "application/x-www-form-urlencoded", stamp).status == 200
    assert _signed(other, body, "application/x-www-form-urlencoded", stamp,
                   **{"x-slack-retry-num": "1"}).status == 200
    assert count_deals(uow) == 1


def test_a_retried_event_has_no_second_effect_and_a_first_retry_counts(app: App, fake_slack: FakeSlack) -> None:
    body = json.dumps(event_envelope(app_home_opened("UANA")))
    stamp = int(time.time())
    assert _signed(app, body, "application/json", stamp).status == 200
    # Slack resends the event (new timestamp, same event_id): no second publish.
    assert _signed(app, body, "application/json", stamp + 1, **{"x-slack-retry-num": "1"}).status == 200
    assert len(fake_slack.calls("views.publish")) == 1
    # An event whose first delivery we never saw arrives as retry 2: it is published.
    other = json.dumps(event_envelope(app_home_opened("UANA")))
    assert _signed(app, other, "application/json", stamp, **{"x-slack-retry-num": "2"}).status == 200
    assert len(fake_slack.calls("views.publish")) == 2


def test_a_replayed_click_has_no_second_effect(app: App, fake_slack: FakeSlack, uow: UnitOfWork) -> None:
    clicks: list[str] = []

    def on_click(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        clicks.append(body["actions"][0]["value"])

    app.action("probe_click")(on_click)
    body = urlencode({"payload": json.dumps(block_actions_payload("probe_click", "v1"))})
    stamp = int(time.time())
    assert _signed(app, body, "application/x-www-form-urlencoded", stamp).status == 200
    assert _signed(app, body, "application/x-www-form-urlencoded", stamp).status == 200
    assert clicks == ["v1"]


def test_seen_request_keys_are_pruned_after_a_day(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                  now: datetime) -> None:
    from bot.dedupe import SeenRequests

    send_command(app, TEST_COMMAND, "x")
    keys = SeenRequests(uow)
    with uow.read() as s:
        ws_id = s.scalar(select(Workspace.id))
        before = s.scalar(select(func.count()).select_from(IdempotencyKey)) or 0
    assert ws_id is not None and before >= 1
    assert keys.first_time(ws_id, "slack:test:later", now + timedelta(days=2))
    with uow.read() as s:
        left = list(s.scalars(select(IdempotencyKey.key)))
    assert left == ["slack:test:later"]


def test_user_created_on_first_contact_with_profile_from_users_info(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime
) -> None:
    fake_slack.add_user("UZED", "Zeynep", tz="Europe/Istanbul", locale="tr-TR")
    seen = add_probe(app)
    send_command(app, TEST_COMMAND, "hi", user_id="UZED", team_id="T9")
    actor = seen[0]["actor"]
    assert (actor.name, actor.tz, actor.role) == ("Zeynep", "Europe/Istanbul", Role.REP)
    assert [c["user"] for c in fake_slack.calls("users.info")] == ["UZED"]
    with uow.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.team_id == "T9"))
        assert ws is not None
        user = s.scalar(select(User).where(User.slack_id == "UZED"))
        assert user is not None and user.refreshed_at == now and user.workspace_id == ws.id
        assert user.locale == "tr-TR"  # the region says how the user writes dates (core.dates)


def test_cached_profile_means_no_users_info_call(app: App, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("UZED", "Zeynep", tz="Europe/Istanbul")
    add_probe(app)
    send_command(app, TEST_COMMAND, "one", user_id="UZED")
    send_command(app, TEST_COMMAND, "two", user_id="UZED")
    assert len(fake_slack.calls("users.info")) == 1


def test_profile_refreshed_after_a_day(
    slack_settings: Settings, uow: UnitOfWork, fake_slack: FakeSlack, now: datetime
) -> None:
    clock = {"now": now}
    bolt = create_app(slack_settings, uow, clock=lambda: clock["now"], process_before_response=True)
    bolt.salesbot_test_fake = fake_slack  # type: ignore[attr-defined]
    seen = add_probe(bolt)
    fake_slack.add_user("UZED", "Zeynep", tz="Europe/Istanbul")
    send_command(bolt, TEST_COMMAND, "one", user_id="UZED")
    fake_slack.add_user("UZED", "Zeynep K", tz="America/New_York")
    clock["now"] = now + timedelta(hours=23)
    send_command(bolt, TEST_COMMAND, "two", user_id="UZED")
    assert len(fake_slack.calls("users.info")) == 1
    clock["now"] = now + timedelta(days=1, minutes=1)
    send_command(bolt, TEST_COMMAND, "three", user_id="UZED")
    assert len(fake_slack.calls("users.info")) == 2
    send_command(bolt, TEST_COMMAND, "four", user_id="UZED")
    assert seen[-1]["actor"].tz == "America/New_York" and seen[-1]["actor"].name == "Zeynep K"


def test_stale_refresh_runs_off_the_ack_path(
    slack_settings: Settings, uow: UnitOfWork, fake_slack: FakeSlack, now: datetime
) -> None:
    """In production (process_before_response=False) a stale profile is refreshed in the background."""
    make_actor(uow, "UANA", name="Ana", tz="UTC")  # refreshed_at is None: stale
    fake_slack.add_user("UANA", "Ana B", tz="Asia/Tokyo")
    bolt = create_app(slack_settings, uow, clock=lambda: now)
    seen: list[Actor] = []
    done = threading.Event()

    @bolt.command(TEST_COMMAND)
    def probe(ack: Ack, context: BoltContext) -> None:
        ack()
        seen.append(context["actor"])
        done.set()

    resp = send_command(bolt, TEST_COMMAND, "x", user_id="UANA")
    assert resp.status == 200
    assert done.wait(5)
    assert seen[0].tz == "UTC"  # answered with the cached profile
    fake_slack.wait_for("users.info")
    user_directory(bolt).wait()
    with uow.read() as s:
        user = s.scalar(select(User).where(User.slack_id == "UANA"))
    assert user is not None
    assert user.tz == "Asia/Tokyo" and user.name == "Ana B"


@pytest.mark.parametrize("flag", ["is_admin", "is_owner"])
def test_slack_admins_and_owners_become_admins(app: App, fake_slack: FakeSlack, flag: str) -> None:
    fake_slack.add_user("UBOSS", "Boss", is_admin=flag == "is_admin", is_owner=flag == "is_owner")
    seen = add_probe(app)
    send_command(app, TEST_COMMAND, "hi", user_id="UBOSS")
    assert seen[0]["actor"].role == Role.ADMIN and seen[0]["actor"].is_admin


def test_unknown_to_users_info_keeps_what_we_have(app: App, uow: UnitOfWork, fake_slack: FakeSlack) -> None:
    make_actor(uow, "UANA", name="Ana", tz="Europe/Berlin", role=Role.MANAGER)
    seen = add_probe(app)
    send_command(app, TEST_COMMAND, "hi", user_id="UANA")
    actor = seen[0]["actor"]
    assert (actor.name, actor.tz, actor.role) == ("Ana", "Europe/Berlin", Role.MANAGER)


def test_users_info_failure_does_not_fail_the_request(app: App, fake_slack: FakeSlack, uow: UnitOfWork) -> None:
    fake_slack.fail_next("users.info", 5, status=500)
    seen = add_probe(app)
    resp = send_command(app, TEST_COMMAND, "hi", user_id="UNEW")
    assert resp.status == 200
    assert seen[0]["actor"].slack_id == "UNEW" and seen[0]["actor"].tz == "UTC"
    assert count_users(uow) == 1


def test_rate_limited_call_is_retried_after_retry_after(app: App, fake_slack: FakeSlack) -> None:
    @app.command(TEST_COMMAND)
    def post(ack: Ack, client: Any, command: dict[str, Any]) -> None:
        ack()
        client.chat_postMessage(channel=command["channel_id"], text="hello")

    fake_slack.fail_next("chat.postMessage", 1, status=429, retry_after=0)
    send_command(app, TEST_COMMAND, "x")
    calls = fake_slack.calls("chat.postMessage")
    assert len(calls) == 2 and calls[-1]["text"] == "hello"


def test_block_action_and_event_get_actor(app: App, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("UANA", "Ana", tz="Europe/Istanbul")
    actors: list[Actor] = []

    @app.action("probe_button")
    def on_click(ack: Ack, context: BoltContext) -> None:
        ack()
        actors.append(context["actor"])

    @app.event("app_mention")  # an event no real listener takes
    def on_mention(context: BoltContext) -> None:
        actors.append(context["actor"])

    assert send_action(app, block_actions_payload("probe_button", "v")).status == 200
    mention = {
        "type": "app_mention",
        "user": "UANA",
        "text": "<@UBOT> hi",
        "channel": "C1",
        "ts": "1700000000.000200",
        "event_ts": "1700000000.000200",
    }
    assert send_event(app, mention).status == 200
    assert [a.slack_id for a in actors] == ["UANA", "UANA"]
    assert actors[0].tz == "Europe/Istanbul"


def test_every_listener_module_is_wired_statically(app: App) -> None:
    """LISTENER_MODULES holds the imported modules themselves (a typo fails at import), and
    every module of bot/ that defines listeners, `register(app: App)`, is in it."""
    fresh = App(token="xoxb-x", signing_secret="s", token_verification_enabled=False)
    names = register_listeners(fresh)
    assert names == [module.__name__ for module in LISTENER_MODULES]
    assert all(isinstance(module, ModuleType) for module in LISTENER_MODULES)
    defining = {
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for path in (REPO / "bot").rglob("*.py")
        if re.search(r"^def register\(app: App\)", path.read_text(encoding="utf-8"), re.MULTILINE)
    }
    # bot.modals registers its two submodules itself.
    assert defining == set(names) | {"bot.modals.admin_modals", "bot.modals.deal_modals"}
    assert len(set(names)) == len(names)


def test_every_cli_module_is_wired_statically() -> None:
    """The `salesbot` subcommand modules are imported by bot/cli/__init__.py, each registered."""
    import bot.cli as cli

    defining = {
        f"bot.cli.{path.stem}"
        for path in (REPO / "bot" / "cli").glob("*.py")
        if re.search(r"^def register\(main: click.Group\)", path.read_text(encoding="utf-8"), re.MULTILINE)
    }
    assert {module.__name__ for module in cli.SUBCOMMAND_MODULES} == defining
    assert set(cli.main.commands) >= {"migrate", "import", "export", "run", "console", "jobs", "leads", "forecast"}


# --- the WSGI server (bot/server.py), called in-process -----------------------------------


class CountingInput(io.BytesIO):
    """A request body that counts the bytes the app read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def wsgi_call(
    wsgi: Any, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, query: str = "",
    stream: io.BytesIO | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Call a WSGI app the way waitress does; (status, headers, body)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "3000",
        "wsgi.input": stream if stream is not None else io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": (headers or {}).get("content-type", ""),
    }
    for key, value in (headers or {}).items():
        environ["HTTP_" + key.upper().replace("-", "_")] = value
    captured: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured["status"] = int(status.split()[0])
        captured["headers"] = {k.lower(): v for k, v in response_headers}

    data = b"".join(wsgi(environ, start_response))
    return captured["status"], captured["headers"], data


def test_server_routes(app: App, slack_settings: Settings, uow: UnitOfWork, now: datetime) -> None:
    server = SalesbotServer(slack_settings, uow, bolt_app=app, clock=lambda: now)
    status, _, body = wsgi_call(server, "GET", "/healthz")
    assert (status, json.loads(body)) == (200, {"ok": True, "db": "ok"})
    assert wsgi_call(server, "POST", "/healthz")[0] == 405
    assert wsgi_call(server, "GET", "/slack/events")[0] == 405
    assert wsgi_call(server, "GET", "/slack/install")[0] == 404  # no OAuth configured
    assert wsgi_call(server, "GET", "/elsewhere")[0] == 404
    raw = command_body("/salesbot-test", "x")
    forged = {"content-type": "application/x-www-form-urlencoded", **sign(raw, "nope")}
    assert wsgi_call(server, "POST", "/slack/events", raw.encode(), forged)[0] == 401


def test_healthz_503_when_the_database_does_not_answer(slack_settings: Settings, tmp_path: Path) -> None:
    # A database file in a directory that does not exist cannot be opened.
    broken = UnitOfWork(make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}"))
    server = SalesbotServer(slack_settings, broken, bolt_app=None, clock=utcnow)
    status, _, body = wsgi_call(server, "GET", "/healthz")
    assert status == 503 and json.loads(body)["ok"] is False


def test_webhooks_are_delegated_with_query_headers_and_body(
    slack_settings: Settings, uow: UnitOfWork, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.server as server_module

    seen: list[tuple[Any, ...]] = []

    class FakeHooks:
        @staticmethod
        def handle_request(*args: Any) -> tuple[int, dict[str, Any]]:
            seen.append(args)
            return 202, {"ok": True}

    monkeypatch.setattr(server_module, "webhooks", FakeHooks)
    server = SalesbotServer(slack_settings, uow, bolt_app=None, clock=lambda: now)
    status, _, body = wsgi_call(
        server,
        "POST",
        "/hooks/lead-events",
        b'{"type": "page_view"}',
        {"content-type": "application/json", "x-salesbot-signature": "v1=ab"},
        query="team=T1",
    )
    assert (status, json.loads(body)) == (202, {"ok": True})
    [(got_uow, got_settings, path, query, headers, raw, at)] = seen
    assert (got_uow, got_settings, path, query, raw, at) == (
        uow,
        slack_settings,
        "/hooks/lead-events",
        {"team": "T1"},
        b'{"type": "page_view"}',
        now,
    )
    assert headers["x-salesbot-signature"] == "v1=ab" and headers["content-type"] == "application/json"
    # An oversized body is refused (413) on its Content-Length: not a byte of it is read.
    big = b"x" * (server_module.MAX_HOOK_BODY + 10_000)
    stream = CountingInput(big)
    status, _, _ = wsgi_call(server, "POST", "/hooks/leads", big, {"content-type": "application/json"}, stream=stream)
    assert status == 413 and stream.bytes_read == 0 and len(seen) == 1


def test_oauth_install_and_callback(fake_slack: FakeSlack, uow: UnitOfWork, db_url: str, now: datetime) -> None:
    settings = Settings(
        database_url=db_url,
        slack_signing_secret=SIGNING_SECRET,
        slack_client_id="111.222",
        slack_client_secret="client-secret",
        state_secret="state-secret-for-tests-0123456789",
        encryption_key="q3Vx0m3kP1e8yF7tW2aZ9cB4nL6hJ5dG0sR8uT1vX2k=",
        slack_api_url=fake_slack.url,
        scheduler=False,
    )
    bolt = create_app(settings, uow, clock=lambda: now, process_before_response=True)
    bolt.salesbot_test_fake = fake_slack  # type: ignore[attr-defined]
    server = SalesbotServer(settings, uow, bolt_app=bolt, clock=lambda: now)
    status, headers, body = wsgi_call(server, "GET", "/slack/install")
    assert status in (200, 302)
    found = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', body.decode())
    location = headers.get("location") or html.unescape(found.group(1) if found else "")
    assert location.startswith("https://slack.com/oauth/v2/authorize?")
    assert f"scope={','.join(BOT_SCOPES)}&" in location
    state = re.search(r"state=([^&]+)", location).group(1)  # type: ignore[union-attr]
    cookie = headers["set-cookie"].split(";")[0]
    status, _, body = wsgi_call(
        server, "GET", "/slack/oauth_redirect", query=f"code=c0de&state={state}", headers={"cookie": cookie}
    )
    assert status == 200, body[:300]
    assert fake_slack.calls("oauth.v2.access")
    # The installed workspace's commands now run with its own bot token.
    seen = add_probe(bolt)
    fake_slack.clear()
    send_command(bolt, TEST_COMMAND, "hi", user_id="UNEW", team_id="T2")
    assert seen and seen[0]["actor"].slack_id == "UNEW"
    assert {c.headers.get("Authorization") for c in fake_slack.calls("users.info")} == {"Bearer xoxb-installed-T2"}
    # A workspace that never installed the app is told to install it; nothing runs.
    refused = send_command(bolt, TEST_COMMAND, "hi", user_id="UX", team_id="T404")
    assert refused.status == 200 and len(seen) == 1
    assert "install" in json.dumps(fake_slack.calls("response_url")[-1].body).lower()


def test_fake_slack_serves_files_upload_v2(slack_settings: Settings, fake_slack: FakeSlack) -> None:
    """The digest's chart goes through files_upload_v2: the fake answers all three steps."""
    client = make_client(slack_settings)
    resp = client.files_upload_v2(channel="C1", content=b"\x89PNG fake chart", filename="chart.png", title="Chart")
    assert resp["ok"] is True
    assert fake_slack.methods() == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert fake_slack.calls("upload")[0]["_bytes"] == len(b"\x89PNG fake chart")
    assert fake_slack.calls("files.completeUploadExternal")[0]["channel_id"] == "C1"


def test_fake_slack_server_errors_are_retried(slack_settings: Settings, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", 2, status=500)
    resp = make_client(slack_settings).chat_postMessage(channel="C1", text="hi")
    assert resp["ok"] is True and len(fake_slack.calls("chat.postMessage")) == 3
