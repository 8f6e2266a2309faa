"""Deal rooms in the domain (core.deals.rooms): channel names, the room's states, the hook, settings."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from core.db import UnitOfWork
from core.deals import deals
from core.deals.room_settings import parse_room_amount, read_room_settings, save_room_settings
from core.deals.rooms import (
    MAX_NAME,
    closed_name,
    name_candidates,
    on_deal_event,
    request_room,
    room_created,
    room_name,
    room_refused,
    room_synced,
    room_target,
    with_suffix,
)
from core.errors import InvalidInput, NotAllowed, UserError
from core.money import Money
from core.tables import Deal, DealRoom, DealStatus, OutboxMessage, RoomState
from core.workspace.rates import set_rate
from core.workspace.users import Actor

SLACK_NAME = re.compile(r"[a-z0-9_-]{1,80}")


def usd(x: str) -> Money:
    return Money(Decimal(x), "USD")


def assert_slack_name(name: str) -> None:
    assert SLACK_NAME.fullmatch(name), name
    assert "--" not in name and not name.endswith(("-", "_")), name


# -- names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("title", "account", "expected"), [
    ("Acme renewal", None, "deal-acme-renewal"),
    ("Acme renewal", "Acme", "deal-acme-renewal"),
    ("Renewal 2027", "Acme Corp.", "deal-acme-corp-renewal-2027"),
    ("GTXPro - Dontechi", "Dontechi", "deal-gtxpro-dontechi"),  # the account said anywhere: not twice
    ("Acmetron upgrade", "Acme", "deal-acme-acmetron-upgrade"),  # a word that only starts like it
    ("Şişecam Çağrı Merkezi Ödeme", None, "deal-sisecam-cagri-merkezi-odeme"),
    ("İSTANBUL IŞIK ağ", None, "deal-istanbul-isik-ag"),
    ("Café Zürich -- big   deal!!", None, "deal-cafe-zurich-big-deal"),
    ("snake_case_title", None, "deal-snake_case_title"),
    ("!!! ???", None, "deal-7"),
])
def test_room_names_follow_slacks_rules(title: str, account: str | None, expected: str) -> None:
    assert room_name(title, account, 7) == expected


@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=100)), st.integers(1, 10**6))
def test_any_title_gives_a_valid_channel_name(title: str, account: str | None, number: int) -> None:
    name = room_name(title, account, number)
    assert_slack_name(name)
    assert name.startswith("deal-") and len(name) <= MAX_NAME
    for candidate in [*name_candidates(name, number), closed_name(name, DealStatus.WON),
                      closed_name(name, DealStatus.LOST)]:
        assert_slack_name(candidate)
    assert len(set(name_candidates(name, number))) == len(name_candidates(name, number))


def test_suffixes_keep_within_80_characters() -> None:
    long = room_name("x" * 200)
    assert len(long) == 80
    assert closed_name(long, DealStatus.WON).endswith("-won") and len(closed_name(long, DealStatus.WON)) == 80
    assert with_suffix(long, "2").endswith("-2") and len(with_suffix(long, "2")) == 80
    assert name_candidates("deal-a", 12)[-1] == "deal-a-d12"


# -- states -----------------------------------------------------------------------------------------


@pytest.fixture
def acme(uow: UnitOfWork, ana: Actor, now: datetime) -> deals.DealView:
    return deals.create_deal(uow, ana, title="Acme renewal", amount=usd("12000"), stage="Qualified", now=now)


def _keys(uow: UnitOfWork) -> list[str]:
    with uow.read() as s:
        return list(s.scalars(select(OutboxMessage.key).order_by(OutboxMessage.id)))


def _room(uow: UnitOfWork) -> DealRoom:
    with uow.read() as s:
        room = s.scalar(select(DealRoom))
        assert room is not None
        s.expunge(room)
        return room


def test_a_room_goes_creating_failed_creating_open_archived_open(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime, acme: deals.DealView
) -> None:
    answer = request_room(uow, ana, "D-1", ["UAYSE"], now=now)
    assert (answer.created, answer.state, answer.name) == (True, RoomState.CREATING, "deal-acme-renewal")
    assert _room(uow).members == ["UANA", "UMIA", "UAYSE"]
    assert _keys(uow) == ["room:1:create:1"]
    with uow.transaction() as s:
        room_refused(s, 1, "restricted_action", now)
    assert (_room(uow).state, _room(uow).reason) == (RoomState.FAILED, "restricted_action")
    assert _keys(uow)[-1] == "room:1:failed:1"
    again = request_room(uow, ana, "D-1", [], now=now)
    assert again.created and _keys(uow)[-1] == "room:1:create:2"
    with uow.transaction() as s:
        room_created(s, 1, "G1", "deal-acme-renewal", now)
        room_created(s, 1, "G2", "deal-acme-renewal", now)  # a repeated write-back changes nothing
    assert (_room(uow).state, _room(uow).channel_id) == (RoomState.OPEN, "G1")
    assert _keys(uow)[-2:] == ["room:1:invite:1", "room:1:card"]
    deals.move_stage(uow, ana, "D-1", "Proposal", now=now)
    deals.close_deal_won(uow, ana, "D-1", now=now)
    assert _keys(uow)[-3:] == ["room:1:event:2", "room:1:event:3", "room:1:sync:4"]
    with uow.read() as s:
        target = room_target(s, ana.workspace_id, 1)
    assert target is not None and (target.want_name, target.want_archived) == ("deal-acme-renewal-won", True)
    with uow.transaction() as s:
        room_synced(s, 1, "deal-acme-renewal-won", True, now)
    assert _room(uow).state == RoomState.ARCHIVED
    deals.reopen_deal(uow, ana, "D-1", now=now)
    with uow.read() as s:
        target = room_target(s, ana.workspace_id, 1)
    assert target is not None and (target.want_name, target.want_archived) == ("deal-acme-renewal", False)
    with uow.transaction() as s:
        room_synced(s, 1, "deal-acme-renewal", False, now)
    assert _room(uow).state == RoomState.OPEN


def test_a_room_of_another_workspace_is_not_the_deliverers(
    uow: UnitOfWork, ana: Actor, now: datetime, acme: deals.DealView
) -> None:
    request_room(uow, ana, "D-1", [], now=now)
    with uow.read() as s:
        assert room_target(s, ana.workspace_id + 1000, 1) is None


def test_events_before_the_room_exists_post_nothing(
    uow: UnitOfWork, ana: Actor, now: datetime, acme: deals.DealView
) -> None:
    request_room(uow, ana, "D-1", [], now=now)
    deals.add_note(uow, ana, "D-1", "called", now=now)
    assert _keys(uow) == ["room:1:create:1"]


def test_the_hook_posts_nothing_for_a_deal_without_a_room(
    uow: UnitOfWork, ana: Actor, now: datetime, acme: deals.DealView
) -> None:
    with uow.transaction() as s:
        deal = s.get_one(Deal, acme.id)
        on_deal_event(s, deal, "stage", now, by="Ana", detail={"from": "A", "to": "B"})
    assert _keys(uow) == []


def test_a_closed_deal_and_someone_elses_deal_get_no_room(
    uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime, acme: deals.DealView
) -> None:
    deals.close_deal_lost(uow, ana, "D-1", "budget", now=now)
    with pytest.raises(InvalidInput, match="open deals"):
        request_room(uow, ana, "D-1", [], now=now)
    with pytest.raises(UserError):  # another team's deal: not even found for Bob
        request_room(uow, bob, "D-1", [], now=now)
    with uow.read() as s:
        assert s.scalar(select(DealRoom)) is None
    assert _keys(uow) == []


# -- settings ---------------------------------------------------------------------------------------


def test_settings_are_for_admins_and_bad_values_name_their_field(
    uow: UnitOfWork, ana: Actor, root: Actor, now: datetime
) -> None:
    with pytest.raises(NotAllowed):
        save_room_settings(uow, ana, "Proposal", None, now=now)
    with pytest.raises(InvalidInput) as stage_err:
        save_room_settings(uow, root, "Won", None, now=now)
    assert stage_err.value.field == "room_stage"
    with pytest.raises(InvalidInput) as amount_err:
        save_room_settings(uow, root, None, usd("0"), now=now)
    assert amount_err.value.field == "room_amount"
    with pytest.raises(InvalidInput) as parse_err:
        parse_room_amount("lots", "USD")
    assert parse_err.value.field == "room_amount"
    assert not read_room_settings(uow, root).automatic
    saved = save_room_settings(uow, root, "proposal", parse_room_amount("50,000 eur", "USD"), now=now)
    assert saved.stage == "Proposal" and saved.min_amount == Money(Decimal("50000"), "EUR")
    assert read_room_settings(uow, root) == saved


def test_the_room_amount_compares_in_the_base_currency(
    uow: UnitOfWork, ana: Actor, root: Actor, now: datetime
) -> None:
    set_rate(uow, root, "EUR", "1.10", now=now)
    save_room_settings(uow, root, None, usd("50000"), now=now)
    deals.create_deal(uow, ana, title="Under", amount=Money(Decimal("45000"), "EUR"), now=now)  # 49,500 USD
    deals.create_deal(uow, ana, title="Over", amount=Money(Decimal("46000"), "EUR"), now=now)  # 50,600 USD
    deals.create_deal(uow, ana, title="No rate", amount=Money(Decimal("90000"), "GBP"), now=now)
    with uow.read() as s:
        names = list(s.scalars(select(DealRoom.name)))
    assert names == ["deal-over"]


def test_two_requests_at_once_make_one_room(uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime,
                                            acme: deals.DealView) -> None:
    import threading

    start = threading.Barrier(2)
    answers = []

    def ask(actor: Actor, named: list[str]) -> None:
        start.wait()
        answers.append(request_room(uow, actor, "D-1", named, now=now))

    threads = [threading.Thread(target=ask, args=(ana, ["UAYSE"])), threading.Thread(target=ask, args=(mia, []))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(answers) == 2 and sum(a.created for a in answers) == 1
    with uow.read() as s:
        assert len(list(s.scalars(select(DealRoom)))) == 1
    assert [k for k in _keys(uow) if ":create:" in k] == ["room:1:create:1"]
    assert "UAYSE" in _room(uow).members
