"""The figures every surface shows, each defined once and computed here (SPEC section 9).

- won (lost) in a period: deals closed won (lost) whose close date, in the workspace's time
  zone, is inside the period and not after today there (so today's closes count today; a
  date-only close date is stored at 12:00 UTC and read as that date); created alike, from
  the day the deal entered the pipeline (its engagement date when an import dates it earlier).
- open pipeline as of `now`: deals that had entered the pipeline by `now` and were not closed
  by then, in the stage they stood in (rebuilt from the history when the data holds later
  events, as in a replay of the past).
- money is summed in the workspace's base currency: SQL groups the sums by (group, currency,
  day) and each group is converted with core.workspace.rates.RateBook at the rate in force on
  its close day (open deals: today). Converted sums are marked approximate; deals of a
  currency without a rate are left out of the amount and counted (`Amount.missing`).

Sums stay exact Decimals until `Amount.amount` rounds them to cents, so a figure grouped by
stage and the same figure grouped by team add up to the same cent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Numeric,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session

from core.deals.stage_flow import deal_start
from core.tables import Activity, Deal, DealChange, DealStatus, Stage, User, Workspace
from core.workspace.rates import RateBook

_CENT = Decimal("0.01")
FAR = datetime(9000, 1, 1, tzinfo=UTC)  # the "now" of figures over the data as it stands (no cut-off)


def _zone(tz: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Basis:
    """What every figure of one workspace at one instant depends on."""

    workspace_id: int
    now: datetime
    tz: str
    book: RateBook
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def base(self) -> str:
        return self.book.base

    @property
    def today(self) -> date:
        """Today in the workspace's time zone."""
        return self.now.astimezone(_zone(self.tz)).date()

    def midnight(self, day: date) -> datetime:
        """00:00 of `day` in the workspace's zone, as an aware UTC instant."""
        return datetime.combine(day, time(), tzinfo=_zone(self.tz)).astimezone(UTC)

    def period(self, start: date, end: date) -> tuple[datetime, datetime]:
        """[start 00:00, the day after min(end, today) 00:00) in the workspace's zone."""
        last = min(end, self.today)
        return self.midnight(start), self.midnight(max(last + timedelta(days=1), start))

    def later(self, session: Session) -> bool:
        """Whether the data holds events after `now` (asked once per Basis)."""
        if "later" not in self._memo:
            self._memo["later"] = happened_after(session, self.workspace_id, self.now)
        return bool(self._memo["later"])

    def quarter(self) -> str:
        """The current quarter's label (`2017-Q3`) in the workspace's zone."""
        t = self.today
        return f"{t.year}-Q{(t.month - 1) // 3 + 1}"


def basis(session: Session, workspace_id: int, now: datetime) -> Basis:
    """The workspace's time zone and exchange rates, for figures at `now`.

    On PostgreSQL it also turns JIT compilation off for the rest of the read transaction:
    these grouped scans are estimated expensive enough to trigger it, and compiling them
    (2-3 s) costs far more than running them (tens of ms).
    """
    no_jit(session)
    tz = session.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id)) or "UTC"
    return Basis(workspace_id, now, tz, RateBook.load(session, workspace_id))


@dataclass
class Amount:
    """A count of deals and their amount in the base currency.

    `approx`: some deals were converted from another currency; `missing`: deals left out of
    the amount (not of the count) because their currency has no rate, by currency.
    """

    count: int = 0
    exact: Decimal = Decimal(0)  # unrounded, in units of the base currency
    approx: bool = False
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def amount(self) -> Decimal:
        return self.exact.quantize(_CENT)

    @property
    def left_out(self) -> int:
        return sum(self.missing.values())

    def add(self, other: Amount) -> Amount:
        self.count += other.count
        self.exact += other.exact
        self.approx = self.approx or other.approx
        for cur, n in other.missing.items():
            self.missing[cur] = self.missing.get(cur, 0) + n
        return self

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.count, self.exact, self.approx, dict(self.missing)).add(other)

    def put(self, book: RateBook, currency: str, on: date, count: int, units: int, scale: int = 100) -> None:
        """Add `count` deals summing `units` (1/scale of `currency`), converted as of `on`."""
        self.count += count
        rate = book.rate_on(currency or book.base, on)
        if rate is None:
            self.missing[currency] = self.missing.get(currency, 0) + count
            return
        if currency and currency != book.base:
            self.approx = True
        self.exact += Decimal(units) * rate / scale


