"""Lead routing: territory rules pick a team, round-robin picks a rep (skipping full or away reps).

Territories live in the rules file (core.leads.rules, section `territories`): the first
territory whose conditions all hold names the lead's team; no match means the first team
created. `route_unclaimed` (the `route-leads` job) hands hot leads nobody claimed within the
workspace's claim window to the next rep of that team, and DMs them through the outbox.
The round-robin position is a row (workspace_configs "routing_state"), so any replica can
run the job and a restart does not send the next three leads to the same rep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.i18n import _, ngettext
from core.leads.hot import OPEN_STATUSES
from core.leads.rules import load_rules
from core.notify import outbox
from core.notify.preferences import HOT_LEADS, away_user_ids, destination, is_muted, prefs_of
from core.tables import Lead, LeadStatus, Team, User, Workspace, WorkspaceConfig
from core.text import loose_key

STATE_CONFIG = "routing_state"


@dataclass(frozen=True)
class Routed:
    lead_ref: str
    user_id: int | None
    team_id: int | None


def territory_matches(territory: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    """Do all of a territory's conditions hold for a lead?"""
    for key, expected in territory.items():
        if key == "team":
            continue
        if key in ("employees_gte", "employees_lt"):
            employees = fields.get("employees")
            if employees is None:
                return False
            if key == "employees_gte" and not employees >= expected:
                return False
            if key == "employees_lt" and not employees < expected:
                return False
            continue
        value = fields.get(key)
        if value is None or str(value).strip().casefold() not in expected:
            return False
    return True


_TEAM_TABLE = cast(Table, Team.__table__)
_TEAMS = (
    select(_TEAM_TABLE.c.id, _TEAM_TABLE.c.name)
    .where(_TEAM_TABLE.c.workspace_id == bindparam("ws"))
    .order_by(_TEAM_TABLE.c.id)
)


class TeamPicker:
    """Territories and teams loaded once, for picking the team of many leads."""

    def __init__(
        self,
        session: Session,
        workspace_id: int,
        rules: Mapping[str, Any] | None = None,
        teams: Sequence[tuple[int, str]] | None = None,
    ) -> None:
        """`teams`: the workspace's (id, name) in the order they were created, when already read."""
        rules = rules if rules is not None else load_rules(session, workspace_id)
        self.territories = list(rules.get("territories", []))
        rows = teams if teams is not None else session.connection().execute(_TEAMS, {"ws": workspace_id})
        self.by_name: dict[str, int] = {}
        self.first: int | None = None
        for team_id, name in rows:
            self.by_name.setdefault(loose_key(name, "tr"), int(team_id))  # any case, Turkish İ/ı too
            if self.first is None:
                self.first = int(team_id)

    def pick(self, fields: Mapping[str, Any]) -> int | None:
        """The team a lead belongs to: its territory's, else the first team created (None: no teams)."""
        for territory in self.territories:
            if territory_matches(territory, fields):
                team_id: int | None = self.by_name.get(loose_key(str(territory.get("team", "")), "tr"))
                if team_id is not None:
                    return team_id
        return self.first


def team_for(session: Session, workspace_id: int, fields: Mapping[str, Any]) -> int | None:
    """The team a lead belongs to: its territory's, else the first team created (None: no teams)."""
    return TeamPicker(session, workspace_id).pick(fields)


def open_lead_counts(session: Session, workspace_id: int) -> dict[int, int]:
    """Open leads per owner (for the capacity check)."""
    rows = session.execute(
        select(Lead.owner_id, func.count())
        .where(Lead.workspace_id == workspace_id, Lead.owner_id.is_not(None), Lead.status.in_(OPEN_STATUSES))
        .group_by(Lead.owner_id)
    ).all()
    return {int(owner): int(n) for owner, n in rows if owner is not None}


def _state(session: Session, workspace_id: int, now: datetime) -> WorkspaceConfig:
    cfg = session.scalar(
        select(WorkspaceConfig).where(
            WorkspaceConfig.workspace_id == workspace_id, WorkspaceConfig.name == STATE_CONFIG
        )
    )
    if cfg is None:
        cfg = WorkspaceConfig(workspace_id=workspace_id, name=STATE_CONFIG, data={}, updated_at=now)
        session.add(cfg)
        session.flush()
    return cfg


def next_rep(session: Session, workspace_id: int, team_id: int, now: datetime) -> User | None:
    """The next rep of a team in turn, skipping away reps and reps at their open-lead limit."""
    members = list(
        session.scalars(
            select(User).where(User.workspace_id == workspace_id, User.team_id == team_id).order_by(User.id)
        )
    )
    counts = open_lead_counts(session, workspace_id)
    away = away_user_ids(session, workspace_id, now)  # away until a date (preferences), or flagged away
    available = [
        u
        for u in members
        if u.slack_id and u.id not in away and not u.is_away
        and (u.max_open_leads is None or counts.get(u.id, 0) < u.max_open_leads)
    ]
    if not available:
        return None
    state = _state(session, workspace_id, now)
    last = int(state.data.get(str(team_id), 0))
    chosen = next((u for u in available if u.id > last), available[0])
    state.data = {**state.data, str(team_id): chosen.id}
    state.updated_at = now
    return chosen


