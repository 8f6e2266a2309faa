"""Block Kit for leads: /lead answers, the New lead modal, hot-lead alerts (single and grouped), DMs.

Alerts are rendered from the plain data core.leads.alerts put in the outbox (at send time,
by bot/delivery.py, whose RENDERERS table names these functions). Their reasons' "2 days ago" is measured
from the moment the lead turned hot, the moment the alert speaks about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.modals.deal_forms import modal, text_input
from bot.views.common import (
    Block,
    Message,
    actions,
    button,
    context,
    cut,
    escape,
    fields_section,
    fit,
    header,
    message,
    plain,
    section,
    when,
)
from core import formatting
from core.i18n import N_, _, ngettext
from core.leads.leads import LeadView
from core.leads.points import Reason, describe
from core.leads.predictive import Prediction, describe_factor
from core.leads.routing import why_text
from core.tables import LeadStatus
from core.words import status_word

CLAIM = "lead_claim"
ASSIGN = "lead_assign"
NOT_A_FIT = "lead_not_a_fit"
NEW_LEAD = "lead_new"
CONVERT_LEAD = "lead_convert_form"
NOT_A_FIT_FORM = "lead_not_a_fit_form"
UNDO_NOT_A_FIT = "lead_undo_not_a_fit"
MAX_LIST = 20

LEAD_HELP: tuple[tuple[str, str], ...] = (
    ("/lead", N_("open the New lead form")),
    ('/lead new "Zoe Hart" Acme zoe@acme.io source:webinar', N_("quick add: quoted name, then company, email, source")),
    ("/lead list hot", N_("hot leads (also `mine`, `new`; open leads by default)")),
    ("/lead show L-7", N_("a lead with its score, the reasons and its win probability")),
    ("/lead assign L-7 @ana", N_("give a lead to someone (overrides routing)")),
    ("/lead convert L-7", N_("turn a lead into a deal (a form asks the amount and close date), keeping its history")),
    ("/lead disqualify L-7 no budget", N_("close a lead as not a fit, with the reason")),
)


def lead_help(note: str = "") -> Message:
    """`/lead help`: each subcommand with one example (`note` comes translated)."""
    lines = [f"`{escape(example)}` — {escape(_(what))}" for example, what in LEAD_HELP]
    blocks = [section("*" + _("{command} commands").format(command="/lead") + "*\n" + "\n".join(lines))]
    if note:
        blocks.insert(0, section(f":information_source: {escape(note)}"))
    blocks.append(context(_("A lead is named by its ref (L-7), its email, or part of its name or company.")))
    return message(_("/lead: new, list, show, assign, convert, disqualify …"), blocks)


def _who(slack_id: str | None, name: str | None) -> str:
    return f"<@{slack_id}>" if slack_id else escape(name or _("nobody"))


def _score(score: int) -> str:
    return _("score {score}").format(score=formatting.number(score))


def lead_line(lead: LeadView) -> str:
    """`*L-7 Zoe Hart* · Acme · score 82 :fire: · Ana`"""
    parts = [f"*{lead.ref} {escape(lead.name)}*"]
    if lead.company:
        parts.append(escape(lead.company))
    parts.append(_score(lead.score) + (" :fire:" if lead.hot else ""))
    if lead.predicted is not None:
        parts.append(_("{percent} likely").format(percent=formatting.probability(lead.predicted)))
    parts.append(_who(lead.owner_slack_id, lead.owner_name) if lead.owner_id else _("unclaimed"))
    if lead.status not in (LeadStatus.NEW, LeadStatus.ASSIGNED):
        parts.append(status_word(lead.status.value))
    return " · ".join(parts)


def reasons_text(reasons: Sequence[Reason], now: datetime, top: int = 3) -> str:
    ranked = sorted(reasons, key=lambda r: -abs(r.points))[:top]
    return "\n".join(f"• {escape(describe(r, now))}" for r in ranked) or "• " + _("no points yet")


def lead_shown(lead: LeadView, now: datetime, tz: str, prediction: Prediction | None, model_note: str) -> Message:
    """`/lead show`: the lead, its points with reasons, its win probability with top factors."""
    blocks: list[Block] = [header(f"{lead.ref} {escape(lead.name)}")]
    status = status_word(lead.status.value)
    facts = [
        "*{}*\n{}".format(_("Company"), escape(lead.company or "—")),
        "*{}*\n{}".format(_("Title"), escape(lead.title or "—")),
        "*{}*\n{}".format(_("Email"), escape(lead.email or "—")),
        "*{}*\n{}".format(_("Owner"), _who(lead.owner_slack_id, lead.owner_name) if lead.owner_id
                           else _("unclaimed")),
        "*{}*\n{}".format(_("Status"), status)
        + (f" ({escape(lead.disqualify_reason)})" if lead.disqualify_reason else ""),
        "*{}*\n{}".format(_("Source"), escape(lead.source or "—")),
    ]
    if lead.deal_ref:
        facts.append("*{}*\n{}".format(_("Deal"), lead.deal_ref))
    blocks.append(fields_section(facts))
    score = _("Score {score}").format(score=formatting.number(lead.score))
    hot = " :fire: " + _("hot") if lead.hot else ""
    blocks.append(section(f"*{score}*{hot}\n{reasons_text(lead.reasons, now, 5)}"))
    if prediction is not None:
        factors = "\n".join(f"• {escape(describe_factor(f))}" for f in prediction.factors)
        chance = formatting.probability(round(100 * prediction.probability))
        blocks.append(section("*" + _("Win probability {percent}").format(percent=chance) + f"*\n{factors}"))
    else:
        blocks.append(context(escape(model_note)))
    if lead.owner_id is None and lead.status == LeadStatus.NEW:
        blocks.append(actions([button(_("Claim"), CLAIM, str(lead.id), "primary")],
                              block_id=f"lead_actions:{lead.id}"))
    events = ngettext("{n} engagement event", "{n} engagement events", lead.events).format(
        n=formatting.number(lead.events))
    blocks.append(context(_("Added {when}").format(when=when(lead.created_at, tz)) + f" · {events}"))
    return message(f"{lead.ref} {escape(lead.name)}: {_score(lead.score)}", blocks)


LIST_TITLES = {"hot": N_("Hot leads"), "mine": N_("Your open leads"), "new": N_("New leads"),
               "open": N_("Open leads")}


def leads_listed(leads: Sequence[LeadView], which: str) -> Message:
    title = _(LIST_TITLES[which])
    if not leads:
        none = _("none right now.")
        return message(f"{title}: {none}", [section(f"*{title}:* {none}")])
    groups = []
    for lead in leads[:MAX_LIST]:
        accessory = button(_("Claim"), CLAIM, str(lead.id), "primary") if lead.owner_id is None else None
        groups.append([section(lead_line(lead), accessory=accessory, block_id=f"lead:{lead.id}")])
    count = formatting.number(len(leads))
    hint = _("see {command}").format(command="/lead show <ref>")
    blocks = [section(f"*{title}* ({count})"), *fit(groups, 49, total=len(leads), hint=hint)]
    return message(f"{title}: {count}", blocks)


def lead_changed(lead: LeadView, what: str) -> Message:
    text = f"{lead.ref} {escape(lead.name)} {escape(what)}."
    return message(text, [section(f":white_check_mark: {lead_line(lead)} — {escape(what)}")])


def lead_converted(lead: LeadView, deal_ref: str, deal_title: str, terms: str = "") -> Message:
    """The answer to a conversion: it names the new deal (and its amount and close date when given)."""
    text = _("{lead} converted to deal {deal}").format(lead=f"{lead.ref} {lead.name}", deal=f"{deal_ref} {deal_title}")
    text += (f" ({terms})" if terms else "") + "."
    return message(escape(text), [
        section(f":handshake: {escape(text)}"),
        context(_("{show} for the card, {edit} to change it.").format(
            show=f"`/deal show {deal_ref}`", edit=f"`/deal edit {deal_ref}`")),
    ])


def _modal(callback_id: str, title: str, submit: str, blocks: list[Block], metadata: dict[str, Any]) -> Block:
    """bot/modals/deal_forms.modal, its Cancel button in the reader's language too."""
    view = modal(callback_id, title, submit, blocks, metadata)
    view["close"] = plain(_("Cancel"), 24)
    return view


