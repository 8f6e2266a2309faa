"""APScheduler (3.x, UTC) wired to the jobs of bot/jobs.py, with one leader among replicas.

Reminders are rows, not scheduler jobs: the scheduler holds a handful of periodic sweeps.
With several replicas every one may run a scheduler, but only the holder of the
`scheduler` lease (a row in the leases table, on SQLite and PostgreSQL alike) runs the
sweeps; the others skip each tick and take over within a lease period if the leader dies.
Delivery has its own lease (bot/delivery.py), so any replica may drain the outbox, one at
a time. SALESBOT_SCHEDULER=off starts nothing.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient

from bot.clock import utcnow
from bot.config import Settings
from bot.jobs import JOBS, SCHEDULED
from bot.metrics import METRICS, Metrics
from core.db import UnitOfWork
from core.notify import outbox

logger = logging.getLogger(__name__)

LEADER_LEASE = "scheduler"
LEADER_TTL = timedelta(minutes=3)  # the nudges job renews it every minute


class Scheduler:
    """The running scheduler: `.shutdown()` stops it and hands the leadership on."""

    def __init__(
        self,
        uow: UnitOfWork,
        client: WebClient | None,
        clock: Callable[[], datetime] = utcnow,
        client_for: Callable[[int], WebClient | None] | None = None,
        pause: Callable[[int, str], None] | None = None,
        metrics: Metrics = METRICS,
    ) -> None:
        self.metrics = metrics  # job runs and durations (bot/metrics.py)
        self.uow = uow
        self.client = client
        self.clock = clock
        self.client_for = client_for  # per-workspace clients of an OAuth install
        self.pause = pause  # stops a workspace whose token Slack refuses (OAuth install)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self.aps = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        for name in SCHEDULED:
            job = JOBS[name]
            self.aps.add_job(self.run, job.trigger(), args=[name], id=name, name=job.description)

    def is_leader(self, now: datetime) -> bool:
        """Take or renew the scheduler lease; True while this replica holds it."""
        with self.uow.transaction() as session:
            return outbox.acquire_lease(session, LEADER_LEASE, self.holder, now, LEADER_TTL)

    def run(self, name: str) -> str | None:
        """One tick of a job, on the leader only (delivery guards itself with its own lease)."""
        now = self.clock()
        try:
            if name != "deliver" and not self.is_leader(now):
                self.metrics.job_runs.labels(job=name, outcome="skipped").inc()
                return None
            options: dict[str, object] = {}
            if name == "deliver":
                options["stop"] = self.stopping  # a shutdown ends a drain at once, handing rows back
                if self.client_for:
                    options["client_for"] = self.client_for
                if self.pause:
                    options["pause"] = self.pause
            with self.metrics.job(name):
                summary = JOBS[name].run(self.uow, now, self.client, **options)
            logger.info("%s", summary)
            return summary
        except Exception:  # one failed tick must not stop the scheduler
            logger.exception("scheduled job %s failed", name)
            return None

    def start(self) -> Scheduler:
        self.aps.start()
        return self

    def shutdown(self, wait: bool = True) -> None:
        """Stop the jobs and give the leadership up so another replica takes over at once.

        A running delivery is told to stop first: it finishes the message in hand, hands the
        rest of its claim back and returns, so waiting for the running job takes a moment,
        not a whole drain. Sweeps are short transactions and are waited for.
        """
        self.stopping.set()
        if self.aps.running:
            self.aps.shutdown(wait=wait)
        try:
            with self.uow.transaction() as session:
                outbox.release_lease(session, LEADER_LEASE, self.holder, self.clock())
        except Exception:  # the database may be gone already at shutdown
            logger.exception("could not release the scheduler lease")


def workspace_clients(
    settings: Settings, uow: UnitOfWork
) -> tuple[Callable[[int], WebClient | None] | None, Callable[[int, str], None] | None]:
    """On an OAuth install, each workspace's own client and what pauses a workspace; else (None, None)."""
    if not settings.oauth:
        return None, None
    from bot.installations import WorkspaceClients

    clients = WorkspaceClients(uow, settings)
    return clients, lambda workspace_id, error: clients.pause(workspace_id, None, error)


def start_scheduler(settings: Settings, uow: UnitOfWork, client: WebClient | None) -> Scheduler | None:
    """Start the periodic jobs in a background thread; None when SALESBOT_SCHEDULER=off."""
    if not settings.scheduler:
        return None
    client_for, pause = workspace_clients(settings, uow)
    scheduler = Scheduler(uow, client, client_for=client_for, pause=pause).start()
    logger.info("scheduler started: %s", ", ".join(SCHEDULED))
    return scheduler