def no_jit(session: Session) -> None:
    """On PostgreSQL, for this read transaction: JIT off (see `basis`) and sorts of ~100k grouped
    rows kept in memory (64 MB); nothing elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))


def total(amounts: Any) -> Amount:
    """The sum of Amounts."""
    out = Amount()
    for a in amounts:
        out.add(a)
    return out


def _day(session: Session, moment: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, in SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(moment)
    return cast(func.timezone("UTC", moment), Date)


def _as_date(value: Any, default: date) -> date:
    if value is None:
        return default
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def rate_day(session: Session, b: Basis) -> ColumnElement[Any]:
    """The day whose rate converts a deal: its close day; NULL (= today) when open or in the base."""
    return case(
        (Deal.currency == b.base, None),
        (Deal.status == DealStatus.OPEN, None),
        else_=_day(session, Deal.closed_at),
    )


@dataclass(frozen=True)
class Scope:
    """Whose deals: WHERE conditions on Deal (and User when grouped by team) and a group key."""

    conds: tuple[ColumnElement[bool], ...]
    key: Any = None  # a SQL expression to group by, or None for one group (key None)


def scope(
    workspace_id: int,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
    team_ids: list[int] | None = None,
    by_team: bool = False,
) -> Scope:
    """A rep (owner_ids), a team, some teams, or the workspace; `by_team` groups by the owner's team."""
    conds: list[ColumnElement[bool]] = [Deal.workspace_id == workspace_id]
    if owner_ids is not None:
        conds.append(Deal.owner_id.in_(owner_ids))
    if team_id is not None:
        conds.append(Deal.owner_id.in_(select(User.id).where(User.team_id == team_id)))
    if by_team or team_ids is not None:
        conds += [User.id == Deal.owner_id, User.team_id.is_not(None)]
        if team_ids is not None:
            conds.append(User.team_id.in_(team_ids))
    return Scope(tuple(conds), User.team_id if by_team else None)


def _rows(session: Session, sc: Scope, groups: list[Any], aggs: list[Any], where: list[Any]) -> list[Any]:
    keys = ([sc.key] if sc.key is not None else [literal(None)]) + groups
    stmt = select(*keys, *aggs).select_from(Deal).where(*sc.conds, *where)
    group_by = ([sc.key] if sc.key is not None else []) + groups
    return list(session.execute(stmt.group_by(*group_by)).all())


def closed_in(
    session: Session, b: Basis, sc: Scope, start: date, end: date
) -> dict[Any, dict[DealStatus, Amount]]:
    """Won and lost deals of the period [start, end] (see the module doc), by group key."""
    lo, hi = b.period(start, end)
    rows = _rows(
        session, sc, [Deal.status, Deal.currency, rate_day(session, b)],
        [func.count(Deal.id), func.coalesce(func.sum(Deal.amount_minor), 0)],
        [Deal.status != DealStatus.OPEN, Deal.closed_at >= lo, Deal.closed_at < hi],
    )
    out: dict[Any, dict[DealStatus, Amount]] = {}
    for key, status, currency, day, n, minor in rows:
        status = DealStatus(getattr(status, "value", status))
        per = out.setdefault(key, {DealStatus.WON: Amount(), DealStatus.LOST: Amount()})
        per[status].put(b.book, currency, _as_date(day, b.today), int(n), int(minor or 0))
    return out


def won_in(session: Session, b: Basis, sc: Scope, start: date, end: date) -> dict[Any, Amount]:
    """Won in the period, by group key."""
    return {k: v[DealStatus.WON] for k, v in closed_in(session, b, sc, start, end).items()}


