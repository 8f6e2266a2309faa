"""Benchmark: every KPI and digest figure of 100 teams over 100k deals in three currencies (issue 10).

The scheduler benchmark's org (100 teams / 2,000 reps / 100,000 deals over two years, with
history and activities) gets a third of its deals in EUR and a third in TRY, and a rate for
every day of the last year for both (older closes have no rate: they are left out and
counted). Timed on PostgreSQL, median of RUNS runs after a warm-up: `kpis_by_team` for the
quarter plus `team_digests` for every team (goal < 2 s together). The won revenue of the
quarter per team is checked against pandas converting each deal at the rate of its close day.

    pytest tests/benchmarks/test_figures_bench.py -m benchmark -n 0 -s
"""
from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from core.db import UnitOfWork
from core.insight.kpis import kpis_by_team
from core.insight.quotas import label_bounds, quarter_label
from core.notify.digest import team_digests
from tests.benchmarks.test_scheduler_bench import NOW, RUNS, _generate_org, median_seconds, pg  # noqa: F401

pytestmark = pytest.mark.benchmark


def _three_currencies(engine: Engine, ws_id: int) -> None:
    first = (NOW - timedelta(days=365)).date()
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE deals SET currency = CASE number % 3 WHEN 1 THEN 'EUR' WHEN 2 THEN 'TRY' "
                          f"ELSE 'USD' END WHERE workspace_id = {ws_id}"))
        conn.execute(text(
            f"""INSERT INTO exchange_rates (workspace_id, currency, valid_from, rate, created_at)
                SELECT {ws_id}, c, date '{first.isoformat()}' + g,
                       CASE c WHEN 'EUR' THEN 1.05 + 0.1 * sin(g / 30.0) ELSE 0.03 + 0.01 * cos(g / 45.0) END,
                       now()
                FROM generate_series(0, 365) g, (VALUES ('EUR'), ('TRY')) v(c)"""))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def pandas_quarter_won(engine: Engine, ws_id: int) -> dict[int, tuple[int, Decimal, int]]:
    """Per team: won this quarter (count, amount converted at the close day's rate, deals without a rate)."""
    with engine.connect() as conn:
        deals = pd.read_sql(text(
            f"SELECT d.amount_minor, d.currency, d.closed_at, u.team_id FROM deals d JOIN users u "
            f"ON u.id = d.owner_id WHERE d.workspace_id = {ws_id} AND d.status = 'won'"), conn)
        rates = pd.read_sql(text(f"SELECT currency, valid_from, rate FROM exchange_rates "
                                 f"WHERE workspace_id = {ws_id}"), conn)
    q0, _ = label_bounds(quarter_label(NOW.date()))
    deals = deals[(deals.closed_at >= pd.Timestamp(q0, tz="UTC")) & (deals.closed_at < pd.Timestamp(NOW))].copy()
    deals["day"] = deals.closed_at.dt.tz_convert("UTC").dt.date
    rate_of = {(c, d): Decimal(str(r)) for c, d, r in rates.itertuples(index=False)}
    out: dict[int, tuple[int, Decimal, int]] = {}
    for team, amount, currency, day in deals[["team_id", "amount_minor", "currency", "day"]].itertuples(index=False):
        n, total, missing = out.get(int(team), (0, Decimal(0), 0))
        if currency == "USD":
            total += Decimal(int(amount)) / 100
        else:
            known = [d for (c, d) in rate_of if c == currency and d <= day]
            if known:
                total += Decimal(int(amount)) * rate_of[(currency, max(known))] / 100
            else:
                missing += 1
        out[int(team)] = (n + 1, total, missing)
    return out


def test_kpis_and_digest_figures_for_100_teams_in_three_currencies(pg: Engine) -> None:  # noqa: F811
    ws_id = _generate_org(pg)
    _three_currencies(pg, ws_id)
    uow = UnitOfWork(pg)
    q0, q1 = label_bounds(quarter_label(NOW.date()))

    def ours() -> tuple[Any, Any]:
        with uow.read() as s:
            return kpis_by_team(s, ws_id, q0, q1, now=NOW), team_digests(s, ws_id, NOW)

    seconds, (by_team, digests) = median_seconds(ours)
    assert len(by_team) == 100 and len(digests) == 100
    expected = pandas_quarter_won(pg, ws_id)
    for team_id, k in by_team.items():
        n, amount, _missing = expected.get(team_id, (0, Decimal(0), 0))
        assert k.won_count == n, team_id
        assert k.won_amount == amount.quantize(Decimal("0.01")), team_id
        assert k.approx
        assert digests[team_id].quarter_won == k.won_amount, team_id
    load = os.getloadavg()
    print(f"\n[bench] all KPIs (kpis_by_team, the quarter) + digest figures (team_digests), 100 teams / 100k deals "
          f"in USD, EUR, TRY with 2 x 366 daily rates (PostgreSQL): {seconds * 1000:.0f} ms median of {RUNS}; "
          f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} on {os.cpu_count()} cores")
    assert seconds < 2.0
