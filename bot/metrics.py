"""What an operator scrapes at `GET /metrics` (Prometheus text format, issue 14).

One `Metrics` holds its own CollectorRegistry (never prometheus_client's global one), so
tests, and several apps in one process, each count for themselves. The process-wide
instance is `METRICS`; the server, the scheduler and the deliverer take it by default.

- `salesbot_ack_seconds{kind, name}`: time from a signed Slack request reaching the server
  to Bolt's answer (the ack): kind `command` (name `/deal`, `/lead`, ...), `block_actions`,
  `view_submission`, `shortcut`, `event` (name: the event type), ...
- `salesbot_deliveries_total{workspace, outcome}`: each try of the outbox deliverer, by
  outcome: sent, found (already in Slack, marked sent), retried, failed, rate_limited.
- `salesbot_slack_rate_limited_total{source}`: Slack's 429s, met by delivery (`delivery`)
  or by the listeners' Web API client (`api`, retried by slack_sdk after Retry-After).
- `salesbot_job_runs_total{job, outcome}` and `salesbot_job_seconds{job}`: scheduler ticks
  (ok, error, skipped: another replica leads).
- At scrape time, read from the database (`OutboxCollector`): `salesbot_outbox_pending`,
  `salesbot_outbox_due`, `salesbot_outbox_failed` and `salesbot_outbox_oldest_due_age_seconds`
  per workspace, `salesbot_workspace_info{workspace, team_id}` (to join the internal id to a
  Slack team id) and `salesbot_database_up`.

`workspace` is salesbot's internal workspace id (as in the outbox rows): a bounded label.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.request_guard import FORM, load_json
from core.db import UnitOfWork

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Slack wants an ack within 3 s: buckets are finer below that.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
DELIVERY_OUTCOMES = ("sent", "found", "retried", "failed", "rate_limited")
_NAME_LIMIT = 40  # a label value from a request is cut to this

T = TypeVar("T")


class Metrics:
    """The counters and histograms of one salesbot process (or one test)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.ack_seconds = Histogram(
            "salesbot_ack_seconds", "Time to acknowledge a Slack request, by kind and command",
            ["kind", "name"], buckets=ACK_BUCKETS, registry=self.registry,
        )
        self.deliveries = Counter(
            "salesbot_deliveries", "Outbox delivery tries by workspace and outcome",
            ["workspace", "outcome"], registry=self.registry,
        )
        self.rate_limited = Counter(
            "salesbot_slack_rate_limited", "HTTP 429 answers from Slack's Web API",
            ["source"], registry=self.registry,
        )
        self.job_runs = Counter(
            "salesbot_job_runs", "Scheduled job ticks by outcome (ok, error, skipped)",
            ["job", "outcome"], registry=self.registry,
        )
        self.job_seconds = Histogram(
            "salesbot_job_seconds", "Duration of scheduled job runs that did work",
            ["job"], buckets=JOB_BUCKETS, registry=self.registry,
        )
        self._outbox: OutboxCollector | None = None

    def watch_outbox(self, uow: UnitOfWork, clock: Callable[[], datetime]) -> None:
        """Read the outbox gauges from this database at each scrape (once per Metrics)."""
        if self._outbox is not None:
            self._outbox.uow, self._outbox.clock = uow, clock
            return
        self._outbox = OutboxCollector(uow, clock)
        self.registry.register(self._outbox)

    def exposition(self) -> bytes:
        """The text a scrape receives."""
        return generate_latest(self.registry)

    # -- recording ----------------------------------------------------------------------------

    def observe_ack(self, kind: str, name: str, seconds: float) -> None:
        self.ack_seconds.labels(kind=kind, name=name).observe(seconds)

    def delivered(self, workspace_id: int, outcome: str, count: int = 1) -> None:
        self.deliveries.labels(workspace=str(workspace_id), outcome=outcome).inc(count)
        if outcome == "rate_limited":
            self.rate_limited.labels(source="delivery").inc(count)

    def observe_send(self, send: Callable[[Any, Any], T], item: Any, stats: Any) -> T:
        """`send(item, stats)`, one delivery try of an outbox item, counted by what it did as read
        off the drain's `stats` (bot.delivery.DeliveryStats): the deliverer needs no other change."""
        workspace_id = int(item.workspace_id)
        before = {name: int(getattr(stats, name)) for name in DELIVERY_OUTCOMES}
        try:
            return send(item, stats)
        finally:
            grew = {name: int(getattr(stats, name)) - count for name, count in before.items()}
            grew["sent"] -= grew["found"]  # `found` is counted in `sent` too: `sent` is posted now
            for name, count in grew.items():
                if count > 0:
                    self.delivered(workspace_id, name, count)

    @contextmanager
    def job(self, name: str) -> Iterator[Callable[[str], None]]:
        """Time one job tick; the body may call the yielded function with `skipped`."""
        outcome = ["ok"]
        started = time.perf_counter()
        try:
            yield lambda value: outcome.__setitem__(0, value)
        except BaseException:
            outcome[0] = "error"
            raise
        finally:
            self.job_runs.labels(job=name, outcome=outcome[0]).inc()
            if outcome[0] != "skipped":
                self.job_seconds.labels(job=name).observe(time.perf_counter() - started)

    def count_rate_limits(self) -> RetryHandler:
        """A retry handler that only counts 429s (put it first; it never retries itself)."""
        return _Count429(self)


