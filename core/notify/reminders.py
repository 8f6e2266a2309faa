"""Follow-up reminders: rows with a due time, swept by one indexed query (not scheduler jobs).

Life of a reminder: pending -> sent (the nudge is queued in the outbox) -> done, or
snoozed (due again later, then sent again), or cancelled. Reps handle their own
reminders, managers their team's, admins all (SPEC section 7).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Exists, exists, or_, select, text
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.deals.rooms import on_deal_event
from core.errors import InvalidInput, NotAllowed, NotFound
from core.i18n import _
from core.notify import outbox
from core.notify.local_time import SendWindow, local_at, next_allowed_send
from core.tables import Deal, DealStatus, Lead, Reminder, ReminderStatus, User, Workspace
from core.words import status_word
from core.workspace.users import Actor, can_change_owned

MAX_TEXT = 500
# A reminder a few seconds "in the past" is a slow click, not a mistake.
PAST_GRACE = timedelta(minutes=1)
MAX_AHEAD = timedelta(days=366 * 3)
LIVE = (ReminderStatus.PENDING, ReminderStatus.SNOOZED)


@dataclass(frozen=True)
class ReminderView:
    """A reminder as the bot shows it."""

    id: int
    user_id: int
    user_slack_id: str | None
    due_at: datetime
    text: str
    status: ReminderStatus
    deal_id: int | None
    deal_ref: str | None
    deal_title: str | None
    lead_id: int | None
    lead_ref: str | None
    created_at: datetime
    done_at: datetime | None
    # When the nudge will really arrive: due_at, or the next working morning when due_at falls
    # in the recipient's quiet hours (core.notify.local_time). Set by set_reminder and snooze.
    arrives_at: datetime | None = None


def _arrival(session: Session, r: Reminder) -> datetime:
    user = session.get(User, r.user_id)
    ws = session.get_one(Workspace, r.workspace_id)
    return next_allowed_send(r.due_at, user.tz if user else ws.timezone, SendWindow.of(ws))


def _view(session: Session, r: Reminder, with_arrival: bool = False) -> ReminderView:
    deal = session.get(Deal, r.deal_id) if r.deal_id else None
    lead = session.get(Lead, r.lead_id) if r.lead_id else None
    user = session.get(User, r.user_id)
    return ReminderView(
        id=r.id,
        user_id=r.user_id,
        user_slack_id=user.slack_id if user else None,
        due_at=r.due_at,
        text=r.text,
        status=ReminderStatus(r.status),
        deal_id=r.deal_id,
        deal_ref=deal.ref if deal else None,
        deal_title=deal.title if deal else None,
        lead_id=r.lead_id,
        lead_ref=lead.ref if lead else None,
        created_at=r.created_at,
        done_at=r.done_at,
        arrives_at=_arrival(session, r) if with_arrival else None,
    )


def nudge_key(reminder_id: int, due_at: datetime) -> str:
    """The outbox key of the nudge for one due time of one reminder."""
    return Reminder.nudge_key(reminder_id, due_at)


def _check_due(due_at: datetime, now: datetime, field: str = "due_at") -> None:
    if due_at.tzinfo is None:
        raise InvalidInput(_("The due time has no time zone; give an aware datetime."), field)
    if due_at < now - PAST_GRACE:
        raise InvalidInput(_("That time is in the past: pick a time from now on."), field)
    if due_at > now + MAX_AHEAD:
        raise InvalidInput(_("That is more than three years away: pick a nearer date."), field)


def _find_lead(session: Session, workspace_id: int, ref: str) -> Lead:
    text = ref.strip().upper().removeprefix("L-")
    if not text.isdigit():
        raise NotFound(_("No lead {ref}: use its ref, like L-7.").format(ref=repr(ref)), "lead")
    lead = session.scalar(select(Lead).where(Lead.workspace_id == workspace_id, Lead.number == int(text)))
    if lead is None:
        raise NotFound(_("No lead {ref} here.").format(ref=repr(ref)), "lead")
    return lead


def _owner_team(session: Session, owner_id: int | None) -> int | None:
    owner = session.get(User, owner_id) if owner_id else None
    return owner.team_id if owner else None


def set_reminder(
    uow: UnitOfWork,
    actor: Actor,
    *,
    due_at: datetime,
    text: str,
    now: datetime,
    deal_ref: str | None = None,
    lead_ref: str | None = None,
) -> ReminderView:
    """A follow-up for the caller on a deal or lead they may change (or a free one)."""
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise InvalidInput(_("The reminder text is {n} characters; keep it under {limit}.").format(
            n=len(text), limit=MAX_TEXT), "text")
    _check_due(due_at, now)
    with uow.transaction() as session:
        deal_id = lead_id = None
        if deal_ref:
            from core.deals.deals import find_deal  # the deals service owns ref lookup (numbers, titles)

            deal = find_deal(session, actor.workspace_id, deal_ref, actor)
            if not can_change_owned(actor, deal.owner_id, _owner_team(session, deal.owner_id)):
                raise NotAllowed(_("You can't set reminders on {ref}: it is not yours or your team's.").format(
                    ref=deal.ref))
            if deal.status != DealStatus.OPEN:
                # a closed deal's reminders never fire (core.notify.nudges): refuse rather than drop it
                raise InvalidInput(_("{ref} is {status}: its reminders are off. Reopen it first with "
                                     "`/deal reopen {ref}`.").format(ref=deal.ref, status=status_word(deal.status)),
                                   "deal")
            deal_id = deal.id
            text = text or _("Follow up on {title}").format(title=deal.title)
        if lead_ref:
            lead = _find_lead(session, actor.workspace_id, lead_ref)
            if not can_change_owned(actor, lead.owner_id, _owner_team(session, lead.owner_id)):
                raise NotAllowed(_("You can't set reminders on {ref}: it is not yours or your team's.").format(
                    ref=lead.ref))
            lead_id = lead.id
            text = text or _("Follow up with {name}").format(name=lead.name or lead.ref)
        if not text:
            raise InvalidInput(_("Say what to follow up on, or pick a deal or lead."), "text")
        reminder = Reminder(
            workspace_id=actor.workspace_id,
            user_id=actor.user_id,
            deal_id=deal_id,
            lead_id=lead_id,
            due_at=due_at,
            text=text,
            status=ReminderStatus.PENDING,
            created_at=now,
        )
        session.add(reminder)
        session.flush()
        if deal_ref:
            on_deal_event(session, deal, "reminder", now, by=actor.name,
                          detail={"due_at": due_at.isoformat(), "text": text[:300]})
        return _view(session, reminder, with_arrival=True)


def _reminder_refusal(verb: str, owner: str | None) -> str:
    """Why the actor may not `verb` (snooze, complete, cancel, see) someone else's reminder."""
    sentences = {
        "snooze": _("You can't snooze this reminder: it belongs to {owner}."),
        "complete": _("You can't complete this reminder: it belongs to {owner}."),
        "cancel": _("You can't cancel this reminder: it belongs to {owner}."),
        "see": _("You can't see this reminder: it belongs to {owner}."),
    }
    return sentences.get(verb, sentences["see"]).format(owner=owner or _("someone else"))


