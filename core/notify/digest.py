"""The weekly pipeline digest of a team: plain data, every figure an SQL aggregate.

All teams of a workspace are computed together (core/insight/digest_figures.py: a handful of
grouped queries, so 100 teams cost what one does). The week is Monday to Sunday
in the reader's zone (the digest of Monday D covers the week before D); won, lost, new and the
open pipeline (now and a week ago, rebuilt from the change history the same way) are
core.insight.figures', the definitions every surface shares (SPEC section 9).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import NotAllowed
from core.i18n import _
from core.insight.digest_figures import (
    TOP_DEALS,
    DealLine,
    Move,
    RepActivity,
    Window,
    activity_by_rep,
    in_parallel,
    ranked_lists,
    risk_totals,
    stage_moves,
    stage_rows,
    team_quotas,
)
from core.insight.figures import (
    Amount,
    Basis,
    StageAmount,
    basis,
    closed_in,
    created_in,
    open_at,
    scope,
    won_in,
)
from core.insight.quotas import label_bounds
from core.money import from_minor
from core.notify import outbox
from core.notify.away import away_reps_at_risk
from core.notify.local_time import local_at, local_date, parse_hhmm, zone
from core.notify.preferences import DIGEST, destination, is_muted, prefs_of
from core.tables import DealStatus, Team, User, Workspace
from core.workspace.users import Actor

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class StageLine:
    """One open stage now and a week ago: count, amount, amount x probability."""

    stage: str
    probability: int
    count: int
    amount: Decimal
    weighted: Decimal
    prev_count: int
    prev_amount: Decimal
    prev_weighted: Decimal
    exact: tuple[Decimal, Decimal, Decimal, Decimal] | None = None  # unrounded amounts, for the totals

    def exact_of(self, i: int) -> Decimal:
        if self.exact is not None:
            return self.exact[i]
        return (self.amount, self.weighted, self.prev_amount, self.prev_weighted)[i]


@dataclass(frozen=True)
class TeamDigest:
    """Everything in one team's weekly digest (`start` to `end` is the week, UTC)."""

    team_id: int | None
    team_name: str
    manager_slack_id: str | None
    channel_id: str | None
    currency: str
    start: datetime
    end: datetime
    stages: list[StageLine]
    new: tuple[int, Decimal] = (0, Decimal("0.00"))
    won: tuple[int, Decimal] = (0, Decimal("0.00"))
    lost: tuple[int, Decimal] = (0, Decimal("0.00"))
    moves: list[Move] = field(default_factory=list)
    slipped: tuple[int, Decimal] = (0, Decimal("0.00"))
    slipped_deals: list[DealLine] = field(default_factory=list)
    stale: tuple[int, Decimal] = (0, Decimal("0.00"))
    stale_deals: list[DealLine] = field(default_factory=list)
    top_deals: list[DealLine] = field(default_factory=list)
    quarter: str = ""
    quarter_won: Decimal = Decimal("0.00")
    quota: Decimal | None = None
    activity: list[RepActivity] = field(default_factory=list)
    approx: bool = False  # some amount was converted from another currency
    missing: dict[str, int] = field(default_factory=dict)  # deals left out of amounts: no rate
    now: datetime | None = None  # when it was computed (the open pipeline is as of then)

    def _sum(self, i: int) -> Decimal:
        return sum((s.exact_of(i) for s in self.stages), Decimal(0)).quantize(_CENT)

    @property
    def open_count(self) -> int:
        return sum(s.count for s in self.stages)

    @property
    def open_amount(self) -> Decimal:
        return self._sum(0)

    @property
    def open_weighted(self) -> Decimal:
        return self._sum(1)

    @property
    def prev_amount(self) -> Decimal:
        return self._sum(2)

    @property
    def prev_weighted(self) -> Decimal:
        return self._sum(3)


def _minor(value: Any) -> Decimal:
    return from_minor(int(value or 0))


