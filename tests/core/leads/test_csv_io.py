"""Leads from and to CSV: row errors, all-or-nothing, merge by email, re-import."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from core.errors import InvalidInput
from core.leads import csv_io as lead_io
from core.tables import Lead, LeadStatus, User

GOOD = """name,email,company,title,employees,country,owner,status,Plan
Zoe Hart,zoe@acme.io,Acme,CEO,300,Germany,UANA,working,pro
Kim Lee,KIM@b.io,B Corp,,12,India,Carla Import,,free
"""


def count(uow) -> int:
    with uow.read() as s:
        return int(s.scalar(select(func.count()).select_from(Lead)) or 0)


def test_import_maps_columns_keeps_the_rest_as_attributes_and_links_owners(uow, ana, now):
    report = lead_io.import_leads(uow, ana.workspace_id, io.StringIO(GOOD), now=now)
    assert (report.created, report.updated, report.errors, report.written) == (2, 0, [], True)
    with uow.read() as s:
        zoe, kim = s.scalars(select(Lead).order_by(Lead.number)).all()
        assert (zoe.ref, zoe.employees, zoe.attributes, zoe.status) == ("L-1", 300, {"Plan": "pro"}, LeadStatus.WORKING)
        assert zoe.owner_id == ana.user_id and zoe.score > 0
        assert kim.email_key == "kim@b.io" and kim.status == LeadStatus.ASSIGNED
        assert s.get_one(User, kim.owner_id).import_name == "Carla Import"


def test_reimport_changes_nothing_and_a_known_email_updates(uow, ana, now):
    lead_io.import_leads(uow, ana.workspace_id, io.StringIO(GOOD), now=now)
    again = lead_io.import_leads(uow, ana.workspace_id, io.StringIO(GOOD), now=now)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    update = lead_io.import_leads(uow, ana.workspace_id, io.StringIO("email,title\nkim@B.IO,CTO\n"), now=now)
    assert (update.created, update.updated) == (0, 1)
    assert count(uow) == 2


def test_the_same_email_twice_in_one_file_is_one_lead(uow, ana, now):
    report = lead_io.import_leads(uow, ana.workspace_id, io.StringIO("name,email\nA,a@x.io\nA2,A@X.IO\n"), now=now)
    assert report.created == 1 and count(uow) == 1


def test_bad_rows_are_reported_and_nothing_is_written_unless_skipped(uow, ana, now):
    text = (
        "name,email,employees,status\nOk,ok@x.io,5,new\nBad,bad-email,5,new\n"
        "Worse,w@x.io,lots,new\nOdd,o@x.io,1,maybe\n"
    )
    report = lead_io.import_leads(uow, ana.workspace_id, io.StringIO(text), now=now)
    assert not report.written and count(uow) == 0
    assert [(e.row, e.column) for e in report.errors] == [(3, "email"), (4, "employees"), (5, "status")]
    skipped = lead_io.import_leads(uow, ana.workspace_id, io.StringIO(text), now=now, skip_bad_rows=True)
    assert (skipped.created, skipped.skipped) == (1, 3) and count(uow) == 1


def test_a_file_problem_is_refused_whole(uow, ana, now, tmp_path):
    with pytest.raises(InvalidInput):
        lead_io.import_leads(uow, ana.workspace_id, tmp_path / "missing.csv", now=now)
    with pytest.raises(InvalidInput):
        lead_io.import_leads(uow, ana.workspace_id, io.StringIO("name;email\nA;a@x.io\n"), now=now)


def test_export_has_the_spec_columns_and_reimports(uow, ana, root, now):
    lead_io.import_leads(uow, ana.workspace_id, io.StringIO(GOOD), now=now)
    out = io.StringIO()
    assert lead_io.export_leads(uow, ana.workspace_id, out) == 2
    lines = out.getvalue().splitlines()
    assert (
        lines[0] == "ref,name,email,company,title,source,country,industry,employees,owner,status,score,hot,created_at"
    )
    assert lines[1].startswith("L-1,Zoe Hart,zoe@acme.io,Acme,CEO,,Germany,,300,UANA,working,")
    assert ",Carla Import,assigned," in lines[2]
    report = lead_io.import_leads(uow, ana.workspace_id, io.StringIO(out.getvalue()), now=now)
    assert report.created == 0 and count(uow) == 2


def test_progress_is_reported(uow, ana, now):
    seen: list[tuple[int, int]] = []
    lead_io.import_leads(uow, ana.workspace_id, io.StringIO(GOOD), now=now, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 2) and seen[-1] == (2, 2)


