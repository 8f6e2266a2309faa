"""`salesbot run` (the bot) and `salesbot console` (the same listeners from a terminal).

`run`: checks the Slack settings, applies migrations, builds the Bolt app, starts the scheduler
(unless SALESBOT_SCHEDULER=off) and serves: Socket Mode when SLACK_APP_TOKEN is set (with the
webhooks and /healthz still on PORT), else HTTP mode on PORT with waitress. SIGTERM and Ctrl-C
stop it cleanly. Exit codes: 0 stopped, 1 runtime failure, 2 bad configuration.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from bot.cli import settings_from
from bot.config import Settings

logger = logging.getLogger(__name__)

HOST = "0.0.0.0"
# Seconds a stop spends republishing App Homes changed just before it (each takes queries and
# a views.publish; on a busy machine a dozen of them held SIGTERM past a supervisor's patience).
HOME_FLUSH_BUDGET = 2.0


def check_slack_settings(settings: Settings) -> str | None:
    """The one-line fix when the Slack settings cannot run the bot, else None."""
    if not settings.has_slack:
        return (
            "SLACK_BOT_TOKEN is not set: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN "
            "for Socket Mode), or try it without Slack: salesbot console"
        )
    if not settings.socket_mode and not settings.slack_signing_secret:
        return (
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to check requests come from Slack "
            "(Basic Information page), or set SLACK_APP_TOKEN for Socket Mode"
        )
    if settings.socket_mode and settings.oauth:
        return "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (OAuth install) need HTTP mode: unset SLACK_APP_TOKEN"
    if settings.socket_mode and not settings.slack_bot_token:
        return "SLACK_BOT_TOKEN is not set: Socket Mode needs it along with SLACK_APP_TOKEN"
    return None


def _fail(ctx: click.Context, code: int, message: str) -> None:
    click.echo(f"salesbot: {message}", err=True)
    ctx.exit(code)


class _Stop(Exception):
    """Raised in the main thread by SIGTERM to leave the serving loop."""


# SIGTERM only sets this flag; the serving loop checks it at least once a second. Raising from
# the handler could land inside a finaliser (a socket's __del__), where Python swallows the
# exception ("Exception ignored in ...") and the process kept serving until SIGKILL.
_STOP_REQUESTED = threading.Event()


def _request_stop(signum: int, frame: FrameType | None) -> None:
    _STOP_REQUESTED.set()


def _serve_until_stopped(server: Any) -> None:
    """waitress's loop, one poll (at most a second) at a time, until SIGTERM sets the flag."""
    from waitress import wasyncore

    socket_map = getattr(server, "_map", None) or getattr(server, "map", None)
    while not _STOP_REQUESTED.is_set():
        wasyncore.loop(timeout=1.0, map=socket_map, use_poll=server.adj.asyncore_use_poll, count=1)
    raise _Stop()


