"""`salesbot migrate`, `salesbot import deals|leads FILE.csv`, `salesbot export deals|leads|activities`.

Which workspace: `--team-id T` (created if new), else the bot token's workspace (Slack's
auth.test for SLACK_BOT_TOKEN), else the only workspace in the database, else a local one,
`T-LOCAL`, which the first workspace to use Slack adopts (core.workspace.workspaces). The
console's default workspace never makes the choice ambiguous; several real ones need `--team-id`.
Import and export apply pending migrations first, so a fresh database just works; a
database whose tables were made without Alembic (tests, `create_all`) is used as it is.
Exit codes: 0 done, 1 bad data (the row error table says which cells), 2 bad usage.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, inspect

from bot.cli import settings_from
from bot.clock import utcnow
from core.db import UnitOfWork, alembic_config, make_engine, migrate
from core.deals.import_rows import UNKNOWN_STAGE, ErrorGroup, group_errors
from core.errors import UserError
from core.leads import csv_io as lead_io

PROGRESS_MIN_ROWS = 5000  # below this an import is done before a bar would be worth drawing
SHOWN_ERRORS = 50


def _fail(ctx: click.Context, code: int, message: str) -> None:
    click.echo(f"salesbot: {message}", err=True)
    ctx.exit(code)


def _revisions(engine: Engine) -> tuple[str | None, str | None, bool]:
    """(current revision, head revision, whether our tables exist)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(False))).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        has_tables = inspect(conn).has_table("deals")
    return current, head, has_tables


def _ready_engine(ctx: click.Context) -> Engine:
    """An engine on a database at the current schema (pending migrations applied)."""
    settings = settings_from(ctx)
    engine = make_engine(settings.database_url)
    try:
        current, head, has_tables = _revisions(engine)
        if current != head and (current is not None or not has_tables):
            migrate(settings.database_url)
            click.echo(f"salesbot: applied migrations up to {head}", err=True)
    except Exception as exc:  # the database is unreachable or its schema is not ours
        _fail(ctx, 1, f"the database is not ready ({exc.__class__.__name__}: {str(exc).splitlines()[0]}); "
              "check DATABASE_URL and run `salesbot migrate`")
    return engine


def _workspace_id(ctx: click.Context, uow: UnitOfWork, team_id: str | None, now: datetime) -> int:
    """`--team-id`, else the bot token's workspace (`auth.test`), else the only one (core decides)."""
    from core.errors import Ambiguous
    from core.workspace.workspaces import cli_workspace

    if not team_id:
        team_id = _token_team(ctx)
    try:
        with uow.transaction() as s:
            return cli_workspace(s, now, team_id).id
    except Ambiguous as err:
        _fail(ctx, 2, err.message)
    raise AssertionError("unreachable")


