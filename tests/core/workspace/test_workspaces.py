"""Which workspace: T-LOCAL adopted by the first real workspace, the console never in the way."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from core.db import UnitOfWork
from core.errors import Ambiguous
from core.tables import Deal, Workspace
from core.workspace.users import actor_for
from core.workspace.workspaces import CONSOLE_TEAM_ID, LOCAL_TEAM_ID, cli_workspace, get_or_create_workspace


def _teams(uow: UnitOfWork) -> list[str]:
    with uow.read() as s:
        return list(s.scalars(select(Workspace.team_id).order_by(Workspace.id)))


def test_data_imported_before_slack_belongs_to_the_first_workspace_that_uses_it(
    uow: UnitOfWork, now: datetime
) -> None:
    from core.deals.deals import create_deal

    with uow.transaction() as s:
        local = cli_workspace(s, now)
    assert local.team_id == LOCAL_TEAM_ID
    with uow.transaction() as s:
        rep = actor_for(s, LOCAL_TEAM_ID, "UIMPORT", now, name="Imported rep")
    create_deal(uow, rep, title="Imported before Slack", now=now)
    with uow.transaction() as s:
        actor = actor_for(s, "T1", "UANA", now, name="Ana")  # first contact from Slack
    assert actor.workspace_id == local.id and _teams(uow) == ["T1"]
    with uow.read() as s:
        assert [d.title for d in s.scalars(select(Deal).where(Deal.workspace_id == actor.workspace_id))] == [
            "Imported before Slack"]
    with uow.transaction() as s:
        get_or_create_workspace(s, "T2", now)  # a second workspace starts empty
        assert cli_workspace(s, now, "T1").id == local.id
    assert _teams(uow) == ["T1", "T2"]


def test_the_console_workspace_is_never_adopted_and_never_makes_the_cli_ambiguous(
    uow: UnitOfWork, now: datetime
) -> None:
    with uow.transaction() as s:
        console = get_or_create_workspace(s, CONSOLE_TEAM_ID, now)
        assert cli_workspace(s, now).id == console.id  # only the console's: trying things locally
        local = get_or_create_workspace(s, LOCAL_TEAM_ID, now)
        assert cli_workspace(s, now).id == local.id
        real = get_or_create_workspace(s, "T1", now)
        assert real.id == local.id and real.team_id == "T1"  # adopted, the console's left alone
        assert cli_workspace(s, now).id == real.id  # console + one real: not ambiguous
    assert _teams(uow) == [CONSOLE_TEAM_ID, "T1"]


def test_a_local_workspace_is_not_adopted_once_a_real_one_exists(uow: UnitOfWork, now: datetime) -> None:
    with uow.transaction() as s:
        get_or_create_workspace(s, "T1", now)
        local = get_or_create_workspace(s, LOCAL_TEAM_ID, now)
        assert get_or_create_workspace(s, "T2", now).id != local.id
        with pytest.raises(Ambiguous, match=r"2 workspaces .*T1, T2.*--team-id"):
            cli_workspace(s, now)
    assert sorted(_teams(uow)) == sorted(["T1", LOCAL_TEAM_ID, "T2"])
