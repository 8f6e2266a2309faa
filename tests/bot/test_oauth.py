"""OAuth install on our own tables, encrypted tokens, rotation, per-workspace delivery, uninstall.

Everything goes through the real Bolt app and the HTTP server (signed requests, the install
page and its callback) against the fake Slack Web API, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from slack_bolt import App
from sqlalchemy import func, select, text

from bot.app import create_app
from bot.cli import main
from bot.clock import utcnow
from bot.config import ConfigError, Settings, load_settings
from bot.installations import StateStore
from bot.jobs import run_job
from bot.scheduler import workspace_clients
from bot.secrets import TokenCipher
from bot.server import SalesbotServer
from core.db import UnitOfWork
from core.notify import outbox
from core.tables import Installation, OAuthState, OutboxMessage, OutboxStatus, User, Workspace, WorkspaceStatus
from tests.bot.fake_slack import FakeSlack, Grant
from tests.bot.signing import SIGNING_SECRET, send_command, send_event
from tests.bot.test_app_runtime import wsgi_call
from tests.conftest import make_actor

KEY = "q3Vx0m3kP1e8yF7tW2aZ9cB4nL6hJ5dG0sR8uT1vX2k="
STATE_SECRET = "state-secret-for-tests-0123456789"
COOKIE = "slack-app-oauth-state"


@pytest.fixture
def oauth_settings(fake_slack: FakeSlack, db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        slack_signing_secret=SIGNING_SECRET,
        slack_client_id="111.222",
        slack_client_secret="client-secret",
        state_secret=STATE_SECRET,
        encryption_key=KEY,
        slack_api_url=fake_slack.url,
        scheduler=False,
    )


@pytest.fixture
def oauth_app(oauth_settings: Settings, uow: UnitOfWork, now: datetime, fake_slack: FakeSlack) -> App:
    bolt = create_app(oauth_settings, uow, clock=lambda: now, process_before_response=True)
    bolt.salesbot_test_fake = fake_slack  # type: ignore[attr-defined]
    return bolt


@pytest.fixture
def server(oauth_settings: Settings, uow: UnitOfWork, oauth_app: App, now: datetime) -> SalesbotServer:
    return SalesbotServer(oauth_settings, uow, bolt_app=oauth_app, clock=lambda: now)


def start_install(server: SalesbotServer) -> tuple[str, str]:
    """GET /slack/install: the state in Slack's authorize link and the browser cookie."""
    status, headers, body = wsgi_call(server, "GET", "/slack/install")
    assert status in (200, 302), body[:300]
    found = re.search(r"state=([^&\"]+)", headers.get("location") or body.decode())
    assert found is not None
    return found.group(1), headers["set-cookie"].split(";")[0]


def callback(server: SalesbotServer, query: str, cookie: str | None, language: str | None = None) -> tuple[int, str]:
    headers = {"cookie": cookie} if cookie else {}
    if language:
        headers["accept-language"] = language
    status, response_headers, body = wsgi_call(server, "GET", "/slack/oauth_redirect", query=query, headers=headers)
    assert response_headers.get("content-type", "").startswith("text/html")
    return status, body.decode()


def install(server: SalesbotServer, fake: FakeSlack, code: str, grant: Grant) -> str:
    fake.install(code, grant)
    state, cookie = start_install(server)
    status, page = callback(server, f"code={code}&state={state}", cookie)
    assert status == 200, page
    return page


def count(uow: UnitOfWork, table: Any) -> int:
    with uow.read() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def workspace(uow: UnitOfWork, team_id: str) -> Workspace:
    with uow.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.team_id == team_id))
        assert ws is not None
        return ws


def stored(uow: UnitOfWork, team_id: str) -> Installation | None:
    with uow.read() as s:
        return s.scalar(select(Installation).where(Installation.team_id == team_id))


def bearer(call: Any) -> str:
    return str(call.headers.get("Authorization", "")).removeprefix("Bearer ")


