"""Deal rooms end to end (issue 15 point 3): signed `/deal room` commands, the outbox delivered to the
fake Slack (conversations.create / invite / rename / archive / unarchive, pins.add, chat.postMessage),
bad input that changes nothing, and two deliverers racing on one room."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.delivery import Deliverer, DeliveryStats, delivery_client
from core.db import UnitOfWork
from core.deals import deals
from core.deals.room_settings import save_room_settings
from core.money import Money
from core.tables import DealRoom, OutboxMessage, RoomState
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message
from tests.bot.fake_slack import FakeSlack
from tests.bot.fake_slack_rate_limited import VirtualClock
from tests.bot.surfaces import deal, text_of
from tests.conftest import make_actor

TOKEN = "xoxb-test"


def usd(x: str) -> Money:
    return Money(Decimal(x), "USD")


@pytest.fixture
def acme(uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack) -> deals.DealView:
    for slack_id, name in (("UANA", "Ana"), ("UMIA", "Mia"), ("UAYSE", "Ayşe"), ("UMEHMET", "Mehmet"),
                           ("UBOB", "Bob"), ("UROOT", "Root")):
        fake_slack.add_user(slack_id, name)
    return deals.create_deal(uow, ana, title="Acme renewal", amount=usd("12000"), stage="Qualified",
                             expected_close=date(2026, 12, 18), now=now)


CLOCKS: dict[int, VirtualClock] = {}  # one virtual clock per fake Slack, i.e. per test


@pytest.fixture(autouse=True)
def _fresh_clocks() -> Iterator[None]:
    CLOCKS.clear()
    yield
    CLOCKS.clear()


def deliver(uow: UnitOfWork, fake: FakeSlack, now: datetime, due: datetime | None = None) -> DeliveryStats:
    """Drain the outbox on one virtual clock per test (a lease released at its time binds no later drain);
    `due`: deliver what is due by then (`salesbot jobs run deliver --at`)."""
    client = delivery_client(WebClient(token=TOKEN, base_url=fake.url), timeout=5)
    clock = CLOCKS.setdefault(id(fake), VirtualClock(now))
    return Deliverer(uow, client, clock=clock.now, sleep=clock.sleep,
                     due_clock=(lambda: due) if due else None).drain(max_wait=60)


def room(uow: UnitOfWork) -> DealRoom | None:
    with uow.read() as s:
        found = s.scalar(select(DealRoom))
        if found is not None:
            s.expunge(found)
        return found


def outbox_count(uow: UnitOfWork) -> int:
    with uow.read() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def posts_to(fake: FakeSlack, channel: str) -> list[str]:
    """The texts posted to `channel`, each checked against Block Kit."""
    found = [c.body for c in fake.calls("chat.postMessage") if c["channel"] == channel]
    for body in found:
        blocks = json.loads(body["blocks"]) if isinstance(body.get("blocks"), str) else body.get("blocks")
        assert_valid_message({"text": body["text"], **({"blocks": blocks} if blocks else {})})
    return [text_of(b) for b in found]


def open_room(app: App, fake: FakeSlack, uow: UnitOfWork, now: datetime, text: str = "room D-1") -> str:
    deal(app, fake, text)
    deliver(uow, fake, now)
    made = room(uow)
    assert made is not None and made.state == RoomState.OPEN and made.channel_id
    return made.channel_id


# -- the room -----------------------------------------------------------------------------------------


def test_room_is_a_private_channel_with_owner_manager_and_named_people_and_the_card_pinned(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    answer = deal(app, fake_slack, "room D-1 <@UAYSE|ayse> <@UMEHMET|mehmet>")
    assert "deal-acme-renewal" in answer["text"] and "D-1" in answer["text"]
    assert fake_slack.calls("conversations.create") == []  # the outbox does it, after the answer
    stats = deliver(uow, fake_slack, now)
    assert stats.failed == 0
    [create] = fake_slack.calls("conversations.create")
    assert create["name"] == "deal-acme-renewal" and str(create["is_private"]).lower() in ("1", "true")
    channel = fake_slack.channel_named("deal-acme-renewal")
    assert channel is not None and channel.is_private
    assert channel.members == ["UANA", "UMIA", "UAYSE", "UMEHMET"]  # owner (who asked), manager, named
    [card] = [c for c in fake_slack.calls("chat.postMessage") if c["channel"] == channel.id]
    assert "Acme renewal" in text_of(card.body)
    [pin] = fake_slack.calls("pins.add")
    assert pin["channel"] == channel.id and channel.pins == [pin["timestamp"]]
    made = room(uow)
    assert made is not None and (made.state, made.channel_id, made.name) == (RoomState.OPEN, channel.id,
                                                                             "deal-acme-renewal")
    assert deliver(uow, fake_slack, now).sent == 0  # each step once


def test_a_taken_name_gets_a_suffix_and_the_name_is_recorded(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    fake_slack.taken_names.update({"deal-acme-renewal", "deal-acme-renewal-2"})
    channel_id = open_room(app, fake_slack, uow, now)
    assert [c["name"] for c in fake_slack.calls("conversations.create")] == [
        "deal-acme-renewal", "deal-acme-renewal-2", "deal-acme-renewal-3"]
    made = room(uow)
    assert made is not None and made.name == "deal-acme-renewal-3" and made.base_name == "deal-acme-renewal"
    assert fake_slack.channels[channel_id].name == "deal-acme-renewal-3"


def test_asking_again_links_the_room_and_invites_only_the_new_people(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    channel_id = open_room(app, fake_slack, uow, now)
    fake_slack.clear()
    answer = deal(app, fake_slack, "oda D-1 <@UAYSE|ayse> <@UMIA|mia>")
    assert f"<#{channel_id}>" in answer["text"] and "<@UAYSE>" in answer["text"]
    deliver(uow, fake_slack, now)
    assert fake_slack.calls("conversations.create") == []
    assert [c["users"] for c in fake_slack.calls("conversations.invite")] == ["UAYSE"]
    assert fake_slack.channels[channel_id].members[-1] == "UAYSE"


def test_someone_slack_will_not_add_is_named_to_who_asked_and_the_others_are_in(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    fake_slack.add_user("UGUEST", "Guest")
    fake_slack.refuse_invite["UGUEST"] = "user_is_restricted"  # a guest: Slack will not add them
    channel_id = open_room(app, fake_slack, uow, now)
    fake_slack.clear()
    deal(app, fake_slack, "room D-1 <@UGUEST|guest> <@UAYSE|ayse>")
    deliver(uow, fake_slack, now)
    assert "UAYSE" in fake_slack.channels[channel_id].members
    assert "UGUEST" not in fake_slack.channels[channel_id].members
    [told] = [c for c in fake_slack.calls("chat.postMessage") if c["channel"] == "UANA"]
    assert "Slack would not add <@UGUEST> (user_is_restricted)" in text_of(told) and f"<#{channel_id}>" in text_of(told)
    assert_valid_message({"text": told["text"], "blocks": told["blocks"]})
    deliver(uow, fake_slack, now)  # told once
    assert len([c for c in fake_slack.calls("chat.postMessage") if c["channel"] == "UANA"]) == 1


def test_a_new_title_or_account_renames_the_room_and_a_taken_name_keeps_the_old_one(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView, ana: Actor
) -> None:
    channel_id = open_room(app, fake_slack, uow, now)
    fake_slack.clear()
    deals.edit_deal(uow, ana, "D-1", title="Acme expansion", now=now)
    deals.edit_deal(uow, ana, "D-1", next_step="call", now=now)  # not a name change: no rename
    deliver(uow, fake_slack, now)
    assert [c["name"] for c in fake_slack.calls("conversations.rename")] == ["deal-acme-expansion"]
    assert fake_slack.channels[channel_id].name == "deal-acme-expansion"
    made = room(uow)
    assert made is not None and (made.name, made.slack_name) == ("deal-acme-expansion", "deal-acme-expansion")

    fake_slack.taken_names.add("deal-globex-acme-expansion")
    deals.edit_deal(uow, ana, "D-1", account="Globex", now=now)
    deliver(uow, fake_slack, now)
    assert fake_slack.channels[channel_id].name == "deal-acme-expansion"  # Slack said taken: it stays
    deals.close_deal_won(uow, ana, "D-1", now=now)
    deliver(uow, fake_slack, now)
    assert fake_slack.channels[channel_id].archived


def test_stage_moves_notes_and_reminders_are_posted_in_the_room(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    channel_id = open_room(app, fake_slack, uow, now)
    fake_slack.clear()
    deal(app, fake_slack, "stage D-1 proposal")
    deal(app, fake_slack, "note D-1 budget approved")
    deal(app, fake_slack, "remind D-1 tomorrow 10am send the contract")
    deliver(uow, fake_slack, now)
    posts = posts_to(fake_slack, channel_id)
    assert len(posts) == 3, posts
    assert "Qualified" in posts[0] and "Proposal" in posts[0]
    assert "budget approved" in posts[1]
    assert "send the contract" in posts[2]


def test_a_reminder_coming_due_is_posted_in_the_room_once(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    from core.notify.nudges import sweep_due_reminders

    channel_id = open_room(app, fake_slack, uow, now)
    deal(app, fake_slack, "remind D-1 in 2 hours call the CFO")
    later = now + timedelta(hours=3)
    for _ in range(2):
        with uow.transaction() as s:
            sweep_due_reminders(s, later)
    deliver(uow, fake_slack, now, due=later)
    due = [p for p in posts_to(fake_slack, channel_id) if "came due" in p]
    assert len(due) == 1 and "call the CFO" in due[0]


def test_closing_renames_then_archives_and_reopening_unarchives_and_renames_back(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    channel_id = open_room(app, fake_slack, uow, now)
    fake_slack.clear()
    deal(app, fake_slack, "won D-1")
    deliver(uow, fake_slack, now)
    room_calls = [m for m in fake_slack.methods() if m.startswith("conversations.") or m == "chat.postMessage"]
    assert room_calls[-3:] == ["chat.postMessage", "conversations.rename", "conversations.archive"]
    channel = fake_slack.channels[channel_id]
    assert (channel.name, channel.archived) == ("deal-acme-renewal-won", True)
    made = room(uow)
    assert made is not None and made.state == RoomState.ARCHIVED
    fake_slack.clear()
    deal(app, fake_slack, "reopen D-1")
    deliver(uow, fake_slack, now)
    assert [m for m in fake_slack.methods() if m.startswith("conversations.") or m == "chat.postMessage"] == [
        "conversations.unarchive", "conversations.rename", "chat.postMessage"]  # unarchived, then told
    assert "reopened" in posts_to(fake_slack, channel_id)[-1]
    assert (channel.name, channel.archived) == ("deal-acme-renewal", False)
    made = room(uow)
    assert made is not None and made.state == RoomState.OPEN
    fake_slack.clear()
    deal(app, fake_slack, "lost D-1 went with a competitor")
    deliver(uow, fake_slack, now)
    assert (channel.name, channel.archived) == ("deal-acme-renewal-lost", True)


def test_close_and_reopen_queued_together_leave_the_room_open(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    channel_id = open_room(app, fake_slack, uow, now)
    deal(app, fake_slack, "won D-1")
    deal(app, fake_slack, "reopen D-1")
    deliver(uow, fake_slack, now)
    channel = fake_slack.channels[channel_id]
    assert (channel.name, channel.archived) == ("deal-acme-renewal", False)


# -- automatic rooms ------------------------------------------------------------------------------


def test_a_deal_reaching_the_room_stage_gets_its_room_once(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView, root: Actor
) -> None:
    save_room_settings(uow, root, "Proposal", None, now=now)
    deal(app, fake_slack, "stage D-1 proposal")
    deal(app, fake_slack, "stage D-1 negotiation")
    deliver(uow, fake_slack, now)
    [create] = fake_slack.calls("conversations.create")
    assert create["name"] == "deal-acme-renewal"
    assert fake_slack.channel_named("deal-acme-renewal") is not None
    assert fake_slack.channel_named("deal-acme-renewal").members == ["UANA", "UMIA"]  # type: ignore[union-attr]


def test_a_deal_at_the_room_amount_gets_its_room(
    uow: UnitOfWork, fake_slack: FakeSlack, now: datetime, ana: Actor, root: Actor
) -> None:
    save_room_settings(uow, root, None, usd("50000"), now=now)
    deals.create_deal(uow, ana, title="Small", amount=usd("49999"), now=now)
    big = deals.create_deal(uow, ana, title="Globex expansion", amount=usd("60000"), now=now)
    deliver(uow, fake_slack, now)
    assert [c["name"] for c in fake_slack.calls("conversations.create")] == ["deal-globex-expansion"]
    deals.edit_deal(uow, ana, "D-1", now=now, amount=usd("50000"))
    deliver(uow, fake_slack, now)
    assert [c["name"] for c in fake_slack.calls("conversations.create")] == ["deal-globex-expansion", "deal-small"]
    assert big.ref == "D-2"


# -- bad input: a clear answer, nothing changed ------------------------------------------------------


def _nothing_made(uow: UnitOfWork, fake: FakeSlack, before: int, now: datetime) -> None:
    assert room(uow) is None
    assert outbox_count(uow) == before
    deliver(uow, fake, now)
    assert fake.calls("conversations.create") == []


def test_a_closed_deal_gets_no_room(app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime,
                                    acme: deals.DealView) -> None:
    deal(app, fake_slack, "won D-1")
    deliver(uow, fake_slack, now)
    before = outbox_count(uow)
    answer = deal(app, fake_slack, "room D-1")
    assert "won" in answer["text"] and "reopen" in answer["text"]
    _nothing_made(uow, fake_slack, before, now)


@pytest.mark.parametrize(("text", "user", "expected"), [
    ("room D-99", "UANA", "D-99"),
    ("room", "UANA", "Which deal"),
    ("room D-1", "UCAL", "You can't change"),
    ("room D-1 <@UGHOST|ghost>", "UANA", "can't find"),
    ("room D-1 <@USLACKBOT|slackbot>", "UANA", "bot"),
    ("room D-1 <@UHELPER|helperbot>", "UANA", "bot"),
    ("room D-1 <#C1|general>", "UANA", "#channel"),
])
def test_bad_room_requests_are_answered_and_change_nothing(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView,
    text: str, user: str, expected: str,
) -> None:
    make_actor(uow, "UCAL", name="Cal", team="East")  # a rep of Ana's team: may read D-1, not change it
    fake_slack.add_user("UHELPER", "Helper").is_bot = True
    before = outbox_count(uow)
    answer = deal(app, fake_slack, text, user=user)
    assert expected in answer["text"], answer["text"]
    _nothing_made(uow, fake_slack, before, now)


def test_a_deal_of_another_workspace_is_not_found(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    other = make_actor(uow, "UZED", name="Zed", team_id="T2")
    deals.create_deal(uow, other, title="Secret", now=now)
    before = outbox_count(uow)
    answer = deal(app, fake_slack, "room Secret")
    assert "Secret" in answer["text"]
    _nothing_made(uow, fake_slack, before, now)


def test_slack_refusing_the_channel_fails_the_room_tells_who_asked_and_a_retry_works(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    fake_slack.refuse_create = "restricted_action"
    deal(app, fake_slack, "room D-1 <@UAYSE|ayse>")
    deliver(uow, fake_slack, now)
    failed = room(uow)
    assert failed is not None and (failed.state, failed.reason, failed.channel_id) == (
        RoomState.FAILED, "restricted_action", None)
    [dm] = [c for c in fake_slack.calls("chat.postMessage") if c["channel"] == "UANA"]
    assert "restricted_action" in text_of(dm.body) and "/deal room D-1" in text_of(dm.body)
    assert not fake_slack.calls("conversations.invite") and not fake_slack.calls("pins.add")
    assert fake_slack.channels == {}
    fake_slack.refuse_create = None
    channel_id = open_room(app, fake_slack, uow, now)
    assert fake_slack.channels[channel_id].members == ["UANA", "UMIA", "UAYSE"]


def test_a_5xx_on_create_is_retried_and_creates_one_channel(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    fake_slack.fail_next("conversations.create", 2, status=500)
    deal(app, fake_slack, "room D-1")
    client = delivery_client(WebClient(token=TOKEN, base_url=fake_slack.url), timeout=5)
    clock = VirtualClock(now)
    Deliverer(uow, client, clock=clock.now, sleep=clock.sleep).drain(max_wait=3600)
    assert len(fake_slack.channels) == 1 and len(fake_slack.calls("conversations.create")) == 3
    assert len(fake_slack.calls("pins.add")) == 1


def test_turkish_user_gets_the_room_answer_in_turkish(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    fake_slack.add_user("UANA", "Ana", locale="tr-TR")
    with uow.transaction() as s:
        from core.tables import User

        user = s.scalar(select(User).where(User.slack_id == "UANA"))
        assert user is not None
        user.locale, user.refreshed_at = "tr", None
    answer = deal(app, fake_slack, "oda D-1")
    assert "oda" in answer["text"].lower() and "deal-acme-renewal" in answer["text"]


# -- two replicas ----------------------------------------------------------------------------------


def test_two_deliverers_racing_create_the_room_once(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    deal(app, fake_slack, "room D-1 <@UAYSE|ayse>")
    clients = [delivery_client(WebClient(token=TOKEN, base_url=fake_slack.url), timeout=5) for _ in range(2)]
    start = threading.Barrier(2)
    clock = VirtualClock(now)

    def run(client: WebClient) -> None:
        start.wait()
        for _ in range(3):
            Deliverer(uow, client, clock=clock.now, sleep=clock.sleep,
                      lease_ttl=timedelta(seconds=20)).drain(max_wait=60)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(fake_slack.calls("conversations.create")) == 1
    assert len(fake_slack.channels) == 1
    [channel] = fake_slack.channels.values()
    assert channel.members == ["UANA", "UMIA", "UAYSE"]
    assert len(fake_slack.calls("pins.add")) == 1
    assert len(posts_to(fake_slack, channel.id)) == 1


# -- `/salesbot setup`: the room settings ------------------------------------------------------------


def test_setup_modal_shows_and_saves_the_room_settings_and_bad_ones_save_nothing(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, root: Actor
) -> None:
    from bot.modals.admin_modals import setup_view
    from core.deals.room_settings import read_room_settings
    from core.tables import Workspace
    from core.workspace import setup
    from tests.bot.surfaces import select_value, submit, text_value
    from tests.bot.test_modals import setup_values

    view = setup_view(setup.workspace_settings(uow, root), rooms=read_room_settings(uow, root))
    assert {"room_stage", "room_amount"} <= {b.get("block_id") for b in view["blocks"]}
    for values, field in (({"room_stage": text_value("Won")}, "room_stage"),
                          ({"room_amount": text_value("a lot")}, "room_amount"),
                          ({"room_amount": text_value("-5")}, "room_amount")):
        ack = submit(app, fake_slack, "salesbot_setup", {**setup_values(), **values}, user="UROOT",
                     blocks=view["blocks"])
        assert list(ack["errors"]) == [field], ack
        with uow.read() as s:
            assert s.scalars(select(Workspace)).one().default_currency == "USD"  # nothing saved
        assert not read_room_settings(uow, root).automatic
    english = {**setup_values(), "locale": select_value("en")}  # stage names stay English
    ack = submit(app, fake_slack, "salesbot_setup", {**english, "room_stage": text_value("negotiation"),
                                                     "room_amount": text_value("75000")}, user="UROOT")
    assert ack == {}
    saved = read_room_settings(uow, root)
    assert (saved.stage, saved.min_amount) == ("Negotiation", Money(Decimal("75000"), "EUR"))  # the new base
    with uow.transaction() as s:  # the stages follow a new language: the rule keeps its stage
        from core.workspace.workspaces import stage_names_follow

        stage_names_follow(s, root.workspace_id, "en", "tr")
    assert read_room_settings(uow, root).stage == "Pazarlık"
    view = setup_view(setup.workspace_settings(uow, root), rooms=read_room_settings(uow, root))
    shown = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b.get("block_id")}
    assert (shown["room_stage"], shown["room_amount"]) == ("Pazarlık", "75000 EUR")


def test_room_posts_and_the_refusal_dm_are_in_turkish_for_a_turkish_workspace(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, acme: deals.DealView
) -> None:
    from core.tables import Workspace

    channel_id = open_room(app, fake_slack, uow, now)
    with uow.transaction() as s:
        s.scalars(select(Workspace)).one().locale = "tr"
    deal(app, fake_slack, "note D-1 bütçe onaylandı")
    deal(app, fake_slack, "won D-1")
    deliver(uow, fake_slack, now)
    posts = posts_to(fake_slack, channel_id)
    assert "Ana bir not ekledi: bütçe onaylandı" in posts[-2]
    assert "kazanıldı" in posts[-1] and "arşivleniyor" in posts[-1]


def test_a_create_whose_sender_died_after_slack_made_the_channel_adopts_it_instead_of_a_second_one(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime, ana: Actor, acme: deals.DealView
) -> None:
    from tests.bot.fake_slack import FakeChannel

    other = deals.create_deal(uow, ana, title="Other", now=now)
    deal(app, fake_slack, "room D-1")
    # A sender claimed the create step, Slack made the channel, and the sender died before writing it back.
    fake_slack.channels["GDEAD"] = FakeChannel("GDEAD", "deal-acme-renewal", True)
    fake_slack.channels["GOTHER"] = FakeChannel("GOTHER", "deal-acme-renewal-2", True)  # another deal's room
    with uow.transaction() as s:
        s.add(DealRoom(workspace_id=ana.workspace_id, deal_id=other.id, channel_id="GOTHER", base_name="deal-other",
                       name="deal-acme-renewal-2", state=RoomState.OPEN, attempts=1, events=0, members=[],
                       created_at=now, updated_at=now))
        row = s.scalar(select(OutboxMessage).where(OutboxMessage.key == "room:1:create:1"))
        assert row is not None
        row.claimed_at = now - timedelta(seconds=30)
    deliver(uow, fake_slack, now)
    assert fake_slack.calls("conversations.create") == []
    with uow.read() as s:
        made = s.scalar(select(DealRoom).where(DealRoom.deal_id == acme.id))
        assert made is not None and (made.channel_id, made.state) == ("GDEAD", RoomState.OPEN)
    assert len(fake_slack.calls("pins.add")) == 1
