"""Deals: create, edit, move, close, reopen, find and list — each change with its history.

Every public function takes a UnitOfWork, the acting user and `now`, checks permissions
(SPEC section 7) and returns plain dataclasses. Each change writes DealChange rows in the
same transaction, so the history is complete by construction.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clean import clean_name, clean_text
from core.db import UnitOfWork
from core.deals.queries import (
    ActivityView,
    ChangeView,
    DealView,
    count_deals,
    deal_activities,
    deal_history,
    deal_view,
    find_deal,
    get_deal,
    list_deals,
    list_deals_counted,
    load_deal,
    stage_named,
)
from core.deals.rooms import on_deal_event
from core.errors import InvalidInput, NotAllowed, NotFound
from core.i18n import _
from core.money import Money, check_currency, from_minor, to_minor
from core.tables import (
    Activity,
    ActivityKind,
    Deal,
    DealChange,
    DealStatus,
    IdempotencyKey,
    OutboxMessage,
    OutboxStatus,
    Reminder,
    ReminderStatus,
    User,
    Workspace,
)
from core.words import status_word
from core.workspace.users import Actor, can_change_owned
from core.workspace.workspaces import default_pipeline, stages_of

# Reading lives in core.deals.queries; these names are part of the deals service too.
__all__ = [
    "ActivityView",
    "ChangeView",
    "DealView",
    "add_note",
    "close_deal_lost",
    "close_deal_won",
    "count_deals",
    "create_deal",
    "deal_activities",
    "deal_history",
    "deal_view",
    "edit_deal",
    "find_deal",
    "get_deal",
    "list_deals",
    "list_deals_counted",
    "log_activity",
    "move_stage",
    "reopen_deal",
]

MAX_AMOUNT = Decimal("1000000000000")
MAX_TITLE = 200
MAX_TEXT = 3000
# Fields that are names (one line, see core.clean); the others may hold several lines.
NAME_FIELDS = ("account", "contact", "source")
EDITABLE_FIELDS = ("title", "account", "contact", "amount", "expected_close", "next_step", "source", "owner_id")


# -- validation ---------------------------------------------------------------------------


def _clean_title(title: str) -> str:
    title = clean_name(title or "")
    if not title:
        raise InvalidInput(_("A deal needs a title, e.g. `/deal new Acme renewal 12k`."), field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(_("The title is {n} characters; keep it under {limit}.").format(
            n=len(title), limit=MAX_TITLE), field="title")
    return title


def _check_amount(amount: Money | None) -> Money | None:
    if amount is None:
        return None
    if amount.amount < 0:
        raise InvalidInput(_("Amounts cannot be negative."), field="amount")
    if amount.amount >= MAX_AMOUNT:
        raise InvalidInput(_("That amount looks too large; amounts go up to 999,999,999,999."), field="amount")
    check_currency(amount.currency, field="amount")
    return amount


def _clean_text(value: str | None, field: str, limit: int = 500) -> str | None:
    if value is None:
        return None
    value = clean_name(value) if field in NAME_FIELDS else clean_text(value).strip()
    if len(value) > limit:
        raise InvalidInput(_("The {field} is too long (over {limit} characters).").format(
            field=field_label(field), limit=limit), field=field)
    return value or None


def field_label(field: str) -> str:
    """A deal field as a sentence names it ("next_step" -> "next step" / "sonraki adım")."""
    return {
        "title": _("title"), "account": _("account"), "contact": _("contact"), "amount": _("amount"),
        "expected_close": _("expected close"), "next_step": _("next step"), "source": _("source"),
        "owner_id": _("owner"), "lost_reason": _("lost reason"), "text": _("text"),
    }.get(field, field.replace("_", " "))


# -- history ------------------------------------------------------------------------------


def _fmt(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _record(session: Session, deal: Deal, field: str, old: Any, new: Any, actor: Actor | None, now: datetime) -> None:
    session.add(
        DealChange(
            workspace_id=deal.workspace_id,
            deal_id=deal.id,
            field=field,
            old_value=_fmt(old),
            new_value=_fmt(new),
            changed_by_id=actor.user_id if actor else None,
            changed_at=now,
            source="slack" if actor else "system",
        )
    )


def _touch(deal: Deal, now: datetime) -> None:
    """A real touch by a person: the deal is not stale any more."""
    deal.updated_at = now
    deal.last_touch_at = now
    deal.stale_nudges = 0


def _next_number(session: Session, workspace_id: int) -> int:
    # One atomic UPDATE ... RETURNING: concurrent creates never share a number.
    number = session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(next_deal_number=Workspace.next_deal_number + 1)
        .returning(Workspace.next_deal_number)
    ).scalar_one()
    return int(number) - 1


# -- commands -----------------------------------------------------------------------------


def create_deal(
    uow: UnitOfWork,
    actor: Actor,
    *,
    title: str,
    now: datetime,
    amount: Money | None = None,
    stage: str | None = None,
    expected_close: date | None = None,
    owner_id: int | None = None,
    account: str | None = None,
    contact: str | None = None,
    next_step: str | None = None,
    source: str | None = None,
    idempotency_key: str | None = None,
    first_note: str | None = None,
) -> DealView:
    """Create a deal owned by the actor (or `owner_id`, for managers and admins).

    `first_note` is logged as the deal's first note in the same transaction (a deal made from
    a Slack message keeps the message and its link).
    """
    title = _clean_title(title)
    amount = _check_amount(amount)
    account, contact = _clean_text(account, "account", 200), _clean_text(contact, "contact", 200)
    next_step, source = _clean_text(next_step, "next_step"), _clean_text(source, "source", 100)
    with uow.transaction() as session:
        if idempotency_key:
            done = session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.workspace_id == actor.workspace_id, IdempotencyKey.key == idempotency_key
                )
            )
            if done is not None:
                return deal_view(session.get_one(Deal, done.result["deal_id"]))
        owner = session.get_one(User, owner_id if owner_id is not None else actor.user_id)
        if owner.workspace_id != actor.workspace_id:
            raise NotFound(_("That owner is not in this workspace."))
        if owner.id != actor.user_id and not can_change_owned(actor, owner.id, owner.team_id):
            raise NotAllowed(_("You can't create deals for {name}: only their manager or an admin can.").format(
                name=owner.name))
        pipeline = default_pipeline(session, actor.workspace_id)
        stage_row = stage_named(session, pipeline.id, stage) if stage else pipeline.stages[0]
        if stage_row.is_terminal:
            raise InvalidInput(
                _("A new deal starts in an open stage, not {stage}; create it, then close it.").format(
                    stage=stage_row.name),
                field="stage",
            )
        deal = Deal(
            workspace_id=actor.workspace_id,
            number=_next_number(session, actor.workspace_id),
            title=title,
            account=account,
            contact=contact,
            amount_minor=to_minor(amount.amount) if amount else None,
            currency=amount.currency if amount else actor.currency,
            pipeline_id=pipeline.id,
            stage=stage_row,  # the objects, not their ids: deal_view then needs no lazy load
            status=DealStatus.OPEN,
            owner=owner,
            created_by_id=actor.user_id,
            expected_close=expected_close,
            next_step=next_step,
            source=source,
            created_at=now,
            engaged_at=now,
            updated_at=now,
            last_touch_at=now,
        )
        session.add(deal)
        session.flush()
        _record(session, deal, "created", None, stage_row.name, actor, now)
        note = _clean_text(first_note, "text", MAX_TEXT)
        if note:
            session.add(Activity(workspace_id=actor.workspace_id, deal_id=deal.id, kind=ActivityKind.NOTE,
                                 user_id=actor.user_id, at=now, text=note, created_at=now))
        if idempotency_key:
            try:
                with session.begin_nested():
                    session.add(
                        IdempotencyKey(
                            workspace_id=actor.workspace_id,
                            key=idempotency_key,
                            result={"deal_id": deal.id},
                            created_at=now,
                        )
                    )
            except IntegrityError:
                # The same submit is being handled right now: let that one win.
                raise InvalidInput(_("This deal is already being created.")) from None
        on_deal_event(session, deal, "created", now, by=actor.name)
        # deal_view reads stage and owner from the identity map: no refresh (one round trip less)
        return deal_view(deal)


def edit_deal(uow: UnitOfWork, actor: Actor, ref: str, *, now: datetime, **changes: Any) -> DealView:
    """Change fields of a deal; each changed field is written to the history."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(_("Can't edit {fields}; editable: {editable}.").format(
            fields=", ".join(sorted(unknown)), editable=", ".join(EDITABLE_FIELDS)))
    with uow.transaction() as session:
        deal = load_deal(session, actor, ref, for_change=True)
        real_touch = False
        for field, value in changes.items():
            if field == "title":
                value = _clean_title(value)
            elif field in ("account", "contact", "next_step", "source"):
                value = _clean_text(value, field, 100 if field == "source" else 500)
            elif field == "amount":
                money = _check_amount(value)
                new_minor = to_minor(money.amount) if money else None
                if new_minor != deal.amount_minor:
                    new_amount = from_minor(new_minor) if new_minor is not None else None
                    _record(session, deal, "amount", deal.amount, new_amount, actor, now)
                    deal.amount_minor = new_minor
                    real_touch = True
                if money and money.currency != deal.currency:
                    _record(session, deal, "currency", deal.currency, money.currency, actor, now)
                    deal.currency = money.currency
                continue
            elif field == "owner_id":
                new_owner = session.get(User, value) if value is not None else None
                if new_owner is None or new_owner.workspace_id != actor.workspace_id:
                    raise NotFound(_("That owner is not in this workspace."), field="owner")
                if not (actor.is_admin or actor.manages_team(new_owner.team_id)):
                    raise NotAllowed(_("Only a manager of the new owner's team or an admin can reassign a deal."))
                if new_owner.id != deal.owner_id:
                    _record(session, deal, "owner", deal.owner.name if deal.owner else None, new_owner.name, actor, now)
                    deal.owner_id = new_owner.id
                continue
            old = getattr(deal, field)
            if old != value:
                _record(session, deal, field, old, value, actor, now)
                setattr(deal, field, value)
        deal.updated_at = now
        if real_touch:
            _touch(deal, now)
            on_deal_event(session, deal, "amount", now, by=actor.name)
        if {"title", "account"} & set(changes):
            on_deal_event(session, deal, "renamed", now, by=actor.name)
        session.flush()
        session.refresh(deal)
        return deal_view(deal)


