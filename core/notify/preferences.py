"""Each user's notification preferences: which kinds they get, DM or a channel, their own
working days and hours, the digest's day, and "away until <date>" (SPEC section 5).

A user changes only their own preferences; admins may read anyone's (SPEC section 7: a
refused action says why and changes nothing). No row means the workspace's defaults: its
quiet hours and weekends, DMs, every kind, the workspace's digest day.

The jobs ask this module where a message for a user goes (`destination`; its language
follows the recipient at delivery, core.workspace.locales), when it may arrive
(`window_for`), whether a kind is muted, and who is away.
`User.is_away` follows `away_until`: set when a user says they are away, cleared by the
return sweep (core.notify.away) the day after the last day away.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.dates import parse_date
from core.db import UnitOfWork
from core.errors import InvalidInput, NotAllowed, NotFound
from core.i18n import _
from core.notify.local_time import SendWindow, local_date, parse_hhmm
from core.tables import User, UserPrefs, Workspace
from core.workspace.users import Actor, actor_of

FOLLOWUPS, STALE, SLIPPED, HOT_LEADS, DIGEST = "followups", "stale", "slipped", "hot_leads", "digest"
KINDS = (FOLLOWUPS, STALE, SLIPPED, HOT_LEADS, DIGEST)
BACKOFF_KINDS = (STALE, SLIPPED)  # the daily nudges that back off to weekly when ignored
IGNORED_TO_BACK_OFF = 3
BACKOFF_DAYS = 7
MAX_AWAY = timedelta(days=365)
_KIND_WORDS = {
    "followups": FOLLOWUPS, "followup": FOLLOWUPS, "follow-ups": FOLLOWUPS, "follow-up": FOLLOWUPS,
    "reminders": FOLLOWUPS, "hatirlatma": FOLLOWUPS, "takip": FOLLOWUPS,
    "stale": STALE, "bayat": STALE, "slipped": SLIPPED, "gecikmis": SLIPPED, "kayan": SLIPPED,
    "hot": HOT_LEADS, "hot_leads": HOT_LEADS, "hot-leads": HOT_LEADS, "leads": HOT_LEADS, "sicak": HOT_LEADS,
    "digest": DIGEST, "ozet": DIGEST,
}
_DAY_NAMES = (
    ("monday", "mon", "pazartesi", "pzt"), ("tuesday", "tue", "sali"), ("wednesday", "wed", "carsamba", "car"),
    ("thursday", "thu", "persembe", "per"), ("friday", "fri", "cuma"), ("saturday", "sat", "cumartesi", "cmt"),
    ("sunday", "sun", "pazar", "paz"),
)
_CHANNEL = re.compile(r"[CG][A-Z0-9]{6,20}")
_HHMM = re.compile(r"([01]?\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True)
class PrefsView:
    """A user's preferences as shown, the workspace's defaults filled in."""

    user_id: int
    slack_id: str | None
    name: str
    muted: tuple[str, ...]
    channel_id: str | None
    work_days: tuple[int, ...]
    work_start: str
    work_end: str
    own_hours: bool  # False: the workspace's quiet hours and weekends apply
    digest_weekday: int
    own_digest_day: bool
    away_until: date | None
    weekly: tuple[str, ...]  # kinds backed off to weekly after being ignored
    is_manager: bool


@dataclass(frozen=True)
class PrefsChange:
    """What to change; None leaves a setting as it is."""

    mute: tuple[str, ...] = ()
    unmute: tuple[str, ...] = ()
    channel: str | None = None  # a channel id, or "dm"
    hours: str | None = None  # "09:00-18:00"
    days: str | None = None  # "mon-fri", "mon,tue,thu"
    digest_day: str | None = None
    away_until: str | None = None  # a date, or "off"
    restore: tuple[str, ...] = ()  # backed-off kinds back to daily


def _fold(text: str) -> str:
    return text.strip().lower().translate(str.maketrans("çğıiöşü", "cgiiosu")).replace("\u0307", "")


def parse_kind(word: str) -> str:
    """'stale', 'follow-ups', 'hot', 'bayat' -> a kind; InvalidInput names the kinds."""
    kind = _KIND_WORDS.get(_fold(word))
    if kind is None:
        raise InvalidInput(_("\"{word}\" is not a kind of message. Kinds: followups, stale, slipped, hot, digest.")
                           .format(word=word[:40]), "muted")
    return kind


def parse_weekday(word: str) -> int:
    """'fri', 'Friday', 'cuma' -> 4 (Monday = 0)."""
    folded = _fold(word)
    for i, names in enumerate(_DAY_NAMES):
        if folded in names:
            return i
    raise InvalidInput(_("\"{word}\" is not a weekday: write mon, tue, ... sun.").format(word=word[:40]), "days")


def parse_days(text: str) -> tuple[int, ...]:
    """'mon-fri', 'mon,tue,thu', 'sun-thu' -> the weekdays, Monday = 0."""
    days: set[int] = set()
    for part in [p for p in re.split(r"[,\s]+", text.strip()) if p]:
        if "-" in part:
            first, _sep, last = part.partition("-")
            a, b = parse_weekday(first), parse_weekday(last)
            days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
        else:
            days.add(parse_weekday(part))
    if not days:
        raise InvalidInput(_("Name your working days, e.g. mon-fri."), "days")
    return tuple(sorted(days))


def parse_hours(text: str) -> tuple[str, str]:
    """'09:00-18:00' -> ('09:00', '18:00'); the end must come after the start."""
    start, sep, end = text.strip().replace("–", "-").partition("-")
    if not sep or not _HHMM.fullmatch(start.strip()) or not _HHMM.fullmatch(end.strip()):
        raise InvalidInput(_("\"{text}\" is not working hours: write them as HH:MM-HH:MM, e.g. 09:00-18:00.")
                           .format(text=text[:40]), "hours")
    first, last = parse_hhmm(start), parse_hhmm(end)
    if last <= first:
        raise InvalidInput(_("Your working hours end before they start ({start}-{end}): the end must come later.")
                           .format(start=start.strip(), end=end.strip()), "hours")
    return first.strftime("%H:%M"), last.strftime("%H:%M")


def check_away(until: date, today: date) -> date:
    """An away date from today up to a year ahead (the last day away)."""
    if until < today:
        raise InvalidInput(_("{date} is in the past: give the last day you are away, from today on.")
                           .format(date=until.isoformat()), "away_until")
    if until > today + MAX_AWAY:
        raise InvalidInput(_("{date} is more than a year ahead: pick a date within a year.")
                           .format(date=until.isoformat()), "away_until")
    return until


def check_channel(channel: str) -> str:
    """A Slack channel id (C…/G…); anything else is refused."""
    if not _CHANNEL.fullmatch(channel):
        raise InvalidInput(_("\"{channel}\" is not a channel salesbot knows: pick one from the list, e.g. "
                             "#sales-alerts.").format(channel=channel[:40]), "channel")
    return channel


def _row(session: Session, user: User) -> UserPrefs | None:
    return session.scalar(select(UserPrefs).where(UserPrefs.user_id == user.id))


def ensure_prefs(session: Session, workspace_id: int, user_id: int, now: datetime) -> UserPrefs:
    """The user's preference row, created (with the defaults) when missing; safe when two
    transactions create it at once (ON CONFLICT DO NOTHING, then read)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(UserPrefs)
        .values(workspace_id=workspace_id, user_id=user_id, muted=[], backoff={}, custom_delivery=False,
                updated_at=now)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    return session.scalars(select(UserPrefs).where(UserPrefs.user_id == user_id)).one()


