"""Analytics at scale: every KPI of 100 teams at once, and the backtest over the Maven data.

1. PostgreSQL: 100 teams of 10 reps, 100,000 deals over three years, 1,000,000 stage-change
   rows (10 a deal) and 300,000 activities, generated in SQL (generate_series, fixed seed).
   Timed: `kpis_by_team` for one quarter (goal < 2 s, asserted) and for the whole three
   years (every one of the 1M changes in the time-in-stage window; printed, and held under
   4 s so a regression shows; the goal is 2 s). The time-in-stage query must read the
   changes from the covering index alone (EXPLAIN checked).
2. The backtest (month by month and quarter by quarter) over the imported Maven data set,
   on SQLite and PostgreSQL (goal < 5 s).
Each figure is the median of RUNS runs after one warm-up, printed; run with
    pytest tests/benchmarks/test_analytics_bench.py -m benchmark -n 0 -s
"""
from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text

from core.db import UnitOfWork
from core.deals.demo import load_demo_org
from core.deals.stage_flow import stage_flow
from core.insight.backtest import backtest
from core.insight.kpis import kpis_by_team
from core.insight.quotas import utc_bounds
from core.tables import Stage
from core.workspace.workspaces import default_pipeline, get_or_create_workspace

pytestmark = pytest.mark.benchmark

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def median_seconds(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, Any]:
    """(median wall time of `runs` calls after a warm-up, the last result)."""
    result = fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _generate(engine: Engine) -> int:
    """100 teams, 1,000 reps, 100k deals, 1M stage changes, 300k activities; the workspace id."""
    uow = UnitOfWork(engine)
    with uow.transaction() as s:
        ws = get_or_create_workspace(s, "TBENCH", NOW)
        stages = list(s.scalars(select(Stage).where(Stage.pipeline_id == default_pipeline(s, ws.id).id)
                                .order_by(Stage.position)))
        ws_id, pipeline_id = ws.id, stages[0].pipeline_id
    stage_ids = "ARRAY[" + ",".join(str(st.id) for st in stages) + "]"
    statements = [
        "SELECT setseed(0.7)",
        f"""INSERT INTO teams (workspace_id, name, created_at)
            SELECT {ws_id}, 'Team ' || g, now() FROM generate_series(1, 100) g""",
        f"""INSERT INTO users (workspace_id, slack_id, name, tz, role, team_id, is_slack_admin, is_away, created_at)
            SELECT {ws_id}, 'UB' || g, 'Rep ' || g, 'UTC', 'rep',
                   (SELECT min(id) FROM teams WHERE workspace_id = {ws_id}) + g % 100, false, false, now()
            FROM generate_series(1, 1000) g""",
        f"""INSERT INTO deals (workspace_id, number, title, amount_minor, currency, pipeline_id, stage_id, status,
                               owner_id, created_at, engaged_at, updated_at, closed_at, last_touch_at, stale_nudges)
            SELECT {ws_id}, g, 'Deal ' || g, (50 + floor(random() * 20000))::bigint * 100, 'USD', {pipeline_id},
                   ({stage_ids})[r + 1], CASE r WHEN 4 THEN 'won' WHEN 5 THEN 'lost' ELSE 'open' END,
                   (SELECT min(id) FROM users WHERE workspace_id = {ws_id}) + g % 1000,
                   c, c, c, CASE WHEN r >= 4 THEN c + (10 + random() * 170) * interval '1 day' END, c, 0
            FROM (SELECT g, floor(random() * 6)::int AS r,
                         timestamptz '2024-01-01' + random() * 900 * interval '1 day' AS c
                  FROM generate_series(1, 100000) g) x""",
        f"""INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_by_id,
                                      changed_at, source)
            SELECT {ws_id}, d.id, 'stage',
                   (ARRAY['Prospecting','Qualified','Proposal','Negotiation'])[k % 4 + 1],
                   (ARRAY['Qualified','Proposal','Negotiation','Prospecting'])[k % 4 + 1],
                   d.owner_id, d.created_at + k * interval '3 days', 'slack'
            FROM deals d CROSS JOIN generate_series(0, 9) k WHERE d.workspace_id = {ws_id}""",
        f"""INSERT INTO activities (workspace_id, deal_id, kind, user_id, at, text, created_at)
            SELECT {ws_id}, d.id, (ARRAY['call','email','meeting','demo','proposal','note'])[(d.id + k) % 6 + 1],
                   d.owner_id, d.created_at + k * interval '2 days', '', d.created_at
            FROM deals d CROSS JOIN generate_series(0, 2) k WHERE d.workspace_id = {ws_id}""",
    ]
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return ws_id


