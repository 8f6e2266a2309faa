"""Users, the acting user of a request (`Actor`), and who may do what (SPEC section 7)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import NotAllowed, UnknownUser
from core.i18n import _
from core.tables import Role, Team, User, Workspace
from core.text import casefold_for_match, is_turkish
from core.workspace.workspaces import get_or_create_workspace


@dataclass(frozen=True)
class Actor:
    """Who is acting, with what they need for permissions, parsing and display."""

    workspace_id: int
    user_id: int
    role: Role
    team_id: int | None = None
    managed_team_ids: frozenset[int] = field(default_factory=frozenset)
    tz: str = "UTC"
    locale: str = "en"
    currency: str = "USD"
    slack_id: str | None = None
    name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role in (Role.MANAGER, Role.ADMIN) or bool(self.managed_team_ids)

    def manages_team(self, team_id: int | None) -> bool:
        if self.is_admin:
            return True
        return team_id is not None and team_id in self.managed_team_ids


def can_change_owned(actor: Actor, owner_id: int | None, owner_team_id: int | None) -> bool:
    """Reps change their own records; managers also their team's; admins all."""
    if actor.is_admin or (owner_id is not None and owner_id == actor.user_id):
        return True
    return actor.manages_team(owner_team_id)


def require_can_change(actor: Actor, owner: User | None, what: str) -> None:
    """Raise NotAllowed, saying why, unless the actor may change a record owned by `owner`."""
    if can_change_owned(actor, owner.id if owner else None, owner.team_id if owner else None):
        return
    if owner is None:
        raise NotAllowed(_("You can't change {what}: it has no owner. Reps change their own, managers their "
                           "team's.").format(what=what))
    raise NotAllowed(
        _("You can't change {what}: it is {owner}'s. Reps change their own, managers their team's.").format(
            what=what, owner=owner.name)
    )


def require_admin(actor: Actor, what: str) -> None:
    """NotAllowed unless an admin; `what` is an action marked with N_() ("create teams"), translated here."""
    if not actor.is_admin:
        raise NotAllowed(_("Only admins can {what}.").format(what=_(what)))


def require_manager_of(actor: Actor, team: Team, what: str) -> None:
    """NotAllowed unless the team's manager or an admin; `what` as for require_admin."""
    if not actor.manages_team(team.id):
        raise NotAllowed(_("Only admins and the manager of {team} can {what}.").format(team=team.name, what=_(what)))


def ensure_user(
    session: Session,
    ws: Workspace,
    slack_id: str,
    now: datetime,
    name: str | None = None,
    tz: str | None = None,
    is_slack_admin: bool | None = None,
) -> User:
    """The user for a Slack id, created on first contact; profile fields refreshed when given."""
    user = session.scalar(select(User).where(User.workspace_id == ws.id, User.slack_id == slack_id))
    if user is None:
        try:
            with session.begin_nested():
                user = User(
                    workspace_id=ws.id,
                    slack_id=slack_id,
                    name=name or slack_id,
                    tz=tz or ws.timezone,
                    role=Role.ADMIN if is_slack_admin else Role.REP,
                    is_slack_admin=bool(is_slack_admin),
                    created_at=now,
                )
                session.add(user)
                session.flush()
        except IntegrityError:
            user = session.scalar(select(User).where(User.workspace_id == ws.id, User.slack_id == slack_id))
            assert user is not None
    if name:
        user.name = name
    if tz:
        user.tz = tz
    if is_slack_admin is not None:
        user.is_slack_admin = is_slack_admin
        if is_slack_admin:
            user.role = Role.ADMIN  # Slack admins and owners are admins here from the start.
    return user


def actor_of(session: Session, user: User) -> Actor:
    """Build the Actor for a user row."""
    ws = session.get(Workspace, user.workspace_id)
    assert ws is not None
    managed = frozenset(
        session.scalars(select(Team.id).where(Team.workspace_id == ws.id, Team.manager_id == user.id))
    )
    if user.role == Role.MANAGER and user.team_id is not None:
        managed = managed | {user.team_id}
    return Actor(
        workspace_id=ws.id,
        user_id=user.id,
        role=user.role,
        team_id=user.team_id,
        managed_team_ids=managed,
        tz=user.tz or ws.timezone,
        locale=user.locale or ws.locale,
        currency=ws.default_currency,
        slack_id=user.slack_id,
        name=user.name,
    )


