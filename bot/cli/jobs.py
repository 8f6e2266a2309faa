"""`salesbot jobs list` and `salesbot jobs run NAME [--at ISO-8601]`."""
from __future__ import annotations

from datetime import UTC, datetime

import click

from bot.cli import settings_from
from bot.clock import utcnow


def _parse_at(text: str | None) -> datetime:
    if not text:
        return utcnow()
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO-8601 time: write e.g. 2026-11-30T09:00:00Z", param_hint="--at"
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def register(main: click.Group) -> None:
    """Add the `jobs` group to the salesbot command."""

    @main.group("jobs")
    def jobs_group() -> None:
        """Scheduled jobs: list them, or run one once."""

    @jobs_group.command("list")
    def jobs_list() -> None:
        """The jobs, when the scheduler runs them, and their next run time."""
        from bot.jobs import next_run_times

        for job, next_at in next_run_times(utcnow()):
            when = next_at.strftime("%Y-%m-%d %H:%M:%S UTC") if next_at else "-"
            click.echo(f"{job.name:<12} next {when}  ({job.schedule}) {job.description}")

    @jobs_group.command("run")
    @click.argument("name")
    @click.option("--at", "at_text", metavar="ISO-8601", help="run as if the clock read this time (UTC if no offset)")
    @click.pass_context
    def jobs_run(ctx: click.Context, name: str, at_text: str | None) -> None:
        """Run job NAME once (nudges, stale, slipped, digest, route-leads, discounts, deliver)."""
        from bot.jobs import JOBS, JobSetupError, run_job

        if name not in JOBS:
            raise click.BadParameter(f"unknown job {name!r}; jobs: {', '.join(JOBS)}", param_hint="NAME")
        at = _parse_at(at_text)
        settings = settings_from(ctx)
        if name == "deliver" and not settings.has_slack:
            click.echo("salesbot: SLACK_BOT_TOKEN is not set: deliver sends to Slack, so set SLACK_BOT_TOKEN "
                       "(or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET on a multi-workspace install)", err=True)
            ctx.exit(2)
        from slack_sdk import WebClient

        from core.db import UnitOfWork, make_engine

        client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url) \
            if settings.slack_bot_token else None
        engine = make_engine(settings.database_url)
        uow = UnitOfWork(engine)
        options: dict[str, object] = {}
        if name == "deliver" and settings.oauth:
            # Each workspace's own bot token, from our installation store (as the scheduler does).
            from bot.scheduler import workspace_clients

            options["client_for"], options["pause"] = workspace_clients(settings, uow)
        try:
            click.echo(run_job(name, uow, at, client, **options))
        except JobSetupError as exc:
            click.echo(f"salesbot: {exc}", err=True)
            ctx.exit(2)
        except Exception as exc:
            click.echo(f"salesbot: job {name} failed: {exc.__class__.__name__}: {exc}", err=True)
            ctx.exit(1)
        finally:
            engine.dispose()

    @jobs_group.command("failed")
    @click.option("--team", "team_id", metavar="TEAM_ID", help="the Slack workspace (team_id); default: all")
    @click.option("--limit", default=50, show_default=True, help="how many, newest first")
    @click.pass_context
    def jobs_failed(ctx: click.Context, team_id: str | None, limit: int) -> None:
        """Messages that could not be delivered, with Slack's reason (for admins)."""
        from sqlalchemy import select

        from core.db import UnitOfWork, make_engine
        from core.notify import outbox
        from core.tables import Workspace

        settings = settings_from(ctx)
        engine = make_engine(settings.database_url)
        try:
            with UnitOfWork(engine).read() as session:
                query = select(Workspace).order_by(Workspace.id)
                if team_id:
                    query = query.where(Workspace.team_id == team_id)
                found = 0
                for ws in session.scalars(query):
                    for msg in outbox.failed_messages(session, ws.id, limit):
                        found += 1
                        when = f"{msg.created_at:%Y-%m-%d %H:%M}"
                        click.echo(f"{ws.team_id}  {when}  {msg.kind:<10} to {msg.channel:<12} {msg.reason}  "
                                   f"({msg.key}, {msg.attempts} attempt(s))")
                if not found:
                    click.echo("No failed messages.")
        finally:
            engine.dispose()
