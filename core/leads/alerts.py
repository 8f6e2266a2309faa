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

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from core.notify import outbox
from core.notify.preferences import HOT_LEADS, is_muted, prefs_of
from core.tables import Lead, LeadStatus, OutboxMessage, OutboxStatus, Team, User, Workspace

HOT_KIND = "hot_lead"
BURST_KIND = "hot_lead_burst"
# A grouped message shows at most this many leads (Slack allows 50 blocks) and counts the rest
# in `more`: a flood of thousands (a webhook batch after batch) keeps the payload small.
MAX_BURST_CARDS = 45


def _burst_data(data: dict[str, Any], cards: list[dict[str, Any]]) -> dict[str, Any]:
    """A grouped message's data with `cards` added: the first MAX_BURST_CARDS kept, the rest counted."""
    every = [*data.get("leads", []), *cards]
    kept = every[:MAX_BURST_CARDS]
    return {**data, "leads": kept, "more": int(data.get("more") or 0) + len(every) - len(kept)}


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
    not the stale ones, and where it stands (`status`, the `owner`'s Slack id). The moment it
    turned hot stays (the reasons' "2 days ago" counts from it). A lead deleted meanwhile keeps
    its queued data. Other payloads come back unchanged.
    """
    view = payload.get("view")
    if view not in LEAD_VIEWS:
        return payload
    data = dict(payload.get("data") or {})
    cards = list(data.get("leads") or []) if view == BURST_KIND else [data]
    ids = [int(c["lead_id"]) for c in cards if str(c.get("lead_id", "")).isdigit()]
    rows = {
        lead.id: (lead, owner)
        for lead, owner in session.execute(
            select(Lead, User.slack_id)
            .join(User, User.id == Lead.owner_id, isouter=True)
            .where(Lead.workspace_id == workspace_id, Lead.id.in_(ids))
        ).all()
    } if ids else {}
    fresh = []
    for card in cards:
        found = rows.get(int(card["lead_id"])) if str(card.get("lead_id", "")).isdigit() else None
        if found is not None:
            lead, owner = found
            now_card = lead_card(lead)
            # Where the lead stands now (claimed, converted, not a fit): a card updated in
            # place shows it instead of the buttons that no longer apply.
            card = {**card, **{k: now_card[k] for k in _CURRENT_FIELDS},
                    "status": LeadStatus(lead.status).value, "owner": owner}
        fresh.append(card)
    data = {**data, "leads": fresh} if view == BURST_KIND else fresh[0]
    return {**payload, "data": data}


_TEAM_ALERTS_LOCK = (
    select(Team.id).where(Team.id == bindparam("team")).with_for_update(key_share=True)
)


def _lock_team_alerts(session: Session, team_id: int) -> None:
    """Hold the team's hot-lead alerting until commit (PostgreSQL), so two requests whose leads of
    one team turn hot together do not both fold the same waiting alerts, or both start a grouped
    message. FOR NO KEY UPDATE: new leads of the team (a foreign key check) are not held up.
    SQLite runs one writer at a time already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_TEAM_ALERTS_LOCK, {"team": team_id})


def alert_key(lead: Lead) -> str:
    """The outbox key of a lead's alert: the lead and the moment it turned hot (one per crossing)."""
    assert lead.hot_since is not None
    return f"hot:{lead.id}:{lead.hot_since.isoformat()}"


def _open_burst(session: Session, workspace_id: int, channel: str, since: datetime) -> OutboxMessage | None:
    """The grouped hot-lead message of `channel` still waiting unsent since `since`, locked to add to."""
    return session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.workspace_id == workspace_id,
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


def on_hot(session: Session, ws: Workspace, lead: Lead, now: datetime) -> str | None:
    """Queue the alert of a lead that just turned hot; return the outbox key used (None: no alert).

    A lead someone already owns raises no alert: there is nothing left to claim.
    """
    if lead.owner_id is not None:
        return None
    channel = alert_target(session, lead)
    if channel is None or lead.team_id is None:
        return None
    _lock_team_alerts(session, lead.team_id)
    return _alert(session, ws, lead, channel, now)


def _alert(session: Session, ws: Workspace, lead: Lead, channel: str, now: datetime) -> str:
    """on_hot, once the target is known and the team's alerting is held."""
    team = session.get(Team, lead.team_id)
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
    group = _open_burst(session, ws.id, channel, since)
    cards: list[dict[str, Any]] = []
    # Fold in single alerts of this window that are still waiting.
    for other in recent:
        if other.id != lead.id and outbox.withdraw(session, ws.id, alert_key(other)):
            cards.append(lead_card(other, card["team"]))
    cards.append(card)
    return _add_to_burst(session, ws, channel, group, cards, lead.team_id, lead.id, card["team"], now)


def _add_to_burst(session: Session, ws: Workspace, channel: str, pending: OutboxMessage | None,
                  cards: list[dict[str, Any]], team_id: int | None, first_lead_id: int, team_name: str | None,
                  now: datetime) -> str:
    """Add lead cards to the team's grouped message still waiting, or queue a new one; its key."""
    if pending is not None:
        pending.payload = {"view": BURST_KIND, "data": _burst_data(dict(pending.payload.get("data", {})), cards)}
        return pending.key
    key = f"hot-burst:{team_id}:{first_lead_id}:{now.isoformat()}"
    data = _burst_data({"team": team_name, "window_minutes": ws.alert_burst_minutes}, cards)
    outbox.enqueue(session, ws.id, key, BURST_KIND, channel, {"view": BURST_KIND, "data": data}, now)
    return key


def on_hot_many(session: Session, ws: Workspace, leads: list[Lead], now: datetime) -> None:
    """Queue the alerts of several leads that turned hot at `now` together (a webhook batch).

    The same outcome as `on_hot` lead by lead, in a few queries per team instead of a few per
    lead and per recent hot lead: below the burst size each lead gets its own alert; at or
    above it the team's new hot leads join one grouped message (the pending one of the window,
    else a new one), and single alerts of the window not sent yet are folded into it.
    """
    by_target: dict[tuple[int, str], list[Lead]] = {}
    targets: dict[int, str | None] = {}  # one look-up per team
    # Held here, the teams stay in the session's identity map (it keeps no strong references),
    # so alert_target, on_hot and _burst find them there instead of reading them again.
    teams: dict[int, Team | None] = {}
    for lead in leads:
        if lead.owner_id is not None or lead.team_id is None:
            continue
        if lead.team_id not in targets:
            teams[lead.team_id] = session.get(Team, lead.team_id)
            targets[lead.team_id] = alert_target(session, lead)
        channel = targets[lead.team_id]
        if channel is not None:
            by_target.setdefault((lead.team_id, channel), []).append(lead)
    for team_id in sorted({team_id for team_id, _channel in by_target}):  # one order: no deadlock
        _lock_team_alerts(session, team_id)
    since = now - timedelta(minutes=ws.alert_burst_minutes)
    for (team_id, channel), group in by_target.items():
        recent = session.scalar(
            select(func.count())
            .select_from(Lead)
            .where(
                Lead.workspace_id == ws.id,
                Lead.team_id == team_id,
                Lead.hot.is_(True),
                Lead.hot_since >= since,
                Lead.owner_id.is_(None),
            )
        )
        if int(recent or 0) < ws.alert_burst_size:
            for lead in group:
                _alert(session, ws, lead, channel, now)
            continue
        _burst(session, ws, team_id, channel, group, since, now)


def _burst(
    session: Session, ws: Workspace, team_id: int, channel: str, group: list[Lead], since: datetime, now: datetime
) -> None:
    """Put `group` (new hot leads of one team) and the team's waiting single alerts in one message."""
    team = session.get(Team, team_id)
    team_name = team.name if team else None
    # Single alerts still waiting: few (a burst folds them), so they are checked one by one.
    waiting = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.workspace_id == ws.id,
            OutboxMessage.kind == HOT_KIND,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.created_at >= since,
        )
    ).all()
    mine = {lead.id for lead in group}
    folded: list[Lead] = []
    for message in waiting:
        lead_id = (message.payload.get("data") or {}).get("lead_id")
        other = session.get(Lead, lead_id) if isinstance(lead_id, int) and lead_id not in mine else None
        if (
            other is not None
            and other.workspace_id == ws.id
            and other.team_id == team_id
            and other.hot
            and other.owner_id is None
            and other.hot_since is not None
            and other.hot_since >= since
            and message.key == alert_key(other)
        ):
            folded.append(other)
            session.delete(message)
    folded.sort(key=lambda lead: (lead.hot_since or now, lead.id))
    cards = [lead_card(lead, team_name) for lead in (*folded, *group)]
    _add_to_burst(session, ws, channel, _open_burst(session, ws.id, channel, since), cards, team_id, group[0].id,
                  team_name, now)


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
