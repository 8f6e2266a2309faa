"""Discount approvals (SPEC section 4): ask, approve, reject, remind, expire.

`/deal discount D-42 15% reason` asks for a discount on an open deal. The chain of approvers:
1. the requester's manager (the manager of their team; else the manager of the deal owner's
   team), never the requester themselves. Nobody to ask there: the request goes straight
   to the admins (step 2), and says so.
2. an admin, when the discount is above the workspace's threshold (`manager_up_to_percent`,
   `/salesbot setup`, default 20 %) or when there was no manager. Any admin other than the
   requester and the manager who approved may act; each of them gets the DM.

Only the approver whose turn it is may act; a decision is a conditional UPDATE on (status,
step) under a row lock, so two clicks (or two admins) apply once and the other gets a clear
answer. The deal's amount changes only with the last approval, in the same transaction,
recorded in the deal's history (DealChange). Every message goes through the outbox, keyed by
the request and what happened, so it is queued once. A pending request is reminded once a
step, one working day after the step began, and expires 7 days after it was asked.

Functions take a UnitOfWork (or a Session for the sweep and `pending_discount`), the actor
and `now`; they return plain dataclasses. It lives in core.notify, not core.deals, because
it queues messages (core.notify.outbox) and the layers only import to their left
(tests/core/test_architecture.py); it uses core.deals.queries and core.workspace.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from core import formatting
from core.clean import clean_text
from core.db import UnitOfWork
from core.deals.queries import load_deal
from core.errors import InvalidInput, NotAllowed, NotFound
from core.i18n import N_, _
from core.money import format_money, from_minor, parse_amount, to_minor
from core.notify import outbox
from core.notify.local_time import SendWindow, is_working_day, local_at, next_allowed_send, zone
from core.tables import (
    Deal,
    DealChange,
    DealStatus,
    DiscountRequest,
    DiscountStatus,
    DiscountStep,
    OutboxMessage,
    OutboxStatus,
    Role,
    Team,
    User,
    Workspace,
    WorkspaceConfig,
)
from core.workspace.users import Actor, require_admin

CONFIG_NAME = "discounts"
DEFAULT_MANAGER_UP_TO = Decimal(20)
EXPIRES_AFTER = timedelta(days=7)
MAX_REASON = 500
MAX_COMMENT = 500
# Outbox kinds (and the views the bot renders them with: bot/views/discounts.py).
ASK, REMINDER, OUTCOME = "discount_ask", "discount_reminder", "discount_outcome"
_PERCENT = re.compile(r"^\s*(%)?\s*(\d{1,3}(?:[.,]\d{1,2})?)\s*(%)?\s*$")
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class DiscountSettings:
    """How far a manager alone may approve: up to this percentage (above it an admin too)."""

    manager_up_to_percent: Decimal = DEFAULT_MANAGER_UP_TO


@dataclass(frozen=True)
class DiscountView:
    """A discount request as the deal card, the DMs and the answers show it."""

    id: int
    deal_id: int
    deal_ref: str
    deal_title: str
    percent: Decimal  # of the amount when asked (given, or worked out from an amount off)
    given_as_percent: bool
    discount: Decimal
    old_amount: Decimal
    new_amount: Decimal
    currency: str
    reason: str
    status: DiscountStatus
    step: DiscountStep
    needs_admin: bool
    requested_by_name: str | None
    requested_by_slack_id: str | None
    # whose turn it is (the manager, or every admin who may act); empty once decided
    waiting_on_slack_ids: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    decided_by_slack_id: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class DiscountDecision:
    """What one approval or rejection did: `outcome` is approved, advanced (to an admin) or rejected."""

    outcome: str
    request: DiscountView


# -- reading what was typed -----------------------------------------------------------------


def parse_discount(text: str, deal_amount: Decimal, currency: str, locale: str) -> tuple[Decimal | None, Decimal]:
    """(percent or None, amount off) for `15%`, `%15` (Turkish), `12.5%`, or an amount (`1,500`, `$1,500`).

    Amounts are read by core.money.parse_amount in the deal's currency; a percentage must be
    more than 0 and at most 100, an amount more than 0 and at most the deal's amount.
    """
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("How much? Give a percentage or an amount, e.g. `15%` or `1,500`."), field="discount")
    if "%" in text:
        if text.lstrip().startswith(("-", "−")):
            raise InvalidInput(_("A discount can't be negative: give a percentage from 0 to 100, e.g. `15%`."),
                               field="discount")
        m = _PERCENT.match(text)
        if not m or (m.group(1) and m.group(3)):
            raise InvalidInput(_('Couldn\'t read "{text}" as a percentage; write it like `15%` or `12.5%`.').format(
                text=text), field="discount")
        percent = Decimal(m.group(2).replace(",", "."))
        if percent <= 0:
            raise InvalidInput(_("A zero discount changes nothing: give more than 0, e.g. `15%`."),
                               field="discount")
        if percent > _HUNDRED:
            raise InvalidInput(_("A discount can't be over 100 %; you gave {percent}.").format(
                percent=percent_text(percent)), field="discount")
        off = (deal_amount * percent / _HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        if off <= 0:  # 0.01 % of a small amount rounds to nothing
            raise InvalidInput(_("A zero discount changes nothing: give more than 0, e.g. `15%`."), field="discount")
        return percent, off
    if text.lstrip().startswith(("-", "−")):
        raise InvalidInput(_("A discount can't be negative: give an amount above 0, e.g. `1,500`."),
                           field="discount")
    money = parse_amount(text, locale, currency)
    if money.currency != currency:
        raise InvalidInput(_("The deal is in {currency}: give the discount in {currency} too, or as a percentage.")
                           .format(currency=currency), field="discount")
    if money.amount <= 0:
        raise InvalidInput(_("A discount of 0 changes nothing: give an amount above 0, e.g. `1,500`."),
                           field="discount")
    if money.amount > deal_amount:
        raise InvalidInput(_("A discount of {off} is more than the deal's amount ({amount}).").format(
            off=format_money(money.amount, currency), amount=format_money(deal_amount, currency)), field="discount")
    return None, money.amount


def discount_words(words: list[str], locale: str) -> int:
    """How many of the leading `words` say the discount (`15%`, `15 %`, `1.500 TL`, `12 bin`); the rest is the reason.

    InvalidInput, saying what is expected, when the first word is not a percentage or an amount.
    """
    for k in range(min(3, len(words)), 0, -1):
        text = " ".join(words[:k])
        if "%" in text:
            if _PERCENT.match(text) or (k == 1 and text.lstrip().startswith(("-", "−"))):
                return k
            continue
        try:
            parse_amount(text, locale)
        except InvalidInput:
            if k == 1 and text.lstrip().startswith(("-", "−")):
                return 1  # a negative amount: parse_discount says why it is refused
            continue
        return k
    shown = words[0] if words else ""
    raise InvalidInput(_('How much? "{text}" is not a percentage or an amount; e.g. `15%` or `1,500`.').format(
        text=shown), field="discount")


def percent_text(value: Decimal | str) -> str:
    """`15 %` / `%15`, `12.5 %` / `%12,5`: as many decimals as the value has (up to two), in the current language."""
    p = Decimal(str(value))
    digits = 0 if p == p.to_integral_value() else (1 if p * 10 == (p * 10).to_integral_value() else 2)
    return formatting.percent(p / 100, digits)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


# -- settings -------------------------------------------------------------------------------


def discount_settings(session: Session, workspace_id: int) -> DiscountSettings:
    """The workspace's discount thresholds (defaults when never set)."""
    data = session.scalar(select(WorkspaceConfig.data).where(
        WorkspaceConfig.workspace_id == workspace_id, WorkspaceConfig.name == CONFIG_NAME)) or {}
    try:
        up_to = Decimal(str(data.get("manager_up_to_percent", DEFAULT_MANAGER_UP_TO)))
    except (InvalidOperation, ValueError):
        up_to = DEFAULT_MANAGER_UP_TO
    return DiscountSettings(up_to)


