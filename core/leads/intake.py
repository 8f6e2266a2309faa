"""Lead intake: checking lead data, merging by email, recording engagement, rescoring.

Every way a lead comes in (the webhook, /lead new and its modal, a CSV import) goes through
`upsert_lead`, so a known email (any case) always updates the one lead instead of adding a
second, and every change rescores the lead and, on an upward threshold crossing, queues its
hot-lead alert in the same transaction.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Integer,
    String,
    Table,
    Text,
    any_,
    bindparam,
    literal_column,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy import cast as cast_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from core.clean import clean_name
from core.db import counter_engine
from core.errors import InvalidInput
from core.i18n import _
from core.leads import predictive
from core.leads.hot import is_hot
from core.leads.points import Scorer
from core.leads.routing import TeamPicker
from core.leads.rules import CONFIG_NAME as RULES_CONFIG
from core.leads.rules import DEFAULT_RULES
from core.tables import Lead, LeadEvent, LeadStatus, Team, Workspace, WorkspaceConfig

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
# session.info: this transaction took lead numbers itself, so it may hold the workspace row.
_HOLDS_NUMBERING = "salesbot_holds_lead_numbering"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeResult:
    ref: str
    score: int
    hot: bool
    created: bool
    # the index of an earlier item of the same request with the same email or external id
    # (this one was merged into the lead that one created or updated)
    duplicate_of: int | None = None

    @property
    def status(self) -> str:
        """`created`, `updated` (a lead known before the request) or `duplicate` (of an earlier item)."""
        if self.duplicate_of is not None:
            return "duplicate"
        return "created" if self.created else "updated"

    def to_json(self) -> dict[str, Any]:
        """As the webhook answers it."""
        out: dict[str, Any] = {"ref": self.ref, "score": self.score, "hot": self.hot, "status": self.status}
        if self.duplicate_of is not None:
            out["duplicate_of"] = self.duplicate_of
        return out


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
            if isinstance(v, float) and not math.isfinite(v):  # JSON has no NaN or Infinity
                raise InvalidInput(where + _("attributes.{key} should be a finite number").format(key=k),
                                   field="attributes")
        out["attributes"] = {str(k)[:100]: v for k, v in attributes.items()}
    if data.get("external_id") not in (None, ""):
        out["external_id"] = clean_name(str(data["external_id"]))[:100]
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


def reserve_lead_numbers(session: Session, workspace_id: int, n: int) -> int:
    """The first of `n` new consecutive lead numbers (numbers are never shared or reused).

    PostgreSQL: taken in a transaction of its own (core.db.counter_engine), so concurrent
    intakes of a workspace do not queue on its row until each commits (one commit's WAL flush
    each, one after the other: a few hundred single-lead requests a second at most). A request
    that fails after this leaves a gap in the numbers, as a lead lost to a concurrent request
    with the same email already did. In the caller's transaction instead when that transaction
    may hold the row itself (it took a number so, or created the workspace), on SQLite, and
    whenever the side transaction fails or waits too long. Numbers are taken as late as they
    can be (right before the INSERT): in the caller's transaction the workspace row stays
    locked until it commits.
    """
    side = None if session.info.get(_HOLDS_NUMBERING) else counter_engine(session.get_bind().engine)
    if side is not None:
        try:
            with side.connect() as conn:
                top = conn.execute(_NEXT_NUMBERS, {"ws": workspace_id, "n": n}).scalar()
            if top is not None:
                return int(top) - n
        except DBAPIError as exc:  # a lock wait over the timeout (our own transaction's?), a lost connection
            logger.info("lead numbers taken in the request's transaction: %s", exc.__class__.__name__)
    session.info[_HOLDS_NUMBERING] = True
    top = int(session.connection().execute(_NEXT_NUMBERS, {"ws": workspace_id, "n": n}).scalar_one())
    return top - n


# Statements on the intake path are built once: building and keying a statement costs as
# much as running it on SQLite, and the webhook runs them for every lead.
_BY_EMAIL = select(Lead).where(Lead.workspace_id == bindparam("ws"), Lead.email_key == bindparam("key"))
_BY_EXTERNAL_ID = select(Lead).where(Lead.workspace_id == bindparam("ws"), Lead.external_id == bindparam("key"))
_EVENTS_OF = select(LeadEvent.kind, LeadEvent.at).where(LeadEvent.lead_id == bindparam("lead"))
_WORKSPACES = cast(Table, Workspace.__table__)
_LEADS = cast(Table, Lead.__table__)
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
                number=reserve_lead_numbers(session, ws.id, 1),
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

    def __init__(
        self,
        session: Session,
        ws: Workspace,
        configs: Mapping[str, Any] | None = None,
        teams: Sequence[tuple[int, str]] | None = None,
    ) -> None:
        """`configs` (rules and model by config name) and `teams` (id, name): when already read."""
        self.ws = ws
        if configs is None:
            # Rules and model in one query.
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
        self.picker = TeamPicker(session, ws.id, self.rules, teams)


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
# The new leads of a request are written with one statement. PostgreSQL: one INSERT ... SELECT
# from json_to_recordset of a single JSON parameter holding every row, ON CONFLICT DO NOTHING
# RETURNING (one round trip; a multi-row VALUES of 12,000 parameters costs psycopg more to
# build than PostgreSQL to run). SQLite (in process): an executemany of a single-row INSERT.
# A lead a concurrent request added first is simply not written; the caller merges into it.
_ROW_COLUMNS = {
    **{c: "text" for c in TEXT_FIELDS},
    "email_key": "text",
    "external_id": "text",
    "employees": "int",
    "attributes": "json",
    "number": "int",
    "team_id": "int",
    "score": "int",
    "score_reasons": "json",
    "predicted": "int",
    "hot": "boolean",
}
_INSERT_ROWS_PG = text(
    f"INSERT INTO leads ({', '.join(_ROW_COLUMNS)}, workspace_id, status, hot_since, created_at, updated_at) "
    f"SELECT {', '.join('r.' + c for c in _ROW_COLUMNS)}, :ws, :status, "
    "CASE WHEN r.hot THEN CAST(:now AS timestamptz) END, :now, :now "
    f"FROM json_to_recordset(CAST(:rows AS json)) AS r({', '.join(f'{c} {t}' for c, t in _ROW_COLUMNS.items())}) "
    "ON CONFLICT DO NOTHING RETURNING number, id"
).bindparams(bindparam("now", type_=_LEADS.c.created_at.type))
_INSERT_NEW_SQLITE = (
    sqlite.insert(_LEADS)
    .values({c: bindparam(c, type_=_LEADS.c[c].type) for c in _INSERT_COLUMNS})
    .on_conflict_do_nothing()
)
# The ids of the leads just written, by the numbers reserved for them.
_WRITTEN = select(_LEADS.c.number, _LEADS.c.id).where(
    _LEADS.c.workspace_id == bindparam("ws"), _LEADS.c.number >= bindparam("low"), _LEADS.c.number < bindparam("high")
)
_NEXT_NUMBERS = (
    update(_WORKSPACES)
    .where(_WORKSPACES.c.id == bindparam("ws"))
    .values(next_lead_number=_WORKSPACES.c.next_lead_number + bindparam("n"))
    .returning(_WORKSPACES.c.next_lead_number)
)
def _match_keys(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What makes two leads the same: the case-folded email, the sender's external id."""
    keys = []
    if fields.get("email"):
        keys.append(("email", str(fields["email"]).casefold()))
    if fields.get("external_id"):
        keys.append(("external_id", str(fields["external_id"])))
    return keys


