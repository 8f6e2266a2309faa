"""`salesbot run` as a real process: HTTP mode over real HTTP, Socket Mode over a real
WebSocket, /healthz, webhooks routing, clean stop on SIGTERM, one-line config errors.

Slack is the fake Web API of tests/bot/fake_slack.py (SLACK_API_URL points at it).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.bot.fake_slack import FakeSlack
from tests.bot.signing import BOT_TOKEN, SIGNING_SECRET, command_body, sign
from tests.conftest import fresh_pg_database
from tests.e2e.conftest import SALESBOT, Running, base_env, free_port
from tests.e2e.fake_socket_mode import FakeSocketMode

# What an OAuth install needs beside the client id and secret (a fixed test key, not a real one).
OAUTH_SECRETS = {
    "SALESBOT_ENCRYPTION_KEY": "q3Vx0m3kP1e8yF7tW2aZ9cB4nL6hJ5dG0sR8uT1vX2k=",
    "SALESBOT_STATE_SECRET": "state-secret-for-tests-0123456789",
}

Launch = Callable[[list[str], dict[str, str], int], Running]


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode()


def http_env(fake: FakeSlack, db_url: str, port: int, **extra: str) -> dict[str, str]:
    return base_env(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.url,
        PORT=str(port),
        **extra,
    )


def post_command(base: str, body: str, secret: str = SIGNING_SECRET) -> tuple[int, Any, float]:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret)}
    started = time.monotonic()
    status, payload = http("POST", f"{base}/slack/events", body.encode(), headers)
    return status, payload, time.monotonic() - started


def test_http_mode_end_to_end(launch: Launch, fake_slack: FakeSlack, sqlite_url: str) -> None:
    port = free_port()
    bot = launch(["run"], http_env(fake_slack, sqlite_url, port), port)
    line = bot.wait_for_line("salesbot: running")
    assert "HTTP mode" in line and str(port) in line

    # Migrations ran first: the schema is there.
    engine = create_engine(sqlite_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"deals", "users", "alembic_version"} <= tables

    assert http("GET", f"{bot.url}/healthz") == (200, {"ok": True, "db": "ok"})

    fake_slack.add_user("UANA", "Ana", tz="Europe/Istanbul")
    body = command_body(
        "/deal", "new Acme renewal 12k", user_id="UANA", team_id="T1", response_url=fake_slack.response_url("e2e")
    )
    status, _, elapsed = post_command(bot.url, body)
    assert status == 200 and elapsed < 3.0
    [reply] = fake_slack.wait_for("response_url", 1, timeout=15)
    assert "Acme renewal" in json.dumps(reply.body)
    assert [c["user"] for c in fake_slack.calls("users.info")] == ["UANA"]

    # A forged signature is refused and has no effect.
    forged = command_body("/deal", "new Forged 1k", user_id="UANA", response_url=fake_slack.response_url("x"))
    status, _, _ = post_command(bot.url, forged, secret="wrong")
    assert status == 401
    assert http("GET", f"{bot.url}/nothing-here")[0] == 404
    assert http("GET", f"{bot.url}/slack/events")[0] == 405
    assert http("GET", f"{bot.url}/slack/install")[0] == 404  # OAuth is not configured

    assert bot.stop() == 0
    assert any("stopping" in line for line in bot.stderr)
    assert not any("Traceback" in line for line in bot.stderr), bot.stderr
    assert len(fake_slack.calls("response_url")) == 1  # the forged command did nothing


def test_lead_webhook_is_routed(launch: Launch, fake_slack: FakeSlack, sqlite_url: str) -> None:
    port = free_port()
    env = http_env(fake_slack, sqlite_url, port, SALESBOT_LEAD_WEBHOOK_SECRET="hook-secret-0123456789")
    bot = launch(["run"], env, port)
    bot.wait_for_line("salesbot: running")
    status, payload = http("POST", f"{bot.url}/hooks/leads", b'{"name": "Jane"}', {"Content-Type": "application/json"})
    assert status == 401, payload  # unsigned: refused by bot.webhooks, not lost in routing
    assert http("GET", f"{bot.url}/hooks/leads")[0] == 405


def test_socket_mode_end_to_end(launch: Launch, fake_slack: FakeSlack, sqlite_url: str) -> None:
    ws = FakeSocketMode()
    fake_slack.socket_mode_url = ws.url
    try:
        port = free_port()
        env = base_env(
            DATABASE_URL=sqlite_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN="xapp-1-A1-test",
            SLACK_API_URL=fake_slack.url,
            PORT=str(port),
        )
        bot = launch(["run"], env, port)
        assert "Socket Mode" in bot.wait_for_line("salesbot: running")
        assert ws.connected.wait(15), bot.stderr
        payload = {
            "token": "x",
            "team_id": "T1",
            "team_domain": "acme",
            "channel_id": "C1",
            "channel_name": "sales",
            "user_id": "UANA",
            "user_name": "ana",
            "command": "/deal",
            "text": "new Socket deal 5k",
            "api_app_id": "A1",
            "response_url": fake_slack.response_url("sm"),
            "trigger_id": "1.2.sm",
        }
        envelope_id = str(uuid.uuid4())
        ws.send(
            {"envelope_id": envelope_id, "type": "slash_commands", "payload": payload, "accepts_response_payload": True}
        )
        ack = ws.received.get(timeout=15)
        assert ack["envelope_id"] == envelope_id
        [reply] = fake_slack.wait_for("response_url", 1, timeout=15)
        assert "Socket deal" in json.dumps(reply.body)
        # The webhooks and the health check are still served on PORT; Slack's HTTP route is not.
        assert http("GET", f"{bot.url}/healthz") == (200, {"ok": True, "db": "ok"})
        assert http("POST", f"{bot.url}/slack/events", b"x=1")[0] == 404
        assert fake_slack.calls("apps.connections.open")
        assert bot.stop() == 0
    finally:
        ws.close()


@pytest.fixture
def pg_throwaway_url() -> Any:
    """A PostgreSQL database of its own, for a test that drops it."""
    with fresh_pg_database("salesbot_e2e") as db:
        yield db.admin, db.name, db.url


def test_healthz_is_503_when_the_database_is_gone(launch: Launch, fake_slack: FakeSlack, pg_throwaway_url: Any) -> None:
    admin, name, url = pg_throwaway_url
    port = free_port()
    bot = launch(["run"], http_env(fake_slack, url, port), port)
    bot.wait_for_line("salesbot: running")
    assert http("GET", f"{bot.url}/healthz") == (200, {"ok": True, "db": "ok"})
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    status, payload = http("GET", f"{bot.url}/healthz")
    assert status == 503 and payload["ok"] is False


def run_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SALESBOT, "run"], env=env, capture_output=True, text=True, timeout=60, cwd="/tmp")


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        ({}, ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "salesbot console"]),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, ["SLACK_SIGNING_SECRET"]),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "PORT": "eighty"}, ["PORT"]),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "s"}, ["SLACK_BOT_TOKEN", "xoxb-"]),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xoxb-wrong"}, ["SLACK_APP_TOKEN", "xapp-"]),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "DATABASE_URL": "salesbot.db"}, ["DATABASE_URL"]),
        # Every variable of SPEC section 2, wrong (and missing where missing is an error).
        *[({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", **bad}, names) for bad, names in [
            ({"DATABASE_URL": "nosuchdb://x"}, ["DATABASE_URL", "sqlite:///", "postgresql+psycopg://"]),
            ({"DATABASE_URL": "mysql://root:hunter2@db/sales"}, ["DATABASE_URL", "sqlite:///", "postgresql+psycopg://"]),
            ({"DATABASE_URL": "postgresql://u@127.0.0.1/"}, ["DATABASE_URL", "names no database"]),
            ({"SLACK_SIGNING_SECRET": "xoxb-pasted-the-token"}, ["SLACK_SIGNING_SECRET", "Basic Information"]),
            ({"SLACK_CLIENT_ID": "111.222"}, ["SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"]),
            ({"SLACK_CLIENT_SECRET": "c0ffee"}, ["SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"]),
            ({"SLACK_CLIENT_ID": "my-app", "SLACK_CLIENT_SECRET": "c0ffee"}, ["SLACK_CLIENT_ID", "digits.digits"]),
            ({"SALESBOT_STATE_SECRET": "short"}, ["SALESBOT_STATE_SECRET", "16"]),
            ({"SLACK_API_URL": "slack.com/api"}, ["SLACK_API_URL", "http"]),
            ({"SALESBOT_LEAD_WEBHOOK_SECRET": "hook"}, ["SALESBOT_LEAD_WEBHOOK_SECRET", "16"]),
            ({"SALESBOT_SCHEDULER": "sometimes"}, ["SALESBOT_SCHEDULER", "on or off"]),
            ({"SALESBOT_LOCALE": "klingon"}, ["SALESBOT_LOCALE", "en and tr"]),
            ({"SALESBOT_ENCRYPTION_KEY": "not-a-key"}, ["SALESBOT_ENCRYPTION_KEY", "Fernet"]),
            ({"LOG_LEVEL": "LOUD"}, ["LOG_LEVEL", "DEBUG"]),
            ({"LOG_FORMAT": "xml"}, ["LOG_FORMAT", "text or json"]),
            ({"PORT": "0"}, ["PORT", "1-65535"]),
            ({"PORT": "70000"}, ["PORT", "1-65535"]),
        ]],
        ({"SLACK_APP_TOKEN": "xapp-1-A1-t"}, ["SLACK_BOT_TOKEN", "Socket Mode"]),  # app token without a bot token
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-1-A1-t", "SLACK_CLIENT_ID": "111.222",
          "SLACK_CLIENT_SECRET": "c0ffee", **OAUTH_SECRETS}, ["SLACK_CLIENT_ID", "HTTP mode"]),
        # OAuth mode refuses to start without the key its tokens are encrypted with, or the state secret.
        ({"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "c0ffee",
          "SALESBOT_STATE_SECRET": OAUTH_SECRETS["SALESBOT_STATE_SECRET"]}, ["SALESBOT_ENCRYPTION_KEY", "OAuth"]),
        ({"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "c0ffee",
          "SALESBOT_ENCRYPTION_KEY": OAUTH_SECRETS["SALESBOT_ENCRYPTION_KEY"]}, ["SALESBOT_STATE_SECRET", "OAuth"]),
        ({"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "c0ffee",
          **OAUTH_SECRETS, "SALESBOT_ENCRYPTION_KEY": OAUTH_SECRETS["SALESBOT_ENCRYPTION_KEY"] + ",nope"},
         ["SALESBOT_ENCRYPTION_KEY", "Fernet"]),
    ],
)
def test_bad_settings_exit_2_with_one_line(extra: dict[str, str], names: list[str], sqlite_url: str) -> None:
    env = base_env(DATABASE_URL=sqlite_url)
    env.update(extra)
    result = run_once(env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("salesbot: ")
    for name in names:
        assert name in lines[0]
    assert "hunter2" not in result.stderr  # a password never reaches the log


def test_missing_optional_settings_take_their_defaults(tmp_path: Any) -> None:
    # No DATABASE_URL: sqlite:///salesbot.db in the working directory; nothing else needed to migrate.
    env = {k: v for k, v in base_env().items() if k != "SALESBOT_SCHEDULER"}
    done = subprocess.run([SALESBOT, "migrate"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "salesbot.db").exists() and "Database at revision" in done.stdout


def test_port_in_use_exits_1_with_one_line(fake_slack: FakeSlack, sqlite_url: str) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_once(http_env(fake_slack, sqlite_url, port))
    assert result.returncode == 1
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.startswith("salesbot:")]
    assert len(lines) == 1 and str(port) in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_scheduler_runs_in_process_and_stops_cleanly(launch: Launch, fake_slack: FakeSlack, sqlite_url: str) -> None:
    port = free_port()
    bot = launch(["run"], http_env(fake_slack, sqlite_url, port, SALESBOT_SCHEDULER="on"), port)
    line = bot.wait_for_line("salesbot: running")
    assert "(scheduler on)" in line
    assert http("GET", f"{bot.url}/healthz")[0] == 200
    assert bot.stop() == 0
    assert not any("Traceback" in ln for ln in bot.stderr), bot.stderr


def test_socket_mode_refused_exits_2_with_one_line(fake_slack: FakeSlack, sqlite_url: str) -> None:
    # The fake answers apps.connections.open with socket_mode_not_enabled (no socket_mode_url set).
    env = base_env(
        DATABASE_URL=sqlite_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN="xapp-1-A1-bad",
        SLACK_API_URL=fake_slack.url,
        PORT=str(free_port()),
    )
    result = run_once(env)
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.startswith("salesbot:")]
    assert len(lines) == 1 and "SLACK_APP_TOKEN" in lines[0] and "socket_mode_not_enabled" in lines[0], result.stderr
    assert result.stderr.strip() == lines[0]  # nothing else: no log noise, no traceback
    assert "Traceback" not in result.stderr


def test_sigterm_exits_promptly_finishing_acked_work_and_handing_queued_messages_back(
    launch: Launch, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    from datetime import UTC, datetime

    from core.db import UnitOfWork, make_engine, migrate
    from core.notify import outbox
    from core.tables import Deal, OutboxMessage, OutboxStatus
    from core.workspace.workspaces import get_or_create_workspace

    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    uow = UnitOfWork(engine)
    with uow.transaction() as s:
        ws = get_or_create_workspace(s, "T1", datetime.now(UTC)).id
        for i in range(30):  # one channel, paced at one a second: a 30 s drain if nobody stops it
            outbox.enqueue(s, ws, f"q{i:02d}", "test", "CSALES", {"text": f"queued {i}"}, datetime.now(UTC))
    port = free_port()
    bot = launch(["run"], http_env(fake_slack, sqlite_url, port, SALESBOT_SCHEDULER="on"), port)
    bot.wait_for_line("salesbot: running")
    fake_slack.wait_for("chat.postMessage", 1, timeout=30)  # the scheduler's delivery is under way
    fake_slack.add_user("UANA", "Ana")
    body = command_body("/deal", "new Acme stop 12k", user_id="UANA", team_id="T1",
                        response_url=fake_slack.response_url("stop"))
    status, _, _ = post_command(bot.url, body)
    assert status == 200
    started = time.monotonic()
    bot.proc.terminate()  # right after the ack: the deal is being saved after it
    code = bot.proc.wait(timeout=15)
    elapsed = time.monotonic() - started
    assert code == 0 and elapsed < 10, (code, elapsed, bot.stderr)
    assert not any("Traceback" in line for line in bot.stderr), bot.stderr
    assert any("salesbot: stopped" in line for line in bot.stderr)
    with uow.read() as s:
        assert [d.title for d in s.query(Deal)] == ["Acme stop"]  # acked work was finished
        rows = s.query(OutboxMessage).all()
    assert fake_slack.calls("response_url")
    sent = sorted(r.key for r in rows if r.status == OutboxStatus.SENT)
    waiting = [r for r in rows if r.status == OutboxStatus.PENDING]
    assert 1 <= len(sent) < 30 and len(sent) + len(waiting) == 30
    posted = [c["metadata"]["event_payload"]["key"] for c in fake_slack.calls("chat.postMessage")
              if c.get("metadata")]
    assert sorted(posted) == sent  # each sent once, nothing posted unrecorded
    assert all(r.held_until is None and r.claimed_by is None for r in waiting)  # handed back, free at once
    engine.dispose()


# -- hostile input over real HTTP (issue 12) --------------------------------------------------


def raw_post(port: int, path: str, head: dict[str, str], body: bytes, send: int | None = None) -> int:
    """POST over a plain socket; `send` bytes of the body only (the rest is never sent). Returns the status."""
    import socket

    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             *(f"{k}: {v}" for k, v in head.items())]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        with contextlib.suppress(OSError):  # the server may answer and close before the body is all sent
            conn.sendall(body[:send] if send is not None else body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def signed_headers(
    body: bytes, content_type: str, secret: str = SIGNING_SECRET, ts: str | None = None
) -> dict[str, str]:
    import hashlib
    import hmac

    stamp = ts or str(int(time.time()))
    mac = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={mac}"}


def deal_count(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM deals")).scalar() or 0)
    finally:
        engine.dispose()


def test_hostile_requests_over_real_http(launch: Launch, fake_slack: FakeSlack, sqlite_url: str) -> None:
    """The probe's reproductions against the real server: sizes, signatures, malformed bodies, replays."""
    port = free_port()
    hook = "hook-secret-0123456789"
    env = http_env(fake_slack, sqlite_url, port, LOG_LEVEL="INFO", SALESBOT_LEAD_WEBHOOK_SECRET=hook)
    bot = launch(["run"], env, port)
    bot.wait_for_line("salesbot: running")
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    # Unsigned bodies: 1 MB is read and refused (401); 10 MB and 50 MB are refused (413) on their
    # Content-Length, without the server waiting for (or storing) the body.
    assert raw_post(port, "/slack/events", {**form, "Content-Length": "1000000"}, b"a" * 1_000_000) == 401
    for size in (10 * 1024 * 1024, 50 * 1024 * 1024):
        assert raw_post(port, "/slack/events", {**form, "Content-Length": str(size)}, b"b" * 65536, send=65536) == 413
    # A chunked body (no Content-Length) is cut by waitress at 1 MiB too.
    chunk = b"c" * 65536
    chunked = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * 40 + b"0\r\n\r\n"  # 2.5 MiB
    assert raw_post(port, "/slack/events", {**form, "Transfer-Encoding": "chunked"}, chunked) == 413
    # A genuine command signed with the wrong secret: 401, and its response_url stays out of the log.
    leaky = command_body("/deal", "new Leaky Corp 9k", user_id="UANA",
                         response_url="https://hooks.slack.com/commands/T1/LEAKYURL")
    assert post_command(bot.url, leaky, secret="wrong")[0] == 401
    # Malformed requests: 400 or 401, never 500.
    bad_ts = {**signed_headers(b"x=1", "application/x-www-form-urlencoded"), "X-Slack-Request-Timestamp": "abc"}
    assert http("POST", f"{bot.url}/slack/events", b"x=1", bad_ts)[0] == 401
    assert http("POST", f"{bot.url}/slack/events", b"{nope", {"Content-Type": "application/json"})[0] == 401
    assert http("POST", f"{bot.url}/slack/events", b"\xff\xfe", {"Content-Type": "application/json"})[0] == 401
    for body, ctype in ((b"\xff\xfe{", "application/json"), (b"{nope", "application/json"),
                        (b"[" * 100_000 + b"]" * 100_000, "application/json"), (b"hello", "text/plain")):
        assert http("POST", f"{bot.url}/slack/events", body, signed_headers(body, ctype))[0] == 400
    from bot.webhooks import sign as hook_sign

    deep = b"[" * 100_000 + b"]" * 100_000
    stamp = str(int(time.time()))
    hook_headers = {"Content-Type": "application/json", "X-Salesbot-Timestamp": stamp,
                    "X-Salesbot-Signature": hook_sign(hook, stamp, deep)}
    assert http("POST", f"{bot.url}/hooks/leads", deep, hook_headers)[0] == 400
    assert raw_post(port, "/hooks/leads", {"Content-Type": "application/json",
                                           "Content-Length": str(10 * 1024 * 1024)}, b"{", send=1) == 413

    # Replays and retries: the same signed /deal new three times is one deal; a first delivery
    # that carries X-Slack-Retry-Num (its original was lost) is processed.
    fake_slack.add_user("UANA", "Ana")
    body = command_body("/deal", "new Replay Corp 12k", user_id="UANA", response_url=fake_slack.response_url("r"))
    headers = signed_headers(body.encode(), "application/x-www-form-urlencoded")
    for _ in range(3):
        assert http("POST", f"{bot.url}/slack/events", body.encode(), headers)[0] == 200
    late = command_body("/deal", "new Late Corp 1k", user_id="UANA", response_url=fake_slack.response_url("l"))
    late_headers = {**signed_headers(late.encode(), "application/x-www-form-urlencoded"), "X-Slack-Retry-Num": "1",
                    "X-Slack-Retry-Reason": "http_timeout"}
    assert http("POST", f"{bot.url}/slack/events", late.encode(), late_headers)[0] == 200
    fake_slack.wait_for("response_url", 2, timeout=15)
    time.sleep(0.5)  # give a wrongly processed replay the time to show up
    assert deal_count(sqlite_url) == 2
    assert len(fake_slack.calls("response_url")) == 2

    assert bot.stop() == 0
    log = "\n".join(bot.stderr)
    assert "Traceback" not in log and " 500 " not in log, log[-2000:]
    assert len(log) < 4000, log[-2000:]
    for leaked in ("LEAKYURL", "Leaky Corp", "aaaa", "bbbb", "cccc", "Invalid request signature", "v0="):
        assert leaked not in log, leaked
    refused = [ln for ln in bot.stderr if "refused" in ln]
    assert 1 <= len(refused) <= 6, refused  # one short line each, at most five a minute (+ a count)