def created_in(session: Session, b: Basis, sc: Scope, start: date, end: date) -> dict[Any, Amount]:
    """Deals that entered the pipeline in the period, by group key.

    A deal enters when it is created, or engaged when an import dates that earlier; deals
    an import created without a date of their own are not counted (an import is not
    activity of the week it ran: see `imported_undated`).
    """
    lo, hi = b.period(start, end)
    began = deal_start()
    rows = _rows(
        session, sc, [Deal.currency, rate_day(session, b)],
        [func.count(Deal.id), func.coalesce(func.sum(Deal.amount_minor), 0)],
        [began >= lo, began < hi, ~imported_undated()],
    )
    out: dict[Any, Amount] = {}
    for key, currency, day, n, minor in rows:
        out.setdefault(key, Amount()).put(b.book, currency, _as_date(day, b.today), int(n), int(minor or 0))
    return out


def imported_undated() -> ColumnElement[bool]:
    """Deals an import created without a created or engaged date: their start is the import's.

    An imported deal has an external id, and its "created" history row is the import's, at
    the very instant it was created; one uncorrelated IN list (hashed on PostgreSQL).
    """
    made_by_import = select(DealChange.deal_id, DealChange.changed_at).where(
        DealChange.field == "created", DealChange.source == "import"
    )
    return and_(
        Deal.engaged_at.is_(None),
        Deal.external_id.is_not(None),
        tuple_(Deal.id, Deal.created_at).in_(made_by_import),
    )


@dataclass
class StageAmount:
    """Open deals of one stage: their Amount and the Amount weighted by the stage probability."""

    amount: Amount = field(default_factory=Amount)
    weighted: Amount = field(default_factory=Amount)


def happened_after(session: Session, workspace_id: int, at: datetime) -> bool:
    """Whether the data holds a deal created, closed or changed after `at` (a look at the past)."""
    changed = exists().where(DealChange.workspace_id == workspace_id, DealChange.changed_at > at)  # indexed
    # Two indexed range probes (ix_deals_ws_created, ix_deals_ws_closed) rather than one OR over every deal.
    created = exists().where(Deal.workspace_id == workspace_id, Deal.created_at > at)
    closed = exists().where(Deal.workspace_id == workspace_id, Deal.closed_at > at)
    return any(bool(session.scalar(select(e))) for e in (changed, created, closed))