def convert_lead_view(lead: LeadView, *, title: str, currency: str, owner_slack_id: str | None,
                      channel_id: str | None) -> Block:
    """The Convert lead modal: prefilled from the lead; amount and expected close are required."""
    company = f" ({lead.company})" if lead.company else ""
    owner: Block = {"type": "users_select", "action_id": "value"}
    if owner_slack_id:
        owner["initial_user"] = owner_slack_id
    blocks: list[Block] = [
        section(":handshake: " + _("Turn {lead} into a deal. Its history moves along.").format(
            lead=f"*{escape(lead.ref)} {escape(lead.name)}*{escape(company)}")),
        text_input("title", _("Deal title"), initial=title, optional=False, max_length=200),
        text_input("amount", _("Amount (in {currency} unless you name another currency)").format(currency=currency),
                   optional=False, placeholder=_("12k, 12,000 or 12000 EUR"), max_length=64),
        {"type": "input", "block_id": "close", "label": plain(_("Expected close")), "optional": False,
         "element": {"type": "datepicker", "action_id": "value"}},
        {"type": "input", "block_id": "owner", "label": plain(_("Owner")), "optional": True, "element": owner},
    ]
    return _modal(CONVERT_LEAD, cut(_("Convert {ref}").format(ref=lead.ref), 24), _("Create deal"), blocks,
                 {"lead": lead.ref, "channel": channel_id})


