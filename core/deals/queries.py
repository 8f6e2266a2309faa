"""Reading deals: find by ref or title, list with filters, history and activities.

Returns plain dataclasses (DealView, ActivityView, ChangeView); who may read what follows
SPEC section 7: reps read their own and their team's deals, managers their teams', admins all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, joinedload

from core.db import UnitOfWork
from core.errors import Ambiguous, InvalidInput, NotAllowed, NotFound
from core.i18n import _, ngettext
from core.money import from_minor
from core.tables import Activity, ActivityKind, Deal, DealChange, DealStatus, Stage, User
from core.text import casefold_for_match, loose_key
from core.words import status_word
from core.workspace.users import Actor, can_change_owned, require_can_change
from core.workspace.workspaces import default_pipeline, stages_of

REF_RE = re.compile(r"^\s*(?:d-?|#)?(\d{1,9})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class DealView:
    id: int
    ref: str
    number: int
    title: str
    account: str | None
    contact: str | None
    product: str | None
    amount: Decimal | None
    currency: str
    stage: str
    stage_id: int
    probability: int
    status: DealStatus
    owner_id: int | None
    owner_name: str | None
    owner_slack_id: str | None
    owner_team_id: int | None
    expected_close: date | None
    next_step: str | None
    source: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    lost_reason: str | None
    last_touch_at: datetime
    weighted: Decimal | None


@dataclass(frozen=True)
class ActivityView:
    id: int
    deal_ref: str | None
    kind: ActivityKind
    user_id: int | None
    user_name: str | None
    at: datetime
    text: str


@dataclass(frozen=True)
class ChangeView:
    field: str
    old_value: str | None
    new_value: str | None
    changed_by: str | None
    changed_at: datetime
    source: str


def _weighted(amount: Decimal | None, probability: int) -> Decimal | None:
    return None if amount is None else (amount * probability / 100).quantize(Decimal("0.01"))


def deal_view(deal: Deal) -> DealView:
    """The plain view of a deal (stage and owner loaded)."""
    stage, owner = deal.stage, deal.owner
    return _view_of_row((
        deal.id, deal.number, deal.title, deal.account, deal.contact, deal.product, deal.amount_minor,
        deal.currency, stage.name, stage.id, stage.probability, deal.status, deal.owner_id,
        owner.name if owner else None, owner.slack_id if owner else None, owner.team_id if owner else None,
        deal.expected_close, deal.next_step, deal.source, deal.created_at, deal.updated_at, deal.closed_at,
        deal.lost_reason, deal.last_touch_at,
    ))


# The columns of a DealView, for listings: selecting them directly skips building ORM
# objects, which is most of the cost of a 200-deal list (about 3x faster).
_VIEW_COLUMNS = (
    Deal.id, Deal.number, Deal.title, Deal.account, Deal.contact, Deal.product, Deal.amount_minor,
    Deal.currency, Stage.name.label("stage_name"), Deal.stage_id, Stage.probability, Deal.status,
    Deal.owner_id, User.name.label("owner_name"), User.slack_id.label("owner_slack_id"),
    User.team_id.label("owner_team_id"), Deal.expected_close, Deal.next_step, Deal.source,
    Deal.created_at, Deal.updated_at, Deal.closed_at, Deal.lost_reason, Deal.last_touch_at,
)


def _view_of_row(row: Any) -> DealView:  # _VIEW_COLUMNS' values, by position (a Row or a tuple)
    (id_, number, title, account, contact, product, amount_minor, currency, stage_name, stage_id,
     probability, status, owner_id, owner_name, owner_slack_id, owner_team_id, expected_close,
     next_step, source, created_at, updated_at, closed_at, lost_reason, last_touch_at) = row
    amount = None if amount_minor is None else from_minor(amount_minor)
    return DealView(
        id_, f"D-{number}", number, title, account, contact, product, amount, currency, stage_name,
        stage_id, probability, DealStatus(status), owner_id, owner_name, owner_slack_id, owner_team_id,
        expected_close, next_step, source, created_at, updated_at, closed_at, lost_reason,
        last_touch_at, _weighted(amount, probability),
    )


# -- lookups ------------------------------------------------------------------------------


def _deal_query(workspace_id: int) -> Select[Deal]:
    return select(Deal).where(Deal.workspace_id == workspace_id).options(joinedload(Deal.stage), joinedload(Deal.owner))


def _readable_by(actor: Actor) -> ColumnElement[bool]:
    """The deals `actor` may read (as _can_read), as SQL: what they may not read does not exist for them."""
    teams = [t for t in (actor.team_id, *actor.managed_team_ids) if t is not None]
    owners = select(User.id).where(or_(User.team_id.is_(None), User.team_id.in_(teams)))
    return or_(Deal.owner_id.is_(None), Deal.owner_id == actor.user_id, Deal.owner_id.in_(owners))


def find_deal(session: Session, workspace_id: int, ref: str, actor: Actor | None = None) -> Deal:
    """A deal by short id (D-42, 42) or an unambiguous part of its title.

    Several title matches prefer an exact title, then the only open one; otherwise
    Ambiguous carries up to ten candidates (as DealViews) for the user to pick from.
    With `actor`, only the deals they may read are looked at: a ref or title that only
    matches another team's deals is "no deal", not whose it is.
    """
    text = (ref or "").strip()
    if not text:
        raise InvalidInput(_("Which deal? Give its id (D-42) or part of its title."), field="ref")
    m = REF_RE.match(text)
    if m:
        by_number = _deal_query(workspace_id).where(Deal.number == int(m.group(1)))
        if actor is not None and not actor.is_admin:
            by_number = by_number.where(_readable_by(actor))
        deal = session.scalar(by_number)
        if deal is None:
            raise NotFound(_("There is no deal {ref}. Try `/deal list` to see your deals.").format(
                ref=f"D-{int(m.group(1))}"))
        return deal
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    by_title = _deal_query(workspace_id).where(func.lower(Deal.title).like(pattern, escape="\\"))
    if actor is not None and not actor.is_admin:
        by_title = by_title.where(_readable_by(actor))
    matches = list(session.scalars(by_title.order_by(Deal.status, Deal.number.desc()).limit(51)).unique())
    if not matches:
        matches = _titles_containing(session, workspace_id, text, actor)
    if not matches:
        raise NotFound(_('No deal matches "{text}". Give its id (D-42) or part of its title.').format(text=text))
    if len(matches) == 1:
        return matches[0]
    wanted = casefold_for_match(text)
    exact = [d for d in matches if casefold_for_match(d.title) == wanted]
    if len(exact) == 1:
        return exact[0]
    open_ = [d for d in matches if d.status == DealStatus.OPEN]
    if len(open_) == 1:
        return open_[0]
    candidates = [deal_view(d) for d in (open_ or matches)[:10]]
    if len(matches) <= 50:
        message = ngettext('"{text}" matches {n} deal: which one?', '"{text}" matches {n} deals: which one?',
                           len(matches)).format(text=text, n=len(matches))
    else:
        message = _('"{text}" matches over 50 deals: which one?').format(text=text)
    raise Ambiguous(message, candidates)


def _titles_containing(session: Session, workspace_id: int, text: str, actor: Actor | None) -> list[Deal]:
    """Deals whose title contains `text` by the reader's case rules (Turkish İ/ı, any letter's
    case), for when SQL's lower() (ASCII-only on SQLite) found none: "istanbul" finds "İSTANBUL".
    Titles are compared in Python; deals are loaded only for the (at most 51) that match."""
    titles = select(Deal.id, Deal.title).where(Deal.workspace_id == workspace_id)
    if actor is not None and not actor.is_admin:
        titles = titles.where(_readable_by(actor))
    rows = session.execute(titles).all()
    wanted, loose = casefold_for_match(text), loose_key(text)
    ids = [i for i, title in rows if wanted in casefold_for_match(title)]
    if not ids:
        ids = [i for i, title in rows if loose in loose_key(title)]
    if not ids:
        return []
    found = _deal_query(workspace_id).where(Deal.id.in_(ids[:51])).order_by(Deal.status, Deal.number.desc())
    return list(session.scalars(found).unique())


class AmbiguousRef(Ambiguous):
    """An ambiguous leading ref (see split_ref), with the words that followed it.

    The words let the command that asked re-run on the deal the user picks.
    """

    def __init__(self, err: Ambiguous, rest: list[str]) -> None:
        super().__init__(err.message, err.candidates, err.field)
        self.rest = rest


MAX_REF_WORDS = 20


def split_ref(session: Session, workspace_id: int, words: Sequence[str], *,
              min_rest: int = 0, actor: Actor | None = None) -> tuple[Deal, list[str]]:
    """The deal named at the start of `words`, and the words after it.

    `/deal note acme renewal budget approved` names the deal "Acme renewal" when the run
    "acme renewal" resolves (by find_deal's rules: a D-number, or an unambiguous title part)
    and leaves ["budget", "approved"] as the note. A D-number first word is the ref on its own;
    otherwise the longest leading run that matches any deal decides: the deal it resolves
    to, or AmbiguousRef (its candidates, and the words after the run) when it matches several
    — a longer run that is ambiguous is asked about rather than falling back to a shorter run
    that happens to resolve, so nothing lands on a deal the user may not have meant.
    At least `min_rest` words are left after the ref (`/deal stage <ref> <stage>` needs one).

    Adding words to a run only narrows its title matches, so runs are tried shortest first
    and the search stops at the first one that matches nothing: one query per word of the
    ref, plus one.
    Raises InvalidInput for no words, and the first word's NotFound when nothing matches.
    """
    words = list(words)
    longest = min(len(words) - min_rest, MAX_REF_WORDS)
    if longest < 1:
        raise InvalidInput(_("Which deal? Give its id (D-42) or part of its title."), field="ref")
    if REF_RE.match(words[0]):
        return find_deal(session, workspace_id, words[0], actor), words[1:]
    found: Deal | None = None
    ambiguous: Ambiguous | None = None
    used = 0
    for k in range(1, longest + 1):
        try:
            found, ambiguous = find_deal(session, workspace_id, " ".join(words[:k]), actor), None
        except NotFound:
            if k == 1:
                raise
            break
        except Ambiguous as err:
            found, ambiguous = None, err
        used = k
    if ambiguous is not None:
        raise AmbiguousRef(ambiguous, words[used:])
    assert found is not None
    return found, words[used:]


def stage_named(session: Session, pipeline_id: int, name: str) -> Stage:
    stages = stages_of(session, pipeline_id)
    found: list[Stage] = []
    for key in (casefold_for_match, loose_key):  # the reader's case rules first, then ı = i
        wanted = key((name or "").strip())
        exact = [s for s in stages if key(s.name) == wanted]
        prefix = [s for s in stages if key(s.name).startswith(wanted)] if wanted else []
        found = exact or (prefix if len(prefix) == 1 else [])
        if found:
            break
    if not found:
        names = ", ".join(s.name for s in stages)
        raise InvalidInput(_('There is no stage "{name}". Stages: {stages}.').format(name=name, stages=names),
                           field="stage")
    return found[0]


def _can_read(actor: Actor, owner: User | None) -> bool:
    if owner is None or actor.is_admin or owner.id == actor.user_id:
        return True
    if owner.team_id is not None and owner.team_id == actor.team_id:
        return True  # anyone may read their team's pipeline
    return actor.manages_team(owner.team_id) or owner.team_id is None


def _require_read(actor: Actor, deal: Deal) -> None:
    if not _can_read(actor, deal.owner):
        raise NotAllowed(_("{ref} belongs to another team; you can read your own team's deals.").format(ref=deal.ref))


def load_deal(session: Session, actor: Actor, ref: str, for_change: bool) -> Deal:
    deal = find_deal(session, actor.workspace_id, ref, actor)
    if for_change:
        require_can_change(actor, deal.owner, deal.ref)
    else:
        _require_read(actor, deal)
    return deal


# -- queries ------------------------------------------------------------------------------


def get_deal(uow: UnitOfWork, actor: Actor, ref: str) -> DealView:
    """A deal the actor may read."""
    with uow.read() as session:
        return deal_view(load_deal(session, actor, ref, for_change=False))


def get_changeable_deal(uow: UnitOfWork, actor: Actor, ref: str, *, must_be_open: bool = False) -> DealView:
    """A deal the actor may change (checked before a form for it opens); NotAllowed otherwise.

    `must_be_open` refuses a closed deal too (InvalidInput), e.g. before the Close-lost form.
    """
    deal = get_deal(uow, actor, ref)
    if not can_change_owned(actor, deal.owner_id, deal.owner_team_id):
        if deal.owner_name:
            raise NotAllowed(_("You can't change {ref}: it is {owner}'s. Reps change their own, managers their "
                               "team's.").format(ref=deal.ref, owner=deal.owner_name))
        raise NotAllowed(_("You can't change {ref}: it is nobody's. Reps change their own, managers their "
                           "team's.").format(ref=deal.ref))
    if must_be_open and deal.status != DealStatus.OPEN:
        raise InvalidInput(_("{ref} is already {status}.").format(ref=deal.ref, status=status_word(deal.status)))
    return deal


def _listing_filters(
    session: Session,
    actor: Actor,
    owner_ids: list[int] | None,
    team_id: int | None,
    stage: str | None,
    closing: tuple[date, date] | None,
    status: DealStatus | str | None,
) -> list[ColumnElement[bool]]:
    """The WHERE of a deal listing (deals outer-joined to their owner), permissions checked."""
    conds: list[ColumnElement[bool]] = [Deal.workspace_id == actor.workspace_id]
    if owner_ids is not None:
        others = [i for i in owner_ids if i != actor.user_id]  # one's own deals need no check
        owners = list(session.scalars(select(User).where(User.id.in_(others)))) if others else []
        for owner in owners:
            if not _can_read(actor, owner):
                raise NotAllowed(_("{name} is in another team; you can list your own team's deals.").format(
                    name=owner.name))
        conds.append(Deal.owner_id.in_(owner_ids))
    if team_id is not None:
        if not (team_id == actor.team_id or actor.manages_team(team_id)):
            raise NotAllowed(_("You can list your own team's deals, or those of teams you manage."))
        conds.append(User.team_id == team_id)
    if owner_ids is None and team_id is None and not actor.is_admin:
        # Without a filter a rep sees what they may read: their own and their team's.
        visible = [User.id == actor.user_id]
        if actor.team_id is not None:
            visible.append(User.team_id == actor.team_id)
        if actor.managed_team_ids:
            visible.append(User.team_id.in_(actor.managed_team_ids))
        conds.append(or_(*visible))
    if stage:
        pipeline = default_pipeline(session, actor.workspace_id)
        conds.append(Deal.stage_id == stage_named(session, pipeline.id, stage).id)
    if closing is not None:
        conds += [Deal.expected_close >= closing[0], Deal.expected_close <= closing[1]]
    if status is not None:
        conds.append(Deal.status == DealStatus(status))
    return conds


def _listed(session: Session, actor: Actor, conds: list[ColumnElement[bool]], limit: int,
            by_stage: bool = False) -> list[DealView]:
    first = (Stage.position,) if by_stage else ()
    query = (
        select(*_VIEW_COLUMNS)
        .select_from(Deal)
        .join(Stage, Stage.id == Deal.stage_id)
        .join(User, User.id == Deal.owner_id, isouter=True)
        .where(*conds)
        # NULLS LAST (not "IS NULL" first): PostgreSQL can then walk ix_deals_owner_status in order.
        .order_by(*first, Deal.expected_close.asc().nulls_last(), Deal.number)
        .limit(limit)
    )
    return [_view_of_row(row) for row in session.execute(query)]


def list_deals(
    uow: UnitOfWork,
    actor: Actor,
    *,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
    stage: str | None = None,
    closing: tuple[date, date] | None = None,
    status: DealStatus | str | None = DealStatus.OPEN,
    limit: int = 200,
) -> list[DealView]:
    """Deals filtered by owner, team, stage, closing period and status (open by default)."""
    with uow.read() as session:
        conds = _listing_filters(session, actor, owner_ids, team_id, stage, closing, status)
        return _listed(session, actor, conds, limit)


def list_deals_counted(
    uow: UnitOfWork,
    actor: Actor,
    *,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
    stage: str | None = None,
    closing: tuple[date, date] | None = None,
    status: DealStatus | str | None = DealStatus.OPEN,
    limit: int = 200,
    by_stage: bool = False,
) -> tuple[list[DealView], int]:
    """The first `limit` deals of list_deals and how many match in all (for "and N more").

    A list that can only show a few dozen loads those, and counts the rest in SQL.
    `by_stage` orders by stage position first (the App Home groups by stage).
    """
    with uow.read() as session:
        conds = _listing_filters(session, actor, owner_ids, team_id, stage, closing, status)
        found = _listed(session, actor, conds, limit, by_stage)
        if len(found) < limit:
            return found, len(found)
        total = session.scalar(
            select(func.count(Deal.id)).select_from(Deal).join(Deal.owner, isouter=True).where(*conds)
        )
        return found, int(total or 0)


def count_deals(
    uow: UnitOfWork,
    actor: Actor,
    *,
    owner_ids: list[int] | None = None,
    status: DealStatus | str | None = DealStatus.OPEN,
) -> int:
    """How many deals match (for "and N more" under a cut list)."""
    with uow.read() as session:
        query = select(func.count(Deal.id)).where(Deal.workspace_id == actor.workspace_id)
        if owner_ids is not None:
            query = query.where(Deal.owner_id.in_(owner_ids))
        if status is not None:
            query = query.where(Deal.status == DealStatus(status))
        return int(session.scalar(query) or 0)


def deal_history(uow: UnitOfWork, actor: Actor, ref: str) -> list[ChangeView]:
    """Every change of a deal, oldest first."""
    with uow.read() as session:
        deal = load_deal(session, actor, ref, for_change=False)
        rows = session.execute(
            select(DealChange, User.name)
            .join(User, User.id == DealChange.changed_by_id, isouter=True)
            .where(DealChange.deal_id == deal.id)
            .order_by(DealChange.changed_at, DealChange.id)
        )
        return [ChangeView(c.field, c.old_value, c.new_value, name, c.changed_at, c.source) for c, name in rows]


def latest_activities(session: Session, deal: Deal, limit: int) -> list[ActivityView]:
    """A deal's latest activities, newest first (no permission check: the caller made it)."""
    rows = session.execute(
        select(Activity, User.name)
        .join(User, User.id == Activity.user_id, isouter=True)
        .where(Activity.deal_id == deal.id)
        .order_by(Activity.at.desc(), Activity.id.desc())
        .limit(limit)
    )
    return [ActivityView(a.id, deal.ref, a.kind, a.user_id, name, a.at, a.text) for a, name in rows]


def deal_activities(uow: UnitOfWork, actor: Actor, ref: str, limit: int = 20) -> list[ActivityView]:
    """A deal's latest activities, newest first."""
    with uow.read() as session:
        return latest_activities(session, load_deal(session, actor, ref, for_change=False), limit)


def stale_clause(stages: list[tuple[int, int]], now: datetime) -> Any:
    """Deal untouched for longer than its stage's rotting days (one OR per stage: portable SQL)."""
    parts = [
        and_(Deal.stage_id == stage_id, Deal.last_touch_at < now - timedelta(days=days))
        for stage_id, days in stages
        if days > 0
    ]
    return or_(*parts) if parts else false()
