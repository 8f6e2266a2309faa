"""`/salesbot` (admins; managers for their own team): teams, roles, quotas, links, setup, pipeline, rates."""
from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App

from bot.commands import Request, aliases, slash_command
from bot.commands import prefs as prefs_command
from bot.commands.parsing import Args, Token, looks_like_amount, read_args, split_amount
from bot.modals.admin_modals import pipeline_view, setup_view
from bot.views.admin import done, linked, rate_saved, rates_listed, team_saved, teams_listed
from bot.views.help import admin_help
from core.errors import InvalidInput
from core.i18n import N_, _, ngettext
from core.insight.quotas import set_quota
from core.money import Money, parse_amount
from core.notify.discounts import get_discount_settings
from core.workspace import admin, rates
from core.workspace import setup as setup_service
from core.workspace.users import require_admin


def register(app: App) -> None:
    """Listen to /salesbot."""
    app.command("/salesbot")(slash_command("/salesbot", run))


def run(req: Request, text: str) -> None:
    """Run one `/salesbot` text."""
    args = read_args(text)
    sub = aliases.english(aliases.SALESBOT, args.words[0].value) if args.words and not args.words[0].quoted else ""
    handler = SUBCOMMANDS.get(sub)
    if handler is None:
        shown = args.words[0].value[:40] if args.words else ""
        note = _('"{word}" is not a {command} command.').format(word=shown, command="/salesbot") if shown else ""
        req.answer(admin_help(note))
        return
    args.words = args.words[1:]
    handler(req, args)


def _one_user(args: Args, usage: str) -> str:
    if len(args.users) != 1:
        raise InvalidInput(_("Mention one person. Usage: `{usage}`.").format(usage=usage), field="user")
    return args.users[0]


def team(req: Request, args: Args) -> None:
    """`team create|add|channel|list`."""
    action = aliases.english(aliases.TEAM_ACTIONS, args.words[0].value) if args.words else ""
    name = " ".join(t.value for t in args.words[1:])
    if action == "list":
        req.answer(teams_listed(admin.list_teams(req.uow, req.actor, name or None), is_admin=req.actor.is_admin))
    elif action == "create":
        usage = _("/salesbot team create <name> @manager")
        manager = _one_user(args, usage)
        saved = admin.create_team(req.uow, req.actor, name, manager, now=req.now)
        req.answer(team_saved(saved, _("created")))
    elif action == "add":
        usage = _("/salesbot team add <name> @user…")
        if not name:
            raise InvalidInput(_("Which team? Usage: `{usage}`.").format(usage=usage), field="team")
        saved = admin.add_to_team(req.uow, req.actor, name, args.users, now=req.now)
        members = len(saved.member_slack_ids)
        req.answer(team_saved(saved, ngettext("now has {n} member", "now has {n} members", members).format(n=members)))
    elif action == "channel":
        usage = _("/salesbot team channel <name> #channel")
        if len(args.channels) != 1:
            raise InvalidInput(_("Name one channel. Usage: `{usage}`.").format(usage=usage), field="channel")
        if not name:
            raise InvalidInput(_("Which team? Usage: `{usage}`.").format(usage=usage), field="team")
        saved = admin.set_team_channel(req.uow, req.actor, name, args.channels[0], now=req.now)
        req.answer(team_saved(saved, _("posts its digest and hot leads there")))
    else:
        raise InvalidInput(_("Use `/salesbot team list`, `/salesbot team create <name> @manager`, "
                             "`/salesbot team add <name> @user…` or `/salesbot team channel <name> #channel`."))


def role(req: Request, args: Args) -> None:
    """`role @user rep|manager|admin`."""
    usage = _("/salesbot role @user rep|manager|admin")
    user = _one_user(args, usage)
    if len(args.words) != 1:
        raise InvalidInput(_("Which role: rep, manager or admin? Usage: `{usage}`.").format(usage=usage),
                           field="role")
    word = args.words[0].value
    new_role = admin.set_role(req.uow, req.actor, user, aliases.ROLES.get(aliases.fold(word), word), now=req.now)
    role_names = {"rep": _("rep"), "manager": _("manager"), "admin": _("admin")}
    req.answer(done(_("{person} is now {role}.").format(person=f"<@{user}>",
                                                        role=role_names.get(new_role.value, new_role.value))))


def quota(req: Request, args: Args) -> None:
    """`quota @user <amount> [quarter]` or `quota team "<name>" <amount> [quarter]`."""
    usage = _('/salesbot quota @user <amount> [quarter]` or `/salesbot quota team "<name>" <amount> [quarter]')
    words = args.words
    team_name: str | None = None
    user: str | None = None
    if words and words[0].is_plain_word and aliases.english(aliases.SALESBOT, words[0].value) == "team":
        if args.users:
            raise InvalidInput(_("Give either a rep (@user) or a team for the quota, not both."), field="user")
        team_name, words = _team_name(words[1:], usage)
    else:
        user = _one_user(args, usage)
    amount, rest = _quota_amount(req, words, usage)
    saved = set_quota(req.uow, req.actor, user_slack_id=user, team_name=team_name, amount=amount,
                      period=" ".join(t.value for t in rest), now=req.now)
    from bot.views.common import escape, money

    req.answer(done(_("Quota of {whose} for {period}: {amount}.").format(
        whose=escape(saved.whose), period=escape(saved.period),
        amount=money(saved.amount, saved.currency, req.actor.locale))))


