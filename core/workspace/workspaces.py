"""Workspaces (one per Slack team_id) and their default pipeline."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.tables import Pipeline, Stage, Workspace


@dataclass(frozen=True)
class StageSpec:
    name: str
    probability: int
    rotting_days: int
    is_won: bool = False
    is_lost: bool = False


DEFAULT_STAGES: tuple[StageSpec, ...] = (
    StageSpec("Prospecting", 10, 14),
    StageSpec("Qualified", 25, 14),
    StageSpec("Proposal", 50, 10),
    StageSpec("Negotiation", 75, 7),
    StageSpec("Won", 100, 0, is_won=True),
    StageSpec("Lost", 0, 0, is_lost=True),
)


def get_or_create_workspace(session: Session, team_id: str, now: datetime, name: str = "") -> Workspace:
    """The workspace for a Slack team_id, created with the default pipeline on first contact."""
    ws = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
    if ws is not None:
        return ws
    try:
        with session.begin_nested():
            ws = Workspace(team_id=team_id, name=name, created_at=now)
            session.add(ws)
            session.flush()
            create_pipeline(session, ws, "Sales", DEFAULT_STAGES, is_default=True)
    except IntegrityError:
        # Another request created it at the same moment: use theirs.
        ws = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
        assert ws is not None
    return ws


def workspace_by_team(session: Session, team_id: str) -> Workspace:
    ws = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
    if ws is None:
        raise NotFound(f"No workspace {team_id} here yet.")
    return ws


def create_pipeline(
    session: Session, ws: Workspace, name: str, stages: tuple[StageSpec, ...], is_default: bool = False
) -> Pipeline:
    pipeline = Pipeline(workspace_id=ws.id, name=name, is_default=is_default)
    session.add(pipeline)
    session.flush()
    for position, spec in enumerate(stages):
        session.add(
            Stage(
                workspace_id=ws.id,
                pipeline_id=pipeline.id,
                name=spec.name,
                position=position,
                probability=spec.probability,
                rotting_days=spec.rotting_days,
                is_won=spec.is_won,
                is_lost=spec.is_lost,
            )
        )
    session.flush()
    return pipeline


def default_pipeline(session: Session, workspace_id: int) -> Pipeline:
    pipeline = session.scalar(
        select(Pipeline).where(Pipeline.workspace_id == workspace_id, Pipeline.is_default.is_(True))
    )
    if pipeline is None:
        raise NotFound("This workspace has no default pipeline.")
    return pipeline


def stages_of(session: Session, pipeline_id: int) -> list[Stage]:
    return list(session.scalars(select(Stage).where(Stage.pipeline_id == pipeline_id).order_by(Stage.position)))
