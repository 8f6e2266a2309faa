"""Messages posted about one deal that are kept current in place (a room's pinned card, a shared card)."""
from __future__ import annotations

from typing import Any

from bot.views.common import Message, escape, message, section
from bot.views.deals import deal_card
from bot.views.discounts import pending_line_of
from core.deals.cards import card_activities, card_deal
from core.i18n import _

# Slack's answers that mean the bot cannot post in that conversation until someone invites it.
_NOT_INVITED = frozenset({"not_in_channel", "channel_not_found"})


def deal_card_message(data: dict[str, Any]) -> Message:
    """The outbox view `deal_card`: the deal as `core.deals.cards.deal_card_data` read it."""
    deal = card_deal(data)
    discount = data.get("discount")
    line = pending_line_of(discount) if discount else None
    return message(f"{deal.ref} {escape(deal.title)}", deal_card(deal, str(data.get("tz") or "UTC"),
                                                                 card_activities(data), line))


def card_shared(ref: str, title: str, queued: bool) -> Message:
    """The sharer's answer to `/deal share`: the card is on its way (or already was)."""
    deal = f"*{escape(ref)}* {escape(title)}"
    if queued:
        line = _("Posting the card of {deal} here; it stays current as the deal changes.").format(deal=deal)
    else:
        line = _("The card of {deal} is already on its way here.").format(deal=deal)
    return message(line)


def share_failed_message(data: dict[str, Any]) -> Message:
    """The outbox view `card_share_failed`: a DM to the sharer when Slack refused the card."""
    ref, channel, reason = escape(str(data.get("ref") or "")), str(data.get("channel") or ""), str(data.get("reason"))
    where = f"<#{escape(channel)}>" if channel.startswith(("C", "G")) else _("that conversation")
    if reason in _NOT_INVITED:
        why = _("I'm not in {where}: invite me there with `/invite @salesbot`, then run `/deal share {ref}` again.")
    elif reason == "is_archived":
        why = _("{where} is archived.")
    else:
        why = _("Slack answered `{reason}` for {where}.")
    line = ":warning: " + _("I couldn't post the card of {ref}.").format(ref=f"*{ref}*") + " " + why.format(
        where=where, ref=ref, reason=escape(reason))
    return {"text": line, "blocks": [section(line)]}
