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
from core.leads.leads import LeadView
from core.leads.points import Reason, describe
from core.leads.predictive import Prediction, describe_factor
from core.tables import LeadStatus

CLAIM = "lead_claim"
ASSIGN = "lead_assign"
NOT_A_FIT = "lead_not_a_fit"
NEW_LEAD = "lead_new"
CONVERT_LEAD = "lead_convert_form"
NOT_A_FIT_FORM = "lead_not_a_fit_form"
UNDO_NOT_A_FIT = "lead_undo_not_a_fit"
MAX_LIST = 20

LEAD_HELP: tuple[tuple[str, str], ...] = (
    ("/lead", "open the New lead form"),
    ('/lead new "Zoe Hart" Acme zoe@acme.io source:webinar', "quick add: quoted name, then company, email, source"),
    ("/lead list hot", "hot leads (also `mine`, `new`; open leads by default)"),
    ("/lead show L-7", "a lead with its score, the reasons and its win probability"),
    ("/lead assign L-7 @ana", "give a lead to someone (overrides routing)"),
    ("/lead convert L-7", "turn a lead into a deal (a form asks the amount and close date), keeping its history"),
    ("/lead disqualify L-7 no budget", "close a lead as not a fit, with the reason"),
)


def lead_help(note: str = "") -> Message:
    """`/lead help`: each subcommand with one example."""
    lines = [f"`{escape(example)}` — {escape(what)}" for example, what in LEAD_HELP]
    blocks = [section("*/lead commands*\n" + "\n".join(lines))]
    if note:
        blocks.insert(0, section(f":information_source: {escape(note)}"))
    blocks.append(context("A lead is named by its ref (L-7), its email, or part of its name or company."))
    return message("/lead: new, list, show, assign, convert, disqualify …", blocks)


def _who(slack_id: str | None, name: str | None) -> str:
    return f"<@{slack_id}>" if slack_id else escape(name or "nobody")


def lead_line(lead: LeadView) -> str:
    """`*L-7 Zoe Hart* · Acme · score 82 :fire: · Ana`"""
    parts = [f"*{lead.ref} {escape(lead.name)}*"]
    if lead.company:
        parts.append(escape(lead.company))
    parts.append(f"score {lead.score}{' :fire:' if lead.hot else ''}")
    if lead.predicted is not None:
        parts.append(f"{lead.predicted}% likely")
    parts.append(_who(lead.owner_slack_id, lead.owner_name) if lead.owner_id else "unclaimed")
    if lead.status not in (LeadStatus.NEW, LeadStatus.ASSIGNED):
        parts.append(lead.status.value)
    return " · ".join(parts)


def reasons_text(reasons: Sequence[Reason], now: datetime, top: int = 3) -> str:
    ranked = sorted(reasons, key=lambda r: -abs(r.points))[:top]
    return "\n".join(f"• {escape(describe(r, now))}" for r in ranked) or "• no points yet"


def lead_shown(lead: LeadView, now: datetime, tz: str, prediction: Prediction | None, model_note: str) -> Message:
    """`/lead show`: the lead, its points with reasons, its win probability with top factors."""
    blocks: list[Block] = [header(f"{lead.ref} {escape(lead.name)}")]
    facts = [
        f"*Company*\n{escape(lead.company or '—')}",
        f"*Title*\n{escape(lead.title or '—')}",
        f"*Email*\n{escape(lead.email or '—')}",
        f"*Owner*\n{_who(lead.owner_slack_id, lead.owner_name) if lead.owner_id else 'unclaimed'}",
        f"*Status*\n{lead.status.value}" + (f" ({escape(lead.disqualify_reason)})" if lead.disqualify_reason else ""),
        f"*Source*\n{escape(lead.source or '—')}",
    ]
    if lead.deal_ref:
        facts.append(f"*Deal*\n{lead.deal_ref}")
    blocks.append(fields_section(facts))
    blocks.append(
        section(f"*Score {lead.score}*{' :fire: hot' if lead.hot else ''}\n{reasons_text(lead.reasons, now, 5)}")
    )
    if prediction is not None:
        factors = "\n".join(f"• {escape(describe_factor(f))}" for f in prediction.factors)
        blocks.append(section(f"*Win probability {round(100 * prediction.probability)}%*\n{factors}"))
    else:
        blocks.append(context(escape(model_note)))
    if lead.owner_id is None and lead.status == LeadStatus.NEW:
        blocks.append(actions([button("Claim", CLAIM, str(lead.id), "primary")], block_id=f"lead_actions:{lead.id}"))
    blocks.append(context(f"Added {when(lead.created_at, tz)} · {lead.events} engagement event(s)"))
    return message(f"{lead.ref} {escape(lead.name)}: score {lead.score}", blocks)