@pytest.fixture(scope="module")
def big_pg(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, int]]:
    engine: Engine = request.getfixturevalue("pg_engine")
    from tests.conftest import truncate_all

    truncate_all(engine)
    started = time.perf_counter()
    ws_id = _generate(engine)
    print(f"\n[bench] generated 100k deals / 1M changes / 300k activities in {time.perf_counter() - started:.1f} s")
    yield engine, ws_id
    truncate_all(engine)


def test_kpis_of_100_teams_over_100k_deals(big_pg: tuple[Engine, int]) -> None:
    engine, ws_id = big_pg
    uow = UnitOfWork(engine)
    with engine.connect() as conn:
        counts = conn.execute(text("SELECT (SELECT count(*) FROM deals), (SELECT count(*) FROM deal_changes)")).one()
    assert tuple(counts) == (100_000, 1_000_000)
    for label, start, end, limit in (
        ("one quarter (2025-Q3)", date(2025, 7, 1), date(2025, 9, 30), 2.0),
        ("whole history", date(2024, 1, 1), date(2026, 12, 31), 4.0),
    ):
        def run(start: date = start, end: date = end) -> Any:
            with uow.read() as s:
                return kpis_by_team(s, ws_id, start, end)

        seconds, result = median_seconds(run)
        print(f"[bench] kpis_by_team, 100 teams, {label}: median {seconds * 1000:.0f} ms over {RUNS} runs")
        assert len(result) == 100
        assert sum(k.won_count for k in result.values()) > 0
        assert seconds < limit, f"all KPIs of 100 teams took {seconds:.2f} s ({label}; limit {limit} s)"


def test_stage_flow_reads_the_changes_from_the_index_alone(big_pg: tuple[Engine, int]) -> None:
    """The time-in-stage query walks every stage change: from the covering index, no table reads."""
    engine, ws_id = big_pg
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "lag(" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with UnitOfWork(engine).read() as s:
            stage_flow(s, ws_id, *utc_bounds(date(2024, 1, 1), date(2026, 12, 31)), by_team=True)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(seen) == 1
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("EXPLAIN " + seen[0][0], seen[0][1])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using ix_deal_changes_ws_field_deal" in plan, plan


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_backtest_over_the_maven_data(uow: UnitOfWork) -> None:
    load_demo_org(uow, "TDEMO", datetime(2018, 1, 15, tzinfo=UTC))
    with uow.read() as s:
        ws_id = s.scalar(text("SELECT id FROM workspaces WHERE team_id = 'TDEMO'"))

    def run() -> Any:
        with uow.read() as s:
            return backtest(s, ws_id, "month", date(2018, 1, 1)), backtest(s, ws_id, "quarter", date(2018, 1, 1))

    seconds, (months, quarters) = median_seconds(run)
    print(f"[bench] backtest over Maven ({uow.dialect}), months + quarters: median {seconds * 1000:.0f} ms; "
          f"monthly MAPE history {months.mape('history')}, naive {months.mape('naive')}")
    assert len(months.learned_rows) == 9 and len(quarters.learned_rows) == 2
    assert seconds < 5.0