def get_discount_settings(uow: UnitOfWork, actor: Actor) -> DiscountSettings:
    """The discount thresholds `/salesbot setup` shows."""
    with uow.read() as session:
        return discount_settings(session, actor.workspace_id)


def check_manager_up_to(value: str | Decimal | int | None) -> Decimal:
    """A threshold from the setup modal: a percentage from 0 to 100 (0: an admin approves every discount)."""
    message = _("Give a percentage from 0 to 100, e.g. 20 (0: every discount needs an admin too).")
    text = str(value if value is not None else "").strip().replace("%", "").replace(",", ".").strip()
    try:
        percent = Decimal(text)
    except (InvalidOperation, ValueError):
        raise InvalidInput(message, field="discount_manager_up_to") from None
    if not percent.is_finite() or not 0 <= percent <= _HUNDRED or percent != percent.quantize(Decimal("0.01")):
        raise InvalidInput(message, field="discount_manager_up_to")
    return percent.quantize(Decimal("0.01")).normalize() + 0


def update_discount_settings(uow: UnitOfWork, actor: Actor, *, now: datetime,
                             manager_up_to_percent: str | Decimal | int) -> DiscountSettings:
    """Save the discount thresholds (admins only); checked first, the field named in the error."""
    require_admin(actor, N_("change the workspace settings"))
    up_to = check_manager_up_to(manager_up_to_percent)
    with uow.transaction() as session:
        cfg = session.scalar(select(WorkspaceConfig).where(
            WorkspaceConfig.workspace_id == actor.workspace_id, WorkspaceConfig.name == CONFIG_NAME))
        data = {"manager_up_to_percent": str(up_to)}
        if cfg is None:
            session.add(WorkspaceConfig(workspace_id=actor.workspace_id, name=CONFIG_NAME, data=data, updated_at=now))
        else:
            cfg.data, cfg.updated_at = data, now
    return DiscountSettings(up_to)


