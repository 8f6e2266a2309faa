"""Leads: add, find, list, show, assign, claim, convert to a deal, disqualify (SPEC sections 3, 4, 7).

Intake and merging by email live in core.leads.intake; this module is what people do with
leads. Claims are first-click-wins: one conditional UPDATE ... WHERE owner_id IS NULL, so of
twenty simultaneous clicks exactly one changes a row and the others learn who won.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core.dates import local_now
from core.db import UnitOfWork
from core.deals import deals
from core.errors import Ambiguous, InvalidInput, NotAllowed, NotFound
from core.i18n import _
from core.leads import predictive, training
from core.leads.hot import OPEN_STATUSES
from core.leads.intake import ScoringContext, clean_lead, rescore, upsert_lead
from core.leads.points import Reason
from core.leads.routing import assigned_by, notify_assignee
from core.money import Money
from core.notify import cards
from core.tables import Activity, Deal, DealChange, Lead, LeadEvent, LeadStatus, Team, User, Workspace
from core.text import casefold_for_match, loose_key
from core.words import status_word
from core.workspace.users import Actor, can_change_owned

_REF = re.compile(r"(?:l-?)?(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class LeadView:
    id: int
    ref: str
    name: str
    email: str | None
    company: str | None
    title: str | None
    phone: str | None
    source: str | None
    country: str | None
    industry: str | None
    employees: int | None
    attributes: dict[str, Any]
    status: LeadStatus
    owner_id: int | None
    owner_name: str | None
    owner_slack_id: str | None
    team_id: int | None
    team_name: str | None
    score: int
    reasons: tuple[Reason, ...]
    predicted: int | None
    hot: bool
    hot_since: datetime | None
    disqualify_reason: str | None
    deal_id: int | None
    deal_ref: str | None
    events: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ClaimResult:
    """A claim's outcome: `won` False means someone else owns it (`lead.owner_*` say who)."""

    won: bool
    lead: LeadView


def lead_view(session: Session, lead: Lead) -> LeadView:
    """A lead as plain data, with its owner, team and deal resolved."""
    owner = session.get(User, lead.owner_id) if lead.owner_id is not None else None
    team = session.get(Team, lead.team_id) if lead.team_id is not None else None
    deal = session.get(Deal, lead.deal_id) if lead.deal_id is not None else None
    events = session.scalar(select(func.count()).select_from(LeadEvent).where(LeadEvent.lead_id == lead.id)) or 0
    return LeadView(
        id=lead.id,
        ref=lead.ref,
        name=lead.name,
        email=lead.email,
        company=lead.company,
        title=lead.title,
        phone=lead.phone,
        source=lead.source,
        country=lead.country,
        industry=lead.industry,
        employees=lead.employees,
        attributes=dict(lead.attributes or {}),
        status=LeadStatus(lead.status),
        owner_id=lead.owner_id,
        owner_name=owner.name if owner else None,
        owner_slack_id=owner.slack_id if owner else None,
        team_id=lead.team_id,
        team_name=team.name if team else None,
        score=lead.score,
        reasons=tuple(Reason.from_json(r) for r in lead.score_reasons or []),
        predicted=lead.predicted,
        hot=lead.hot,
        hot_since=lead.hot_since,
        disqualify_reason=lead.disqualify_reason,
        deal_id=lead.deal_id,
        deal_ref=deal.ref if deal else None,
        events=int(events),
        created_at=lead.created_at,
        updated_at=lead.updated_at,
    )


def find_lead(session: Session, workspace_id: int, ref: str) -> Lead:
    """A lead by `L-7`, `7`, its email, or an unambiguous part of its name or company."""
    ref = ref.strip()
    if not ref:
        raise InvalidInput(_("Which lead? Give its ref (L-7), email or name."), field="ref")
    m = _REF.fullmatch(ref)
    if m:
        lead = session.scalar(select(Lead).where(Lead.workspace_id == workspace_id, Lead.number == int(m.group(1))))
        if lead is None:
            raise NotFound(_("No lead {ref} here.").format(ref=f"L-{int(m.group(1))}"))
        return lead
    if "@" in ref:
        lead = session.scalar(select(Lead).where(Lead.workspace_id == workspace_id, Lead.email_key == ref.casefold()))
        if lead is None:
            raise NotFound(_("No lead with email {email}.").format(email=ref))
        return lead
    pattern = f"%{ref.lower()}%"
    found = list(
        session.scalars(
            select(Lead)
            .where(
                Lead.workspace_id == workspace_id,
                or_(func.lower(Lead.name).like(pattern), func.lower(Lead.company).like(pattern)),
            )
            .order_by(Lead.number)
            .limit(11)
        )
    )
    if not found:
        found = _leads_named(session, workspace_id, ref)
    wanted = casefold_for_match(ref)
    exact = [lead for lead in found if casefold_for_match(lead.name) == wanted]
    if len(exact) == 1 or len(found) == 1:
        return (exact or found)[0]
    if not found:
        raise NotFound(_("No lead matches {ref}. Try /lead list.").format(ref=repr(ref)))
    raise Ambiguous(_("{ref} matches several leads: pick one.").format(ref=repr(ref)),
                    [f"{lead.ref} {lead.name}" for lead in found[:10]])


