"""Logs (issue 14): LOG_FORMAT=json gives JSON lines; no line, at any level, holds a secret or an e-mail.

The leak test drives the real app through the WSGI server at DEBUG (slack_sdk then logs every
request and response body), in both formats, and reads what the one configured handler wrote.
"""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient

from bot.app import create_app
from bot.config import Settings
from bot.delivery import Deliverer, delivery_client
from bot.logs import EMAIL, SECRET, TOKEN, JsonFormatter, Redactor, configure_logging, redactor_of, settings_secrets
from bot.metrics import Metrics
from bot.server import SalesbotServer
from bot.webhooks import sign as sign_hook
from core.db import UnitOfWork
from core.notify import outbox
from core.tables import Role
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack
from tests.bot.fake_slack_rate_limited import VirtualClock
from tests.bot.signing import command_body, sign
from tests.bot.test_app_runtime import wsgi_call
from tests.conftest import make_actor

BOT_TOKEN = "xoxb-1111-2222-LeakMeNotBotToken"
APP_TOKEN = "xapp-1-A0001-3333-LeakMeNotAppToken"
HOOK_SECRET = "hook-secret-4f1c2a9b7e6d5c3b"
STATE_SECRET = "state-secret-8a7b6c5d4e3f2a1b"
CLIENT_SECRET = "client-secret-9f8e7d6c5b4a"
ENCRYPTION_KEY = "Q2hhbmdlTWVJbnRoZVRlc3RTdWl0ZUtleTEyMzQ1Njc="
EMAILS = ("zoe.hart@acme-corp.io", "kim.lee@example.org", "root+ops@salesbot.example")
LEAK_PATTERNS = (
    re.compile(r"xox[a-z]-|xapp-"),
    re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+\.[A-Za-z]"),
)
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    alembic = logging.getLogger("alembic").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(alembic)


def _settings(base: Settings, log_format: str, **changes: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": BOT_TOKEN, "lead_webhook_secret": HOOK_SECRET, "state_secret": STATE_SECRET,
        "encryption_key": ENCRYPTION_KEY, "log_level": "DEBUG", "log_format": log_format, **changes,
    }
    return dataclasses.replace(base, **values)  # type: ignore[arg-type]


def _forbidden(settings: Settings) -> list[str]:
    return [*settings_secrets(settings), APP_TOKEN, CLIENT_SECRET, "xoxb-installed-T2", *EMAILS]


