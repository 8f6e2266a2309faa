"""`/deal` (SPEC section 3): parse the text, call one core function, render the answer.

Refs come first (`/deal note D-42 called back`). A ref of several words needs no quotes:
note, lost, log, remind and stage take the longest leading run of words that names a deal
(core.deals.queries.split_ref), so `/deal note acme renewal called back` notes "Acme renewal";
a quoted first word is the ref exactly (`/deal note "Acme renewal" called back`). Show, edit
and won take the whole rest of the text. An ambiguous ref answers with the candidates as
buttons that run the same command on the chosen deal (bot/actions/deal.py).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.commands import Request, aliases, slash_command
from bot.commands.parsing import Args, Token, longest_prefix, read_args, resolve_option, split_amount
from bot.modals import deal_forms
from bot.views import cards as card_views
from bot.views import deals as views
from bot.views import discounts as discount_views
from bot.views.common import MAX_MESSAGE_BLOCKS
from bot.views.help import deal_help, not_a_command
from core.dates import parse_date, parse_datetime, parse_period
from core.deals import deals
from core.deals.queries import AmbiguousRef, get_changeable_deal, list_deals_counted, split_ref
from core.errors import Ambiguous, InvalidInput
from core.i18n import _
from core.money import parse_amount
from core.notify import cards, discounts
from core.notify.reminders import set_reminder
from core.tables import DealStatus
from core.workspace.admin import member_id
from core.workspace.setup import open_stage_names, pipeline_stages

logger = logging.getLogger(__name__)

ACTIVITY_KINDS = ("call", "email", "meeting", "demo", "proposal")


def register(app: App) -> None:
    """Listen to /deal."""
    app.command("/deal")(slash_command("/deal", run))


def run(req: Request, text: str) -> None:
    """Run one `/deal` command text for `req` (also used by the candidate-pick button)."""
    args = read_args(text)
    if not args.words and not args.options and not args.users and not args.channels:
        open_new_deal_modal(req)
        return
    sub = aliases.english(aliases.DEAL, args.words[0].value) if args.words and not args.words[0].quoted else ""
    handler = SUBCOMMANDS.get(sub)
    if handler is None:
        shown = args.words[0].value if args.words else text.strip()
        req.answer(deal_help(not_a_command("/deal", shown)))
        return
    if sub != "help":
        args.words = args.words[1:]
        for key in args.trailing:
            args.trailing[key] = [i - 1 for i in args.trailing[key] if i > 0]
    req.sub = sub
    try:
        handler(req, args)
    except Ambiguous as err:
        req.answer(views.candidates(err.message, err.candidates, req.actor, sub, req.rest))  # type: ignore[arg-type]


# -- helpers -------------------------------------------------------------------------------


def _quote(token: Token) -> str:
    if token.quoted or not token.value or any(c.isspace() for c in token.value):
        return '"' + token.value.replace('"', "'") + '"'
    return token.value


def _join(tokens: list[Token]) -> str:
    return " ".join(_quote(t) for t in tokens)


def _no_extras(args: Args, usage: str, *, users: bool = False, options: tuple[str, ...] = ()) -> None:
    if args.channels:
        raise InvalidInput(_("/deal does not take a #channel here. Usage: `{usage}`.").format(usage=usage))
    if args.users and not users:
        raise InvalidInput(_("/deal does not take an @person here. Usage: `{usage}`.").format(usage=usage))
    extra = set(args.options) - set(options)
    if extra:
        raise InvalidInput(_("`{option}:` does not apply here. Usage: `{usage}`.").format(
            option=sorted(extra)[0], usage=usage))


def _which_deal(usage: str) -> InvalidInput:
    return InvalidInput(_("Which deal? Usage: `{usage}`.").format(usage=usage), field="ref")


def _stage_name(req: Request, text: str | None) -> str | None:
    """The workspace's own name of the stage `text` names (any case, Turkish İ/ı rules), or `text`.

    `kazanıldı` and `kaybedildi` (and `won`, `lost`) name the won and lost stages whatever
    they are called; a name that matches nothing goes on to core, which says what the stages are.
    """
    if text is None:
        return None
    folded = aliases.fold(text.strip())
    stages = pipeline_stages(req.uow, req.actor)
    for stage in stages:
        if aliases.fold(stage.name) == folded:
            return stage.name
    outcome = aliases.DEAL.get(folded, folded)
    for stage in stages:
        if (outcome == "won" and stage.is_won) or (outcome == "lost" and stage.is_lost):
            return stage.name
    return text


def _leading_ref(req: Request, args: Args, usage: str, *, min_rest: int = 0) -> tuple[str, list[Token]]:
    """The deal named at the start of the words (its ref) and the words after it.

    A quoted first word is the ref as given; otherwise the longest leading run of plain words
    that names a deal (core.deals.queries.split_ref), leaving at least `min_rest` words. An
    ambiguous run sets `req.rest` to the words after it, so a picked candidate re-runs the
    command with them.
    """
    words = args.words
    if len(words) <= min_rest:
        raise _which_deal(usage)
    if words[0].quoted:
        return words[0].value, words[1:]
    plain = next((i for i, t in enumerate(words) if not t.is_plain_word), len(words))
    leave = max(0, min_rest - (len(words) - plain))
    try:
        with req.uow.read() as session:
            found, rest = split_ref(session, req.actor.workspace_id, [t.value for t in words[:plain]],
                                    min_rest=leave, actor=req.actor)
    except AmbiguousRef as err:
        req.rest = _join(words[plain - len(err.rest):])
        raise
    return found.ref, words[plain - len(rest):]


def _whole_ref(args: Args, usage: str) -> str:
    if not args.words:
        raise _which_deal(usage)
    return " ".join(t.value for t in args.words)


def _after_change(req: Request, deal: deals.DealView | None = None) -> None:
    """Keep the App Home current: the caller's, and the deal owner's when that is someone else."""
    from bot.home import refresh_homes

    refresh_homes(req.homes, req.client, req.uow, req.actor, req.now, deal.owner_slack_id if deal else None)


# -- subcommands ---------------------------------------------------------------------------


def open_new_deal_modal(req: Request) -> None:
    """Bare `/deal`: the New deal modal."""
    stages = open_stage_names(req.uow, req.actor)
    view = deal_forms.new_deal_view(stages, req.actor.slack_id, req.channel_id)
    req.client.views_open(trigger_id=req.trigger_id, view=view)


def deal_new(req: Request, args: Args) -> None:
    """`/deal new <title> [amount] [stage:] [close:] [@owner]`."""
    usage = _("/deal new <title> [amount] [stage:<stage>] [close:<date>] [@owner]")
    _no_extras(args, usage, users=True, options=("stage", "close"))
    actor, now = req.actor, req.now
    close = resolve_option(args, "close", lambda t: parse_date(t, now, actor.tz, actor.locale))
    amount, title_words = split_amount(args.words, lambda t: parse_amount(t, actor.locale, actor.currency))
    if len(args.users) > 1:
        raise InvalidInput(_("A deal has one owner; mention one person."), field="owner")
    title = " ".join(t.value for t in title_words)
    if not title:
        raise InvalidInput(_("A deal needs a title. Usage: `{usage}`, e.g. `{example}`.").format(
            usage=usage, example=_("/deal new Acme renewal 12k")), field="title")
    owner_id = member_id(req.uow, actor, args.users[0], now) if args.users else None
    deal = deals.create_deal(req.uow, actor, title=title, now=now, amount=amount,
                             stage=_stage_name(req, args.option("stage")), expected_close=close, owner_id=owner_id)
    req.answer(views.deal_changed(deal, actor, _("created in {stage}").format(stage=deal.stage)))
    _after_change(req, deal)


def deal_list(req: Request, args: Args) -> None:
    """`/deal list [mine|team|all|@user] [stage:] [closing:]`: the caller's own deals unless a scope says otherwise."""
    usage = _("/deal list [mine|team|all|@user] [stage:<stage>] [closing:<period>]")
    _no_extras(args, usage, users=True, options=("stage", "closing"))
    actor, now = req.actor, req.now
    closing = resolve_option(args, "closing", lambda t: parse_period(t, now, actor.tz, actor.locale))
    words = [aliases.english(aliases.SCOPES, t.value) for t in args.words]
    if len(words) + len(args.users) > 1:
        raise InvalidInput(_("List one scope at a time: mine, team, all or @someone. Usage: `{usage}`.").format(
            usage=usage))
    owner_ids: list[int] | None = None
    team_id: int | None = None
    title = _("Open deals")
    if args.users:
        owner_ids = [member_id(req.uow, actor, args.users[0], now)]
    elif words in ([], ["mine"]):
        owner_ids, title = [actor.user_id], _("Your open deals")
    elif words == ["team"]:
        if actor.team_id is None:
            raise InvalidInput(_("You're not in a team yet; an admin can add you with `/salesbot team add`."))
        team_id, title = actor.team_id, _("Your team's open deals")
    elif words == ["all"]:
        title = _("Open deals you can see")  # admins: every deal; others: their own and their teams'
    else:
        raise InvalidInput(_('"{word}" is not a scope: use mine, team, all or @someone. Usage: `{usage}`.').format(
            word=args.words[0].value, usage=usage))
    stage = _stage_name(req, args.option("stage"))
    if stage:
        title = _("{title}, stage {stage}").format(title=title, stage=stage)
    # A message holds 50 blocks, so no more than 50 deals can show: load those, count the rest.
    found, total = list_deals_counted(req.uow, actor, owner_ids=owner_ids, team_id=team_id, stage=stage,
                                      closing=closing, limit=MAX_MESSAGE_BLOCKS)
    if args.users:
        title = _("Open deals of {name}").format(name=found[0].owner_name) if found else _("Their open deals")
        if stage:
            title = _("{title}, stage {stage}").format(title=title, stage=stage)
    req.answer(views.deal_list(found, actor, title, total))