def _weighted(value: Any) -> Decimal:
    # sum(minor x percent) is in ten-thousandths of a unit
    return (Decimal(value or 0) / 10000).quantize(_CENT)


def quarter_start(day: date) -> date:
    """The first day of the quarter `day` is in."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def week_of(now: datetime, tz: str) -> tuple[date, date]:
    """The week a digest read at `now` covers: Monday to Sunday of the last whole week in `tz`.

    The digest of Monday D covers Monday D-7 00:00 to Sunday D-1 24:00.
    """
    today = local_date(now, tz)
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def team_digests(
    session: Session, ws_id: int, now: datetime, team_ids: list[int] | None = None, tz: str = "UTC"
) -> dict[int | None, TeamDigest]:
    """The digest of each team in `team_ids` (all teams when None) for the last whole week before `now`.

    `team_ids=[]` is not allowed; for the whole workspace as one scope use
    `workspace_digest`. The week and "today" (slipped deals) are in `tz`, the reader's zone;
    the quarter's won and the pipeline are core.insight.figures', as on every surface.
    """
    ws = session.get(Workspace, ws_id)
    assert ws is not None
    teams = list(session.scalars(select(Team).where(Team.workspace_id == ws_id).order_by(Team.id)))
    if team_ids is not None:
        teams = [t for t in teams if t.id in set(team_ids)]
    ids = [t.id for t in teams]
    data = _figures(session, ws, now, ids, grouped=True, tz=tz)
    managers = {
        u.id: u for u in session.scalars(select(User).where(User.id.in_([t.manager_id for t in teams if t.manager_id])))
    }
    out: dict[int | None, TeamDigest] = {}
    for team in teams:
        manager = managers.get(team.manager_id or -1)
        out[team.id] = _assemble(
            data, team.id, team.id, team.name, manager.slack_id if manager else None, team.channel_id, ws, now
        )
    return out


def workspace_digest(session: Session, ws_id: int, now: datetime, tz: str = "UTC") -> TeamDigest:
    """The digest of the whole workspace (every owner with a team), for admins without a team."""
    ws = session.get(Workspace, ws_id)
    assert ws is not None
    data = _figures(session, ws, now, None, grouped=False, tz=tz)
    return _assemble(data, 0, None, ws.name or "Everyone", None, None, ws, now)


def _figures(
    session: Session, ws: Workspace, now: datetime, ids: list[int] | None, grouped: bool, tz: str
) -> dict[str, Any]:
    b = basis(session, ws.id, now)  # the workspace's zone: the quarter, as on every surface
    reader = Basis(ws.id, now, tz, b.book)  # the reader's zone: the week
    first, last = week_of(now, tz)
    w = Window(now=now, start=reader.midnight(first), end=reader.midnight(last + timedelta(days=1)),
               today=reader.today)
    quarter = b.quarter()
    q_start, q_end = label_bounds(quarter)
    # The figures are keyed by team (grouped) or by None (the workspace): 0 below, like the lists.
    sc = scope(ws.id, team_ids=ids, by_team=True) if grouped else scope(ws.id, team_ids=None)

    def figures(s: Session) -> dict[str, Any]:
        closed = closed_in(s, reader, sc, first, last)
        return {
            "now": open_at(s, b, sc),
            "prev": open_at(s, b, sc, at=now - timedelta(days=7)),
            "new": created_in(s, reader, sc, first, last),
            "won": {k: v[DealStatus.WON] for k, v in closed.items()},
            "lost": {k: v[DealStatus.LOST] for k, v in closed.items()},
            "q_won": won_in(s, b, sc, q_start, q_end),
        }

    def the_rest(s: Session) -> dict[str, Any]:
        return {
            "stages": stage_rows(s, ws.id),
            "moves": stage_moves(s, ws.id, ids, grouped, w.start, w.end),
            "activity": activity_by_rep(s, ws.id, ids, grouped, w.start, w.end),
            "quotas": team_quotas(s, ws.id, ids, grouped, quarter),
            "risks": risk_totals(s, reader, ids, grouped, w),
        }

    parts = in_parallel(session, {
        "figures": figures,
        "lists": lambda s: ranked_lists(s, ws.id, ids, grouped, w),
        "rest": the_rest,
    })
    fig, lists, rest = parts["figures"], parts["lists"], parts["rest"]
    if not grouped:  # the workspace: figures keyed None, the other parts 0
        fig = {name: ({(0, k[1]): v for k, v in val.items()} if name in ("now", "prev")
                      else ({0: val[None]} if None in val else {})) for name, val in fig.items()}
    return {
        **{k: v for k, v in rest.items() if k != "risks"},
        **fig,
        "slipped": rest["risks"]["slipped"],
        "stale": rest["risks"]["stale"],
        "slipped_deals": lists["slipped"],
        "stale_deals": lists["stale"],
        "top": lists["top"],
        "quarter": quarter,
        "start": w.start,
        "end": w.end,
        "base": b.base,
    }


def _pair(amount: Amount | None) -> tuple[int, Decimal]:
    return (0, Decimal("0.00")) if amount is None else (amount.count, amount.amount)


def _assemble(
    data: dict[str, Any], key: Any, team_id: int | None, name: str, manager: str | None, channel: str | None,
    ws: Workspace, now: datetime,
) -> TeamDigest:
    stages = []
    notes = Amount()
    for stage_id, stage_name, probability, is_default in data["stages"]:
        cell = data["now"].get((key, stage_id), StageAmount())
        prev = data["prev"].get((key, stage_id), StageAmount())
        if not is_default and not (cell.amount.count or prev.amount.count):
            continue  # other pipelines' stages only when they hold deals
        notes.add(cell.amount)
        stages.append(
            StageLine(stage_name, probability, cell.amount.count, cell.amount.amount, cell.weighted.amount,
                      prev.amount.count, prev.amount.amount, prev.weighted.amount,
                      (cell.amount.exact, cell.weighted.exact, prev.amount.exact, prev.weighted.exact))
        )
    figures = [data[n].get(key) for n in ("new", "won", "lost", "q_won", "slipped", "stale")]
    approx = notes.approx or any(f.approx for f in figures if f is not None)
    missing = dict(notes.missing)
    for f in figures:
        for cur, n in (f.missing if f is not None else {}).items():
            missing[cur] = max(missing.get(cur, 0), n)
    return TeamDigest(
        team_id=team_id, team_name=name, manager_slack_id=manager, channel_id=channel,
        currency=data["base"], start=data["start"], end=data["end"], stages=stages,
        new=_pair(data["new"].get(key)), won=_pair(data["won"].get(key)), lost=_pair(data["lost"].get(key)),
        moves=data["moves"].get(key, []), slipped=_pair(data["slipped"].get(key)),
        slipped_deals=data["slipped_deals"].get(key, []), stale=_pair(data["stale"].get(key)),
        stale_deals=data["stale_deals"].get(key, []), top_deals=data["top"].get(key, [])[:TOP_DEALS],
        quarter=data["quarter"], quarter_won=_pair(data["q_won"].get(key))[1], quota=data["quotas"].get(key),
        activity=data["activity"].get(key, []), approx=approx, missing=missing, now=now,
    )


def digest_for(uow: UnitOfWork, actor: Actor, now: datetime) -> tuple[TeamDigest, str]:
    """`/pipeline digest`: the caller's team's digest (a manager's first team; admins without a
    team get the whole workspace) computed now, and the locale to show it in."""
    team_id = min(actor.managed_team_ids) if actor.managed_team_ids else actor.team_id
    with uow.read() as session:
        if team_id is None:
            if not actor.is_admin:
                raise NotAllowed(_("You are not in a team yet: ask an admin to add you (`/salesbot team add`)."))
            digest = workspace_digest(session, actor.workspace_id, now, tz=actor.tz)
        else:
            digest = team_digests(session, actor.workspace_id, now, [team_id], tz=actor.tz)[team_id]
        ws = session.get(Workspace, actor.workspace_id)
    return digest, actor.locale or (ws.locale if ws else "en")


def digest_data(digest: TeamDigest) -> dict[str, Any]:
    """The digest as JSON-safe data (Decimal and dates as strings) for the outbox."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    data: dict[str, Any] = plain(asdict(digest))
    data["totals"] = plain(
        {"open_count": digest.open_count, "open_amount": digest.open_amount, "open_weighted": digest.open_weighted,
         "prev_amount": digest.prev_amount, "prev_weighted": digest.prev_weighted,
         # where the quarter lands with the weighted pipeline won
         "landing": digest.quarter_won + digest.open_weighted}
    )
    return data


