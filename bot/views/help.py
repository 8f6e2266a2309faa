"""`help` of each command: every subcommand with one example (SPEC section 3), in the user's language.

The examples are translated too: the Turkish help shows the Turkish subcommands
(bot/commands/aliases.py), `/deal yeni …` for `/deal new …`, and says the English ones work as well.
"""
from __future__ import annotations

from bot.views.common import Message, context, escape, message, section
from core.i18n import N_, SOURCE_LOCALE, _, current_locale

DEAL_HELP: tuple[tuple[str, str], ...] = (
    (N_("/deal"), N_("open the New deal form")),
    (N_("/deal new Acme renewal 12k stage:proposal close:next friday"),
     N_("quick create (amount, stage, close date, @owner optional)")),
    (N_("/deal list"), N_("your open deals with buttons (`team`, `all` or `@user` for others')")),
    (N_("/deal list team stage:proposal closing:this month"),
     N_("your team's open deals in a stage, closing this month")),
    (N_("/deal show D-42"), N_("one deal with its latest activity")),
    (N_("/deal edit D-42"), N_("edit a deal in a form")),
    (N_("/deal stage D-42 negotiation"), N_("move a deal to another stage")),
    (N_("/deal won D-42"), N_("close as won (announced in the channel)")),
    (N_("/deal lost D-42 went with a competitor"), N_("close as lost; without a reason a form asks for one")),
    (N_("/deal reopen D-42"), N_("reopen a won or lost deal (into the stage it was closed from)")),
    (N_("/deal note Acme renewal budget approved"), N_("add a note (the deal's id or title words need no quotes)")),
    (N_("/deal log D-42 call talked to the CFO"), N_("log a call, email, meeting, demo or proposal")),
    (N_("/deal remind D-42 tomorrow 3pm send the proposal"), N_("a follow-up reminder for you")),
    (N_("/deal share D-42"), N_("post the deal's card in this channel; it stays current as the deal changes")),
    (N_("/deal discount D-42 15% multi-year commitment"),
     N_("ask for a discount (or an amount off); the manager, and above the limit an admin, approve it")),
)

LEAD_HELP: tuple[tuple[str, str], ...] = (
    (N_("/lead"), N_("open the New lead form")),
    (N_('/lead new "Zoe Hart" Acme zoe@acme.io source:webinar'),
     N_("quick add: quoted name, then company, email, source")),
    (N_("/lead list hot"), N_("hot leads (also `mine`, `new`; open leads by default)")),
    (N_("/lead show L-7"), N_("a lead with its score, the reasons and its win probability")),
    (N_("/lead assign L-7 @ana"), N_("give a lead to someone (overrides routing)")),
    (N_("/lead convert L-7"),
     N_("turn a lead into a deal (a form asks the amount and close date), keeping its history")),
    (N_("/lead disqualify L-7 no budget"), N_("close a lead as not a fit, with the reason")),
)

PIPELINE_HELP: tuple[tuple[str, str], ...] = (
    (N_("/pipeline"), N_("your team's open pipeline by stage (count, amount, weighted)")),
    (N_("/pipeline mine"), N_("only your deals; also `team` or `@user`")),
    (N_("/pipeline forecast Q4"), N_("forecast against quota")),
    (N_("/pipeline digest"), N_("the weekly digest, now")),
)

ADMIN_HELP: tuple[tuple[str, str], ...] = (
    (N_("/salesbot setup"), N_("currency, language, digest day and time, hot-lead threshold, quiet hours")),
    (N_("/salesbot pipeline"), N_("stages, probabilities and rotting days")),
    (N_("/salesbot team list"), N_("teams with their managers, members and channels")),
    (N_("/salesbot team create East @mia"), N_("a team with its manager")),
    (N_("/salesbot team add East @ana @bob"), N_("put people in a team (an admin may move them from another)")),
    (N_("/salesbot team channel East #sales-east"), N_("the team's digest and hot-lead channel")),
    (N_("/salesbot role @ana manager"), N_("rep, manager or admin")),
    (N_("/salesbot quota @ana 120k Q1"), N_("a rep's quota for a quarter (this quarter by default)")),
    (N_('/salesbot quota team "East" 250k Q1'), N_("a team's quota for a quarter")),
    (N_('/salesbot link "Anna Smith" @ana'), N_("tie an owner from an import to a Slack user")),
    (N_("/salesbot rate EUR 1.08"),
     N_("1 EUR = 1.08 in the base currency from today; `rate` alone lists the rates")),
    (N_("/salesbot prefs"),
     N_("everyone: your notifications (which, where, your hours, away); also App Home, Settings")),
)


def help_message(title: str, entries: tuple[tuple[str, str], ...], note: str = "", footer: str = "") -> Message:
    """The subcommands, one line each: the example and what it does (all translated)."""
    shown = [(_(example), _(what)) for example, what in entries]
    lines = [f"`{escape(example)}` — {escape(what)}" for example, what in shown]
    blocks = [section(f"*{escape(title)}*\n" + "\n".join(lines))]
    if note:
        blocks.insert(0, section(f":information_source: {escape(note)}"))
    texts = [footer] if footer else []
    if current_locale() != SOURCE_LOCALE:
        # The examples show the translated subcommands; the English ones keep working.
        names = sorted({example.split()[1] for example, _what in entries if len(example.split()) > 1})
        texts.append(_("The English subcommands work too: {names}.").format(names=", ".join(f"`{n}`" for n in names)))
    blocks.append(context(*(escape(t) for t in texts)))
    return message(f"{title}: " + ", ".join(example for example, _what in shown[:3]) + " …", blocks)


def _refs_note() -> str:
    return _('Refs are ids like D-42 or part of a title; the longest run of words that names one deal is the '
             'ref, or quote it: "Acme renewal".')


def deal_help(note: str = "") -> Message:
    """`/deal help`."""
    return help_message(_("/deal commands"), DEAL_HELP, note, _refs_note())


def lead_help(note: str = "") -> Message:
    """`/lead help`."""
    return help_message(_("/lead commands"), LEAD_HELP, note,
                        _("A lead is named by its ref (L-7), its email, or part of its name or company."))


def pipeline_help(note: str = "") -> Message:
    """`/pipeline help`."""
    return help_message(_("/pipeline commands"), PIPELINE_HELP, note, _refs_note())


def admin_help(note: str = "") -> Message:
    """`/salesbot help`."""
    return help_message(_("/salesbot commands (admins; managers for their own team)"), ADMIN_HELP, note,
                        _refs_note())


def not_a_command(command: str, word: str) -> str:
    """The note above the help when the first word is not a subcommand."""
    return _('"{word}" is not a {command} command. Here is what it can do:').format(word=word[:40], command=command)