def _check(output: str, settings: Settings, log_format: str) -> None:
    for secret in _forbidden(settings):
        assert secret not in output, f"{secret!r} leaked into the logs"
    for pattern in LEAK_PATTERNS:
        assert not pattern.search(output), f"{pattern.search(output)!r} leaked into the logs"
    if log_format == "json":
        for line in output.splitlines():
            entry = json.loads(line)
            assert {"time", "level", "logger", "message"} <= set(entry)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_log_line_holds_a_token_a_secret_or_an_email(
    log_format: str, restore_logging: None, slack_settings: Settings, uow: UnitOfWork, now: datetime,
    fake_slack: FakeSlack, root: Actor,
) -> None:
    settings = _settings(slack_settings, log_format, slack_app_token=None)
    stream = io.StringIO()
    handler = configure_logging(settings, stream)
    redactor_of(handler).add(APP_TOKEN, CLIENT_SECRET)  # values of settings not in use in this run
    app = create_app(settings, uow, clock=lambda: now, process_before_response=True)
    server = SalesbotServer(settings, uow, bolt_app=app, clock=lambda: now, metrics=Metrics())
    url = fake_slack.response_url()

    # Slash commands, one carrying a lead's e-mail (Bolt and slack_sdk log bodies at DEBUG).
    for command, text in (
        ("/deal", "new Acme renewal 12k"),
        ("/lead", f"new Zoe Hart Acme {EMAILS[0]}"),
        ("/lead", "list"),
        ("/lead", "show L-1"),
    ):
        body = command_body(command, text, user_id="UROOT", response_url=url)
        assert wsgi_call(server, "POST", "/slack/events", body.encode(), {"content-type": FORM, **sign(body)})[0] == 200
    forged = command_body("/deal", "list", user_id="UROOT")
    wrong = {"content-type": FORM, **sign(forged, "not-the-secret")}
    assert wsgi_call(server, "POST", "/slack/events", forged.encode(), wrong)[0] == 401

    # The lead webhook, with an e-mail; then a forged one.
    lead = json.dumps({"name": "Kim Lee", "email": EMAILS[1], "company": "Globex", "employees": 5000}).encode()
    stamp = str(int(now.timestamp()))
    hook_headers = {"content-type": "application/json", "x-salesbot-timestamp": stamp,
                    "x-salesbot-signature": sign_hook(HOOK_SECRET, stamp, lead)}
    assert wsgi_call(server, "POST", "/hooks/leads", lead, hook_headers)[0] == 200
    bad = {**hook_headers, "x-salesbot-signature": sign_hook("another-secret-0000", stamp, lead)}
    assert wsgi_call(server, "POST", "/hooks/leads", lead, bad)[0] == 401

    # Delivery: messages about the leads, a Slack failure, and a message that cannot render (a traceback).
    with uow.transaction() as s:
        outbox.enqueue(s, root.workspace_id, "mail", "test", "UROOT", {"text": f"New lead {EMAILS[1]}"}, now)
        outbox.enqueue(s, root.workspace_id, "odd", "test", "UROOT", {"view": f"card-for-{EMAILS[0]}"}, now)
        outbox.enqueue(s, root.workspace_id, "gone", "test", "C404", {"text": f"to {EMAILS[2]}"}, now)
    fake_slack.fail_next("chat.postMessage", 1, status=200, error="channel_not_found")
    clock = VirtualClock(now)
    client = delivery_client(WebClient(token=BOT_TOKEN, base_url=fake_slack.url), timeout=5)
    stats = Deliverer(uow, client, clock=clock.now, sleep=clock.sleep, metrics=Metrics()).drain()
    assert stats.sent + stats.failed == 3 and stats.failed >= 1

    # An error raised with secrets in its text (as a library might), logged with its traceback.
    try:
        raise RuntimeError(f"auth failed for {BOT_TOKEN} / {ENCRYPTION_KEY} / {HOOK_SECRET} ({EMAILS[2]})")
    except RuntimeError:
        logging.getLogger("salesbot.test").exception("call failed with %s", CLIENT_SECRET, extra={"who": EMAILS[0]})

    output = stream.getvalue()
    _check(output, settings, log_format)
    # The flows did log at DEBUG, and what they carried was redacted, not missing.
    assert "chat.postMessage" in output and "Traceback" in output
    assert EMAIL in output and SECRET in output
    assert len(output.splitlines()) > 20


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_oauth_paths_log_no_secret(
    log_format: str, restore_logging: None, slack_settings: Settings, uow: UnitOfWork, now: datetime,
    fake_slack: FakeSlack,
) -> None:
    settings = _settings(slack_settings, log_format, slack_bot_token=None, slack_client_id="1111.2222",
                         slack_client_secret=CLIENT_SECRET)
    stream = io.StringIO()
    configure_logging(settings, stream)
    app = create_app(settings, uow, clock=lambda: now, process_before_response=True)
    server = SalesbotServer(settings, uow, bolt_app=app, clock=lambda: now, metrics=Metrics())
    status, headers, page = wsgi_call(server, "GET", "/slack/install")
    assert status in (200, 302)
    found = re.search(r"state=([A-Za-z0-9_\-.]+)", page.decode() + headers.get("location", ""))
    assert found is not None
    cookie = headers.get("set-cookie", "").split(";")[0]
    # A forged state is refused; the real one installs (Slack's answer carries the bot token).
    forged = wsgi_call(server, "GET", "/slack/oauth_redirect", query=urlencode({"code": "c0de", "state": "forged"}),
                       headers={"cookie": cookie})
    assert forged[0] >= 400
    query = urlencode({"code": "c0de", "state": found.group(1)})
    assert wsgi_call(server, "GET", "/slack/oauth_redirect", query=query, headers={"cookie": cookie})[0] == 200
    assert fake_slack.calls("oauth.v2.access")
    output = stream.getvalue()
    _check(output, settings, log_format)
    assert "oauth.v2.access" in output
    assert TOKEN in output  # Slack's answer to oauth.v2.access (the new bot token) was logged, redacted


