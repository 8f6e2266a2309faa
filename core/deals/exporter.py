"""CSV exports (SPEC section 2): one record a line, ready to import again.

Owners are written as their Slack id where linked, else the name they were imported
under; dates are ISO 8601 (date-times in UTC with their offset); amounts are plain
decimals with `.`. A cell a spreadsheet would run as a formula is written with a leading `'`
(core.csv_mapping.guard_cell), which the importers remove again. Rows are streamed in id
order, so a 100k-deal export stays small in memory.
"""
from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import aliased

from core.csv_mapping import write_rows
from core.db import UnitOfWork
from core.money import from_minor
from core.tables import Activity, Deal, Lead, Stage, Team, User

DEAL_COLUMNS = (
    "ref", "title", "account", "contact", "owner", "team", "stage", "amount", "currency",
    "expected_close", "next_step", "source", "created_at", "closed_at", "lost_reason",
)
ACTIVITY_COLUMNS = ("deal_ref", "lead_ref", "kind", "by", "at", "text")
_CHUNK = 2000


def _iso(value: date | datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _person(slack_id: str | None, import_name: str | None, name: str | None) -> str:
    """How a user is written in a CSV: Slack id where linked, else the imported name."""
    return slack_id or import_name or name or ""


def export_deals(uow: UnitOfWork, workspace_id: int, out: TextIO) -> int:
    """Write the workspace's deals as CSV to `out`; returns the number of deals written."""
    owner, team = aliased(User), aliased(Team)
    stmt = (
        select(
            Deal.number, Deal.title, Deal.account, Deal.contact, owner.slack_id, owner.import_name,
            owner.name, team.name, Stage.name, Deal.amount_minor, Deal.currency, Deal.expected_close,
            Deal.next_step, Deal.source, Deal.created_at, Deal.closed_at, Deal.lost_reason,
        )
        .join(Stage, Deal.stage_id == Stage.id)
        .outerjoin(owner, Deal.owner_id == owner.id)
        .outerjoin(team, owner.team_id == team.id)
        .where(Deal.workspace_id == workspace_id)
        .order_by(Deal.number)
        .execution_options(yield_per=_CHUNK)
    )
    with uow.read() as s:
        rows = (
            (
                f"D-{number}", title, account or "", contact or "", _person(slack_id, import_name, name),
                team_name or "", stage, "" if amount_minor is None else str(from_minor(amount_minor)),
                currency, _iso(expected_close), next_step or "", source or "", _iso(created_at),
                _iso(closed_at), lost_reason or "",
            )
            for (
                number, title, account, contact, slack_id, import_name, name, team_name, stage, amount_minor,
                currency, expected_close, next_step, source, created_at, closed_at, lost_reason,
            ) in s.execute(stmt)
        )
        return write_rows(out, itertools.chain([DEAL_COLUMNS], rows)) - 1


def export_activities(uow: UnitOfWork, workspace_id: int, out: TextIO) -> int:
    """Write the workspace's activities (calls, emails, notes, ...) as CSV; returns the count."""
    by = aliased(User)
    stmt = (
        select(Deal.number, Lead.number, Activity.kind, by.slack_id, by.import_name, by.name, Activity.at,
               Activity.text)
        .outerjoin(Deal, Activity.deal_id == Deal.id)
        .outerjoin(Lead, Activity.lead_id == Lead.id)
        .outerjoin(by, Activity.user_id == by.id)
        .where(Activity.workspace_id == workspace_id)
        .order_by(Activity.at, Activity.id)
        .execution_options(yield_per=_CHUNK)
    )
    with uow.read() as s:
        rows = (
            (
                f"D-{deal_no}" if deal_no is not None else "",
                f"L-{lead_no}" if lead_no is not None else "",
                str(kind.value if hasattr(kind, "value") else kind),
                _person(slack_id, import_name, name),
                _iso(at),
                text or "",
            )
            for deal_no, lead_no, kind, slack_id, import_name, name, at, text in s.execute(stmt)
        )
        return write_rows(out, itertools.chain([ACTIVITY_COLUMNS], rows)) - 1
