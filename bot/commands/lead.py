"""`/lead` (SPEC section 3): parse, call one core function, render.

`/lead new "Zoe Hart" Acme zoe@acme.io source:webinar` — a quoted first word is the name and
the words after it the company; without quotes a comma splits them (`Zoe Hart, Acme`), or the
word the email's domain names starts the company (`Jane Doe Acme jane@acme.com`); else all
the words are the name. The email is the word with an `@` (Slack sends it as
`<mailto:zoe@acme.io|zoe@acme.io>`, which is understood too); a word with an `@` that is not a
valid address (`zed@@x`) is refused, never kept in the name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.commands import Request, aliases, slash_command
from bot.commands.parsing import Args, read_args
from bot.modals.deal_forms import field_value, metadata_of, read_date
from bot.modals.submissions import actor_of_context, on_field, submit, tell
from bot.views import leads as views
from bot.views.common import day, money
from bot.views.help import lead_help as lead_help_message
from bot.views.help import not_a_command
from core.errors import Ambiguous, InvalidInput, NotAllowed
from core.i18n import _
from core.leads import leads
from core.leads.intake import EMAIL_PATTERN
from core.money import parse_amount
from core.workspace.admin import member_id

_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(https?://[^|>]+)(?:\|[^>]*)?>")
LIST_FILTERS = ("hot", "mine", "new", "open")


def register(app: App) -> None:
    app.command("/lead")(slash_command("/lead", run))
    app.view(views.NEW_LEAD)(on_new_lead)
    app.view(views.CONVERT_LEAD)(on_convert_lead)


def run(req: Request, text: str) -> None:
    """Run one `/lead` command text."""
    text = _LINK.sub(r"\1", _MAILTO.sub(r"\1", text))
    args = read_args(text)
    if not args.words and not args.options and not args.users:
        req.client.views_open(trigger_id=req.trigger_id, view=views.new_lead_view(req.channel_id))
        return
    sub = aliases.english(aliases.LEAD, args.words[0].value) if args.words and not args.words[0].quoted else ""
    handler = SUBCOMMANDS.get(sub)
    if handler is None:
        shown = args.words[0].value if args.words else text.strip()
        req.answer(lead_help_message(not_a_command("/lead", shown)))
        return
    args.words = args.words[1:]
    try:
        handler(req, args)
    except Ambiguous as err:
        lines = "\n".join(f"• {c}" for c in err.candidates)
        hint = _("Use the ref, e.g. `{example}`.").format(example=f"/lead {sub} L-7")
        raise InvalidInput(f"{err.message}\n{lines}\n{hint}") from None


def _ref(args: Args, usage: str) -> str:
    if not args.words:
        raise InvalidInput(_("Which lead? Usage: `{usage}`.").format(usage=usage), field="ref")
    return args.words[0].value


def lead_new(req: Request, args: Args) -> None:
    usage = _("/lead new <name> [company] [email] [source:<src>]")
    if args.users or args.channels or set(args.options) - {"source"}:
        raise InvalidInput(_("/lead new takes a name, a company, an email and source:. Usage: `{usage}`.").format(
            usage=usage))
    at_words = [t.value for t in args.words if not t.quoted and "@" in t.value]
    malformed = [w for w in at_words if not EMAIL_PATTERN.fullmatch(w)]
    if malformed:
        raise InvalidInput(
            _('"{word}" is not a valid email address (it should look like zoe@acme.io); nothing was saved. '
              "Fix it, or leave it out. Usage: `{usage}`.").format(word=malformed[0][:80], usage=usage),
            field="email",
        )
    if len(at_words) > 1:
        raise InvalidInput(_("Give one email address, not {n}; nothing was saved. Usage: `{usage}`.").format(
            n=len(at_words), usage=usage), field="email")
    email = at_words[0] if at_words else None
    words = [t for t in args.words if t.quoted or t.value != email]
    if not words:
        raise InvalidInput(_("A lead needs a name. Usage: `{usage}`, e.g. `{example}`.").format(
            usage=usage, example=_('/lead new "Zoe Hart" Acme zoe@acme.io')), field="name")
    if words[0].quoted:
        name, company = words[0].value, " ".join(t.value for t in words[1:])
    elif "," in " ".join(t.value for t in words):
        name, _comma, company = " ".join(t.value for t in words).partition(",")
    else:
        split = _company_start([t.value for t in words], email)
        name = " ".join(t.value for t in words[:split])
        company = " ".join(t.value for t in words[split:])
    data = {"name": name.strip(), "company": company.strip() or None, "email": email, "source": args.option("source")}
    lead = leads.create_lead(req.uow, req.actor, {k: v for k, v in data.items() if v}, now=req.now)
    req.answer(views.lead_changed(lead, _("added, yours") if lead.owner_id == req.actor.user_id else _("updated")))


def _company_start(words: list[str], email: str | None) -> int:
    """Where the company starts in `Jane Doe Acme Inc jane@acme.com`: at the word the email's domain names."""
    if email:
        domain = re.sub(r"[^a-z0-9]", "", email.split("@", 1)[1].split(".")[0].casefold())
        for i, word in enumerate(words[1:], start=1):
            if domain and re.sub(r"[^a-z0-9]", "", word.casefold()) == domain:
                return i
    return len(words)