# -- install, encryption, rotation -----------------------------------------------------------


def test_install_stores_tokens_encrypted_and_rotates_them(
    server: SalesbotServer, oauth_app: App, fake_slack: FakeSlack, uow: UnitOfWork
) -> None:
    first = Grant("T1", "Acme", "xoxe.xoxb-T1-first", refresh_token="xoxe-1-refresh-T1-first", expires_in=60)
    page = install(server, fake_slack, "code-acme", first)
    assert "salesbot is installed in Acme" in page
    row = stored(uow, "T1")
    assert row is not None and row.bot_scopes.startswith("commands,chat:write")
    # At rest: ciphertext only, anywhere in the row; the key reads it back.
    with uow.read() as s:
        raw = " ".join(str(v) for v in s.execute(text("SELECT * FROM installations")).one())
    assert "xoxe.xoxb-T1-first" not in raw and "refresh-T1-first" not in raw
    cipher = TokenCipher([KEY])
    assert cipher.decrypt(row.bot_token) == "xoxe.xoxb-T1-first"
    assert cipher.decrypt(row.bot_refresh_token or "") == "xoxe-1-refresh-T1-first"
    ws = workspace(uow, "T1")
    assert (ws.status, ws.name) == (WorkspaceStatus.ACTIVE, "Acme")
    assert count(uow, OAuthState) == 0  # the state was used once and is gone

    # The token expires within the rotation window: the first request refreshes it (a refresh-token
    # grant), stores the new pair encrypted, and the listener's calls carry the new token.
    fake_slack.clear()
    send_command(oauth_app, "/deal", "help", user_id="UNEW", team_id="T1")
    [refresh] = fake_slack.calls("oauth.v2.access")
    assert refresh["grant_type"] == "refresh_token" and refresh["refresh_token"] == "xoxe-1-refresh-T1-first"
    rotated = stored(uow, "T1")
    assert rotated is not None
    assert cipher.decrypt(rotated.bot_token) == "xoxe.xoxb-T1-rotated-1"
    assert cipher.decrypt(rotated.bot_refresh_token or "") == "xoxe-1-refresh-T1-1"
    assert rotated.bot_token_expires_at is not None and rotated.bot_token_expires_at > utcnow() + timedelta(hours=11)
    assert {bearer(c) for c in fake_slack.calls("users.info")} == {"xoxe.xoxb-T1-rotated-1"}
    # Good for 12 hours now: the next request does not refresh again.
    send_command(oauth_app, "/deal", "help", user_id="UNEW", team_id="T1")
    assert len(fake_slack.calls("oauth.v2.access")) == 1
    assert len(fake_slack.calls("auth.test")) == 1  # Bolt's auth.test answer is kept per token


def test_oauth_mode_refuses_to_start_without_its_key_or_state_secret() -> None:
    base = {"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "c0ffee"}
    with pytest.raises(ConfigError, match="SALESBOT_ENCRYPTION_KEY is not set"):
        load_settings({**base, "SALESBOT_STATE_SECRET": STATE_SECRET}, read_dotenv=False)
    with pytest.raises(ConfigError, match="SALESBOT_STATE_SECRET is not set"):
        load_settings({**base, "SALESBOT_ENCRYPTION_KEY": KEY}, read_dotenv=False)
    with pytest.raises(ConfigError, match="SALESBOT_ENCRYPTION_KEY is not a Fernet key"):
        load_settings({**base, "SALESBOT_STATE_SECRET": STATE_SECRET, "SALESBOT_ENCRYPTION_KEY": KEY + ",x"},
                      read_dotenv=False)
    both = load_settings({**base, "SALESBOT_STATE_SECRET": STATE_SECRET,
                          "SALESBOT_ENCRYPTION_KEY": f"{Fernet.generate_key().decode()},{KEY}"}, read_dotenv=False)
    assert both.oauth and both.encryption_key and both.encryption_key.endswith(KEY)
    # Single-workspace mode needs neither.
    assert load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, read_dotenv=False).oauth is False