def deal_show(req: Request, args: Args) -> None:
    """`/deal show <ref>`: the deal card."""
    _no_extras(args, _("/deal show <ref>"))
    ref = _whole_ref(args, _("/deal show D-42"))
    deal = deals.get_deal(req.uow, req.actor, ref)
    activities = deals.deal_activities(req.uow, req.actor, deal.ref, limit=5)
    pending = discounts.pending_discount_of(req.uow, deal.id)
    req.answer(views.deal_shown(deal, req.actor, activities,
                                discount_line=discount_views.pending_line(pending) if pending else None))


def _open_form(req: Request, ref: str, form: Callable[[deals.DealView, str | None], dict[str, Any]], *,
               must_be_open: bool = False) -> None:
    """Open `form` for the deal, when the caller may change it (the form asks what the text did not say)."""
    deal = get_changeable_deal(req.uow, req.actor, ref, must_be_open=must_be_open)
    req.client.views_open(trigger_id=req.trigger_id, view=form(deal, req.channel_id))


def deal_edit(req: Request, args: Args) -> None:
    """`/deal edit <ref>`: the Edit deal modal."""
    _no_extras(args, _("/deal edit <ref>"))
    deal = get_changeable_deal(req.uow, req.actor, _whole_ref(args, _("/deal edit D-42")))
    view = deal_forms.edit_deal_view(deal, req.actor.locale, req.channel_id)
    req.client.views_open(trigger_id=req.trigger_id, view=view)