def test_socket_mode_retries_have_no_second_effect(launch: Launch, fake_slack: FakeSlack, sqlite_url: str) -> None:
    """Issue 11 point 7: Slack resends an envelope (`retry_attempt`); it takes effect once."""
    ws = FakeSocketMode()
    fake_slack.socket_mode_url = ws.url
    try:
        port = free_port()
        env = base_env(DATABASE_URL=sqlite_url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN="xapp-1-A1-test",
                       SLACK_API_URL=fake_slack.url, PORT=str(port))
        bot = launch(["run"], env, port)
        bot.wait_for_line("salesbot: running")
        assert ws.connected.wait(15), bot.stderr
        fake_slack.add_user("UANA", "Ana")
        # An event whose first delivery arrives as a retry (the original was lost) counts, once.
        event = {"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "Ev0SMR1",
                 "event_time": 1700000000,
                 "event": {"type": "app_home_opened", "user": "UANA", "channel": "D1", "tab": "home",
                           "event_ts": "1700000000.000100"},
                 "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}]}
        for attempt in (1, 2):
            ws.send({"envelope_id": str(uuid.uuid4()), "type": "events_api", "payload": event,
                     "accepts_response_payload": False, "retry_attempt": attempt, "retry_reason": "timeout"})
            ws.received.get(timeout=15)
        fake_slack.wait_for("views.publish", 1, timeout=15)
        time.sleep(0.5)  # room for a wrong second effect to show
        assert len(fake_slack.calls("views.publish")) == 1
        # A command, then Slack's retries of its envelope: one deal, one answer; every envelope is acked.
        payload = {"token": "x", "team_id": "T1", "team_domain": "acme", "channel_id": "C1", "channel_name": "sales",
                   "user_id": "UANA", "user_name": "ana", "command": "/deal", "text": "new Socket retry 5k",
                   "api_app_id": "A1", "response_url": fake_slack.response_url("smr"), "trigger_id": "1.2.smr"}
        for attempt in (None, 1, 2):
            envelope: dict[str, Any] = {"envelope_id": str(uuid.uuid4()), "type": "slash_commands",
                                        "payload": payload, "accepts_response_payload": True}
            if attempt is not None:
                envelope |= {"retry_attempt": attempt, "retry_reason": "timeout"}
            ws.send(envelope)
            assert ws.received.get(timeout=15)["envelope_id"] == envelope["envelope_id"]
        fake_slack.wait_for("response_url", 1, timeout=15)
        time.sleep(0.5)
        assert len(fake_slack.calls("response_url")) == 1
        assert deal_count(sqlite_url) == 1
        assert bot.stop() == 0
    finally:
        ws.close()
