"""Writing checked import rows: bulk inserts, bulk updates by key, and their history.

core.deals.importer reads and checks a file without touching the database; this module then
writes what it found in a few statements per 2,000 rows. Owners are resolved first (a
Slack id of a known user, else a name kept on an unlinked user), existing deals are
preloaded by key in one query, and unchanged deals are not written at all.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, select, text, update
from sqlalchemy.orm import Session

from core import csv_mapping as cm
from core.deals.import_rows import ImportReport, ParsedRow, Progress, StageResolver
from core.tables import Deal, DealChange, Team, User, Workspace
from core.text import casefold_for_match, is_turkish
from core.workspace.users import owner_by_name

BATCH = 2000
ANALYZE_AFTER = 5000  # rows created: refresh PostgreSQL's planner statistics
# Core tables, not ORM classes, for the bulk writes: the ORM's bulk path costs ~3x more per row.
_DEALS = cast(Table, Deal.__table__)
_CHANGES = cast(Table, DealChange.__table__)
_OWN_REF = re.compile(r"D-(\d{1,9})")
# Fields compared on re-import (Deal attribute names), in the order history shows them.
COMPARED = (
    "title", "account", "contact", "product", "amount_minor", "currency", "stage_id", "owner_id",
    "expected_close", "next_step", "source", "lost_reason", "created_at", "engaged_at", "closed_at",
)
# Which file column each compared field comes from: a field whose column the file lacks is
# left as it is on re-import (a partial export must not blank what it does not carry).
FIELD_SOURCE = {
    "title": ("title", "product", "account", "external_id"), "account": ("account",),
    "contact": ("contact",), "product": ("product",), "amount_minor": ("amount", "product"),
    "currency": ("currency", "amount"), "stage_id": ("stage",), "owner_id": ("owner",),
    "expected_close": ("expected_close",), "next_step": ("next_step",), "source": ("source",),
    "lost_reason": ("lost_reason",), "created_at": ("created", "engaged"), "engaged_at": ("engaged",),
    "closed_at": ("stage",),
}


def resolve_owners(s: Session, workspace_id: int, parsed: list[ParsedRow], now: datetime) -> dict[str, User]:
    """Owner cell -> user: a known user id (csv_mapping.owner_id_token), else a (new) unlinked user by name."""
    users = list(s.scalars(select(User).where(User.workspace_id == workspace_id).order_by(User.id)))
    locale = s.scalar(select(Workspace.locale).where(Workspace.id == workspace_id)) or "en"
    by_slack = {u.slack_id: u for u in users if u.slack_id}
    # names by Turkish case rules in a Turkish workspace ("IŞIL İNCE" is "Işıl İnce"), else exactly
    name_key = (lambda n: casefold_for_match(n, locale)) if is_turkish(locale) else (lambda n: n.strip())
    by_name: dict[str, User] = {}
    for u in users:
        if u.import_name:
            by_name.setdefault(name_key(u.import_name), u)
    owners: dict[str, User] = {}
    teams: dict[str, Team] | None = None
    for row in parsed:
        if row.owner is None or row.owner in owners:
            continue
        token = cm.owner_id_token(row.owner)
        user = by_slack.get(token) if token else None
        if user is None:
            key = name_key(row.owner)
            user = by_name.get(key) or owner_by_name(s, workspace_id, row.owner, now)
            by_name[key] = user
        if row.team and user.team_id is None:
            # An export names each owner's team: put team-less owners in it (round trips).
            if teams is None:
                teams = {t.name: t for t in s.scalars(select(Team).where(Team.workspace_id == workspace_id))}
            team = teams.get(row.team)
            if team is None:
                team = teams[row.team] = Team(workspace_id=workspace_id, name=row.team, created_at=now)
                s.add(team)
                s.flush()
            user.team_id = team.id
        owners[row.owner] = user
    s.flush()
    return owners


def write_deals(
    s: Session,
    ws: Workspace,
    parsed: list[ParsedRow],
    resolver: StageResolver,
    owners: dict[str, User],
    cmap: cm.ColumnMap,
    now: datetime,
    report: ImportReport,
    progress: Progress | None,
    total: int,
) -> None:
    """Bulk-insert new deals, bulk-update changed ones, and write their history."""
    stage_names = {st.id: st.name for st in resolver.by_key.values()}
    owner_names: dict[int, str] = {
        uid: name for uid, name in s.execute(select(User.id, User.name).where(User.workspace_id == ws.id))
    }
    pipeline_id = next(iter(resolver.by_key.values())).pipeline_id
    # Only our own export names its id column `ref`: there `D-42` means deal number 42.
    own_refs = "external_id" in cmap.index and cm.header_key(cmap.header_of("external_id")) == "ref"
    existing = _existing(s, ws.id, [r.key for r in parsed], own_refs)
    present = {f for f, cols in FIELD_SOURCE.items() if any(c in cmap.index for c in cols)}
    inserts: list[dict[str, Any]] = []
    stage_ids: dict[str, int] = {}
    owner_ids = {name: u.id for name, u in owners.items()}
    first_number = ws.next_deal_number
    updates: list[tuple[dict[str, Any], dict[str, tuple[Any, Any]]]] = []
    for row in parsed:
        stage_id = stage_ids.get(row.stage_name)
        if stage_id is None:
            stage = resolver.find(row.stage_name)
            assert stage is not None and stage.id is not None
            stage_id = stage_ids[row.stage_name] = stage.id
        values = dict(row.values, stage_id=stage_id, owner_id=owner_ids[row.owner] if row.owner else None)
        old = existing.get(row.key)
        if old is None:
            latest = max(d for d in (values["created_at"], values["engaged_at"], values["closed_at"]) if d)
            inserts.append(
                dict(
                    values, workspace_id=ws.id, number=first_number + len(inserts), external_id=row.key,
                    pipeline_id=pipeline_id, created_by_id=None, updated_at=now, last_touch_at=latest,
                )
            )
            continue
        changes = {
            f: (old[f], values[f])
            for f in COMPARED
            if f in present and old[f] != values[f] and not (f in row.soft and old[f] is not None)
        }
        if not changes:
            report.unchanged += 1
            continue
        new = {f: new for f, (_, new) in changes.items()}
        if old["status"] != values["status"]:
            new["status"] = values["status"]
            changes["status"] = (old["status"].value, values["status"].value)
        updates.append((dict(new, id=old["id"], updated_at=now), changes))

    done = 0
    for start in range(0, len(inserts), BATCH):
        batch = inserts[start : start + BATCH]
        # Rows in, then one SELECT for their ids: on PostgreSQL ~4x faster than INSERT .. RETURNING,
        # whose huge multi-VALUES statements psycopg re-parses.
        bulk_insert(s, _DEALS, batch)
        first, last = batch[0]["number"], batch[-1]["number"]
        by_number = dict(
            s.execute(
                select(Deal.number, Deal.id).where(
                    Deal.workspace_id == ws.id, Deal.number >= first, Deal.number <= last
                )
            ).all()
        )
        ids = [by_number[d["number"]] for d in batch]
        bulk_insert(
            s,
            _CHANGES,
            [
                dict(workspace_id=ws.id, deal_id=i, field="created", old_value=None,
                     new_value=stage_names[d["stage_id"]], changed_by_id=None, changed_at=now, source="import")
                for i, d in zip(ids, batch, strict=True)
            ],
        )
        done += len(batch)
        if progress:
            progress(done, total)
    ws.next_deal_number += len(inserts)
    report.created = len(inserts)

    history: list[dict[str, Any]] = []
    for new, changes in updates:
        for f, (before, after) in changes.items():
            name, before_text, after_text = _shown(f, before, after, stage_names, owner_names)
            history.append(
                dict(workspace_id=ws.id, deal_id=new["id"], field=name, old_value=before_text,
                     new_value=after_text, changed_by_id=None, changed_at=now, source="import")
            )
    # Bulk UPDATE by primary key groups rows by their set of keys: sort to keep groups whole.
    updates.sort(key=lambda u: tuple(sorted(u[0])))
    for start in range(0, len(updates), BATCH):
        batch_rows = [u[0] for u in updates[start : start + BATCH]]
        s.execute(update(Deal), batch_rows)
        # A bulk UPDATE by primary key skips the revision hook (core/tables.py): posted cards of
        # these deals must still catch up.
        s.execute(update(Deal).where(Deal.id.in_([r["id"] for r in batch_rows]))
                  .values(revision=Deal.revision + 1).execution_options(synchronize_session=False))
    for start in range(0, len(history), BATCH):
        bulk_insert(s, _CHANGES, history[start : start + BATCH])
    report.updated = len(updates)
    if len(inserts) >= ANALYZE_AFTER and s.connection().dialect.name == "postgresql":
        # Fresh statistics: a table that grew from 0 to 100k rows in one transaction is still
        # "empty" to the planner until autovacuum gets to it, and other queries plan badly.
        s.execute(text("ANALYZE deals"))
        s.execute(text("ANALYZE deal_changes"))
    if progress:
        progress(total, total)


def bulk_insert(s: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, straight through the driver.

    COPY on PostgreSQL, the driver's executemany on SQLite: SQLAlchemy's executemany spends
    more time building parameters than the database spends storing 100k rows. Values still
    go through each column's own bind processing (UTC datetimes, enum values), and the
    models' Python-side defaults (stale_nudges=0, ...) are filled in here.
    """
    if not rows:
        return
    conn = s.connection()
    dialect = conn.dialect
    if dialect.name not in ("postgresql", "sqlite"):
        s.execute(table.insert(), rows)
        return
    defaults = {
        c.name: c.default.arg  # type: ignore[attr-defined]
        for c in table.c
        if c.name not in rows[0] and c.default is not None and c.default.is_scalar
    }
    names = [*rows[0], *defaults]
    # dialect_impl: the dialect's own type (SQLite stores datetimes as text in one format).
    processors = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    plan = list(zip(names, processors, strict=True))
    values = (
        [p(full[n]) if p else full[n] for n, p in plan] for full in ({**defaults, **row} for row in rows)
    )
    raw: Any = conn.connection.dbapi_connection
    columns = ", ".join(f'"{n}"' for n in names)
    if dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in values:
                copy.write_row(row)
        return
    cur = raw.cursor()
    try:
        marks = ", ".join("?" for _ in names)
        cur.executemany(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', values)
    finally:
        cur.close()


def _existing(s: Session, workspace_id: int, keys: list[str], own_refs: bool) -> dict[str, dict[str, Any]]:
    """Deals already imported under these keys (or, with own_refs, numbered by them), as dicts."""
    if not keys:
        return {}
    columns = [getattr(Deal, f) for f in ("id", "external_id", "status", *COMPARED)]
    stmt = select(*columns).where(Deal.workspace_id == workspace_id, Deal.external_id.is_not(None))
    if len(keys) <= 500:  # a small file: look its keys up; a big one: one scan of the workspace
        stmt = stmt.where(Deal.external_id.in_(keys))
    wanted = set(keys)
    found: dict[str, dict[str, Any]] = {}
    for row in s.execute(stmt).mappings():
        if row["external_id"] in wanted:
            found[row["external_id"]] = dict(row)
    refs = {int(m.group(1)): k for k in keys if own_refs and k not in found and (m := _OWN_REF.fullmatch(k))}
    if refs:
        own = select(*columns).where(Deal.workspace_id == workspace_id)
        if len(refs) <= 500:
            own = own.where(Deal.number.in_(list(refs)))
        for row in s.execute(own.add_columns(Deal.number)).mappings():
            if row["number"] in refs:
                found[refs[row["number"]]] = dict(row)
    return found


def _shown(
    fname: str, before: Any, after: Any, stage_names: dict[int, str], owner_names: dict[int, str]
) -> tuple[str, str | None, str | None]:
    """History row field name and values as people read them."""

    def as_text(v: Any) -> str | None:
        if v is None:
            return None
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, date):
            return v.isoformat()
        return str(v)

    if fname == "stage_id":
        return "stage", stage_names.get(before), stage_names.get(after)
    if fname == "owner_id":
        return "owner", owner_names.get(before, as_text(before)), owner_names.get(after, as_text(after))
    if fname == "amount_minor":
        return "amount", _money_text(before), _money_text(after)
    return fname, as_text(before), as_text(after)


def _money_text(minor: int | None) -> str | None:
    if minor is None:
        return None
    from core.money import from_minor

    return str(from_minor(minor))