_TEAM_TABLE = cast(Table, Team.__table__)


def _before_writing_statement(pg: bool) -> Any:
    """Everything intake reads before it writes, in one round trip (it runs on every webhook
    request): the rules and model configs, the teams (for routing), and which of the request's
    emails and external ids belong to stored leads. Rows: (kind, name, team id, config data)."""
    no_id = cast_(null(), Integer)
    no_data = cast_(null(), _CONFIG_TABLE.c.data.type)

    def among(column: Any, name: str) -> Any:
        # PostgreSQL: the keys as one array parameter (an IN list of 500 parameters costs
        # psycopg more to convert than the query costs to run).
        if pg:
            return column == any_(bindparam(name, type_=postgresql.ARRAY(Text)))
        return column.in_(bindparam(name, expanding=True))

    return union_all(
        select(literal_column("'config'", String), _CONFIG_TABLE.c.name, no_id, _CONFIG_TABLE.c.data).where(
            _CONFIG_TABLE.c.workspace_id == bindparam("ws"),
            _CONFIG_TABLE.c.name.in_((RULES_CONFIG, MODEL_CONFIG)),
        ),
        select(literal_column("'team'", String), _TEAM_TABLE.c.name, _TEAM_TABLE.c.id, no_data).where(
            _TEAM_TABLE.c.workspace_id == bindparam("ws")
        ),
        select(literal_column("'email'", String), _LEADS.c.email_key, no_id, no_data).where(
            _LEADS.c.workspace_id == bindparam("ws"), among(_LEADS.c.email_key, "emails")
        ),
        select(literal_column("'external_id'", String), _LEADS.c.external_id, no_id, no_data).where(
            _LEADS.c.workspace_id == bindparam("ws"), among(_LEADS.c.external_id, "external_ids")
        ),
    )


