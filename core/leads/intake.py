"""Lead intake: checking lead data, merging by email, recording engagement, rescoring.

Every way a lead comes in (the webhook, /lead new and its modal, a CSV import) goes through
`upsert_lead`, so a known email (any case) always updates the one lead instead of adding a
second, and every change rescores the lead and, on an upward threshold crossing, queues its
hot-lead alert in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clean import clean_name
from core.errors import InvalidInput
from core.i18n import _
from core.leads import predictive
from core.leads.hot import is_hot
from core.leads.points import Scorer
from core.leads.routing import TeamPicker
from core.leads.rules import CONFIG_NAME as RULES_CONFIG
from core.leads.rules import DEFAULT_RULES
from core.tables import Lead, LeadEvent, LeadStatus, Workspace, WorkspaceConfig

TEXT_FIELDS: dict[str, int] = {
    "name": 200,
    "email": 254,
    "company": 200,
    "title": 200,
    "phone": 50,
    "source": 100,
    "country": 100,
    "industry": 100,
}
LEAD_KEYS = (*TEXT_FIELDS, "employees", "attributes", "external_id")
MAX_ATTRIBUTES = 100
EMAIL_PATTERN = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
MODEL_CONFIG = "lead_model"


@dataclass(frozen=True)
class IntakeResult:
    ref: str
    score: int
    hot: bool
    created: bool

    def to_json(self) -> dict[str, Any]:
        """As the webhook answers it."""
        return {"ref": self.ref, "score": self.score, "hot": self.hot}


def clean_lead(data: Any, where: str = "") -> dict[str, Any]:
    """Checked lead fields from untrusted data; InvalidInput naming the field when wrong."""
    if not isinstance(data, Mapping):
        raise InvalidInput(where + _("a lead should be a JSON object"), field=where.rstrip(": ") or "lead")
    unknown = [k for k in data if k not in LEAD_KEYS]
    if unknown:
        raise InvalidInput(
            where + _("unknown field {field}; a lead has {fields}").format(
                field=repr(unknown[0]), fields=", ".join(LEAD_KEYS)), field=str(unknown[0])
        )
    out: dict[str, Any] = {}
    for key, limit in TEXT_FIELDS.items():
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise InvalidInput(where + _("{field} should be text").format(field=key), field=key)
        text = clean_name(str(value))
        if len(text) > limit:
            raise InvalidInput(where + _("{field} is longer than {limit} characters").format(field=key, limit=limit),
                               field=key)
        if text:
            out[key] = text
    if "email" in out and not EMAIL_PATTERN.fullmatch(out["email"]):
        raise InvalidInput(where + _("email {email} is not an email address").format(email=repr(out["email"])),
                           field="email")
    if "name" not in out and "email" not in out:
        raise InvalidInput(where + _("a lead needs a name or an email"), field="name")
    employees = data.get("employees")
    if employees not in (None, ""):
        try:
            count = int(str(employees).replace(",", "").strip())
        except ValueError:
            raise InvalidInput(
                where + _("employees should be a whole number, not {value}").format(value=repr(employees)),
                field="employees",
            ) from None
        if not 0 <= count <= 10_000_000:
            raise InvalidInput(where + _("employees should be between 0 and 10,000,000"), field="employees")
        out["employees"] = count
    attributes = data.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, Mapping) or len(attributes) > MAX_ATTRIBUTES:
            raise InvalidInput(
                where + _("attributes should be an object of at most {n} keys").format(n=MAX_ATTRIBUTES),
                field="attributes",
            )
        for k, v in attributes.items():
            if not isinstance(v, str | int | float | bool) and v is not None:
                raise InvalidInput(where + _("attributes.{key} should be text, a number or true/false").format(key=k),
                                   field="attributes")
        out["attributes"] = {str(k)[:100]: v for k, v in attributes.items()}
    if data.get("external_id") not in (None, ""):
        out["external_id"] = str(data["external_id"])[:100]
    return out


def lead_fields(lead: Lead) -> dict[str, Any]:
    """A lead as the plain mapping the scorers read."""
    return {
        "name": lead.name,
        "email": lead.email,
        "company": lead.company,
        "title": lead.title,
        "phone": lead.phone,
        "source": lead.source,
        "country": lead.country,
        "industry": lead.industry,
        "employees": lead.employees,
        "attributes": lead.attributes or {},
    }


def next_lead_number(session: Session, workspace_id: int) -> int:
    """A new lead number: one atomic UPDATE ... RETURNING, so concurrent intakes never share one.

    The workspace row stays locked until the intake commits, so callers take the number as
    late as they can (right before the INSERT). Core, not the ORM form: that would first sync
    the change into loaded Workspace objects, which costs more than the UPDATE itself.
    """
    number = session.connection().execute(_NEXT_NUMBER, {"ws": workspace_id}).scalar_one()
    return int(number) - 1


# Statements on the intake path are built once: building and keying a statement costs as
# much as running it on SQLite, and the webhook runs them for every lead.
_BY_EMAIL = select(Lead).where(Lead.workspace_id == bindparam("ws"), Lead.email_key == bindparam("key"))
_BY_EXTERNAL_ID = select(Lead).where(Lead.workspace_id == bindparam("ws"), Lead.external_id == bindparam("key"))
_EVENTS_OF = select(LeadEvent.kind, LeadEvent.at).where(LeadEvent.lead_id == bindparam("lead"))
_WORKSPACES = cast(Table, Workspace.__table__)
_LEADS = cast(Table, Lead.__table__)
_NEXT_NUMBER = (
    update(_WORKSPACES)
    .where(_WORKSPACES.c.id == bindparam("ws"))
    .values(next_lead_number=_WORKSPACES.c.next_lead_number + 1)
    .returning(_WORKSPACES.c.next_lead_number)
)
_CONFIG_TABLE = cast(Table, WorkspaceConfig.__table__)
# Core (not ORM) reads: plain rows, no identity map, for the per-request context.
_CONFIGS = select(_CONFIG_TABLE.c.name, _CONFIG_TABLE.c.data).where(
    _CONFIG_TABLE.c.workspace_id == bindparam("ws"), _CONFIG_TABLE.c.name.in_(bindparam("names", expanding=True))
)


def _find_existing(session: Session, workspace_id: int, fields: Mapping[str, Any]) -> Lead | None:
    if fields.get("email"):
        found = session.scalar(_BY_EMAIL, {"ws": workspace_id, "key": fields["email"].casefold()})
        if found is not None:
            return found
    if fields.get("external_id"):
        return session.scalar(_BY_EXTERNAL_ID, {"ws": workspace_id, "key": fields["external_id"]})
    return None


_KNOWN_EMAIL = select(_LEADS.c.id).where(
    _LEADS.c.workspace_id == bindparam("ws"), _LEADS.c.email_key == bindparam("key")
)
_KNOWN_EXTERNAL_ID = select(_LEADS.c.id).where(
    _LEADS.c.workspace_id == bindparam("ws"), _LEADS.c.external_id == bindparam("key")
)


def _known(session: Session, workspace_id: int, fields: Mapping[str, Any]) -> bool:
    """Is there a lead with this email or id already? (A Core query: no ORM object to build.)"""
    session.flush()  # leads added earlier in this request count too
    conn = session.connection()
    if (
        fields.get("email")
        and conn.execute(_KNOWN_EMAIL, {"ws": workspace_id, "key": fields["email"].casefold()}).first()
    ):
        return True
    return bool(
        fields.get("external_id")
        and conn.execute(_KNOWN_EXTERNAL_ID, {"ws": workspace_id, "key": fields["external_id"]}).first()
    )


def apply_fields(lead: Lead, fields: Mapping[str, Any]) -> None:
    """Set checked lead fields: attributes merge, the email keeps its case-folded key beside it."""
    for key, value in fields.items():
        if key == "attributes":
            lead.attributes = {**(lead.attributes or {}), **value}
        elif key == "email":
            lead.email, lead.email_key = value, value.casefold()
        else:
            setattr(lead, key, value)


def upsert_lead(
    session: Session,
    ws: Workspace,
    fields: Mapping[str, Any],
    now: datetime,
    picker: TeamPicker | None = None,
    **extra: Any,
) -> tuple[Lead, bool]:
    """Add a lead, or update the one with the same email (any case); return it and whether it is new.

    `extra` sets model columns directly (status, owner_id, team_id) for new leads only.
    """
    lead = _find_existing(session, ws.id, fields)
    if lead is not None:
        apply_fields(lead, fields)
        lead.updated_at = now
        return lead, False
    # SQLite transactions here take the write lock up front (BEGIN IMMEDIATE), so nobody can
    # insert the same email between our look and our insert: the savepoint is only needed
    # where writers run side by side (PostgreSQL). Under SQLite the insert waits for the commit.
    serialised = session.get_bind().dialect.name == "sqlite"
    guard: AbstractContextManager[Any] = nullcontext() if serialised else session.begin_nested()
    try:
        with guard:
            lead = Lead(
                workspace_id=ws.id,
                number=next_lead_number(session, ws.id),
                name="",
                attributes={},
                status=LeadStatus.NEW,
                score=0,
                score_reasons=[],
                hot=False,
                created_at=now,
                updated_at=now,
            )
            apply_fields(lead, fields)
            if not lead.name:
                lead.name = (lead.email or "").split("@")[0]
            for key, value in extra.items():
                setattr(lead, key, value)
            if lead.team_id is None:
                lead.team_id = (picker or TeamPicker(session, ws.id)).pick(lead_fields(lead))
            session.add(lead)
            if not serialised:
                session.flush()
        return lead, True
    except IntegrityError:
        # The same email arrived in a concurrent request that committed first: merge into it.
        lead = _find_existing(session, ws.id, fields)
        if lead is None:
            raise
        apply_fields(lead, fields)
        lead.updated_at = now
        return lead, False


class ScoringContext:
    """What rescoring needs, loaded once per request: rules, threshold, trained model."""

    def __init__(self, session: Session, ws: Workspace) -> None:
        self.ws = ws
        # Rules and model in one query: this runs on every webhook request.
        configs = {
            name: data
            for name, data in session.connection().execute(
                _CONFIGS, {"ws": ws.id, "names": [RULES_CONFIG, MODEL_CONFIG]}
            )
        }
        self.rules = configs.get(RULES_CONFIG) or DEFAULT_RULES
        self.scorer = Scorer(self.rules)
        model = configs.get(MODEL_CONFIG)
        self.model: dict[str, Any] | None = model if model and model.get("fields") else None
        self.picker = TeamPicker(session, ws.id, self.rules)


def rescore(session: Session, ctx: ScoringContext, lead: Lead, now: datetime, *, new: bool = False) -> None:
    """Recompute points, reasons and win probability; queue the alert on an upward crossing.

    `new`: the lead was just added, so it has no events to read yet.
    """
    from core.leads.alerts import on_hot

    events = [] if new else session.execute(_EVENTS_OF, {"lead": lead.id}).all()
    fields = lead_fields(lead)
    result = ctx.scorer.score(fields, [(k, at) for k, at in events], now)
    lead.score = result.points
    lead.score_reasons = [r.to_json() for r in result.top(10)]
    if ctx.model is not None:
        lead.predicted = round(100 * predictive.predict(ctx.model, predictive.feature_values(fields)).probability)
    hot = is_hot(lead.status, lead.score, ctx.ws.hot_lead_threshold)
    if hot and not lead.hot:
        lead.hot, lead.hot_since = True, now
        session.flush()
        on_hot(session, ctx.ws, lead, now)
    elif not hot and lead.hot:
        # Below the line again: the next crossing is a new one and alerts again.
        lead.hot, lead.hot_since = False, None


_INSERT_COLUMNS = (
    *TEXT_FIELDS,
    "employees",
    "external_id",
    "email_key",
    "workspace_id",
    "number",
    "attributes",
    "status",
    "team_id",
    "score",
    "score_reasons",
    "predicted",
    "hot",
    "hot_since",
    "created_at",
    "updated_at",
)
# ON CONFLICT DO NOTHING instead of a savepoint (two round trips fewer on PostgreSQL); built
# once with bind parameters, since building an INSERT of 24 columns costs more than running it.
_INSERT_NEW_PG, _INSERT_NEW_SQLITE = (
    dialect_insert(_LEADS)
    .values({c: bindparam(c, type_=_LEADS.c[c].type) for c in _INSERT_COLUMNS})
    .on_conflict_do_nothing()
    .returning(_LEADS.c.id)
    for dialect_insert in (postgresql.insert, sqlite.insert)
)


def _insert_new(session: Session, ctx: ScoringContext, fields: Mapping[str, Any], now: datetime) -> IntakeResult | None:
    """The webhook's common case, a new lead: scored first, then written with one Core INSERT.

    Skipping the ORM's unit of work halves the CPU of a webhook request. None when a
    concurrent request added the same email first (the caller then merges into that lead).
    """
    from core.leads.alerts import on_hot

    attrs = dict(fields.get("attributes") or {})
    plain = {k: v for k, v in fields.items() if k != "attributes"}
    plain["name"] = plain.get("name") or str(plain.get("email") or "").split("@")[0]
    scored = {**dict.fromkeys(TEXT_FIELDS), "employees": None, **plain, "attributes": attrs}
    score = ctx.scorer.score(scored, [], now)
    predicted = None
    if ctx.model is not None:
        predicted = round(100 * predictive.predict(ctx.model, predictive.feature_values(scored)).probability)
    hot = is_hot(LeadStatus.NEW, score.points, ctx.ws.hot_lead_threshold)
    number = next_lead_number(session, ctx.ws.id)
    row = {
        **plain,
        "workspace_id": ctx.ws.id,
        "number": number,
        "attributes": attrs,
        "status": LeadStatus.NEW,
        "team_id": ctx.picker.pick(scored),
        "score": score.points,
        "score_reasons": [r.to_json() for r in score.top(10)],
        "predicted": predicted,
        "hot": hot,
        "hot_since": now if hot else None,
        "created_at": now,
        "updated_at": now,
    }
    row["email_key"] = plain["email"].casefold() if plain.get("email") else None
    params = {c: row.get(c) for c in _INSERT_COLUMNS}
    stmt = _INSERT_NEW_PG if session.get_bind().dialect.name == "postgresql" else _INSERT_NEW_SQLITE
    lead_id = session.connection().execute(stmt, params).scalar_one_or_none()
    if lead_id is None:
        return None
    if hot:
        on_hot(session, ctx.ws, session.get_one(Lead, lead_id), now)
    return IntakeResult(f"L-{number}", score.points, hot, True)


def intake(session: Session, ws: Workspace, items: Sequence[Mapping[str, Any]], now: datetime) -> list[IntakeResult]:
    """Add or update checked leads and rescore each (one transaction: the caller's)."""
    ctx = ScoringContext(session, ws)
    results = []
    for fields in items:
        if not _known(session, ws.id, fields):
            added = _insert_new(session, ctx, fields, now)
            if added is not None:
                results.append(added)
                continue
        lead, created = upsert_lead(session, ws, fields, now, ctx.picker)
        rescore(session, ctx, lead, now, new=created)
        results.append(IntakeResult(lead.ref, lead.score, lead.hot, created))
    return results