def not_a_fit_view(lead: LeadView, channel_id: str | None, message_ts: str | None) -> Block:
    """The "Not a fit" modal: the reason is required."""
    company = f" ({lead.company})" if lead.company else ""
    blocks: list[Block] = [
        section(":x: " + _("Mark {lead} as not a fit. You can undo it for a minute.").format(
            lead=f"*{escape(lead.ref)} {escape(lead.name)}*{escape(company)}")),
        text_input("reason", _("Why is it not a fit?"), optional=False, multiline=True,
                   placeholder=_("Student; no budget; competitor…"), max_length=500),
    ]
    return _modal(NOT_A_FIT_FORM, cut(_("Not a fit: {ref}").format(ref=lead.ref), 24), _("Not a fit"), blocks,
                 {"lead_id": lead.id, "channel": channel_id, "ts": message_ts})


def undo_actions(lead_id: int) -> Block:
    """The Undo button left on a card after "Not a fit" (good for a minute)."""
    return actions([button(_("Undo"), UNDO_NOT_A_FIT, str(lead_id))], block_id=f"lead_undo:{lead_id}")


def new_lead_view(channel_id: str | None) -> Block:
    """The New lead modal."""
    blocks = [
        # Translators: an example person's name, as a placeholder.
        text_input("name", _("Name"), optional=False, placeholder=_("Zoe Hart"), max_length=200),
        text_input("email", _("Email"), placeholder="zoe@acme.io", max_length=254),
        text_input("company", _("Company"), max_length=200),
        text_input("title", _("Job title"), max_length=200),
        text_input("phone", _("Phone"), max_length=50),
        text_input("source", _("Source"), placeholder=_("webinar, referral, ..."), max_length=100),
        text_input("country", _("Country"), max_length=100),
        text_input("industry", _("Industry"), max_length=100),
        text_input("employees", _("Employees"), placeholder="250", max_length=9),
    ]
    return _modal(NEW_LEAD, _("New lead"), _("Add lead"), blocks, {"channel": channel_id})


# -- alerts (rendered from outbox data) --------------------------------------------------------


def _reason_lines(card: Mapping[str, Any]) -> str:
    since = card.get("hot_since")
    ref_time = datetime.fromisoformat(since) if since else None
    reasons = [Reason.from_json(r) for r in card.get("reasons") or []]
    if ref_time is None:
        return "\n".join(f"• {escape(r.label)} ({r.points:+d})" for r in reasons)
    return reasons_text(reasons, ref_time)


def _card_title(card: Mapping[str, Any]) -> str:
    """`L-7 Zoe Hart (Acme)`, escaped: the name and company come from web forms."""
    company = f" ({escape(str(card['company']))})" if card.get("company") else ""
    return f"{escape(str(card.get('ref', '')))} {escape(str(card.get('name', '')))}{company}"


