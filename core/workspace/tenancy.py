"""Whole workspaces, as an operator of a multi-workspace install sees them (SPEC section 2).

`list_workspaces` (with their counts), `export_workspace` (a zip of CSV exports; the writers
are passed in, since they belong to the packages above this one) and `erase_workspace`
(every row of one workspace gone in one transaction, the others untouched).

Which rows belong to a workspace is read from the tables themselves (`Base.metadata`), so a
table added later is covered without touching this module: a table with a `workspace_id`
column is keyed by it; a table with a plain-string `team_id` column (no foreign key: Slack's
team id, as the OAuth installation and state tables keep it, and `workspaces` itself) is
keyed by the Slack team id. Every other table is shared by all workspaces (`SHARED_TABLES`
says which are known to be; a new one must be added there on purpose, the tests check it).
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TextIO

from sqlalchemy import Column, ColumnElement, String, Table, delete, func, select, update
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import NotFound
from core.tables import Base, Deal, Lead, User, Workspace

# Tables whose rows belong to no workspace: the scheduler's leases (a lock, keyed by job name) and
# OAuth states (handed out by /slack/install before anyone knows which workspace will install).
SHARED_TABLES = frozenset({"leases", "oauth_states"})

CsvWriter = Callable[[UnitOfWork, int, TextIO], int | None]


@dataclass(frozen=True)
class TableScope:
    """How the rows of one table are found for one workspace."""

    table: Table
    column: Column[object]  # workspace_id (the workspace's row id) or team_id (Slack's team id)

    @property
    def by_team_id(self) -> bool:
        return self.column.name == "team_id"

    def where(self, workspace_id: int, team_id: str) -> ColumnElement[bool]:
        return self.column == (team_id if self.by_team_id else workspace_id)


def _slack_team_column(table: Table) -> Column[object] | None:
    col = table.c.get("team_id")
    if col is None or col.foreign_keys or not isinstance(col.type, String):
        return None
    return col


def table_scopes(tables: Iterable[Table] | None = None) -> list[TableScope]:
    """Every workspace-owned table with the column that says whose a row is, parents first."""
    scopes = []
    for table in tables if tables is not None else Base.metadata.sorted_tables:
        column = table.c.get("workspace_id")
        if column is None:
            column = _slack_team_column(table)
        if column is not None:
            scopes.append(TableScope(table, column))
    return scopes


def shared_tables(tables: Iterable[Table] | None = None) -> list[str]:
    """The tables that hold rows of no workspace in particular."""
    scoped = {s.table.name for s in table_scopes(tables)}
    return [t.name for t in (tables if tables is not None else Base.metadata.sorted_tables) if t.name not in scoped]


@dataclass(frozen=True)
class WorkspaceSummary:
    team_id: str
    name: str
    locale: str
    currency: str
    deals: int
    leads: int
    users: int
    created_at: datetime
    status: str | None  # active / paused / uninstalled where the install keeps one


def _status_column() -> ColumnElement[object] | None:
    return Workspace.__table__.c.get("status")


def list_workspaces(uow: UnitOfWork) -> list[WorkspaceSummary]:
    """Every workspace with its deal, lead and user counts, oldest first."""
    status = _status_column()
    with uow.read() as s:
        counts: dict[str, dict[int, int]] = {}
        for name, model in (("deals", Deal), ("leads", Lead), ("users", User)):
            rows = s.execute(select(model.workspace_id, func.count()).group_by(model.workspace_id))
            counts[name] = {int(ws): int(n) for ws, n in rows}
        statuses: dict[int, object] = {}
        if status is not None:
            statuses = {int(ws): value for ws, value in s.execute(select(Workspace.id, status))}
        found = []
        for ws in s.scalars(select(Workspace).order_by(Workspace.created_at, Workspace.id)):
            value = statuses.get(ws.id)
            found.append(WorkspaceSummary(
                team_id=ws.team_id, name=ws.name or "", locale=ws.locale, currency=ws.default_currency,
                deals=counts["deals"].get(ws.id, 0), leads=counts["leads"].get(ws.id, 0),
                users=counts["users"].get(ws.id, 0), created_at=ws.created_at,
                status=None if value is None else str(getattr(value, "value", value)),
            ))
        return found


def find_workspace(session: Session, team_id: str) -> Workspace:
    """The workspace of a Slack team id; NotFound naming the ones there are (never creates one)."""
    ws = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
    if ws is None:
        known = list(session.scalars(select(Workspace.team_id).order_by(Workspace.team_id)))
        there = f"the workspaces here are {', '.join(known)}" if known else "there are no workspaces here"
        raise NotFound(f"No workspace with team id {team_id!r}: {there}.")
    return ws


def row_counts(session: Session, workspace_id: int, team_id: str) -> dict[str, int]:
    """How many rows of each workspace-owned table belong to the workspace (every table listed)."""
    return {
        scope.table.name: int(
            session.scalar(select(func.count()).select_from(scope.table).where(scope.where(workspace_id, team_id)))
            or 0
        )
        for scope in table_scopes()
    }


@dataclass(frozen=True)
class Erased:
    team_id: str
    name: str
    deleted: dict[str, int]  # table -> rows deleted (tables with none left out)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def _cyclic_columns(table: Table) -> list[Column[object]]:
    """Foreign keys that close a cycle between tables (declared `use_alter`): cleared first."""
    return [fk.parent for fk in table.foreign_keys if fk.use_alter]


def erase_workspace(uow: UnitOfWork, team_id: str) -> Erased:
    """Delete every row of one workspace, table by table (children first), in one transaction.

    Cascades are not relied on: the references that close a cycle (a team's manager, a deal's
    lead) are cleared first, then each table's rows are deleted in the reverse of the order the
    tables depend on each other, the workspace's own row last. The counts are read again before
    the commit; a row left anywhere rolls the whole deletion back.
    """
    with uow.transaction() as s:
        ws = find_workspace(s, team_id)
        ws_id, name = ws.id, ws.name
        # Writers that add a row of this workspace meanwhile wait on this lock (PostgreSQL's
        # foreign-key checks share-lock the workspace row), then fail: the workspace is gone.
        # On SQLite the transaction already holds the one write lock (BEGIN IMMEDIATE).
        s.execute(select(Workspace.id).where(Workspace.id == ws_id).with_for_update())
        scopes = table_scopes()
        s.flush()
        s.expunge_all()  # the ORM must not flush stale objects of the rows deleted below
        for scope in scopes:
            cyclic = [c for c in _cyclic_columns(scope.table) if c.nullable]
            if cyclic:
                s.execute(update(scope.table).where(scope.where(ws_id, team_id)).values({c.name: None for c in cyclic}))
        deleted: dict[str, int] = {}
        for scope in reversed(scopes):
            result = s.execute(delete(scope.table).where(scope.where(ws_id, team_id)))
            count = int(getattr(result, "rowcount", 0) or 0)
            if count:
                deleted[scope.table.name] = count
        left = {table: n for table, n in row_counts(s, ws_id, team_id).items() if n}
        if left:
            raise RuntimeError(f"rows of {team_id} left after the deletion: {left}")
        return Erased(team_id=team_id, name=name, deleted=deleted)


def export_workspace(
    uow: UnitOfWork, team_id: str, out: IO[bytes], writers: Mapping[str, CsvWriter]
) -> dict[str, int]:
    """Write a zip holding `<name>.csv` for each writer (deals, leads, activities); return the row counts."""
    with uow.read() as s:
        ws_id = find_workspace(s, team_id).id
    written: dict[str, int] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, writer in writers.items():
            with archive.open(f"{name}.csv", "w") as member, io.TextIOWrapper(
                member, encoding="utf-8", newline=""
            ) as text:
                written[name] = int(writer(uow, ws_id, text) or 0)
    return written