# -- bad callbacks: a clear page, nothing stored ---------------------------------------------


def _expired_state(uow: UnitOfWork) -> str:
    """A state issued (and signed) 11 minutes ago: past its 10 minutes."""
    return StateStore(uow, STATE_SECRET, clock=lambda: utcnow() - timedelta(minutes=11)).issue()


@pytest.mark.parametrize(
    ("case", "status", "says"),
    [
        ("no state", 400, "carried no state"),
        ("other browser", 400, "started in another browser"),
        ("forged", 401, "not one salesbot issued"),
        ("wrong secret", 401, "not one salesbot issued"),
        ("expired", 401, "has expired"),
        ("used twice", 401, "was used already"),
        ("code refused", 401, "Slack refused the authorization code"),
        ("cancelled", 200, "cancelled in Slack"),
    ],
)
def test_bad_callbacks_answer_a_clear_page_and_store_nothing(
    case: str, status: int, says: str, server: SalesbotServer, fake_slack: FakeSlack, uow: UnitOfWork
) -> None:
    fake_slack.install("good-code", Grant("T1", "Acme", "xoxb-acme"))
    state, cookie = start_install(server)
    nonce, expires, signature = state.split(".")
    if case == "no state":
        query, cookie_sent = "code=good-code", cookie
    elif case == "other browser":
        query, cookie_sent = f"code=good-code&state={state}", f"{COOKIE}=someone-elses"
    elif case == "forged":
        forged = f"{nonce}.{int(expires) + 3600}.{signature}"  # a longer life, the old signature
        query, cookie_sent = f"code=good-code&state={forged}", f"{COOKIE}={forged}"
    elif case == "wrong secret":
        other = StateStore(uow, "another-secret-0123456789abcdef").issue()
        query, cookie_sent = f"code=good-code&state={other}", f"{COOKIE}={other}"
    elif case == "expired":
        old = _expired_state(uow)
        query, cookie_sent = f"code=good-code&state={old}", f"{COOKIE}={old}"
    elif case == "used twice":
        fake_slack.install("first-code", Grant("T9", "Nine", "xoxb-nine"))
        assert callback(server, f"code=first-code&state={state}", cookie)[0] == 200
        with uow.transaction() as s:  # the first install is not what this case is about
            s.execute(text("DELETE FROM installations"))
            s.execute(text("DELETE FROM pipelines"))
            s.execute(text("DELETE FROM stages"))
            s.execute(text("DELETE FROM workspaces"))
        query, cookie_sent = f"code=good-code&state={state}", cookie
    elif case == "code refused":
        query, cookie_sent = f"code=not-a-code&state={state}", cookie
    else:
        query, cookie_sent = f"error=access_denied&state={state}", cookie
    fake_slack.clear()
    got, page = callback(server, query, cookie_sent)
    assert (got, says in page, "Nothing was installed" in page) == (status, True, True), page
    assert count(uow, Installation) == 0 and count(uow, Workspace) == 0
    exchanged = fake_slack.calls("oauth.v2.access")
    assert len(exchanged) == (1 if case == "code refused" else 0)  # a bad state never reaches Slack


# -- every job per workspace, with its own token; a dead token pauses only its workspace ----------


def queue(uow: UnitOfWork, team_id: str, n: int, now: datetime, tag: str = "m") -> list[str]:
    keys = []
    with uow.transaction() as s:
        ws_id = s.scalar(select(Workspace.id).where(Workspace.team_id == team_id))
        assert ws_id is not None
        for i in range(n):
            key = f"{tag}-{team_id}-{i}"
            assert outbox.enqueue(s, ws_id, key, "nudge", f"C{team_id}{tag}{i}", {"text": f"{key}"}, now)
            keys.append(key)
    return keys


