"""Deal cards (issue 15 point 2): the data a posted deal card stores, read back and rendered."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from bot.delivery import render
from bot.views.cards import deal_card_message
from core.db import UnitOfWork
from core.deals.cards import CARD_VIEW, card_activities, card_deal, deal_card_data
from core.deals.deals import add_note, create_deal, get_deal, move_stage
from core.money import Money
from core.notify.cards import current_card
from core.tables import Deal
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message
from tests.bot.surfaces import text_of


def _card(uow: UnitOfWork, ref: str) -> dict[str, object]:
    with uow.read() as s:
        deal = s.scalar(select(Deal).where(Deal.number == int(ref[2:])))
        assert deal is not None
        return deal_card_data(s, deal)


def test_card_data_is_plain_json_and_reads_back_as_the_deal(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    made = create_deal(uow, ana, title="Acme renewal", amount=Money(Decimal("12000.50"), "EUR"), now=now,
                       account="Acme")
    add_note(uow, ana, made.ref, "Call went well", now=now + timedelta(minutes=5))
    data = _card(uow, made.ref)
    assert json.loads(json.dumps(data)) == data  # an outbox payload is a JSON column
    assert card_deal(data) == get_deal(uow, ana, made.ref)
    [note] = card_activities(data)
    assert note.text == "Call went well" and note.at == now + timedelta(minutes=5)


def test_the_card_renders_valid_block_kit_with_the_deal(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    made = create_deal(uow, ana, title="Acme renewal", amount=Money(Decimal("12000"), "USD"), now=now)
    msg = deal_card_message(_card(uow, made.ref))
    assert_valid_message(msg)
    text = text_of(msg)
    assert f"{made.ref} Acme renewal" in text and "$12,000.00" in text


def test_a_queued_card_is_rendered_as_the_deal_is_when_sent(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    made = create_deal(uow, ana, title="Acme renewal", amount=Money(Decimal("12000"), "USD"), now=now)
    payload = {"view": CARD_VIEW, "data": _card(uow, made.ref)}
    move_stage(uow, ana, made.ref, "Proposal", now=now + timedelta(hours=1))
    with uow.read() as s:
        fresh = current_card(s, ana.workspace_id, payload)
    assert card_deal(fresh["data"]).stage == "Proposal"
    assert "Proposal" in text_of(render(fresh)) and "Proposal" not in text_of(render(payload))
    # Another workspace's id finds nothing: the card stays as queued.
    with uow.read() as s:
        assert current_card(s, ana.workspace_id + 999, payload) == payload