# -- who approves ---------------------------------------------------------------------------


def _managers_of(session: Session, requester: User, deal: Deal) -> list[User]:
    """The requester's team's manager, then the deal owner's team's; never the requester."""
    found: list[User] = []
    for team_id in (requester.team_id, deal.owner.team_id if deal.owner else None):
        if team_id is None:
            continue
        manager = session.scalar(select(User).join(Team, Team.manager_id == User.id).where(Team.id == team_id))
        if manager is not None and manager.id != requester.id and manager not in found:
            found.append(manager)
    return found


def _manager_for(session: Session, requester: User, deal: Deal) -> User | None:
    """The first of `_managers_of` who is on Slack (an imported name not linked yet gets no DM)."""
    return next((m for m in _managers_of(session, requester, deal) if m.slack_id), None)


def _admins_for(session: Session, req: DiscountRequest) -> list[User]:
    """The admins who may decide the admin step: not the requester, not the manager who approved."""
    excluded = {i for i in (req.requested_by_id, req.manager_approved_by_id) if i is not None}
    return [u for u in session.scalars(select(User).where(
        User.workspace_id == req.workspace_id, User.role == Role.ADMIN, User.slack_id.is_not(None)).order_by(User.id))
        if u.id not in excluded]


def _approvers(session: Session, req: DiscountRequest) -> list[User]:
    """Whose turn it is."""
    if req.status != DiscountStatus.PENDING:
        return []
    if req.step == DiscountStep.MANAGER:
        manager = session.get(User, req.manager_id) if req.manager_id else None
        return [manager] if manager is not None else []
    return _admins_for(session, req)


def _one_working_day_after(instant: datetime, tz: str, window: SendWindow) -> datetime:
    """The same local time on the next working day (a Friday afternoon request: Monday afternoon)."""
    local = instant.astimezone(zone(tz))
    day = local.date() + timedelta(days=1)
    for __ in range(14):
        if is_working_day(day, window):
            break
        day += timedelta(days=1)
    return local_at(day, local.time().replace(tzinfo=None), tz)


def _remind_at(session: Session, req: DiscountRequest, started: datetime) -> datetime:
    ws = session.get_one(Workspace, req.workspace_id)
    manager = session.get(User, req.manager_id) if req.step == DiscountStep.MANAGER and req.manager_id else None
    return _one_working_day_after(started, (manager.tz if manager else None) or ws.timezone, SendWindow.of(ws))


