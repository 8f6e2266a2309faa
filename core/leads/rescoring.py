"""Rescoring every open lead of a workspace: after the rules change, and nightly as points decay.

Leads and their events are read in batches, scored with one compiled rule set
(core.leads.points.score_many), and written back; a lead that now crosses the threshold upward
gets its alert like any other crossing, and one that decayed below it stops being hot.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from core.db import UnitOfWork
from core.leads.alerts import on_hot
from core.leads.hot import OPEN_STATUSES, is_hot
from core.leads.intake import ScoringContext, lead_fields
from core.leads.points import score_many
from core.tables import Lead, LeadEvent, Workspace

BATCH = 2000


def rescore_workspace(uow: UnitOfWork, workspace_id: int, now: datetime) -> int:
    """Rescore a workspace's open leads as of `now`; return how many changed score."""
    changed = 0
    last_id = 0
    while True:
        with uow.transaction() as session:
            ws = session.get_one(Workspace, workspace_id)
            ctx = ScoringContext(session, ws)
            batch = list(
                session.scalars(
                    select(Lead)
                    .where(Lead.workspace_id == workspace_id, Lead.status.in_(OPEN_STATUSES), Lead.id > last_id)
                    .order_by(Lead.id)
                    .limit(BATCH)
                )
            )
            if not batch:
                return changed
            last_id = batch[-1].id
            events: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
            rows = session.execute(
                select(LeadEvent.lead_id, LeadEvent.kind, LeadEvent.at).where(
                    LeadEvent.lead_id.in_([lead.id for lead in batch])
                )
            )
            for lead_id, kind, at in rows:
                events[lead_id].append((kind, at))
            scores = score_many(ctx.scorer, [(lead_fields(lead), events[lead.id]) for lead in batch], now)
            for lead, score in zip(batch, scores, strict=True):
                if score.points != lead.score:
                    changed += 1
                lead.score, lead.score_reasons = score.points, [r.to_json() for r in score.top(10)]
                hot = is_hot(lead.status, score.points, ws.hot_lead_threshold)
                if hot and not lead.hot:
                    lead.hot, lead.hot_since = True, now
                    session.flush()
                    on_hot(session, ws, lead, now)
                elif not hot and lead.hot:
                    lead.hot, lead.hot_since = False, None


def rescore_all(uow: UnitOfWork, now: datetime) -> int:
    """Rescore every workspace's open leads (part of the nightly `train-leads` job)."""
    with uow.read() as session:
        ids = list(session.scalars(select(Workspace.id).order_by(Workspace.id)))
    return sum(rescore_workspace(uow, ws_id, now) for ws_id in ids)
