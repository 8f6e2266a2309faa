"""Messages posted about one deal that are kept current in place (a room's pinned card, a shared card)."""
from __future__ import annotations

from typing import Any

from bot.views.common import Message, escape, message
from bot.views.deals import deal_card
from core.deals.cards import card_activities, card_deal


def deal_card_message(data: dict[str, Any]) -> Message:
    """The outbox view `deal_card`: the deal as `core.deals.cards.deal_card_data` read it."""
    deal = card_deal(data)
    return message(f"{deal.ref} {escape(deal.title)}", deal_card(deal, str(data.get("tz") or "UTC"),
                                                                 card_activities(data)))