# -- views and messages ---------------------------------------------------------------------


def _view(session: Session, req: DiscountRequest, deal: Deal | None = None) -> DiscountView:
    deal = deal or session.get_one(Deal, req.deal_id)
    requester = session.get(User, req.requested_by_id) if req.requested_by_id else None
    decider = session.get(User, req.decided_by_id) if req.decided_by_id else None
    old, off = from_minor(req.old_amount_minor), from_minor(req.discount_minor)
    percent = req.percent if req.percent is not None else (
        (off * _HUNDRED / old).quantize(Decimal("0.01")) if old else _HUNDRED)
    return DiscountView(
        id=req.id, deal_id=deal.id, deal_ref=deal.ref, deal_title=deal.title,
        percent=Decimal(percent).normalize() + 0, given_as_percent=req.percent is not None,
        discount=off, old_amount=old, new_amount=from_minor(req.new_amount_minor), currency=req.currency,
        reason=req.reason or "", status=DiscountStatus(req.status), step=DiscountStep(req.step),
        needs_admin=req.needs_admin,
        requested_by_name=requester.name if requester else None,
        requested_by_slack_id=requester.slack_id if requester else None,
        waiting_on_slack_ids=tuple(u.slack_id for u in _approvers(session, req) if u.slack_id),
        created_at=req.created_at, expires_at=req.expires_at,
        decided_by_slack_id=decider.slack_id if decider else None, comment=req.comment,
    )


def view_data(view: DiscountView) -> dict[str, Any]:
    """The plain data the bot renders a discount message from (bot/views/discounts.py)."""
    return {
        "request_id": view.id, "deal_ref": view.deal_ref, "deal_title": view.deal_title,
        "percent": str(view.percent), "given_as_percent": view.given_as_percent, "discount": str(view.discount),
        "old_amount": str(view.old_amount), "new_amount": str(view.new_amount), "currency": view.currency,
        "reason": view.reason, "status": view.status.value, "step": view.step.value, "needs_admin": view.needs_admin,
        "requested_by": view.requested_by_slack_id, "requested_by_name": view.requested_by_name,
        "waiting_on": list(view.waiting_on_slack_ids), "decided_by": view.decided_by_slack_id,
        "comment": view.comment, "expires_at": view.expires_at.isoformat(),
    }


def _ask_key(req_id: int, step: DiscountStep, user_id: int) -> str:
    return f"discount:{req_id}:ask:{step.value}:u{user_id}"


def _ask(session: Session, req: DiscountRequest, view: DiscountView, now: datetime) -> None:
    """DM each approver whose turn it is, with Approve and Reject."""
    for user in _approvers(session, req):
        assert user.slack_id is not None
        outbox.enqueue(session, req.workspace_id, _ask_key(req.id, req.step, user.id), ASK, user.slack_id,
                       {"view": ASK, "data": view_data(view)}, now)


def _close_asks(session: Session, req: DiscountRequest, step: DiscountStep, view: DiscountView, now: datetime) -> None:
    """The approval DMs (and reminders) of `step` show the outcome instead of their buttons.

    A DM not sent yet is taken back (nobody is asked about a decided step); one sent is
    updated in place where it landed (outbox `update`, with the channel and ts delivery recorded).
    """
    asks, reminders = f"discount:{req.id}:ask:{step.value}:", f"discount:{req.id}:remind:{step.value}:"
    rows = session.scalars(select(OutboxMessage).where(
        OutboxMessage.workspace_id == req.workspace_id,
        or_(and_(OutboxMessage.kind == ASK, OutboxMessage.key.startswith(asks, autoescape=True)),
            and_(OutboxMessage.kind == REMINDER, OutboxMessage.key.startswith(reminders, autoescape=True)))))
    for row in list(rows):
        if row.status == OutboxStatus.PENDING and not row.slack_ts:
            outbox.withdraw(session, req.workspace_id, row.key)
        elif row.slack_channel and row.slack_ts:
            outbox.enqueue(session, req.workspace_id, f"{row.key}:{view.status.value}:{view.step.value}", ASK,
                           row.channel, {"view": ASK, "data": view_data(view),
                                         "update": {"channel": row.slack_channel, "ts": row.slack_ts}}, now)


