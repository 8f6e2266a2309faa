"""Workspaces (one per Slack team_id) and their default pipeline."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Ambiguous, NotFound
from core.i18n import N_, _, use_locale
from core.tables import Pipeline, Stage, Workspace


@dataclass(frozen=True)
class StageSpec:
    name: str
    probability: int
    rotting_days: int
    is_won: bool = False
    is_lost: bool = False


# The names are marked for translation: a workspace whose language changes in /salesbot setup
# while its stages still carry the defaults gets them in the new language (stage_names_follow).
DEFAULT_STAGES: tuple[StageSpec, ...] = (
    StageSpec(N_("Prospecting"), 10, 14),
    StageSpec(N_("Qualified"), 25, 14),
    StageSpec(N_("Proposal"), 50, 10),
    StageSpec(N_("Negotiation"), 75, 7),
    StageSpec(N_("Won"), 100, 0, is_won=True),
    StageSpec(N_("Lost"), 0, 0, is_lost=True),
)


def default_stage_names(locale: str) -> list[str]:
    """The default stages' names in `locale`."""
    with use_locale(locale):
        return [_(spec.name) for spec in DEFAULT_STAGES]


def stage_names_follow(session: Session, workspace_id: int, old_locale: str, new_locale: str) -> int:
    """Rename the default pipeline's stages to the new language's default names when they are
    exactly the old language's defaults (a pipeline an admin shaped keeps its names).
    Returns how many stages were renamed."""
    old, new = default_stage_names(old_locale), default_stage_names(new_locale)
    if old == new:
        return 0
    stages = stages_of(session, default_pipeline(session, workspace_id).id)
    if [stage.name for stage in stages] != old:
        return 0  # an admin shaped this pipeline: its names are theirs
    for stage, name in zip(stages, new, strict=True):
        stage.name = name
    return len(stages)


# Data imported before anyone used Slack (no token, no --team-id) lives here until the real
# workspace appears; the console's default workspace is a sandbox, never a CLI target by accident.
LOCAL_TEAM_ID = "T-LOCAL"
CONSOLE_TEAM_ID = "T0CONSOLE"
SANDBOX_TEAM_IDS = frozenset({LOCAL_TEAM_ID, CONSOLE_TEAM_ID})


def get_or_create_workspace(
    session: Session, team_id: str, now: datetime, name: str = "", locale: str | None = None
) -> Workspace:
    """The workspace for a Slack team_id, created with the default pipeline on first contact.

    On first contact of the first real workspace, a local workspace (`T-LOCAL`, what
    `salesbot import` made before Slack was used) becomes that workspace: its data was meant
    for it. With another real workspace already there, nothing is adopted. A new workspace speaks
    `locale` (the deployment's SALESBOT_LOCALE) until an admin picks its language in setup.
    """
    ws = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
    if ws is not None:
        return ws
    adopted = _adopt_local(session, team_id, name)
    if adopted is not None:
        return adopted
    try:
        with session.begin_nested():
            ws = Workspace(team_id=team_id, name=name, created_at=now, **({"locale": locale} if locale else {}))
            session.add(ws)
            session.flush()
            create_pipeline(session, ws, "Sales", DEFAULT_STAGES, is_default=True)
    except IntegrityError:
        # Another request created it at the same moment: use theirs.
        ws = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
        assert ws is not None
    return ws


def _adopt_local(session: Session, team_id: str, name: str) -> Workspace | None:
    if team_id in SANDBOX_TEAM_IDS:
        return None
    teams = {str(row[1]): int(row[0]) for row in session.execute(select(Workspace.id, Workspace.team_id))}
    if LOCAL_TEAM_ID not in teams or set(teams) - SANDBOX_TEAM_IDS:
        return None
    local = session.get(Workspace, teams[LOCAL_TEAM_ID], with_for_update=True)
    if local is None or local.team_id != LOCAL_TEAM_ID:  # adopted meanwhile by another request
        return session.scalar(select(Workspace).where(Workspace.team_id == team_id))
    local.team_id = team_id
    if name:
        local.name = name
    session.flush()
    return local


def cli_workspace(session: Session, now: datetime, team_id: str | None = None) -> Workspace:
    """The workspace a command-line action without a Slack request targets.

    `team_id` (from `--team-id`, or the bot token's `auth.test`) wins, created if new (adopting
    `T-LOCAL` as first contact does). Otherwise the only real workspace; with none, the
    console's when it is the only one, else `T-LOCAL`. Several real workspaces need a choice:
    `Ambiguous` lists them. The console's and the local workspace never make it ambiguous.
    """
    if team_id:
        return get_or_create_workspace(session, team_id, now)
    found = list(session.scalars(select(Workspace).order_by(Workspace.id)))
    real = [w for w in found if w.team_id not in SANDBOX_TEAM_IDS]
    if len(real) == 1:
        return real[0]
    if len(real) > 1:
        raise Ambiguous(
            _("This database has {n} workspaces ({ids}): choose one with --team-id.").format(
                n=len(real), ids=", ".join(w.team_id for w in real)),
            [w.team_id for w in real],
        )
    by_team = {w.team_id: w for w in found}
    if LOCAL_TEAM_ID not in by_team and CONSOLE_TEAM_ID in by_team:
        return by_team[CONSOLE_TEAM_ID]
    return get_or_create_workspace(session, LOCAL_TEAM_ID, now, name="Local")


def workspace_by_team(session: Session, team_id: str) -> Workspace:
    ws = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
    if ws is None:
        raise NotFound(_("No workspace {id} here yet.").format(id=team_id))
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
        raise NotFound(_("This workspace has no default pipeline."))
    return pipeline


def stages_of(session: Session, pipeline_id: int) -> list[Stage]:
    return list(session.scalars(select(Stage).where(Stage.pipeline_id == pipeline_id).order_by(Stage.position)))
