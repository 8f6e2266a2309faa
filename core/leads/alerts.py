"""Hot-lead alerts: queued in the outbox the moment a lead's score crosses the threshold upward.

One alert per crossing: the key holds the lead and the moment it turned hot, so rescoring a
lead that is already hot queues nothing, and a lead that cools and heats again alerts again.
The alert goes to the lead's team channel, else to the team's manager (a DM).

Bursts: when `alert_burst_size` or more leads of one team turn hot within
`alert_burst_minutes`, they share one grouped message: the new lead joins a grouped message
that is still waiting to be sent, and single alerts of the window not sent yet are folded
into it, so the channel gets one message instead of a flood.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.notify import outbox
from core.notify.preferences import HOT_LEADS, is_muted, prefs_of
from core.tables import Lead, OutboxMessage, OutboxStatus, Team, User, Workspace

HOT_KIND = "hot_lead"
BURST_KIND = "hot_lead_burst"


def alert_target(session: Session, lead: Lead) -> str | None:
    """Where a lead's alert goes: its team's channel, else its manager's DM (None: nowhere)."""
    if lead.team_id is None:
        return None
    team = session.get(Team, lead.team_id)
    if team is None:
        return None
    if team.channel_id:
        return team.channel_id
    if team.manager_id is not None:
        manager = session.get(User, team.manager_id)
        if manager is not None and manager.slack_id:
            # The manager's own preferences: muted hot leads, or their channel instead of the DM.
            mine = prefs_of(session, [manager.id]).get(manager.id)
            if is_muted(mine, HOT_LEADS):
                return None
            return mine.channel_id if mine is not None and mine.channel_id else manager.slack_id
    return None


def lead_card(lead: Lead, team_name: str | None = None) -> dict[str, Any]:
    """Plain data of one hot lead, as the bot's views render it."""
    return {
        "lead_id": lead.id,
        "ref": lead.ref,
        "name": lead.name,
        "company": lead.company,
        "title": lead.title,
        "email": lead.email,
        "score": lead.score,
        "predicted": lead.predicted,
        "reasons": list(lead.score_reasons or [])[:3],
        "team": team_name,
        "hot_since": lead.hot_since.isoformat() if lead.hot_since else None,
    }


LEAD_VIEWS = (HOT_KIND, BURST_KIND, "lead_assigned")
_CURRENT_FIELDS = ("ref", "name", "company", "title", "email", "score", "predicted", "reasons")


def current_payload(session: Session, workspace_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """An outbox payload about leads, with each lead as it is now (read when the message is sent).

    The outbox keeps the data of the moment a lead turned hot; a card delivered later (a 429,
    quiet hours, a retry) shows the lead's score, win probability and reasons at delivery,
    not the stale ones. The moment it turned hot stays (the reasons' "2 days ago" counts from
    it). A lead deleted meanwhile keeps its queued data. Other payloads come back unchanged.
    """
    view = payload.get("view")
    if view not in LEAD_VIEWS:
        return payload
    data = dict(payload.get("data") or {})
    cards = list(data.get("leads") or []) if view == BURST_KIND else [data]
    ids = [int(c["lead_id"]) for c in cards if str(c.get("lead_id", "")).isdigit()]
    rows = {
        lead.id: lead
        for lead in session.scalars(select(Lead).where(Lead.workspace_id == workspace_id, Lead.id.in_(ids)))
    } if ids else {}
    fresh = []
    for card in cards:
        lead = rows.get(int(card["lead_id"])) if str(card.get("lead_id", "")).isdigit() else None
        if lead is not None:
            now_card = lead_card(lead)
            card = {**card, **{k: now_card[k] for k in _CURRENT_FIELDS}}
        fresh.append(card)
    data = {**data, "leads": fresh} if view == BURST_KIND else fresh[0]
    return {**payload, "data": data}


def alert_key(lead: Lead) -> str:
    """The outbox key of a lead's alert: the lead and the moment it turned hot (one per crossing)."""
    assert lead.hot_since is not None
    return f"hot:{lead.id}:{lead.hot_since.isoformat()}"


def on_hot(session: Session, ws: Workspace, lead: Lead, now: datetime) -> str | None:
    """Queue the alert of a lead that just turned hot; return the outbox key used (None: no alert).

    A lead someone already owns raises no alert: there is nothing left to claim.
    """
    if lead.owner_id is not None:
        return None
    channel = alert_target(session, lead)
    if channel is None:
        return None
    team = session.get(Team, lead.team_id) if lead.team_id is not None else None
    card = lead_card(lead, team.name if team else None)
    since = now - timedelta(minutes=ws.alert_burst_minutes)
    recent = list(
        session.scalars(
            select(Lead)
            .where(
                Lead.workspace_id == ws.id,
                Lead.team_id == lead.team_id,
                Lead.hot.is_(True),
                Lead.hot_since >= since,
                Lead.owner_id.is_(None),
            )
            .order_by(Lead.hot_since, Lead.id)
        )
    )
    if len(recent) < ws.alert_burst_size:
        key = alert_key(lead)
        outbox.enqueue(session, ws.id, key, HOT_KIND, channel,
                       {"view": HOT_KIND, "data": card}, now)
        return key
    group = session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.workspace_id == ws.id,
            OutboxMessage.kind == BURST_KIND,
            OutboxMessage.channel == channel,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.attempts == 0,
            OutboxMessage.created_at >= since,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
        .with_for_update()
    )
    cards: list[dict[str, Any]] = []
    # Fold in single alerts of this window that are still waiting.
    for other in recent:
        if other.id != lead.id and outbox.withdraw(session, ws.id, alert_key(other)):
            cards.append(lead_card(other, card["team"]))
    cards.append(card)
    if group is not None:
        data = dict(group.payload.get("data", {}))
        data["leads"] = [*data.get("leads", []), *cards]
        group.payload = {"view": BURST_KIND, "data": data}
        return group.key
    key = f"hot-burst:{lead.team_id}:{lead.id}:{now.isoformat()}"
    outbox.enqueue(
        session,
        ws.id,
        key,
        BURST_KIND,
        channel,
        {"view": BURST_KIND, "data": {"team": card["team"], "window_minutes": ws.alert_burst_minutes, "leads": cards}},
        now,
    )
    return key


def pending_alert_count(session: Session, workspace_id: int) -> int:
    """Hot-lead messages still waiting to be delivered (for tests and the console)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.workspace_id == workspace_id,
                OutboxMessage.kind.in_((HOT_KIND, BURST_KIND)),
                OutboxMessage.status == OutboxStatus.PENDING,
            )
        )
        or 0
    )