def open_at(
    session: Session, b: Basis, sc: Scope, at: datetime | None = None, replay: bool | None = None
) -> dict[tuple[Any, int], StageAmount]:
    """The open pipeline as it stood at `at` (default now): {(group key, stage id): StageAmount}.

    Converted at today's rates. Without later events (the usual case) it is one GROUP BY
    over the open deals; otherwise each deal's status, stage and amount then are rebuilt
    from its first change after `at` (see core.notify.digest's module doc).
    """
    at = at or b.now
    if replay is None:
        # The past is rebuilt whenever the week saw any change; `now` only when the data holds later events.
        replay = at < b.now or b.later(session)
    stages = list(session.scalars(select(Stage).where(Stage.workspace_id == b.workspace_id)))
    by_id = {st.id: st for st in stages}
    out: dict[tuple[Any, int], StageAmount] = {}

    def put(key: Any, stage_id: int, currency: str, n: int, minor: int) -> None:
        cell = out.setdefault((key, stage_id), StageAmount())
        cell.amount.put(b.book, currency, b.today, n, minor)
        cell.weighted.put(b.book, currency, b.today, n, minor * by_id[stage_id].probability, scale=10000)

    if not replay:
        rows = _rows(
            session, sc, [Deal.stage_id, Deal.currency],
            [func.count(Deal.id), func.coalesce(func.sum(Deal.amount_minor), 0)],
            # Nothing was created after `at` (else this would be a replay): every open deal counts.
            [Deal.status == DealStatus.OPEN],
        )
        for key, stage_id, currency, n, minor in rows:
            put(key, stage_id, currency, int(n), int(minor or 0))
        return out

    before = _values_before(b.workspace_id, at)
    # Open then: the old status of its first later status change, else open if it closed after
    # `at`, else its status now. Spelled as plain comparisons the planner can estimate (as a
    # CASE it guessed 0.5% of the rows and sorted ~67k rows to group them instead of hashing).
    open_then = or_(
        and_(before.c.has_status == 1, before.c.status == DealStatus.OPEN.value),
        and_(func.coalesce(before.c.has_status, 0) != 1,
             or_(Deal.closed_at > at, Deal.status == DealStatus.OPEN)),
    )
    amount_then = case(
        (before.c.has_amount == 1, cast(func.round(cast(before.c.amount, Numeric(18, 2)) * 100), Integer)),
        else_=Deal.amount_minor,
    )
    stage_name = case((before.c.has_stage == 1, before.c.stage))
    groups = [Deal.pipeline_id, Deal.stage_id, stage_name, Deal.currency]
    keys = ([sc.key] if sc.key is not None else [literal(None)]) + groups
    query = (
        select(*keys, func.count(Deal.id), func.sum(amount_then))
        .select_from(Deal)
        .outerjoin(before, before.c.deal_id == Deal.id)
        .where(*sc.conds, or_(Deal.created_at <= at, imported_undated()), open_then)
        .group_by(*(([sc.key] if sc.key is not None else []) + groups))
    )
    by_name = {(st.pipeline_id, st.name): st for st in stages}
    last_open: dict[int, int] = {}
    for st in sorted(stages, key=lambda s: (s.pipeline_id, s.position)):
        if not st.is_terminal:
            last_open[st.pipeline_id] = st.id
    replayed: list[Any] = list(session.execute(query).all())
    for key, pipeline_id, stage_id, old_name, currency, n, minor in replayed:
        stage = by_name.get((pipeline_id, old_name)) if old_name is not None else by_id.get(stage_id)
        if stage is None:
            stage = by_id[stage_id]  # a renamed stage: the name in the history no longer exists
        # Open then but in a closing stage now (a close with no stage history): the stage deals close from.
        sid = last_open.get(pipeline_id, stage.id) if stage.is_terminal else stage.id
        put(key, sid, currency, int(n), int(minor or 0))
    return out


def _values_before(ws_id: int, at: datetime) -> Any:
    """Per deal changed after `at`: the old stage, amount, status and expected close of its first such change."""
    ranked = (
        select(
            DealChange.deal_id, DealChange.field, DealChange.old_value,
            func.row_number().over(
                partition_by=(DealChange.deal_id, DealChange.field), order_by=(DealChange.changed_at, DealChange.id)
            ).label("rn"),
        )
        .where(DealChange.workspace_id == ws_id, DealChange.changed_at > at,
               DealChange.field.in_(("stage", "amount", "status", "expected_close")))
        .subquery()
    )
    columns: list[Any] = [ranked.c.deal_id.label("deal_id")]
    for name in ("stage", "amount", "status", "expected_close"):
        columns.append(func.max(case((ranked.c.field == name, ranked.c.old_value))).label(name))
        columns.append(func.max(case((ranked.c.field == name, 1), else_=0)).label(f"has_{name}"))
    return select(*columns).where(ranked.c.rn == 1).group_by(ranked.c.deal_id).subquery()


def open_totals(cells: dict[tuple[Any, int], StageAmount]) -> dict[Any, StageAmount]:
    """The open pipeline per group key, all stages together."""
    out: dict[Any, StageAmount] = {}
    for (key, _stage), cell in cells.items():
        t = out.setdefault(key, StageAmount())
        t.amount.add(cell.amount)
        t.weighted.add(cell.weighted)
    return out


@dataclass(frozen=True)
class OpenNow:
    """The deals of the open pipeline as of `now` (as `open_at` counts them), one row per deal,
    for queries over Deal that list or filter them (the forecast's weighted, the digest's lists).

    Add `join(query)` to a query selecting from Deal and read the deal's stage, amount and last
    touch then from the columns below. Without later events (the usual case) these are the
    deal's own columns and nothing is joined.
    """

    is_open: ColumnElement[bool]
    stage_id: Any  # SQL expressions (a Deal column when nothing is rebuilt)
    amount_minor: Any
    last_touch_at: Any
    expected_close: Any
    then: Any = None  # _values_before's subquery, outer-joined on the deal id, or None

    def join(self, query: Any) -> Any:
        return query if self.then is None else query.outerjoin(self.then, self.then.c.deal_id == Deal.id)


