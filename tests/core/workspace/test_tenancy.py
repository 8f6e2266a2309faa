"""Whole workspaces (issue 14 point 3): list with counts, erase every row of one, export as a zip.

The proof of erasure counts the rows of every table in Base.metadata (found, not listed, so a
table added later is counted too) before and after, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime

import pytest
from sqlalchemy import Integer, String, func, select

from core.db import UnitOfWork
from core.deals import exporter
from core.errors import NotFound
from core.leads import csv_io as lead_io
from core.tables import Base
from core.workspace import tenancy
from tests.tenancy_data import all_rows, cross_workspace_references, populate, rows_of


def _counts(uow: UnitOfWork) -> dict[str, int]:
    with uow.read() as s:
        return {t.name: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in Base.metadata.sorted_tables}


def test_every_table_is_either_owned_by_a_workspace_or_known_to_be_shared() -> None:
    scoped = {s.table.name: s.column.name for s in tenancy.table_scopes()}
    shared = set(tenancy.shared_tables())
    assert scoped.keys() | shared == {t.name for t in Base.metadata.sorted_tables}
    # A new table that belongs to no workspace must be said to on purpose (SHARED_TABLES).
    assert shared == tenancy.SHARED_TABLES & set(Base.metadata.tables)
    assert scoped["workspaces"] == "team_id" and scoped["deals"] == "workspace_id"
    # users.team_id is a sales team (a foreign key), not a Slack team id.
    assert scoped["users"] == "workspace_id"


def test_a_table_keyed_by_slack_team_id_is_found_by_it() -> None:
    from sqlalchemy import Column, MetaData, Table

    md = MetaData()
    installs = Table("installs", md, Column("id", Integer, primary_key=True), Column("team_id", String(32)))
    lock = Table("locks", md, Column("name", String(20), primary_key=True))
    scopes = tenancy.table_scopes([installs, lock])
    assert [(s.table.name, s.column.name, s.by_team_id) for s in scopes] == [("installs", "team_id", True)]
    assert tenancy.shared_tables([installs, lock]) == ["locks"]


def test_erase_deletes_every_row_of_one_workspace_and_nothing_else(uow: UnitOfWork, now: datetime) -> None:
    a = populate(uow, "TAAA", now)
    b = populate(uow, "TBBB", now)
    with uow.read() as s:
        a_counts = tenancy.row_counts(s, a.workspace_id, a.team_id)
        b_counts = tenancy.row_counts(s, b.workspace_id, b.team_id)
    # Every workspace-owned table holds rows of both, so "all gone" proves something for each.
    assert [t for t, n in a_counts.items() if n == 0] == []
    assert [t for t, n in b_counts.items() if n == 0] == []
    before = _counts(uow)
    b_rows = rows_of(uow, b.team_id, b.workspace_id)
    shared_before = {t: rows for t, rows in all_rows(uow).items() if t in tenancy.SHARED_TABLES}

    erased = tenancy.erase_workspace(uow, "TAAA")

    assert erased.deleted == a_counts and erased.total == sum(a_counts.values())
    after = _counts(uow)
    assert after == {t: before[t] - a_counts.get(t, 0) for t in before}
    with uow.read() as s:
        assert set(tenancy.row_counts(s, a.workspace_id, a.team_id).values()) == {0}
    assert rows_of(uow, b.team_id, b.workspace_id) == b_rows
    assert {t: rows for t, rows in all_rows(uow).items() if t in tenancy.SHARED_TABLES} == shared_before
    assert cross_workspace_references(uow) == []
    assert [w.team_id for w in tenancy.list_workspaces(uow)] == ["TBBB"]


def test_erasing_an_unknown_team_id_changes_nothing(uow: UnitOfWork, now: datetime) -> None:
    populate(uow, "TAAA", now)
    before = all_rows(uow)
    with pytest.raises(NotFound) as err:
        tenancy.erase_workspace(uow, "TNOPE")
    assert "TNOPE" in err.value.message and "TAAA" in err.value.message
    assert all_rows(uow) == before


def test_list_counts_each_workspace(uow: UnitOfWork, now: datetime) -> None:
    populate(uow, "TAAA", now)
    populate(uow, "TBBB", now)
    with uow.transaction() as s:
        from core.tables import Workspace

        s.scalars(select(Workspace).where(Workspace.team_id == "TBBB")).one().default_currency = "EUR"
    found = {w.team_id: w for w in tenancy.list_workspaces(uow)}
    assert set(found) == {"TAAA", "TBBB"}
    a, b = found["TAAA"], found["TBBB"]
    assert (a.deals, a.leads, a.users, a.currency, a.locale) == (2, 2, 4, "USD", "en")
    assert (b.deals, b.leads, b.users, b.currency) == (2, 2, 4, "EUR")
    assert a.created_at == now


def test_export_zip_holds_the_csv_exports_of_one_workspace(uow: UnitOfWork, now: datetime) -> None:
    populate(uow, "TAAA", now)
    b = populate(uow, "TBBB", now)
    out = io.BytesIO()
    writers = {"deals": exporter.export_deals, "leads": lead_io.export_leads,
               "activities": exporter.export_activities}
    counts = tenancy.export_workspace(uow, "TBBB", out, writers)
    assert counts == {"deals": 2, "leads": 2, "activities": 2}
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
        assert z.namelist() == ["deals.csv", "leads.csv", "activities.csv"]
        files = {n: z.read(n).decode("utf-8") for n in z.namelist()}
    for name, writer in writers.items():  # byte for byte what `salesbot export` writes
        direct = io.StringIO()
        writer(uow, b.workspace_id, direct)
        assert files[f"{name}.csv"] == direct.getvalue()
    deals_rows = list(csv.DictReader(io.StringIO(files["deals.csv"])))
    assert sorted(r["title"] for r in deals_rows) == ["Acme TBBB", "Globex TBBB"]
    assert "TAAA" not in "".join(files.values())
    with pytest.raises(NotFound):
        tenancy.export_workspace(uow, "TNOPE", io.BytesIO(), writers)