def move_stage(uow: UnitOfWork, actor: Actor, ref: str, stage: str, *, now: datetime) -> DealView:
    """Move an open deal to another open stage (Won/Lost go through close_deal_won/lost)."""
    with uow.transaction() as session:
        deal = load_deal(session, actor, ref, for_change=True)
        target = stage_named(session, deal.pipeline_id, stage)
        if target.is_won:
            return close_deal_won(uow, actor, deal.ref, now=now)
        if target.is_lost:
            raise InvalidInput(_("Closing as lost needs a reason: `/deal lost {ref} <reason>`.").format(ref=deal.ref),
                              field="stage")
        if deal.status != DealStatus.OPEN:
            raise InvalidInput(_("{ref} is {status}; reopen it first with `/deal reopen {ref}`.").format(
                ref=deal.ref, status=status_word(deal.status)))
        if target.id == deal.stage_id:
            raise InvalidInput(_("{ref} is already in {stage}.").format(ref=deal.ref, stage=target.name), field="stage")
        _record(session, deal, "stage", deal.stage.name, target.name, actor, now)
        previous = deal.stage.name
        deal.stage_id = target.id
        _touch(deal, now)
        session.flush()
        on_deal_event(session, deal, "stage", now, by=actor.name, detail={"from": previous, "to": target.name})
        session.refresh(deal)
        return deal_view(deal)