def deal_stage(req: Request, args: Args) -> None:
    """`/deal stage <ref> <stage>`."""
    usage = _("/deal stage <ref> <stage>")
    _no_extras(args, usage, options=("stage",))
    stage = args.option("stage")
    if stage is None and len(args.words) < 2:
        raise InvalidInput(_("Which deal, and which stage? Usage: `{usage}`, e.g. `{example}`.").format(
            usage=usage, example=_("/deal stage D-42 proposal")), field="stage")
    if stage is None:
        # The words after the ref name the stage, so stage names may have spaces ("Closed won").
        ref, rest = _leading_ref(req, args, usage, min_rest=1)
        stage = " ".join(t.value for t in rest)
    elif args.words:
        ref = " ".join(t.value for t in args.words)
    else:
        raise _which_deal(usage)
    stage = _stage_name(req, stage) or stage
    req.rest = _quote(Token("word", stage))
    deal = deals.move_stage(req.uow, req.actor, ref, stage, now=req.now)
    if deal.status == DealStatus.WON:
        req.answer(views.deal_won(deal, req.actor))
    else:
        req.answer(views.deal_changed(deal, req.actor, _("moved to {stage}").format(stage=deal.stage)))
    _after_change(req, deal)


def deal_won(req: Request, args: Args) -> None:
    """`/deal won <ref>`, announced in the channel."""
    _no_extras(args, _("/deal won <ref>"))
    deal = deals.close_deal_won(req.uow, req.actor, _whole_ref(args, _("/deal won D-42")), now=req.now)
    req.answer(views.deal_won(deal, req.actor))
    _after_change(req, deal)


def deal_lost(req: Request, args: Args) -> None:
    """`/deal lost <ref> [reason]`; no reason opens the modal."""
    usage = _("/deal lost <ref> [reason]")
    _no_extras(args, usage)
    ref, rest = _leading_ref(req, args, usage)
    req.rest = _join(rest)
    if not rest:  # no reason given: the Close-lost modal asks for it
        _open_form(req, ref, deal_forms.close_lost_view, must_be_open=True)
        return
    deal = deals.close_deal_lost(req.uow, req.actor, ref, " ".join(t.value for t in rest), now=req.now)
    req.answer(views.deal_changed(deal, req.actor, _("closed as lost")))
    _after_change(req, deal)


def deal_reopen(req: Request, args: Args) -> None:
    """`/deal reopen <ref>`: a won or lost deal is open again, in the stage it was closed from."""
    _no_extras(args, _("/deal reopen <ref>"))
    deal = deals.reopen_deal(req.uow, req.actor, _whole_ref(args, _("/deal reopen D-42")), now=req.now)
    req.answer(views.deal_changed(deal, req.actor, _("reopened in {stage}").format(stage=deal.stage)))
    _after_change(req, deal)