def _own_reminder(session: Session, actor: Actor, reminder_id: int, verb: str) -> Reminder:
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or reminder.workspace_id != actor.workspace_id:
        raise NotFound(_("No reminder #{id}.").format(id=reminder_id), "reminder")
    owner = session.get(User, reminder.user_id)
    if not can_change_owned(actor, reminder.user_id, owner.team_id if owner else None):
        raise NotAllowed(_reminder_refusal(verb, owner.name if owner else None))
    return reminder


def _withdraw_queued_nudge(session: Session, reminder: Reminder) -> None:
    # A nudge held back for the morning must not arrive after the rep dealt with it.
    outbox.withdraw(session, reminder.workspace_id, nudge_key(reminder.id, reminder.due_at))


def snooze_reminder(uow: UnitOfWork, actor: Actor, reminder_id: int, until: datetime, now: datetime) -> ReminderView:
    """Push a reminder to `until`; it is due (and nudged) again then."""
    _check_due(until, now, "until")
    with uow.transaction() as session:
        reminder = _own_reminder(session, actor, reminder_id, "snooze")
        if reminder.status in (ReminderStatus.DONE, ReminderStatus.CANCELLED):
            raise InvalidInput(_("This reminder is already {status}.").format(
                status=status_word(reminder.status)), "reminder")
        _withdraw_queued_nudge(session, reminder)
        reminder.due_at = until
        reminder.status = ReminderStatus.SNOOZED
        reminder.sent_at = None
        session.flush()
        return _view(session, reminder, with_arrival=True)


