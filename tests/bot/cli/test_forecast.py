"""`salesbot forecast backtest` and `salesbot forecast show` on the Maven data (click's runner)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from bot.cli import main
from core.db import UnitOfWork
from core.deals.demo import load_demo_org


@pytest.fixture
def maven_db(uow: UnitOfWork, db_url: str) -> str:
    load_demo_org(uow, "TDEMO", datetime(2018, 1, 15, tzinfo=UTC))
    return db_url


def run(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": db_url})
    return result.exit_code, result.output


def test_backtest_by_month_prints_each_period_and_the_mapes(maven_db: str) -> None:
    code, out = run(maven_db, "forecast", "backtest", "--until", "2018-01-01")
    assert code == 0, out
    assert "2017-04" in out and "2017-12" in out and "721,932" in out  # April's won revenue
    assert "MAPE (9)" in out and "12.2 %" in out and "39.9 %" in out  # history vs last month's won
    assert "bias (9)" in out
    # The nominal level of the range beside the coverage measured, for months and for quarters.
    assert "months: 10 replayed, 9 scored" in out and "range nominal 80 %, held the actual in 8 of 9 (89 %)" in out
    assert "quarters: 4 replayed, 2 scored" in out and "held the actual in 2 of 2 (100 %)" in out


def test_backtest_stops_where_the_data_ends(maven_db: str) -> None:
    code, out = run(maven_db, "forecast", "backtest", "--until", "2026-11-30")
    assert code == 0, out
    assert "2017-12" in out and "2018-01" not in out and "MAPE (9)" in out


def test_backtest_of_data_imported_today_replays_the_span_of_its_closes(uow: UnitOfWork, db_url: str) -> None:
    # An import dates the deals it cannot date (Maven's Prospecting rows have no engage date) at
    # the import: that is no actual to score, so the replay still ends with the last close.
    load_demo_org(uow, "TDEMO", datetime(2026, 11, 30, 9, tzinfo=UTC))
    code, out = run(db_url, "forecast", "backtest", "--until", "2026-11-30")
    assert code == 0, out
    assert "months: 10 replayed, 9 scored" in out and "quarters: 4 replayed, 2 scored" in out
    assert "2018-01" not in out and "2026-" not in out


def test_backtest_by_quarter_for_one_team(maven_db: str) -> None:
    code, out = run(maven_db, "forecast", "backtest", "--period", "quarter", "--until", "2018-01-01",
                    "--team", "cara losch")
    assert code == 0, out
    assert "2017-Q3" in out and "2017-Q4" in out and "can't learn yet" in out  # Q1/Q2: no history before


def test_show_prints_this_and_next_quarter(maven_db: str) -> None:
    code, out = run(maven_db, "forecast", "show", "--now", "2018-01-15")
    assert code == 0, out
    assert "2018-Q1 (this quarter)" in out and "2018-Q2" in out and "history-based" in out


def test_bad_usage_exits_2(maven_db: str, uow: UnitOfWork) -> None:
    assert run(maven_db, "forecast", "backtest", "--period", "week")[0] == 2
    code, out = run(maven_db, "forecast", "backtest", "--team", "Nowhere")
    assert code == 2 and 'no team "Nowhere"' in out
    code, out = run(maven_db, "forecast", "show", "--quarter", "2017-Q9", "--now", "2018-01-15")
    assert code == 2 and "is not a quarter" in out
    load_demo_org(uow, "TOTHER", datetime(2018, 1, 15, tzinfo=UTC))
    code, out = run(maven_db, "forecast", "backtest")
    assert code == 2 and "2 workspaces" in out and "--team-id" in out
    assert run(maven_db, "forecast", "backtest", "--team-id", "TOTHER", "--until", "2018-01-01")[0] == 0
