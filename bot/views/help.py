"""`help` of each command: every subcommand with one example (SPEC section 3)."""
from __future__ import annotations

from bot.views.common import Message, context, escape, message, section

DEAL_HELP: tuple[tuple[str, str], ...] = (
    ("/deal", "open the New deal form"),
    ("/deal new Acme renewal 12k stage:proposal close:next friday",
     "quick create (amount, stage, close date, @owner optional)"),
    ("/deal list", "your open deals with buttons (`team`, `all` or `@user` for others')"),
    ("/deal list team stage:proposal closing:this month", "your team's open deals in a stage, closing this month"),
    ("/deal show D-42", "one deal with its latest activity"),
    ("/deal edit D-42", "edit a deal in a form"),
    ("/deal stage D-42 negotiation", "move a deal to another stage"),
    ("/deal won D-42", "close as won (announced in the channel)"),
    ("/deal lost D-42 went with a competitor", "close as lost; without a reason a form asks for one"),
    ("/deal reopen D-42", "reopen a won or lost deal (into the stage it was closed from)"),
    ("/deal note Acme renewal budget approved", "add a note (the deal's id or title words need no quotes)"),
    ("/deal log D-42 call talked to the CFO", "log a call, email, meeting, demo or proposal"),
    ("/deal remind D-42 tomorrow 3pm send the proposal", "a follow-up reminder for you"),
)

PIPELINE_HELP: tuple[tuple[str, str], ...] = (
    ("/pipeline", "your team's open pipeline by stage (count, amount, weighted)"),
    ("/pipeline mine", "only your deals; also `team` or `@user`"),
    ("/pipeline forecast Q4", "forecast against quota"),
    ("/pipeline digest", "the weekly digest, now"),
)

ADMIN_HELP: tuple[tuple[str, str], ...] = (
    ("/salesbot setup", "currency, locale, digest day and time, hot-lead threshold, quiet hours"),
    ("/salesbot pipeline", "stages, probabilities and rotting days"),
    ("/salesbot team list", "teams with their managers, members and channels"),
    ("/salesbot team create East @mia", "a team with its manager"),
    ("/salesbot team add East @ana @bob", "put people in a team (an admin may move them from another)"),
    ("/salesbot team channel East #sales-east", "the team's digest and hot-lead channel"),
    ("/salesbot role @ana manager", "rep, manager or admin"),
    ("/salesbot quota @ana 120k Q1", "a rep's quota for a quarter (this quarter by default)"),
    ('/salesbot quota team "East" 250k Q1', "a team's quota for a quarter"),
    ('/salesbot link "Anna Smith" @ana', "tie an owner from an import to a Slack user"),
    ("/salesbot rate EUR 1.08", "1 EUR = 1.08 in the base currency from today; `rate` alone lists the rates"),
)


def help_message(title: str, entries: tuple[tuple[str, str], ...], note: str = "") -> Message:
    """The subcommands, one line each: the example and what it does."""
    lines = [f"`{escape(example)}` — {escape(what)}" for example, what in entries]
    blocks = [section(f"*{escape(title)}*\n" + "\n".join(lines))]
    if note:
        blocks.insert(0, section(f":information_source: {escape(note)}"))
    blocks.append(context('Refs are ids like D-42 or part of a title; the longest run of words that names one '
                          'deal is the ref, or quote it: "Acme renewal".'))
    return message(f"{title}: " + ", ".join(example for example, _ in entries[:3]) + " …", blocks)


def deal_help(note: str = "") -> Message:
    """`/deal help`."""
    return help_message("/deal commands", DEAL_HELP, note)


def pipeline_help(note: str = "") -> Message:
    """`/pipeline help`."""
    return help_message("/pipeline commands", PIPELINE_HELP, note)


def admin_help(note: str = "") -> Message:
    """`/salesbot help`."""
    return help_message("/salesbot commands (admins; managers for their own team)", ADMIN_HELP, note)
