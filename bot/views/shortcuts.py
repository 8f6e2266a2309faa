"""What the shortcuts show: the "Add to deal" modal, the deal picker's options, and the note a
message leaves on a deal (its author, its words and its link)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.views.common import MAX_OPTION_TEXT, Block, cut, plain
from core.deals.queries import DealView
from core.i18n import N_, _

ADD_TO_DEAL = "deal_add_message_form"
DEAL_PICKER = "deal_pick"
MAX_SNIPPET = 2500  # of a message's text, in a note (a note holds 3,000 characters)
MAX_SNIPPET_IN_FORM = 2000  # a modal's private_metadata holds 3,000 characters, JSON-escaped
# The kinds a message can be logged as; a note unless the rep says it was an email or a call.
MESSAGE_KINDS = (("note", N_("Note")), ("email", N_("Email")), ("call", N_("Call")), ("meeting", N_("Meeting")))


def first_line(text: str, limit: int = 200) -> str:
    """A deal title from a message: its first non-empty line, without mrkdwn decoration."""
    for line in text.splitlines():
        line = line.strip().strip("*_~`>").strip()
        if line:
            return cut(" ".join(line.split()), limit)
    return ""


def message_note(author: str, text: str, permalink: str, limit: int = MAX_SNIPPET) -> str:
    """The note a message leaves on a deal."""
    return _("From a Slack message by {author}:\n{text}\n{link}").format(
        author=author, text=cut(text.strip(), limit), link=permalink)


def deal_option(deal: DealView) -> dict[str, Any]:
    return {"text": plain(f"{deal.ref} · {deal.title}", MAX_OPTION_TEXT), "value": deal.ref}


def deal_options(deals: Sequence[DealView]) -> list[dict[str, Any]]:
    return [deal_option(d) for d in deals]


def add_to_deal_view(text: str, source: dict[str, Any]) -> Block:
    """Pick a deal (searching refs and titles), say what the message was, keep or trim its words."""
    kinds = [{"text": plain(_(label)), "value": value} for value, label in MESSAGE_KINDS]
    blocks: list[Block] = [
        {"type": "input", "block_id": "deal", "label": plain(_("Deal")),
         "element": {"type": "external_select", "action_id": DEAL_PICKER, "min_query_length": 0,
                     "placeholder": plain(_("Type a ref or a few letters of the title"))}},
        {"type": "input", "block_id": "kind", "label": plain(_("Log it as")),
         "element": {"type": "static_select", "action_id": "value", "options": kinds, "initial_option": kinds[0]}},
        {"type": "input", "block_id": "text", "label": plain(_("Message")), "optional": True,
         "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                     "max_length": MAX_SNIPPET, **({"initial_value": cut(text, MAX_SNIPPET)} if text else {})}},
    ]
    return {
        "type": "modal",
        "callback_id": ADD_TO_DEAL,
        "title": plain(_("Add to deal"), 24),
        "submit": plain(_("Add"), 24),
        "close": plain(_("Cancel"), 24),
        "blocks": blocks,
        "private_metadata": json.dumps(source)[:3000],
    }
