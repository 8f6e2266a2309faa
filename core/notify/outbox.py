"""The outbox: messages decided in a transaction, delivered to Slack later, once per key.

A job or an alert calls `enqueue` inside the transaction that decided to send; the unique
(workspace, key) pair makes a second decision about the same thing (a re-run, a second
replica) a no-op. A single delivery worker at a time (`acquire_lease`) then `claim`s due rows,
sends them, and marks each `sent` or `failed`. A claim hides the row for a short while on
the wall clock (a visibility timeout the sender renews), so a worker that dies mid-batch
leaves its rows to be picked up again within seconds, never lost; the next sender first
looks in Slack for the ones the dead worker may have posted (`unsure_since`).

Two clocks: `next_attempt_at` is when a message is due (business time: quiet hours, the
recipient's morning; `salesbot jobs run deliver --at` moves it), while leases, claims and
retry timers (`held_until`) follow the wall clock whatever `--at` says.

Payload contract (what bot/delivery.py understands):
- `{"text": str, "blocks": [...]}` — posted as is, or
- `{"view": name, "data": {...}}` — rendered by the bot's view registered under `name`
  (core never builds Block Kit; it stores plain data and the bot renders it at send time).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from core.outbox_enqueue import MAX_KEY as MAX_KEY  # re-exported: the outbox API stays in one place
from core.outbox_enqueue import enqueue as enqueue
from core.outbox_enqueue import insert_for as _insert_for
from core.tables import Lease, OutboxMessage, OutboxStatus, Workspace, WorkspaceStatus

# Temporary errors never mark a message failed before this many attempts (429 excluded).
MAX_ATTEMPTS = 8
# A claim hides a row from other senders this long; a live sender renews it while it works,
# so the rows of a sender that died come back within this (SPEC section 5: within 30 s).
CLAIM_HOLD = timedelta(seconds=20)
# Leases expiring beyond now + ttl + this were written with a wrong clock and bind nobody.
LEASE_HORIZON = timedelta(hours=1)


@dataclass(frozen=True)
class OutboxItem:
    """One claimed message, detached from the session that claimed it."""

    id: int
    workspace_id: int
    key: str
    kind: str
    channel: str
    payload: dict[str, Any]
    attempts: int
    slack_channel: str | None
    slack_ts: str | None
    # Set when an earlier claim never resolved (its sender died, or Slack's answer was lost):
    # the message may be in Slack already, posted at or after this wall-clock time.
    unsure_since: datetime | None = None


@dataclass(frozen=True)
class FailedMessage:
    """A message that could not be delivered, for the admins to see."""

    id: int
    key: str
    kind: str
    channel: str
    attempts: int
    reason: str
    created_at: datetime


def _workspace_active() -> ColumnElement[bool]:
    """Rows of workspaces messages go out to (not paused, not uninstalled)."""
    return OutboxMessage.workspace_id.in_(select(Workspace.id).where(Workspace.status == WorkspaceStatus.ACTIVE))


def is_queued(session: Session, workspace_id: int, key: str) -> bool:
    """True when a message with this key was ever queued (sent, pending or failed)."""
    found = session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.workspace_id == workspace_id, OutboxMessage.key == key)
    )
    return found is not None


def withdraw(session: Session, workspace_id: int, key: str) -> bool:
    """Drop a message not sent yet (its reason went away, e.g. the reminder was done)."""
    result = session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.workspace_id == workspace_id,
            OutboxMessage.key == key,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def claim(
    session: Session,
    now: datetime,
    limit: int = 100,
    hold: timedelta = CLAIM_HOLD,
    *,
    due_by: datetime | None = None,
    holder: str | None = None,
) -> list[OutboxItem]:
    """Take up to `limit` due messages, oldest first, hiding them from other claims for `hold`.

    `now` is the wall clock: the hold (`held_until`) and a retry's backoff are wall-clock
    times, so a run "as if at" another time (`due_by`, `salesbot jobs run deliver --at`)
    can neither hold rows into the future nor skip another sender's hold. `due_by` (default
    `now`) decides which messages are due (`next_attempt_at`: quiet hours, mornings).
    A row claimed before and never marked comes back with `unsure_since` set: its sender may
    have posted it before dying, so the deliverer looks for it in Slack before re-sending.

    Only messages of active workspaces are taken: a paused one's wait until its token works.

    On PostgreSQL the rows are locked with SKIP LOCKED, so two claimers never take the same
    row; on SQLite the transaction is BEGIN IMMEDIATE, which serialises claimers anyway.
    """
    due = now if due_by is None else due_by
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= due,
            or_(OutboxMessage.held_until.is_(None), OutboxMessage.held_until <= now),
            _workspace_active(),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    items = []
    for row in rows:
        unsure_since = row.claimed_at
        row.held_until = now + hold
        row.claimed_by = holder
        if row.claimed_at is None:
            row.claimed_at = now
        items.append(
            OutboxItem(
                id=row.id,
                workspace_id=row.workspace_id,
                key=row.key,
                kind=row.kind,
                channel=row.channel,
                payload=dict(row.payload or {}),
                attempts=row.attempts,
                slack_channel=row.slack_channel,
                slack_ts=row.slack_ts,
                unsure_since=unsure_since,
            )
        )
    session.flush()
    return items


def renew_claims(session: Session, message_ids: list[int], holder: str, until: datetime) -> int:
    """Keep `holder`'s claimed rows hidden until `until` (a live sender renews while it sends)."""
    if not message_ids:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.claimed_by == holder,
        )
        .values(held_until=until)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def mark_sent(
    session: Session, message_id: int, now: datetime, slack_channel: str | None = None, slack_ts: str | None = None
) -> None:
    """Record a delivered message (and where it landed, for later updates in place)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=OutboxStatus.SENT,
            sent_at=now,
            attempts=OutboxMessage.attempts + 1,
            slack_channel=slack_channel,
            slack_ts=slack_ts,
            last_error=None,
            held_until=None,
            claimed_by=None,
        )
    )


def record_progress(session: Session, message_id: int, slack_channel: str, slack_ts: str) -> None:
    """Remember that the message itself is posted before a follow-up step (a file upload)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(slack_channel=slack_channel, slack_ts=slack_ts)
    )