def open_now(session: Session, workspace_id: int, at: datetime, later: bool | None = None) -> OpenNow:
    """The open pipeline as of `at` (now), per deal: its stage, amount and last touch then (see
    `OpenNow`). `later`: whether the data holds events after `at` (Basis.later; asked when None)."""
    if later is None:
        later = happened_after(session, workspace_id, at)
    if not later:
        return OpenNow(Deal.status == DealStatus.OPEN, Deal.stage_id, Deal.amount_minor, Deal.last_touch_at,
                       Deal.expected_close)
    before = _values_before(workspace_id, at)
    status_then = case(
        (before.c.has_status == 1, before.c.status),
        (and_(Deal.closed_at.is_not(None), Deal.closed_at > at), literal("open")),
        else_=Deal.status,
    )
    amount_then = case(
        (before.c.has_amount == 1, cast(func.round(cast(before.c.amount, Numeric(18, 2)) * 100), Integer)),
        else_=Deal.amount_minor,
    )
    # The stage then, as open_at maps it: the name in the history, else the deal's stage; a
    # closing stage (a close with no stage history) stands for the last open stage before it.
    stages = sorted(session.scalars(select(Stage).where(Stage.workspace_id == workspace_id)),
                    key=lambda s: (s.pipeline_id, s.position))
    last_open = {st.pipeline_id: st.id for st in stages if not st.is_terminal}

    def target(st: Stage) -> int:
        return last_open.get(st.pipeline_id, st.id) if st.is_terminal else st.id

    named = [(and_(before.c.has_stage == 1, before.c.stage == st.name, Deal.pipeline_id == st.pipeline_id),
              target(st)) for st in stages]
    closing = [(Deal.stage_id == st.id, target(st)) for st in stages if st.is_terminal]
    stage_then: Any = case(*named, *closing, else_=Deal.stage_id) if named + closing else Deal.stage_id
    # The last touch then: the deal's own when not later; else its latest touch up to `at` (what
    # core.deals.deals counts as one: a person moving, closing or re-pricing it, or logging an
    # activity on it), or the day it entered the pipeline (imported records keep their own dates).
    by_person = (
        select(func.max(DealChange.changed_at))
        .where(DealChange.deal_id == Deal.id, DealChange.source == "slack", DealChange.changed_at <= at,
               DealChange.field.in_(("stage", "status", "amount")))
        .scalar_subquery()
    )
    logged = (
        select(func.max(Activity.created_at))
        .where(Activity.deal_id == Deal.id, Activity.created_at <= at)
        .scalar_subquery()
    )
    entered = case((and_(Deal.engaged_at.is_not(None), Deal.engaged_at <= at), Deal.engaged_at),
                   else_=Deal.created_at)
    touched: Any = entered
    for touch in (by_person, logged):
        touched = case((and_(touch.is_not(None), touch > touched), touch), else_=touched)
    last_touch = case((Deal.last_touch_at <= at, Deal.last_touch_at), else_=touched)
    # The expected close then: the history's, else the deal's; but a close the history does not
    # record (imported data) dates the deal only by that close, which was not known before it.
    old_close = func.nullif(before.c.expected_close, "")
    expected_then = case(
        (before.c.has_expected_close == 1,
         type_coerce(func.date(old_close), Date) if session.get_bind().dialect.name == "sqlite"
         else cast(old_close, Date)),
        (and_(func.coalesce(before.c.has_status, 0) == 0, Deal.closed_at.is_not(None), Deal.closed_at > at),
         None),
        else_=Deal.expected_close,
    )
    is_open = and_(or_(Deal.created_at <= at, imported_undated()), status_then == DealStatus.OPEN.value)
    return OpenNow(is_open, stage_then, amount_then, last_touch, expected_then, before)
