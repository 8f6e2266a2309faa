"""The demo org: a workspace filled with the Maven "CRM Sales Opportunities" data set.

8,800 deals of 30 reps in 6 teams (core/deals/demo_data/crm-sales-opportunities, see its
SOURCE.md), shipped beside this module as package data. Used by `salesbot console --demo`,
the analytics tests and anyone who wants a realistic pipeline without typing one in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from core.db import UnitOfWork
from core.deals.import_rows import ImportReport
from core.deals.importer import import_deals
from core.tables import Role, Team, User, Workspace
from core.workspace.workspaces import get_or_create_workspace

DEMO_DIR = Path(__file__).resolve().parent / "demo_data" / "crm-sales-opportunities"


def demo_data_dir() -> Path:
    """The shipped Maven files (package data of core.deals, also in a wheel)."""
    return DEMO_DIR


def load_demo_org(uow: UnitOfWork, team_id: str, now: datetime) -> ImportReport:
    """Create (or refresh) workspace `team_id` with the Maven pipeline, teams and list prices.

    Idempotent: a second call finds every deal unchanged. Stages missing from the default
    pipeline (Maven's "Engaging") are added before Won.
    """
    data = demo_data_dir()
    with uow.transaction() as session:
        ws = get_or_create_workspace(session, team_id, now, name="Demo (Maven CRM)")
        return import_deals(
            uow,
            ws.id,
            data / "sales_pipeline.csv",
            now=now,
            teams_csv=data / "sales_teams.csv",
            products_csv=data / "products.csv",
            create_stages=True,
        )


# A Monday inside the data (its last full quarter), where the demo's figures are all live.
DEMO_NOW = datetime(2017, 9, 25, 13, 0, tzinfo=UTC)
# Whom `salesbot console --demo` acts as unless told otherwise: a manager with a full team.
DEMO_MANAGER = "Dustin Brinkmann"
# The rep the first screen suggests: the data's top seller.
DEMO_REP = "Darcel Schlecht"
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,}")


@dataclass(frozen=True)
class DemoUser:
    """A person of the demo data, with the Slack id the demo gives them."""

    slack_id: str
    name: str
    role: Role
    team: str | None


def demo_slack_id(name: str) -> str:
    """The Slack id the demo gives an imported person: U and their name's letters, upper case."""
    return "U" + "".join(ch for ch in name.upper() if ch.isascii() and ch.isalnum())


def demo_users(uow: UnitOfWork, team_id: str) -> list[DemoUser]:
    """The demo's people (every owner and manager imported by name), managers first, by name."""
    with uow.read() as session:
        rows = session.execute(
            select(User, Team.name)
            .join(Workspace, Workspace.id == User.workspace_id)
            .outerjoin(Team, Team.id == User.team_id)
            .where(Workspace.team_id == team_id, User.import_name.is_not(None))
        ).all()
    people = [
        DemoUser(user.slack_id or demo_slack_id(user.import_name or user.name), user.name, user.role, team)
        for user, team in rows
    ]
    return sorted(people, key=lambda p: (p.role != Role.MANAGER, p.name))


def claim_demo_user(uow: UnitOfWork, team_id: str, who: str) -> DemoUser | None:
    """The demo person `who` names (their name in any case, or their demo Slack id), given that
    Slack id so one can act as them; None when `who` names nobody of the demo."""
    wanted = who.strip()
    as_id = wanted.upper() if _SLACK_ID.fullmatch(wanted.upper()) else None
    with uow.transaction() as session:
        users = session.scalars(
            select(User)
            .join(Workspace, Workspace.id == User.workspace_id)
            .where(Workspace.team_id == team_id, User.import_name.is_not(None))
        ).all()
        for user in users:
            own_id = user.slack_id or demo_slack_id(user.import_name or user.name)
            if (user.import_name or "").lower() == wanted.lower() or own_id == as_id:
                if user.slack_id is None:
                    user.slack_id = own_id
                    session.flush()
                team = session.get(Team, user.team_id) if user.team_id is not None else None
                return DemoUser(own_id, user.name, user.role, team.name if team else None)
    return None
