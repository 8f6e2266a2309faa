"""The hot-lead rule and the open statuses (core/leads/hot.py), and whose hot leads wait for whom."""
from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from core.csv_mapping import owner_id_token
from core.db import UnitOfWork
from core.leads.hot import OPEN_STATUSES, is_hot, is_open
from core.leads.intake import clean_lead, intake
from core.leads.leads import hot_leads_waiting_for
from core.tables import Lead, LeadStatus, Team, Workspace
from core.workspace.users import Actor


@pytest.mark.parametrize("status", list(LeadStatus))
def test_hot_means_open_and_at_or_above_the_threshold(status: LeadStatus) -> None:
    assert is_open(status) == (status in (LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.WORKING))
    assert is_hot(status, 70, 70) == is_open(status)
    assert is_hot(status, 100, 70) == is_open(status)
    assert not is_hot(status, 69, 70)
    assert set(OPEN_STATUSES) == {s for s in LeadStatus if is_open(s)}


def _lead(uow: UnitOfWork, actor: Actor, now: datetime, name: str, *, owner: Actor | None, team: str | None,
          status: LeadStatus = LeadStatus.NEW, hot: bool = True, score: int = 90) -> None:
    with uow.transaction() as s:
        ws = s.get_one(Workspace, actor.workspace_id)
        [result] = intake(s, ws, [clean_lead({"name": name, "email": f"{name.lower()}@x.io"})], now)
        team_id = s.scalar(select(Team.id).where(Team.name == team)) if team else None
        s.execute(
            update(Lead)
            .where(Lead.email == f"{name.lower()}@x.io")
            .values(hot=hot, score=score, status=status, team_id=team_id, owner_id=owner.user_id if owner else None)
        )
        assert result.ref


def test_hot_leads_wait_for_their_owner_and_for_claimers_of_their_team(
    uow: UnitOfWork, mia: Actor, ana: Actor, bob: Actor, root: Actor, now: datetime
) -> None:
    _lead(uow, ana, now, "Anas", owner=ana, team="East", score=95)
    _lead(uow, ana, now, "Unclaimed", owner=None, team="East", score=90)
    _lead(uow, ana, now, "Nobodys", owner=None, team=None, score=85)
    _lead(uow, ana, now, "Westy", owner=None, team="West", score=80)
    _lead(uow, ana, now, "Bobs", owner=bob, team="West", score=99)
    _lead(uow, ana, now, "Cold", owner=None, team=None, hot=False, score=10)
    _lead(uow, ana, now, "Won", owner=None, team=None, status=LeadStatus.CONVERTED, score=98)

    def names(actor: Actor) -> list[str]:
        return [lead.name for lead in hot_leads_waiting_for(uow, actor)]

    assert names(ana) == ["Anas", "Unclaimed", "Nobodys"]  # best score first
    assert names(mia) == ["Unclaimed", "Nobodys"]  # manages East; owns none
    assert names(bob) == ["Bobs", "Nobodys", "Westy"]
    assert names(root) == ["Unclaimed", "Nobodys", "Westy"]  # admins see every team's unclaimed ones
    assert [lead.name for lead in hot_leads_waiting_for(uow, ana, limit=1)] == ["Anas"]


@pytest.mark.parametrize(
    ("cell", "token"),
    [("U123", "U123"), ("@U123", "U123"), ("<@U123>", "U123"), ("<@U123|ana>", "U123"), (" W9 ", "W9"),
     ("Darcel Schlecht", "Darcel"), ("", None), ("--", None)],
)
def test_owner_cells_give_the_id_they_carry(cell: str, token: str | None) -> None:
    assert owner_id_token(cell) == token


@given(st.from_regex(r"[UW][A-Z0-9]{2,12}", fullmatch=True), st.sampled_from(["{}", "@{}", "<@{}>", "<@{}|a b>"]))
def test_any_decorated_id_gives_the_bare_id(user_id: str, form: str) -> None:
    assert owner_id_token(form.format(user_id)) == user_id