def prefs_of(session: Session, user_ids: list[int] | set[int]) -> dict[int, UserPrefs]:
    """The preference rows of these users (users without one are left out: the defaults)."""
    if not user_ids:
        return {}
    return {p.user_id: p for p in session.scalars(select(UserPrefs).where(UserPrefs.user_id.in_(list(user_ids))))}


def window_for(ws: Workspace, prefs: UserPrefs | None) -> SendWindow:
    """When messages may reach this user: their own days and hours, else the workspace's window."""
    base = SendWindow.of(ws)
    if prefs is None or not (prefs.work_days or prefs.work_start):
        return base
    start = parse_hhmm(prefs.work_start) if prefs.work_start else base.quiet_end
    end = parse_hhmm(prefs.work_end) if prefs.work_end else base.quiet_start
    send = base.send_time if start <= base.send_time < end else start
    days = frozenset(int(d) for d in prefs.work_days.split(",")) if prefs.work_days else None
    return SendWindow(send_time=send, quiet_start=end, quiet_end=start, quiet_weekends=base.quiet_weekends,
                      work_days=days)


def is_muted(prefs: UserPrefs | None, kind: str) -> bool:
    return prefs is not None and kind in (prefs.muted or [])


def away_user_ids(session: Session, workspace_id: int, now: datetime) -> set[int]:
    """The users of a workspace away at `now` (each in their own zone), or flagged away."""
    rows = session.execute(
        select(User.id, User.tz, User.is_away, UserPrefs.away_until)
        .outerjoin(UserPrefs, UserPrefs.user_id == User.id)
        .where(User.workspace_id == workspace_id, (User.is_away.is_(True)) | UserPrefs.away_until.is_not(None))
    ).all()
    return {uid for uid, tz, flagged, until in rows
            if (until is not None and local_date(now, tz) <= until) or (until is None and flagged)}


