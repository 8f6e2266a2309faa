"""`salesbot run` as an OAuth install: the install page, the callback, per-workspace delivery.

The installed `salesbot` process (HTTP mode, scheduler on) against the fake Slack: a workspace
installs through /slack/install and /slack/oauth_redirect, its tokens land encrypted, the
scheduler's delivery posts its messages with its own token, and a token Slack then revokes
pauses that workspace with a log line that names it and not the token.
"""
from __future__ import annotations

import http.client
import re
import time
from datetime import UTC, datetime

from sqlalchemy import select, text

from bot.secrets import TokenCipher
from core.db import UnitOfWork, make_engine
from core.notify import outbox
from core.tables import Workspace, WorkspaceStatus
from tests.bot.fake_slack import FakeSlack, Grant
from tests.bot.signing import SIGNING_SECRET
from tests.e2e.conftest import base_env, free_port
from tests.e2e.test_run_process import OAUTH_SECRETS, Launch


def get(port: int, path: str, cookie: str | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
    finally:
        conn.close()


def wait_until(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_oauth_install_and_delivery_in_the_running_process(
    launch: Launch, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    port = free_port()
    env = base_env(
        DATABASE_URL=sqlite_url, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake_slack.url, PORT=str(port),
        SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret", SALESBOT_SCHEDULER="on", **OAUTH_SECRETS,
    )
    bot = launch(["run"], env, port)
    bot.wait_for_line("salesbot: running")

    status, headers, page = get(port, "/slack/install")
    found = re.search(r"state=([^&\"]+)", headers.get("location", "") + page)
    assert status in (200, 302) and found is not None
    state, cookie = found.group(1), headers["set-cookie"].split(";")[0]
    # A forged state first: a clear page, nothing stored.
    status, _, page = get(port, f"/slack/oauth_redirect?code=x&state={state}x", cookie=f"{cookie}x")
    assert status == 401 and "not one salesbot issued" in page
    fake_slack.install("code-acme", Grant("T1", "Acme", "xoxb-acme-1"))
    status, _, page = get(port, f"/slack/oauth_redirect?code=code-acme&state={state}", cookie=cookie)
    assert status == 200 and "salesbot is installed in Acme" in page, page

    engine = make_engine(sqlite_url)
    uow = UnitOfWork(engine)
    try:
        with uow.read() as s:
            [stored] = s.execute(text("SELECT bot_token FROM installations WHERE team_id = 'T1'")).scalars().all()
            ws_id = s.scalar(select(Workspace.id).where(Workspace.team_id == "T1"))
        assert stored != "xoxb-acme-1" and TokenCipher([OAUTH_SECRETS["SALESBOT_ENCRYPTION_KEY"]]).decrypt(
            stored) == "xoxb-acme-1"
        assert ws_id is not None
        now = datetime.now(UTC)
        with uow.transaction() as s:
            outbox.enqueue(s, ws_id, "e2e-1", "nudge", "C1", {"text": "first"}, now)
        [post] = fake_slack.wait_for("chat.postMessage", 1, timeout=30)
        assert post.headers.get("Authorization") == "Bearer xoxb-acme-1"

        # Slack revokes the token: the next message pauses the workspace, it is not failed.
        fake_slack.revoked.add("xoxb-acme-1")
        with uow.transaction() as s:
            outbox.enqueue(s, ws_id, "e2e-2", "nudge", "C2", {"text": "second"}, now)
        bot.wait_for_line("workspace T1 paused")

        def paused() -> bool:
            with uow.read() as s:
                return s.scalar(select(Workspace.status).where(Workspace.id == ws_id)) == WorkspaceStatus.PAUSED

        wait_until(paused)
        with uow.read() as s:
            assert outbox.pending_count_of(s, ws_id) == 1
    finally:
        engine.dispose()
    assert bot.stop() == 0
    assert not any("xoxb-acme" in line for line in bot.stderr), bot.stderr
    assert not any("Traceback" in line for line in bot.stderr), bot.stderr