def _hold_reminders(session: Session, deal: Deal) -> int:
    """A closed deal's reminders stop: a nudge queued but not sent yet is taken back.

    Its reminder goes back to pending, so it is live again when the deal reopens (the nudge
    sweep skips reminders of closed deals: core.notify.nudges). Returns how many were held.
    """
    held = 0
    for reminder in session.scalars(
        select(Reminder).where(Reminder.deal_id == deal.id, Reminder.status == ReminderStatus.SENT)
    ):
        taken = session.execute(delete(OutboxMessage).where(
            OutboxMessage.workspace_id == deal.workspace_id,
            OutboxMessage.key == Reminder.nudge_key(reminder.id, reminder.due_at),
            OutboxMessage.status == OutboxStatus.PENDING,
        ))
        if taken.rowcount:  # type: ignore[attr-defined]
            reminder.status, reminder.sent_at = ReminderStatus.PENDING, None
            held += 1
    return held


def _close(session: Session, actor: Actor, deal: Deal, won: bool, now: datetime) -> None:
    if deal.status != DealStatus.OPEN:
        raise InvalidInput(_("{ref} is already {status}; `/deal reopen {ref}` opens it again.").format(
            ref=deal.ref, status=status_word(deal.status)))
    target = next(s for s in stages_of(session, deal.pipeline_id) if (s.is_won if won else s.is_lost))
    _record(session, deal, "stage", deal.stage.name, target.name, actor, now)
    _record(session, deal, "status", deal.status.value, "won" if won else "lost", actor, now)
    deal.stage_id = target.id
    deal.status = DealStatus.WON if won else DealStatus.LOST
    deal.closed_at = now
    _touch(deal, now)
    _hold_reminders(session, deal)
    session.flush()
    on_deal_event(session, deal, "won" if won else "lost", now, by=actor.name)


