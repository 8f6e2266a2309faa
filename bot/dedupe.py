"""Each Slack request takes effect once: retries and replays are answered and dropped.

Slack retries an event it thinks we missed (`X-Slack-Retry-Num` over HTTP, `retry_attempt` in
a Socket Mode envelope, which Bolt turns into the same header), and a signed request can be
replayed within its five minutes. Whether a request was seen is keyed on Slack's own ids, so
a first delivery that already carries a retry number (its original never reached us) is
processed, and a retry or replay of a processed one is not:

- events: `event_id`;
- commands and interactions over HTTP: the signed timestamp and the SHA-256 of the body
  (a replay is the same bytes; a new click or command has a new timestamp and trigger_id);
- commands and interactions over Socket Mode (no signature): the SHA-256 of the payload,
  which holds a trigger_id unique to each click or command.

The keys live in the `idempotency_keys` table (prefix `slack:`), so replicas share them;
they are kept a day and pruned at most once an hour by each process. How a key is written
without slowing the ack on SQLite: see SeenRequests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, cast

from slack_bolt import BoltRequest
from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.exc import IntegrityError

from bot.slack_users import SnapshotReads
from core.db import UnitOfWork
from core.tables import IdempotencyKey, Workspace

PREFIX = "slack:"
KEEP = timedelta(days=1)
PRUNE_EVERY = timedelta(hours=1)
# Requests that are questions, not actions: the same one twice deserves the same answer.
NOT_DEDUPED = frozenset({"url_verification", "block_suggestion", "dialog_suggestion"})

_KEYS = cast(Table, IdempotencyKey.__table__)
_SEEN = select(_KEYS.c.id).where(_KEYS.c.workspace_id == bindparam("ws"), _KEYS.c.key == bindparam("key"))
# Keys also kept in this process's memory (the most recent ones), so a repeat costs no query.
RECENT_IN_MEMORY = 20_000
logger = logging.getLogger(__name__)


def _header(request: BoltRequest, name: str) -> str:
    values = request.headers.get(name) or []
    return str(values[0]) if values else ""


def request_key(request: BoltRequest) -> str | None:
    """The key of what this request does, or None when it is not deduplicated."""
    body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
    kind = str(body.get("type") or "")
    if not body or kind in NOT_DEDUPED or body.get("ssl_check"):
        return None
    event_id = body.get("event_id")
    if kind == "event_callback" and isinstance(event_id, str) and event_id:
        return f"{PREFIX}event:{event_id[:100]}"
    if request.mode == "socket_mode":
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return f"{PREFIX}sm:{hashlib.sha256(canonical.encode()).hexdigest()}"
    timestamp = _header(request, "x-slack-request-timestamp")[:20]
    digest = hashlib.sha256(request.raw_body.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{PREFIX}http:{timestamp}:{digest}"


class SeenRequests:
    """Remembers the Slack requests already taken in (see the module docstring).

    `background=True` (the server) keeps SQLite's write lock off the ack path: on SQLite the
    key is checked in this process's memory and with a read (WAL readers never wait), then
    written by one background thread, since an insert that queued behind the deals being
    saved after their acks tripled the p99 of `/deal new`'s ack. PostgreSQL, and SQLite in
    tests and the console, insert at once and let the unique key decide.
    """

    def __init__(self, uow: UnitOfWork, reads: SnapshotReads | None = None, *, background: bool = False) -> None:
        self.uow = uow
        # The ack path's own connections (bot/slack_users.py): writers holding the shared pool
        # cannot delay them.
        self.reads = reads or SnapshotReads(uow)
        self._lock = threading.Lock()
        self._pruned_at: datetime | None = None
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._writer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="seen-requests")
            if background and uow.dialect == "sqlite" else None
        )

    def workspace_id(self, team_id: str | None) -> int | None:
        if not team_id:
            return None
        with self.uow.read() as session:
            return session.scalar(select(Workspace.id).where(Workspace.team_id == team_id))

    def first_time(self, workspace_id: int, key: str, now: datetime) -> bool:
        """True when `key` was not seen before (and is now remembered); False for a repeat."""
        with self._lock:
            if key in self._recent:
                return False
            self._recent[key] = None
            while len(self._recent) > RECENT_IN_MEMORY:
                self._recent.popitem(last=False)
        if self._writer is None:
            if not self._insert(workspace_id, key, now):
                return False
            self._maybe_prune(now)
            return True
        with self.reads.session() as session:
            if session.scalar(_SEEN, {"ws": workspace_id, "key": key}) is not None:
                return False
        self._writer.submit(self._remember, workspace_id, key, now)
        return True

    def _insert(self, workspace_id: int, key: str, now: datetime) -> bool:
        row = {"workspace_id": workspace_id, "key": key, "result": {}, "created_at": now}
        try:
            if self.uow.dialect == "postgresql" and self.reads.factory is not None:
                with self.reads.session() as session:  # autocommit, on the ack path's own pool
                    session.connection().execute(_KEYS.insert(), row)
            else:
                with self.uow.transaction() as session:
                    session.connection().execute(_KEYS.insert(), row)
        except IntegrityError:
            return False
        return True

    def _remember(self, workspace_id: int, key: str, now: datetime) -> None:
        try:
            if not self._insert(workspace_id, key, now):
                logger.info("a Slack request was taken in by two processes at once (%s)", key[:40])
            self._maybe_prune(now)
        except Exception:  # the request itself went through; only its memory failed
            logger.exception("could not remember a Slack request")

    def _maybe_prune(self, now: datetime) -> None:
        with self._lock:
            if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
                return
            self._pruned_at = now
        with self.uow.transaction() as session:
            session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.key.startswith(PREFIX, autoescape=True), IdempotencyKey.created_at < now - KEEP
                )
            )
