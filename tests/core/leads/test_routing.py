"""Routing: territories pick the team; round-robin skips away and full reps; the assignee gets a DM."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.leads import leads
from core.leads.intake import clean_lead, intake
from core.leads.routing import route_unclaimed, team_for, territory_matches
from core.leads.rules import save_rules
from core.tables import Lead, OutboxMessage, Team, User, Workspace
from tests.conftest import make_actor

TERRITORIES = """\
territories:
  - {country: [Germany, France], team: West}
  - {employees_gte: 1000, team: East}
"""


def add(uow, actor, now, **fields):
    with uow.transaction() as s:
        return intake(s, s.get_one(Workspace, actor.workspace_id), [clean_lead(fields)], now)[0]


def hot(uow, actor, now, name):
    with uow.transaction() as s:
        save_rules(s, actor.workspace_id, TERRITORIES + "fit:\n  - {field: title, eq: ceo, points: 90}\n", now)
    return add(uow, actor, now, name=name, title="CEO", employees=5000)


def test_territory_conditions():
    t = {"country": ["germany"], "employees_gte": 10.0, "team": "West"}
    assert territory_matches(t, {"country": "Germany", "employees": 10})
    assert not territory_matches(t, {"country": "Germany", "employees": None})
    assert not territory_matches(t, {"country": "Spain", "employees": 50})


def test_territories_pick_the_team_else_the_first_team(uow, ana, bob, now):
    with uow.transaction() as s:
        save_rules(s, ana.workspace_id, TERRITORIES, now)
        east, west = (s.scalar(select(Team.id).where(Team.name == n)) for n in ("East", "West"))
        assert team_for(s, ana.workspace_id, {"country": "france"}) == west
        assert team_for(s, ana.workspace_id, {"employees": 5000}) == east
        assert team_for(s, ana.workspace_id, {"country": "Spain"}) == east  # first team created


def test_unclaimed_hot_leads_are_routed_round_robin_after_the_claim_window(uow, mia, now):
    reps = [make_actor(uow, f"UR{i}", name=f"Rep {i}", team="East") for i in range(3)]
    with uow.transaction() as s:
        s.get_one(User, reps[1].user_id).is_away = True
    for i in range(3):
        hot(uow, mia, now, f"Hot {i}")
    assert route_unclaimed(uow, now + timedelta(minutes=29)) == []  # still in the claim window
    routed = route_unclaimed(uow, now + timedelta(minutes=31))
    owners = [r.user_id for r in routed]
    # Mia (manager, East) is a member too; Rep 1 is away.
    assert reps[1].user_id not in owners and len(set(owners)) == 3
    assert route_unclaimed(uow, now + timedelta(minutes=40)) == []  # nothing left
    with uow.read() as s:
        dms = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "lead_assigned")).all()
        assert len(dms) == 3 and "nobody claimed" in dms[0].payload["data"]["why"]


def test_reps_at_capacity_are_skipped_and_a_claimed_lead_is_left_alone(uow, mia, now):
    full = make_actor(uow, "UFULL", name="Full", team="East")
    free = make_actor(uow, "UFREE", name="Free", team="East")
    with uow.transaction() as s:
        s.get_one(User, full.user_id).max_open_leads = 0
        s.get_one(User, mia.user_id).is_away = True
    first = hot(uow, mia, now, "One")
    hot(uow, mia, now, "Two")
    with uow.read() as s:
        first_id = s.scalar(select(Lead.id).where(Lead.number == 1))
    assert leads.claim_lead(uow, full, first_id, now=now).won
    routed = route_unclaimed(uow, now + timedelta(hours=1))
    assert [(r.lead_ref, r.user_id) for r in routed] == [("L-2", free.user_id)]
    assert leads.get_lead(uow, mia, first.ref).owner_name == "Full"


def test_round_robin_continues_where_it_left_off(uow, mia, now):
    a = make_actor(uow, "UA", name="A", team="East")
    b = make_actor(uow, "UB", name="B", team="East")
    with uow.transaction() as s:
        s.get_one(User, mia.user_id).is_away = True
    hot(uow, mia, now, "One")
    first = route_unclaimed(uow, now + timedelta(hours=1))
    hot(uow, mia, now + timedelta(hours=1), "Two")
    second = route_unclaimed(uow, now + timedelta(hours=2))
    assert [first[0].user_id, second[0].user_id] == [a.user_id, b.user_id]


def test_nobody_available_leaves_the_lead_unassigned(uow, mia, now):
    with uow.transaction() as s:
        s.get_one(User, mia.user_id).is_away = True
    hot(uow, mia, now, "Lonely")
    routed = route_unclaimed(uow, now + timedelta(hours=1))
    assert routed[0].user_id is None
    assert leads.get_lead(uow, mia, "L-1").owner_id is None