# Who a Slack user is, in one round trip of plain rows (no ORM objects): it runs before every
# acknowledgement. One row per team the user manages (or one with NULL), hence the outer join.
_ACTOR_BY_SLACK_ID = (
    select(
        User.id, User.role, User.team_id, User.tz, User.locale, User.slack_id, User.name, User.refreshed_at,
        Workspace.id, Workspace.timezone, Workspace.locale, Workspace.default_currency, Team.id,
    )
    .join(Workspace, Workspace.id == User.workspace_id)
    .outerjoin(Team, and_(Team.workspace_id == User.workspace_id, Team.manager_id == User.id))
    .where(Workspace.team_id == bindparam("team"), User.slack_id == bindparam("slack_id"))
)


def actor_by_slack_id(session: Session, team_id: str, slack_id: str) -> tuple[Actor, datetime | None] | None:
    """(the Actor, when its Slack profile was last refreshed) for a Slack user; None if unknown.

    The same Actor as actor_of, read without loading ORM objects.
    """
    rows = session.execute(_ACTOR_BY_SLACK_ID, {"team": team_id, "slack_id": slack_id}).all()
    if not rows:
        return None
    (user_id, role, user_team_id, tz, locale, user_slack_id, name, refreshed_at,
     ws_id, ws_tz, ws_locale, currency, __) = rows[0]
    role = Role(role)
    managed = frozenset(int(row[12]) for row in rows if row[12] is not None)
    if role == Role.MANAGER and user_team_id is not None:
        managed = managed | {user_team_id}
    actor = Actor(
        workspace_id=ws_id, user_id=user_id, role=role, team_id=user_team_id, managed_team_ids=managed,
        tz=tz or ws_tz, locale=locale or ws_locale, currency=currency, slack_id=user_slack_id, name=name,
    )
    return actor, refreshed_at


def actor_for(
    session: Session,
    team_id: str,
    slack_id: str,
    now: datetime,
    name: str | None = None,
    tz: str | None = None,
    is_slack_admin: bool | None = None,
    workspace_locale: str | None = None,
) -> Actor:
    """Workspace and user created on first contact; returns the Actor for this request.

    `workspace_locale` is the language a workspace created now starts with (SALESBOT_LOCALE).
    """
    ws = get_or_create_workspace(session, team_id, now, locale=workspace_locale)
    user = ensure_user(session, ws, slack_id, now, name=name, tz=tz, is_slack_admin=is_slack_admin)
    session.flush()
    return actor_of(session, user)


def user_by_slack_id(session: Session, workspace_id: int, slack_id: str) -> User:
    user = session.scalar(select(User).where(User.workspace_id == workspace_id, User.slack_id == slack_id))
    if user is None:
        raise UnknownUser(slack_id)
    return user


def owner_by_name(session: Session, workspace_id: int, name: str, now: datetime) -> User:
    """An owner known by name only (from an import), created unlinked if new.

    In a Turkish workspace the name matches by Turkish case rules: "IŞIL İNCE" and "Işıl İnce"
    are one owner. Elsewhere the name matches exactly, as it always has."""
    name = name.strip()
    user = session.scalar(select(User).where(User.workspace_id == workspace_id, User.import_name == name))
    locale = session.scalar(select(Workspace.locale).where(Workspace.id == workspace_id)) if user is None else None
    if user is None and is_turkish(locale or "en"):
        key = casefold_for_match(name, locale)
        user = next((u for u in session.scalars(
            select(User).where(User.workspace_id == workspace_id, User.import_name.is_not(None)).order_by(User.id))
            if casefold_for_match(u.import_name or "", locale or "en") == key), None)
    if user is None:
        user = User(workspace_id=workspace_id, import_name=name, name=name, created_at=now)
        session.add(user)
        session.flush()
    return user


def display_names(uow: UnitOfWork, team_id: str) -> dict[str, str]:
    """User id -> name, for the workspace's users who have a user id and a name of their own."""
    with uow.read() as session:
        rows = session.execute(
            select(User.slack_id, User.name)
            .join(Workspace, Workspace.id == User.workspace_id)
            .where(Workspace.team_id == team_id, User.slack_id.is_not(None))
        ).all()
    return {uid: name for uid, name in rows if uid and name and name != uid}