_BEFORE_WRITING = _before_writing_statement(pg=False)
_BEFORE_WRITING_PG = _before_writing_statement(pg=True)


def _context_and_known_keys(
    session: Session, ws: Workspace, items: Sequence[Mapping[str, Any]]
) -> tuple[ScoringContext, set[tuple[str, str]]]:
    """The scoring context of a request, and the match keys of `items` that belong to stored leads."""
    conn = session.connection()
    wanted: dict[str, set[str]] = {"email": set(), "external_id": set()}
    for fields in items:
        for kind, value in _match_keys(fields):
            wanted[kind].add(value)
    stmt = _BEFORE_WRITING_PG if conn.dialect.name == "postgresql" else _BEFORE_WRITING
    params = {"ws": ws.id, "emails": sorted(wanted["email"]), "external_ids": sorted(wanted["external_id"])}
    configs: dict[str, Any] = {}
    teams: list[tuple[int, str]] = []
    known: set[tuple[str, str]] = set()
    for kind, name, team_id, data in conn.execute(stmt, params):
        if kind == "config":
            configs[name] = data
        elif kind == "team":
            teams.append((int(team_id), name))
        else:
            known.add((kind, str(name)))
    teams.sort()  # in the order they were created, as TeamPicker reads them
    return ScoringContext(session, ws, configs, teams), known