def digest_key(team_id: int, week_of: date, where: str) -> str:
    """The outbox key of one team's digest for one week, to the manager or the channel."""
    return f"digest:t{team_id}:{week_of.isoformat()}:{where}"


def digest_sweep(session: Session, now: datetime) -> int:
    """Queue the weekly digest of every team whose manager's digest time has come this week.

    Due on the workspace's digest weekday (Monday) from its digest time (09:00) in the
    manager's zone (the workspace's when the team has no linked manager), until the end of
    that day; keyed by team and week, so it goes once. Returns the messages queued.
    A manager's own preferences move their copy (their digest day, DM or their channel, in
    their language, or none when muted); the team channel's copy keeps the workspace's day.
    """
    queued = 0
    for ws in list(session.scalars(select(Workspace))):
        due: list[tuple[Team, str, date, list[tuple[str, str]]]] = []
        send_time = parse_hhmm(ws.digest_time or "09:00")
        teams = session.execute(
            select(Team, User).outerjoin(User, User.id == Team.manager_id).where(Team.workspace_id == ws.id)
        ).all()
        prefs = prefs_of(session, {m.id for _t, m in teams if m is not None})
        for team, manager in teams:
            mine = prefs.get(manager.id) if manager is not None else None
            manager_slack = manager.slack_id if manager is not None else None
            if not manager_slack and not team.channel_id:
                continue
            tz = manager.tz if manager is not None and manager_slack else ws.timezone
            local = now.astimezone(zone(tz))
            if now < local_at(local.date(), send_time, tz):
                continue
            # (key, channel): the manager's copy on their own day, by DM or in the channel they
            # chose, unless they muted it; the team channel's copy on the workspace's day.
            targets: list[tuple[str, str]] = []
            own_day = mine.digest_weekday if mine is not None and mine.digest_weekday is not None else ws.digest_weekday
            if manager is not None and manager_slack and local.weekday() == own_day and not is_muted(mine, DIGEST):
                targets.append((digest_key(team.id, local.date(), "dm"), destination(ws, manager, mine)))
            if team.channel_id and local.weekday() == ws.digest_weekday:
                targets.append((digest_key(team.id, local.date(), "channel"), team.channel_id))
            targets = [t for t in targets if not outbox.is_queued(session, ws.id, t[0])]
            if targets:
                due.append((team, tz, local.date(), targets))
        if not due:
            continue
        # "Today" (slipped deals) and the quarter are the manager's: one batch per time zone.
        digests: dict[int | None, TeamDigest] = {}
        for tz in {tz for _team, tz, _day, _targets in due}:
            digests.update(team_digests(session, ws.id, now, [t.id for t, z, _day, _targets in due if z == tz], tz=tz))
        for team, _tz, _day, targets in due:
            data = digest_data(digests[team.id])
            # The manager's reps who are away, with their deals going stale meanwhile.
            data["away"] = away_reps_at_risk(session, ws, team.id, now)
            for key, channel in targets:
                queued += outbox.enqueue(
                    session, ws.id, key, "digest", channel, {"view": "digest", "data": data}, now
                )
    return queued


__all__ = [
    "DealLine", "Move", "RepActivity", "StageLine", "TeamDigest", "digest_data", "digest_key", "digest_sweep",
    "quarter_start", "team_digests", "week_of", "workspace_digest",
]
