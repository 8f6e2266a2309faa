"""Outbox delivery through slack_sdk's WebClient against fakes on loopback: retries, pacing, once."""
from __future__ import annotations

import collections
import itertools
from datetime import datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot import delivery as delivery_module
from bot.delivery import RENDERERS, Deliverer, Pacer, delivery_client, render
from core.db import UnitOfWork
from core.notify import outbox, reminders
from core.notify.nudges import sweep_due_reminders
from core.tables import OutboxMessage, OutboxStatus
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message
from tests.bot.fake_slack import FakeSlack
from tests.bot.fake_slack_rate_limited import VirtualClock, running_rate_limited_slack
from tests.conftest import REPO

TOKEN = "xoxb-test"


def _deliverer(uow: UnitOfWork, url: str, clock: VirtualClock, **kw: object) -> Deliverer:
    client = delivery_client(WebClient(token=TOKEN, base_url=url), timeout=5)
    return Deliverer(uow, client, clock=clock.now, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def _queue(uow: UnitOfWork, ws: int, n: int, now: datetime, channel: str = "UANA", prefix: str = "m") -> None:
    with uow.transaction() as s:
        for i in range(n):
            outbox.enqueue(s, ws, f"{prefix}{i}", "test", channel, {"text": f"message {i}"}, now)


def _statuses(uow: UnitOfWork) -> collections.Counter[str]:
    with uow.read() as s:
        return collections.Counter(m.status.value for m in s.query(OutboxMessage))


def test_a_due_nudge_is_posted_once_with_valid_blocks(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    reminders.set_reminder(uow, ana, due_at=now + timedelta(minutes=1), text="Call Acme about pricing", now=now)
    clock = VirtualClock(now + timedelta(minutes=1))
    with uow.transaction() as s:
        sweep_due_reminders(s, clock.now())
    d = _deliverer(uow, fake_slack.url, clock)
    assert d.drain().sent == 1
    assert d.drain().sent == 0
    [call] = fake_slack.calls("chat.postMessage")
    assert call["channel"] == "UANA"
    assert_valid_message({"text": call["text"], "blocks": call["blocks"]})
    actions = [e.get("action_id") for b in call["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["nudge_done", "nudge_snooze_day", "nudge_snooze_week", "nudge_snooze_date"]
    assert _statuses(uow) == {"sent": 1}


def test_429_waits_retry_after_without_counting_an_attempt(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    _queue(uow, ana.workspace_id, 1, now)
    fake_slack.fail_next("chat.postMessage", 2, status=429, retry_after=7)
    clock = VirtualClock(now)
    stats = _deliverer(uow, fake_slack.url, clock).drain()
    assert (stats.sent, stats.rate_limited) == (1, 2)
    assert clock.slept >= 14  # Retry-After honoured twice, on the virtual clock
    with uow.read() as s:
        [msg] = s.query(OutboxMessage).all()
    assert msg.status == OutboxStatus.SENT and msg.attempts == 1
    assert len(fake_slack.calls("chat.postMessage")) == 3  # two refused, one accepted


def test_5xx_backs_off_then_delivers(uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack) -> None:
    _queue(uow, ana.workspace_id, 1, now)
    fake_slack.fail_next("chat.postMessage", 3, status=500)
    clock = VirtualClock(now)
    d = _deliverer(uow, fake_slack.url, clock)
    first = d.drain()  # no waiting: the retry is left for a later run
    assert (first.sent, first.retried) == (0, 1)
    assert d.drain(max_wait=3600).sent == 1
    assert clock.slept > 2  # exponential backoff, on the virtual clock
    with uow.read() as s:
        [msg] = s.query(OutboxMessage).all()
    assert (msg.status, msg.attempts) == (OutboxStatus.SENT, 4)


def test_permanent_errors_fail_that_message_only_and_admins_see_why(
    uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    clock = VirtualClock(now)
    with running_rate_limited_slack(clock, permanent={"CGONE": "channel_not_found", "UGONE": "user_not_found"}) as fake:
        _queue(uow, ana.workspace_id, 1, now, channel="CGONE", prefix="gone")
        _queue(uow, ana.workspace_id, 1, now, channel="UGONE", prefix="left")
        _queue(uow, ana.workspace_id, 3, now)
        stats = _deliverer(uow, fake.url, clock).drain()
    assert (stats.sent, stats.failed) == (3, 2)
    with uow.read() as s:
        failed = outbox.failed_messages(s, ana.workspace_id)
    assert sorted((f.key, f.reason) for f in failed) == [("gone0", "channel_not_found"), ("left0", "user_not_found")]
    assert sorted(k or "" for k in fake.posted_keys()) == ["m0", "m1", "m2"]


def test_a_dead_connection_is_retried_not_failed(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there: connection refused
    _queue(uow, ana.workspace_id, 1, now)
    stats = _deliverer(uow, f"http://127.0.0.1:{port}/", VirtualClock(now)).drain()
    assert (stats.sent, stats.retried, stats.failed) == (0, 1, 0)
    with uow.read() as s:
        [msg] = s.query(OutboxMessage).all()
    assert msg.status == OutboxStatus.PENDING and "URLError" in (msg.last_error or "")


def test_random_429_and_500_deliver_everything_exactly_once(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    clock = VirtualClock(now)
    with running_rate_limited_slack(clock, p429=0.2, p500=0.2, seed=11) as fake:
        for ch in ("C1", "C2", "UANA"):
            _queue(uow, ana.workspace_id, 20, now, channel=ch, prefix=f"{ch}-")
        stats = _deliverer(uow, fake.url, clock).drain(max_wait=3600)
        keys = fake.posted_keys()
        answered = dict(fake.answered)
    assert stats.sent == 60 and stats.failed == 0
    assert len(keys) == 60 and len(set(keys)) == 60  # all delivered, none twice
    assert answered.get(429, 0) > 0 and answered.get(500, 0) > 0
    assert _statuses(uow) == {"sent": 60}


def test_pacing_keeps_to_one_message_a_second_per_channel(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    clock = VirtualClock(now)
    with running_rate_limited_slack(clock, channel_burst=1) as fake:
        _queue(uow, ana.workspace_id, 10, now, channel="C1")
        _deliverer(uow, fake.url, clock, pacer=Pacer(channel_rate=1, channel_burst=1)).drain()
        times = [p.at for p in fake.posted]
        refused = fake.answered.get(429, 0)
    assert refused == 0 and len(times) == 10
    assert all(b - a >= 0.999 for a, b in itertools.pairwise(times))
    assert fake.posted_keys() == [f"m{i}" for i in range(10)]  # order kept within a channel


def test_only_one_worker_delivers_at_a_time(uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack) -> None:
    _queue(uow, ana.workspace_id, 2, now)
    clock = VirtualClock(now)
    with uow.transaction() as s:
        assert outbox.acquire_lease(s, "outbox-delivery", "other-replica", now, timedelta(seconds=90))
    assert _deliverer(uow, fake_slack.url, clock).drain().skipped
    assert fake_slack.calls("chat.postMessage") == []
    clock.sleep(91)  # the other replica died; its lease ran out
    assert _deliverer(uow, fake_slack.url, clock).drain().sent == 2


def test_a_chart_is_uploaded_with_files_upload_v2_after_the_message(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    with uow.transaction() as s:
        outbox.enqueue(s, ana.workspace_id, "with-file", "test", "C1", {"text": "see chart"}, now)
    from bot import delivery

    monkeypatch.setitem(delivery.RENDERERS, "with_file_test", lambda data: {"text": data["t"], "files": [
        {"content": png, "filename": "chart.png", "title": "Chart"}]})
    with uow.transaction() as s:
        outbox.enqueue(s, ana.workspace_id, "file2", "test", "C1", {"view": "with_file_test", "data": {"t": "x"}}, now)
    fake_slack.fail_next("files.completeUploadExternal", 1, status=500)
    clock = VirtualClock(now)
    d = _deliverer(uow, fake_slack.url, clock)
    d.drain(max_wait=3600)
    posts = [c["text"] for c in fake_slack.calls("chat.postMessage")]
    assert posts == ["see chart", "x"]  # the retried upload did not post the message again
    assert len(fake_slack.calls("files.completeUploadExternal")) == 2
    assert _statuses(uow) == {"sent": 2}


def test_the_weekly_digest_is_posted_with_its_chart(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    from decimal import Decimal

    from core.deals.deals import create_deal, move_stage
    from core.money import Money
    from core.notify.digest import digest_sweep

    deal = create_deal(uow, ana, title="Acme", amount=Money(Decimal("12000"), "USD"), now=now - timedelta(days=9))
    move_stage(uow, ana, deal.ref, "Proposal", now=now - timedelta(days=2))
    monday_nine = datetime.fromisoformat("2026-11-30T09:00:00+00:00")
    with uow.transaction() as s:
        assert digest_sweep(s, monday_nine) == 1  # Mia's DM (team East has no channel)
    stats = _deliverer(uow, fake_slack.url, VirtualClock(monday_nine)).drain()
    assert stats.sent == 1
    [post] = fake_slack.calls("chat.postMessage")
    assert post["channel"] == "UMIA"
    assert_valid_message({"text": post["text"], "blocks": post["blocks"]})
    body = " ".join(b["text"]["text"] for b in post["blocks"] if b.get("text"))
    assert "Proposal" in body and "$12,000.00" in body
    [upload] = fake_slack.calls("files.completeUploadExternal")
    assert upload.get("channel_id") == "DMIA"  # the DM the post landed in (Slack answers with it)
    assert fake_slack.calls("upload")[0]["_bytes"] > 1000  # the PNG itself


def test_pipeline_digest_now_for_each_kind_of_caller(
    uow: UnitOfWork, ana: Actor, mia: Actor, root: Actor, now: datetime
) -> None:
    import pytest

    from bot.views.digest import digest_message
    from core.deals.deals import create_deal
    from core.errors import NotAllowed
    from core.notify.digest import digest_for
    from tests.conftest import make_actor

    create_deal(uow, ana, title="Acme", now=now - timedelta(days=1))
    for actor in (ana, mia, root):
        msg = digest_message(*digest_for(uow, actor, now))
        assert_valid_message(msg)
        assert msg["response_type"] == "ephemeral" and "Pipeline digest" in msg["text"]
    loner = make_actor(uow, "ULONE", name="Lone")
    with pytest.raises(NotAllowed, match="not in a team"):
        digest_for(uow, loner, now)


def test_each_workspace_is_posted_with_its_own_bot_token(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    from slack_sdk.oauth.installation_store import Installation

    from bot.config import Settings
    from bot.installations import InstallationStore, WorkspaceClients
    from bot.secrets import TokenCipher
    from tests.conftest import make_actor

    other = make_actor(uow, "UOTHER", name="Otto", team_id="T2")
    _queue(uow, ana.workspace_id, 1, now, prefix="t1-")
    _queue(uow, other.workspace_id, 1, now, channel="UOTHER", prefix="t2-")
    with uow.transaction() as s:
        from core.workspace.workspaces import get_or_create_workspace

        ws3 = get_or_create_workspace(s, "T3", now).id  # known, but holds no installation: no bot token
        outbox.enqueue(s, ws3, "t3-0", "test", "UX", {"text": "x"}, now)

    key = "q3Vx0m3kP1e8yF7tW2aZ9cB4nL6hJ5dG0sR8uT1vX2k="
    store = InstallationStore(uow, TokenCipher([key]), clock=lambda: now)
    for team, token in (("T1", "xoxb-one"), ("T2", "xoxb-two")):
        store.save(Installation(team_id=team, bot_token=token, bot_id="B1", bot_user_id="UB", user_id="UI"))
    settings = Settings(slack_client_id="1.2", slack_client_secret="s", encryption_key=key,
                        slack_api_url=fake_slack.url)
    clock = VirtualClock(now)
    d = Deliverer(uow, WebClient(), clock=clock.now, sleep=clock.sleep,
                  client_for=WorkspaceClients(uow, settings, clock=lambda: now))
    stats = d.drain()
    assert (stats.sent, stats.failed) == (2, 1)
    tokens = sorted(c.headers.get("Authorization", "") for c in fake_slack.calls("chat.postMessage"))
    assert tokens == ["Bearer xoxb-one", "Bearer xoxb-two"]
    with uow.read() as s:
        [failed] = outbox.failed_messages(s, ws3)
    assert "no bot token" in failed.reason


def test_a_timeout_is_retried_later_not_failed(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True).start()  # reads nothing, says nothing
    try:
        _queue(uow, ana.workspace_id, 1, now)
        client = delivery_client(WebClient(token=TOKEN, base_url=f"http://127.0.0.1:{server.getsockname()[1]}/"),
                                 timeout=1)
        clock = VirtualClock(now)
        stats = Deliverer(uow, client, clock=clock.now, sleep=clock.sleep).drain()
    finally:
        for conn in held:
            conn.close()
        server.close()
    assert (stats.sent, stats.retried, stats.failed) == (0, 1, 0)
    with uow.read() as s:
        [msg] = s.query(OutboxMessage).all()
    # Backoff on the wall clock (`held_until`); the post may have landed, so the retry looks first.
    assert msg.status == OutboxStatus.PENDING and msg.attempts == 1 and msg.held_until is not None
    assert msg.held_until > now and msg.claimed_at == now
    assert "timed out" in (msg.last_error or "").lower() or "timeout" in (msg.last_error or "").lower()


def _die_holding(uow: UnitOfWork, d: Deliverer, now: datetime) -> list[outbox.OutboxItem]:
    """What a sender leaves when killed -9 mid-batch: its lease and its claims, unreleased."""
    assert d._lease()
    with uow.transaction() as s:
        return outbox.claim(s, now, d.batch, d.hold, holder=d.holder)


def test_a_dead_senders_rows_come_back_within_30_seconds_and_posts_it_made_are_not_repeated(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    from bot.delivery import OUTBOX_EVENT
    from bot.jobs import JOBS

    _queue(uow, ana.workspace_id, 2, now, channel="CSALES")
    _queue(uow, ana.workspace_id, 1, now, channel="UANA", prefix="dm")
    clock = VirtualClock(now)
    dead = _deliverer(uow, fake_slack.url, clock)
    claimed = _die_holding(uow, dead, clock.now())
    # Slack accepted two of its posts (a channel message and a DM) before the sender died unmarked.
    slack = WebClient(token=TOKEN, base_url=fake_slack.url)
    for item in claimed:
        if item.key in ("m0", "dm0"):
            slack.chat_postMessage(channel=item.channel, text=item.payload["text"],
                                   metadata={"event_type": OUTBOX_EVENT, "event_payload": {"key": item.key}})
    clock.sleep(10)
    assert _deliverer(uow, fake_slack.url, clock).drain().skipped  # the lease still binds
    # Default claim and lease, plus the scheduler's tick: back within 30 s of the death.
    tick = JOBS["deliver"].trigger().interval.total_seconds()  # type: ignore[attr-defined]
    assert max(dead.hold, dead.lease_ttl).total_seconds() + tick <= 30
    clock.sleep(max(dead.hold, dead.lease_ttl).total_seconds() - 10)
    stats = _deliverer(uow, fake_slack.url, clock).drain()
    assert (stats.sent, stats.found, stats.failed) == (3, 2, 0)
    assert str(stats).startswith("deliver: 3 sent (2 found already posted)")
    keys = [c["metadata"]["event_payload"]["key"] for c in fake_slack.calls("chat.postMessage")]
    assert sorted(keys) == ["dm0", "m0", "m1"]  # each once
    looked = {c["channel"] for c in fake_slack.calls("conversations.history")}
    assert looked == {"CSALES", "DANA"}  # the DM found through conversations.open
    with uow.read() as s:
        rows = {m.key: m for m in s.query(OutboxMessage)}
    assert {k: (m.status.value, m.slack_channel) for k, m in rows.items()} == {
        "m0": ("sent", "CSALES"), "m1": ("sent", "CSALES"), "dm0": ("sent", "DANA")}
    assert rows["m0"].slack_ts == fake_slack.history["CSALES"][0]["ts"]


def test_an_unreadable_history_means_sending_again_and_saying_so(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    _queue(uow, ana.workspace_id, 1, now, channel="CPRIVATE")
    clock = VirtualClock(now)
    dead = _deliverer(uow, fake_slack.url, clock)
    _die_holding(uow, dead, clock.now())
    clock.sleep(25)
    # Installed before the history scopes were added: Slack says so, and the message still goes.
    fake_slack.fail_next("conversations.history", 1, status=200, error="missing_scope")
    stats = _deliverer(uow, fake_slack.url, clock).drain()
    assert (stats.sent, stats.found) == (1, 0)
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert any("missing_scope" in r.getMessage() and "m0" in r.getMessage() for r in caplog.records)


def test_a_rate_limited_history_lookup_waits_and_posts_nothing_before_it_knows(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    _queue(uow, ana.workspace_id, 1, now, channel="CSALES")
    clock = VirtualClock(now)
    _die_holding(uow, _deliverer(uow, fake_slack.url, clock), clock.now())
    clock.sleep(25)
    fake_slack.fail_next("conversations.history", 1, status=429, retry_after=3)
    stats = _deliverer(uow, fake_slack.url, clock).drain()
    assert (stats.sent, stats.rate_limited) == (1, 1)
    assert fake_slack.methods().count("conversations.history") == 2
    assert fake_slack.methods().index("chat.postMessage") > fake_slack.methods().index("conversations.history")


class _SlowSlack:
    """A Web API that answers chat.postMessage only when told to (a post that takes long)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.got_request = threading.Event()
        self.answer = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/"

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        conn.recv(65536)
        self.got_request.set()
        self.answer.wait(30)
        body = b'{"ok": true, "channel": "C1", "ts": "1.000001"}'
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        conn.close()

    def close(self) -> None:
        self.answer.set()
        self.sock.close()


def test_a_live_sender_renews_its_short_claim_and_lease_while_a_post_takes_long(
    uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    import threading
    import time as wall

    from bot.delivery import utcnow
    from core.tables import Lease

    _queue(uow, ana.workspace_id, 2, now, channel="C1")
    slow = _SlowSlack()
    hold = timedelta(seconds=0.5)
    d = Deliverer(uow, delivery_client(WebClient(token=TOKEN, base_url=slow.url), timeout=30),
                  hold=hold, lease_ttl=hold, renew_every=0.05, pacer=Pacer(channel_rate=100, channel_burst=100))
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(d.drain()))
    try:
        worker.start()
        assert slow.got_request.wait(30)
        wall.sleep(4 * hold.total_seconds())  # four claim lengths: only renewals keep it
        with uow.read() as s:
            held = {m.key: m.held_until for m in s.query(OutboxMessage)}
            lease = s.get(Lease, "outbox-delivery")
        real_now = utcnow()
        assert lease is not None and lease.expires_at > real_now
        assert all(until is not None and until > real_now for until in held.values()), held
        other = Deliverer(uow, WebClient(token=TOKEN, base_url=slow.url))
        assert other.drain().skipped  # nobody sends them in parallel
    finally:
        slow.close()
        worker.join(30)
    assert len(result) == 1 and not worker.is_alive()


def test_stop_ends_a_drain_at_once_and_hands_the_untried_rows_back(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    import threading

    _queue(uow, ana.workspace_id, 5, now, channel="C1")
    d = Deliverer(uow, delivery_client(WebClient(token=TOKEN, base_url=fake_slack.url)),
                  pacer=Pacer(channel_rate=0.01, channel_burst=1))  # the second post would wait 100 s
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(d.drain()))
    worker.start()
    fake_slack.wait_for("chat.postMessage", 1, timeout=30)
    d.stop.set()
    worker.join(5)
    assert not worker.is_alive(), "stop did not cut the pacing wait short"
    assert _statuses(uow) == {"sent": 1, "pending": 4}
    with uow.read() as s:
        waiting = [m for m in s.query(OutboxMessage) if m.status == OutboxStatus.PENDING]
    assert all(m.held_until is None and m.claimed_at is None for m in waiting)  # free at once, nothing to look up
    clock = VirtualClock(now)
    assert _deliverer(uow, fake_slack.url, clock).drain(max_wait=60).sent == 4
    assert len(fake_slack.calls("chat.postMessage")) == 5 and not fake_slack.calls("conversations.history")


def test_a_hot_lead_card_shows_the_score_at_delivery_not_when_it_turned_hot(
    uow: UnitOfWork, ana: Actor, now: datetime, fake_slack: FakeSlack
) -> None:
    from sqlalchemy import select

    from core.leads.alerts import on_hot
    from core.tables import Lead, Team, Workspace

    with uow.transaction() as s:
        s.scalars(select(Team).where(Team.name == "East")).one().channel_id = "CEAST"
        lead = Lead(workspace_id=ana.workspace_id, number=1, name="Zoe Hart", team_id=ana.team_id, score=71,
                    hot=True, hot_since=now, score_reasons=[], created_at=now, updated_at=now)
        s.add(lead)
        s.flush()
        assert on_hot(s, s.get_one(Workspace, ana.workspace_id), lead, now)
    with uow.transaction() as s:  # more engagement while the alert waits in the outbox
        row = s.scalars(select(Lead)).one()
        row.score, row.predicted = 93, 64
    d = _deliverer(uow, fake_slack.url, VirtualClock(now))
    assert d.drain().sent == 1
    [call] = fake_slack.calls("chat.postMessage")
    assert_valid_message({"text": call["text"], "blocks": call["blocks"]})
    assert "score 93" in call["text"] and "Score *93*" in str(call["blocks"]) and "64% likely" in str(call["blocks"])
    assert "71" not in call["text"]


# --- the renderer table: static, and complete for every kind core queues -------------------

_QUEUED_VIEW = (
    r'"view":\s*"(\w+)"',  # {"view": "nudge", ...}
    r'_payload\("(\w+)"',  # core/notify/nudges.py
    r'_KIND\s*=\s*"(\w+)"',  # core/leads/alerts.py HOT_KIND, BURST_KIND
)


def test_every_view_core_queues_has_a_renderer_in_the_static_table() -> None:
    import re

    queued: set[str] = set()
    for path in (REPO / "core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in _QUEUED_VIEW:
            queued.update(re.findall(pattern, text))
    assert {"nudge", "morning", "escalation", "digest", "hot_lead", "hot_lead_burst", "lead_assigned"} <= queued
    assert queued <= set(RENDERERS), f"no renderer for {sorted(queued - set(RENDERERS))}"
    # The table holds the views' own functions, imported (no registration at run time).
    assert all(fn.__module__.startswith("bot.views.") for fn in RENDERERS.values())
    assert not hasattr(delivery_module, "register_renderer")


def test_an_unknown_view_is_refused_and_a_plain_payload_passes_through() -> None:
    with pytest.raises(LookupError, match="no renderer for outbox view 'nope'"):
        render({"view": "nope", "data": {}})
    assert render({"text": "hi", "blocks": [], "channel": "C1"}) == {"text": "hi", "blocks": []}


def test_each_message_is_built_in_its_recipients_language(
    uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.i18n import current_locale
    from core.tables import User, Workspace

    monkeypatch.setitem(RENDERERS, "probe", lambda data: {"text": f"{data['n']}:{current_locale()}"})
    with uow.transaction() as s:
        s.get_one(User, ana.user_id).locale = "tr-TR"  # Ana's Slack speaks Turkish
        s.get_one(User, bob.user_id).locale = "de-DE"  # not spoken by salesbot: the workspace's
        s.get_one(Workspace, ana.workspace_id).locale = "en"
        for n, channel in enumerate(("UANA", "UBOB", "CSALES")):
            outbox.enqueue(s, ana.workspace_id, f"probe{n}", "test", channel, {"view": "probe", "data": {"n": n}}, now)
    assert _deliverer(uow, fake_slack.url, VirtualClock(now)).drain().sent == 3
    assert sorted(c["text"] for c in fake_slack.calls("chat.postMessage")) == ["0:tr", "1:en", "2:en"]
    with uow.transaction() as s:
        s.get_one(Workspace, ana.workspace_id).locale = "tr"  # channels and Bob now read Turkish
        for n, channel in enumerate(("UBOB", "CSALES"), start=3):
            outbox.enqueue(s, ana.workspace_id, f"probe{n}", "test", channel, {"view": "probe", "data": {"n": n}}, now)
    fake_slack.clear()
    assert _deliverer(uow, fake_slack.url, VirtualClock(now)).drain().sent == 2
    assert sorted(c["text"] for c in fake_slack.calls("chat.postMessage")) == ["3:tr", "4:tr"]
