"""Engagement events (SPEC section 6): checked, recorded once each, and the leads they touch rescored.

An event is identified by its own `id` when the sender gives one, else by a hash of its
content, and stored under that key (unique per workspace): the same event sent twice, or a
whole request repeated, counts once. An event for an email we do not know yet makes the lead.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.i18n import _
from core.leads.intake import EMAIL_PATTERN, IntakeResult, ScoringContext, rescore, upsert_lead
from core.leads.rules import EVENT_KINDS
from core.tables import Lead, LeadEvent, Workspace


def event_dedupe_key(event: Mapping[str, Any]) -> str:
    """The identity of an engagement event: its own id, else a hash of what it says."""
    if event.get("id"):
        return "id:" + str(event["id"])[:120]
    raw = json.dumps(event, sort_keys=True, default=str)
    return "h:" + hashlib.sha256(raw.encode()).hexdigest()[:64]


def clean_event(data: Any, where: str = "") -> dict[str, Any]:
    """Checked engagement event: type, email, at (aware ISO-8601); InvalidInput naming the field."""
    if not isinstance(data, Mapping):
        raise InvalidInput(where + _("an event should be a JSON object"), field="event")
    kind = data.get("type")
    if kind not in EVENT_KINDS:
        raise InvalidInput(where + _("type should be one of {kinds}, not {kind}").format(
            kinds=", ".join(EVENT_KINDS), kind=repr(kind)), field="type")
    email = data.get("email")
    if not isinstance(email, str) or not EMAIL_PATTERN.fullmatch(email.strip()):
        raise InvalidInput(where + _("email is missing or not an email address"), field="email")
    at_text = data.get("at")
    try:
        at = datetime.fromisoformat(str(at_text).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(where + _("at should be an ISO-8601 time like 2026-11-23T14:00:00Z"), field="at") from None
    if at.tzinfo is None:
        raise InvalidInput(where + _("at needs a time zone (e.g. a trailing Z)"), field="at")
    if kind == "page_view" and not data.get("url"):
        raise InvalidInput(where + _("a page_view needs its url"), field="url")
    extra = {k: v for k, v in data.items() if k not in ("type", "email", "at")}
    return {"type": kind, "email": email.strip(), "at": at, "data": extra, "key": event_dedupe_key(data)}


def add_event(session: Session, ws: Workspace, lead: Lead, event: Mapping[str, Any]) -> bool:
    """Record one checked event; False when the same event was already recorded."""
    try:
        with session.begin_nested():
            session.add(
                LeadEvent(
                    workspace_id=ws.id,
                    lead_id=lead.id,
                    kind=event["type"],
                    at=event["at"],
                    data=json.loads(json.dumps(event["data"], default=str)),
                    dedupe_key=event["key"],
                )
            )
            session.flush()
        return True
    except IntegrityError:
        return False


def intake_events(
    session: Session, ws: Workspace, events: Sequence[Mapping[str, Any]], now: datetime
) -> list[IntakeResult]:
    """Record checked events (an unknown email becomes a new lead) and rescore their leads."""
    ctx = ScoringContext(session, ws)
    touched: dict[int, tuple[Lead, bool]] = {}
    for event in events:
        lead, created = upsert_lead(session, ws, {"email": event["email"]}, now, ctx.picker)
        if lead.id is None:
            session.flush()
        add_event(session, ws, lead, event)
        prev = touched.get(lead.id)
        touched[lead.id] = (lead, created or (prev[1] if prev else False))
    results = []
    for lead, created in touched.values():
        rescore(session, ctx, lead, now)
        results.append(IntakeResult(lead.ref, lead.score, lead.hot, created))
    return results