def mark_failed(session: Session, message_id: int, now: datetime, reason: str) -> None:
    """Give up on a message for good, keeping the reason for the admins."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=OutboxStatus.FAILED, attempts=OutboxMessage.attempts + 1, last_error=reason[:500],
            held_until=None, claimed_by=None,
        )
    )


def retry_later(
    session: Session, message_id: int, at: datetime, reason: str, count_attempt: bool = True
) -> None:
    """Put a message back for another try at `at`, a wall-clock time (429 is not an attempt).

    `claimed_at` stays: a 5xx or a timeout may still have posted it, so the retry looks first.
    """
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            held_until=at,
            claimed_by=None,
            last_error=reason[:500],
            attempts=OutboxMessage.attempts + (1 if count_attempt else 0),
        )
    )


def release(session: Session, items: list[OutboxItem], now: datetime) -> None:
    """Hand claimed but untried messages back (the worker stops before reaching them).

    A message that was sure not to be posted before this claim is sure again; one that came
    back from a dead sender (`unsure_since`) keeps that mark for whoever takes it next.
    """
    sure = [i.id for i in items if i.unsure_since is None]
    unsure = [i.id for i in items if i.unsure_since is not None]
    for ids, values in ((sure, {"claimed_at": None}), (unsure, {})):
        if ids:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
                .values(held_until=None, claimed_by=None, **values)
            )


def failed_messages(session: Session, workspace_id: int, limit: int = 50) -> list[FailedMessage]:
    """Messages that will not be delivered, newest first, with the reason (for admins)."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.workspace_id == workspace_id, OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return [
        FailedMessage(
            id=r.id,
            key=r.key,
            kind=r.kind,
            channel=r.channel,
            attempts=r.attempts,
            reason=r.last_error or "",
            created_at=r.created_at,
        )
        for r in rows
    ]


def pending_count(session: Session, now: datetime | None = None) -> int:
    """How many messages wait (due by `now` when given)."""
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
    if now is not None:
        query = query.where(OutboxMessage.next_attempt_at <= now)
    return int(session.scalar(query) or 0)


def pending_count_of(session: Session, workspace_id: int) -> int:
    """How many messages of one workspace wait to be sent (paused ones included)."""
    query = select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.workspace_id == workspace_id, OutboxMessage.status == OutboxStatus.PENDING
    )
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class Backlog:
    """One workspace's outbox, for the operator's gauges (bot/metrics.py)."""

    workspace_id: int
    team_id: str
    pending: int  # waiting, due or not (quiet hours, a recipient's morning)
    due: int  # pending and due by `now`
    failed: int
    oldest_due: datetime | None  # when the longest-waiting due message became due