def _leads_named(session: Session, workspace_id: int, ref: str) -> list[Lead]:
    """Leads whose name or company contains `ref` by the reader's case rules (Turkish İ/ı; SQL's
    lower() is ASCII-only on SQLite), then with ı = i: for when the SQL search found none."""
    rows = session.execute(
        select(Lead.id, Lead.name, Lead.company).where(Lead.workspace_id == workspace_id).order_by(Lead.number)
    ).all()
    ids: list[int] = []
    for key in (casefold_for_match, loose_key):
        wanted = key(ref)
        ids = [i for i, name, company in rows if wanted in key(name or "") or wanted in key(company or "")]
        if ids:
            break
    if not ids:
        return []
    return list(session.scalars(select(Lead).where(Lead.id.in_(ids[:11])).order_by(Lead.number)))


def lead_ref(uow: UnitOfWork, workspace_id: int, lead_id: int) -> str:
    """The ref (L-7) of a lead id from a button; NotFound when it is gone or not this workspace's."""
    with uow.read() as session:
        lead = session.get(Lead, lead_id)
        if lead is None or lead.workspace_id != workspace_id:
            raise NotFound(_("That lead no longer exists."))
        return lead.ref


def _require_can_change(session: Session, actor: Actor, lead: Lead, what: str) -> None:
    owner = session.get(User, lead.owner_id) if lead.owner_id is not None else None
    team_id = owner.team_id if owner is not None else lead.team_id
    if not can_change_owned(actor, lead.owner_id, team_id):
        raise NotAllowed(_lead_refusal(what, lead.ref, owner.name if owner else None))


def _lead_refusal(what: str, ref: str, owner: str | None) -> str:
    """Why the actor may not `what` (update, assign, disqualify, convert) someone else's lead."""
    if owner is None:
        sentences = {
            "update": _("You can't update {ref}: it is not yours yet (claim it first). Reps change their own, "
                        "managers their team's."),
            "assign": _("You can't assign {ref}: it is not yours yet (claim it first). Reps change their own, "
                        "managers their team's."),
            "disqualify": _("You can't disqualify {ref}: it is not yours yet (claim it first). Reps change their "
                            "own, managers their team's."),
            "convert": _("You can't convert {ref}: it is not yours yet (claim it first). Reps change their own, "
                         "managers their team's."),
        }
    else:
        sentences = {
            "update": _("You can't update {ref}: it is {owner}'s. Reps change their own, managers their team's."),
            "assign": _("You can't assign {ref}: it is {owner}'s. Reps change their own, managers their team's."),
            "disqualify": _("You can't disqualify {ref}: it is {owner}'s. Reps change their own, managers their "
                            "team's."),
            "convert": _("You can't convert {ref}: it is {owner}'s. Reps change their own, managers their team's."),
        }
    return sentences.get(what, sentences["update"]).format(ref=ref, owner=owner)


def create_lead(uow: UnitOfWork, actor: Actor, data: dict[str, Any], *, now: datetime) -> LeadView:
    """Add a lead from Slack (/lead new, the modal), owned by the actor; a known email updates that lead."""
    fields = clean_lead(data)
    with uow.transaction() as session:
        ws = session.get_one(Workspace, actor.workspace_id)
        lead, created = upsert_lead(
            session,
            ws,
            fields,
            now,
            owner_id=actor.user_id,
            status=LeadStatus.ASSIGNED,
            claimed_at=now,
            team_id=actor.team_id,
        )
        if not created:
            _require_can_change(session, actor, lead, "update")
        rescore(session, ScoringContext(session, ws), lead, now)
        session.flush()
        return lead_view(session, lead)


