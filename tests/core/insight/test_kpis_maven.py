"""Proof on real data: after importing the Maven CRM data set, the KPIs equal SOURCE.md.

The expected figures are read from the tables of SOURCE.md (published third-party figures,
re-computed there with Python's csv module), never retyped here. The bot's win rate is
won / (won + lost) of deals closed in the period, the definition SOURCE.md quotes as 63.15 %.
"""
from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db import UnitOfWork
from core.deals.demo import load_demo_org
from core.insight.kpis import kpis, kpis_by_team
from core.tables import Team, User, Workspace
from tests.conftest import MAVEN_DIR

IMPORTED_AT = datetime(2018, 1, 15, tzinfo=UTC)  # after the data: Prospecting deals are "new"
ALL_TIME = (date(2016, 1, 1), date(2017, 12, 31))


def _number(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("%", "").replace("$", "").replace("*", "").strip())


def source_table(heading: str) -> list[dict[str, str]]:
    """The markdown table under `heading` in SOURCE.md, as dicts keyed by its header row."""
    lines = (MAVEN_DIR / "SOURCE.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(heading))
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not all(re.fullmatch(r":?-+:?", c) for c in cells):
            rows.append(cells)
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


def published(pattern: str) -> Decimal:
    """A figure from SOURCE.md's prose, e.g. the total won revenue."""
    text = (MAVEN_DIR / "SOURCE.md").read_text(encoding="utf-8")
    m = re.search(pattern, text)
    assert m, pattern
    return _number(m[1])


@pytest.fixture
def demo(uow: UnitOfWork) -> int:
    """The Maven data set imported into workspace TDEMO; its workspace id."""
    report = load_demo_org(uow, "TDEMO", IMPORTED_AT)
    assert report.created == 8800 and not report.errors
    with uow.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.team_id == "TDEMO"))
        assert ws is not None
        return ws.id


def test_headline_figures_equal_the_published_ones(uow: UnitOfWork, demo: int) -> None:
    with uow.read() as s:
        k = kpis(s, demo, *ALL_TIME)
    assert k.won_count == published(r"Won ([\d,]+); Lost") == 4238
    assert k.lost_count == published(r"Lost ([\d,]+); win rate") == 2473
    assert k.won_amount == published(r"total won revenue \*\*\$([\d,]+)\*\*") == Decimal("10005534")
    assert k.win_rate is not None
    assert round(k.win_rate * 100, 2) == published(r"repeat \$10,005,534 / 4,238 won / ([\d.]+)%") == Decimal("63.15")
    assert k.avg_won is not None and round(k.avg_won, 2) == published(r"mean won deal ([\d,.]+);")
    assert k.cycle_mean_days == published(r"Won sales cycle \(close_date - engage_date\): mean ([\d.]+) days")
    assert k.cycle_median_days == published(r"median (\d+)\.")
    open_total = published(r"Open pipeline valued at products.csv list price: ([\d,]+)")
    assert k.open_count == 2089 and k.open_amount == open_total


def test_per_agent_figures(uow: UnitOfWork, demo: int) -> None:
    expected = source_table("#### By sales agent")
    assert len(expected) == 30
    with uow.read() as s:
        owners = dict(s.execute(select(User.import_name, User.id).where(User.workspace_id == demo)).all())
        for row in expected:
            k = kpis(s, demo, *ALL_TIME, owner_ids=[owners[row["sales_agent"]]])
            assert (k.won_count, k.lost_count) == (int(row["Won"]), int(row["Lost"])), row
            assert k.won_amount == _number(row["won revenue"]), row
            assert k.win_rate is not None and round(k.win_rate * 100, 2) == _number(row["win rate W/(W+L)"]), row
            assert k.open_count == int(row["Engaging"]) + int(row["Prospecting"]), row


def test_per_manager_figures_in_one_batched_call(uow: UnitOfWork, demo: int) -> None:
    expected = source_table("#### By manager")
    with uow.read() as s:
        teams = dict(s.execute(select(Team.name, Team.id).where(Team.workspace_id == demo)).all())
        by_team = kpis_by_team(s, demo, *ALL_TIME)
    assert len(expected) == 6
    for row in expected:
        k = by_team[teams[row["manager"]]]
        assert (k.won_count, k.lost_count) == (int(row["Won"]), int(row["Lost"])), row
        assert k.won_amount == _number(row["won revenue"]), row
        assert k.win_rate is not None and round(k.win_rate * 100, 2) == _number(row["win rate W/(W+L)"]), row
        assert k.open_count == int(row["Engaging"]) + int(row["Prospecting"]), row


def test_won_revenue_by_quarter_and_month_of_2017(uow: UnitOfWork, demo: int) -> None:
    from core.insight.quotas import label_bounds

    expected = source_table("#### Won deals by close quarter / month")
    assert len(expected) == 14
    with uow.read() as s:
        for row in expected:
            period = row["period"]
            if "Q" in period:
                start, end = label_bounds(period)
            else:
                year, month = map(int, period.split("-"))
                start, end = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
            k = kpis(s, demo, start, end)
            assert (k.won_count, k.won_amount) == (int(row["won deals"]), _number(row["won revenue"])), row


def test_new_deals_count_from_the_engage_date_of_imported_deals(uow: UnitOfWork, demo: int) -> None:
    import csv
    from collections import Counter

    with (MAVEN_DIR / "sales_pipeline.csv").open(encoding="utf-8", newline="") as f:
        by_year = Counter(row["engage_date"][:4] for row in csv.DictReader(f))
    with uow.read() as s:
        new = {year: kpis(s, demo, date(int(year), 1, 1), date(int(year), 12, 31)).new_count
               for year in ("2016", "2017")}
        import_day = kpis(s, demo, date(2018, 1, 15), date(2018, 1, 15)).new_count
    assert new == {"2016": by_year["2016"], "2017": by_year["2017"]}
    # Prospecting rows have no engage date: the import is not activity, so they are not new on import day.
    assert by_year[""] == 500 and import_day == 0