def close_deal_won(uow: UnitOfWork, actor: Actor, ref: str, *, now: datetime, amount: Money | None = None) -> DealView:
    """Close a deal as won (optionally with the final amount)."""
    amount = _check_amount(amount)
    with uow.transaction() as session:
        deal = load_deal(session, actor, ref, for_change=True)
        if amount is not None:
            edit_deal(uow, actor, deal.ref, now=now, amount=amount)
        _close(session, actor, deal, True, now)
        session.flush()
        session.refresh(deal)
        return deal_view(deal)


def close_deal_lost(uow: UnitOfWork, actor: Actor, ref: str, reason: str, *, now: datetime) -> DealView:
    """Close a deal as lost; the reason is required."""
    reason_text = _clean_text(reason, "lost_reason")
    if not reason_text:
        raise InvalidInput(_("Say why it was lost, e.g. `/deal lost D-42 went with a competitor`."), field="reason")
    with uow.transaction() as session:
        deal = load_deal(session, actor, ref, for_change=True)
        _close(session, actor, deal, False, now)
        _record(session, deal, "lost_reason", None, reason_text, actor, now)
        deal.lost_reason = reason_text
        session.flush()
        session.refresh(deal)
        return deal_view(deal)


def reopen_deal(uow: UnitOfWork, actor: Actor, ref: str, *, now: datetime, stage: str | None = None) -> DealView:
    """Reopen a won or lost deal, into `stage` or the stage it was closed from (owner, manager, admin).

    Recorded in the history (stage, status, lost reason). Its reminders come back: one whose
    time passed while the deal was closed is nudged at the next sweep (a follow-up asked for
    is still owed), with its original due time shown.
    """
    with uow.transaction() as session:
        deal = load_deal(session, actor, ref, for_change=True)
        if deal.status == DealStatus.OPEN:
            raise InvalidInput(_("{ref} is open already (in {stage}): nothing to reopen.").format(
                ref=deal.ref, stage=deal.stage.name))
        if stage:
            target = stage_named(session, deal.pipeline_id, stage)
        else:
            last_open = session.scalar(
                select(DealChange.old_value)
                .where(DealChange.deal_id == deal.id, DealChange.field == "stage")
                .order_by(DealChange.changed_at.desc(), DealChange.id.desc())
                .limit(1)
            )
            stages = stages_of(session, deal.pipeline_id)
            open_stages = [s for s in stages if not s.is_terminal]
            target = next((s for s in open_stages if s.name == last_open), open_stages[-1])
        if target.is_terminal:
            raise InvalidInput(_("Reopen into an open stage, not {stage}.").format(stage=target.name), field="stage")
        _record(session, deal, "stage", deal.stage.name, target.name, actor, now)
        _record(session, deal, "status", deal.status.value, "open", actor, now)
        if deal.lost_reason:
            _record(session, deal, "lost_reason", deal.lost_reason, None, actor, now)
        deal.stage_id = target.id
        deal.status = DealStatus.OPEN
        deal.closed_at = None
        deal.lost_reason = None
        _touch(deal, now)
        session.flush()
        on_deal_event(session, deal, "reopened", now, by=actor.name, detail={"to": target.name})
        session.refresh(deal)
        return deal_view(deal)


def log_activity(
    uow: UnitOfWork, actor: Actor, ref: str, kind: ActivityKind | str, text: str, *, now: datetime
) -> ActivityView:
    """Log a call, email, meeting, demo, proposal or note on a deal."""
    try:
        kind = ActivityKind(str(kind).strip().lower())
    except ValueError:
        kinds = ", ".join(k.value for k in ActivityKind)
        raise InvalidInput(_('"{kind}" is not an activity; use one of {kinds}.').format(kind=kind, kinds=kinds),
                           field="kind") from None
    body = _clean_text(text, "text", MAX_TEXT) or ""
    if kind == ActivityKind.NOTE and not body:
        raise InvalidInput(_("A note needs some text, e.g. `/deal note D-42 budget approved`."), field="text")
    with uow.transaction() as session:
        deal = load_deal(session, actor, ref, for_change=True)
        activity = Activity(
            workspace_id=actor.workspace_id,
            deal_id=deal.id,
            kind=kind,
            user_id=actor.user_id,
            at=now,
            text=body,
            created_at=now,
        )
        session.add(activity)
        _touch(deal, now)
        session.flush()
        on_deal_event(session, deal, "activity", now, by=actor.name, detail={"kind": kind.value, "text": body[:300]})
        return ActivityView(activity.id, deal.ref, kind, actor.user_id, actor.name, now, body)


def add_note(uow: UnitOfWork, actor: Actor, ref: str, text: str, *, now: datetime) -> ActivityView:
    """Add a note to a deal."""
    return log_activity(uow, actor, ref, ActivityKind.NOTE, text, now=now)