def destination(ws: Workspace, user: User, prefs: UserPrefs | None) -> str:
    """Where a message for `user` goes: the channel they chose, else their DM. (Its language
    follows the recipient at delivery, core.workspace.locales: a channel reads the workspace's.)"""
    if prefs is not None and prefs.channel_id:
        return prefs.channel_id
    return user.slack_id or ""


def _view(ws: Workspace, user: User, prefs: UserPrefs | None, is_manager: bool) -> PrefsView:
    window = SendWindow.of(ws)
    own_hours = prefs is not None and bool(prefs.work_days or prefs.work_start)
    if prefs is not None and prefs.work_days:
        days = tuple(int(d) for d in prefs.work_days.split(","))
    else:
        days = tuple(range(5)) if window.quiet_weekends else tuple(range(7))
    weekly = tuple(k for k in BACKOFF_KINDS if prefs is not None and (prefs.backoff or {}).get(k, {}).get("weekly"))
    return PrefsView(
        user_id=user.id, slack_id=user.slack_id, name=user.name,
        muted=tuple(k for k in KINDS if is_muted(prefs, k)),
        channel_id=prefs.channel_id if prefs else None,
        work_days=days,
        work_start=(prefs.work_start if prefs and prefs.work_start else ws.quiet_end or "08:00"),
        work_end=(prefs.work_end if prefs and prefs.work_end else ws.quiet_start or "20:00"),
        own_hours=own_hours,
        digest_weekday=prefs.digest_weekday if prefs and prefs.digest_weekday is not None else ws.digest_weekday,
        own_digest_day=prefs is not None and prefs.digest_weekday is not None,
        away_until=prefs.away_until if prefs else None,
        weekly=weekly,
        is_manager=is_manager,
    )


def _target(session: Session, actor: Actor, slack_id: str | None) -> User:
    if slack_id is None or slack_id == actor.slack_id:
        user = session.get(User, actor.user_id)
        assert user is not None
        return user
    user = session.scalar(select(User).where(User.workspace_id == actor.workspace_id, User.slack_id == slack_id))
    if user is None:
        raise NotFound(_("{user} hasn't used salesbot yet: no preferences to show.").format(user=slack_id), "user")
    return user


def get_prefs(uow: UnitOfWork, actor: Actor, slack_id: str | None = None) -> PrefsView:
    """The actor's own preferences, or (admins only) another user's."""
    with uow.read() as session:
        user = _target(session, actor, slack_id)
        if user.id != actor.user_id and not actor.is_admin:
            raise NotAllowed(_("Only admins can see someone else's notification preferences."))
        ws = session.get_one(Workspace, actor.workspace_id)
        return _view(ws, user, _row(session, user), actor_of(session, user).is_manager)