def backlog(session: Session, now: datetime) -> list[Backlog]:
    """Every workspace's outbox backlog at `now` (workspaces with no messages read zero)."""
    counts: dict[tuple[int, str], int] = {}
    for ws, status, count in session.execute(
        select(OutboxMessage.workspace_id, OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]))
        .group_by(OutboxMessage.workspace_id, OutboxMessage.status)
    ):
        counts[(ws, OutboxStatus(status).value)] = int(count)
    due: dict[int, tuple[int, datetime]] = {}
    for ws, count, first in session.execute(
        select(OutboxMessage.workspace_id, func.count(), func.min(OutboxMessage.next_attempt_at))
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .group_by(OutboxMessage.workspace_id)
    ):
        due[ws] = (int(count), first)
    return [
        Backlog(
            workspace_id=ws_id,
            team_id=team_id,
            pending=counts.get((ws_id, OutboxStatus.PENDING.value), 0),
            due=due.get(ws_id, (0, None))[0],
            failed=counts.get((ws_id, OutboxStatus.FAILED.value), 0),
            oldest_due=due.get(ws_id, (0, None))[1],
        )
        for ws_id, team_id in session.execute(select(Workspace.id, Workspace.team_id).order_by(Workspace.id))
    ]


def next_due_at(session: Session, now: datetime, due_by: datetime | None = None) -> datetime | None:
    """The wall-clock time at which the next pending message can be claimed (None: nothing waits).

    A message waits for its due time (`next_attempt_at`, on the `due_by` clock, which runs
    `due_by - now` ahead of the wall clock) or for its hold (`held_until`, on the wall clock).
    """
    due = now if due_by is None else due_by
    pending = and_(OutboxMessage.status == OutboxStatus.PENDING, _workspace_active())
    free = or_(OutboxMessage.held_until.is_(None), OutboxMessage.held_until <= now)
    first_due = session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(pending, free))
    first_free = session.scalar(
        select(func.min(OutboxMessage.held_until)).where(
            pending, OutboxMessage.held_until > now, OutboxMessage.next_attempt_at <= due
        )
    )
    times = [t for t in (first_due - (due - now) if first_due else None, first_free) if t is not None]
    return min(times) if times else None


def acquire_lease(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the named lease; True if `holder` holds it until now + ttl.

    `now` must be the wall clock (never a job's `--at`), so a lease is never held into the
    future or taken from a live holder by a run "as if" later.

    A lease row works on SQLite and PostgreSQL alike; an expired lease may be taken over, so
    a crashed holder blocks the others for at most `ttl`.
    """
    insert = _insert_for(session)
    session.execute(
        insert(Lease)
        .values(name=name, holder=holder, expires_at=now + ttl)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    # A lease expiring further ahead than any holder on the wall clock would set was written
    # with a wrong clock (an old `jobs run --at` in the future): it binds nobody.
    horizon = now + ttl + LEASE_HORIZON
    result = session.execute(
        update(Lease)
        .where(
            Lease.name == name,
            (Lease.holder == holder) | (Lease.expires_at <= now) | (Lease.expires_at > horizon),
        )
        .values(holder=holder, expires_at=now + ttl)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_lease(session: Session, name: str, holder: str, now: datetime) -> None:
    """Give the lease up at once (on a clean shutdown) so another replica need not wait."""
    session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder).values(expires_at=now))


@dataclass(frozen=True)
class SetAsideMessage:
    """A message kept but never sent: its workspace uninstalled the app before it went out."""

    id: int
    team_id: str
    key: str
    kind: str
    channel: str
    created_at: datetime
    reason: str


def set_aside(session: Session, workspace_id: int, reason: str) -> int:
    """Set aside every message still waiting for a workspace (it uninstalled the app).

    They are kept (an operator lists them with `set_aside_messages`) and never sent, also
    after a reinstall: what was due then is stale now. Returns how many.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.workspace_id == workspace_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SET_ASIDE, last_error=reason[:500], held_until=None, claimed_by=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def set_aside_messages(
    session: Session, workspace_id: int | None = None, limit: int = 1000
) -> list[SetAsideMessage]:
    """The messages set aside (of one workspace, or of all), oldest first."""
    query = (
        select(OutboxMessage, Workspace.team_id)
        .join(Workspace, Workspace.id == OutboxMessage.workspace_id)
        .where(OutboxMessage.status == OutboxStatus.SET_ASIDE)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if workspace_id is not None:
        query = query.where(OutboxMessage.workspace_id == workspace_id)
    return [
        SetAsideMessage(
            id=row.id, team_id=str(team_id), key=row.key, kind=row.kind, channel=row.channel,
            created_at=row.created_at, reason=row.last_error or "",
        )
        for row, team_id in session.execute(query)
    ]