def _tell_requester(session: Session, req: DiscountRequest, view: DiscountView, now: datetime) -> None:
    requester = session.get(User, req.requested_by_id) if req.requested_by_id else None
    if requester is None or not requester.slack_id:
        return
    outbox.enqueue(session, req.workspace_id, f"discount:{req.id}:outcome:{view.status.value}:{view.step.value}",
                   OUTCOME, requester.slack_id, {"view": OUTCOME, "data": view_data(view)}, now)


def _history(session: Session, req: DiscountRequest, what: str, by: int | None, now: datetime,
             detail: str | None = None) -> None:
    """A line in the deal's history: field `discount`, old = what happened, new = the details."""
    session.add(DealChange(workspace_id=req.workspace_id, deal_id=req.deal_id, field="discount", old_value=what,
                           new_value=detail, changed_by_id=by, changed_at=now, source="slack" if by else "system"))


def _detail(req: DiscountRequest) -> str:
    off = from_minor(req.discount_minor)
    given = f"{_plain(req.percent)}%" if req.percent is not None else f"{off} {req.currency}"
    return f"{given}: {from_minor(req.old_amount_minor)} -> {from_minor(req.new_amount_minor)} {req.currency}"


# -- asking ---------------------------------------------------------------------------------


def _pending_of(session: Session, deal_id: int) -> DiscountRequest | None:
    return session.scalar(select(DiscountRequest).where(
        DiscountRequest.deal_id == deal_id, DiscountRequest.status == DiscountStatus.PENDING)
        .order_by(DiscountRequest.id.desc()).limit(1))


def request_discount(uow: UnitOfWork, actor: Actor, ref: str, discount: str, reason: str | None, *,
                     now: datetime) -> DiscountView:
    """Ask for a discount on an open deal the actor may change; DMs the first approver."""
    reason_text = clean_text(reason or "").strip()
    if len(reason_text) > MAX_REASON:
        raise InvalidInput(_("The reason is {n} characters; keep it under {limit}.").format(
            n=len(reason_text), limit=MAX_REASON), field="reason")
    with uow.transaction() as session:
        deal = load_deal(session, actor, ref, for_change=True)
        # One request at a time per deal: the deal's row is the lock (SQLite writers queue anyway).
        session.execute(select(Deal.id).where(Deal.id == deal.id).with_for_update())
        if deal.status != DealStatus.OPEN:
            raise InvalidInput(_("{ref} is closed; a discount can only be asked for on an open deal.").format(
                ref=deal.ref))
        if not deal.amount_minor:
            raise InvalidInput(_("{ref} has no amount yet; set one with `/deal edit {ref}` first.").format(
                ref=deal.ref), field="discount")
        waiting = _pending_of(session, deal.id)
        if waiting is not None:
            shown = _view(session, waiting, deal)
            raise InvalidInput(_("{ref} already has a discount of {percent} waiting for approval (asked {date}); "
                                 "it must be decided or expire before another is asked.").format(
                ref=deal.ref, percent=percent_text(shown.percent), date=formatting.day(shown.created_at.date())))
        old = from_minor(deal.amount_minor)
        percent, off = parse_discount(discount, old, deal.currency, actor.locale)
        effective = percent if percent is not None else (off * _HUNDRED / old)
        requester = session.get_one(User, actor.user_id)
        manager = _manager_for(session, requester, deal)
        settings = discount_settings(session, actor.workspace_id)
        needs_admin = manager is None or effective > settings.manager_up_to_percent
        req = DiscountRequest(
            workspace_id=actor.workspace_id, deal_id=deal.id, requested_by_id=actor.user_id, percent=percent,
            discount_minor=to_minor(off), old_amount_minor=deal.amount_minor,
            new_amount_minor=deal.amount_minor - to_minor(off), currency=deal.currency, reason=reason_text,
            status=DiscountStatus.PENDING, step=DiscountStep.MANAGER if manager else DiscountStep.ADMIN,
            needs_admin=needs_admin, manager_id=manager.id if manager else None,
            created_at=now, step_started_at=now, expires_at=now + EXPIRES_AFTER,
        )
        session.add(req)
        session.flush()
        if needs_admin and not [a for a in _admins_for(session, req) if manager is None or a.id != manager.id]:
            unlinked = [m for m in _managers_of(session, requester, deal) if not m.slack_id]
            if manager is None and unlinked:
                raise InvalidInput(_("Nobody can approve this yet: your manager {manager} is not linked to a Slack "
                                     "user, and there is no other admin to ask. An admin can link them with "
                                     "`/salesbot link \"{manager}\" @user`.").format(manager=unlinked[0].name))
            if manager is None:
                raise InvalidInput(_("Nobody can approve this: you have no manager to ask, and there is no admin "
                                     "other than you. An admin can give your team a manager (`/salesbot team "
                                     "create`) or make someone admin (`/salesbot role`)."))
            raise InvalidInput(_("Nobody can approve this: above {limit} an admin approves after {manager}, and "
                                 "there is no admin other than you and {manager}. An admin can make someone admin "
                                 "with `/salesbot role`.").format(
                limit=percent_text(settings.manager_up_to_percent), manager=manager.name))
        req.remind_at = _remind_at(session, req, now)
        view = _view(session, req, deal)
        _history(session, req, "requested", actor.user_id, now, _detail(req))
        _ask(session, req, view, now)
        return view