def test_the_redactor_cleans_messages_arguments_exceptions_and_extras() -> None:
    redactor = Redactor(["s3cret-value-1234", "p@ss word/&"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s for %s in %s", (
        "xoxe.xoxp-1-abc", "ann@b.co", "postgresql://u:pw123@db:5432/x"), None)
    try:
        raise ValueError("s3cret-value-1234 and xoxb-9-9 and p%40ss+word%2F%26")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    record.who = {"email": "ann@b.co", "n": 1}
    assert redactor.filter(record) is True
    assert record.getMessage() == f"token {TOKEN} for {EMAIL} in postgresql://u:***@db:5432/x"
    assert record.exc_text is not None and "ValueError" in record.exc_text and record.exc_info is not None
    assert "s3cret" not in record.exc_text and "xoxb-9" not in record.exc_text and "p%40ss" not in record.exc_text
    assert record.who == {"email": EMAIL, "n": 1}
    assert "s3cret" not in logging.Formatter().format(record)  # the redacted text is what formatters print
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == record.getMessage() and line["who"] == {"email": EMAIL, "n": 1}
    assert line["level"] == "INFO" and line["logger"] == "x" and line["time"].endswith("+00:00")
    assert "ValueError" in line["exception"]


def test_short_values_are_not_treated_as_secrets() -> None:
    # A four-letter "secret" would blank every word it appears in.
    assert Redactor(["test"]).redact("a test line") == "a test line"


def test_log_format_json_through_the_cli(
    tmp_path: Path, restore_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message"} <= set(e) for e in lines)
    assert any(e["logger"].startswith("alembic") for e in lines)
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "salesbot_handler", False)]
    assert len(handlers) == 1 and isinstance(handlers[0].formatter, JsonFormatter)
    assert BOT_TOKEN not in result.stderr


def test_a_workspaces_own_webhook_secret_is_redacted_once_read_or_at_start(
    restore_logging: None, uow: UnitOfWork, now: datetime
) -> None:
    from bot.logs import redact_from_now_on
    from bot.secrets import generate_key, stored_webhook_secrets, webhook_secret_seal
    from core.workspace import setup
    from tests.bot.test_webhook_secret_sealed import _post

    own, other = "workspace-two-own-secret", f"workspace-three-secret-{now.timestamp():.0f}"
    settings = Settings(encryption_key=generate_key())
    for team, secret in (("T2", own), ("T3", other)):
        admin = make_actor(uow, f"UADM{team}", team_id=team, role=Role.ADMIN)
        s = setup.workspace_settings(uow, admin)
        setup.update_workspace_settings(
            uow, admin, now=now, default_currency=s.default_currency, locale=s.locale,
            digest_weekday=s.digest_weekday, digest_time=s.digest_time, hot_lead_threshold=s.hot_lead_threshold,
            quiet_start=s.quiet_start, quiet_end=s.quiet_end, lead_webhook_secret=secret,
            seal=webhook_secret_seal(settings))
    stream = io.StringIO()
    configure_logging(settings, stream)
    assert _post(uow, now, settings, "zoe@x.io") == 200  # T2's secret read by the webhook
    logging.getLogger("salesbot.test").warning("a line with %s in it", own)
    with uow.read() as session:  # what `salesbot run` does at start, for every workspace
        assert set(stored_webhook_secrets(session, settings)) >= {own, other}
        redact_from_now_on(*stored_webhook_secrets(session, settings))
    logging.getLogger("salesbot.test").warning("and %s too", other)
    configure_logging(settings, stream)  # a handler made later knows them as well
    logging.getLogger("salesbot.test").warning("again %s", own)
    out = stream.getvalue()
    assert own not in out and other not in out and out.count("[redacted]") == 3
