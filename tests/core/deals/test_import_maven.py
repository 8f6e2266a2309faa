"""The Maven CRM data set, imported, reproduces every figure published in its SOURCE.md.

The expected numbers are parsed from SOURCE.md (shipped beside the data) rather than
typed here, so the test and the source cannot drift apart. The checks are SQL over the
database, the way reports will read it.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core.db import UnitOfWork
from core.deals.demo import load_demo_org
from core.deals.import_rows import ImportReport
from core.deals.importer import import_deals
from core.tables import Deal, DealChange, DealStatus, Role, Stage, Team, User, Workspace
from core.workspace.workspaces import get_or_create_workspace
from tests.conftest import MAVEN_DIR

SOURCE = (MAVEN_DIR / "SOURCE.md").read_text(encoding="utf-8")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def source_table(heading: str) -> list[dict[str, str]]:
    """The markdown table under a `#### heading` of SOURCE.md, as dicts by column name."""
    section = SOURCE.split(f"#### {heading}", 1)[1]
    table: list[str] = []
    for ln in section.splitlines()[1:]:
        if ln.strip().startswith("|"):
            table.append(ln.strip())
        elif table:
            break
    assert table, f"no table under {heading}"
    header = [c.strip() for c in table[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in ln.strip("|").split("|")), strict=True)) for ln in table[2:]]


def source_figure(pattern: str) -> int:
    match = re.search(pattern, SOURCE)
    assert match, f"{pattern!r} not found in SOURCE.md"
    return _number(match.group(1))


def test_source_tables_parse() -> None:
    assert len(source_table("By sales agent")) == 30
    assert len(source_table("By manager")) == 6
    assert len(source_table("Won deals by close quarter / month")) == 14


@pytest.fixture
def maven(uow: UnitOfWork, now: datetime) -> tuple[int, ImportReport]:
    with uow.transaction() as s:
        ws_id = get_or_create_workspace(s, "TMAVEN", now).id
    report = import_deals(
        uow,
        ws_id,
        MAVEN_DIR / "sales_pipeline.csv",
        now=now,
        teams_csv=MAVEN_DIR / "sales_teams.csv",
        products_csv=MAVEN_DIR / "products.csv",
        create_stages=True,
    )
    return ws_id, report


def _money(minor: int | Decimal | None) -> int:
    assert minor is not None and int(minor) % 100 == 0
    return int(minor) // 100


def test_totals_by_status_and_stage(uow: UnitOfWork, maven: tuple[int, ImportReport]) -> None:
    ws_id, report = maven
    assert (report.created, report.updated, report.unchanged, report.errors) == (8800, 0, 0, [])
    assert report.stages_created == ["Engaging"]
    with uow.read() as s:
        by_stage = dict(
            s.execute(
                select(Stage.name, func.count(Deal.id))
                .join(Deal, Deal.stage_id == Stage.id)
                .where(Deal.workspace_id == ws_id)
                .group_by(Stage.name)
            ).all()
        )
        by_status = {
            status: (count, total)
            for status, count, total in s.execute(
                select(Deal.status, func.count(), func.sum(Deal.amount_minor))
                .where(Deal.workspace_id == ws_id)
                .group_by(Deal.status)
            ).all()
        }
        history = s.scalar(select(func.count()).select_from(DealChange).where(DealChange.field == "created"))
        next_number = s.scalar(select(Workspace.next_deal_number).where(Workspace.id == ws_id))
    assert sum(by_stage.values()) == source_figure(r"([\d,]+) opportunities, 35 sales agents")
    for stage in ("Won", "Lost", "Engaging", "Prospecting"):
        assert by_stage[stage] == source_figure(rf"{stage} ([\d,]+)"), stage
    assert by_status[DealStatus.OPEN][0] == source_figure(r"open = ([\d,]+)")
    assert _money(by_status[DealStatus.WON][1]) == source_figure(r"Won revenue ([\d,]+)")
    assert _money(by_status[DealStatus.OPEN][1]) == source_figure(r"list price: ([\d,]+)")
    assert history == 8800 and next_number == 8801


def test_per_agent_table(uow: UnitOfWork, maven: tuple[int, ImportReport]) -> None:
    ws_id, _ = maven
    with uow.read() as s:
        rows = s.execute(
            select(
                User.name,
                func.count(Deal.id),
                _count_if(Deal.status == DealStatus.WON),
                _count_if(Deal.status == DealStatus.LOST),
                _sum_if(Deal.status == DealStatus.WON, Deal.amount_minor),
            )
            .join(Deal, Deal.owner_id == User.id)
            .where(Deal.workspace_id == ws_id)
            .group_by(User.name)
        ).all()
    got = {name: (opps, w, lost, _money(rev)) for name, opps, w, lost, rev in rows}
    expected = {
        r["sales_agent"]: (_number(r["opps"]), _number(r["Won"]), _number(r["Lost"]), _number(r["won revenue"]))
        for r in source_table("By sales agent")
    }
    assert got == expected


def test_per_manager_table_and_teams(uow: UnitOfWork, maven: tuple[int, ImportReport]) -> None:
    ws_id, _ = maven
    manager = aliased(User)
    with uow.read() as s:
        rows = s.execute(
            select(
                manager.name,
                func.count(Deal.id),
                _count_if(Deal.status == DealStatus.WON),
                _count_if(Deal.status == DealStatus.LOST),
                _sum_if(Deal.status == DealStatus.WON, Deal.amount_minor),
            )
            .select_from(Deal)
            .join(User, Deal.owner_id == User.id)
            .join(Team, User.team_id == Team.id)
            .join(manager, Team.manager_id == manager.id)
            .where(Deal.workspace_id == ws_id)
            .group_by(manager.name)
        ).all()
        teams = s.scalar(select(func.count()).select_from(Team).where(Team.workspace_id == ws_id))
        managers = s.scalars(select(User.name).where(User.workspace_id == ws_id, User.role == Role.MANAGER)).all()
        unlinked = s.scalar(
            select(func.count()).select_from(User).where(User.workspace_id == ws_id, User.slack_id.is_(None))
        )
    expected_rows = source_table("By manager")
    got = {name: (opps, w, lost, _money(rev)) for name, opps, w, lost, rev in rows}
    expected = {
        r["manager"]: (_number(r["opps"]), _number(r["Won"]), _number(r["Lost"]), _number(r["won revenue"]))
        for r in expected_rows
    }
    assert got == expected
    assert teams == 6 and sorted(managers) == sorted(expected)
    assert unlinked == 35 + 6  # every agent of sales_teams.csv (5 without deals) and the managers


def test_won_revenue_by_quarter_and_month(uow: UnitOfWork, maven: tuple[int, ImportReport]) -> None:
    ws_id, _ = maven
    checked = 0
    with uow.read() as s:
        for r in source_table("Won deals by close quarter / month"):
            start, end = _period_bounds(r["period"])
            count, total = s.execute(
                select(func.count(), func.sum(Deal.amount_minor)).where(
                    Deal.workspace_id == ws_id,
                    Deal.status == DealStatus.WON,
                    Deal.closed_at >= start,
                    Deal.closed_at < end,
                )
            ).one()
            assert (count, _money(total)) == (_number(r["won deals"]), _number(r["won revenue"])), r["period"]
            checked += 1
    assert checked == 14


def test_demo_org_is_the_same_data_and_loads_twice_unchanged(uow: UnitOfWork, now: datetime) -> None:
    first = load_demo_org(uow, "TDEMO", now)
    second = load_demo_org(uow, "TDEMO", now)
    assert (first.created, first.errors) == (8800, [])
    assert (second.created, second.updated, second.unchanged) == (0, 0, 8800)
    with uow.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.team_id == "TDEMO"))
        assert ws is not None
        deals = s.scalar(select(func.count()).select_from(Deal).where(Deal.workspace_id == ws.id))
        engaging = s.scalars(select(Stage).where(Stage.workspace_id == ws.id).order_by(Stage.position)).all()
        prospect = s.scalar(
            select(Deal).where(Deal.workspace_id == ws.id, Deal.external_id == "3LCLVRVV")
        )
        owner = prospect.owner.name if prospect and prospect.owner else None
    assert deals == 8800
    names = [st.name for st in engaging]
    assert names.index("Engaging") == names.index("Won") - 1 and names[-1] == "Lost"
    # A Prospecting row without account: no engage date, so created now and never engaged;
    # its title is built from the product and the id; its amount is GTX Basic's list price.
    assert prospect is not None
    assert (prospect.title, prospect.engaged_at, prospect.created_at) == ("GTX Basic - 3LCLVRVV", None, now)
    assert (prospect.status, prospect.amount, owner) == (DealStatus.OPEN, Decimal("550.00"), "Anna Snelling")


def _count_if(cond: object) -> object:
    from sqlalchemy import case

    return func.sum(case((cond, 1), else_=0))  # type: ignore[arg-type]


def _sum_if(cond: object, value: object) -> object:
    from sqlalchemy import case

    return func.coalesce(func.sum(case((cond, value), else_=0)), 0)  # type: ignore[arg-type]


def _period_bounds(period: str) -> tuple[datetime, datetime]:
    year, part = period.split("-")
    if part.startswith("Q"):
        first_month = 3 * (int(part[1]) - 1) + 1
        months = 3
    else:
        first_month, months = int(part), 1
    start = datetime(int(year), first_month, 1, tzinfo=UTC)
    end_month = first_month + months
    end = datetime(int(year) + (end_month > 12), (end_month - 1) % 12 + 1, 1, tzinfo=UTC)
    return start, end


def test_per_product_table_and_the_remaining_figures(uow: UnitOfWork, maven: tuple[int, ImportReport]) -> None:
    ws_id, _ = maven
    with uow.read() as s:
        rows = s.execute(
            select(
                Deal.product,
                func.count(Deal.id),
                _count_if(Deal.status == DealStatus.WON),
                _count_if(Deal.status == DealStatus.LOST),
                _sum_if(Deal.status == DealStatus.WON, Deal.amount_minor),
            )
            .where(Deal.workspace_id == ws_id)
            .group_by(Deal.product)
        ).all()
        engaging = s.scalar(
            select(func.sum(Deal.amount_minor))
            .join(Stage, Deal.stage_id == Stage.id)
            .where(Deal.workspace_id == ws_id, Stage.name == "Engaging")
        )
        won = s.execute(
            select(Deal.amount_minor, Deal.engaged_at, Deal.closed_at).where(
                Deal.workspace_id == ws_id, Deal.status == DealStatus.WON
            )
        ).all()
        lost = s.scalar(
            select(func.count()).select_from(Deal).where(Deal.workspace_id == ws_id, Deal.status == DealStatus.LOST)
        )
    got = {p: (opps, w, lo, _money(rev)) for p, opps, w, lo, rev in rows}
    expected = {
        r["product"]: (_number(r["opps"]), _number(r["Won"]), _number(r["Lost"]), _number(r["won revenue"]))
        for r in source_table("By product (pipeline spelling; products.csv spells GTXPro as \"GTX Pro\")")
    }
    assert got == expected
    assert _money(engaging) == source_figure(r"Engaging only: ([\d,]+)")
    # Win rate, mean won deal and the won sales cycle, as SOURCE.md states them.
    win_rate = Decimal(100 * len(won)) / (len(won) + (lost or 0))
    assert f"win rate W/(W+L) {win_rate:.3f}%" in SOURCE
    assert f"Won/all {Decimal(100 * len(won)) / 8800:.2f}%" in SOURCE
    mean_won = Decimal(sum(a for a, _, _ in won)) / len(won) / 100
    assert f"mean won deal {mean_won:,.2f}" in SOURCE
    cycle = sorted((closed - engaged).days for _, engaged, closed in won)
    mean_cycle = Decimal(sum(cycle)) / len(cycle)
    assert f"mean {mean_cycle:.2f} days, median {cycle[len(cycle) // 2]}" in SOURCE