def lead_list(req: Request, args: Args) -> None:
    which = aliases.english(aliases.LEAD_LISTS, args.words[0].value) if args.words else "open"
    if which not in LIST_FILTERS or len(args.words) > 1:
        raise InvalidInput(_("Usage: `{usage}`.").format(usage=_("/lead list [hot|mine|new]")), field="which")
    req.answer(views.leads_listed(leads.list_leads(req.uow, req.actor, which), which))


def lead_show(req: Request, args: Args) -> None:
    ref = " ".join(t.value for t in args.words) if args.words else _ref(args, _("/lead show <ref>"))
    detail = leads.show_lead(req.uow, req.actor, ref)
    req.answer(views.lead_shown(detail.lead, req.now, req.actor.tz, detail.prediction, detail.model_note))


def lead_assign(req: Request, args: Args) -> None:
    usage = _("/lead assign <ref> @user")
    ref = _ref(args, usage)
    if len(args.users) != 1:
        raise InvalidInput(_("Assign to whom? Mention one person. Usage: `{usage}`.").format(usage=usage),
                           field="owner")
    user_id = member_id(req.uow, req.actor, args.users[0], req.now)
    lead = leads.assign_lead(req.uow, req.actor, ref, user_id, now=req.now)
    req.answer(views.lead_changed(lead, _("assigned to {name}").format(name=lead.owner_name)))


def lead_convert(req: Request, args: Args) -> None:
    """`/lead convert <ref>`: a form prefilled from the lead that asks for the amount and close date."""
    ref = " ".join(t.value for t in args.words) if args.words else _ref(args, _("/lead convert <ref>"))
    lead = leads.conversion_check(req.uow, req.actor, ref)
    owner = lead.owner_slack_id if lead.owner_id is not None else req.actor.slack_id
    view = views.convert_lead_view(lead, title=leads.default_deal_title(lead), currency=req.actor.currency,
                                   owner_slack_id=owner, channel_id=req.channel_id)
    req.client.views_open(trigger_id=req.trigger_id, view=view)


def lead_disqualify(req: Request, args: Args) -> None:
    ref = _ref(args, _("/lead disqualify <ref> [reason]"))
    reason = " ".join(t.value for t in args.words[1:]) or None
    lead = leads.disqualify_lead(req.uow, req.actor, ref, reason, now=req.now)
    req.answer(views.lead_changed(lead, _("disqualified: {reason}").format(reason=lead.disqualify_reason)))


def lead_help(req: Request, args: Args) -> None:
    req.answer(lead_help_message())


SUBCOMMANDS: dict[str, Callable[[Request, Args], None]] = {
    "new": lead_new,
    "add": lead_new,
    "list": lead_list,
    "show": lead_show,
    "assign": lead_assign,
    "convert": lead_convert,
    "disqualify": lead_disqualify,
    "dq": lead_disqualify,
    "help": lead_help,
}


def on_new_lead(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """The New lead modal: errors shown on the field that holds them, nothing saved then."""

    def work() -> Callable[[], None]:
        actor = actor_of_context(context)
        data = {
            k: field_value(view, k)
            for k in ("name", "email", "company", "title", "phone", "source", "country", "industry", "employees")
        }
        if not data["name"]:
            raise InvalidInput(_("A lead needs a name."), field="name")
        lead = leads.create_lead(context["uow"], actor, {k: v for k, v in data.items() if v}, now=context["now"])
        body = views.lead_changed(lead, _("added, yours"))
        return lambda: tell(context, actor, view, body)

    submit(ack, view, "name", work, "new lead modal")


def on_convert_lead(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """The Convert lead form: amount and close date required; the lead converted and the deal made at once."""

    def work() -> Callable[[], None]:
        actor, now, uow = actor_of_context(context), context["now"], context["uow"]
        ref = metadata_of(view).get("lead")
        if not ref:
            raise InvalidInput(_("This form lost track of its lead; run `/lead convert` again."), field="title")
        amount_text = field_value(view, "amount")
        if not amount_text:
            raise InvalidInput(_("How much is the deal worth? e.g. 12k, 12,000 or 12000 EUR."), field="amount")
        amount = on_field("amount", lambda: parse_amount(amount_text, actor.locale, actor.currency))
        close = read_date(view, "close")
        if close is None:
            raise InvalidInput(_("When do you expect it to close? Pick a date."), field="close")
        owner_slack_id = field_value(view, "owner")
        owner_id = member_id(uow, actor, owner_slack_id, now) if owner_slack_id else None
        try:
            lead, deal = leads.convert_lead(uow, actor, str(ref), now=now, title=field_value(view, "title"),
                                            amount=amount, expected_close=close, owner_id=owner_id)
        except NotAllowed as err:  # a deal for someone the actor may not give deals to
            raise NotAllowed(err.message, field=err.field or ("owner" if owner_id is not None else "title")) from None
        terms = _("{amount}, closing {date}").format(amount=money(deal.amount, deal.currency, actor.locale),
                                                     date=day(deal.expected_close))
        body = views.lead_converted(lead, deal.ref, deal.title, terms)
        return lambda: tell(context, actor, view, body)

    submit(ack, view, "title", work, "convert lead modal")
