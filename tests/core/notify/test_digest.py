"""The weekly digest: figures checked on a small hand-made week and against the Maven CRM data."""
from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from core.db import UnitOfWork
from core.deals.deals import close_deal_lost, close_deal_won, create_deal, edit_deal, log_activity, move_stage
from core.deals.demo import load_demo_org
from core.insight.figures import basis, open_at, scope
from core.money import Money
from core.notify.digest import digest_sweep, team_digests, workspace_digest
from core.tables import OutboxMessage, Quota, Stage, Team, User, Workspace
from core.workspace.users import Actor
from tests.conftest import MAVEN_DIR, make_actor

D = Decimal


def usd(amount: str) -> Money:
    return Money(D(amount), "USD")


def test_a_week_of_work_shows_in_the_digest(uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor, now: datetime) -> None:
    week_ago = now - timedelta(days=7)
    old = week_ago - timedelta(days=3)
    a = create_deal(uow, ana, title="Acme", amount=usd("10000"), now=old)  # Prospecting 10%
    b = create_deal(uow, ana, title="Beta", amount=usd("4000"), stage="Proposal", now=old)  # 50%
    c = create_deal(uow, ana, title="Gamma", amount=usd("2000"), now=old)
    create_deal(uow, ana, title="Delta", amount=usd("500"), now=now - timedelta(days=2))  # new this week
    create_deal(uow, bob, title="West deal", amount=usd("99999"), now=old)  # another team
    move_stage(uow, ana, a.ref, "Negotiation", now=now - timedelta(days=3))  # 75%
    edit_deal(uow, ana, b.ref, now=now - timedelta(days=1), amount=usd("6000"))
    close_deal_won(uow, ana, c.ref, now=now - timedelta(days=1))
    close_deal_lost(uow, ana, create_deal(uow, ana, title="Eps", amount=usd("700"), now=old).ref, "budget",
                    now=now - timedelta(days=4))
    log_activity(uow, ana, a.ref, "call", "", now=now - timedelta(days=2))
    log_activity(uow, ana, a.ref, "demo", "", now=now - timedelta(days=1))
    log_activity(uow, ana, b.ref, "call", "", now=week_ago - timedelta(days=1))  # last week: not counted
    with uow.transaction() as s:
        s.add(Quota(workspace_id=ana.workspace_id, team_id=ana.team_id, period="2026-Q4", amount_minor=5_000_000,
                    currency="USD"))
    with uow.read() as s:
        d = team_digests(s, ana.workspace_id, now, [ana.team_id])[ana.team_id]  # type: ignore[list-item]
    by_stage = {line.stage: line for line in d.stages}
    assert (by_stage["Negotiation"].count, by_stage["Negotiation"].amount) == (1, D("10000.00"))
    assert by_stage["Negotiation"].weighted == D("7500.00") and by_stage["Negotiation"].prev_count == 0
    # A week ago: Acme, Gamma and Eps in Prospecting, Beta in Proposal at its old amount.
    assert (by_stage["Prospecting"].prev_count, by_stage["Prospecting"].prev_amount) == (3, D("12700.00"))
    assert (by_stage["Prospecting"].count, by_stage["Prospecting"].amount) == (1, D("500.00"))
    assert (by_stage["Proposal"].prev_amount, by_stage["Proposal"].amount) == (D("4000.00"), D("6000.00"))
    assert d.open_amount == D("16500.00") and d.prev_amount == D("16700.00")
    assert d.new == (1, D("500.00")) and d.won == (1, D("2000.00")) and d.lost == (1, D("700.00"))
    assert [(m.from_stage, m.to_stage, m.count) for m in d.moves] == [
        ("Prospecting", "Lost", 1),
        ("Prospecting", "Negotiation", 1),
        ("Prospecting", "Won", 1),
    ]
    assert [(r.name, r.counts["call"], r.counts["demo"]) for r in d.activity] == [("Ana", 1, 1)]
    assert (d.quarter, d.quarter_won, d.quota) == ("2026-Q4", D("2000.00"), D("50000.00"))
    assert [t.ref for t in d.top_deals] == [a.ref, b.ref, "D-4"]
    assert d.manager_slack_id == "UMIA"


