"""Exports are safe to open in a spreadsheet, and import gives back exactly what was exported.

A cell that would start with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a
leading `'` (so `=HYPERLINK(...)` or `=cmd|' /C calc'!A0` in a deal title or a lead's country
is text, not a formula); the importers remove exactly that one quote.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from core.csv_mapping import FORMULA_STARTS, guard_cell, read_csv, unguard_cell
from core.db import UnitOfWork
from core.deals import deals
from core.deals.exporter import export_activities, export_deals
from core.deals.importer import import_deals
from core.leads import csv_io as lead_io
from core.tables import Deal, Lead
from core.workspace.users import Actor
from core.workspace.workspaces import get_or_create_workspace

FORMULAS = [
    "=HYPERLINK(\"http://evil.test\",\"Click\")",
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "'=already quoted",
    "''=twice",
    "'plain quote",
    "a=b is fine",
]


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_guard_quotes_exactly_the_cells_a_spreadsheet_would_run() -> None:
    assert [guard_cell(v) for v in FORMULAS] == [
        "'=HYPERLINK(\"http://evil.test\",\"Click\")", "'=cmd|' /C calc'!A0", "'+1+1", "'-2+3", "'@SUM(A1:A2)",
        "''=already quoted", "'''=twice", "'plain quote", "a=b is fine",
    ]
    assert guard_cell("\tx") == "'\tx" and guard_cell("\rx") == "'\rx"
    assert guard_cell("") == "" and guard_cell("12.50") == "12.50" and guard_cell("2026-12-01") == "2026-12-01"


@given(st.text(alphabet=st.sampled_from(["'", "=", "+", "-", "@", "\t", "\r", "a", " ", "1"]), max_size=8))
def test_unguard_undoes_guard_exactly(value: str) -> None:
    guarded = guard_cell(value)
    assert unguard_cell(guarded) == value
    assert not guarded.startswith(FORMULA_STARTS)


def test_a_cell_quoted_by_hand_in_a_spreadsheet_imports_without_its_quote() -> None:
    _, rows = read_csv(io.StringIO("title,stage\n'=1+1,Won\n'plain,Won\n"))
    assert rows == [["=1+1", "Won"], ["'plain", "Won"]]


def test_deal_export_is_safe_and_round_trips(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    for i, title in enumerate(FORMULAS):
        deal = deals.create_deal(uow, ana, title=title, account=f"@acct{i}", next_step="-call back", now=now)
        deals.log_activity(uow, ana, deal.ref, "note", "=1+2 said the client", now=now)
    out = io.StringIO()
    assert export_deals(uow, ana.workspace_id, out) == len(FORMULAS)
    rows = cells(out.getvalue())
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), row
    assert rows[1][1] == "'=HYPERLINK(\"http://evil.test\",\"Click\")" and rows[1][2] == "'@acct0"
    acts = io.StringIO()
    export_activities(uow, ana.workspace_id, acts)
    assert all(row[5] == "'=1+2 said the client" for row in cells(acts.getvalue())[1:])

    with uow.transaction() as s:
        other = get_or_create_workspace(s, "T2", now).id
    report = import_deals(uow, other, io.StringIO(out.getvalue()), now=now)
    assert report.errors == []
    with uow.read() as s:
        back = list(s.execute(select(Deal.title, Deal.account, Deal.next_step).where(Deal.workspace_id == other)
                              .order_by(Deal.number)))
    assert [tuple(r) for r in back] == [(t, f"@acct{i}", "-call back") for i, t in enumerate(FORMULAS)]
    again = io.StringIO()
    export_deals(uow, other, again)
    assert [r[1:4] for r in cells(again.getvalue())] == [r[1:4] for r in rows]


def test_lead_export_is_safe_and_round_trips(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    text = ("name,email,company,country,source\n"
            "Zoe,zoe@a.io,'=HYPERLINK(\"x\"),'=cmd|' /C calc'!A0,'@web\n"
            "'''=Kim,kim@b.io,'+Corp,'-land,plain\n")
    report = lead_io.import_leads(uow, ana.workspace_id, io.StringIO(text), now=now)
    assert report.errors == [] and report.created == 2
    with uow.read() as s:
        stored = [(x.name, x.company, x.country, x.source) for x in s.scalars(select(Lead).order_by(Lead.number))]
    assert stored == [("Zoe", "=HYPERLINK(\"x\")", "=cmd|' /C calc'!A0", "@web"), ("''=Kim", "+Corp", "-land", "plain")]
    out = io.StringIO()
    assert lead_io.export_leads(uow, ana.workspace_id, out) == 2
    rows = cells(out.getvalue())
    for row in rows[1:]:
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row), row
    header = rows[0]
    zoe = dict(zip(header, rows[1], strict=True))
    assert zoe["company"] == "'=HYPERLINK(\"x\")" and zoe["country"] == "'=cmd|' /C calc'!A0"
    with uow.transaction() as s:
        other = get_or_create_workspace(s, "T2", now).id
    assert lead_io.import_leads(uow, other, io.StringIO(out.getvalue()), now=now).errors == []
    with uow.read() as s:
        back = [(x.name, x.company, x.country, x.source)
                for x in s.scalars(select(Lead).where(Lead.workspace_id == other).order_by(Lead.number))]
    assert back == stored