def _token_team(ctx: click.Context) -> str | None:
    """The team of SLACK_BOT_TOKEN (a single-workspace install), asked of Slack with auth.test."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    settings = settings_from(ctx)
    if not settings.slack_bot_token:
        return None
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=15)
    try:
        team = client.auth_test().get("team_id")
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else exc
        _fail(ctx, 2, f"Slack refused SLACK_BOT_TOKEN ({error}): check the token, or name the workspace "
              "with --team-id")
    except Exception as exc:  # Slack unreachable: say so, do not guess a workspace
        _fail(ctx, 1, f"could not ask Slack which workspace SLACK_BOT_TOKEN belongs to ({exc.__class__.__name__}); "
              "retry, or name the workspace with --team-id")
    if not team:
        _fail(ctx, 1, "Slack's auth.test named no team for SLACK_BOT_TOKEN: name the workspace with --team-id")
    return str(team)


def _stderr() -> Console:
    return Console(stderr=True, width=None if sys.stderr.isatty() else 120)


def _row_count(path: Path) -> int:
    with path.open("rb") as f:
        return max(sum(1 for _ in f) - 1, 0)


@contextmanager
def _progress_bar(path: Path, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on stderr for big files (or any file on a terminal)."""
    if not (sys.stderr.isatty() or _row_count(path) > PROGRESS_MIN_ROWS):
        yield None
        return
    with Progress(
        TextColumn(f"{label} [bold]{path.name}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=_stderr(), transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _group_line(group: ErrorGroup, create_stages_flag: bool) -> str:
    """One error that many rows share, said once: what, how many rows, and how to fix it."""
    rows = f"{group.count:,} row{'s' if group.count != 1 else ''}"
    if group.kind == UNKNOWN_STAGE:
        fix = "add --create-stages to create it, or add it in /salesbot pipeline" if create_stages_flag else (
            "add it in /salesbot pipeline")
        return f'stage "{group.value}" is not in the pipeline ({rows}): {fix}'
    first = ", ".join(str(r) for r in group.rows[:5]) + (", …" if group.count > 5 else "")
    return f'{group.column} "{group.value}": {group.reason} ({rows}: {first})'


def _show_errors(errors: list[Any], create_stages_flag: bool = False) -> None:
    """Errors many rows share, once each with their row count; then the other rows' errors, row by row."""
    groups, singles = group_errors(errors)
    for group in groups:  # one whole line each, never wrapped
        click.echo(f"salesbot: {_group_line(group, create_stages_flag)}", err=True)
    if not singles:
        return
    console = _stderr()
    table = Table(title="Rows with errors", show_lines=False)
    for name, justify in (("row", "right"), ("column", "left"), ("value", "left"), ("reason", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for err in singles[:SHOWN_ERRORS]:
        table.add_row(str(err.row), str(err.column), str(err.value), str(err.reason))
    console.print(table)
    if len(singles) > SHOWN_ERRORS:
        console.print(f"... and {len(singles) - SHOWN_ERRORS} more rows with errors.")


def _finish_import(ctx: click.Context, report: Any, what: str, create_stages_flag: bool = False) -> None:
    """Print the summary (and the errors); exit 1 when rows were bad."""
    errors = list(getattr(report, "errors", []))
    written = getattr(report, "written", not errors)
    if errors and not written:
        _show_errors(errors, create_stages_flag)
        bad = len({e.row for e in errors})
        only_stages = all(e.kind == UNKNOWN_STAGE for e in errors)
        fix = ("Add the stages (--create-stages) or use --skip-bad-rows to import the other rows."
               if only_stages and create_stages_flag else
               "Fix them, or use --skip-bad-rows to import the good rows.")
        _fail(ctx, 1, f"nothing imported: {bad:,} bad row(s). {fix}")
    counts = ", ".join(
        f"{getattr(report, n)} {n}" for n in ("created", "updated", "unchanged", "skipped") if hasattr(report, n)
    )
    click.echo(f"Imported {what}: {counts}.")
    ignored = getattr(report, "ignored_columns", [])
    if ignored:
        click.echo(f"Columns not used: {', '.join(ignored)}.")
    stages = getattr(report, "stages_created", [])
    if stages:
        click.echo(f"Stages added: {', '.join(stages)}.")
        for name, (probability, won, closed) in getattr(report, "stage_probabilities", {}).items():
            how = (f"{won} won of the {closed} imported deals that reached it and closed" if closed
                   else "no closed deal reached it: set by its place in the pipeline")
            click.echo(f"  {name}: {probability} % ({how}); change it with `/salesbot pipeline`.")
    if errors:
        _show_errors(errors, create_stages_flag)
        ctx.exit(1)


_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
_TEAM = click.option(
    "--team-id", default=None,
    help="Slack team id of the workspace (created if new). Default: SLACK_BOT_TOKEN's workspace, else the only "
    "one, else T-LOCAL (adopted by the first workspace that uses Slack).",
)


def register(main: click.Group) -> None:
    """Add migrate, import and export to the `salesbot` command."""

    @main.command("migrate")
    @click.pass_context
    def migrate_cmd(ctx: click.Context) -> None:
        """Apply database migrations (alembic upgrade head)."""
        settings = settings_from(ctx)
        try:
            migrate(settings.database_url)
            current, head, _ = _revisions(make_engine(settings.database_url))
        except Exception as exc:
            _fail(ctx, 1, f"migration failed: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        click.echo(f"Database at revision {current} (head {head}).")

    @main.group("import")
    def import_group() -> None:
        """Import a spreadsheet export (CSV): all-or-nothing unless --skip-bad-rows."""

    @import_group.command("deals")
    @click.argument("file", type=_FILE)
    @click.option("--teams", type=_FILE, help="sales_teams.csv: sales_agent, manager (one team per manager).")
    @click.option("--products", type=_FILE, help="products.csv: product, sales_price (list prices).")
    @click.option("--create-stages", is_flag=True, help="Add unknown stage names as open stages before Won.")
    @click.option("--skip-bad-rows", is_flag=True, help="Import the good rows and report the bad ones.")
    @_TEAM
    @click.pass_context
    def import_deals_cmd(
        ctx: click.Context, file: Path, teams: Path | None, products: Path | None, create_stages: bool,
        skip_bad_rows: bool, team_id: str | None,
    ) -> None:
        """Import deals from FILE.csv (all-or-nothing unless --skip-bad-rows).

        Headers are matched loosely (title/deal/opportunity, owner/sales_agent/rep,
        stage/deal_stage, amount/close_value, close_date, account/company, created,
        id/ref/opportunity_id, ...); title and stage are required. Importing the same file
        again changes nothing; rows with an id update the deal imported under it.
        """
        from core.deals.importer import import_deals

        uow = UnitOfWork(_ready_engine(ctx))
        now = utcnow()
        ws_id = _workspace_id(ctx, uow, team_id, now)
        try:
            with _progress_bar(file, "Importing") as progress:
                report = import_deals(
                    uow, ws_id, file, now=now, teams_csv=teams, products_csv=products,
                    create_stages=create_stages, skip_bad_rows=skip_bad_rows, progress=progress,
                )
        except UserError as err:
            _fail(ctx, 1, err.message)
        _finish_import(ctx, report, "deals", create_stages_flag=True)

    @import_group.command("leads")
    @click.argument("file", type=_FILE)
    @click.option("--skip-bad-rows", is_flag=True, help="Import the good rows and report the bad ones.")
    @_TEAM
    @click.pass_context
    def import_leads_cmd(ctx: click.Context, file: Path, skip_bad_rows: bool, team_id: str | None) -> None:
        """Import leads from FILE.csv."""
        uow = UnitOfWork(_ready_engine(ctx))
        now = utcnow()
        ws_id = _workspace_id(ctx, uow, team_id, now)
        try:
            with _progress_bar(file, "Importing") as progress:
                report = lead_io.import_leads(uow, ws_id, file, now=now, skip_bad_rows=skip_bad_rows,
                                              progress=progress)
        except UserError as err:
            _fail(ctx, 1, err.message)
        _finish_import(ctx, report, "leads")

    @main.command("export")
    @click.argument("kind", type=click.Choice(["deals", "leads", "activities"]))
    @_TEAM
    @click.pass_context
    def export_cmd(ctx: click.Context, kind: str, team_id: str | None) -> None:
        """Write deals, leads or activities as CSV to standard output."""
        from core.deals import exporter

        writer: Callable[[UnitOfWork, int, Any], int | None]
        if kind == "leads":
            writer = lead_io.export_leads
        elif kind == "deals":
            writer = exporter.export_deals
        else:
            writer = exporter.export_activities
        uow = UnitOfWork(_ready_engine(ctx))
        ws_id = _workspace_id(ctx, uow, team_id, utcnow())
        writer(uow, ws_id, sys.stdout)
        sys.stdout.flush()