def test_the_pipeline_today_equals_the_current_pipeline(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    from core.insight.kpis import pipeline_by_stage

    a = create_deal(uow, ana, title="A", amount=usd("100"), now=now - timedelta(days=20))
    create_deal(uow, ana, title="B", amount=usd("250"), stage="Qualified", now=now - timedelta(days=9))
    move_stage(uow, ana, a.ref, "Proposal", now=now - timedelta(days=1))
    with uow.read() as s:
        b = basis(s, ana.workspace_id, now)
        rebuilt = open_at(s, b, scope(ana.workspace_id), replay=True)
        current = pipeline_by_stage(s, ana.workspace_id, now=now)
    assert {sid: (c.amount.count, c.amount.amount) for (_, sid), c in rebuilt.items()} == {
        t.stage_id: (t.count, t.amount) for t in current if t.count
    }


def test_stale_and_slipped_deals_are_listed(uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime) -> None:
    late = create_deal(uow, ana, title="Late", amount=usd("300"), now=now - timedelta(days=3),
                       expected_close=date(2026, 11, 20))
    idle = create_deal(uow, ana, title="Idle", amount=usd("800"), now=now - timedelta(days=30))
    with uow.read() as s:
        d = team_digests(s, ana.workspace_id, now, [ana.team_id])[ana.team_id]  # type: ignore[list-item]
    assert d.slipped == (1, D("300.00")) and [x.ref for x in d.slipped_deals] == [late.ref]
    assert d.stale == (1, D("800.00")) and [x.ref for x in d.stale_deals] == [idle.ref]
    assert d.stale_deals[0].idle_days == 30


def test_the_digest_goes_monday_nine_in_the_managers_zone_once(uow: UnitOfWork, now: datetime) -> None:
    make_actor(uow, "UMGR", name="Meg", manages="North", tz="Europe/Berlin")
    rep = make_actor(uow, "UREP", name="Rex", team="North")
    create_deal(uow, rep, title="Deal", amount=usd("1000"), now=now - timedelta(days=10))
    with uow.transaction() as s:
        s.scalars(select(Team).where(Team.name == "North")).one().channel_id = "CNORTH"
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    with uow.transaction() as s:
        assert digest_sweep(s, monday + timedelta(hours=7, minutes=55)) == 0  # 08:55 Berlin
    with uow.transaction() as s:
        assert digest_sweep(s, monday + timedelta(hours=8)) == 2  # 09:00 Berlin: DM and channel
    with uow.transaction() as s:
        assert digest_sweep(s, monday + timedelta(hours=9)) == 0  # once a week
        assert digest_sweep(s, monday + timedelta(days=1, hours=8)) == 0  # not on Tuesday
    with uow.read() as s:
        msgs = s.scalars(select(OutboxMessage).order_by(OutboxMessage.channel)).all()
    assert [m.channel for m in msgs] == ["CNORTH", "UMGR"]
    assert msgs[0].payload["data"]["totals"]["open_amount"] == "1000.00"


def test_admins_without_a_team_see_the_whole_workspace(uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime) -> None:
    create_deal(uow, ana, title="A", amount=usd("100"), now=now - timedelta(days=1))
    create_deal(uow, bob, title="B", amount=usd("200"), now=now - timedelta(days=1))
    with uow.read() as s:
        d = workspace_digest(s, ana.workspace_id, now)
    assert d.open_amount == D("300.00") and d.new == (2, D("300.00"))


# -- the Maven CRM data, figures computed independently from the CSV files -------------------

MAVEN_NOW = datetime(2017, 12, 31, 18, 0, tzinfo=UTC)  # after the last close date (Dec 31, read as 12:00)
IMPORTED_AT = datetime(2017, 12, 1, tzinfo=UTC)


def _maven_expected() -> dict[str, dict[str, object]]:
    """Per manager (the demo org's teams), from the CSV files with the csv module only."""
    with open(MAVEN_DIR / "products.csv", newline="") as f:
        price = {r["product"].replace(" ", "").lower(): D(r["sales_price"]) for r in csv.DictReader(f)}
    with open(MAVEN_DIR / "sales_teams.csv", newline="") as f:
        manager_of = {r["sales_agent"]: r["manager"] for r in csv.DictReader(f)}
    # The digest read on Sunday 31 Dec covers the last whole week, Monday 18 to Sunday 24 December.
    week_lo, week_hi = date(2017, 12, 18), date(2017, 12, 24)
    prev_cut = date(2017, 12, 24)  # a week before MAVEN_NOW: 2017-12-24 18:00
    out: dict[str, dict[str, object]] = defaultdict(
        lambda: {"won": [0, D(0)], "lost": [0, D(0)], "new": 0, "open": Counter(), "open_amt": defaultdict(D),
                 "prev": Counter(), "prev_amt": defaultdict(D), "q4_won": D(0), "stale": 0, "top": []}
    )
    with open(MAVEN_DIR / "sales_pipeline.csv", newline="") as f:
        for r in csv.DictReader(f):
            team = out[manager_of[r["sales_agent"]]]
            list_price = price.get(r["product"].replace(" ", "").lower(), D(0))
            stage, engaged = r["deal_stage"], r["engage_date"]
            closed = date.fromisoformat(r["close_date"]) if r["close_date"] else None
            value = D(r["close_value"]) if stage == "Won" else list_price  # lost deals keep their list price
            if closed and week_lo <= closed <= week_hi:
                bucket = team["won" if stage == "Won" else "lost"]
                bucket[0] += 1
                bucket[1] += value
            if stage == "Won" and closed and closed >= date(2017, 10, 1):
                team["q4_won"] += value
            if engaged and week_lo <= date.fromisoformat(engaged) <= week_hi:
                team["new"] += 1
            if stage in ("Engaging", "Prospecting"):
                team["open"][stage] += 1
                team["open_amt"][stage] += list_price
                team["top"].append(list_price)
                if stage == "Prospecting" or date.fromisoformat(engaged) <= date(2017, 12, 17):
                    team["stale"] += 1  # no touch for over 14 days
            # A week earlier: existing (engaged by then, or imported before) and not yet closed.
            existed = (not engaged) or date.fromisoformat(engaged) <= prev_cut
            if existed and (closed is None or closed > prev_cut):
                prev_stage = "Prospecting" if stage == "Prospecting" else "Engaging"
                team["prev"][prev_stage] += 1
                team["prev_amt"][prev_stage] += list_price if stage != "Won" else D(r["close_value"])
    return out


def test_maven_digest_figures_match_an_independent_computation(uow: UnitOfWork) -> None:
    load_demo_org(uow, "TDEMO", IMPORTED_AT)
    expected = _maven_expected()
    with uow.read() as s:
        ws = s.scalars(select(Workspace).where(Workspace.team_id == "TDEMO")).one()
        teams = {t.id: t.name for t in s.scalars(select(Team).where(Team.workspace_id == ws.id))}
        probability = {st.name: st.probability for st in s.scalars(select(Stage).where(Stage.workspace_id == ws.id))}
        digests = team_digests(s, ws.id, MAVEN_NOW)
        reps = s.scalar(select(User.id).where(User.workspace_id == ws.id).limit(1))
    assert reps is not None and sorted(teams.values()) == sorted(expected)
    total_won = D(0)
    for team_id, name in teams.items():
        d, e = digests[team_id], expected[name]
        stages = {line.stage: line for line in d.stages}
        for stage in ("Engaging", "Prospecting"):
            assert stages[stage].count == e["open"][stage], (name, stage)  # type: ignore[index]
            assert stages[stage].amount == e["open_amt"][stage], (name, stage)  # type: ignore[index]
            weighted = (e["open_amt"][stage] * probability[stage] / 100).quantize(D("0.01"))  # type: ignore[index]
            assert stages[stage].weighted == weighted, (name, stage)
            assert stages[stage].prev_count == e["prev"][stage], (name, stage)  # type: ignore[index]
            assert stages[stage].prev_amount == e["prev_amt"][stage], (name, stage)  # type: ignore[index]
        assert d.won == (e["won"][0], e["won"][1]), name  # type: ignore[index]
        assert d.lost == (e["lost"][0], e["lost"][1]), name  # type: ignore[index]
        assert d.new[0] == e["new"], name
        assert (d.quarter, d.quarter_won) == ("2017-Q4", e["q4_won"]), name
        assert d.stale[0] == e["stale"], name
        assert [t.amount for t in d.top_deals] == sorted(e["top"], reverse=True)[:5], name  # type: ignore[arg-type]
        assert d.slipped == (0, D("0.00")) and d.moves == []
        total_won += d.quarter_won
    assert total_won == D("2802496")  # 2017-Q4 won revenue published for this data set (SOURCE.md)


def test_the_digest_of_monday_covers_monday_to_sunday_in_the_readers_zone() -> None:
    from core.notify.digest import week_of

    monday = datetime(2017, 10, 2, 9, tzinfo=UTC)
    assert week_of(monday, "UTC") == (date(2017, 9, 25), date(2017, 10, 1))
    # 09:00 UTC Monday is already Monday evening in Auckland, still Monday 02:00 in Los Angeles.
    assert week_of(monday, "Pacific/Auckland") == (date(2017, 9, 25), date(2017, 10, 1))
    assert week_of(monday, "America/Los_Angeles") == (date(2017, 9, 25), date(2017, 10, 1))
    # Sunday 23:00 in Los Angeles is Monday 06:00 UTC: the reader's week is not over yet.
    assert week_of(datetime(2017, 10, 2, 6, tzinfo=UTC), "America/Los_Angeles") == (date(2017, 9, 18),
                                                                                     date(2017, 9, 24))


def test_dustins_week_of_25_september_2017_and_no_moves_made_by_the_import(uow: UnitOfWork) -> None:
    """Issue 10: the digest of Monday 2017-10-02 counts Monday 25 Sep to Sunday 1 Oct, date-only
    close dates read as those dates; the import a week earlier made no stage moves and no new deals."""
    load_demo_org(uow, "TDEMO", datetime(2017, 9, 25, 13, tzinfo=UTC))
    with open(MAVEN_DIR / "sales_teams.csv", newline="") as f:
        team = {r["sales_agent"] for r in csv.DictReader(f) if r["manager"] == "Dustin Brinkmann"}
    won, new = [0, D(0)], 0
    with open(MAVEN_DIR / "sales_pipeline.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["sales_agent"] not in team:
                continue
            if r["deal_stage"] == "Won" and "2017-09-25" <= r["close_date"] <= "2017-10-01":
                won[0] += 1
                won[1] += D(r["close_value"])
            if r["engage_date"] and "2017-09-25" <= r["engage_date"] <= "2017-10-01":
                new += 1
    with uow.read() as s:
        ws = s.scalars(select(Workspace).where(Workspace.team_id == "TDEMO")).one()
        team_id = s.scalar(select(Team.id).where(Team.workspace_id == ws.id, Team.name == "Dustin Brinkmann"))
        d = team_digests(s, ws.id, datetime(2017, 10, 2, 9, tzinfo=UTC), [team_id])[team_id]  # type: ignore[list-item]
    assert (d.start, d.end) == (datetime(2017, 9, 25, tzinfo=UTC), datetime(2017, 10, 2, tzinfo=UTC))
    assert d.won == (won[0], won[1]) == (15, D("26487"))
    assert d.new[0] == new  # engaged in the week; the 204 undated Prospecting rows are not new
    prospecting = next(line for line in d.stages if line.stage == "Prospecting")
    assert prospecting.count == prospecting.prev_count == 204  # no "+204" made by the import
    assert d.moves == []


def test_read_at_an_earlier_instant_the_lists_and_forecast_use_the_pipeline_then(
    uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    """A look at the past (later events in the data): the digest's slipped, stale and top lists and the
    forecast's weighted, commit and best case see each deal as it stood then, like the open pipeline."""
    from core.insight.forecast import quarter_forecast

    then = now - timedelta(days=14)  # Monday 2026-11-09
    x = create_deal(uow, ana, title="X", amount=usd("1000"), now=then - timedelta(days=20),
                    expected_close=date(2026, 11, 5))  # Prospecting; at `then` slipped and 20 days idle
    y = create_deal(uow, ana, title="Y", amount=usd("500"), stage="Qualified", now=then - timedelta(days=3))
    move_stage(uow, ana, x.ref, "Proposal", now=now - timedelta(days=5))  # all after `then`
    edit_deal(uow, ana, x.ref, now=now - timedelta(days=5), expected_close=date(2026, 12, 15), amount=usd("3000"))
    close_deal_won(uow, ana, y.ref, now=now - timedelta(days=2))
    z = create_deal(uow, ana, title="Z", amount=usd("200"), now=now - timedelta(days=3))
    with uow.read() as s:
        past = team_digests(s, ana.workspace_id, then, [ana.team_id])[ana.team_id]  # type: ignore[list-item]
        today = team_digests(s, ana.workspace_id, now, [ana.team_id])[ana.team_id]  # type: ignore[list-item]
        f_then = quarter_forecast(s, ana.workspace_id, then, team_id=ana.team_id)
        f_now = quarter_forecast(s, ana.workspace_id, now, team_id=ana.team_id)
    assert (past.open_count, past.open_amount) == (2, D("1500.00"))
    assert past.slipped == (1, D("1000.00")) and [d.ref for d in past.slipped_deals] == [x.ref]
    assert past.slipped_deals[0].expected_close == date(2026, 11, 5)
    assert past.stale == (1, D("1000.00")) and [d.ref for d in past.stale_deals] == [x.ref]
    assert (past.stale_deals[0].idle_days, past.stale_deals[0].stage) == (20, "Prospecting")
    assert [(d.ref, d.stage, d.amount, d.idle_days) for d in past.top_deals] == [
        (x.ref, "Prospecting", D("1000.00"), 20), (y.ref, "Qualified", D("500.00"), 3)]
    # Then: 10 % of X's 1000 (closing 5 Nov) + 25 % of Y's 500 (no close date), nothing won yet.
    assert (f_then.weighted, f_then.commit, f_then.best_case) == (D("225.00"), D("0.00"), D("1500.00"))
    assert (f_then.deals_in_period, f_then.undated, f_then.won_to_date) == (2, 1, D("0.00"))
    # Now (no later events): the deals as they stand.
    assert today.slipped == (0, D("0.00")) and today.stale == (0, D("0.00"))
    assert [(d.ref, d.stage, d.amount) for d in today.top_deals] == [
        (x.ref, "Proposal", D("3000.00")), (z.ref, "Prospecting", D("200.00"))]
    assert (f_now.weighted, f_now.best_case, f_now.undated) == (D("2020.00"), D("3700.00"), 1)  # 500 + 1500 + 20
