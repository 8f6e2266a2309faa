"""`salesbot workspaces list | export TEAM_ID [--out FILE] | delete TEAM_ID --yes` (SPEC section 2).

The workspaces of a multi-workspace install, for its operator. `export` writes a zip of the
CSV exports `salesbot export` prints (deals, leads, activities: the same writers); `delete`
erases every row of one workspace in one transaction (core/workspace/tenancy.py) and prints
what it deleted, table by table. Without `--yes` it only says what it would delete. An
unknown team id is refused with the ones there are, and nothing is created or changed.
Exit codes: 0 done, 1 runtime failure, 2 bad usage (no --yes, unknown team id).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from bot.cli.data import _fail, _ready_engine
from bot.clock import utcnow
from core.db import UnitOfWork
from core.deals import exporter
from core.errors import NotFound
from core.leads import csv_io as lead_io
from core.workspace import tenancy

EXPORT_WRITERS: dict[str, tenancy.CsvWriter] = {
    "deals": exporter.export_deals,
    "leads": lead_io.export_leads,
    "activities": exporter.export_activities,
}


def register(main: click.Group) -> None:
    """Add `workspaces list|export|delete` to the `salesbot` command."""

    @main.group("workspaces")
    def workspaces_group() -> None:
        """The workspaces of this install: list, export one as a zip of CSVs, delete one."""

    @workspaces_group.command("list")
    @click.pass_context
    def list_cmd(ctx: click.Context) -> None:
        """Every workspace: team id, name, locale, currency, deals, leads, users, created."""
        found = tenancy.list_workspaces(UnitOfWork(_ready_engine(ctx)))
        if not found:
            click.echo("No workspaces yet.")
            return
        with_status = any(w.status is not None for w in found)
        header = ["team_id", "name", "locale", "currency", "deals", "leads", "users", "created"]
        if with_status:
            header.append("status")
        rows = [header]
        for w in found:
            row = [w.team_id, w.name or "-", w.locale, w.currency, str(w.deals), str(w.leads), str(w.users),
                   w.created_at.strftime("%Y-%m-%d %H:%M UTC")]
            if with_status:
                row.append(w.status or "-")
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for row in rows:
            click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())

    @workspaces_group.command("export")
    @click.argument("team_id")
    @click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="The zip to write (default: salesbot-TEAM_ID-YYYYMMDD.zip here).")
    @click.pass_context
    def export_cmd(ctx: click.Context, team_id: str, out: Path | None) -> None:
        """Write TEAM_ID's deals, leads and activities as a zip of CSV files."""
        uow = UnitOfWork(_ready_engine(ctx))
        target = out or Path(f"salesbot-{team_id}-{utcnow():%Y%m%d}.zip")
        if not target.parent.exists():
            _fail(ctx, 2, f"no such directory: {target.parent}")
        # Written beside the target and renamed when complete: a failed export leaves no half zip.
        fd, tmp = tempfile.mkstemp(prefix=".salesbot-export-", suffix=".zip", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                counts = tenancy.export_workspace(uow, team_id, f, EXPORT_WRITERS)
            os.replace(tmp, target)
        except NotFound as err:
            _fail(ctx, 2, err.message)
            return
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        what = ", ".join(f"{n} {name}" for name, n in counts.items())
        click.echo(f"Exported {team_id} to {target}: {what}.")

    @workspaces_group.command("delete")
    @click.argument("team_id")
    @click.option("--yes", is_flag=True, help="Really delete: without it nothing is deleted.")
    @click.pass_context
    def delete_cmd(ctx: click.Context, team_id: str, yes: bool) -> None:
        """Delete every row of TEAM_ID's workspace (needs --yes); the other workspaces are untouched."""
        uow = UnitOfWork(_ready_engine(ctx))
        if not yes:
            try:
                with uow.read() as s:
                    ws = tenancy.find_workspace(s, team_id)
                    counts = tenancy.row_counts(s, ws.id, team_id)
            except NotFound as err:
                _fail(ctx, 2, err.message)
                return
            total = sum(counts.values())
            detail = ", ".join(f"{n} {table}" for table, n in counts.items() if n)
            _fail(ctx, 2, f"not deleted: this would delete {total} rows of {team_id} ({detail}). "
                  f"Export it first (`salesbot workspaces export {team_id}`), then run "
                  f"`salesbot workspaces delete {team_id} --yes`.")
        try:
            erased = tenancy.erase_workspace(uow, team_id)
        except NotFound as err:
            _fail(ctx, 2, err.message)
            return
        detail = ", ".join(f"{n} {table}" for table, n in erased.deleted.items())
        click.echo(f"Deleted workspace {team_id}{f' ({erased.name})' if erased.name else ''}: "
                   f"{erased.total} rows ({detail}).")
        click.echo("If the app is still installed in that Slack workspace, its next request starts it afresh: "
                   "uninstall the app there to keep it gone.")