def get_lead(uow: UnitOfWork, actor: Actor, ref: str) -> LeadView:
    """One lead with its score reasons (anyone in the workspace may read)."""
    with uow.read() as session:
        return lead_view(session, find_lead(session, actor.workspace_id, ref))


@dataclass(frozen=True)
class LeadDetail:
    """What /lead show shows: the lead, its win probability (None without a trained model),
    and what the model says about itself (empty when it is ready)."""

    lead: LeadView
    prediction: predictive.Prediction | None
    model_note: str


def show_lead(uow: UnitOfWork, actor: Actor, ref: str) -> LeadDetail:
    """One lead with its score reasons, its win probability and the model's state."""
    with uow.read() as session:
        row = find_lead(session, actor.workspace_id, ref)
        status = training.model_status(session, actor.workspace_id)
        return LeadDetail(lead_view(session, row), training.explain(session, row), str(status.get("message") or ""))


def list_leads(uow: UnitOfWork, actor: Actor, which: str = "open", *, limit: int = 50) -> list[LeadView]:
    """Leads by `hot`, `mine`, `new` or `open` (the default), best score first."""
    q = select(Lead).where(Lead.workspace_id == actor.workspace_id)
    if which == "hot":
        q = q.where(Lead.hot.is_(True), Lead.status.in_(OPEN_STATUSES))
    elif which == "mine":
        q = q.where(Lead.owner_id == actor.user_id, Lead.status.in_(OPEN_STATUSES))
    elif which == "new":
        q = q.where(Lead.status == LeadStatus.NEW)
    elif which == "open":
        q = q.where(Lead.status.in_(OPEN_STATUSES))
    else:
        raise InvalidInput(_("/lead list takes hot, mine or new, not {which}.").format(
            which=repr(which)), field="which")
    with uow.read() as session:
        rows = session.scalars(q.order_by(Lead.score.desc(), Lead.number.desc()).limit(limit)).all()
        return [lead_view(session, lead) for lead in rows]


def hot_leads_waiting_for(uow: UnitOfWork, actor: Actor, *, limit: int = 200) -> list[LeadView]:
    """Hot open leads the actor should act on, best score first: their own and unclaimed ones,
    of no team, of the actor's team or of a team they manage (admins: every team)."""
    q = select(Lead).where(
        Lead.workspace_id == actor.workspace_id,
        Lead.hot.is_(True),
        Lead.status.in_(OPEN_STATUSES),
        or_(Lead.owner_id.is_(None), Lead.owner_id == actor.user_id),
    )
    if not actor.is_admin:
        teams = {*actor.managed_team_ids, *([actor.team_id] if actor.team_id is not None else [])}
        q = q.where(or_(Lead.team_id.is_(None), Lead.team_id.in_(teams)))
    with uow.read() as session:
        rows = session.scalars(q.order_by(Lead.score.desc(), Lead.number.desc()).limit(limit)).all()
        return [lead_view(session, lead) for lead in rows]