def posted_keys(fake: FakeSlack) -> list[tuple[str, str]]:
    """(outbox key, token) of each chat.postMessage that Slack accepted."""
    out = []
    for call in fake.calls("chat.postMessage"):
        if bearer(call) in fake.revoked:
            continue
        meta = call.get("metadata")
        if isinstance(meta, str):
            import json

            meta = json.loads(meta)
        out.append((str(meta["event_payload"]["key"]), bearer(call)))
    return out


def deliver(settings: Settings, uow: UnitOfWork, now: datetime) -> str:
    client_for, pause = workspace_clients(settings, uow)
    return run_job("deliver", uow, now, None, client_for=client_for, pause=pause)


def test_two_workspaces_one_token_revoked_the_other_delivers_exactly_once(
    server: SalesbotServer, oauth_settings: Settings, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime,
    caplog: pytest.LogCaptureFixture, db_url: str,
) -> None:
    # T1 rotates its token (expiring within the window: delivery refreshes it first); T2 does not.
    install(server, fake_slack, "c1", Grant("T1", "Acme", "xoxe.xoxb-T1-a", "xoxe-1-refresh-T1-a", expires_in=60))
    install(server, fake_slack, "c2", Grant("T2", "Beta", "xoxb-T2-a"))
    one, two = queue(uow, "T1", 3, now), queue(uow, "T2", 3, now)
    fake_slack.revoked.add("xoxb-T2-a")
    fake_slack.clear()
    with caplog.at_level(logging.WARNING):
        summary = deliver(oauth_settings, uow, now)
    assert "3 sent" in summary and "0 failed" in summary
    assert sorted(posted_keys(fake_slack)) == [(k, "xoxe.xoxb-T1-rotated-1") for k in one]
    # T2: one post refused, then nothing more tried; the workspace is paused, its messages wait.
    assert [bearer(c) for c in fake_slack.calls("chat.postMessage")].count("xoxb-T2-a") == 1
    t2 = workspace(uow, "T2")
    assert (t2.status, t2.status_reason) == (WorkspaceStatus.PAUSED, "Slack answered token_revoked")
    assert workspace(uow, "T1").status == WorkspaceStatus.ACTIVE
    with uow.read() as s:
        statuses = {k: v for k, v in s.execute(select(OutboxMessage.key, OutboxMessage.status))}
    assert {statuses[k] for k in two} == {OutboxStatus.PENDING} and {statuses[k] for k in one} == {OutboxStatus.SENT}
    [line] = [r.getMessage() for r in caplog.records if "paused" in r.getMessage()]
    assert "T2" in line and "token_revoked" in line and "3 message(s) wait" in line
    assert not any(tok in r.getMessage() for r in caplog.records for tok in ("xoxb-T2-a", "xoxe.xoxb-T1"))
    # An operator sees it.
    listed = CliRunner().invoke(main, ["installs", "list"], env={"DATABASE_URL": db_url})
    assert listed.exit_code == 0, listed.output
    assert re.search(r"T2\s+paused\s+\(Slack answered token_revoked\) since .*; tokens stored; 3 waiting",
                     listed.output)
    assert re.search(r"T1\s+active\s+; tokens stored; 0 waiting", listed.output)

    # Delivering again sends nothing twice and does not knock on T2's door.
    fake_slack.clear()
    deliver(oauth_settings, uow, now)
    assert fake_slack.calls("chat.postMessage") == []
    # A reinstall of T2 makes it active; its messages go out once, with the new token.
    install(server, fake_slack, "c3", Grant("T2", "Beta", "xoxb-T2-b"))
    assert workspace(uow, "T2").status == WorkspaceStatus.ACTIVE
    deliver(oauth_settings, uow, now)
    deliver(oauth_settings, uow, now)
    assert sorted(posted_keys(fake_slack)) == [(k, "xoxb-T2-b") for k in two]


# -- uninstall ---------------------------------------------------------------------------------