def alert_actions(lead_id: int) -> Block:
    return actions(
        [
            button(_("Claim"), CLAIM, str(lead_id), "primary"),
            {
                "type": "users_select",
                "action_id": ASSIGN,
                "placeholder": plain(_("Assign to…")),
            },
            button(_("Not a fit"), NOT_A_FIT, str(lead_id), "danger"),
        ],
        block_id=f"lead_actions:{lead_id}",
    )


def _taken(card: Mapping[str, Any]) -> Block | None:
    """Where a lead that is no longer up for grabs stands, in place of its buttons (None: it is).

    The alert's data carries `status` and `owner` when it was read from the database at send
    time (a card updated in place): a claimed lead shows its owner, not the Claim button.
    """
    status = card.get("status")
    if status in (None, LeadStatus.NEW.value) and not card.get("owner"):
        return None
    owner = card.get("owner")
    if status == LeadStatus.CONVERTED.value:
        line = ":white_check_mark: " + _("Converted to a deal")
    elif status == LeadStatus.DISQUALIFIED.value:
        line = ":no_entry_sign: " + _("Not a fit")
    elif owner:
        line = ":bust_in_silhouette: " + _("Owner: {owner}").format(owner=f"<@{escape(str(owner))}>")
    else:
        line = ":bust_in_silhouette: " + _("Taken")
    return _acted(int(card["lead_id"]), line)


def hot_lead_message(card: Mapping[str, Any]) -> Message:
    """One hot lead: who, score, top reasons, and Claim / Assign / Not a fit."""
    title = _card_title(card)
    predicted = ""
    if card.get("predicted") is not None:
        predicted = " · " + _("{percent} likely to convert").format(
            percent=formatting.probability(int(card["predicted"])))
    hot = _("Hot lead: {lead}").format(lead=title)
    score = _("Score {score}").format(score=f"*{_number(card.get('score'))}*")
    blocks: list[Block] = [
        section(
            f":fire: *{hot}*\n{score}{predicted}",
            block_id=f"lead:{card['lead_id']}",
        ),
        section(_reason_lines(card)),
        _taken(card) or alert_actions(int(card["lead_id"])),
    ]
    if card.get("title") or card.get("email"):
        blocks.insert(2, context(escape(" · ".join(str(card[k]) for k in ("title", "email") if card.get(k)))))
    return {"text": cut(f"{hot} — {_score_of(card)}", 3000), "blocks": blocks}


def _number(value: Any) -> str:
    """A count from outbox data (an int, or whatever an older payload held)."""
    return formatting.number(value) if isinstance(value, int) else escape(str(value))


def _score_of(card: Mapping[str, Any]) -> str:
    return _("score {score}").format(score=_number(card.get("score")))


def hot_burst_message(data: Mapping[str, Any]) -> Message:
    """Several hot leads at once: one message, a Claim button on each."""
    cards = list(data.get("leads") or [])
    # A flood keeps its first cards only and counts the rest (core.leads.alerts.MAX_BURST_CARDS).
    total = len(cards) + int(data.get("more") or 0)
    minutes = int(data.get("window_minutes", 2))
    leads = ngettext("{n} hot lead", "{n} hot leads", total).format(n=formatting.number(total))
    within = ngettext("in {n} minute", "in {n} minutes", minutes).format(n=formatting.number(minutes))
    blocks: list[Block] = [section(f":fire: *{leads} {within}* — " + _("claim the ones you take"))]
    groups = []
    for card in cards:
        line = f"*{_card_title(card)}* · {_score_of(card)}\n{_reason_lines(card)}"
        taken = _taken(card)
        if taken is not None:
            groups.append([section(line, block_id=f"lead:{card['lead_id']}"), taken])
            continue
        groups.append(
            [
                section(
                    line,
                    accessory=button(_("Claim"), CLAIM, str(card["lead_id"]), "primary"),
                    block_id=f"lead:{card['lead_id']}",
                )
            ]
        )
    blocks.extend(fit(groups, 48, total=total, hint=_("see {command}").format(command="/lead list hot")))
    return {"text": leads, "blocks": blocks}


