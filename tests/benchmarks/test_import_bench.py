"""Import and list benchmarks on SQLite and PostgreSQL (marker `benchmark`, not in the default run).

    pytest -m benchmark -n 0 -s tests/benchmarks/test_import_bench.py

Goals: the 8,800-row Maven file < 2 s; a generated 100k-row file < 15 s; a rep's open deals
listed with 100k deals in the database < 10 ms (median of 20 calls). Each test prints its
figures; the asserts allow 2x the goal for imports (10x for the 10 ms listing) so a busy
shared machine does not fail the run, while a real regression (a per-row query) still does.
"""
from __future__ import annotations

import statistics
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import UnitOfWork
from core.deals.importer import import_deals
from core.tables import Deal, DealStatus, User
from core.workspace.users import actor_of
from core.workspace.workspaces import get_or_create_workspace
from tests.benchmarks.gen_deals import generate
from tests.conftest import MAVEN_DIR

pytestmark = pytest.mark.benchmark

MAVEN_GOAL_S = 2.0
BIG_GOAL_S = 15.0
LIST_GOAL_MS = 10.0
BIG_ROWS = 100_000


def _workspace(uow: UnitOfWork, team_id: str, now: datetime) -> int:
    with uow.transaction() as s:
        return get_or_create_workspace(s, team_id, now).id


def _timed(fn: object, cpu: list[float] | None = None) -> float:
    """Wall seconds of fn(); its CPU seconds in this process are appended to `cpu` (the
    machine is shared: CPU time shows how much of the wall time was waiting for a core)."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()  # type: ignore[operator]
    if cpu is not None:
        cpu.append(time.process_time() - start_cpu)
    return time.perf_counter() - start


def test_maven_import_time(uow: UnitOfWork, now: datetime, backend: str) -> None:
    runs: list[float] = []
    cpu: list[float] = []
    for i in range(3):  # a fresh workspace each run: every run creates all 8,800 deals
        ws_id = _workspace(uow, f"TBENCH{i}", now)
        runs.append(
            _timed(
                lambda ws_id=ws_id: import_deals(
                    uow, ws_id, MAVEN_DIR / "sales_pipeline.csv", now=now, create_stages=True,
                    teams_csv=MAVEN_DIR / "sales_teams.csv", products_csv=MAVEN_DIR / "products.csv",
                ),
                cpu,
            )
        )
    again = [_timed(lambda: import_deals(uow, ws_id, MAVEN_DIR / "sales_pipeline.csv", now=now,
                                         create_stages=True)) for _ in range(3)]
    median = statistics.median(runs)
    print(f"\n[{backend}] Maven 8,800-row import: median {median:.2f} s of {[round(r, 2) for r in runs]} "
          f"(client CPU {statistics.median(cpu):.2f} s); "
          f"re-import (all unchanged) median {statistics.median(again):.2f} s (goal < {MAVEN_GOAL_S} s)")
    with uow.read() as s:
        assert s.scalar(select(func.count()).select_from(Deal)) == 3 * 8800
    assert median < 2 * MAVEN_GOAL_S


@pytest.fixture
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.getbasetemp() / "deals-100k.csv"
    if not path.exists():
        generate(path, rows=BIG_ROWS, seed=7)
    return path


def test_100k_import_and_listing_a_reps_open_deals(
    uow: UnitOfWork, now: datetime, backend: str, big_file: Path
) -> None:
    from core.deals.deals import list_deals

    ws_id = _workspace(uow, "TBIG", now)
    cpu: list[float] = []
    seconds = _timed(lambda: import_deals(uow, ws_id, big_file, now=now), cpu)
    reimport = _timed(lambda: import_deals(uow, ws_id, big_file, now=now))
    print(f"\n[{backend}] 100k-row import: {seconds:.2f} s (client CPU {cpu[0]:.2f} s); "
          f"re-import (all unchanged) {reimport:.2f} s "
          f"(goal < {BIG_GOAL_S} s)")
    with uow.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Deal).where(Deal.workspace_id == ws_id)) == BIG_ROWS
        # Link one imported owner to Slack (what /salesbot link does) and list as that rep.
        rep = s.scalars(select(User).where(User.workspace_id == ws_id, User.import_name == "Ana Stone")).one()
        rep.slack_id = "UBENCH"
        s.flush()
        actor = actor_of(s, rep)
        open_count = s.scalar(
            select(func.count()).select_from(Deal).where(Deal.owner_id == rep.id, Deal.status == DealStatus.OPEN)
        )
    listed = list_deals(uow, actor, owner_ids=[actor.user_id])  # warm-up (and a correctness check)
    assert len(listed) == min(200, open_count or 0) and all(d.owner_id == actor.user_id for d in listed)
    calls = []
    for _ in range(20):
        start = time.perf_counter()
        list_deals(uow, actor, owner_ids=[actor.user_id])
        calls.append((time.perf_counter() - start) * 1000)
    median_ms = statistics.median(calls)
    print(f"[{backend}] list a rep's open deals ({len(listed)} of {open_count} shown, 100k in the table): "
          f"median {median_ms:.1f} ms of 20 calls (goal < {LIST_GOAL_MS} ms)")
    assert seconds < 2 * BIG_GOAL_S
    # A loose bound: on the shared 2-core machine a 10 ms call measures 15-50 ms under load,
    # while the regression this guards against (a query per deal, 200+ round trips) is far above it.
    assert median_ms < 10 * LIST_GOAL_MS
