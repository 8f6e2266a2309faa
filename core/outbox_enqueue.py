"""Writing to the outbox (the kernel's part of core.notify.outbox): a message queued once per key.

It lives in the kernel so that any layer that decides to send (core.deals.rooms as well as
core.notify) queues through the same function; delivery and the rest stay in core.notify.outbox.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.i18n import _
from core.tables import OutboxMessage, OutboxStatus, Workspace, WorkspaceStatus

MAX_KEY = 200


def insert_for(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def enqueue(
    session: Session,
    workspace_id: int,
    key: str,
    kind: str,
    channel: str,
    payload: dict[str, Any],
    now: datetime,
    not_before: datetime | None = None,
) -> bool:
    """Queue a message under a unique key; True if queued, False if that key already exists.

    Call it in the transaction that decided to send, so the decision and the message commit
    together. `not_before` holds the message back (quiet hours, the recipient's morning).
    """
    if not key or len(key) > MAX_KEY:
        raise InvalidInput(_("An outbox key must be 1-{limit} characters, got {n}.").format(limit=MAX_KEY, n=len(key)))
    if not channel:
        raise InvalidInput(_("An outbox message needs a channel or a user id to go to."))
    # Nothing more is sent to a workspace that uninstalled the app: the message is kept, set aside.
    uninstalled = session.scalar(select(Workspace.status).where(Workspace.id == workspace_id)) == (
        WorkspaceStatus.UNINSTALLED
    )
    values = {
        "workspace_id": workspace_id,
        "key": key,
        "kind": kind,
        "channel": channel,
        "payload": payload,
        "status": (OutboxStatus.SET_ASIDE if uninstalled else OutboxStatus.PENDING).value,
        "attempts": 0,
        "next_attempt_at": max(now, not_before) if not_before else now,
        "created_at": now,
    }
    # ON CONFLICT DO NOTHING: a concurrent writer of the same key waits for the other's
    # commit on PostgreSQL and then inserts nothing, instead of failing the transaction.
    stmt = (
        insert_for(session)(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["workspace_id", "key"])
        .returning(OutboxMessage.id)
    )
    return session.execute(stmt).first() is not None