def _moved_on(data: Mapping[str, Any]) -> str | None:
    """A refreshed "is yours" DM whose lead went to someone else, or was converted or set aside."""
    status, owner, assignee = data.get("status"), data.get("owner"), data.get("assignee")
    if status == "converted":
        return _("converted to a deal.")
    if status == "disqualified":
        return _("marked not a fit.")
    if assignee and "owner" in data and owner != assignee:
        return (_("now with {owner}.").format(owner=f"<@{escape(str(owner))}>") if owner
                else _("back in the queue, nobody's yet."))
    return None


def lead_assigned_message(data: Mapping[str, Any]) -> Message:
    """The DM to a rep who was given a lead."""
    title = _card_title(data)
    ref = escape(str(data.get("ref")))
    why = escape(why_text(data))  # in the reader's language (core keeps the reason as data)
    score = _number(data.get("score"))
    moved_on = _moved_on(data)
    if moved_on:
        return {"text": f"{title}: {moved_on}", "blocks": [section(f":inbox_tray: *{title}* — {moved_on}")]}
    text = (_("{lead} is yours ({why}).").format(lead=title, why=why) + " "
            + _("Score {score}").format(score=score) + ".")
    blocks = [
        section(
            ":inbox_tray: " + _("{lead} is yours — {why}.").format(lead=f"*{title}*", why=why) + "\n"
            + _("Score {score}").format(score=f"*{score}*") + f"\n{_reason_lines(data)}"
        ),
        context(_("{show} · {convert} when it is real").format(show=f"`/lead show {ref}`",
                                                               convert=f"`/lead convert {ref}`")),
    ]
    return {"text": text, "blocks": blocks}


def acted_on_lead(original: Sequence[Block], lead_id: int, line: str) -> list[Block]:
    """The alert after a click: that lead's buttons replaced by who did what (others untouched)."""
    single = any(str(b.get("block_id") or "") in (f"lead_actions:{lead_id}", f"lead_undo:{lead_id}")
                 for b in original)
    out: list[Block] = []
    for block in original:
        bid = str(block.get("block_id") or "")
        if bid in (f"lead_actions:{lead_id}", f"acted:{lead_id}", f"lead_undo:{lead_id}"):
            continue
        if bid == f"lead:{lead_id}" and "accessory" in block:
            block = {k: v for k, v in block.items() if k != "accessory"}
        out.append(block)
        if bid == f"lead:{lead_id}" and not single:
            out.append(_acted(lead_id, line))
    if single:
        out.append(_acted(lead_id, line))
    return out[:50]


def undoable_card(original: Sequence[Block], lead_id: int, line: str) -> list[Block]:
    """The alert after "Not a fit": who did it, and an Undo button for a minute."""
    blocks = acted_on_lead(original, lead_id, line)
    at = next((i for i, b in enumerate(blocks) if b.get("block_id") == f"acted:{lead_id}"), len(blocks) - 1)
    blocks.insert(at + 1, undo_actions(lead_id))
    return blocks[:50]


def without_undo(original: Sequence[Block], lead_id: int) -> list[Block]:
    """The card once Undo is too late: as it was, without the Undo button."""
    return [b for b in original if str(b.get("block_id") or "") != f"lead_undo:{lead_id}"][:50]


def restored_card(original: Sequence[Block], lead: LeadView, line: str) -> list[Block]:
    """The alert after Undo: its buttons back while the lead is unowned, and who undid it.

    "Not a fit" (and so Undo) is only on single-lead alerts, whose buttons are a block of their own.
    """
    drop = (f"acted:{lead.id}", f"lead_undo:{lead.id}", f"lead_actions:{lead.id}")
    out = [b for b in original if str(b.get("block_id") or "") not in drop]
    if lead.owner_id is None and lead.status == LeadStatus.NEW:
        out.append(alert_actions(lead.id))
    out.append(_acted(lead.id, line))
    return out[:50]


def _acted(lead_id: int, line: str) -> Block:
    done = context(line)
    done["block_id"] = f"acted:{lead_id}"
    return done
