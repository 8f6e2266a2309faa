"""The operator's view (issue 14): /metrics in Prometheus format and /readyz, on both backends."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from alembic import command
from prometheus_client.parser import text_string_to_metric_families
from slack_bolt import App
from slack_sdk import WebClient

from bot.config import Settings
from bot.delivery import Deliverer, delivery_client
from bot.metrics import METRICS, Metrics, request_kind
from bot.scheduler import Scheduler
from bot.server import SalesbotServer
from bot.views import deals as deal_views
from core.db import UnitOfWork, alembic_config, make_engine, migration_heads
from core.notify import outbox
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack
from tests.bot.fake_slack_rate_limited import VirtualClock
from tests.bot.signing import block_actions_payload, command_body, sign
from tests.bot.test_app_runtime import wsgi_call
from tests.conftest import make_actor
from tests.core.test_migrations import scratch_url  # noqa: F401  (fixture: an empty database per backend)

FORM = "application/x-www-form-urlencoded"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: SalesbotServer) -> Samples:
    status, headers, body = wsgi_call(server, "GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def value(samples: Samples, metric: str, **labels: str) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


def post_slack(server: SalesbotServer, body: str) -> int:
    """A signed Slack request through the WSGI server, as waitress hands it over."""
    headers = {"content-type": FORM, **sign(body)}
    return wsgi_call(server, "POST", "/slack/events", body.encode(), headers)[0]


def test_ack_latency_is_measured_per_command_and_interaction_kind(
    app: App, slack_settings: Settings, uow: UnitOfWork, now: datetime, ana: Actor
) -> None:
    metrics = Metrics()
    server = SalesbotServer(slack_settings, uow, bolt_app=app, clock=lambda: now, metrics=metrics)
    fake: FakeSlack = app.salesbot_test_fake  # type: ignore[attr-defined]
    url = fake.response_url()
    assert post_slack(server, command_body("/deal", "new Acme renewal 12k", response_url=url)) == 200
    assert post_slack(server, command_body("/deal", "list", response_url=url)) == 200
    assert post_slack(server, command_body("/lead", "list", response_url=url)) == 200
    click = block_actions_payload(deal_views.SHOW, "1", user_id="UANA", response_url=url)
    assert post_slack(server, "payload=" + json.dumps(click)) == 200
    # A forged request is refused before Bolt: no ack is measured for it.
    raw = command_body("/deal", "list")
    forged = {"content-type": FORM, **sign(raw, "wrong")}
    assert wsgi_call(server, "POST", "/slack/events", raw.encode(), forged)[0] == 401
    samples = scrape(server)
    assert value(samples, "salesbot_ack_seconds_count", kind="command", name="/deal") == 2
    assert value(samples, "salesbot_ack_seconds_count", kind="command", name="/lead") == 1
    assert value(samples, "salesbot_ack_seconds_count", kind="block_actions", name="") == 1
    assert value(samples, "salesbot_ack_seconds_bucket", kind="command", name="/deal", le="+Inf") == 2
    assert 0 < value(samples, "salesbot_ack_seconds_sum", kind="command", name="/deal") < 10
    # A metrics object of its own: the process-wide one saw none of this.
    assert METRICS.registry is not metrics.registry


def test_request_kinds_are_read_from_commands_payloads_and_events() -> None:
    form = {"content-type": FORM}
    assert request_kind(form, command_body("/lead", "new Zoe").encode()) == ("command", "/lead")
    view = "payload=" + json.dumps({"type": "view_submission", "view": {}})
    assert request_kind(form, view.encode()) == ("view_submission", "")
    event = json.dumps({"type": "event_callback", "event": {"type": "app_home_opened"}}).encode()
    assert request_kind({"content-type": "application/json"}, event) == ("event", "app_home_opened")
    assert request_kind(form, b"payload=%7Bnot json") == ("other", "")
    assert request_kind(form, b"\xff\xfe") == ("other", "")
    assert request_kind({"content-type": "application/json"}, b"[1, 2]") == ("other", "")


def test_outbox_backlog_and_oldest_due_age_per_workspace_are_read_at_scrape_time(
    slack_settings: Settings, uow: UnitOfWork, now: datetime, ana: Actor
) -> None:
    other = make_actor(uow, "UZED", team_id="T2")
    server = SalesbotServer(slack_settings, uow, bolt_app=None, clock=lambda: now, metrics=Metrics())
    ws, ws2 = str(ana.workspace_id), str(other.workspace_id)
    before = scrape(server)
    assert value(before, "salesbot_database_up") == 1
    assert value(before, "salesbot_outbox_pending", workspace=ws) == 0
    assert value(before, "salesbot_outbox_oldest_due_age_seconds", workspace=ws) == 0
    with uow.transaction() as s:
        for minutes in (10, 4, 1):
            at = now - timedelta(minutes=minutes)
            outbox.enqueue(s, ana.workspace_id, f"due{minutes}", "test", "UANA", {"text": "x"}, at)
        later = now + timedelta(hours=2)  # held back (quiet hours): pending, not due
        outbox.enqueue(s, ana.workspace_id, "later", "test", "UANA", {"text": "x"}, now, not_before=later)
        outbox.enqueue(s, ana.workspace_id, "gone", "test", "UANA", {"text": "x"}, now)
        outbox.enqueue(s, other.workspace_id, "t2", "test", "UZED", {"text": "x"}, now - timedelta(seconds=30))
    with uow.transaction() as s:
        [gone] = [i for i in outbox.claim(s, now, 10) if i.key == "gone"]
        outbox.mark_failed(s, gone.id, now, "channel_not_found")
    samples = scrape(server)
    assert value(samples, "salesbot_outbox_pending", workspace=ws) == 4
    assert value(samples, "salesbot_outbox_due", workspace=ws) == 3
    assert value(samples, "salesbot_outbox_failed", workspace=ws) == 1
    assert value(samples, "salesbot_outbox_oldest_due_age_seconds", workspace=ws) == 600
    assert value(samples, "salesbot_outbox_pending", workspace=ws2) == 1
    assert value(samples, "salesbot_outbox_oldest_due_age_seconds", workspace=ws2) == 30
    assert value(samples, "salesbot_workspace_info", workspace=ws2, team_id="T2") == 1


def test_a_scrape_answers_when_the_database_does_not(slack_settings: Settings, tmp_path: Path, now: datetime) -> None:
    broken = UnitOfWork(make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}"))
    server = SalesbotServer(slack_settings, broken, bolt_app=None, clock=lambda: now, metrics=Metrics())
    samples = scrape(server)
    assert value(samples, "salesbot_database_up") == 0
    assert wsgi_call(server, "POST", "/metrics")[0] == 405


def test_deliveries_are_counted_by_workspace_and_outcome_with_429s(
    slack_settings: Settings, uow: UnitOfWork, now: datetime, ana: Actor, fake_slack: FakeSlack
) -> None:
    metrics = Metrics()
    server = SalesbotServer(slack_settings, uow, bolt_app=None, clock=lambda: now, metrics=metrics)
    with uow.transaction() as s:
        outbox.enqueue(s, ana.workspace_id, "ok", "test", "UANA", {"text": "hello"}, now)
        outbox.enqueue(s, ana.workspace_id, "lost", "test", "C404", {"text": "x"}, now)
        outbox.enqueue(s, ana.workspace_id, "broken", "test", "UANA", {"view": "no-such-view"}, now)
    fake_slack.fail_next("chat.postMessage", 2, status=429, retry_after=3)
    clock = VirtualClock(now)
    client = delivery_client(WebClient(token="xoxb-test", base_url=fake_slack.url), timeout=5)
    deliverer = Deliverer(uow, client, clock=clock.now, sleep=clock.sleep, metrics=metrics)
    stats = deliverer.drain()
    assert (stats.sent, stats.rate_limited) == (2, 2)  # the "lost" one too: the fake knows every channel
    assert stats.failed == 1
    samples = scrape(server)
    ws = str(ana.workspace_id)
    assert value(samples, "salesbot_deliveries_total", workspace=ws, outcome="sent") == 2
    assert value(samples, "salesbot_deliveries_total", workspace=ws, outcome="rate_limited") == 2
    assert value(samples, "salesbot_deliveries_total", workspace=ws, outcome="failed") == 1
    assert value(samples, "salesbot_slack_rate_limited_total", source="delivery") == 2
    fake_slack.fail_next("chat.postMessage", 1, status=500)
    with uow.transaction() as s:
        outbox.enqueue(s, ana.workspace_id, "flaky", "test", "UANA", {"text": "x"}, clock.now())
    assert deliverer.drain().retried == 1
    assert value(scrape(server), "salesbot_deliveries_total", workspace=ws, outcome="retried") == 1


def test_429s_met_by_the_listeners_client_are_counted(app: App, fake_slack: FakeSlack) -> None:
    before = METRICS.rate_limited.labels(source="api")._value.get()
    fake_slack.fail_next("chat.postMessage", 1, status=429, retry_after=0)
    assert app.client.chat_postMessage(channel="C1", text="hi")["ok"] is True  # slack_sdk retried it
    assert METRICS.rate_limited.labels(source="api")._value.get() == before + 1


def test_job_runs_and_durations_with_the_leader_lock(uow: UnitOfWork, now: datetime, ana: Actor) -> None:
    metrics = Metrics()
    leader = Scheduler(uow, None, clock=lambda: now, metrics=metrics)
    follower = Scheduler(uow, None, clock=lambda: now, metrics=metrics)
    assert leader.run("nudges") == "nudges: 0 queued"
    assert follower.run("nudges") is None  # the leader holds the scheduler lease
    assert leader.run("deliver") is None  # no Slack client: the job fails, the scheduler lives on
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(metrics.exposition().decode()) for s in f.samples
    }
    assert value(samples, "salesbot_job_runs_total", job="nudges", outcome="ok") == 1
    assert value(samples, "salesbot_job_runs_total", job="nudges", outcome="skipped") == 1
    assert value(samples, "salesbot_job_runs_total", job="deliver", outcome="error") == 1
    assert value(samples, "salesbot_job_seconds_count", job="nudges") == 1  # skipped ticks are not timed


# -- readiness ----------------------------------------------------------------------------------


def ready(server: SalesbotServer) -> tuple[int, dict[str, object]]:
    status, _, body = wsgi_call(server, "GET", "/readyz")
    return status, json.loads(body)


def test_readyz_follows_the_migrations_while_healthz_stays_a_liveness_check(
    scratch_url: str, slack_settings: Settings, now: datetime  # noqa: F811
) -> None:
    engine = make_engine(scratch_url)
    server = SalesbotServer(slack_settings, UnitOfWork(engine), bolt_app=None, clock=lambda: now, metrics=Metrics())
    try:
        [head] = migration_heads()
        status, body = ready(server)
        assert (status, body["reason"], body["current"]) == (503, "database not migrated: run salesbot migrate", [])
        cfg = alembic_config(scratch_url)
        command.upgrade(cfg, "head")
        assert ready(server) == (200, {"ok": True, "db": "ok", "revision": [head]})
        command.downgrade(cfg, "-1")  # one revision behind
        status, body = ready(server)
        assert status == 503 and body["reason"] == "migrations not at head: run salesbot migrate"
        assert body["head"] == [head] and body["current"] and body["current"] != [head]
        assert wsgi_call(server, "GET", "/healthz")[0] == 200  # alive, just not ready
        assert wsgi_call(server, "POST", "/readyz")[0] == 405
        command.upgrade(cfg, "head")
        assert ready(server)[0] == 200
    finally:
        engine.dispose()


def test_readyz_503_when_the_database_is_unreachable(slack_settings: Settings, tmp_path: Path, now: datetime) -> None:
    broken = UnitOfWork(make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}"))
    server = SalesbotServer(slack_settings, broken, bolt_app=None, clock=lambda: now, metrics=Metrics())
    assert ready(server) == (503, {"ok": False, "reason": "database unreachable"})


def test_readyz_on_the_test_schema_says_it_is_not_migrated(
    slack_settings: Settings, uow: UnitOfWork, now: datetime
) -> None:
    # The shared test database is built from the models, not by Alembic: no revision recorded.
    server = SalesbotServer(slack_settings, uow, bolt_app=None, clock=lambda: now, metrics=Metrics())
    status, body = ready(server)
    assert status == 503 and body["current"] == [] and body["head"] == list(migration_heads())
