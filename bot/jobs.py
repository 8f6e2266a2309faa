"""The scheduled jobs, by the names `salesbot jobs run NAME` and the console use.

Each job is one call into core with an explicit time (`at`), so running it by hand with
`--at` does exactly what the scheduler would have done at that moment. Jobs only decide
and queue (outbox); `deliver` sends. `stale` and `slipped` are the same morning sweep:
each rep gets one morning message with both lists, so whichever runs first queues it.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient

from bot.clock import utcnow
from core.db import UnitOfWork

SWEEP_BATCH = 1000


class JobSetupError(Exception):
    """A job cannot run with this configuration; the message names the variable to set."""


@dataclass(frozen=True)
class Job:
    """A named periodic job: what it does, when the scheduler runs it, and the call."""

    name: str
    description: str
    schedule: str
    trigger: Callable[[], BaseTrigger]
    run: Callable[..., str]  # (uow, at, client, **options) -> one-line summary


def _nudges(uow: UnitOfWork, at: datetime, client: WebClient | None) -> str:
    from core.notify.away import return_sweep
    from core.notify.nudges import sweep_due_reminders

    with uow.transaction() as session:  # first: an absence that ended gets its one summary
        returned = return_sweep(session, at)
    total = 0
    while True:  # batches, each its own transaction: a million due rows never sit in one
        with uow.transaction() as session:
            queued = sweep_due_reminders(session, at, SWEEP_BATCH)
        total += queued
        if queued < SWEEP_BATCH:
            return f"nudges: {total} queued" + (f", {returned} welcome-back summary(ies)" if returned else "")


def _morning(uow: UnitOfWork, at: datetime, client: WebClient | None) -> str:
    from core.notify.nudges import morning_sweep

    with uow.transaction() as session:
        result = morning_sweep(session, at)
    return (
        f"morning: {result.messages} message(s) queued ({result.stale_deals} stale, "
        f"{result.slipped_deals} slipped deals), {result.escalations} escalation(s)"
    )


def _digest(uow: UnitOfWork, at: datetime, client: WebClient | None) -> str:
    from core.notify.digest import digest_sweep

    with uow.transaction() as session:
        queued = digest_sweep(session, at)
    return f"digest: {queued} digest message(s) queued"


def _route_leads(uow: UnitOfWork, at: datetime, client: WebClient | None) -> str:
    from core.leads.routing import route_unclaimed

    routed = route_unclaimed(uow, at)
    return f"route-leads: {sum(1 for r in routed if getattr(r, 'user_id', None))} of {len(routed)} lead(s) assigned"


def _discounts(uow: UnitOfWork, at: datetime, client: WebClient | None) -> str:
    from core.notify.discounts import discount_sweep

    reminded = expired = withdrawn = 0
    while True:  # batches, each its own transaction
        with uow.transaction() as session:
            result = discount_sweep(session, at, SWEEP_BATCH)
        reminded, expired = reminded + result.reminded, expired + result.expired
        withdrawn += result.withdrawn
        if result.handled < SWEEP_BATCH:
            closed = f", {withdrawn} withdrawn (deal closed)" if withdrawn else ""
            return f"discounts: {reminded} reminder(s) queued, {expired} request(s) expired{closed}"


def _train_leads(uow: UnitOfWork, at: datetime, client: WebClient | None) -> str:
    from core.leads.training import retrain_all

    results = retrain_all(uow, at)
    trained = sum(1 for r in results if r.trained)
    notes = "; ".join(r.message for r in results if not r.trained)
    return f"train-leads: {trained} of {len(results)} workspace model(s) retrained" + (f" ({notes})" if notes else "")


def _cards(uow: UnitOfWork, at: datetime, client: WebClient | None) -> str:
    from core.notify.cards import refresh_sweep

    total = 0
    while True:  # batches, each its own transaction
        with uow.transaction() as session:
            queued = refresh_sweep(session, at, SWEEP_BATCH)
        total += queued
        if queued < SWEEP_BATCH:
            return f"cards: {total} card update(s) queued"


def offset_clock(at: datetime) -> Callable[[], datetime]:
    """A clock that reads `at` now and moves on in real time (pacing really waits)."""
    start = time.monotonic()
    return lambda: at + timedelta(seconds=time.monotonic() - start)


# The real time: leases, claims and retry timers follow it whatever `--at` says.
wall_clock: Callable[[], datetime] = utcnow


def _deliver(
    uow: UnitOfWork, at: datetime, client: WebClient | None,
    client_for: Callable[[int], WebClient | None] | None = None,
    pause: Callable[[int, str], None] | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = wall_clock,
    **tuning: Any,
) -> str:
    """Drain the outbox of what is due by `at`; the lease and the claims live on `clock`.

    `client_for` gives each workspace's own client (OAuth installs) and `pause` stops a workspace
    whose token Slack refuses (bot/installations.py WorkspaceClients). `tuning` reaches the
    Deliverer (claim `hold`, `lease_ttl`: a test shortens them).
    """
    from bot.delivery import Deliverer, delivery_client

    if client is None and client_for is None:
        raise JobSetupError("deliver needs Slack: set SLACK_BOT_TOKEN (or SLACK_CLIENT_ID/SECRET for OAuth)")
    base = delivery_client(client) if client is not None else WebClient()
    deliverer = Deliverer(
        uow, base, clock=clock, due_clock=offset_clock(at), client_for=client_for, pause=pause,
        stop=stop or threading.Event(), **tuning,
    )
    return str(deliverer.drain(max_wait=0, max_seconds=50))


def _every(**kwargs: int) -> Callable[[], BaseTrigger]:
    return lambda: IntervalTrigger(timezone=UTC, **kwargs)


def _cron(**kwargs: str) -> Callable[[], BaseTrigger]:
    return lambda: CronTrigger(timezone=UTC, **kwargs)


# Morning messages and digests go out at 09:00 in each recipient's zone: sweeping every
# five minutes (UTC) reaches every zone's 09:00, half- and quarter-hour offsets included.
JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("nudges", "follow-up nudges for reminders that are due", "every minute", _every(minutes=1), _nudges),
        Job("stale", "each rep's morning message: stale and slipped deals", "every 5 minutes, sends at 09:00 local",
            _cron(minute="*/5"), _morning),
        Job("slipped", "same sweep as stale (one morning message per rep)", "every 5 minutes, sends at 09:00 local",
            _cron(minute="*/5"), _morning),
        Job("digest", "weekly pipeline digest per team", "every 5 minutes, sends Monday 09:00 manager's local",
            _cron(minute="*/5"), _digest),
        Job("route-leads", "assign hot leads nobody claimed in time", "every minute", _every(minutes=1),
            _route_leads),
        Job("discounts", "remind discount approvers after a working day, expire requests after 7 days",
            "every 5 minutes", _cron(minute="*/5"), _discounts),
        Job("train-leads", "rescore open leads as points decay, retrain each workspace's lead model",
            "daily 03:00 UTC", _cron(hour="3", minute="0"), _train_leads),
        Job("cards", "update posted deal and lead cards in place when their deal or lead changed", "every minute",
            _every(minutes=1), _cards),
        Job("deliver", "send what the other jobs queued (the outbox)", "every 5 seconds", _every(seconds=5),
            _deliver),
    )
}
# The scheduler runs each distinct sweep once (stale and slipped are one sweep).
SCHEDULED = ("nudges", "stale", "digest", "route-leads", "discounts", "train-leads", "cards", "deliver")


def run_job(name: str, uow: UnitOfWork, at: datetime, client: WebClient | None, **options: object) -> str:
    """Run one job once as if the clock read `at`; returns a one-line summary.

    `options` go to the job (the scheduler gives `deliver` a per-workspace `client_for`).
    """
    job = JOBS.get(name)
    if job is None:
        raise KeyError(f"unknown job {name!r}; jobs: {', '.join(JOBS)}")
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return job.run(uow, at.astimezone(UTC), client, **options)


def next_run_times(now: datetime) -> list[tuple[Job, datetime | None]]:
    """Each job with the next time the scheduler would run it after `now`."""
    return [(job, job.trigger().get_next_fire_time(None, now)) for job in JOBS.values()]
