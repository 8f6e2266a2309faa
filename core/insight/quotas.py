"""Quotas per rep and per team per quarter, and attainment against them.

A quota belongs to one quarter, labelled `2026-Q4`. Admins set any quota; a manager sets
the quota of a team they manage and of that team's reps. The workspace's quota (no rep,
no team) is the sum of its team quotas, or of its rep quotas when no team has one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import InvalidInput, NotAllowed
from core.i18n import _
from core.insight.figures import FAR, Amount, basis, scope, won_in
from core.money import MAX_AMOUNT, Money, from_minor, to_minor
from core.tables import Quota, Team, User
from core.workspace.admin import team_named
from core.workspace.users import Actor, user_by_slack_id

_LABEL = re.compile(r"(\d{4})-Q([1-4])")


@dataclass(frozen=True)
class QuotaView:
    """A quota as set: whose, which quarter, how much."""

    period: str
    start: date
    end: date
    amount: Decimal
    currency: str
    user_id: int | None
    user_name: str | None
    team_id: int | None
    team_name: str | None

    @property
    def whose(self) -> str:
        return self.user_name or self.team_name or _("the workspace")


@dataclass(frozen=True)
class Attainment:
    """Won so far in a quarter against its quota (None when no quota is set)."""

    period: str
    start: date
    end: date
    quota: Decimal | None
    currency: str
    won: Decimal
    won_count: int
    approx: bool = False
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def ratio(self) -> Decimal | None:
        """Won / quota as a fraction (1 = quota met); None without a positive quota."""
        if not self.quota:
            return None
        return (self.won / self.quota).quantize(Decimal("0.0001"))

    @property
    def remaining(self) -> Decimal | None:
        """What is left to win to meet the quota (never below 0)."""
        if self.quota is None:
            return None
        return max(self.quota - self.won, Decimal("0.00"))


def quarter_label(start: date) -> str:
    """`2026-Q4` for any day of that quarter."""
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def label_bounds(label: str) -> tuple[date, date]:
    """First and last day of a quarter label like `2026-Q4`; InvalidInput otherwise."""
    m = _LABEL.fullmatch(label.strip().upper())
    if not m:
        raise InvalidInput(_('"{label}" is not a quarter. Use a label like 2026-Q4.').format(
            label=label), field="period")
    year, q = int(m[1]), int(m[2])
    start = date(year, 3 * q - 2, 1)
    end = (date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)) - timedelta(days=1)
    return start, end


def parse_quarter(text: str, now: datetime, tz: str = "UTC", locale: str = "en") -> str:
    """`Q4`, `2026-Q4`, `Q4 2026`, `next quarter` (empty = this quarter) -> `2026-Q4`."""
    from core.dates import parse_period  # parsing is the only use; keeps this module light

    start, end = parse_period(text.strip() or "this quarter", now, tz, locale)
    label = quarter_label(start)
    if (start, end) != label_bounds(label):
        raise InvalidInput(
            _('Quotas are per quarter, and "{text}" is not one. Try Q4, 2026-Q4 or next quarter.').format(
                text=text.strip()),
            field="period",
        )
    return label


def utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 UTC, the day after end 00:00 UTC): inclusive dates as a half-open range."""
    return (
        datetime.combine(start, time(), tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC),
    )


def set_quota(
    uow: UnitOfWork,
    actor: Actor,
    *,
    user_slack_id: str | None = None,
    team_name: str | None = None,
    amount: Money,
    period: str,
    now: datetime,
) -> QuotaView:
    """Set (or replace) the quarter quota of a rep or a team; admins, or the team's manager."""
    if (user_slack_id is None) == (team_name is None):
        raise InvalidInput(_("Give either a rep (@user) or a team for the quota, not both."), field="user")
    if amount.amount < 0:
        raise InvalidInput(_("A quota cannot be negative. Enter 0 or more, like 250k."), field="amount")
    if amount.amount > MAX_AMOUNT:
        raise InvalidInput(_("That quota looks too large."), field="amount")
    label = parse_quarter(period, now, actor.tz, actor.locale)
    start, end = label_bounds(label)
    with uow.transaction() as session:
        user: User | None = None
        team: Team | None = None
        if user_slack_id is not None:
            user = user_by_slack_id(session, actor.workspace_id, user_slack_id)
            if not actor.manages_team(user.team_id):
                raise NotAllowed(_("Only admins and {name}'s manager can set their quota.").format(name=user.name))
        else:
            assert team_name is not None
            team = team_named(session, actor.workspace_id, team_name)
            if not actor.manages_team(team.id):
                raise NotAllowed(_("Only admins and the manager of {team} can set its quota.").format(team=team.name))
        row = session.scalar(
            select(Quota).where(
                Quota.workspace_id == actor.workspace_id,
                Quota.period == label,
                # `= NULL` never matches: compare the absent side with IS NULL
                Quota.user_id.is_(None) if user is None else Quota.user_id == user.id,
                Quota.team_id.is_(None) if team is None else Quota.team_id == team.id,
            )
        )
        if row is None:
            row = Quota(
                workspace_id=actor.workspace_id,
                user_id=user.id if user else None,
                team_id=team.id if team else None,
                period=label,
                amount_minor=0,
            )
            session.add(row)
        row.amount_minor = to_minor(amount.amount)
        row.currency = amount.currency
        session.flush()
        return QuotaView(
            period=label,
            start=start,
            end=end,
            amount=from_minor(row.amount_minor),
            currency=row.currency,
            user_id=user.id if user else None,
            user_name=user.name if user else None,
            team_id=team.id if team else None,
            team_name=team.name if team else None,
        )


def quota_for(
    session: Session, workspace_id: int, period: str, user_id: int | None = None, team_id: int | None = None
) -> tuple[Decimal, str] | None:
    """The quota amount and currency of a rep, a team, or the workspace; None if none is set."""
    base = select(func.sum(Quota.amount_minor), func.max(Quota.currency)).where(
        Quota.workspace_id == workspace_id, Quota.period == period
    )
    if user_id is not None:
        rows = [session.execute(base.where(Quota.user_id == user_id)).one()]
    elif team_id is not None:
        rows = [session.execute(base.where(Quota.team_id == team_id)).one()]
    else:
        rows = [
            session.execute(base.where(Quota.team_id.is_not(None))).one(),
            session.execute(base.where(Quota.user_id.is_not(None))).one(),
        ]
    for total, currency in rows:
        if total is not None:
            return from_minor(int(total)), str(currency)
    return None


def attainment(
    session: Session,
    workspace_id: int,
    period: str,
    user_id: int | None = None,
    team_id: int | None = None,
    now: datetime | None = None,
) -> Attainment:
    """Won revenue so far in the quarter `period` (`2026-Q4`) against the quota of the scope.

    Won is core.insight.figures' won-in-period as of `now` (without it, the data as it stands).
    """
    start, end = label_bounds(period)
    b = basis(session, workspace_id, now or FAR)
    won = won_in(session, b, scope(workspace_id, [user_id] if user_id is not None else None, team_id), start, end)
    got = won.get(None, Amount())
    quota = quota_for(session, workspace_id, period, user_id=user_id, team_id=team_id)
    return Attainment(
        period=period,
        start=start,
        end=end,
        quota=quota[0] if quota else None,
        currency=quota[1] if quota else b.base,
        won=got.amount,
        won_count=got.count,
        approx=got.approx,
        missing=dict(got.missing),
    )