def set_prefs(uow: UnitOfWork, actor: Actor, change: PrefsChange, now: datetime,
              slack_id: str | None = None) -> PrefsView:
    """Change the actor's own preferences (all checked before anything is saved).

    Nobody changes another user's preferences, admins included: they may only see them.
    """
    with uow.transaction() as session:
        user = _target(session, actor, slack_id)
        if user.id != actor.user_id:
            raise NotAllowed(_("You can change only your own notification preferences; {name} sets theirs.")
                             .format(name=user.name or slack_id or ""))
        ws = session.get_one(Workspace, actor.workspace_id)
        muted = {parse_kind(k) for k in change.mute}
        unmuted = {parse_kind(k) for k in change.unmute}
        restore = {parse_kind(k) for k in change.restore}
        channel = None if change.channel in (None, "dm") else check_channel(change.channel or "")
        hours = parse_hours(change.hours) if change.hours is not None else None
        days = parse_days(change.days) if change.days is not None else None
        digest_day = parse_weekday(change.digest_day) if change.digest_day is not None else None
        if digest_day is not None and not actor.is_manager:
            raise NotAllowed(_("The weekly digest goes to managers: only they pick its day."))
        away: date | None = None
        if change.away_until is not None and _fold(change.away_until) not in ("off", "back", "none", "kapali"):
            today = local_date(now, actor.tz)
            away = check_away(parse_date(change.away_until, now, actor.tz, actor.locale), today)
        prefs = ensure_prefs(session, ws.id, user.id, now)
        prefs.muted = sorted((set(prefs.muted or []) | muted) - unmuted)
        if change.channel is not None:
            prefs.channel_id = channel
        if hours is not None:
            prefs.work_start, prefs.work_end = hours
        if days is not None:
            prefs.work_days = ",".join(str(d) for d in days)
        if digest_day is not None:
            prefs.digest_weekday = digest_day
        if change.away_until is not None:
            prefs.away_until = away
            user.is_away = away is not None
        if restore:
            backoff = dict(prefs.backoff or {})
            for kind in restore:
                backoff[kind] = {**backoff.get(kind, {}), "weekly": False, "streak": 0}
            prefs.backoff = backoff
        prefs.custom_delivery = bool(prefs.muted or prefs.channel_id or prefs.work_days or prefs.work_start
                                     or prefs.away_until)
        prefs.updated_at = now
        session.flush()
        return _view(ws, user, prefs, actor.is_manager)


def restore_daily(uow: UnitOfWork, actor: Actor, kind: str, now: datetime) -> PrefsView:
    """The "back to daily" button of a backed-off nudge: that kind comes daily again."""
    if kind not in BACKOFF_KINDS:
        raise InvalidInput(_("\"{word}\" is not a kind of message. Kinds: followups, stale, slipped, hot, digest.")
                           .format(word=kind[:40]), "kind")
    return set_prefs(uow, actor, PrefsChange(restore=(kind,)), now)


def note_click(uow: UnitOfWork, actor: Actor, kind: str, now: datetime) -> None:
    """A click on a nudge of `kind`: that nudge was not ignored (it resets the back-off streak)."""
    if kind not in BACKOFF_KINDS:
        return
    with uow.transaction() as session:
        prefs = ensure_prefs(session, actor.workspace_id, actor.user_id, now)
        backoff = dict(prefs.backoff or {})
        backoff[kind] = {**backoff.get(kind, {}), "clicked": now.isoformat()}
        prefs.backoff = backoff


def backoff_step(prefs: UserPrefs, kind: str, deal_ids: list[int], touched_since: Any, now: datetime) -> str:
    """Decide one back-off kind's nudge for a user: 'skip' (weekly, not due), 'send', or
    'weekly' (send, and it just went weekly). Records the send.

    The nudge before this one was ignored when nobody clicked on it and none of its deals
    changed since it went out (`touched_since(deal_ids, at) -> bool`).
    """
    backoff = dict(prefs.backoff or {})
    state = dict(backoff.get(kind) or {})
    last = datetime.fromisoformat(state["last"]) if state.get("last") else None
    if state.get("weekly") and last is not None and now - last < timedelta(days=BACKOFF_DAYS):
        return "skip"
    streak = int(state.get("streak") or 0)
    went_weekly = False
    if last is not None:
        clicked = datetime.fromisoformat(state["clicked"]) if state.get("clicked") else None
        ignored = (clicked is None or clicked < last) and not touched_since(list(state.get("deals") or []), last)
        streak = streak + 1 if ignored else 0
        if streak >= IGNORED_TO_BACK_OFF and not state.get("weekly"):
            went_weekly = True
    state.update(last=now.isoformat(), deals=deal_ids[:50], streak=streak,
                 weekly=bool(state.get("weekly")) or went_weekly)
    backoff[kind] = state
    prefs.backoff = backoff
    return "weekly" if went_weekly else "send"