def test_app_uninstalled_deactivates_sets_aside_and_a_reinstall_brings_it_back(
    server: SalesbotServer, oauth_app: App, oauth_settings: Settings, fake_slack: FakeSlack, uow: UnitOfWork,
    now: datetime, db_url: str,
) -> None:
    make_actor(uow, "UANA", name="Ana", team_id="T1")  # T1's data before the install
    install(server, fake_slack, "c1", Grant("T1", "Acme", "xoxb-T1-a"))
    install(server, fake_slack, "c2", Grant("T2", "Beta", "xoxb-T2-a"))
    waiting, other = queue(uow, "T1", 2, now), queue(uow, "T2", 1, now)

    assert send_event(oauth_app, {"type": "app_uninstalled"}, team_id="T1").status == 200
    t1 = workspace(uow, "T1")
    assert (t1.status, t1.status_reason) == (WorkspaceStatus.UNINSTALLED, "app_uninstalled")
    assert stored(uow, "T1") is None and stored(uow, "T2") is not None
    with uow.read() as s:
        aside = outbox.set_aside_messages(s)
    assert [(m.team_id, m.key) for m in aside] == [("T1", k) for k in waiting]
    # A job deciding to message T1 now keeps it set aside; nothing goes to T1, T2 goes on.
    later = queue(uow, "T1", 1, now, tag="late")
    fake_slack.clear()
    deliver(oauth_settings, uow, now)
    assert posted_keys(fake_slack) == [(other[0], "xoxb-T2-a")]
    listed = CliRunner().invoke(main, ["installs", "set-aside", "--team-id", "T1"], env={"DATABASE_URL": db_url})
    assert listed.exit_code == 0 and "3 message(s) set aside" in listed.output
    assert all(k in listed.output for k in waiting + later)

    # Reinstalled: active again, with its data; what was set aside stays aside, new messages go out.
    install(server, fake_slack, "c3", Grant("T1", "Acme", "xoxb-T1-b"))
    t1 = workspace(uow, "T1")
    assert (t1.status, t1.status_reason) == (WorkspaceStatus.ACTIVE, None)
    with uow.read() as s:
        assert s.scalar(select(User.name).where(User.workspace_id == t1.id, User.slack_id == "UANA")) == "Ana"
    fresh = queue(uow, "T1", 1, now, tag="fresh")
    fake_slack.clear()
    deliver(oauth_settings, uow, now)
    assert posted_keys(fake_slack) == [(fresh[0], "xoxb-T1-b")]
    with uow.read() as s:
        assert len(outbox.set_aside_messages(s)) == 3


def test_tokens_revoked(
    server: SalesbotServer, oauth_app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime
) -> None:
    install(server, fake_slack, "c1", Grant("T1", "Acme", "xoxb-T1-a"))
    with uow.transaction() as s:  # an installer's user token beside the bot token
        row = s.scalar(select(Installation).where(Installation.team_id == "T1"))
        assert row is not None
        row.user_token = TokenCipher([KEY]).encrypt("xoxp-installer")
    waiting = queue(uow, "T1", 1, now)
    # Only user tokens revoked: the user token is forgotten, the workspace goes on.
    send_event(oauth_app, {"type": "tokens_revoked", "tokens": {"oauth": ["UINSTALLER"], "bot": []}}, team_id="T1")
    row = stored(uow, "T1")
    assert row is not None and row.user_token is None and row.bot_token
    assert workspace(uow, "T1").status == WorkspaceStatus.ACTIVE
    # The bot token revoked: like an uninstall.
    send_event(oauth_app, {"type": "tokens_revoked", "tokens": {"bot": ["UBOT2"]}}, team_id="T1")
    t1 = workspace(uow, "T1")
    assert (t1.status, t1.status_reason) == (WorkspaceStatus.UNINSTALLED, "tokens_revoked")
    assert stored(uow, "T1") is None
    with uow.read() as s:
        assert [m.key for m in outbox.set_aside_messages(s, t1.id)] == waiting


# -- keys rotate ---------------------------------------------------------------------------------