def leads_listed(leads: Sequence[LeadView], which: str) -> Message:
    title = {"hot": "Hot leads", "mine": "Your open leads", "new": "New leads", "open": "Open leads"}[which]
    if not leads:
        return message(f"{title}: none right now.", [section(f"*{title}:* none right now.")])
    groups = []
    for lead in leads[:MAX_LIST]:
        accessory = button("Claim", CLAIM, str(lead.id), "primary") if lead.owner_id is None else None
        groups.append([section(lead_line(lead), accessory=accessory, block_id=f"lead:{lead.id}")])
    blocks = [section(f"*{title}* ({len(leads)})"), *fit(groups, 49, total=len(leads), hint="see /lead show <ref>")]
    return message(f"{title}: {len(leads)}", blocks)


def lead_changed(lead: LeadView, what: str) -> Message:
    text = f"{lead.ref} {escape(lead.name)} {escape(what)}."
    return message(text, [section(f":white_check_mark: {lead_line(lead)} — {escape(what)}")])


def lead_converted(lead: LeadView, deal_ref: str, deal_title: str, terms: str = "") -> Message:
    """The answer to a conversion: it names the new deal (and its amount and close date when given)."""
    text = f"{lead.ref} {lead.name} converted to deal {deal_ref} {deal_title}" + (f" ({terms})" if terms else "") + "."
    return message(escape(text), [
        section(f":handshake: {escape(text)}"),
        context(f"`/deal show {deal_ref}` for the card, `/deal edit {deal_ref}` to change it."),
    ])


def convert_lead_view(lead: LeadView, *, title: str, currency: str, owner_slack_id: str | None,
                      channel_id: str | None) -> Block:
    """The Convert lead modal: prefilled from the lead; amount and expected close are required."""
    company = f" ({lead.company})" if lead.company else ""
    owner: Block = {"type": "users_select", "action_id": "value"}
    if owner_slack_id:
        owner["initial_user"] = owner_slack_id
    blocks: list[Block] = [
        section(f":handshake: Turn *{escape(lead.ref)} {escape(lead.name)}*{escape(company)} into a deal. "
                f"Its history moves along."),
        text_input("title", "Deal title", initial=title, optional=False, max_length=200),
        text_input("amount", f"Amount (in {currency} unless you name another currency)", optional=False,
                   placeholder="12k, 12,000 or 12000 EUR", max_length=64),
        {"type": "input", "block_id": "close", "label": plain("Expected close"), "optional": False,
         "element": {"type": "datepicker", "action_id": "value"}},
        {"type": "input", "block_id": "owner", "label": plain("Owner"), "optional": True, "element": owner},
    ]
    return modal(CONVERT_LEAD, cut(f"Convert {lead.ref}", 24), "Create deal", blocks,
                 {"lead": lead.ref, "channel": channel_id})


def not_a_fit_view(lead: LeadView, channel_id: str | None, message_ts: str | None) -> Block:
    """The "Not a fit" modal: the reason is required."""
    company = f" ({lead.company})" if lead.company else ""
    blocks: list[Block] = [
        section(f":x: Mark *{escape(lead.ref)} {escape(lead.name)}*{escape(company)} as not a fit. "
                "You can undo it for a minute."),
        text_input("reason", "Why is it not a fit?", optional=False, multiline=True,
                   placeholder="Student; no budget; competitor…", max_length=500),
    ]
    return modal(NOT_A_FIT_FORM, cut(f"Not a fit: {lead.ref}", 24), "Not a fit", blocks,
                 {"lead_id": lead.id, "channel": channel_id, "ts": message_ts})