# -- deciding -------------------------------------------------------------------------------


def _load_for_decision(session: Session, actor: Actor, request_id: int) -> DiscountRequest:
    req = session.scalar(select(DiscountRequest).where(DiscountRequest.id == request_id).with_for_update())
    if req is None or req.workspace_id != actor.workspace_id:
        raise NotFound(_("That discount request is gone."))
    _require_turn(session, req, actor)
    return req


def _require_turn(session: Session, req: DiscountRequest, actor: Actor) -> None:
    """NotAllowed / InvalidInput, saying why, unless it is the actor's turn on a pending request."""
    deal = session.get_one(Deal, req.deal_id)
    if req.status == DiscountStatus.WITHDRAWN:
        raise InvalidInput(_("This discount on {ref} was withdrawn when the deal closed; nothing changed.").format(
            ref=deal.ref))
    if req.status != DiscountStatus.PENDING:
        decider = session.get(User, req.decided_by_id) if req.decided_by_id else None
        done = {DiscountStatus.APPROVED: _("approved"), DiscountStatus.REJECTED: _("rejected"),
                DiscountStatus.EXPIRED: _("expired")}[DiscountStatus(req.status)]
        if decider is not None:
            raise InvalidInput(_("This discount on {ref} was already {done} by {name}; nothing changed.").format(
                ref=deal.ref, done=done, name=decider.name))
        raise InvalidInput(_("This discount on {ref} has {done}; nothing changed.").format(ref=deal.ref, done=done))
    if actor.user_id == req.requested_by_id:
        raise NotAllowed(_("You asked for this discount on {ref}; someone else approves it.").format(ref=deal.ref))
    if req.step == DiscountStep.MANAGER:
        if actor.user_id != req.manager_id:
            manager = session.get(User, req.manager_id) if req.manager_id else None
            raise NotAllowed(_("It's {name}'s turn to decide on this discount on {ref}, not yours.").format(
                name=manager.name if manager else _("the manager"), ref=deal.ref))
        return
    if actor.user_id == req.manager_approved_by_id:
        raise NotAllowed(_("You approved this discount on {ref} already; now an admin decides.").format(ref=deal.ref))
    if not actor.is_admin:
        raise NotAllowed(_("This discount on {ref} waits on an admin; only an admin can decide it now.").format(
            ref=deal.ref))


def check_turn(uow: UnitOfWork, actor: Actor, request_id: int) -> DiscountView:
    """The request, when it is the actor's turn to decide it (before the Reject form opens)."""
    with uow.read() as session:
        req = session.get(DiscountRequest, request_id)
        if req is None or req.workspace_id != actor.workspace_id:
            raise NotFound(_("That discount request is gone."))
        _require_turn(session, req, actor)
        return _view(session, req)


