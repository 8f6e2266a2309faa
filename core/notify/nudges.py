"""Sweeps that decide who gets nudged: due reminders, and each rep's morning list.

Each sweep is an indexed query over what is due, and writes its messages to the outbox in
the same transaction that records the decision (reminder -> sent, stale_nudges + 1), keyed
by what the message is about and its period. Running a sweep twice, or on two replicas at
once, queues nothing twice. The bot renders the stored data when it delivers.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.deals.queries import stale_clause
from core.money import from_minor
from core.notify import outbox
from core.notify.local_time import SendWindow, morning_due, next_allowed_send
from core.notify.preferences import (
    FOLLOWUPS,
    SLIPPED,
    STALE,
    backoff_step,
    destination,
    ensure_prefs,
    is_muted,
    prefs_of,
    window_for,
)
from core.notify.reminders import has_future_reminder_clause, nudge_key
from core.tables import (
    Deal,
    DealStatus,
    Lead,
    OutboxMessage,
    OutboxStatus,
    Reminder,
    ReminderStatus,
    Stage,
    Team,
    User,
    UserPrefs,
    Workspace,
)

MAX_LISTED = 25  # deals listed in one morning message; the rest are counted
DUE_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"  # the PostgreSQL sweep writes the same text


@dataclass(frozen=True)
class MorningResult:
    """What one morning sweep queued."""

    messages: int
    stale_deals: int
    slipped_deals: int
    escalations: int


def _windows(session: Session, workspace_ids: set[int]) -> dict[int, SendWindow]:
    if not workspace_ids:
        return {}
    rows = session.scalars(select(Workspace).where(Workspace.id.in_(workspace_ids)))
    return {ws.id: SendWindow.of(ws) for ws in rows}


def _money(minor: int | None) -> str | None:
    return None if minor is None else str(from_minor(minor))


def sweep_due_reminders(session: Session, now: datetime, limit: int = 1000) -> int:
    """Queue a nudge for every reminder due by `now` (up to `limit`); returns how many.

    A reminder due in the recipient's quiet hours is queued to be delivered on their next
    working morning. Concurrent sweeps on PostgreSQL split the rows (SKIP LOCKED).
    """
    if session.get_bind().dialect.name == "postgresql":
        # Users whose preferences shape their follow-ups (muted, a channel, own hours, away)
        # take the per-user path; everyone else the one-statement sweep.
        return _sweep_due_pg(session, now, limit) + _sweep_due_portable(session, now, limit, only_custom=True)
    return _sweep_due_portable(session, now, limit)


def _sweep_due_portable(session: Session, now: datetime, limit: int, only_custom: bool = False) -> int:
    """The sweep in portable SQL plus Python (SQLite; the reference for the PostgreSQL one).

    Each user's preferences apply: muted follow-ups are dropped (the reminder counts as sent),
    an away user's wait for their return summary (core.notify.away), a chosen channel gets
    the nudge instead of the DM, and it arrives inside the user's own working days and hours.
    """
    query = (
        select(
            Reminder.id,
            Reminder.workspace_id,
            Reminder.due_at,
            Reminder.text,
            Reminder.deal_id,
            User.slack_id,
            User.tz,
            Deal.number,
            Deal.title,
            Deal.amount_minor,
            Deal.currency,
            Stage.name,
            Lead.number,
            Lead.name,
            User.id,
            Reminder.lead_id,
        )
        .join(User, User.id == Reminder.user_id)
        .outerjoin(Deal, Deal.id == Reminder.deal_id)
        .outerjoin(Stage, Stage.id == Deal.stage_id)
        .outerjoin(Lead, Lead.id == Reminder.lead_id)
        # Literal statuses let PostgreSQL use the partial due index.
        .where(text("reminders.status IN ('pending', 'snoozed')"), Reminder.due_at <= now)
        # A won or lost deal's reminders wait (core.deals.deals holds them); reopening brings them back.
        .where(or_(Reminder.deal_id.is_(None), Deal.status == DealStatus.OPEN))
        .order_by(Reminder.due_at)
        .limit(limit)
    )
    if only_custom:
        query = query.where(Reminder.user_id.in_(select(UserPrefs.user_id).where(UserPrefs.custom_delivery.is_(True))))
    # An away user's reminders wait for their return summary: left out here, so a long absence
    # never fills the batch and holds up everyone else's.
    query = query.where(Reminder.user_id.not_in(select(UserPrefs.user_id).where(UserPrefs.away_until.is_not(None))))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Reminder, skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return 0
    windows = _windows(session, {r[1] for r in rows})
    spaces = {ws.id: ws for ws in session.scalars(select(Workspace).where(Workspace.id.in_({r[1] for r in rows})))}
    prefs = prefs_of(session, {r[14] for r in rows})
    send_at: dict[tuple[int, str], datetime] = {}  # one answer per zone: `now` is the same for all
    messages: list[dict[str, Any]] = []
    decided: list[int] = []
    for (rid, ws_id, due_at, body, deal_id, slack_id, tz, d_num, d_title, d_amount, d_cur, stage, l_num, l_name,
         uid, lead_id) in rows:
        mine = prefs.get(uid)
        if mine is not None and mine.away_until is not None:
            continue  # held for the summary on return (core.notify.away)
        decided.append(rid)
        if not slack_id or is_muted(mine, FOLLOWUPS):
            continue  # an owner known only from an import cannot get a DM; a muted kind is not sent
        ws = spaces[ws_id]
        channel = mine.channel_id if mine is not None and mine.channel_id else slack_id
        data: dict[str, Any] = {
            "reminder_id": rid, "text": body, "tz": tz, "deal": None, "lead": None,
            "due_at": due_at.astimezone(UTC).strftime(DUE_FORMAT),
            # What the nudge is about (its Slack metadata says so: core.notify.cards).
            "deal_id": deal_id if d_num is not None else None, "lead_id": lead_id if l_num is not None else None,
        }
        if deal_id:
            data["deal"] = {
                "ref": f"D-{d_num}", "title": d_title, "stage": stage,
                "amount": _money(d_amount), "currency": d_cur,
            }
        if l_num is not None:
            data["lead"] = {"ref": f"L-{l_num}", "name": l_name}
        if mine is not None and (mine.work_days or mine.work_start):
            arrives = next_allowed_send(now, tz, window_for(ws, mine))
        else:
            arrives = send_at.get((ws_id, tz)) or send_at.setdefault(
                (ws_id, tz), next_allowed_send(now, tz, windows[ws_id])
            )
        messages.append(
            {
                "workspace_id": ws_id,
                "key": nudge_key(rid, due_at),
                "kind": "nudge",
                "channel": channel,
                "payload": {"view": "nudge", "data": data},
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": arrives,
                "created_at": now,
            }
        )
    _insert_outbox(session, messages)
    if not decided:
        return 0
    session.execute(
        update(Reminder)
        .where(Reminder.id.in_(decided))
        .values(status=ReminderStatus.SENT, sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(messages)


# The same sweep as one PostgreSQL statement: lock the due rows, write their nudges, mark
# them sent; the payload is built by json_build_object exactly as the portable path builds
# it. Only the send time needs Python (quiet hours): it depends on (workspace, zone) alone,
# so it is computed once per zone first and joined in.
_PG_DUE_ZONES = text(
    "SELECT DISTINCT r.workspace_id, u.tz FROM reminders r JOIN users u ON u.id = r.user_id "
    "LEFT JOIN deals rd ON rd.id = r.deal_id "
    "WHERE r.status IN ('pending', 'snoozed') AND r.due_at <= :now AND (r.deal_id IS NULL OR rd.status = 'open') "
    "AND NOT EXISTS (SELECT 1 FROM user_prefs p WHERE p.user_id = r.user_id AND p.custom_delivery)"
)
_PG_SWEEP = text("""
WITH zones AS (
    SELECT * FROM unnest(CAST(:zws AS integer[]), CAST(:ztz AS text[]), CAST(:zat AS timestamptz[]))
        AS z(ws, tz, send_at)
), due AS (
    SELECT r.id, r.workspace_id, r.due_at, r.text, r.deal_id, r.lead_id, u.slack_id, u.tz, z.send_at
    FROM reminders r JOIN users u ON u.id = r.user_id JOIN zones z ON z.ws = r.workspace_id AND z.tz = u.tz
    WHERE r.status IN ('pending', 'snoozed') AND r.due_at <= :now
      AND (r.deal_id IS NULL OR EXISTS (SELECT 1 FROM deals rd WHERE rd.id = r.deal_id AND rd.status = 'open'))
      AND NOT EXISTS (SELECT 1 FROM user_prefs p WHERE p.user_id = r.user_id AND p.custom_delivery)
    ORDER BY r.due_at LIMIT :limit
    FOR UPDATE OF r SKIP LOCKED
), queued AS (
    INSERT INTO outbox (workspace_id, key, kind, channel, payload, status, attempts, next_attempt_at, created_at)
    SELECT due.workspace_id,
           'nudge:r' || due.id || ':' || to_char(due.due_at AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MI'),
           'nudge', due.slack_id,
           json_build_object('view', 'nudge', 'data', json_build_object(
               'reminder_id', due.id, 'text', due.text, 'tz', due.tz,
               'due_at', to_char(due.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
               'deal', CASE WHEN d.id IS NOT NULL THEN json_build_object(
                   'ref', 'D-' || d.number, 'title', d.title, 'stage', s.name, 'currency', d.currency,
                   'amount', CAST(CAST(d.amount_minor AS numeric) / 100 AS numeric(20, 2))::text) END,
               'lead', CASE WHEN l.id IS NOT NULL THEN json_build_object('ref', 'L-' || l.number, 'name', l.name) END,
               'deal_id', d.id, 'lead_id', l.id
           )),
           'pending', 0, due.send_at, :now
    FROM due
    LEFT JOIN deals d ON d.id = due.deal_id
    LEFT JOIN stages s ON s.id = d.stage_id
    LEFT JOIN leads l ON l.id = due.lead_id
    WHERE due.slack_id IS NOT NULL
    ON CONFLICT (workspace_id, key) DO NOTHING
)
UPDATE reminders SET status = 'sent', sent_at = :now FROM due WHERE reminders.id = due.id
RETURNING due.slack_id IS NOT NULL
""")


def _sweep_due_pg(session: Session, now: datetime, limit: int) -> int:
    zones = session.execute(_PG_DUE_ZONES, {"now": now}).all()
    if not zones:
        return 0
    windows = _windows(session, {ws for ws, _ in zones})
    sends = [next_allowed_send(now, tz, windows[ws]) for ws, tz in zones]
    rows = session.execute(
        _PG_SWEEP,
        {"now": now, "limit": limit, "zws": [ws for ws, _ in zones], "ztz": [tz for _, tz in zones], "zat": sends},
    ).all()
    return sum(1 for (has_dm,) in rows if has_dm)


def _insert_outbox(session: Session, rows: list[dict[str, Any]]) -> None:
    """Many outbox rows in one executemany (pipelined by psycopg); keys already queued are skipped."""
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(OutboxMessage).on_conflict_do_nothing(index_elements=["workspace_id", "key"])
    session.connection().execute(stmt, rows)


def morning_key(user_id: int, day: date) -> str:
    """The outbox key of one rep's morning message (stale and slipped deals) for one day."""
    return f"morning:u{user_id}:{day.isoformat()}"


def _deal_item(deal: Deal, stage: Stage, now: datetime, local_day: date) -> dict[str, Any]:
    return {
        "id": deal.id,
        "ref": deal.ref,
        "title": deal.title,
        "stage": stage.name,
        "amount": _money(deal.amount_minor),
        "currency": deal.currency,
        "idle_days": (now - deal.last_touch_at).days,
        "rotting_days": stage.rotting_days,
        "expected_close": deal.expected_close.isoformat() if deal.expected_close else None,
        "days_late": (local_day - deal.expected_close).days if deal.expected_close else None,
    }


def morning_sweep(session: Session, now: datetime, workspace_id: int | None = None) -> MorningResult:
    """Queue each rep's morning message of stale and slipped deals, once per local day.

    A rep is due when it is past the send time (09:00) on a working day in their zone and
    before their quiet hours. Stale: open, no real touch for longer than the stage's
    rotting days, and no future reminder (a scheduled next step). Slipped: open with the
    expected close date before the rep's today. A stale deal nudged N times (the
    workspace's stale_escalate_after) without a touch is reported to the rep's manager.
    """
    ws_query = select(Workspace)
    if workspace_id is not None:
        ws_query = ws_query.where(Workspace.id == workspace_id)
    totals = [0, 0, 0, 0]
    for ws in list(session.scalars(ws_query)):
        result = _morning_for_workspace(session, ws, now)
        for i, value in enumerate((result.messages, result.stale_deals, result.slipped_deals, result.escalations)):
            totals[i] += value
    return MorningResult(*totals)


def _due_reps(session: Session, ws: Workspace, window: SendWindow, now: datetime) -> dict[int, tuple[User, date]]:
    owners = list(session.scalars(
        select(User).where(
            User.workspace_id == ws.id,
            User.slack_id.is_not(None),
            User.id.in_(select(Deal.owner_id).where(Deal.workspace_id == ws.id, Deal.status == DealStatus.OPEN)),
        )
    ))
    due: dict[int, tuple[User, date]] = {}
    prefs = prefs_of(session, {u.id for u in owners})
    for user in owners:
        mine = prefs.get(user.id)
        if mine is not None and (mine.away_until is not None or (is_muted(mine, STALE) and is_muted(mine, SLIPPED))):
            continue  # away (their return summary lists what went stale), or nothing they want
        day = morning_due(now, user.tz, window_for(ws, mine) if mine is not None else window)
        if day is not None:
            due[user.id] = (user, day)
    if not due:
        return due
    keys = {morning_key(uid, day): uid for uid, (_, day) in due.items()}
    done = session.scalars(
        select(OutboxMessage.key).where(OutboxMessage.workspace_id == ws.id, OutboxMessage.key.in_(list(keys)))
    )
    for key in done:
        due.pop(keys[key], None)
    return due


def _morning_for_workspace(session: Session, ws: Workspace, now: datetime) -> MorningResult:
    window = SendWindow.of(ws)
    due = _due_reps(session, ws, window, now)
    if not due:
        return MorningResult(0, 0, 0, 0)
    stages = [(s.id, s.rotting_days) for s in session.scalars(select(Stage).where(Stage.workspace_id == ws.id))]
    owner_ids = list(due)
    latest_day = max(day for _, day in due.values())
    base = (
        select(Deal, Stage)
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Deal.workspace_id == ws.id, Deal.status == DealStatus.OPEN, Deal.owner_id.in_(owner_ids))
    )
    stale_rows = session.execute(
        base.where(stale_clause(stages, now), ~has_future_reminder_clause(now)).order_by(Deal.last_touch_at)
    ).all()
    slipped_rows = session.execute(
        base.where(Deal.expected_close.is_not(None), Deal.expected_close < latest_day).order_by(Deal.expected_close)
    ).all()
    stale: dict[int, list[tuple[Deal, Stage]]] = defaultdict(list)
    slipped: dict[int, list[tuple[Deal, Stage]]] = defaultdict(list)
    for deal, stage in stale_rows:
        stale[deal.owner_id or 0].append((deal, stage))
    for deal, stage in slipped_rows:
        if deal.expected_close is not None and deal.expected_close < due[deal.owner_id or 0][1]:
            slipped[deal.owner_id or 0].append((deal, stage))
    sent = 0
    nudged_ids: list[int] = []
    escalate: dict[int, list[tuple[Deal, Stage]]] = defaultdict(list)
    threshold = max(1, ws.stale_escalate_after or 2)
    prefs = prefs_of(session, set(stale) | set(slipped))
    for uid in sorted(set(stale) | set(slipped)):
        user, day = due[uid]
        # The back-off of ignored nudges is kept per user, in their preferences row.
        mine = prefs.get(uid) or ensure_prefs(session, ws.id, uid, now)
        weekly: list[str] = []
        lists = {STALE: stale[uid], SLIPPED: slipped[uid]}
        for kind, items in lists.items():
            if not items:
                continue
            if is_muted(mine, kind):
                lists[kind] = []
                continue
            step = backoff_step(mine, kind, [d.id for d, _s in items], _touched_since(session), now)
            if step == "skip":
                lists[kind] = []
            elif step == "weekly":
                weekly.append(kind)
        stale[uid], slipped[uid] = lists[STALE], lists[SLIPPED]
        if not (lists[STALE] or lists[SLIPPED]):
            continue
        channel = destination(ws, user, mine)
        data = {
            "rep": {"slack_id": user.slack_id, "name": user.name, "tz": user.tz},
            "date": day.isoformat(),
            "stale": [_deal_item(d, s, now, day) for d, s in lists[STALE][:MAX_LISTED]],
            "stale_total": len(lists[STALE]),
            "slipped": [_deal_item(d, s, now, day) for d, s in lists[SLIPPED][:MAX_LISTED]],
            "slipped_total": len(lists[SLIPPED]),
            "weekly": weekly,  # kinds that just backed off to weekly (the message says so)
        }
        # Only the sweep that wins the key counts the nudge (another replica may race us).
        if not outbox.enqueue(
            session, ws.id, morning_key(uid, day), "morning", channel, _payload("morning", data), now
        ):
            continue
        sent += 1
        for deal, stage in stale[uid]:
            nudged_ids.append(deal.id)
            # N nudges already went out and nobody touched the deal (a touch resets the count).
            if deal.stale_nudges == threshold:
                escalate[uid].append((deal, stage))
    if nudged_ids:
        session.execute(
            update(Deal)
            .where(Deal.id.in_(nudged_ids))
            .values(stale_nudges=Deal.stale_nudges + 1)
            .execution_options(synchronize_session=False)
        )
    n_escalations = _escalate(session, ws, window, escalate, due, threshold, now)
    return MorningResult(
        messages=sent,
        stale_deals=sum(len(v) for u, v in stale.items() if u in due),
        slipped_deals=sum(len(v) for u, v in slipped.items() if u in due),
        escalations=n_escalations,
    )


def _touched_since(session: Session) -> Callable[[list[int], datetime], bool]:
    """Did any of these deals change (a move, an activity, a re-pricing: a touch) after `at`?"""
    def touched(deal_ids: list[int], at: datetime) -> bool:
        if not deal_ids:
            return False
        found = session.scalar(select(Deal.id).where(Deal.id.in_(deal_ids), Deal.last_touch_at > at).limit(1))
        return found is not None
    return touched


def _payload(view: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"view": view, "data": data}


def _escalate(
    session: Session,
    ws: Workspace,
    window: SendWindow,
    escalate: dict[int, list[tuple[Deal, Stage]]],
    due: dict[int, tuple[User, date]],
    threshold: int,
    now: datetime,
) -> int:
    """Tell each rep's manager about the deals nudged `threshold` times in vain."""
    count = 0
    for uid, items in escalate.items():
        rep, day = due[uid]
        team = session.get(Team, rep.team_id) if rep.team_id else None
        manager = session.get(User, team.manager_id) if team and team.manager_id else None
        if manager is None or not manager.slack_id or manager.id == rep.id:
            continue
        mine = prefs_of(session, [manager.id]).get(manager.id)
        if is_muted(mine, STALE) or (mine is not None and mine.away_until is not None):
            continue
        channel = destination(ws, manager, mine)
        data = {
            "rep": {"slack_id": rep.slack_id, "name": rep.name},
            "manager": {"slack_id": manager.slack_id, "name": manager.name, "tz": manager.tz},
            "nudges": threshold,
            "date": day.isoformat(),
            "deals": [_deal_item(d, s, now, day) for d, s in items[:MAX_LISTED]],
            "total": len(items),
        }
        key = f"escalation:m{manager.id}:u{uid}:{day.isoformat()}"
        send_at = next_allowed_send(now, manager.tz, window_for(ws, mine) if mine is not None else window)
        count += outbox.enqueue(
            session, ws.id, key, "escalation", channel, _payload("escalation", data), now, send_at
        )
    return count
