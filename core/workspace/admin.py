"""Workspace administration: teams, roles, imported owners, and who sees which pipeline.

Admins do everything here; a manager may add people to, and set the channel of, a team they
manage (SPEC section 7). Settings and stages are in core/workspace/setup.py. Every function
takes `now` and checks permission before it changes anything; a refusal says why and
changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import InvalidInput, NotAllowed, NotFound
from core.i18n import N_, _
from core.tables import Activity, Deal, DealChange, Lead, Quota, Reminder, Role, Team, User, Workspace
from core.text import matching, sort_key
from core.workspace.users import Actor, ensure_user, require_admin, require_manager_of

MAX_TEAM_NAME = 100


@dataclass(frozen=True)
class TeamMove:
    """Someone `team add` took out of another team."""

    slack_id: str
    name: str
    from_team: str


@dataclass(frozen=True)
class TeamView:
    """A team: its manager, channel and members (and whom the last `team add` moved from elsewhere)."""

    id: int
    name: str
    manager_slack_id: str | None
    manager_name: str | None
    channel_id: str | None
    member_slack_ids: tuple[str, ...]
    imported_members: tuple[str, ...] = ()  # owners known only by name from an import, not yet linked
    moved: tuple[TeamMove, ...] = ()


@dataclass(frozen=True)
class Scope:
    """Whose pipeline to show: some owners, a team, or the whole workspace (both None)."""

    label: str
    owner_ids: list[int] | None = None
    team_id: int | None = None


@dataclass(frozen=True)
class LinkResult:
    """What linking an imported owner moved, by kind."""

    user_slack_id: str
    import_name: str
    deals: int
    activities: int
    reminders: int
    leads: int


# -- people and teams -----------------------------------------------------------------------


def _member(session: Session, workspace_id: int, slack_id: str, now: datetime) -> User:
    ws = session.get_one(Workspace, workspace_id)
    return ensure_user(session, ws, slack_id, now)


def member_id(uow: UnitOfWork, actor: Actor, slack_id: str, now: datetime) -> int:
    """The user id of a Slack user named in a command (created on this first mention)."""
    with uow.transaction() as session:
        return _member(session, actor.workspace_id, slack_id, now).id


def team_named(session: Session, workspace_id: int, name: str) -> Team:
    """The team of that name (any case, by the reader's case rules: "İstanbul" is "istanbul");
    NotFound listing the teams there are."""
    teams = list(session.scalars(select(Team).where(Team.workspace_id == workspace_id).order_by(Team.id)))
    found = matching(teams, name.strip(), lambda t: t.name)
    if not found:
        names = ", ".join(t.name for t in sorted(teams, key=lambda t: sort_key(t.name))) or _("none yet")
        raise NotFound(_('There is no team "{name}". Teams: {teams}.').format(name=name, teams=names), field="team")
    return found[0]


def _team_view(session: Session, team: Team, moved: tuple[TeamMove, ...] = ()) -> TeamView:
    rows = sorted(
        session.execute(select(User.slack_id, User.name).where(User.team_id == team.id).order_by(User.id)).all(),
        key=lambda row: sort_key(row[1] or ""),
    )
    members = tuple(slack_id for slack_id, __ in rows if slack_id)
    imported = tuple(name for slack_id, name in rows if not slack_id)
    manager = session.get(User, team.manager_id) if team.manager_id else None
    return TeamView(team.id, team.name, manager.slack_id if manager else None, manager.name if manager else None,
                    team.channel_id, members, imported, moved)


def list_teams(uow: UnitOfWork, actor: Actor, name: str | None = None) -> list[TeamView]:
    """The teams the actor may see, by name: admins all; others the teams they manage or belong to.

    With `name`, only that team (NotFound when there is none of that name the actor may see).
    """
    with uow.read() as session:
        q = select(Team).where(Team.workspace_id == actor.workspace_id)
        if not actor.is_admin:
            mine = set(actor.managed_team_ids) | ({actor.team_id} if actor.team_id is not None else set())
            q = q.where(Team.id.in_(sorted(mine)))
        name = " ".join((name or "").split())
        teams = sorted(session.scalars(q.order_by(Team.id)).all(), key=lambda t: sort_key(t.name))
        if name:
            teams = matching(teams, name, lambda t: t.name)
        if name and not teams:
            raise NotFound(_('There is no team "{name}" that you can see. `/salesbot team list` shows yours.').format(
                name=name), field="team")
        return [_team_view(session, team) for team in teams]


def create_team(uow: UnitOfWork, actor: Actor, name: str, manager_slack_id: str, *, now: datetime) -> TeamView:
    """A new team with its manager (who becomes a manager, and a member of it)."""
    require_admin(actor, N_("create teams"))
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Name the team, e.g. `/salesbot team create East @mia`."), field="team")
    if len(name) > MAX_TEAM_NAME:
        raise InvalidInput(_("Team names go up to {limit} characters.").format(limit=MAX_TEAM_NAME), field="team")
    with uow.transaction() as session:
        existing = session.scalars(select(Team).where(Team.workspace_id == actor.workspace_id)).all()
        if matching(existing, name, lambda t: t.name):
            raise InvalidInput(_('There is already a team "{name}".').format(name=name), field="team")
        manager = _member(session, actor.workspace_id, manager_slack_id, now)
        team = Team(workspace_id=actor.workspace_id, name=name, manager_id=manager.id, created_at=now)
        session.add(team)
        session.flush()
        if manager.role == Role.REP:
            manager.role = Role.MANAGER
        manager.team_id = team.id
        session.flush()
        return _team_view(session, team)


def add_to_team(uow: UnitOfWork, actor: Actor, name: str, slack_ids: list[str], *, now: datetime) -> TeamView:
    """Move people into a team (admins; the team's manager for their own team)."""
    if not slack_ids:
        raise InvalidInput(_("Who? Mention them: `/salesbot team add East @ana @bob`."), field="users")
    with uow.transaction() as session:
        team = team_named(session, actor.workspace_id, name)
        require_manager_of(actor, team, _("add people to {team}").format(team=team.name))
        moved: list[TeamMove] = []
        for slack_id in dict.fromkeys(slack_ids):
            user = _member(session, actor.workspace_id, slack_id, now)
            if user.team_id not in (None, team.id):
                if not actor.is_admin:
                    raise NotAllowed(_("{name} is in another team; only an admin can move them.").format(
                        name=user.name))
                old = session.get_one(Team, user.team_id)
                moved.append(TeamMove(slack_id, user.name, old.name))
            user.team_id = team.id
        session.flush()
        return _team_view(session, team, tuple(moved))


def set_team_channel(uow: UnitOfWork, actor: Actor, name: str, channel_id: str, *, now: datetime) -> TeamView:
    """The channel for a team's digest and hot-lead alerts."""
    if not channel_id:
        raise InvalidInput(_("Which channel? `/salesbot team channel East #sales-east`."), field="channel")
    with uow.transaction() as session:
        team = team_named(session, actor.workspace_id, name)
        require_manager_of(actor, team, _("set the channel of {team}").format(team=team.name))
        team.channel_id = channel_id
        session.flush()
        return _team_view(session, team)


def set_role(uow: UnitOfWork, actor: Actor, slack_id: str, role: str, *, now: datetime) -> Role:
    """Make someone a rep, manager or admin (admins only; an admin cannot demote themself)."""
    require_admin(actor, N_("change roles"))
    try:
        new_role = Role((role or "").strip().lower())
    except ValueError:
        raise InvalidInput(_('"{role}" is not a role; use rep, manager or admin.').format(role=role),
                           field="role") from None
    with uow.transaction() as session:
        user = _member(session, actor.workspace_id, slack_id, now)
        if user.id == actor.user_id and new_role != Role.ADMIN:
            raise NotAllowed(_("You can't take away your own admin role; ask another admin."))
        user.role = new_role
        session.flush()
        return new_role


def link_import_owner(uow: UnitOfWork, actor: Actor, import_name: str, slack_id: str, *, now: datetime) -> LinkResult:
    """Tie an owner known only by name (from an import) to a Slack user, merging the two.

    Deals, activities, reminders, leads, history, quotas and managed teams of the imported
    owner move to the Slack user, who keeps their own role and team (or takes the imported
    owner's team when they have none). Future imports with that name map to them.
    """
    require_admin(actor, N_("link imported owners"))
    name = (import_name or "").strip()
    if not name:
        raise InvalidInput(_('Give the name as it was imported: `/salesbot link "Anna Smith" @ana`.'), field="name")
    with uow.transaction() as session:
        target = _member(session, actor.workspace_id, slack_id, now)
        imported = session.scalars(
            select(User).where(User.workspace_id == actor.workspace_id, User.import_name.is_not(None)).order_by(User.id)
        ).all()
        found = matching(imported, name, lambda u: u.import_name or "")
        if not found:
            raise NotFound(_('No imported owner is called "{name}". Check the spelling in the import file.').format(
                name=name), field="name")
        source = found[0]
        if source.id == target.id:
            raise InvalidInput(_('"{name}" is already linked to {user}.').format(name=name, user=target.name),
                               field="name")
        if source.slack_id is not None:
            raise InvalidInput(_('"{name}" is already linked to user {user}.').format(name=name, user=source.slack_id),
                               field="name")
        counts = _merge_user(session, source, target)
        session.flush()
        return LinkResult(slack_id, name, counts["deals"], counts["activities"], counts["reminders"], counts["leads"])


def _merge_user(session: Session, source: User, target: User) -> dict[str, int]:
    """Move everything `source` owns to `target`, then delete `source`."""
    counts: dict[str, int] = {}

    def move(model: Any, column: Any, key: str | None = None) -> None:
        result = session.execute(update(model).where(column == source.id).values({column.key: target.id}))
        if key:
            counts[key] = counts.get(key, 0) + int(result.rowcount or 0)  # type: ignore[attr-defined]

    move(Deal, Deal.owner_id, "deals")
    move(Deal, Deal.created_by_id)
    move(Activity, Activity.user_id, "activities")
    move(Reminder, Reminder.user_id, "reminders")
    move(Lead, Lead.owner_id, "leads")
    move(DealChange, DealChange.changed_by_id)
    move(Team, Team.manager_id)
    # A quarter's quota the Slack user already has wins over the imported one.
    taken = set(session.scalars(select(Quota.period).where(Quota.user_id == target.id)))
    for quota in session.scalars(select(Quota).where(Quota.user_id == source.id)):
        if quota.period in taken:
            session.delete(quota)
        else:
            quota.user_id = target.id
    if target.team_id is None and source.team_id is not None:
        target.team_id = source.team_id
    import_name = source.import_name
    session.flush()
    session.delete(source)
    session.flush()
    target.import_name = import_name
    if target.name == target.slack_id and source.name:
        target.name = source.name
    return counts


# -- who sees what ----------------------------------------------------------------------------


def pipeline_scope(uow: UnitOfWork, actor: Actor, word: str | None, slack_id: str | None, *,
                   now: datetime) -> Scope:
    """The scope of `/pipeline [mine|team|@user]`; anyone may read their own team's pipeline.

    Without a word: a manager sees the teams they manage, a rep their team, an admin without
    a team the whole workspace, and anyone else their own deals.
    """
    word = (word or "").strip().lower()
    with uow.transaction() as session:
        if slack_id:
            user = _member(session, actor.workspace_id, slack_id, now)
            allowed = (actor.is_admin or user.id == actor.user_id or actor.manages_team(user.team_id)
                       or (user.team_id is not None and user.team_id == actor.team_id))
            if not allowed:
                raise NotAllowed(_("{name} is in another team; you can see your own team's pipeline.").format(
                    name=user.name))
            return Scope(user.name, owner_ids=[user.id])
        if word == "mine":
            return Scope(_("your deals"), owner_ids=[actor.user_id])
        if word not in ("", "team"):
            raise InvalidInput(_('"{word}" is not a scope: use mine, team or @someone.').format(word=word),
                               field="scope")
        team_ids = sorted(actor.managed_team_ids) if actor.managed_team_ids else (
            [actor.team_id] if actor.team_id is not None else [])
        if team_ids:
            team = session.get_one(Team, team_ids[0])
            if len(team_ids) == 1:
                return Scope(_("team {team}").format(team=team.name), team_id=team.id)
            ids = list(session.scalars(select(User.id).where(User.team_id.in_(team_ids))))
            return Scope(_("your teams"), owner_ids=ids)
        if actor.is_admin:
            return Scope(_("the whole workspace"))
        if word == "team":
            raise InvalidInput(_("You're not in a team yet; an admin can add you with `/salesbot team add`."),
                               field="scope")
        return Scope(_("your deals"), owner_ids=[actor.user_id])