def serve(settings: Settings) -> int:
    """Run the bot until SIGTERM / Ctrl-C; return the exit code. Settings are already checked."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from bot.app import create_app
    from bot.clock import utcnow
    from bot.context import after_ack_pool
    from bot.scheduler import start_scheduler
    from bot.server import SalesbotServer, make_waitress_server
    from core.db import UnitOfWork, make_engine

    engine = make_engine(settings.database_url)
    uow = UnitOfWork(engine)
    try:
        app = create_app(settings, uow)
    except BoltError as exc:
        click.echo(f"salesbot: Slack refused the credentials ({exc}): check SLACK_BOT_TOKEN", err=True)
        return 2
    if settings.slack_bot_token and not settings.oauth:
        from bot.installations import reactivate_single_workspace

        reactivate_single_workspace(uow, app.client, utcnow())
    socket_handler: Any = None
    scheduler: Any = None
    server: Any = None
    _STOP_REQUESTED.clear()
    previous = signal.signal(signal.SIGTERM, _request_stop)
    try:
        wsgi = SalesbotServer(settings, uow, bolt_app=None if settings.socket_mode else app, clock=utcnow)
        server = make_waitress_server(wsgi, HOST, settings.port)
        if settings.socket_mode:
            from bot.socket_mode import start_socket_mode

            try:
                socket_handler = start_socket_mode(app, settings)
            except SlackApiError as exc:
                error = exc.response.get("error") if exc.response is not None else exc
                click.echo(
                    f"salesbot: Slack refused the Socket Mode connection ({error}): check SLACK_APP_TOKEN "
                    "(an app-level token with connections:write) and that Socket Mode is on for the app",
                    err=True,
                )
                return 2
        if settings.scheduler:
            scheduler = start_scheduler(settings, uow, app.client)
        mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
        click.echo(
            f"salesbot: running ({mode}), listening on http://{HOST}:{settings.port} "
            f"(scheduler {'on' if scheduler is not None else 'off'})",
            err=True,
        )
        _serve_until_stopped(server)
    except (_Stop, KeyboardInterrupt):
        click.echo("salesbot: stopping", err=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        # Intake first (no new work arrives), then what is running hands back or finishes:
        # a running delivery stops after the message in hand and hands its claim back; work
        # already acked to Slack is finished; App Homes get a short budget (a Home is
        # republished whenever it is opened, so none is lost by skipping its refresh).
        closers: tuple[tuple[str, Callable[[], object]], ...] = (
            ("Socket Mode", lambda: socket_handler.close() if socket_handler is not None else None),
            ("HTTP server", lambda: _close_http(server) if server is not None else None),
            ("scheduler", lambda: scheduler.shutdown() if scheduler is not None else None),
            ("work after acks", lambda: after_ack_pool(app).shutdown()),  # commands acked just before the stop
            ("App Homes", lambda: _flush_homes(app)),
        )
        for name, closer in closers:
            began = time.monotonic()
            try:
                closer()
            except Exception:  # shutting down: report, never mask the exit
                logger.exception("error while stopping the %s", name)
            logger.debug("stopped the %s in %.2f s", name, time.monotonic() - began)
        engine.dispose()
    return 0


def _exit_process(ctx: click.Context, code: int) -> None:
    """End the `salesbot` process now that every piece of work is finished or handed back.

    The interpreter's own finalisation (a last garbage collection over a large heap, joining
    idle thread pools) took about a second, and far longer on a busy machine, between the
    last useful step and the exit: a supervisor's SIGTERM grace ran out on it. So the
    program leaves with os._exit once its streams are flushed; run in-process (click's test
    runner), it exits the ordinary way.
    """
    if Path(sys.argv[0]).name != "salesbot" or threading.current_thread() is not threading.main_thread():
        ctx.exit(code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _close_http(server: Any) -> None:
    """Let the requests in hand finish (their acks), cancel those not started (Slack retries
    them), then close the listening socket: closing it first failed the requests in hand."""
    dispatcher = getattr(server, "task_dispatcher", None)
    if dispatcher is not None:
        dispatcher.shutdown(cancel_pending=True, timeout=5)
    server.close()


def _flush_homes(app: Any) -> None:
    from bot.context import home_refresher

    skipped = home_refresher(app).flush(budget=HOME_FLUSH_BUDGET)
    if skipped:
        logger.info("stopping: %d App Home refresh(es) left for the next time they are opened", skipped)


def register(main: click.Group) -> None:
    """Add `run` and `console` to the salesbot command."""

    @main.command("run")
    @click.pass_context
    def run(ctx: click.Context) -> None:
        """Run the bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode on PORT."""
        settings = settings_from(ctx)
        problem = check_slack_settings(settings)
        if problem:
            _fail(ctx, 2, problem)
        from core.db import migrate

        try:
            migrate(settings.database_url)
        except Exception as exc:
            _fail(ctx, 1, f"could not migrate {_safe_url(settings.database_url)}: {_one_line(exc)}")
        _redact_stored_secrets(settings)
        try:
            code = serve(settings)
        except OSError as exc:  # e.g. the port is taken
            _fail(ctx, 1, f"could not serve on port {settings.port}: {_one_line(exc)}")
        except Exception as exc:
            logger.debug("run failed", exc_info=True)
            _fail(ctx, 1, f"stopped on an error: {_one_line(exc)}")
        if code == 0:
            click.echo("salesbot: stopped", err=True)
        _exit_process(ctx, code)

    def _redact_stored_secrets(settings: Settings) -> None:
        """Each workspace's own webhook secret is redacted from the first log line on."""
        from bot.logs import redact_from_now_on
        from bot.secrets import stored_webhook_secrets
        from core.db import UnitOfWork, make_engine

        engine = make_engine(settings.database_url)
        try:
            with UnitOfWork(engine).read() as session:
                redact_from_now_on(*stored_webhook_secrets(session, settings))
        finally:
            engine.dispose()

    @main.command("console")
    @click.option(
        "--as",
        "as_user",
        default=None,
        help='Whom to act as: a Slack user id (default U0CONSOLE), or the name of a person imported by name, '
        'e.g. --as "Darcel Schlecht" in the demo (default there: the manager Dustin Brinkmann).',
    )
    @click.option("--tz", default=None, help="The acting user's time zone (IANA name, e.g. Europe/Istanbul).")
    @click.option(
        "--now",
        "now_text",
        default=None,
        help="Fix the clock: ISO 8601 with Z or an offset (2017-09-25T13:00+03:00), or a time and a zone name "
        '("2017-09-25 13:00 Europe/Istanbul"); no zone means UTC. With --demo the default is 2017-09-25 13:00 UTC.',
    )
    @click.option("--team", default="T0CONSOLE", show_default=True, help="Slack team (workspace) id.")
    @click.option("--name", default=None, help="The acting user's display name.")
    @click.option(
        "--admin/--no-admin",
        default=False,
        show_default=True,
        help="Act as a Slack workspace admin (Slack admins are salesbot admins; needed for /salesbot setup).",
    )
    @click.option(
        "--demo", is_flag=True, help="Load the demo organisation (the Maven CRM data) first and act as its manager."
    )
    @click.option("--width", default=100, show_default=True, help="Output width in columns.")
    @click.option("--locale", "slack_locale", default=None,
                  help="The acting user's Slack language, e.g. tr-TR or en-US (salesbot answers in Turkish "
                       "or English; others fall back to the workspace's language).")
    @click.pass_context
    def console(
        ctx: click.Context,
        as_user: str,
        tz: str | None,
        now_text: str | None,
        team: str,
        name: str | None,
        admin: bool,
        demo: bool,
        width: int,
        slack_locale: str | None,
    ) -> None:
        """Drive the bot from a terminal: type /deal new Acme 12k and see the answer."""
        from bot.console import ConsoleOptions, ReadTime, read_now, run_console

        settings = settings_from(ctx)
        read: ReadTime | None = None
        try:
            read = read_now(now_text) if now_text else None
        except ValueError as exc:
            _fail(ctx, 2, f"--now {now_text!r}: {exc}")

        if tz is not None:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                _fail(ctx, 2, f"--tz {tz!r} is not a time zone name: use e.g. Europe/Istanbul or UTC")
        from core.db import migrate

        try:
            migrate(settings.database_url)
        except Exception as exc:
            _fail(ctx, 1, f"could not migrate {_safe_url(settings.database_url)}: {_one_line(exc)}")
        options = ConsoleOptions(
            who=as_user,
            team_id=team,
            tz=tz,
            now=read.at if read else None,
            now_note=read.note() if read else None,
            demo=demo,
            name=name,
            admin=admin,
            width=width,
            locale=slack_locale,
        )
        ctx.exit(run_console(settings, options, sys.stdin))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0] if text else ''}".rstrip(": ")


def _safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "the database"
