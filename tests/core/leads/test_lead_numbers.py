"""Lead numbers: consecutive, never shared, and taken without holding the workspace row until commit.

On PostgreSQL intake takes the numbers in a transaction of its own (core.db.counter_engine);
whenever that cannot work (the request's own transaction holds the workspace row, the
workspace is not committed yet) it takes them in the request's transaction, as on SQLite.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import select

from core.db import UnitOfWork
from core.leads.intake import clean_lead, intake, upsert_lead
from core.tables import Lead, Workspace
from core.workspace.users import Actor
from core.workspace.workspaces import get_or_create_workspace

FELL_BACK = "lead numbers taken in the request's transaction"


def _numbers(uow: UnitOfWork, workspace_id: int) -> list[int]:
    with uow.read() as s:
        return sorted(s.scalars(select(Lead.number).where(Lead.workspace_id == workspace_id)))


def test_batches_and_single_leads_get_consecutive_numbers(uow, ana, now, caplog):
    caplog.set_level(logging.INFO, logger="core.leads.intake")
    with uow.transaction() as s:
        ws = s.get_one(Workspace, ana.workspace_id)
        first = intake(s, ws, [clean_lead({"name": f"A{i}"}) for i in range(3)], now)
    with uow.transaction() as s:
        ws = s.get_one(Workspace, ana.workspace_id)
        second = intake(s, ws, [clean_lead({"name": "B"})], now)
    assert [r.ref for r in [*first, *second]] == ["L-1", "L-2", "L-3", "L-4"]
    with uow.read() as s:
        assert s.get_one(Workspace, ana.workspace_id).next_lead_number == 5
    assert FELL_BACK not in caplog.text  # PostgreSQL: taken beside the transaction


def test_a_transaction_that_changed_its_workspace_row_still_takes_numbers(uow, ana, now, backend, caplog):
    caplog.set_level(logging.INFO, logger="core.leads.intake")
    # The row is locked by this very transaction: the side transaction would wait for it
    # forever, so intake gives up on it (after a short lock timeout) and takes the number here.
    with uow.transaction() as s:
        ws = s.get_one(Workspace, ana.workspace_id)
        ws.hot_lead_threshold = 90
        s.flush()
        results = intake(s, ws, [clean_lead({"name": "Zoe"})], now)
    assert [r.ref for r in results] == ["L-1"]
    with uow.read() as s:
        assert s.get_one(Workspace, ana.workspace_id).hot_lead_threshold == 90
    assert (FELL_BACK in caplog.text) == (backend == "postgresql")


def test_numbers_after_one_taken_in_the_same_transaction_come_from_it_too(uow, ana, now):
    with uow.transaction() as s:
        ws = s.get_one(Workspace, ana.workspace_id)
        lead, created = upsert_lead(s, ws, clean_lead({"name": "Zoe"}), now)
        assert created and lead.number == 1
        results = intake(s, ws, [clean_lead({"name": "Ann"}), clean_lead({"name": "Bea"})], now)
    assert [r.ref for r in results] == ["L-2", "L-3"]


def test_a_workspace_created_in_the_same_transaction_numbers_its_leads(uow, now: datetime):
    with uow.transaction() as s:
        ws = get_or_create_workspace(s, "TNEW", now)
        results = intake(s, ws, [clean_lead({"name": "Zoe"})], now)
    assert [r.ref for r in results] == ["L-1"]


def test_a_rolled_back_intake_leaves_a_gap_on_postgresql_and_none_on_sqlite(uow, ana, now, backend):
    try:
        with uow.transaction() as s:
            ws = s.get_one(Workspace, ana.workspace_id)
            intake(s, ws, [clean_lead({"name": "Lost"})], now)
            raise RuntimeError("the request failed after its leads were numbered")
    except RuntimeError:
        pass
    with uow.transaction() as s:
        ws = s.get_one(Workspace, ana.workspace_id)
        results = intake(s, ws, [clean_lead({"name": "Kept"})], now)
    assert results[0].ref == ("L-2" if backend == "postgresql" else "L-1")


def test_concurrent_intakes_never_share_a_number(uow, ana: Actor, now):
    errors: list[BaseException] = []

    def send(i: int) -> None:
        try:
            with uow.transaction() as s:
                ws = s.get_one(Workspace, ana.workspace_id)
                intake(s, ws, [clean_lead({"name": f"T{i}-{j}"}) for j in range(1 + i % 3)], now)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = _numbers(uow, ana.workspace_id)
    assert len(numbers) == sum(1 + i % 3 for i in range(12)) and len(set(numbers)) == len(numbers)
    assert numbers == list(range(1, len(numbers) + 1))  # nothing failed: no gap either