def claim_lead(uow: UnitOfWork, actor: Actor, lead_id: int, *, now: datetime) -> ClaimResult:
    """First click wins: the lead becomes the actor's only if nobody owns it yet."""
    with uow.transaction() as session:
        won = session.execute(
            update(Lead)
            .where(
                Lead.id == lead_id,
                Lead.workspace_id == actor.workspace_id,
                Lead.owner_id.is_(None),
                Lead.status == LeadStatus.NEW,
            )
            .values(owner_id=actor.user_id, status=LeadStatus.ASSIGNED, claimed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        lead = session.get(Lead, lead_id, populate_existing=True)
        if lead is None or lead.workspace_id != actor.workspace_id:
            raise NotFound(_("That lead no longer exists."))
        if not won and lead.owner_id is None:
            raise InvalidInput(_("{ref} is {status}: there is nothing to claim.").format(
                ref=lead.ref, status=status_word(lead.status)))
        return ClaimResult(bool(won), lead_view(session, lead))


def assign_lead(uow: UnitOfWork, actor: Actor, ref: str, user_id: int, *, now: datetime) -> LeadView:
    """Give a lead to someone (overrides routing); they get a DM unless they assigned it to themselves."""
    with uow.transaction() as session:
        lead = find_lead(session, actor.workspace_id, ref)
        target = session.get(User, user_id)
        if target is None or target.workspace_id != actor.workspace_id:
            raise NotFound(_("That person isn't in this workspace."))
        self_claim = lead.owner_id is None and target.id == actor.user_id
        if not self_claim:
            _require_can_change(session, actor, lead, "assign")
            if target.id != actor.user_id and not can_change_owned(actor, target.id, target.team_id):
                raise NotAllowed(_("You can't give leads to {name}: only their manager or an admin can.").format(
                    name=target.name))
        if lead.status not in OPEN_STATUSES:
            raise InvalidInput(_("{ref} is {status}; only open leads can be assigned.").format(
                ref=lead.ref, status=status_word(lead.status)))
        lead.owner_id, lead.status, lead.claimed_at, lead.updated_at = target.id, LeadStatus.ASSIGNED, now, now
        if target.team_id is not None:
            lead.team_id = target.team_id
        session.flush()
        if target.id != actor.user_id:
            notify_assignee(session, lead, target, assigned_by(actor.name), now)
        return lead_view(session, lead)


UNDO_WINDOW = cards.UNDO_WINDOW  # its card waits the window out before being refreshed


class TooLateToUndo(InvalidInput):
    """An Undo pressed after UNDO_WINDOW: the lead stays as it is."""


def _check_disqualify(session: Session, actor: Actor, lead: Lead) -> None:
    # An unowned lead may be turned down by anyone in its team (the alert's "Not a fit").
    in_team = lead.owner_id is None and (actor.team_id == lead.team_id or actor.manages_team(lead.team_id))
    if not in_team:
        _require_can_change(session, actor, lead, "disqualify")
    if lead.status not in OPEN_STATUSES:
        raise InvalidInput(_("{ref} is already {status}.").format(ref=lead.ref, status=status_word(lead.status)))


def disqualify_check(uow: UnitOfWork, actor: Actor, lead_id: int) -> LeadView:
    """The lead behind a "Not a fit" button, if the actor may disqualify it now (else why not)."""
    with uow.read() as session:
        lead = session.get(Lead, lead_id)
        if lead is None or lead.workspace_id != actor.workspace_id:
            raise NotFound(_("That lead no longer exists."))
        _check_disqualify(session, actor, lead)
        return lead_view(session, lead)


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def disqualify_lead(uow: UnitOfWork, actor: Actor, ref: str, reason: str | None, *, now: datetime,
                    require_reason: bool = False) -> LeadView:
    """Close a lead as not a fit, keeping the reason (and what it scored).

    What the lead was (status, owner, claim, heat, reason) is kept so that whoever did it can
    undo it within UNDO_WINDOW (`undo_disqualify`). `require_reason` refuses an empty reason
    (the alert's modal) instead of using "not a fit".
    """
    reason = " ".join((reason or "").split())[:500]
    if require_reason and not reason:
        raise InvalidInput(_("Say why it is not a fit (a few words are enough)."), field="reason")
    with uow.transaction() as session:
        lead = find_lead(session, actor.workspace_id, ref)
        _check_disqualify(session, actor, lead)
        lead.disqualify_undo = {
            "at": now.isoformat(),
            "by": actor.user_id,
            "status": LeadStatus(lead.status).value,
            "owner_id": lead.owner_id,
            "claimed_at": _at(lead.claimed_at),
            "hot": bool(lead.hot),
            "hot_since": _at(lead.hot_since),
            "disqualify_reason": lead.disqualify_reason,
        }
        lead.status, lead.disqualify_reason = LeadStatus.DISQUALIFIED, reason or "not a fit"
        lead.hot, lead.updated_at = False, now
        if lead.owner_id is None:
            lead.owner_id = actor.user_id  # who decided, for the record
        session.flush()
        return lead_view(session, lead)


def undo_disqualify(uow: UnitOfWork, actor: Actor, lead_id: int, *, now: datetime) -> LeadView:
    """Put a lead back as it was before "Not a fit": only who did it, within UNDO_WINDOW of `now`."""
    with uow.transaction() as session:
        lead = session.get(Lead, lead_id, with_for_update=True)
        if lead is None or lead.workspace_id != actor.workspace_id:
            raise NotFound(_("That lead no longer exists."))
        undo = lead.disqualify_undo
        if lead.status != LeadStatus.DISQUALIFIED or not undo:
            raise InvalidInput(_("{ref} is {status}: there is nothing to undo.").format(
                ref=lead.ref, status=status_word(lead.status)))
        if undo.get("by") != actor.user_id:
            who = session.get(User, undo.get("by")) if undo.get("by") is not None else None
            if who is None:
                raise NotAllowed(_("Only the person who marked it can undo this; {ref} stays disqualified.").format(
                    ref=lead.ref))
            raise NotAllowed(_("Only {name} can undo this; {ref} stays disqualified.").format(
                name=who.name, ref=lead.ref))
        if now - datetime.fromisoformat(undo["at"]) > UNDO_WINDOW:
            raise TooLateToUndo(_("Too late to undo: {ref} was marked not a fit more than a minute ago, "
                                  "so it stays disqualified.").format(ref=lead.ref))
        lead.status = LeadStatus(undo["status"])
        lead.owner_id = undo.get("owner_id")
        lead.claimed_at = datetime.fromisoformat(undo["claimed_at"]) if undo.get("claimed_at") else None
        lead.hot = bool(undo.get("hot"))
        lead.hot_since = datetime.fromisoformat(undo["hot_since"]) if undo.get("hot_since") else None
        lead.disqualify_reason = undo.get("disqualify_reason")
        lead.disqualify_undo = None
        lead.updated_at = now
        session.flush()
        return lead_view(session, lead)


def conversion_check(uow: UnitOfWork, actor: Actor, ref: str) -> LeadView:
    """The lead `/lead convert` would turn into a deal, if the actor may (else why not); nothing written."""
    with uow.read() as session:
        lead = find_lead(session, actor.workspace_id, ref)
        _check_convert(session, actor, lead)
        return lead_view(session, lead)


def _check_convert(session: Session, actor: Actor, lead: Lead) -> None:
    if lead.owner_id is not None:  # converting an unclaimed lead claims it
        _require_can_change(session, actor, lead, "convert")
    if lead.status == LeadStatus.CONVERTED:
        deal = session.get(Deal, lead.deal_id) if lead.deal_id is not None else None
        if deal is not None:
            raise InvalidInput(_("{ref} is already converted to deal {deal}.").format(ref=lead.ref, deal=deal.ref))
        raise InvalidInput(_("{ref} is already converted.").format(ref=lead.ref))
    if lead.status == LeadStatus.DISQUALIFIED:
        raise InvalidInput(_("{ref} was disqualified ({reason}); it can't become a deal.").format(
            ref=lead.ref, reason=lead.disqualify_reason))


def default_deal_title(lead: LeadView) -> str:
    """The title a converted lead's deal gets unless someone gives another."""
    return (f"{lead.company} – {lead.name}" if lead.company else lead.name)[:200]


def convert_lead(
    uow: UnitOfWork,
    actor: Actor,
    ref: str,
    *,
    now: datetime,
    title: str | None = None,
    amount: Money | None = None,
    expected_close: date | None = None,
    owner_id: int | None = None,
) -> tuple[LeadView, deals.DealView]:
    """Make a deal from a lead (one transaction): the deal and lead point at each other, history moves along.

    The deal's owner is `owner_id` when given (permission checked as for any new deal), else
    the lead's owner (an unclaimed lead becomes the actor's).
    """
    if expected_close is not None and expected_close < local_now(now, actor.tz).date():
        raise InvalidInput(_("{date} is in the past; the expected close date is today or later.").format(
            date=expected_close.isoformat()), field="expected_close")
    with uow.transaction() as session:
        lead = find_lead(session, actor.workspace_id, ref)
        _check_convert(session, actor, lead)
        if lead.owner_id is None:
            lead.owner_id = actor.user_id  # converting an unclaimed lead claims it
        deal_title = title or default_deal_title(lead_view(session, lead))
        view = deals.create_deal(
            uow,
            actor,
            title=deal_title[:200],
            now=now,
            amount=amount,
            expected_close=expected_close,
            owner_id=owner_id if owner_id is not None else lead.owner_id,
            account=lead.company,
            contact=lead.name,
            source=lead.source or f"lead {lead.ref}",
        )
        deal = session.get_one(Deal, view.id)
        deal.lead_id = lead.id
        lead.deal_id, lead.status, lead.hot, lead.updated_at = deal.id, LeadStatus.CONVERTED, False, now
        session.add(
            DealChange(
                workspace_id=actor.workspace_id,
                deal_id=deal.id,
                field="lead",
                old_value=None,
                new_value=lead.ref,
                changed_by_id=actor.user_id,
                changed_at=now,
                source="slack",
            )
        )
        # Activities logged on the lead become part of the deal's history.
        session.execute(
            update(Activity).where(Activity.lead_id == lead.id, Activity.deal_id.is_(None)).values(deal_id=deal.id)
        )
        session.flush()
        return lead_view(session, lead), deals.get_deal(uow, actor, view.ref)
