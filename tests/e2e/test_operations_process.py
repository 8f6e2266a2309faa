"""`salesbot run` as a real process, seen by an operator: /readyz, /metrics, JSON-lines logs
at DEBUG that hold no token, secret or e-mail (issue 14)."""
from __future__ import annotations

import json
import re

from prometheus_client.parser import text_string_to_metric_families

from tests.bot.fake_slack import FakeSlack
from tests.bot.signing import BOT_TOKEN, SIGNING_SECRET, command_body
from tests.e2e.conftest import base_env, free_port
from tests.e2e.fake_socket_mode import FakeSocketMode
from tests.e2e.test_run_process import Launch, http, http_env, post_command

EMAIL = "zoe.hart@acme-corp.io"


def test_readyz_metrics_and_json_logs_of_a_running_bot(launch: Launch, fake_slack: FakeSlack, sqlite_url: str) -> None:
    port = free_port()
    env = http_env(fake_slack, sqlite_url, port, LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    bot = launch(["run"], env, port)
    bot.wait_for_line("salesbot: running")
    status, body = http("GET", f"{bot.url}/readyz")
    assert status == 200 and body["ok"] is True and body["revision"]

    fake_slack.add_user("UANA", "Ana")
    for text in ("new Acme renewal 12k", "list"):
        body_text = command_body("/deal", text, user_id="UANA", response_url=fake_slack.response_url("d"))
        assert post_command(bot.url, body_text)[0] == 200
    url = fake_slack.response_url("l")
    lead = command_body("/lead", f"new Zoe Hart Acme {EMAIL}", user_id="UANA", response_url=url)
    assert post_command(bot.url, lead)[0] == 200
    fake_slack.wait_for("response_url", 3, timeout=15)
    show = command_body("/lead", "show L-1", user_id="UANA", response_url=fake_slack.response_url("s"))
    assert post_command(bot.url, show)[0] == 200
    [*_, card] = fake_slack.wait_for("response_url", 4, timeout=15)
    assert EMAIL in json.dumps(card.body)  # the card shows the e-mail to the user; the logs must not

    status, text = http("GET", f"{bot.url}/metrics")
    assert status == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }
    assert samples[("salesbot_ack_seconds_count", (("kind", "command"), ("name", "/deal")))] == 2
    assert samples[("salesbot_ack_seconds_count", (("kind", "command"), ("name", "/lead")))] == 2
    assert samples[("salesbot_database_up", ())] == 1
    assert bot.stop() == 0

    logs = [line for line in bot.stderr if line.startswith("{")]
    assert len(logs) > 10  # DEBUG: Bolt's and slack_sdk's lines too
    for line in logs:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry)
    # The only other lines are salesbot's own status lines.
    assert all(line.startswith(("{", "salesbot: ")) for line in bot.stderr), bot.stderr
    everything = "\n".join(bot.stderr)
    for secret in (BOT_TOKEN, SIGNING_SECRET, EMAIL):
        assert secret not in everything
    assert "[redacted-email]" in everything  # it was logged (the reply's body, at DEBUG), redacted
    assert not re.search(r"xox[a-z]-|[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+\.[a-z]", everything)


def test_socket_mode_acks_are_measured_too(launch: Launch, fake_slack: FakeSlack, sqlite_url: str) -> None:
    ws = FakeSocketMode()
    fake_slack.socket_mode_url = ws.url
    try:
        port = free_port()
        env = base_env(DATABASE_URL=sqlite_url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN="xapp-1-A1-test",
                       SLACK_API_URL=fake_slack.url, PORT=str(port))
        bot = launch(["run"], env, port)
        assert "Socket Mode" in bot.wait_for_line("salesbot: running")
        assert ws.connected.wait(15), bot.stderr
        payload = {"team_id": "T1", "channel_id": "C1", "user_id": "UANA", "command": "/pipeline", "text": "",
                   "api_app_id": "A1", "response_url": fake_slack.response_url("sm"), "trigger_id": "1.2.sm"}
        ws.send({"envelope_id": "e1", "type": "slash_commands", "payload": payload, "accepts_response_payload": True})
        assert ws.received.get(timeout=15)["envelope_id"] == "e1"
        status, text = http("GET", f"{bot.url}/metrics")
        assert status == 200
        [count] = [
            s.value for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == "salesbot_ack_seconds_count" and s.labels == {"kind": "command", "name": "/pipeline"}
        ]
        assert count == 1
        assert status == 200 and http("GET", f"{bot.url}/readyz")[0] == 200
        assert bot.stop() == 0
    finally:
        ws.close()
