"""`/pipeline [mine|team|@user]`, `/pipeline forecast [quarter]`, `/pipeline digest`."""
from __future__ import annotations

from slack_bolt import App

from bot.commands import Request, aliases, slash_command
from bot.commands.parsing import read_args
from bot.views.digest import digest_message
from bot.views.forecast import forecast_message
from bot.views.help import not_a_command, pipeline_help
from bot.views.pipeline import pipeline_message
from core.errors import InvalidInput
from core.i18n import _
from core.insight.forecast import forecast_report
from core.insight.kpis import pipeline_by_stage
from core.notify.digest import digest_for
from core.workspace.admin import pipeline_scope


def register(app: App) -> None:
    """Listen to /pipeline."""
    app.command("/pipeline")(slash_command("/pipeline", run))


def run(req: Request, text: str) -> None:
    """Run one `/pipeline` text: a scope, forecast, digest or help."""
    args = read_args(text)
    first = aliases.english(aliases.PIPELINE, args.words[0].value) if args.words else ""
    if first == "help":
        req.answer(pipeline_help())
        return
    if first == "forecast":
        rest = " ".join(t.value for t in args.words[1:])
        req.answer(forecast_message(forecast_report(req.uow, req.actor, rest, req.now), req.actor))
        return
    if first == "digest":
        digest, locale = digest_for(req.uow, req.actor, req.now)
        req.answer(digest_message(digest, locale))
        return
    if args.options or args.channels or len(args.words) + len(args.users) > 1:
        raise InvalidInput(_("Usage: `/pipeline [mine|team|@user]`, `/pipeline forecast [quarter]` or "
                             "`/pipeline digest`."))
    if first and first not in ("mine", "team"):
        req.answer(pipeline_help(not_a_command("/pipeline", args.words[0].value)))
        return
    scope = pipeline_scope(req.uow, req.actor, first, args.users[0] if args.users else None, now=req.now)
    with req.uow.read() as session:
        stages = pipeline_by_stage(session, req.actor.workspace_id, owner_ids=scope.owner_ids, team_id=scope.team_id,
                                   now=req.now)
    req.answer(pipeline_message(stages, req.actor, scope.label))
