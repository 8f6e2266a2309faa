"""The lead intake webhooks (SPEC section 6): POST /hooks/leads and POST /hooks/lead-events.

`handle_request` is transport-free (the WSGI server in bot/server.py passes the raw request
in and writes the answer out), so it is tested without a socket and served by any server.

Order of checks, each answering before anything is written:
1. 404 for an unknown path; 413 for a body over 1 MiB;
2. the workspace (`?team=<team_id>`, or the only one) and its secret: the workspace's own
   lead-webhook secret when an admin set one in `/salesbot setup`, else the install's
   SALESBOT_LEAD_WEBHOOK_SECRET; 404 when neither is set (the webhook is off). A workspace
   with its own secret accepts only that one, so one workspace's secret (or the install's)
   cannot add leads to another's;
3. 401 for a missing, malformed, wrong or stale (> 5 minutes either way) signature;
4. 400 for malformed JSON (not UTF-8, bad syntax, nested deeper than 64 levels); 413 for more
   than 500 leads (1,000 events) in one request; 400 when any lead or event fails its checks,
   listing every bad item (`errors`: index, field, message) and writing nothing.
A body is one lead, a list of them, or `{"leads": [...]}` (`{"events": [...]}`). Batches are
all-or-nothing for validity (a sender fixes and re-sends the whole batch, with no guessing
which half landed); a valid batch is written in one transaction, and each item is answered
in order with its ref, score, hot flag and `status`: `created`, `updated` (a known email or
external id) or `duplicate` (of an earlier item of the same request, `duplicate_of` its index).
A repeated request (same path and body) returns the first answer and changes nothing: the
body's hash is kept as an idempotency key in the same transaction as the leads it wrote.
The 1 MiB body cap stays for batches: 500 leads of a typical size take 100-300 KB, so a full
batch leaves each lead about 2 KB.
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
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from bot.config import Settings
from bot.logs import redact_from_now_on
from bot.request_guard import load_json
from bot.secrets import SecretError, open_webhook_secret
from core.db import UnitOfWork
from core.errors import InvalidInput
from core.leads.events import clean_event, intake_events
from core.leads.intake import clean_lead, intake
from core.tables import IdempotencyKey, Workspace, WorkspaceConfig
from core.workspace.setup import LEAD_WEBHOOK_CONFIG

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_AGE_SECONDS = 300
MAX_LEADS = 500
MAX_EVENTS = 1000
MAX_LISTED_ERRORS = 50
PATHS = ("/hooks/leads", "/hooks/lead-events")
TIMESTAMP_HEADER = "x-salesbot-timestamp"
SIGNATURE_HEADER = "x-salesbot-signature"

Answer = tuple[int, dict[str, Any]]
_SQLITE_WRITER = threading.Lock()
_WORKSPACES = cast(Table, Workspace.__table__)
_CONFIGS = cast(Table, WorkspaceConfig.__table__)
_KEYS = cast(Table, IdempotencyKey.__table__)
# The answer already given to this request (same path and body) in that workspace, if any.
_DONE = (
    select(_KEYS.c.result)
    .where(_KEYS.c.workspace_id == _WORKSPACES.c.id, _KEYS.c.key == bindparam("key"))
    .scalar_subquery()
)
# A workspace with its own webhook secret, if any, and the answer to a repeat of the request:
# one Core read (no ORM object, one round trip) before the signature check; the answer found
# is only used once the request has passed every check.
_WITH_SECRET = select(_WORKSPACES, _CONFIGS.c.data.label("webhook_config"), _DONE.label("done")).select_from(
    _WORKSPACES.outerjoin(
        _CONFIGS, (_CONFIGS.c.workspace_id == _WORKSPACES.c.id) & (_CONFIGS.c.name == LEAD_WEBHOOK_CONFIG)
    )
)
_WORKSPACE_BY_TEAM = _WITH_SECRET.where(_WORKSPACES.c.team_id == bindparam("team"))
_ANY_TWO_WORKSPACES = _WITH_SECRET.order_by(_WORKSPACES.c.id).limit(2)


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


def _workspace(conn: Connection, query: Mapping[str, str], settings: Settings, key: str
               ) -> tuple[dict[str, Any] | None, str | None, Answer | None]:
    """The workspace a request is for (its row, with `done`: the answer already given to the
    request of idempotency key `key` there, else None), its own webhook secret (None: none set),
    or why none."""
    team = (query.get("team") or "").strip()
    if team:
        row = conn.execute(_WORKSPACE_BY_TEAM, {"team": team[:64], "key": key}).first()
        if row is None:
            return None, None, _error(404, f"no workspace {team[:64]}", "team")
        rows = [row]
    else:
        rows = list(conn.execute(_ANY_TWO_WORKSPACES, {"key": key}))
        if len(rows) != 1:
            why = "several workspaces here: add ?team=<team_id>" if rows else "no workspace yet"
            return None, None, _error(400, why, "team")
    found = dict(rows[0]._mapping)
    data = found.pop("webhook_config")
    try:
        own = open_webhook_secret(data, settings) if isinstance(data, dict) else None
        redact_from_now_on(own)
    except SecretError:
        logger.error("workspace %s: its lead webhook secret cannot be decrypted with %s", found.get("team_id"),
                     "SALESBOT_ENCRYPTION_KEY")
        return None, None, _error(503, "this workspace's webhook secret cannot be read: the operator must set "
                                       "SALESBOT_ENCRYPTION_KEY to the key it was saved with")
    return found, own, None


def _items(payload: Any, path: str) -> tuple[list[Any], bool]:
    """The items of a body: one, a list, or `{"leads": [...]}`; and whether it was a batch."""
    what = "leads" if path == "/hooks/leads" else "events"
    if isinstance(payload, dict) and what in payload:
        if set(payload) != {what} or not isinstance(payload[what], list):
            raise InvalidInput(f"send {{\"{what}\": [...]}} with a list and nothing beside it", field=what)
        payload = payload[what]
    if not isinstance(payload, list):
        return [payload], False
    if not payload:
        raise InvalidInput(f"the list is empty: send one of the {what} or a list of them", field="body")
    return payload, True


def _check_items(items: list[Any], path: str, many: bool) -> list[Any] | Answer:
    """Every item checked; 400 listing every bad one (index, field, message) when any fails."""
    what = "leads" if path == "/hooks/leads" else "events"
    check = clean_lead if path == "/hooks/leads" else clean_event
    cleaned: list[Any] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            cleaned.append(check(item, f"{what}[{index}]: " if many else ""))
        except InvalidInput as err:
            errors.append({"index": index, "field": err.field, "error": err.message})
    if not errors:
        return cleaned
    if not many:
        return _error(400, errors[0]["error"], errors[0]["field"])
    first = errors[0]
    status, body = _error(
        400,
        f"{len(errors)} of {len(items)} {what} are not valid, so none was added (fix them and send the "
        f"batch again): {first['error']}",
        first["field"],
    )
    body["errors"] = errors[:MAX_LISTED_ERRORS]
    if len(errors) > MAX_LISTED_ERRORS:
        body["errors_not_listed"] = len(errors) - MAX_LISTED_ERRORS
    return status, body


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
    if path not in PATHS:
        return _error(404, "unknown path")
    if len(body) > MAX_BODY:
        return _error(413, "the body is over 1 MiB: send fewer leads per request")
    key = "hook:" + hashlib.sha256(path.encode() + b"\n" + body).hexdigest()
    try:
        if uow.dialect == "sqlite":
            # The look-up and the checks run in a plain read (no write lock for a request that
            # may be refused); the writing is queued on a lock of our own: SQLite has one writer
            # and makes the others poll with sleeps of up to 100 ms, which would show in the p99.
            with uow.read() as session:
                checked = _checked(session.connection(), settings, path, query, headers, body, key, now)
            if not isinstance(checked[0], dict):
                return checked
            with _SQLITE_WRITER, uow.transaction() as session:
                return _apply(session, checked[0], path, checked[1], key, now)
        # PostgreSQL: one connection and one transaction for the look-up, the checks and the
        # writing (a SELECT takes no lock; a refused request ends with an empty commit).
        with uow.transaction() as session:
            checked = _checked(session.connection(), settings, path, query, headers, body, key, now)
            if not isinstance(checked[0], dict):
                return checked
            return _apply(session, checked[0], path, checked[1], key, now)
    except IntegrityError:
        # The same request is being handled in parallel and committed first: answer as it did.
        with uow.read() as session:
            # The twin of this request in this workspace: the same body sent to another
            # workspace has the same key, and its answer names that workspace's leads.
            ws_row, _own, _problem = _workspace(session.connection(), query, settings, key)
            if ws_row is not None and ws_row["done"] is not None:
                return 200, dict(ws_row["done"])
        raise


def _checked(
    conn: Connection,
    settings: Settings,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    key: str,
    now: datetime,
) -> Answer | tuple[dict[str, Any], list[Any]]:
    """The workspace row and the checked items of a request, or the answer refusing it."""
    ws_row, own_secret, problem = _workspace(conn, query, settings, key)
    secret = own_secret or settings.lead_webhook_secret
    if not secret:
        off = "the lead webhook is off: set SALESBOT_LEAD_WEBHOOK_SECRET, or a workspace's secret in /salesbot setup"
        return problem or _error(404, off)
    lowered = {k.lower(): v for k, v in headers.items()}
    why = check_signature(secret, lowered, body, now)
    if why is not None:
        return _error(401, why)
    if problem is not None or ws_row is None:
        return problem or _error(400, "no workspace yet", "team")
    try:
        payload = load_json(body.decode("utf-8"))
    except UnicodeDecodeError:
        return _error(400, "malformed JSON: the body is not UTF-8", "body")
    except ValueError as exc:  # json.JSONDecodeError, or nested deeper than MAX_JSON_DEPTH
        return _error(400, f"malformed JSON: {exc}", "body")
    try:
        raw, many = _items(payload, path)
    except InvalidInput as err:
        return _error(400, err.message, err.field)
    limit = MAX_LEADS if path == "/hooks/leads" else MAX_EVENTS
    if len(raw) > limit:
        what = "leads" if path == "/hooks/leads" else "events"
        return _error(413, f"{len(raw)} {what} in one request: send at most {limit} a request", "body")
    checked = _check_items(raw, path, many)
    if isinstance(checked, tuple):
        return checked
    return ws_row, checked


def _apply(session: Session, ws_row: dict[str, Any], path: str, items: list[Any], key: str, now: datetime) -> Answer:
    # The row read with the request stands for the workspace (no second look-up): intake only
    # reads its settings, and a workspace deleted meanwhile fails the first INSERT's key.
    done = ws_row.pop("done")
    if done is not None:
        return 200, dict(done)
    ws = Workspace(**ws_row)
    make_transient_to_detached(ws)
    session.add(ws)
    results = intake(session, ws, items, now) if path == "/hooks/leads" else intake_events(session, ws, items, now)
    answer = {"ok": True, "leads": [{"index": i, **r.to_json()} for i, r in enumerate(results)]}
    row = {"workspace_id": ws.id, "key": key, "result": answer, "created_at": now}
    session.connection().execute(_KEYS.insert(), row)
    return 200, answer