def deal_note(req: Request, args: Args) -> None:
    """`/deal note <ref> <text>`."""
    usage = _("/deal note <ref> <text>")
    _no_extras(args, usage)
    ref, rest = _leading_ref(req, args, usage)
    if not rest:
        raise InvalidInput(_("What's the note? Usage: `{usage}`, e.g. `{example}`.").format(
            usage=usage, example=_("/deal note D-42 budget approved")), field="text")
    req.rest = _join(rest)
    activity = deals.add_note(req.uow, req.actor, ref, " ".join(t.value for t in rest), now=req.now)
    req.answer(views.activity_logged(activity, req.actor))
    _after_change(req)


def deal_log(req: Request, args: Args) -> None:
    """`/deal log <ref> <kind> [text]`; no kind opens the modal."""
    usage = _("/deal log <ref> call|email|meeting|demo|proposal [text]")
    _no_extras(args, usage)
    ref, rest = _leading_ref(req, args, usage)
    if not rest:  # no kind given: the Log activity modal asks for it
        _open_form(req, ref, deal_forms.log_activity_view)
        return
    kind = aliases.english(aliases.ACTIVITIES, rest[0].value)
    if kind not in ACTIVITY_KINDS:
        raise InvalidInput(_('"{word}" is not an activity. Log one of {kinds}. Usage: `{usage}`.').format(
            word=rest[0].value, kinds=_("call, email, meeting, demo or proposal"), usage=usage), field="kind")
    req.rest = _join(rest)
    text = " ".join(t.value for t in rest[1:])
    activity = deals.log_activity(req.uow, req.actor, ref, kind, text, now=req.now)
    req.answer(views.activity_logged(activity, req.actor))
    _after_change(req)


def deal_remind(req: Request, args: Args) -> None:
    """`/deal remind <ref> <when> [text]`; no time opens the modal."""
    usage = _("/deal remind <ref> <when> [text]")
    _no_extras(args, usage)
    ref, rest = _leading_ref(req, args, usage)
    if not rest:  # no time given: the reminder modal asks for it
        _open_form(req, ref, deal_forms.reminder_view)
        return
    actor, now = req.actor, req.now
    due_at, used = longest_prefix([t.value for t in rest],
                                  lambda t: parse_datetime(t, now, actor.tz, actor.locale))
    req.rest = _join(rest)
    text = " ".join(t.value for t in rest[used:])
    reminder = set_reminder(req.uow, actor, deal_ref=ref, due_at=due_at, text=text, now=now)
    req.answer(views.reminder_set(reminder.deal_ref, reminder.due_at, reminder.text, actor,
                                  reminder.arrives_at, now))
    _after_change(req)


def deal_share(req: Request, args: Args) -> None:
    """`/deal share <ref>`: the deal's live card, posted in this channel through the outbox."""
    _no_extras(args, _("/deal share <ref>"))
    shared = cards.share_deal(req.uow, req.actor, _whole_ref(args, _("/deal share D-42")), req.channel_id or "",
                              now=req.now)
    req.answer(card_views.card_shared(shared.ref, shared.title, shared.queued))


def deal_discount(req: Request, args: Args) -> None:
    """`/deal discount <ref> <15%|amount> [reason]`: asks the approvers (core.notify.discounts)."""
    usage = _("/deal discount <ref> <15%|amount> [reason]")
    _no_extras(args, usage)
    if len(args.words) < 2:
        raise InvalidInput(_("Which deal, and how much? Usage: `{usage}`, e.g. `{example}`.").format(
            usage=usage, example=_("/deal discount D-42 15% multi-year commitment")), field="discount")
    ref, rest = _leading_ref(req, args, usage, min_rest=1)
    req.rest = _join(rest)
    used = discounts.discount_words([t.value for t in rest], req.actor.locale)
    how_much = " ".join(t.value for t in rest[:used])
    reason = " ".join(t.value for t in rest[used:])
    view = discounts.request_discount(req.uow, req.actor, ref, how_much, reason, now=req.now)
    req.answer(discount_views.requested(view))


def deal_help_sub(req: Request, args: Args) -> None:
    """`/deal help`."""
    req.answer(deal_help())


SUBCOMMANDS: dict[str, Callable[[Request, Args], None]] = {
    "new": deal_new,
    "list": deal_list,
    "show": deal_show,
    "edit": deal_edit,
    "stage": deal_stage,
    "won": deal_won,
    "lost": deal_lost,
    "reopen": deal_reopen,
    "note": deal_note,
    "log": deal_log,
    "remind": deal_remind,
    "share": deal_share,
    "discount": deal_discount,
    "help": deal_help_sub,
}
