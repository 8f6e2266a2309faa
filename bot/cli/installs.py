"""`salesbot installs list|set-aside|resume`: workspaces as Slack sees them.

`list` shows each workspace's status (active, paused with Slack's answer to its token,
uninstalled), since when, whether tokens are stored and how many messages wait or were set
aside; `set-aside` lists the messages kept but never sent because their workspace uninstalled
the app (core.notify.outbox.set_aside_messages); `resume` makes a paused workspace active again
once its token works (Slack's answer was temporary, or an admin fixed the app): its waiting
messages go out with the next delivery, and a token still refused pauses it again.
"""
from __future__ import annotations

import click
from sqlalchemy import func, select

from bot.cli.data import _fail, _ready_engine
from bot.clock import utcnow
from core.db import UnitOfWork
from core.notify import outbox
from core.tables import OutboxMessage, OutboxStatus, Workspace
from core.workspace.installations import resume_workspace, workspace_states


def register(main: click.Group) -> None:
    """Add `installs list`, `installs set-aside` and `installs resume` to the `salesbot` command."""

    @main.group("installs")
    def installs_group() -> None:
        """Slack installations: status of each workspace, messages set aside."""

    @installs_group.command("list")
    @click.pass_context
    def installs_list(ctx: click.Context) -> None:
        """Each workspace: status (active / paused / uninstalled), why, since when, messages waiting."""
        engine = _ready_engine(ctx)
        try:
            with UnitOfWork(engine).read() as session:
                states = workspace_states(session)
                counts = {
                    (int(ws), str(status)): int(n)
                    for ws, status, n in session.execute(
                        select(OutboxMessage.workspace_id, OutboxMessage.status, func.count())
                        .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SET_ASIDE]))
                        .group_by(OutboxMessage.workspace_id, OutboxMessage.status)
                    )
                }
                ids = {str(t): int(i) for i, t in session.execute(select(Workspace.id, Workspace.team_id))}
        finally:
            engine.dispose()
        if not states:
            click.echo("No workspaces yet.")
            return
        for s in states:
            ws_id = ids[s.team_id]
            since = f" since {s.since:%Y-%m-%d %H:%M} UTC" if s.since else ""
            why = f" ({s.reason})" if s.reason else ""
            tokens = "tokens stored" if s.installed else "no tokens"
            pending = counts.get((ws_id, OutboxStatus.PENDING.value), 0)
            aside = counts.get((ws_id, OutboxStatus.SET_ASIDE.value), 0)
            click.echo(f"{s.team_id:<12} {s.status:<11}{why}{since}; {tokens}; {pending} waiting, {aside} set aside"
                       + (f"  {s.name}" if s.name else ""))

    @installs_group.command("set-aside")
    @click.option("--team-id", default=None, help="one workspace (Slack team id); default: all")
    @click.pass_context
    def installs_set_aside(ctx: click.Context, team_id: str | None) -> None:
        """Messages kept but never sent: their workspace uninstalled the app first."""
        engine = _ready_engine(ctx)
        try:
            with UnitOfWork(engine).read() as session:
                workspace_id = None
                if team_id:
                    workspace_id = session.scalar(select(Workspace.id).where(Workspace.team_id == team_id))
                    if workspace_id is None:
                        _fail(ctx, 2, f"no workspace {team_id} here: salesbot installs list shows them")
                found = outbox.set_aside_messages(session, workspace_id)
        finally:
            engine.dispose()
        for m in found:
            click.echo(f"{m.team_id:<12} {m.created_at:%Y-%m-%d %H:%M}  {m.kind:<10} to {m.channel:<12} "
                       f"{m.key}  ({m.reason})")
        click.echo(f"{len(found)} message(s) set aside.")

    @installs_group.command("resume")
    @click.argument("team_id")
    @click.pass_context
    def installs_resume(ctx: click.Context, team_id: str) -> None:
        """Make a paused workspace active again; its waiting messages go out with the next delivery."""
        engine = _ready_engine(ctx)
        try:
            with UnitOfWork(engine).transaction() as session:
                ws = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
                if ws is None:
                    _fail(ctx, 2, f"no workspace {team_id} here: salesbot installs list shows them")
                assert ws is not None
                status = str(ws.status)
                resumed = resume_workspace(session, team_id, utcnow())
                waiting = int(session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.workspace_id == ws.id, OutboxMessage.status == OutboxStatus.PENDING)) or 0)
        finally:
            engine.dispose()
        if not resumed:
            hint = "; a reinstall brings it back" if status == "uninstalled" else ""
            _fail(ctx, 1, f"{team_id} is {status}, not paused: nothing to resume{hint}")
        click.echo(f"{team_id} is active again; {waiting} message(s) go out with the next delivery "
                   "(a token Slack still refuses pauses it again).")