class Why(dict[str, Any]):
    """Why a lead went to someone, as data: rendered in the recipient's language by `why_text`."""


def assigned_by(name: str) -> Why:
    return Why(kind="assigned_by", name=name)


def unclaimed_for(minutes: int) -> Why:
    return Why(kind="unclaimed", minutes=minutes)


def why_text(data: Mapping[str, Any]) -> str:
    """The `why` of a lead_assigned payload in the current language ("assigned by Ana",
    "atayan: Ana"); payloads queued before it was structured carry the English text."""
    why = data.get("why_data")
    if isinstance(why, Mapping):
        if why.get("kind") == "assigned_by":
            return _("assigned by {name}").format(name=why.get("name", ""))
        if why.get("kind") == "unclaimed":
            minutes = int(why.get("minutes", 0))
            return ngettext("nobody claimed it within {n} minute", "nobody claimed it within {n} minutes",
                            minutes).format(n=minutes)
    return str(data.get("why") or _("assigned"))


def _english_why(why: str | Mapping[str, Any]) -> str:
    if isinstance(why, str):
        return why
    if why.get("kind") == "assigned_by":
        return f"assigned by {why.get('name', '')}"
    minutes = int(why.get("minutes", 0))
    return f"nobody claimed it within {minutes} minute{'s' if minutes != 1 else ''}"


def assignment_payload(lead: Lead, user: User, why: str | Mapping[str, Any]) -> dict[str, Any]:
    """Plain data of the "a lead is yours" DM (rendered by the bot's `lead_assigned` view).

    `why` is data (assigned_by / unclaimed_for) so the recipient reads it in their language
    (`why_text`); "why" keeps the English for renderers that read it directly."""
    return {
        "view": "lead_assigned",
        "data": {
            "lead_id": lead.id,
            "ref": lead.ref,
            "name": lead.name,
            "company": lead.company,
            "email": lead.email,
            "score": lead.score,
            "reasons": list(lead.score_reasons or [])[:3],
            "why": _english_why(why),
            "why_data": None if isinstance(why, str) else dict(why),
            # Whom the DM was for: refreshed later (core.notify.cards), it says when the lead moved on.
            "assignee": user.slack_id,
        },
    }


def notify_assignee(session: Session, lead: Lead, user: User, why: str | Mapping[str, Any], now: datetime) -> None:
    """Queue the assignee's DM (once per lead and owner), as their preferences say: not when
    they muted hot leads; in their channel when they chose one."""
    mine = prefs_of(session, [user.id]).get(user.id)
    if user.slack_id and not is_muted(mine, HOT_LEADS):
        ws = session.get_one(Workspace, lead.workspace_id)
        channel = destination(ws, user, mine)
        outbox.enqueue(
            session,
            lead.workspace_id,
            f"lead-assigned:{lead.id}:{user.id}:{now.isoformat()}",
            "lead_assigned",
            channel,
            assignment_payload(lead, user, why),
            now,
        )


def route_unclaimed(uow: UnitOfWork, now: datetime) -> list[Routed]:
    """The `route-leads` job: assign hot leads nobody claimed within their workspace's claim window."""
    routed: list[Routed] = []
    with uow.transaction() as session:
        for ws in session.scalars(select(Workspace)).all():
            cutoff = now - timedelta(minutes=ws.claim_window_minutes)
            leads = session.scalars(
                select(Lead)
                .where(
                    Lead.workspace_id == ws.id,
                    Lead.hot.is_(True),
                    Lead.owner_id.is_(None),
                    Lead.status == LeadStatus.NEW,
                    Lead.hot_since <= cutoff,
                )
                .order_by(Lead.hot_since, Lead.id)
            ).all()
            for lead in leads:
                team_id = lead.team_id or team_for(session, ws.id, {})
                rep = next_rep(session, ws.id, team_id, now) if team_id is not None else None
                if rep is None:
                    routed.append(Routed(lead.ref, None, team_id))
                    continue
                # Conditional, like a click: a Claim racing this job keeps its win.
                won = session.execute(
                    update(Lead)
                    .where(Lead.id == lead.id, Lead.owner_id.is_(None))
                    .values(owner_id=rep.id, status=LeadStatus.ASSIGNED, claimed_at=now, updated_at=now)
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
                if won:
                    session.refresh(lead)
                    notify_assignee(session, lead, rep, unclaimed_for(ws.claim_window_minutes), now)
                    routed.append(Routed(lead.ref, rep.id, team_id))
    return routed