def test_keys_rotate_reencrypts_every_token_all_or_nothing(
    server: SalesbotServer, fake_slack: FakeSlack, uow: UnitOfWork, db_url: str
) -> None:
    install(server, fake_slack, "c1", Grant("T1", "Acme", "xoxb-T1-a", "xoxe-1-refresh-T1-a", expires_in=43200))
    install(server, fake_slack, "c2", Grant("T2", "Beta", "xoxb-T2-a"))
    new = Fernet.generate_key().decode()

    def rotate(env_key: str, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(
            main, ["keys", "rotate", *args], env={"DATABASE_URL": db_url, "SALESBOT_ENCRYPTION_KEY": env_key}
        )
        return result.exit_code, result.output

    def tokens(key: str) -> set[str]:
        with uow.read() as s:
            rows = list(s.scalars(select(Installation)))
        cipher = TokenCipher([key])
        return {cipher.decrypt(v) for r in rows for v in (r.bot_token, r.bot_refresh_token) if v}

    clear = {"xoxb-T1-a", "xoxe-1-refresh-T1-a", "xoxb-T2-a"}
    assert tokens(KEY) == clear
    # A bad new key, or no key at all: refused, nothing changed.
    assert rotate(KEY, "--new-key", "not-a-key")[0] == 2
    assert CliRunner().invoke(main, ["keys", "rotate"], env={"DATABASE_URL": db_url}).exit_code == 2
    # One step: under --new-key; the old key reads nothing any more.
    code, out = rotate(KEY, "--new-key", new)
    assert code == 0 and "Re-encrypted 3 stored token(s)" in out, out
    assert tokens(new) == clear
    with pytest.raises(Exception, match="cannot be decrypted"):
        tokens(KEY)
    # The old key alone cannot read them: the rotation stops and changes nothing.
    with uow.read() as s:
        before = sorted(s.scalars(select(Installation.bot_token)))
    code, out = rotate(KEY, "--new-key", Fernet.generate_key().decode())
    assert code == 1 and "nothing was changed" in out
    with uow.read() as s:
        assert sorted(s.scalars(select(Installation.bot_token))) == before
    # Without downtime: NEWER,NEW in the variable, rotate, then NEWER alone reads everything.
    newer = Fernet.generate_key().decode()
    code, out = rotate(f"{newer},{new}")
    assert code == 0 and "drop the others" in out
    assert tokens(newer) == clear
    with pytest.raises(Exception, match="cannot be decrypted"):
        tokens(new)


def test_a_refresh_slack_refuses_pauses_that_workspace_only(
    server: SalesbotServer, oauth_settings: Settings, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime
) -> None:
    install(server, fake_slack, "c1", Grant("T1", "Acme", "xoxe.xoxb-T1-a", "xoxe-1-refresh-T1-a", expires_in=60))
    install(server, fake_slack, "c2", Grant("T2", "Beta", "xoxb-T2-a"))
    fake_slack.refresh_tokens.clear()  # Slack no longer knows T1's refresh token
    one, two = queue(uow, "T1", 2, now), queue(uow, "T2", 2, now)
    fake_slack.clear()
    deliver(oauth_settings, uow, now)
    assert sorted(posted_keys(fake_slack)) == [(k, "xoxb-T2-a") for k in two]
    t1 = workspace(uow, "T1")
    assert (t1.status, t1.status_reason) == (WorkspaceStatus.PAUSED, "Slack answered invalid_refresh_token")
    with uow.read() as s:
        assert set(s.scalars(select(OutboxMessage.status).where(OutboxMessage.key.in_(one)))) == {
            OutboxStatus.PENDING
        }


def test_single_workspace_mode_honours_an_uninstall_and_a_new_token_brings_it_back(
    app: App, slack_settings: Settings, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime
) -> None:
    from bot.app import make_client
    from bot.installations import reactivate_single_workspace

    make_actor(uow, "UANA", name="Ana", team_id="T1")
    waiting = queue(uow, "T1", 2, now)
    send_event(app, {"type": "app_uninstalled"}, team_id="T1")
    assert workspace(uow, "T1").status == WorkspaceStatus.UNINSTALLED
    fake_slack.clear()
    assert "0 sent" in run_job("deliver", uow, now, make_client(slack_settings))
    assert fake_slack.calls("chat.postMessage") == []
    with uow.read() as s:
        assert [m.key for m in outbox.set_aside_messages(s)] == waiting
    # The operator reinstalls and restarts with the new token: `salesbot run` checks it and the
    # workspace is active again; new messages go out, the ones set aside stay aside.
    assert reactivate_single_workspace(uow, make_client(slack_settings), now) == "T1"
    assert workspace(uow, "T1").status == WorkspaceStatus.ACTIVE
    fresh = queue(uow, "T1", 1, now, tag="fresh")
    run_job("deliver", uow, now, make_client(slack_settings))
    assert [k for k, _ in posted_keys(fake_slack)] == fresh
    assert reactivate_single_workspace(uow, make_client(slack_settings), now) is None  # nothing inactive: no call
    assert len(fake_slack.calls("auth.test")) == 1


def test_an_operator_resumes_a_paused_workspace_and_its_messages_go_out_once(
    server: SalesbotServer, oauth_settings: Settings, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime,
    db_url: str,
) -> None:
    install(server, fake_slack, "c2", Grant("T2", "Beta", "xoxb-T2-a"))
    two = queue(uow, "T2", 3, now)
    fake_slack.revoked.add("xoxb-T2-a")  # a refusal that turns out temporary (Slack's side, or fixed by an admin)
    deliver(oauth_settings, uow, now)
    assert workspace(uow, "T2").status == WorkspaceStatus.PAUSED
    env = {"DATABASE_URL": db_url}
    unknown = CliRunner().invoke(main, ["installs", "resume", "T9"], env=env)
    assert unknown.exit_code == 2 and "no workspace T9 here" in unknown.output

    fake_slack.revoked.discard("xoxb-T2-a")
    fake_slack.clear()
    resumed = CliRunner().invoke(main, ["installs", "resume", "T2"], env=env)
    assert resumed.exit_code == 0, resumed.output
    assert "T2 is active again; 3 message(s) go out with the next delivery" in resumed.output
    assert workspace(uow, "T2").status == WorkspaceStatus.ACTIVE
    assert "3 sent" in deliver(oauth_settings, uow, now)
    assert sorted(posted_keys(fake_slack)) == sorted((k, "xoxb-T2-a") for k in two)
    again = CliRunner().invoke(main, ["installs", "resume", "T2"], env=env)
    assert again.exit_code == 1 and "T2 is active, not paused: nothing to resume" in again.output


def test_the_pages_after_slack_speak_the_browsers_language(
    server: SalesbotServer, fake_slack: FakeSlack, uow: UnitOfWork
) -> None:
    from bot.installations import browser_language

    assert browser_language({"accept-language": "tr-TR,tr;q=0.9,en;q=0.8"}) == "tr"
    assert browser_language({"accept-language": "de-DE,en;q=0.5,tr;q=0.7"}) == "tr"  # by weight, then order
    assert browser_language({"accept-language": "de, fr;q=0.9"}) == "en"  # none spoken: English
    assert browser_language({"accept-language": "tr;q=0, en"}) == "en" and browser_language({}) == "en"

    state, cookie = start_install(server)
    got, page = callback(server, f"error=access_denied&state={state}", cookie, "tr-TR,tr;q=0.9")
    assert got == 200 and '<html lang="tr">' in page
    assert "Kurulum iptal edildi" in page and "Hiçbir şey kurulmadı." in page and "Kurulumu yeniden başlatın" in page

    fake_slack.install("code-tr", Grant("T7", "Yedi", "xoxb-T7"))
    state, cookie = start_install(server)
    got, page = callback(server, f"code=code-tr&state={state}", cookie, "tr")
    assert got == 200 and "salesbot Yedi çalışma alanına kuruldu" in page
    assert count(uow, Installation) == 1
