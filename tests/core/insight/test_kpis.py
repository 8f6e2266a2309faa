"""Open pipeline by stage and the KPIs of a period, on small histories written by hand."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from core.db import UnitOfWork
from core.errors import InvalidInput
from core.insight.kpis import kpis, kpis_by_team, kpis_for_period, pipeline_by_stage
from core.insight.quotas import set_quota
from core.money import Money
from core.tables import ActivityKind
from core.workspace.users import Actor
from tests.core.insight.analytics_data import add_activity, add_deal


def test_pipeline_by_stage_counts_open_deals_and_weights_them(
    uow: UnitOfWork, ana: Actor, bob: Actor
) -> None:
    add_deal(uow, ana, "1000", created=date(2026, 10, 1), stage="Proposal")
    add_deal(uow, ana, "500.50", created=date(2026, 10, 2), stage="Proposal")
    add_deal(uow, bob, "2000", created=date(2026, 10, 3), stage="Negotiation")
    add_deal(uow, ana, "9999", created=date(2026, 9, 1), won=date(2026, 10, 5))
    add_deal(uow, ana, None, created=date(2026, 10, 4))  # no amount yet: counted, adds 0
    with uow.read() as s:
        totals = pipeline_by_stage(s, ana.workspace_id)
    assert [t.stage for t in totals] == ["Prospecting", "Qualified", "Proposal", "Negotiation"]
    by = {t.stage: t for t in totals}
    assert (by["Proposal"].count, by["Proposal"].amount, by["Proposal"].weighted) == (
        2,
        Decimal("1500.50"),
        Decimal("750.25"),
    )
    assert by["Negotiation"].weighted == Decimal("1500.00")
    assert (by["Prospecting"].count, by["Prospecting"].amount) == (1, Decimal("0.00"))
    assert by["Qualified"].count == 0 and by["Qualified"].amount == Decimal("0.00")


def test_pipeline_by_stage_filters_by_owner_and_team(uow: UnitOfWork, ana: Actor, bob: Actor) -> None:
    add_deal(uow, ana, "1000", created=date(2026, 10, 1), stage="Proposal")
    add_deal(uow, bob, "2000", created=date(2026, 10, 3), stage="Proposal")
    with uow.read() as s:
        mine = {t.stage: t for t in pipeline_by_stage(s, ana.workspace_id, owner_ids=[bob.user_id])}
        east = {t.stage: t for t in pipeline_by_stage(s, ana.workspace_id, team_id=ana.team_id)}
        nobody = pipeline_by_stage(s, ana.workspace_id, owner_ids=[])
    assert mine["Proposal"].amount == Decimal("2000.00")
    assert east["Proposal"].amount == Decimal("1000.00")
    assert all(t.count == 0 for t in nobody)


def _quarter_history(uow: UnitOfWork, ana: Actor, bob: Actor) -> dict[str, int]:
    """Q4 2026: three wins, one loss, one open deal; one win in July outside the period."""
    ids = {
        "d1": add_deal(
            uow, ana, "1000", created=date(2026, 9, 1),
            moves=[(date(2026, 10, 5), "Qualified"), (date(2026, 10, 15), "Proposal")], won=date(2026, 10, 25),
        ),
        "d2": add_deal(uow, ana, "400", created=date(2026, 10, 1), lost=date(2026, 10, 11)),
        "d3": add_deal(
            uow, ana, "3000", created=date(2026, 10, 10), moves=[(date(2026, 10, 20), "Qualified")],
            won=date(2026, 11, 9),
        ),
        "d4": add_deal(uow, bob, "2000", created=date(2026, 10, 2), won=date(2026, 10, 22)),
        "d5": add_deal(uow, ana, "7000", created=date(2026, 6, 1), won=date(2026, 7, 1)),
        "d6": add_deal(uow, ana, "500", created=date(2026, 11, 1), stage="Proposal"),
    }
    add_activity(uow, ana, ids["d1"], ActivityKind.CALL, date(2026, 10, 3))
    add_activity(uow, ana, ids["d3"], ActivityKind.CALL, date(2026, 10, 12))
    add_activity(uow, ana, ids["d3"], ActivityKind.EMAIL, date(2026, 11, 2))
    add_activity(uow, bob, ids["d4"], ActivityKind.MEETING, date(2026, 10, 5))
    add_activity(uow, ana, ids["d1"], ActivityKind.CALL, date(2026, 9, 3))  # before the period
    return ids


Q4 = (date(2026, 10, 1), date(2026, 12, 31))


def test_workspace_kpis_of_a_quarter(uow: UnitOfWork, ana: Actor, bob: Actor) -> None:
    _quarter_history(uow, ana, bob)
    with uow.read() as s:
        k = kpis(s, ana.workspace_id, *Q4)
    assert (k.won_count, k.lost_count, k.won_amount, k.lost_amount) == (3, 1, Decimal("6000.00"), Decimal("400.00"))
    assert k.win_rate == Decimal("0.7500")  # won / (won + lost), closed in the period
    assert k.avg_won == Decimal("2000.00")
    assert k.cycle_median_days == Decimal("30.00")
    assert k.cycle_mean_days == Decimal("34.67")  # (54 + 30 + 20) / 3
    assert (k.new_count, k.new_amount) == (4, Decimal("5900.00"))
    assert (k.open_count, k.open_amount, k.open_weighted) == (1, Decimal("500.00"), Decimal("250.00"))
    assert k.activities == {"call": 2, "email": 1, "meeting": 1}
    flow = {f.stage: f for f in k.stages}
    assert (flow["Prospecting"].exits, flow["Prospecting"].forward, flow["Prospecting"].won) == (4, 3, 1)
    assert flow["Prospecting"].conversion == Decimal("0.7500")
    assert flow["Prospecting"].avg_days == Decimal("18.5")  # (34 + 10 + 10 + 20) / 4
    assert (flow["Qualified"].exits, flow["Qualified"].forward, flow["Qualified"].avg_days) == (2, 2, Decimal("15.0"))
    assert (flow["Proposal"].exits, flow["Proposal"].won) == (1, 1)
    assert k.quota is None and k.coverage is None


def test_rep_and_team_kpis_with_quota_coverage_and_velocity(
    uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor, now: datetime
) -> None:
    _quarter_history(uow, ana, bob)
    set_quota(uow, mia, team_name="East", amount=Money(Decimal("10000"), "USD"), period="2026-Q4", now=now)
    with uow.read() as s:
        rep = kpis(s, ana.workspace_id, *Q4, owner_ids=[ana.user_id])
        east = kpis(s, ana.workspace_id, *Q4, team_id=ana.team_id)
        west = kpis(s, ana.workspace_id, *Q4, team_id=bob.team_id)
    assert (rep.won_count, rep.lost_count, rep.win_rate) == (2, 1, Decimal("0.6667"))
    assert rep.cycle_median_days == Decimal("42.00") == rep.cycle_mean_days
    assert rep.velocity_per_day == Decimal("31.75")  # 1 open x 2000 x 0.6667 / 42 days
    assert east.won_amount == Decimal("4000.00") and east.quota == Decimal("10000.00")
    assert east.quota_remaining == Decimal("6000.00") and east.coverage == Decimal("0.04")  # 250 / 6000
    assert (west.won_count, west.lost_count, west.win_rate) == (1, 0, Decimal("1.0000"))
    assert west.activities == {"meeting": 1}
    assert west.open_count == 0 and west.velocity_per_day == Decimal("0.00")


def test_kpis_by_team_equal_the_one_team_figures(uow: UnitOfWork, ana: Actor, bob: Actor) -> None:
    _quarter_history(uow, ana, bob)
    with uow.read() as s:
        batched = kpis_by_team(s, ana.workspace_id, *Q4)
        single = {t: kpis(s, ana.workspace_id, *Q4, team_id=t) for t in (ana.team_id, bob.team_id)}
    assert ana.team_id is not None and bob.team_id is not None
    for team_id, expected in single.items():
        assert team_id is not None
        assert batched[team_id] == expected


def test_a_period_with_nothing_in_it_has_no_rates(uow: UnitOfWork, ana: Actor, bob: Actor) -> None:
    _quarter_history(uow, ana, bob)
    with uow.read() as s:
        k = kpis(s, ana.workspace_id, date(2025, 1, 1), date(2025, 1, 31))
    assert k.closed_count == 0 and k.win_rate is None and k.avg_won is None
    assert k.cycle_median_days is None and k.velocity_per_day is None and k.stages == []


def test_a_period_that_ends_before_it_starts_is_refused(uow: UnitOfWork, ana: Actor) -> None:
    with uow.read() as s, pytest.raises(InvalidInput, match="ends before it starts"):
        kpis(s, ana.workspace_id, date(2026, 12, 31), date(2026, 10, 1))


def test_kpis_of_a_workspace_without_deals(uow: UnitOfWork, root: Actor) -> None:
    with uow.read() as s:
        single = kpis(s, root.workspace_id, *Q4)
        batched = kpis_by_team(s, root.workspace_id, *Q4)
    assert single.closed_count == 0 and single.open_count == 0 and single.activities == {}
    assert batched == {}


def test_kpis_for_a_typed_period(uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime) -> None:
    _quarter_history(uow, ana, bob)
    with uow.read() as s:
        k = kpis_for_period(s, ana.workspace_id, "this quarter", now)
        october = kpis_for_period(s, ana.workspace_id, "2026-10", now, team_id=ana.team_id)
        with pytest.raises(InvalidInput, match="someday"):
            kpis_for_period(s, ana.workspace_id, "someday", now)
    assert (k.start, k.end, k.won_count) == (*Q4, 3)
    assert (october.won_count, october.lost_count) == (1, 1)