class _Count429(RetryHandler):
    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self.metrics = metrics

    def can_retry(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            self.metrics.rate_limited.labels(source="api").inc()
        return False


class OutboxCollector(Collector):
    """The outbox gauges, per workspace, read from the database at scrape time."""

    def __init__(self, uow: UnitOfWork, clock: Callable[[], datetime]) -> None:
        self.uow = uow
        self.clock = clock

    def describe(self) -> list[Any]:
        return []  # the families depend on the database: nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from core.notify.outbox import backlog

        up = GaugeMetricFamily("salesbot_database_up", "1 when the scrape could read the database")
        pending = GaugeMetricFamily("salesbot_outbox_pending", "Messages waiting in the outbox", labels=["workspace"])
        due = GaugeMetricFamily("salesbot_outbox_due", "Pending messages due now", labels=["workspace"])
        failed = GaugeMetricFamily("salesbot_outbox_failed", "Messages given up on", labels=["workspace"])
        oldest = GaugeMetricFamily(
            "salesbot_outbox_oldest_due_age_seconds", "How long the oldest due message has waited",
            labels=["workspace"],
        )
        info = GaugeMetricFamily(
            "salesbot_workspace_info", "Slack team id of a workspace", labels=["workspace", "team_id"]
        )
        now = self.clock()
        try:
            with self.uow.read() as session:
                rows = backlog(session, now)
        except Exception:  # a scrape must answer even when the database does not
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for row in rows:
            ws = str(row.workspace_id)
            info.add_metric([ws, row.team_id], 1)
            pending.add_metric([ws], row.pending)
            due.add_metric([ws], row.due)
            failed.add_metric([ws], row.failed)
            age = (now - row.oldest_due).total_seconds() if row.oldest_due is not None else 0.0
            oldest.add_metric([ws], max(age, 0.0))
        yield from (up, info, pending, due, failed, oldest)


def request_kind(headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """(kind, name) of a signed Slack request, for the ack histogram: ("command", "/deal"),
    ("block_actions", ""), ("event", "app_home_opened"), ... Unknown shapes give ("other", "")."""
    try:
        text = body.decode("utf-8")
        content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type == FORM and not text.startswith("{"):
            form = dict(parse_qsl(text, keep_blank_values=True))
            if "payload" not in form:
                return payload_kind(form) if "command" in form else ("other", "")
            parsed = load_json(form["payload"])
        else:
            parsed = load_json(text)
    except ValueError:
        return "other", ""
    return payload_kind(parsed)


def payload_kind(parsed: Any) -> tuple[str, str]:
    """(kind, name) of a parsed Slack payload (a slash command's form as a dict, an interaction
    payload, an Events API envelope): what `request_kind` reads, and Socket Mode hands over."""
    if not isinstance(parsed, dict):
        return "other", ""
    if "command" in parsed:
        return "command", str(parsed["command"])[:_NAME_LIMIT]
    kind = str(parsed.get("type") or "other")[:_NAME_LIMIT]
    if kind == "event_callback":
        event = parsed.get("event")
        return "event", (str(event.get("type") or "")[:_NAME_LIMIT] if isinstance(event, dict) else "")
    return kind, ""

METRICS = Metrics()