def undo_actions(lead_id: int) -> Block:
    """The Undo button left on a card after "Not a fit" (good for a minute)."""
    return actions([button("Undo", UNDO_NOT_A_FIT, str(lead_id))], block_id=f"lead_undo:{lead_id}")


def new_lead_view(channel_id: str | None) -> Block:
    """The New lead modal."""
    blocks = [
        text_input("name", "Name", optional=False, placeholder="Zoe Hart", max_length=200),
        text_input("email", "Email", placeholder="zoe@acme.io", max_length=254),
        text_input("company", "Company", max_length=200),
        text_input("title", "Job title", max_length=200),
        text_input("phone", "Phone", max_length=50),
        text_input("source", "Source", placeholder="webinar, referral, ...", max_length=100),
        text_input("country", "Country", max_length=100),
        text_input("industry", "Industry", max_length=100),
        text_input("employees", "Employees", placeholder="250", max_length=9),
    ]
    return modal(NEW_LEAD, "New lead", "Add lead", blocks, {"channel": channel_id})


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
            button("Claim", CLAIM, str(lead_id), "primary"),
            {
                "type": "users_select",
                "action_id": ASSIGN,
                "placeholder": plain("Assign to…"),
            },
            button("Not a fit", NOT_A_FIT, str(lead_id), "danger"),
        ],
        block_id=f"lead_actions:{lead_id}",
    )


def hot_lead_message(card: Mapping[str, Any]) -> Message:
    """One hot lead: who, score, top reasons, and Claim / Assign / Not a fit."""
    title = _card_title(card)
    predicted = f" · {card['predicted']}% likely to convert" if card.get("predicted") is not None else ""
    blocks: list[Block] = [
        section(
            f":fire: *Hot lead: {title}*\nScore *{card.get('score')}*{predicted}",
            block_id=f"lead:{card['lead_id']}",
        ),
        section(_reason_lines(card)),
        alert_actions(int(card["lead_id"])),
    ]
    if card.get("title") or card.get("email"):
        blocks.insert(2, context(escape(" · ".join(str(card[k]) for k in ("title", "email") if card.get(k)))))
    return {"text": cut(f"Hot lead: {title} — score {card.get('score')}", 3000), "blocks": blocks}


def hot_burst_message(data: Mapping[str, Any]) -> Message:
    """Several hot leads at once: one message, a Claim button on each."""
    cards = list(data.get("leads") or [])
    # A flood keeps its first cards only and counts the rest (core.leads.alerts.MAX_BURST_CARDS).
    total = len(cards) + int(data.get("more") or 0)
    minutes = data.get("window_minutes", 2)
    blocks: list[Block] = [section(f":fire: *{total} hot leads in {minutes} minutes* — claim the ones you take")]
    groups = []
    for card in cards:
        line = f"*{_card_title(card)}* · score {card.get('score')}\n{_reason_lines(card)}"
        groups.append(
            [
                section(
                    line,
                    accessory=button("Claim", CLAIM, str(card["lead_id"]), "primary"),
                    block_id=f"lead:{card['lead_id']}",
                )
            ]
        )
    blocks.extend(fit(groups, 48, total=total, hint="see /lead list hot"))
    return {"text": f"{total} hot leads", "blocks": blocks}


def lead_assigned_message(data: Mapping[str, Any]) -> Message:
    """The DM to a rep who was given a lead."""
    title = _card_title(data)
    ref = escape(str(data.get("ref")))
    text = f"{title} is yours ({escape(str(data.get('why', 'assigned')))}). Score {data.get('score')}."
    blocks = [
        section(
            f":inbox_tray: *{title}* is yours — {escape(str(data.get('why', 'assigned')))}.\n"
            f"Score *{data.get('score')}*\n{_reason_lines(data)}"
        ),
        context(f"`/lead show {ref}` · `/lead convert {ref}` when it is real"),
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
