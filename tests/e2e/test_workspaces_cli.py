"""`salesbot workspaces list | export | delete` run as the installed command, on SQLite and PostgreSQL.

Deletion is proven by counting the rows of every table in Base.metadata before and after; a
delete without --yes or of an unknown team id says why, exits 2 and changes no row.
"""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import UnitOfWork
from core.tables import Base
from core.workspace import tenancy
from tests.e2e.test_cli_data import run
from tests.tenancy_data import all_rows, populate, rows_of


def _counts(uow: UnitOfWork) -> dict[str, int]:
    with uow.read() as s:
        return {t.name: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in Base.metadata.sorted_tables}


@pytest.mark.both_backends
def test_list_export_and_delete_one_workspace(db_url: str, uow: UnitOfWork, now: datetime, tmp_path: Path) -> None:
    a = populate(uow, "TAAA", now)
    b = populate(uow, "TBBB", now)

    listed = run(db_url, "workspaces", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:8] == ["team_id", "name", "locale", "currency", "deals", "leads", "users", "created"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {"TAAA", "TBBB"}
    assert rows["TAAA"][1:7] == ["-", "en", "USD", "2", "2", "4"]
    assert rows["TAAA"][7:10] == ["2026-11-23", "14:00", "UTC"]

    out = tmp_path / "a.zip"
    exported = run(db_url, "workspaces", "export", "TAAA", "--out", str(out), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == f"Exported TAAA to {out}: 2 deals, 2 leads, 2 activities."
    with zipfile.ZipFile(out) as z:
        assert z.namelist() == ["deals.csv", "leads.csv", "activities.csv"]
        deals_csv = z.read("deals.csv").decode()
        leads_csv = z.read("leads.csv").decode()
    # The same CSV `salesbot export deals --team-id TAAA` prints.
    direct = run(db_url, "export", "deals", "--team-id", "TAAA", cwd=tmp_path)
    assert direct.returncode == 0 and direct.stdout == deals_csv
    assert sorted(r["email"] for r in csv.DictReader(io.StringIO(leads_csv))) == sorted(a.emails)

    before = _counts(uow)
    with uow.read() as s:
        a_counts = tenancy.row_counts(s, a.workspace_id, a.team_id)
    assert all(a_counts.values()), a_counts  # every workspace-owned table holds some of A's rows
    b_rows = rows_of(uow, b.team_id, b.workspace_id)

    deleted = run(db_url, "workspaces", "delete", "TAAA", "--yes", cwd=tmp_path)
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.startswith(f"Deleted workspace TAAA: {sum(a_counts.values())} rows (")

    after = _counts(uow)
    assert after == {t: before[t] - a_counts.get(t, 0) for t in before}
    with uow.read() as s:
        assert set(tenancy.row_counts(s, a.workspace_id, a.team_id).values()) == {0}
    assert rows_of(uow, b.team_id, b.workspace_id) == b_rows
    relisted = run(db_url, "workspaces", "list", cwd=tmp_path)
    assert [line.split()[0] for line in relisted.stdout.splitlines()[1:]] == ["TBBB"]


def test_delete_without_yes_or_of_an_unknown_team_changes_nothing(
    db_url: str, uow: UnitOfWork, now: datetime, tmp_path: Path
) -> None:
    populate(uow, "TAAA", now)
    before = all_rows(uow)

    no_yes = run(db_url, "workspaces", "delete", "TAAA", cwd=tmp_path)
    assert no_yes.returncode == 2
    err = " ".join(no_yes.stderr.split())
    assert "not deleted" in err and "--yes" in err and "salesbot workspaces export TAAA" in err
    assert "2 deals" in err and "2 leads" in err
    assert all_rows(uow) == before

    for args in (["delete", "TNOPE", "--yes"], ["delete", "TNOPE"], ["export", "TNOPE", "--out",
                                                                     str(tmp_path / "x.zip")]):
        done = run(db_url, "workspaces", *args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "No workspace with team id 'TNOPE'" in done.stderr and "TAAA" in done.stderr
        assert all_rows(uow) == before  # nothing deleted, and no workspace TNOPE created
    assert not (tmp_path / "x.zip").exists()
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".zip"] == []

    missing_dir = run(db_url, "workspaces", "export", "TAAA", "--out", str(tmp_path / "no" / "a.zip"),
                      cwd=tmp_path)
    assert missing_dir.returncode == 2 and "no such directory" in missing_dir.stderr


def test_list_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    done = run(url, "workspaces", "list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "No workspaces yet."


def test_delete_on_a_database_made_by_the_migrations(tmp_path: Path, now: datetime) -> None:
    """The schema `salesbot migrate` makes (not create_all) deletes the same way: foreign keys on, no row left."""
    from core.db import make_engine

    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    assert run(url, "migrate", cwd=tmp_path).returncode == 0
    engine = make_engine(url)
    try:
        uow = UnitOfWork(engine)
        a = populate(uow, "TAAA", now)
        b = populate(uow, "TBBB", now)
        b_rows = rows_of(uow, b.team_id, b.workspace_id)
        before = _counts(uow)
        with uow.read() as s:
            a_counts = tenancy.row_counts(s, a.workspace_id, a.team_id)
            assert s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        done = run(url, "workspaces", "delete", "TAAA", "--yes", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert _counts(uow) == {t: before[t] - a_counts.get(t, 0) for t in before}
        assert rows_of(uow, b.team_id, b.workspace_id) == b_rows
        with uow.read() as s:
            assert s.connection().exec_driver_sql("PRAGMA foreign_key_check").all() == []
    finally:
        engine.dispose()
