"""The ground: workspaces get a default pipeline, users are created on first contact."""
from __future__ import annotations

from datetime import datetime

from core.db import UnitOfWork
from core.tables import Role
from core.workspace.users import Actor, actor_for, can_change_owned
from core.workspace.workspaces import default_pipeline, stages_of


def test_first_contact_creates_workspace_with_default_pipeline(uow: UnitOfWork, now: datetime) -> None:
    with uow.transaction() as s:
        actor = actor_for(s, "TNEW", "U1", now, name="Ann", tz="Europe/Istanbul")
    with uow.read() as s:
        stages = stages_of(s, default_pipeline(s, actor.workspace_id).id)
    assert [st.name for st in stages] == ["Prospecting", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    assert actor.tz == "Europe/Istanbul" and actor.role == Role.REP


def test_second_contact_reuses_the_same_user(uow: UnitOfWork, now: datetime) -> None:
    with uow.transaction() as s:
        first = actor_for(s, "T1", "U1", now)
    with uow.transaction() as s:
        second = actor_for(s, "T1", "U1", now, is_slack_admin=True)
    assert first.user_id == second.user_id and second.role == Role.ADMIN


def test_managers_change_their_teams_records_only(ana: Actor, bob: Actor, mia: Actor) -> None:
    assert can_change_owned(mia, ana.user_id, ana.team_id)
    assert not can_change_owned(mia, bob.user_id, bob.team_id)
    assert not can_change_owned(ana, bob.user_id, bob.team_id)
    assert can_change_owned(ana, ana.user_id, ana.team_id)


def test_nested_transactions_commit_once_and_roll_back_together(uow: UnitOfWork, now: datetime) -> None:
    import pytest

    from core.tables import Workspace

    with pytest.raises(RuntimeError), uow.transaction() as s:
        actor_for(s, "TX", "U1", now)
        with uow.transaction() as inner:
            assert inner is s
        raise RuntimeError("boom")
    with uow.read() as s:
        assert s.query(Workspace).filter_by(team_id="TX").count() == 0


def test_actor_by_slack_id_is_the_same_actor_as_actor_of(
        uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor, root: Actor, now: datetime) -> None:
    from sqlalchemy import select

    from core.tables import Team, User
    from core.workspace.users import actor_by_slack_id, actor_of

    with uow.transaction() as s:
        # Mia manages East and, from today, West as well: two teams, two rows in the join.
        west = s.scalars(select(Team).where(Team.name == "West")).one()
        west.manager_id = mia.user_id
        s.get_one(User, ana.user_id).refreshed_at = now
    with uow.read() as s:
        for who in (ana, bob, mia, root):
            user = s.get_one(User, who.user_id)
            found = actor_by_slack_id(s, "T1", who.slack_id or "")
            assert found is not None
            assert found[0] == actor_of(s, user), who.name
        assert actor_by_slack_id(s, "T1", "UANA") == (ana, now)
        assert actor_by_slack_id(s, "T1", "UBOB")[1] is None  # type: ignore[index]
        assert len(actor_by_slack_id(s, "T1", "UMIA")[0].managed_team_ids) == 2  # type: ignore[index]
        assert actor_by_slack_id(s, "T1", "UNOBODY") is None
        assert actor_by_slack_id(s, "T2", "UANA") is None
