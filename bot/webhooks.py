"""The lead intake webhooks (SPEC section 6): POST /hooks/leads and POST /hooks/lead-events.

`handle_request` is transport-free (the WSGI server in bot/server.py passes the raw request
in and writes the answer out), so it is tested without a socket and served by any server.

Order of checks, each answering before anything is read or written:
1. 404 when the webhook is off (no SALESBOT_LEAD_WEBHOOK_SECRET) or the path is unknown;
2. 413 for a body over 1 MiB;
3. 401 for a missing, malformed, wrong or stale (> 5 minutes either way) signature;
4. 400 for malformed JSON (not UTF-8, bad syntax, nested deeper than 64 levels) or a
   lead/event that fails its checks, naming the field.
A repeated request (same path and body) returns the first answer and changes nothing: the
body's hash is kept as an idempotency key in the same transaction as the leads it wrote.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.request_guard import load_json
from core.db import UnitOfWork
from core.errors import InvalidInput
from core.leads.events import clean_event, intake_events
from core.leads.intake import clean_lead, intake
from core.tables import IdempotencyKey, Workspace

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_AGE_SECONDS = 300
MAX_ITEMS = 1000
PATHS = ("/hooks/leads", "/hooks/lead-events")
TIMESTAMP_HEADER = "x-salesbot-timestamp"
SIGNATURE_HEADER = "x-salesbot-signature"

Answer = tuple[int, dict[str, Any]]
_SQLITE_WRITER = threading.Lock()
_WORKSPACE_BY_TEAM = select(Workspace).where(Workspace.team_id == bindparam("team"))
_ANY_TWO_WORKSPACES = select(Workspace).limit(2)
_KEYS = cast(Table, IdempotencyKey.__table__)
# A Core read (no ORM object): it runs on every request.
_DONE = select(_KEYS.c.result).where(_KEYS.c.workspace_id == bindparam("ws"), _KEYS.c.key == bindparam("key"))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `v1=<hex>` signature of a body (for senders and tests)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def _error(status: int, message: str, field: str | None = None) -> Answer:
    body: dict[str, Any] = {"ok": False, "error": message}
    if field:
        body["field"] = field
    return status, body


def check_signature(secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> str | None:
    """None when the request is signed right and fresh, else why not."""
    timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    signature = headers.get(SIGNATURE_HEADER, "").strip()
    if not timestamp or not signature:
        return "missing X-Salesbot-Timestamp or X-Salesbot-Signature"
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return "X-Salesbot-Timestamp should be unix seconds"
    if abs(now.timestamp() - int(timestamp)) > MAX_AGE_SECONDS:
        return "the signature is older than 5 minutes (or the sender's clock is off)"
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode("utf-8", "replace")):
        return "wrong signature"
    return None


def _workspace(session: Session, query: Mapping[str, str]) -> Workspace | Answer:
    team = (query.get("team") or "").strip()
    if team:
        ws = session.scalar(_WORKSPACE_BY_TEAM, {"team": team})
        if ws is None:
            return _error(404, f"no workspace {team}", "team")
        return ws
    found = session.scalars(_ANY_TWO_WORKSPACES).all()
    if len(found) == 1:
        only: Workspace = found[0]
        return only
    return _error(400, "several workspaces here: add ?team=<team_id>" if found else "no workspace yet", "team")


def _items(payload: Any, path: str) -> list[Any]:
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise InvalidInput("the list is empty: send one lead or a list of leads", field="body")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} per request", field="body")
    what = "leads" if path == "/hooks/leads" else "events"
    check = clean_lead if path == "/hooks/leads" else clean_event
    many = isinstance(payload, list)
    return [check(item, f"{what}[{i}]: " if many else "") for i, item in enumerate(items)]


def handle_request(
    uow: UnitOfWork,
    settings: Settings,
    path: str,
    query: dict[str, str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> Answer:
    """Answer one webhook request: (HTTP status, JSON body)."""
    secret = settings.lead_webhook_secret
    if path not in PATHS:
        return _error(404, "unknown path")
    if not secret:
        return _error(404, "the lead webhook is off: set SALESBOT_LEAD_WEBHOOK_SECRET")
    if len(body) > MAX_BODY:
        return _error(413, "the body is over 1 MiB: send fewer leads per request")
    lowered = {k.lower(): v for k, v in headers.items()}
    why = check_signature(secret, lowered, body, now)
    if why is not None:
        return _error(401, why)
    try:
        payload = load_json(body.decode("utf-8"))
    except UnicodeDecodeError:
        return _error(400, "malformed JSON: the body is not UTF-8", "body")
    except ValueError as exc:  # json.JSONDecodeError, or nested deeper than MAX_JSON_DEPTH
        return _error(400, f"malformed JSON: {exc}", "body")
    try:
        items = _items(payload, path)
    except InvalidInput as err:
        return _error(400, err.message, err.field)
    key = "hook:" + hashlib.sha256(path.encode() + b"\n" + body).hexdigest()
    try:
        if uow.dialect == "sqlite":
            # SQLite has one writer at a time and makes the others poll with sleeps of up to
            # 100 ms: queueing our own threads on a lock instead keeps the p99 in milliseconds.
            with _SQLITE_WRITER:
                return _apply(uow, query, path, items, key, now)
        return _apply(uow, query, path, items, key, now)
    except IntegrityError:
        # The same request is being handled in parallel and committed first: answer as it did.
        with uow.read() as session:
            # The twin of this request in this workspace: the same body sent to another
            # workspace has the same key, and its answer names that workspace's leads.
            ws = _workspace(session, query)
            done = session.scalar(select(IdempotencyKey).where(
                IdempotencyKey.key == key,
                IdempotencyKey.workspace_id == (ws.id if isinstance(ws, Workspace) else None),
            ))
            if done is not None:
                return 200, dict(done.result)
        raise


def _apply(uow: UnitOfWork, query: Mapping[str, str], path: str, items: list[Any], key: str, now: datetime) -> Answer:
    with uow.transaction() as session:
        ws = _workspace(session, query)
        if not isinstance(ws, Workspace):
            return ws
        done = session.connection().execute(_DONE, {"ws": ws.id, "key": key}).first()
        if done is not None:
            return 200, dict(done.result)
        results = intake(session, ws, items, now) if path == "/hooks/leads" else intake_events(session, ws, items, now)
        answer = {"ok": True, "leads": [r.to_json() for r in results]}
        session.connection().execute(
            _KEYS.insert(), {"workspace_id": ws.id, "key": key, "result": answer, "created_at": now}
        )
        return 200, answer
