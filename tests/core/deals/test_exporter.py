"""CSV exports: the exact columns of SPEC section 2, and export -> import -> export round trips."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from core.db import UnitOfWork
from core.deals import deals
from core.deals.demo import load_demo_org
from core.deals.exporter import ACTIVITY_COLUMNS, DEAL_COLUMNS, export_activities, export_deals
from core.deals.importer import import_deals
from core.money import Money
from core.workspace.users import Actor
from core.workspace.workspaces import get_or_create_workspace
from tests.conftest import MAVEN_DIR

SPEC_DEAL_COLUMNS = (
    "ref, title, account, contact, owner, team, stage, amount, currency, expected_close, next_step, "
    "source, created_at, closed_at, lost_reason"
)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def exported(uow: UnitOfWork, workspace_id: int) -> str:
    out = io.StringIO()
    export_deals(uow, workspace_id, out)
    return out.getvalue()


def workspace(uow: UnitOfWork, team_id: str, now: datetime) -> int:
    with uow.transaction() as s:
        return get_or_create_workspace(s, team_id, now).id


def test_columns_are_those_of_the_spec() -> None:
    assert ", ".join(DEAL_COLUMNS) == SPEC_DEAL_COLUMNS
    assert ACTIVITY_COLUMNS == ("deal_ref", "lead_ref", "kind", "by", "at", "text")


def test_empty_workspace_exports_the_header_only(uow: UnitOfWork, now: datetime) -> None:
    ws_id = workspace(uow, "T1", now)
    assert exported(uow, ws_id) == ",".join(DEAL_COLUMNS) + "\n"


def slack_and_imported_deals(uow: UnitOfWork, ana: Actor, now: datetime, tmp_path: Path) -> None:
    """A deal made in Slack by a linked user, one closed lost, and imported ones by name."""
    deal = deals.create_deal(
        uow, ana, title="Acme, \"big\" renewal", now=now, amount=Money(Decimal("12000.50"), "EUR"),
        stage="Proposal", expected_close=date(2026, 12, 31), account="Acme", contact="Jo Smith",
        next_step="send quote\nthen call", source="referral",
    )
    lost = deals.create_deal(uow, ana, title="Small one", now=now, amount=Money(Decimal("900"), "USD"))
    deals.close_deal_lost(uow, ana, lost.ref, "went with a competitor", now=now)
    deals.log_activity(uow, ana, deal.ref, "call", "talked budget", now=now)
    path = tmp_path / "in.csv"
    path.write_text(
        "id,title,owner,stage,amount,close_date,account,created\n"
        "X1,Globex,Jane Roe,Won,4500,2026-11-02,Globex,2026-09-01\n"
        "X2,Initech,,Qualified,,,,\n",
        encoding="utf-8",
    )
    import_deals(uow, ana.workspace_id, path, now=now)


def test_deal_export_values(uow: UnitOfWork, ana: Actor, now: datetime, tmp_path: Path) -> None:
    slack_and_imported_deals(uow, ana, now, tmp_path)
    rows = rows_of(exported(uow, ana.workspace_id))
    assert [r["ref"] for r in rows] == ["D-1", "D-2", "D-3", "D-4"]
    first, lost, won, bare = rows
    assert first["title"] == 'Acme, "big" renewal' and first["next_step"] == "send quote\nthen call"
    assert (first["owner"], first["team"], first["amount"], first["currency"]) == ("UANA", "East", "12000.50", "EUR")
    assert (first["stage"], first["expected_close"], first["created_at"]) == (
        "Proposal", "2026-12-31", now.isoformat())
    assert (lost["stage"], lost["lost_reason"], lost["closed_at"]) == (
        "Lost", "went with a competitor", now.isoformat())
    assert (won["owner"], won["team"], won["amount"], won["closed_at"]) == (
        "Jane Roe", "", "4500.00", "2026-11-02T12:00:00+00:00")
    assert (bare["owner"], bare["amount"], bare["closed_at"]) == ("", "", "")


def test_activity_export(uow: UnitOfWork, ana: Actor, now: datetime, tmp_path: Path) -> None:
    slack_and_imported_deals(uow, ana, now, tmp_path)
    out = io.StringIO()
    assert export_activities(uow, ana.workspace_id, out) == 1
    assert rows_of(out.getvalue()) == [
        {"deal_ref": "D-1", "lead_ref": "", "kind": "call", "by": "UANA", "at": now.isoformat(),
         "text": "talked budget"}
    ]


def test_round_trip_into_a_fresh_workspace(uow: UnitOfWork, ana: Actor, now: datetime, tmp_path: Path) -> None:
    slack_and_imported_deals(uow, ana, now, tmp_path)
    first = exported(uow, ana.workspace_id)
    path = tmp_path / "export.csv"
    path.write_text(first, encoding="utf-8")
    fresh = workspace(uow, "T2", now)
    report = import_deals(uow, fresh, path, now=now)
    assert (report.created, report.errors) == (4, [])
    assert exported(uow, fresh) == first
    # and importing the export again changes nothing
    again = import_deals(uow, fresh, path, now=now)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def test_maven_round_trip(uow: UnitOfWork, now: datetime, tmp_path: Path) -> None:
    demo = load_demo_org(uow, "TDEMO", now)
    with uow.read() as s:
        from sqlalchemy import select

        from core.tables import Workspace

        demo_id = s.scalar(select(Workspace.id).where(Workspace.team_id == "TDEMO"))
    assert demo_id is not None and demo.created == 8800
    first = exported(uow, demo_id)
    path = tmp_path / "maven-export.csv"
    path.write_text(first, encoding="utf-8")
    fresh = workspace(uow, "T2", now)
    report = import_deals(uow, fresh, path, now=now, create_stages=True)
    assert (report.created, report.errors) == (8800, [])
    assert exported(uow, fresh) == first
    assert len(rows_of(first)) == 8800 and MAVEN_DIR.exists()


def test_reimporting_an_edited_export_updates_slack_made_deals(
    uow: UnitOfWork, ana: Actor, now: datetime, tmp_path: Path
) -> None:
    slack_and_imported_deals(uow, ana, now, tmp_path)
    first = exported(uow, ana.workspace_id)
    path = tmp_path / "export.csv"
    path.write_text(first, encoding="utf-8")
    same = import_deals(uow, ana.workspace_id, path, now=now)
    assert (same.created, same.updated, same.unchanged) == (0, 0, 4)
    assert exported(uow, ana.workspace_id) == first

    path.write_text(first.replace("12000.50", "13000.00"), encoding="utf-8")
    edited = import_deals(uow, ana.workspace_id, path, now=now)
    assert (edited.created, edited.updated, edited.unchanged) == (0, 1, 3)
    rows = rows_of(exported(uow, ana.workspace_id))
    assert len(rows) == 4 and rows[0]["ref"] == "D-1" and rows[0]["amount"] == "13000.00"
    history = deals.deal_history(uow, ana, "D-1")
    assert any(h.field == "amount" for h in history)
