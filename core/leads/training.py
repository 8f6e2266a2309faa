"""Training the predictive score on a workspace's own history, and the `train-leads` job.

Outcomes: a disqualified lead is a 0; a converted lead is a 1, unless the deal made from it
was lost (then a 0: the lead did not turn into business). Recent outcomes weigh more
(core.leads.predictive.recency_weights). With too little history the model is not replaced; the
stored status says how many more closed leads it needs, and leads keep their points score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.i18n import _, ngettext
from core.leads import predictive
from core.leads.hot import OPEN_STATUSES
from core.leads.intake import MODEL_CONFIG, lead_fields
from core.tables import Deal, DealStatus, Lead, LeadStatus, Workspace, WorkspaceConfig


@dataclass(frozen=True)
class TrainResult:
    workspace_id: int
    trained: bool
    message: str
    n: int = 0
    seconds: float = 0.0


def outcomes(session: Session, workspace_id: int, now: datetime) -> tuple[list[dict[str, Any]], list[int], list[float]]:
    """Feature rows, outcomes and ages (days) of a workspace's closed leads."""
    rows = session.execute(
        select(Lead, Deal.status, Deal.closed_at)
        .outerjoin(Deal, Deal.id == Lead.deal_id)
        .where(Lead.workspace_id == workspace_id, Lead.status.in_((LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED)))
    ).all()
    features, labels, ages = [], [], []
    for lead, deal_status, closed_at in rows:
        won = lead.status == LeadStatus.CONVERTED and deal_status != DealStatus.LOST
        decided = closed_at or lead.updated_at
        features.append(predictive.feature_values(lead_fields(lead)))
        labels.append(1 if won else 0)
        ages.append(max(0.0, (now - decided).total_seconds() / 86400))
    return features, labels, ages


def _config(session: Session, workspace_id: int, now: datetime) -> WorkspaceConfig:
    cfg = session.scalar(
        select(WorkspaceConfig).where(
            WorkspaceConfig.workspace_id == workspace_id, WorkspaceConfig.name == MODEL_CONFIG
        )
    )
    if cfg is None:
        cfg = WorkspaceConfig(workspace_id=workspace_id, name=MODEL_CONFIG, data={}, updated_at=now)
        session.add(cfg)
    return cfg


def model_status(session: Session, workspace_id: int) -> dict[str, Any]:
    """What /lead show says about the model: ready (with size and date) or what it still needs."""
    cfg = session.scalar(
        select(WorkspaceConfig).where(
            WorkspaceConfig.workspace_id == workspace_id, WorkspaceConfig.name == MODEL_CONFIG
        )
    )
    if cfg is None or not cfg.data:
        return {"ready": False,
                "message": _("No predictive model yet: it trains nightly once there is enough history.")}
    data = cfg.data
    if data.get("fields"):
        return {"ready": True, "n": data.get("n"), "trained_at": data.get("trained_at")}
    if "positives" in data and "negatives" in data:  # said again in the reader's language
        short = predictive.NotEnoughData(int(data["positives"]), int(data["negatives"]))
        return {"ready": False, "message": str(short)}
    return {"ready": False, "message": data.get("message") or _("Not trained yet.")}


def train_workspace(uow: UnitOfWork, workspace_id: int, now: datetime) -> TrainResult:
    """Retrain one workspace's model and refresh the win probability of its open leads."""
    import time

    with uow.transaction() as session:
        features, labels, ages = outcomes(session, workspace_id, now)
        started = time.perf_counter()
        try:
            model = predictive.train(features, labels, ages_days=ages, trained_at=now)
        except predictive.NotEnoughData as short:
            cfg = _config(session, workspace_id, now)
            if not cfg.data.get("fields"):
                # Keep a working model if there is one; otherwise record what is missing.
                cfg.data = {"message": str(short), "positives": short.positives, "negatives": short.negatives}
                cfg.updated_at = now
            return TrainResult(workspace_id, False, str(short), len(labels))
        seconds = time.perf_counter() - started
        cfg = _config(session, workspace_id, now)
        cfg.data, cfg.updated_at = model, now
        open_leads = select(Lead).where(Lead.workspace_id == workspace_id, Lead.status.in_(OPEN_STATUSES))
        for lead in session.scalars(open_leads):
            prediction = predictive.predict(model, predictive.feature_values(lead_fields(lead)))
            lead.predicted = round(100 * prediction.probability)
        return TrainResult(workspace_id, True, ngettext("trained on {n} closed lead", "trained on {n} closed leads",
                                                        len(labels)).format(n=len(labels)), len(labels), seconds)


def retrain_all(uow: UnitOfWork, now: datetime) -> list[TrainResult]:
    """The `train-leads` job (nightly): rescore open leads as points decay, then retrain each model."""
    from core.leads.rescoring import rescore_workspace

    with uow.read() as session:
        ids = list(session.scalars(select(Workspace.id).order_by(Workspace.id)))
    results = []
    for ws_id in ids:
        rescore_workspace(uow, ws_id, now)
        results.append(train_workspace(uow, ws_id, now))
    return results


def explain(session: Session, lead: Lead, top: int = 3) -> predictive.Prediction | None:
    """A lead's win probability and top factors, or None when no model is trained."""
    cfg = session.scalar(
        select(WorkspaceConfig).where(
            WorkspaceConfig.workspace_id == lead.workspace_id, WorkspaceConfig.name == MODEL_CONFIG
        )
    )
    if cfg is None or not cfg.data.get("fields"):
        return None
    return predictive.predict(cfg.data, predictive.feature_values(lead_fields(lead)), top=top)