def _new_row(ctx: ScoringContext, fields: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The INSERT parameters of a new lead, scored and routed (all but its number)."""
    attrs = dict(fields.get("attributes") or {})
    plain = {k: v for k, v in fields.items() if k != "attributes"}
    plain["name"] = plain.get("name") or str(plain.get("email") or "").split("@")[0]
    scored = {**dict.fromkeys(TEXT_FIELDS), "employees": None, **plain, "attributes": attrs}
    score = ctx.scorer.score(scored, [], now)
    predicted = None
    if ctx.model is not None:
        predicted = round(100 * predictive.predict(ctx.model, predictive.feature_values(scored)).probability)
    hot = is_hot(LeadStatus.NEW, score.points, ctx.ws.hot_lead_threshold)
    row = {
        **plain,
        "workspace_id": ctx.ws.id,
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
        "email_key": plain["email"].casefold() if plain.get("email") else None,
    }
    return {c: row.get(c) for c in _INSERT_COLUMNS}


def _insert_new(
    session: Session, ctx: ScoringContext, rows: list[tuple[int, dict[str, Any]]], now: datetime
) -> tuple[dict[int, IntakeResult], list[int]]:
    """Write new leads, already scored, with one number reservation and one multi-row INSERT.

    Skipping the ORM's unit of work for new leads (the common case) keeps a 500-lead request
    to a handful of statements. Returns the results by item index, and the indexes whose
    email or id a concurrent request added first (the caller merges those into that lead).
    """
    from core.leads.alerts import on_hot_many

    conn = session.connection()
    first = reserve_lead_numbers(session, ctx.ws.id, len(rows))
    for offset, (_index, row) in enumerate(rows):
        row["number"] = first + offset
    if session.get_bind().dialect.name == "postgresql":
        data = json.dumps([{c: row[c] for c in _ROW_COLUMNS} for _index, row in rows], separators=(",", ":"))
        written = conn.execute(
            _INSERT_ROWS_PG, {"rows": data, "ws": ctx.ws.id, "status": LeadStatus.NEW.value, "now": now}
        )
    else:
        conn.execute(_INSERT_NEW_SQLITE, [row for _index, row in rows])
        written = conn.execute(_WRITTEN, {"ws": ctx.ws.id, "low": first, "high": first + len(rows)})
    inserted = {int(number): int(lead_id) for number, lead_id in written}
    results: dict[int, IntakeResult] = {}
    lost: list[int] = []
    hot_ids: list[int] = []
    for index, row in rows:
        lead_id = inserted.get(row["number"])
        if lead_id is None:
            lost.append(index)
            continue
        results[index] = IntakeResult(f"L-{row['number']}", row["score"], row["hot"], True)
        if row["hot"]:
            hot_ids.append(lead_id)
    if hot_ids:
        # Alerts go through the outbox, in the same transaction, in the order the leads came.
        loaded = {lead.id: lead for lead in session.scalars(select(Lead).where(Lead.id.in_(hot_ids)))}
        on_hot_many(session, ctx.ws, [loaded[lead_id] for lead_id in hot_ids], now)
    return results, lost


def intake(session: Session, ws: Workspace, items: Sequence[Mapping[str, Any]], now: datetime) -> list[IntakeResult]:
    """Add or update checked leads and score each, in the caller's transaction; one result per item.

    New leads (the common case) are scored in memory and written together; a lead whose email
    or external id is already stored is updated and rescored, and an item repeating an earlier
    item's email or id is merged into that item's lead (`duplicate_of`). Hot-lead alerts are
    queued in the outbox as each lead turns hot.
    """
    session.flush()  # leads added earlier in this transaction count as known
    ctx, known = _context_and_known_keys(session, ws, items)
    seen: dict[tuple[str, str], int] = {}
    fresh: list[tuple[int, dict[str, Any]]] = []
    merge: dict[int, int | None] = {}  # item index -> the earlier item it repeats (None: a stored lead)
    for index, fields in enumerate(items):
        keys = _match_keys(fields)
        earlier = next((seen[k] for k in keys if k in seen), None)
        if earlier is not None or any(k in known for k in keys):
            merge[index] = earlier
        else:
            fresh.append((index, _new_row(ctx, fields, now)))
        for k in keys:
            seen.setdefault(k, index)
    results: dict[int, IntakeResult] = {}
    if fresh:
        results, lost = _insert_new(session, ctx, fresh, now)
        merge.update(dict.fromkeys(lost))
    for index in sorted(merge):
        lead, created = upsert_lead(session, ws, items[index], now, ctx.picker)
        rescore(session, ctx, lead, now, new=created)
        results[index] = IntakeResult(lead.ref, lead.score, lead.hot, created, merge[index])
    return [results[i] for i in range(len(items))]
