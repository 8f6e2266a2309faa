"""The weekly pipeline digest of a team: plain data, every figure an SQL aggregate.

All teams of a workspace are computed together (core/insight/digest_figures.py: a handful of
grouped queries, so 100 teams cost what one does). The pipeline a week ago is rebuilt from
the change history (core.tables.DealChange), so the week-over-week change is right even
if nobody looked last week: a deal's stage, amount and status at time T are the old
values of its first change after T, else its current ones. A deal closed after T without
a status change row (an import) was open at T, in the pipeline's last open stage (the
stage deals close from; the history holds nothing finer).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.insight.digest_figures import (
    TOP_DEALS,
    DealLine,
    Move,
    RepActivity,
    Window,
    activity_by_rep,
    happened_after,
    in_parallel,
    pipeline_at,
    ranked_lists,
    stage_moves,
    stage_rows,
    team_quotas,
    week_totals,
)
from core.money import from_minor
from core.notify import outbox
from core.notify.local_time import local_at, local_date, parse_hhmm, zone
from core.tables import Team, User, Workspace

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

    @property
    def open_count(self) -> int:
        return sum(s.count for s in self.stages)

    @property
    def open_amount(self) -> Decimal:
        return sum((s.amount for s in self.stages), Decimal("0.00"))

    @property
    def open_weighted(self) -> Decimal:
        return sum((s.weighted for s in self.stages), Decimal("0.00"))

    @property
    def prev_amount(self) -> Decimal:
        return sum((s.prev_amount for s in self.stages), Decimal("0.00"))

    @property
    def prev_weighted(self) -> Decimal:
        return sum((s.prev_weighted for s in self.stages), Decimal("0.00"))


def _minor(value: Any) -> Decimal:
    return from_minor(int(value or 0))


def _weighted(value: Any) -> Decimal:
    # sum(minor x percent) is in ten-thousandths of a unit
    return (Decimal(value or 0) / 10000).quantize(_CENT)


def quarter_start(day: date) -> date:
    """The first day of the quarter `day` is in."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def team_digests(
    session: Session, ws_id: int, now: datetime, team_ids: list[int] | None = None, tz: str = "UTC"
) -> dict[int | None, TeamDigest]:
    """The digest of each team in `team_ids` (all teams when None) for the week before `now`.

    `team_ids=[]` is not allowed; for the whole workspace as one scope use
    `workspace_digest`. Dates that depend on the day (slipped, the quarter) use `tz`.
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
    """The digest of the whole workspace (every owner), for admins without a team."""
    ws = session.get(Workspace, ws_id)
    assert ws is not None
    data = _figures(session, ws, now, None, grouped=False, tz=tz)
    return _assemble(data, 0, None, ws.name or "Everyone", None, None, ws, now)


def _figures(
    session: Session, ws: Workspace, now: datetime, ids: list[int] | None, grouped: bool, tz: str
) -> dict[str, Any]:
    today = local_date(now, tz)
    q_start = quarter_start(today)
    w = Window(now=now, start=now - timedelta(days=7), quarter_start=local_at(q_start, parse_hhmm("00:00"), tz),
               today=today)
    quarter = f"{q_start.year}-Q{(q_start.month - 1) // 3 + 1}"

    def totals_now(s: Session) -> dict[str, Any]:
        totals = week_totals(s, ws.id, ids, grouped, w)
        # The one-scan pipeline is the pipeline at `now` unless the data holds later events
        # (a digest of the past): then rebuild it from the history like last week's.
        later = happened_after(s, ws.id, now, totals)
        totals["now"] = pipeline_at(s, ws.id, now, ids, grouped) if later else totals["open"]
        return totals

    def the_rest(s: Session) -> dict[str, Any]:
        return {
            "stages": stage_rows(s, ws.id),
            "prev": pipeline_at(s, ws.id, w.start, ids, grouped),
            "moves": stage_moves(s, ws.id, ids, grouped, w.start, now),
            "activity": activity_by_rep(s, ws.id, ids, grouped, w.start, now),
            "quotas": team_quotas(s, ws.id, ids, grouped, quarter),
        }

    parts = in_parallel(session, {
        "totals": totals_now,
        "lists": lambda s: ranked_lists(s, ws.id, ids, grouped, w),
        "rest": the_rest,
    })
    totals, lists = parts["totals"], parts["lists"]
    return {
        **parts["rest"],
        "now": totals["now"],
        **{name: totals[name] for name in ("new", "won", "lost", "q_won", "slipped", "stale")},
        "slipped_deals": lists["slipped"],
        "stale_deals": lists["stale"],
        "top": lists["top"],
        "quarter": quarter,
        "start": w.start,
    }


def _assemble(
    data: dict[str, Any], key: Any, team_id: int | None, name: str, manager: str | None, channel: str | None,
    ws: Workspace, now: datetime,
) -> TeamDigest:
    zero = (0, Decimal("0.00"))
    stages = []
    for stage_id, stage_name, probability, is_default in data["stages"]:
        n, amount, weighted = data["now"].get((key, stage_id), (0, 0, 0))
        pn, pamount, pweighted = data["prev"].get((key, stage_id), (0, 0, 0))
        if not is_default and not (n or pn):
            continue  # other pipelines' stages only when they hold deals
        stages.append(
            StageLine(stage_name, probability, n, _minor(amount), _weighted(weighted), pn, _minor(pamount),
                      _weighted(pweighted))
        )
    return TeamDigest(
        team_id=team_id, team_name=name, manager_slack_id=manager, channel_id=channel,
        currency=ws.default_currency, start=data["start"], end=now, stages=stages,
        new=data["new"].get(key, zero), won=data["won"].get(key, zero), lost=data["lost"].get(key, zero),
        moves=data["moves"].get(key, []), slipped=data["slipped"].get(key, zero),
        slipped_deals=data["slipped_deals"].get(key, []), stale=data["stale"].get(key, zero),
        stale_deals=data["stale_deals"].get(key, []), top_deals=data["top"].get(key, [])[:TOP_DEALS],
        quarter=data["quarter"], quarter_won=data["q_won"].get(key, zero)[1], quota=data["quotas"].get(key),
        activity=data["activity"].get(key, []),
    )


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
         "prev_amount": digest.prev_amount, "prev_weighted": digest.prev_weighted}
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
    """
    queued = 0
    for ws in list(session.scalars(select(Workspace))):
        due: list[tuple[Team, str, date]] = []
        send_time = parse_hhmm(ws.digest_time or "09:00")
        for team, manager_slack, manager_tz in session.execute(
            select(Team, User.slack_id, User.tz).outerjoin(User, User.id == Team.manager_id)
            .where(Team.workspace_id == ws.id)
        ).all():
            if not manager_slack and not team.channel_id:
                continue
            tz = manager_tz if manager_slack else ws.timezone
            local = now.astimezone(zone(tz))
            if local.weekday() != ws.digest_weekday or now < local_at(local.date(), send_time, tz):
                continue
            keys = [digest_key(team.id, local.date(), w) for w in ("dm", "channel")]
            if any(outbox.is_queued(session, ws.id, k) for k in keys):
                continue
            due.append((team, tz, local.date()))
        if not due:
            continue
        # "Today" (slipped deals) and the quarter are the manager's: one batch per time zone.
        digests: dict[int | None, TeamDigest] = {}
        for tz in {tz for _, tz, _ in due}:
            digests.update(team_digests(session, ws.id, now, [t.id for t, z, _ in due if z == tz], tz=tz))
        for team, _tz, day in due:
            digest = digests[team.id]
            payload = {"view": "digest", "data": digest_data(digest)}
            if digest.manager_slack_id:
                queued += outbox.enqueue(
                    session, ws.id, digest_key(team.id, day, "dm"), "digest", digest.manager_slack_id, payload, now
                )
            if team.channel_id:
                queued += outbox.enqueue(
                    session, ws.id, digest_key(team.id, day, "channel"), "digest", team.channel_id, payload, now
                )
    return queued


__all__ = [
    "DealLine", "Move", "RepActivity", "StageLine", "TeamDigest", "digest_data", "digest_key", "digest_sweep",
    "pipeline_at", "quarter_start", "team_digests", "workspace_digest",
]