def _team_name(words: list[Token], usage: str) -> tuple[str, list[Token]]:
    """The team name after `quota team`: a quoted word, or the words before the amount."""
    if words and words[0].quoted:
        name, rest = words[0].value.strip(), words[1:]
    else:
        cut_at = next((i for i, t in enumerate(words) if t.is_plain_word and looks_like_amount(t.value)), len(words))
        name, rest = " ".join(t.value for t in words[:cut_at]), words[cut_at:]
    if not name:
        raise InvalidInput(_("Which team? Usage: `{usage}`, e.g. `{example}`.").format(
            usage=usage, example=_('/salesbot quota team "East" 250k Q1')), field="team")
    return name, rest


def _quota_amount(req: Request, words: list[Token], usage: str) -> tuple[Money, list[Token]]:
    """The amount (first, with an optional currency code after it) and the words of the quarter."""
    actor = req.actor
    if not words:
        raise InvalidInput(_("How much? Usage: `{usage}`, e.g. `{example}`.").format(
            usage=usage, example=_("/salesbot quota @ana 120k Q1")), field="amount")

    def parse(text: str) -> Money:
        return parse_amount(text, actor.locale, actor.currency)

    # An amount of two or three words that are all amount (`250 bin`, `1,5 milyon TL`).
    for take in (3, 2):
        if len(words) >= take and all(t.is_plain_word for t in words[:take]):
            try:
                whole, left = split_amount(words[:take], parse)
            except InvalidInput:
                continue
            if whole is not None and not left:
                return whole, words[take:]
    # The amount comes first (`120k Q1 2027`: 2027 is the year, not the amount).
    amount, rest = split_amount(words[:1], parse)
    rest = rest + words[1:]
    if len(words) > 1 and len(words[1].value) == 3 and words[1].value.isalpha() and amount:
        with_code, _rest = split_amount(words[:2], parse)
        if with_code is not None and with_code.currency == words[1].value.upper():
            amount, rest = with_code, words[2:]
    if amount is None:
        raise InvalidInput(_('"{word}" is not an amount. Usage: `{usage}`.').format(word=words[0].value, usage=usage),
                           field="amount")
    return amount, rest


def link(req: Request, args: Args) -> None:
    """`link "<imported name>" @user`."""
    usage = _('/salesbot link "<name from an import>" @user')
    user = _one_user(args, usage)
    name = " ".join(t.value for t in args.words)
    result = admin.link_import_owner(req.uow, req.actor, name, user, now=req.now)
    req.answer(linked(result))


def setup(req: Request, args: Args) -> None:
    """`setup`: the settings modal."""
    require_admin(req.actor, N_("change the workspace settings"))
    settings = setup_service.workspace_settings(req.uow, req.actor)
    discount_settings = get_discount_settings(req.uow, req.actor)
    req.client.views_open(trigger_id=req.trigger_id, view=setup_view(settings, discount_settings))


def pipeline(req: Request, args: Args) -> None:
    """`pipeline`: the stages modal."""
    require_admin(req.actor, N_("change the pipeline"))
    stages = setup_service.pipeline_stages(req.uow, req.actor)
    req.client.views_open(trigger_id=req.trigger_id, view=pipeline_view(stages))


def rate(req: Request, args: Args) -> None:
    """`rate <CUR> <rate>` (1 CUR = rate in the base currency, from today); `rate` alone lists them."""
    usage = _("/salesbot rate <CUR> <rate>")
    if args.users or args.channels or args.options:
        raise InvalidInput(_("Usage: `{usage}`, e.g. `{example}`.").format(usage=usage,
                                                                       example="/salesbot rate EUR 1.08"))
    words = [t.value for t in args.words]
    if not words:
        base, found = rates.list_rates(req.uow, req.actor, now=req.now)
        req.answer(rates_listed(base, found, req.actor.locale))
        return
    if len(words) != 2:
        raise InvalidInput(_("Give a currency and its rate. Usage: `{usage}`, e.g. `{example}` "
                             "(1 EUR = 1.08 in the base currency).").format(usage=usage,
                                                                            example="/salesbot rate EUR 1.08"),
                           field="rate")
    saved = rates.set_rate(req.uow, req.actor, words[0], words[1], now=req.now)
    req.answer(rate_saved(saved, req.actor.locale))


def help_sub(req: Request, args: Args) -> None:
    """`/salesbot help`."""
    req.answer(admin_help())


SUBCOMMANDS: dict[str, Callable[[Request, Args], None]] = {
    "team": team,
    "role": role,
    "quota": quota,
    "link": link,
    "setup": setup,
    "pipeline": pipeline,
    "rate": rate,
    "prefs": prefs_command.run,
    "help": help_sub,
}
