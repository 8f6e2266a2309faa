"""Administration in the admin's words: teams, roles, linking imported owners, settings, stages."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import UnitOfWork
from core.deals import deals
from core.errors import InvalidInput, NotAllowed, NotFound
from core.money import Money
from core.tables import Activity, Deal, Quota, Reminder, Role, Stage, Team, User, Workspace
from core.workspace import admin
from core.workspace import setup as setup
from core.workspace.users import Actor, owner_by_name
from tests.conftest import make_actor


def usd(x: str) -> Money:
    return Money(Decimal(x), "USD")


def people(uow: UnitOfWork) -> list[tuple[object, ...]]:
    """Users and teams as they stand: a refused change must leave this as it was."""
    with uow.read() as s:
        users = s.execute(select(User.slack_id, User.import_name, User.role, User.team_id).order_by(User.id)).all()
        teams = s.execute(select(Team.name, Team.manager_id, Team.channel_id).order_by(Team.id)).all()
        return [tuple(r) for r in users] + [tuple(r) for r in teams]


def user(uow: UnitOfWork, slack_id: str) -> User:
    with uow.read() as s:
        found = s.scalar(select(User).where(User.slack_id == slack_id))
        assert found is not None
        return found


# -- teams --------------------------------------------------------------------------------------


def test_an_admin_creates_a_team_and_its_manager_becomes_a_manager_in_it(
        uow: UnitOfWork, root: Actor, now: datetime) -> None:
    team = admin.create_team(uow, root, "North", "UNINA", now=now)
    assert (team.name, team.manager_slack_id, team.member_slack_ids) == ("North", "UNINA", ("UNINA",))
    nina = user(uow, "UNINA")
    assert nina.role == Role.MANAGER and nina.team_id == team.id


def test_a_rep_cannot_create_a_team(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    before = people(uow)
    with pytest.raises(NotAllowed, match="Only admins"):
        admin.create_team(uow, ana, "North", "UANA", now=now)
    assert people(uow) == before


def test_team_names_are_unique_whatever_the_case(uow: UnitOfWork, root: Actor, mia: Actor, now: datetime) -> None:
    with pytest.raises(InvalidInput, match="already a team"):
        admin.create_team(uow, root, "east", "UMIA", now=now)
    with pytest.raises(InvalidInput, match="Name the team"):
        admin.create_team(uow, root, "  ", "UMIA", now=now)


def test_a_manager_adds_people_to_their_own_team(uow: UnitOfWork, mia: Actor, now: datetime) -> None:
    team = admin.add_to_team(uow, mia, "East", ["UNEW1", "UNEW2"], now=now)
    assert {"UNEW1", "UNEW2"} <= set(team.member_slack_ids)
    assert user(uow, "UNEW1").team_id == team.id


def test_a_manager_cannot_add_to_another_team_nor_take_someone_from_one(
        uow: UnitOfWork, mia: Actor, bob: Actor, now: datetime) -> None:
    before = people(uow)
    with pytest.raises(NotAllowed, match="manager of West"):
        admin.add_to_team(uow, mia, "West", ["UNEW"], now=now)
    with pytest.raises(NotAllowed, match="another team"):
        admin.add_to_team(uow, mia, "East", ["UBOB"], now=now)
    assert people(uow) == before


def test_an_admin_moves_someone_between_teams(uow: UnitOfWork, root: Actor, bob: Actor, now: datetime) -> None:
    team = admin.add_to_team(uow, root, "East", ["UBOB", "UNEW", "UBOB"], now=now)
    assert "UBOB" in team.member_slack_ids
    assert team.moved == (admin.TeamMove("UBOB", "Bob", "West"),)  # UNEW came from no team: not a move
    again = admin.add_to_team(uow, root, "East", ["UBOB"], now=now)
    assert again.moved == ()  # already there


def test_team_list_admins_see_all_managers_their_own_reps_theirs(
        uow: UnitOfWork, root: Actor, mia: Actor, ana: Actor, bob: Actor, now: datetime) -> None:
    admin.set_team_channel(uow, root, "East", "C0EAST", now=now)
    listed = admin.list_teams(uow, root)
    assert [t.name for t in listed] == ["East", "West"]
    east = listed[0]
    assert east.manager_slack_id == "UMIA" and east.channel_id == "C0EAST"
    assert set(east.member_slack_ids) == {"UANA", "UMIA"}
    assert listed[1].member_slack_ids == ("UBOB",) and listed[1].manager_slack_id is None
    assert [t.name for t in admin.list_teams(uow, mia)] == ["East"]
    assert [t.name for t in admin.list_teams(uow, bob)] == ["West"]


def test_team_list_is_empty_before_any_team(uow: UnitOfWork, root: Actor) -> None:
    assert admin.list_teams(uow, root) == []


def test_adding_to_an_unknown_team_names_the_teams_there_are(uow: UnitOfWork, root: Actor, mia: Actor,
                                                             now: datetime) -> None:
    with pytest.raises(NotFound, match="Teams: East"):
        admin.add_to_team(uow, root, "Nowhere", ["UX1"], now=now)
    with pytest.raises(InvalidInput, match="Who"):
        admin.add_to_team(uow, root, "East", [], now=now)


def test_team_channel_by_the_manager_and_refused_to_a_rep(uow: UnitOfWork, mia: Actor, ana: Actor,
                                                         now: datetime) -> None:
    assert admin.set_team_channel(uow, mia, "East", "C0EAST", now=now).channel_id == "C0EAST"
    with pytest.raises(NotAllowed):
        admin.set_team_channel(uow, ana, "East", "C0OTHER", now=now)
    with uow.read() as s:
        assert s.scalar(select(Team.channel_id).where(Team.name == "East")) == "C0EAST"


# -- roles --------------------------------------------------------------------------------------


def test_roles_are_set_by_admins_only(uow: UnitOfWork, root: Actor, ana: Actor, mia: Actor, now: datetime) -> None:
    assert admin.set_role(uow, root, "UANA", "Manager", now=now) == Role.MANAGER
    assert user(uow, "UANA").role == Role.MANAGER
    before = people(uow)
    with pytest.raises(NotAllowed, match="Only admins"):
        admin.set_role(uow, mia, "UANA", "admin", now=now)
    with pytest.raises(InvalidInput, match="rep, manager or admin"):
        admin.set_role(uow, root, "UANA", "boss", now=now)
    with pytest.raises(NotAllowed, match="own admin role"):
        admin.set_role(uow, root, "UROOT", "rep", now=now)
    assert people(uow) == before


# -- linking an imported owner --------------------------------------------------------------------


def test_linking_an_imported_owner_moves_everything_to_the_slack_user(
        uow: UnitOfWork, root: Actor, ana: Actor, now: datetime) -> None:
    with uow.transaction() as s:
        imported = owner_by_name(s, root.workspace_id, "Anna Smith", now)
        imported_id = imported.id
        west = Team(workspace_id=root.workspace_id, name="Imported", created_at=now)
        s.add(west)
        s.flush()
        imported.team_id = west.id
        s.add(Quota(workspace_id=root.workspace_id, user_id=imported_id, period="2026-Q4", amount_minor=100))
    d1 = deals.create_deal(uow, root, title="Acme", amount=usd("1000"), owner_id=imported_id, now=now)
    deals.create_deal(uow, root, title="Globex", owner_id=imported_id, now=now)
    deals.log_activity(uow, root, d1.ref, "call", "talked", now=now)
    with uow.transaction() as s:
        s.add(Reminder(workspace_id=root.workspace_id, user_id=imported_id, deal_id=d1.id,
                       due_at=now + timedelta(days=1), text="call", created_at=now))

    result = admin.link_import_owner(uow, root, "anna smith", "UANA", now=now)

    assert (result.deals, result.reminders) == (2, 1)
    with uow.read() as s:
        assert s.get(User, imported_id) is None
        assert set(s.scalars(select(Deal.owner_id))) == {ana.user_id}
        assert s.scalar(select(Reminder.user_id)) == ana.user_id
        assert s.scalar(select(Quota.user_id)) == ana.user_id
        linked = s.get_one(User, ana.user_id)
        assert linked.import_name == "Anna Smith"
        assert linked.team_id == ana.team_id  # Ana keeps her own team
        assert linked.role == Role.REP
        assert s.scalar(select(func.count(Activity.id))) == 1


def test_a_linked_user_without_a_team_takes_the_imported_owners_team(
        uow: UnitOfWork, root: Actor, mia: Actor, now: datetime) -> None:
    with uow.transaction() as s:
        imported = owner_by_name(s, root.workspace_id, "Zed", now)
        imported.team_id = s.scalar(select(Team.id).where(Team.name == "East"))
    newbie = make_actor(uow, "UZED", name="UZED")
    admin.link_import_owner(uow, root, "Zed", newbie.slack_id or "", now=now)
    zed = user(uow, "UZED")
    assert zed.team_id == mia.team_id and zed.name == "Zed"


def test_linking_refusals_change_nothing(uow: UnitOfWork, root: Actor, ana: Actor, now: datetime) -> None:
    with uow.transaction() as s:
        owner_by_name(s, root.workspace_id, "Anna Smith", now)
    before = people(uow)
    with pytest.raises(NotFound, match="No imported owner"):
        admin.link_import_owner(uow, root, "Nobody", "UANA", now=now)
    with pytest.raises(NotAllowed):
        admin.link_import_owner(uow, ana, "Anna Smith", "UANA", now=now)
    with pytest.raises(InvalidInput):
        admin.link_import_owner(uow, root, "", "UANA", now=now)
    assert people(uow) == before
    admin.link_import_owner(uow, root, "Anna Smith", "UANA", now=now)
    with pytest.raises(InvalidInput, match="already linked"):
        admin.link_import_owner(uow, root, "Anna Smith", "UANA", now=now)


# -- who sees which pipeline -----------------------------------------------------------------------


def test_pipeline_scopes(uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor, root: Actor, now: datetime) -> None:
    assert admin.pipeline_scope(uow, ana, None, None, now=now).team_id == ana.team_id
    assert admin.pipeline_scope(uow, ana, "mine", None, now=now).owner_ids == [ana.user_id]
    assert admin.pipeline_scope(uow, mia, None, "UANA", now=now).owner_ids == [ana.user_id]
    assert admin.pipeline_scope(uow, root, None, None, now=now).owner_ids is None
    assert admin.pipeline_scope(uow, root, None, None, now=now).team_id is None
    with pytest.raises(NotAllowed, match="another team"):
        admin.pipeline_scope(uow, ana, None, "UBOB", now=now)
    with pytest.raises(InvalidInput, match="not a scope"):
        admin.pipeline_scope(uow, ana, "everyone", None, now=now)


# -- settings ------------------------------------------------------------------------------------


def test_settings_are_saved_together(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    saved = setup.update_workspace_settings(uow, root, now=now, default_currency="eur", locale="tr",
                                            digest_weekday="4", digest_time="08:30", hot_lead_threshold="80",
                                            quiet_start="21:00", quiet_end="07:00")
    assert (saved.default_currency, saved.locale, saved.digest_weekday, saved.hot_lead_threshold) == (
        "EUR", "tr", 4, 80)


@pytest.mark.parametrize("field,value", [("default_currency", "euro"), ("locale", "fr"), ("digest_weekday", "x"),
                                         ("digest_time", "25:00"), ("hot_lead_threshold", "0"),
                                         ("hot_lead_threshold", "lots"), ("quiet_end", "7")])
def test_a_bad_setting_names_its_field_and_saves_nothing(uow: UnitOfWork, root: Actor, now: datetime,
                                                         field: str, value: str) -> None:
    good = {"default_currency": "EUR", "locale": "en", "digest_weekday": "0", "digest_time": "09:00",
            "hot_lead_threshold": "70", "quiet_start": "20:00", "quiet_end": "08:00"}
    with pytest.raises(InvalidInput) as err:
        setup.update_workspace_settings(uow, root, now=now, **{**good, field: value})
    assert err.value.field == field
    with uow.read() as s:
        assert s.scalar(select(Workspace.default_currency)) == "USD"


def test_only_admins_change_settings(uow: UnitOfWork, mia: Actor, now: datetime) -> None:
    with pytest.raises(NotAllowed):
        setup.update_workspace_settings(uow, mia, now=now, default_currency="EUR", locale="en", digest_weekday=0,
                                        digest_time="09:00", hot_lead_threshold=70, quiet_start="20:00",
                                        quiet_end="08:00")


# -- stages ----------------------------------------------------------------------------------------


def stage_rows(uow: UnitOfWork) -> list[tuple[object, ...]]:
    with uow.read() as s:
        return [tuple(r) for r in s.execute(select(Stage.name, Stage.position, Stage.probability,
                                                   Stage.rotting_days).order_by(Stage.position))]


def test_stages_are_replaced_in_order_with_won_and_lost_kept(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    stages = setup.update_pipeline_stages(
        uow, root, "Qualified, 30%, 10 days\nDiscovery | 15\n\nProposal; 60%; 5d", now=now)
    assert [(s.name, s.probability, s.rotting_days) for s in stages] == [
        ("Qualified", 30, 10), ("Discovery", 15, 14), ("Proposal", 60, 5), ("Won", 100, 0), ("Lost", 0, 0)]
    assert [r[1] for r in stage_rows(uow)] == [0, 1, 2, 3, 4]
    assert setup.open_stage_names(uow, root) == ["Qualified", "Discovery", "Proposal"]


def test_a_stage_holding_deals_cannot_be_removed(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    deals.create_deal(uow, root, title="Acme", stage="Negotiation", now=now)
    before = stage_rows(uow)
    with pytest.raises(InvalidInput, match="Negotiation still holds 1 deal"):
        setup.update_pipeline_stages(uow, root, "Prospecting, 10%\nQualified, 25%", now=now)
    assert stage_rows(uow) == before


@pytest.mark.parametrize("text,message", [("", "at least one"), ("Prospecting", "Name, probability"),
                                          ("A, 101%", "0 to 100"), ("A, 10%, 0", "rotting days"),
                                          ("A, 10\na, 20", "twice"), ("Won, 100", "always there")])
def test_bad_stage_lines_are_refused_with_the_line(uow: UnitOfWork, root: Actor, now: datetime, text: str,
                                                   message: str) -> None:
    before = stage_rows(uow)
    with pytest.raises(InvalidInput, match=message):
        setup.update_pipeline_stages(uow, root, text, now=now)
    assert stage_rows(uow) == before


def test_only_admins_edit_stages(uow: UnitOfWork, mia: Actor, now: datetime) -> None:
    with pytest.raises(NotAllowed):
        setup.update_pipeline_stages(uow, mia, "A, 10%", now=now)


def test_a_stage_is_renamed_with_its_deals(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    deal = deals.create_deal(uow, root, title="Acme", stage="Qualified", now=now)
    stages = setup.update_pipeline_stages(
        uow, root, "Prospecting, 10%\nQualified -> Discovery, 30%\nProposal -> Qualified, 50%\nNegotiation, 75%",
        now=now)
    assert [s.name for s in stages] == ["Prospecting", "Discovery", "Qualified", "Negotiation", "Won", "Lost"]
    assert deals.get_deal(uow, root, deal.ref).stage == "Discovery"
    with pytest.raises(InvalidInput, match='no open stage "Nope"'):
        setup.update_pipeline_stages(uow, root, "Nope -> Yes, 10%", now=now)
    with pytest.raises(InvalidInput, match="rename as"):
        setup.update_pipeline_stages(uow, root, " -> Yes, 10%", now=now)