def _decide(session: Session, req: DiscountRequest, at_step: DiscountStep, **values: Any) -> None:
    """Apply a decision only if the request is still pending at `at_step` (a second click changes nothing)."""
    done = session.execute(update(DiscountRequest).where(
        DiscountRequest.id == req.id, DiscountRequest.status == DiscountStatus.PENDING,
        DiscountRequest.step == at_step).values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidInput(_("This discount was decided a moment ago by someone else; nothing changed."))
    session.refresh(req)


def approve_discount(uow: UnitOfWork, actor: Actor, request_id: int, *, now: datetime) -> DiscountDecision:
    """Approve the step whose turn it is; the last approval changes the deal's amount."""
    with uow.transaction() as session:
        req = _load_for_decision(session, actor, request_id)
        step = DiscountStep(req.step)
        if step == DiscountStep.MANAGER and req.needs_admin:
            _decide(session, req, step, step=DiscountStep.ADMIN, manager_approved_by_id=actor.user_id,
                    step_started_at=now)
            req.remind_at = _remind_at(session, req, now)
            _history(session, req, "manager_approved", actor.user_id, now, _detail(req))
            closed = replace_view(_view(session, req), status=DiscountStatus.APPROVED, step=DiscountStep.MANAGER,
                                  decided_by_slack_id=actor.slack_id)
            _close_asks(session, req, DiscountStep.MANAGER, closed, now)
            view = _view(session, req)
            _ask(session, req, view, now)
            return DiscountDecision("advanced", view)
        deal = session.scalar(select(Deal).where(Deal.id == req.deal_id).with_for_update())
        assert deal is not None
        if deal.status != DealStatus.OPEN:
            raise InvalidInput(_("{ref} is closed now; its discount can't be applied. Reject it, or reopen the "
                                 "deal first.").format(ref=deal.ref))
        if deal.amount_minor != req.old_amount_minor or deal.currency != req.currency:
            raise InvalidInput(_("{ref}'s amount changed since the discount was asked (it was {old}, it is {now}); "
                                 "reject this one and ask again on the new amount.").format(
                ref=deal.ref, old=format_money(from_minor(req.old_amount_minor), req.currency),
                now=format_money(from_minor(deal.amount_minor or 0), deal.currency)))
        _decide(session, req, step, status=DiscountStatus.APPROVED, decided_by_id=actor.user_id, decided_at=now,
                remind_at=None)
        session.add(DealChange(workspace_id=deal.workspace_id, deal_id=deal.id, field="amount",
                               old_value=str(from_minor(req.old_amount_minor)),
                               new_value=str(from_minor(req.new_amount_minor)), changed_by_id=actor.user_id,
                               changed_at=now, source="slack"))
        deal.amount_minor = req.new_amount_minor
        deal.updated_at = now
        _history(session, req, "approved", actor.user_id, now, _detail(req))
        view = _view(session, req, deal)
        _close_asks(session, req, step, view, now)
        _tell_requester(session, req, view, now)
        return DiscountDecision("approved", view)


def reject_discount(uow: UnitOfWork, actor: Actor, request_id: int, comment: str, *,
                    now: datetime) -> DiscountDecision:
    """Reject with a comment (required); the deal is left as it is and the requester is told why."""
    text = clean_text(comment or "").strip()
    if not text:
        raise InvalidInput(_("Say why you reject it; the requester will read it."), field="comment")
    if len(text) > MAX_COMMENT:
        raise InvalidInput(_("The comment is {n} characters; keep it under {limit}.").format(
            n=len(text), limit=MAX_COMMENT), field="comment")
    with uow.transaction() as session:
        req = _load_for_decision(session, actor, request_id)
        step = DiscountStep(req.step)
        _decide(session, req, step, status=DiscountStatus.REJECTED, decided_by_id=actor.user_id, decided_at=now,
                comment=text, remind_at=None)
        _history(session, req, "rejected", actor.user_id, now, text)
        view = _view(session, req)
        _close_asks(session, req, step, view, now)
        _tell_requester(session, req, view, now)
        return DiscountDecision("rejected", view)


def replace_view(view: DiscountView, **changes: Any) -> DiscountView:
    """`view` with some fields changed (dataclasses.replace, named for readers of this module)."""
    from dataclasses import replace

    return replace(view, **changes)


# -- the sweep: reminders and expiry --------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    reminded: int
    expired: int
    withdrawn: int = 0

    @property
    def handled(self) -> int:
        return self.reminded + self.expired + self.withdrawn


def _end_unanswered(session: Session, req: DiscountRequest, status: DiscountStatus, now: datetime) -> None:
    """End a request nobody decided (expired, or withdrawn as its deal closed): in the deal's history,
    the approvers' DMs without their buttons, the requester told."""
    step = DiscountStep(req.step)
    req.status, req.decided_at, req.remind_at = status, now, None
    session.flush()
    _history(session, req, status.value, None, now, _detail(req))
    view = _view(session, req)
    _close_asks(session, req, step, view, now)
    _tell_requester(session, req, view, now)


def discount_sweep(session: Session, now: datetime, limit: int = 500) -> SweepResult:
    """Remind the approver(s) of a step pending for a working day (once), expire what is 7 days
    old, and withdraw what waits on a deal that was closed meanwhile (won or lost: the approvers'
    DMs lose their buttons, the requester is told).

    Runs as the `discounts` job (bot/jobs.py). Pending rows are locked (SKIP LOCKED on
    PostgreSQL), so concurrent sweeps and clicks never both act; outbox keys make each
    message once.
    """
    query = (select(DiscountRequest)
             .where(DiscountRequest.status == DiscountStatus.PENDING,
                    or_(DiscountRequest.expires_at <= now, DiscountRequest.remind_at <= now,
                        DiscountRequest.deal_id.in_(select(Deal.id).where(Deal.status != DealStatus.OPEN))))
             .order_by(DiscountRequest.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    reminded = expired = withdrawn = 0
    for req in list(session.scalars(query)):
        if session.get_one(Deal, req.deal_id).status != DealStatus.OPEN:
            _end_unanswered(session, req, DiscountStatus.WITHDRAWN, now)
            withdrawn += 1
            continue
        if req.expires_at <= now:
            _end_unanswered(session, req, DiscountStatus.EXPIRED, now)
            expired += 1
            continue
        step = DiscountStep(req.step)
        ws = session.get_one(Workspace, req.workspace_id)
        view = _view(session, req)
        for user in _approvers(session, req):
            assert user.slack_id is not None
            at = next_allowed_send(now, user.tz or ws.timezone, SendWindow.of(ws))
            outbox.enqueue(session, req.workspace_id, f"discount:{req.id}:remind:{step.value}:u{user.id}", REMINDER,
                           user.slack_id, {"view": REMINDER, "data": view_data(view)}, now, not_before=at)
        req.remind_at = None
        reminded += 1
    session.flush()
    return SweepResult(reminded, expired, withdrawn)


# -- reading --------------------------------------------------------------------------------


def pending_discount(session: Session, deal_id: int) -> DiscountView | None:
    """The deal's discount request waiting for approval, if any (for the deal's cards)."""
    req = _pending_of(session, deal_id)
    return _view(session, req) if req is not None else None


def pending_discounts(session: Session, deal_ids: list[int]) -> dict[int, DiscountView]:
    """The discounts waiting for approval on any of `deal_ids`, by deal id (one query for a listing)."""
    if not deal_ids:
        return {}
    found = session.scalars(select(DiscountRequest).where(
        DiscountRequest.deal_id.in_(deal_ids), DiscountRequest.status == DiscountStatus.PENDING))
    return {req.deal_id: _view(session, req) for req in found}


def pending_discount_of(uow: UnitOfWork, deal_id: int) -> DiscountView | None:
    """pending_discount in a read scope of its own."""
    with uow.read() as session:
        return pending_discount(session, deal_id)


def get_discount(uow: UnitOfWork, actor: Actor, request_id: int) -> DiscountView:
    """One request of the actor's workspace (tests, and the bot after a click)."""
    with uow.read() as session:
        req = session.get(DiscountRequest, request_id)
        if req is None or req.workspace_id != actor.workspace_id:
            raise NotFound(_("That discount request is gone."))
        return _view(session, req)
