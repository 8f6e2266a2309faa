"""Away and back: what a user missed while away, in one summary on return; and what of theirs
goes stale meanwhile, for their manager's digest.

While a user is away (core.notify.preferences: `away_until`, the last day away, in their
zone) the follow-up sweep holds their due reminders and the morning sweep skips them. The day
after, `return_sweep` (run by the `nudges` job before the follow-up sweep) queues ONE summary
listing the follow-ups held and the deals now stale, marks those reminders sent (so they do
not arrive one by one as well), and clears the away date.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.deals.queries import stale_clause
from core.money import from_minor
from core.notify import outbox
from core.notify.local_time import local_date, next_allowed_send
from core.notify.preferences import away_user_ids, destination, window_for
from core.notify.reminders import LIVE
from core.tables import Deal, DealStatus, Reminder, ReminderStatus, Stage, User, UserPrefs, Workspace

MAX_LISTED = 25


def summary_key(user_id: int, away_until: date) -> str:
    """The outbox key of the one welcome-back summary of an absence."""
    return f"away-summary:u{user_id}:{away_until.isoformat()}"


def _deal_line(deal: Deal, stage: Stage, now: datetime) -> dict[str, Any]:
    return {
        "ref": deal.ref, "title": deal.title, "stage": stage.name,
        "amount": None if deal.amount_minor is None else str(from_minor(deal.amount_minor)),
        "currency": deal.currency, "idle_days": (now - deal.last_touch_at).days, "rotting_days": stage.rotting_days,
        "stale_on": (deal.last_touch_at + timedelta(days=stage.rotting_days)).date().isoformat(),
    }


def _stages(session: Session, workspace_id: int) -> list[tuple[int, int]]:
    return [(s.id, s.rotting_days) for s in session.scalars(select(Stage).where(Stage.workspace_id == workspace_id))]


def return_sweep(session: Session, now: datetime) -> int:
    """Queue the one summary of every user whose absence ended; returns how many were queued."""
    rows = session.execute(
        select(UserPrefs, User, Workspace)
        .join(User, User.id == UserPrefs.user_id)
        .join(Workspace, Workspace.id == UserPrefs.workspace_id)
        .where(UserPrefs.away_until.is_not(None))
    ).all()
    queued = 0
    for prefs, user, ws in rows:
        until = prefs.away_until
        if until is None or local_date(now, user.tz) <= until:
            continue  # still away
        held = list(session.scalars(
            select(Reminder)
            .outerjoin(Deal, Deal.id == Reminder.deal_id)
            .where(Reminder.user_id == user.id, Reminder.status.in_(LIVE), Reminder.due_at <= now,
                   or_(Reminder.deal_id.is_(None), Deal.status == DealStatus.OPEN))
            .order_by(Reminder.due_at)
        ))
        stale = session.execute(
            select(Deal, Stage).join(Stage, Stage.id == Deal.stage_id)
            .where(Deal.workspace_id == ws.id, Deal.owner_id == user.id, Deal.status == DealStatus.OPEN,
                   stale_clause(_stages(session, ws.id), now))
            .order_by(Deal.last_touch_at)
        ).all()
        refs = {d.id: d.ref for d in session.scalars(select(Deal).where(Deal.id.in_([r.deal_id for r in held
                                                                                      if r.deal_id])))}
        channel = destination(ws, user, prefs)
        prefs.away_until = None
        prefs.custom_delivery = bool(prefs.muted or prefs.channel_id or prefs.work_days or prefs.work_start)
        prefs.updated_at = now
        user.is_away = False
        if held:
            session.execute(update(Reminder).where(Reminder.id.in_([r.id for r in held]))
                            .values(status=ReminderStatus.SENT, sent_at=now)
                            .execution_options(synchronize_session=False))
        if not channel:
            continue
        data = {
            "rep": {"slack_id": user.slack_id, "name": user.name, "tz": user.tz},
            "away_until": until.isoformat(),
            "held": [{"text": r.text, "due_at": r.due_at.astimezone(UTC).isoformat(),
                      "deal": refs.get(r.deal_id or 0)} for r in held[:MAX_LISTED]],
            "held_total": len(held),
            "stale": [_deal_line(d, s, now) for d, s in stale[:MAX_LISTED]],
            "stale_total": len(stale),
        }
        send_at = next_allowed_send(now, user.tz, window_for(ws, prefs))
        queued += outbox.enqueue(session, ws.id, summary_key(user.id, until), "away_summary", channel,
                                 {"view": "away_summary", "data": data}, now, send_at)
    return queued


def away_reps_at_risk(session: Session, ws: Workspace, team_id: int, now: datetime) -> list[dict[str, Any]]:
    """For a manager's digest: each away rep of the team with their open deals that are stale
    or go stale before they are back."""
    away = away_user_ids(session, ws.id, now)
    if not away:
        return []
    reps = session.execute(
        select(User, UserPrefs.away_until).outerjoin(UserPrefs, UserPrefs.user_id == User.id)
        .where(User.id.in_(away), User.team_id == team_id).order_by(User.name)
    ).all()
    out = []
    for rep, until in reps:
        back = datetime.combine((until or local_date(now, rep.tz)) + timedelta(days=1), time(0), tzinfo=UTC)
        deals = [
            (d, s) for d, s in session.execute(
                select(Deal, Stage).join(Stage, Stage.id == Deal.stage_id)
                .where(Deal.owner_id == rep.id, Deal.status == DealStatus.OPEN, Stage.rotting_days > 0)
                .order_by(Deal.last_touch_at)
            ).all()
            if d.last_touch_at + timedelta(days=s.rotting_days) < back
        ]
        if deals:
            out.append({"name": rep.name, "slack_id": rep.slack_id,
                        "until": until.isoformat() if until else None,
                        "deals": [_deal_line(d, s, now) for d, s in deals[:MAX_LISTED]], "total": len(deals)})
    return out