def morning_of(uow: UnitOfWork, actor: Actor, day: date) -> datetime:
    """When a nudge snoozed to `day` comes back: the workspace's send time that day, in the actor's zone."""
    with uow.read() as session:
        ws = session.get(Workspace, actor.workspace_id)
        window = SendWindow.of(ws) if ws else SendWindow()
    return local_at(day, window.send_time, actor.tz)


def complete_reminder(uow: UnitOfWork, actor: Actor, reminder_id: int, now: datetime) -> ReminderView:
    """Mark a reminder done (a second click changes nothing)."""
    with uow.transaction() as session:
        reminder = _own_reminder(session, actor, reminder_id, "complete")
        if reminder.status == ReminderStatus.CANCELLED:
            raise InvalidInput(_("This reminder was cancelled."), "reminder")
        if reminder.status != ReminderStatus.DONE:
            _withdraw_queued_nudge(session, reminder)
            reminder.status = ReminderStatus.DONE
            reminder.done_at = now
        session.flush()
        return _view(session, reminder)


def cancel_reminder(uow: UnitOfWork, actor: Actor, reminder_id: int, now: datetime) -> ReminderView:
    """Cancel a reminder that is not done yet."""
    with uow.transaction() as session:
        reminder = _own_reminder(session, actor, reminder_id, "cancel")
        if reminder.status == ReminderStatus.DONE:
            raise InvalidInput(_("This reminder is already done."), "reminder")
        _withdraw_queued_nudge(session, reminder)
        reminder.status = ReminderStatus.CANCELLED
        reminder.done_at = now
        session.flush()
        return _view(session, reminder)


def get_reminder(uow: UnitOfWork, actor: Actor, reminder_id: int) -> ReminderView:
    """One reminder the actor may see."""
    with uow.read() as session:
        return _view(session, _own_reminder(session, actor, reminder_id, "see"))


def list_reminders(
    uow: UnitOfWork,
    actor: Actor,
    status: str | tuple[str, ...] = ("pending", "snoozed", "sent"),
    due_before: datetime | None = None,
    limit: int = 100,
    closed_deals: bool = False,
) -> list[ReminderView]:
    """The actor's own reminders, soonest first (open ones unless `status` says otherwise).

    Reminders of won or lost deals are on hold (they come back on reopen) and are left out
    unless `closed_deals`.
    """
    statuses = (status,) if isinstance(status, str) else status
    try:
        wanted = [ReminderStatus(s) for s in statuses]
    except ValueError as exc:
        known = ", ".join(s.value for s in ReminderStatus)
        raise InvalidInput(_("Unknown reminder status in {statuses}: use {known}.").format(
            statuses=statuses, known=known), "status") from exc
    with uow.read() as session:
        query = (
            select(Reminder)
            .where(
                Reminder.workspace_id == actor.workspace_id,
                Reminder.user_id == actor.user_id,
                Reminder.status.in_(wanted),
            )
            .order_by(Reminder.due_at, Reminder.id)
            .limit(limit)
        )
        if due_before is not None:
            query = query.where(Reminder.due_at < due_before)
        if not closed_deals:
            query = query.where(or_(Reminder.deal_id.is_(None),
                                    Reminder.deal_id.in_(select(Deal.id).where(Deal.status == DealStatus.OPEN))))
        return [_view(session, r) for r in session.scalars(query)]


def due_reminders(session: Session, now: datetime, limit: int = 1000) -> list[Reminder]:
    """Live reminders due by `now`, oldest first: one range scan of the partial due index."""
    return list(
        session.scalars(
            select(Reminder)
            # Literal statuses (not bound parameters) let PostgreSQL match the partial index.
            .where(text("reminders.status IN ('pending', 'snoozed')"), Reminder.due_at <= now)
            # a won or lost deal's reminders wait until it reopens
            .where(or_(Reminder.deal_id.is_(None),
                       Reminder.deal_id.in_(select(Deal.id).where(Deal.status == DealStatus.OPEN))))
            .order_by(Reminder.due_at)
            .limit(limit)
        )
    )


def has_future_reminder_clause(now: datetime) -> Exists:
    """SQL: the deal has a live reminder due after `now` (a scheduled next step)."""
    return exists().where(
        Reminder.deal_id == Deal.id, Reminder.status.in_(LIVE), Reminder.due_at > now
    )
