"""Exactly once: a process killed mid-way, then restarted; two schedulers on one database.

Real processes (`salesbot jobs run ...`, or a small driver of bot.jobs), SIGKILL, and the
fake Slack Web API on loopback; every message carries its outbox key in `metadata`, so the
fake's log shows whether any key was posted twice.
"""
from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from core.db import UnitOfWork
from core.deals.deals import create_deal
from core.notify import reminders
from core.tables import Lease, OutboxMessage, OutboxStatus, Role
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack, running_fake_slack
from tests.conftest import make_actor

SALESBOT = str(Path(sys.executable).with_name("salesbot"))
DUE = datetime.fromisoformat("2026-11-23T16:00:00+00:00")

WRITE_THEN_PARK = """
import sys
from datetime import datetime
from slack_sdk import WebClient
from bot.jobs import run_job
from core.db import UnitOfWork, make_engine
uow = UnitOfWork(make_engine(sys.argv[1]))
at = datetime.fromisoformat(sys.argv[2])
print(run_job("nudges", uow, at, None), flush=True)
print("written", flush=True)
sys.stdin.read()  # parked between writing and sending: the test kills -9 here
print(run_job("deliver", uow, at, WebClient(token="xoxb-test", base_url=sys.argv[3])), flush=True)
"""

# A sender with a short claim and lease (so the test waits 2 s, not 20), parked at a chosen point.
SHORT_CLAIM_SENDER = """
import sys
from datetime import datetime, timedelta
from slack_sdk import WebClient
from bot.jobs import run_job
from core.db import UnitOfWork, make_engine
from core.notify import outbox
uow = UnitOfWork(make_engine(sys.argv[1]))
at = datetime.fromisoformat(sys.argv[2])
if sys.argv[4] == "park-before-mark":
    def parked(*args, **kwargs):
        print("answered", flush=True)  # Slack accepted the post; the row is not marked yet
        sys.stdin.read()  # the test kills -9 here
    outbox.mark_sent = parked
client = WebClient(token="xoxb-test", base_url=sys.argv[3], timeout=60)
print(run_job("deliver", uow, at, client, hold=timedelta(seconds=2), lease_ttl=timedelta(seconds=2)), flush=True)
"""

TICKS = """
import sys
from datetime import datetime, timedelta
from slack_sdk import WebClient
from bot.jobs import run_job
from core.db import UnitOfWork, make_engine
uow = UnitOfWork(make_engine(sys.argv[1]))
client = WebClient(token="xoxb-test", base_url=sys.argv[2])
start = datetime.fromisoformat(sys.argv[3])
sys.stdin.readline()  # both replicas start together
for minute in range(int(sys.argv[4])):
    at = start + timedelta(minutes=minute)
    for name in ("nudges", "stale", "digest", "deliver"):
        print(run_job(name, uow, at, client), flush=True)
"""


def _env(db_url: str, api_url: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SALESBOT_", "DATABASE_"))}
    env.update(DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-test", LOG_LEVEL="WARNING")
    if api_url:
        env["SLACK_API_URL"] = api_url
    return env


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with running_fake_slack() as f:
        yield f


def _posted_keys(fake: FakeSlack) -> list[str]:
    keys = []
    for call in fake.calls("chat.postMessage"):
        meta: Any = call.get("metadata") or {}
        keys.append(str((meta.get("event_payload") or {}).get("key")))
    return keys


def _deliver(at: datetime, db_url: str, api_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SALESBOT, "jobs", "run", "deliver", "--at", at.isoformat()], capture_output=True,
                          text=True, env=_env(db_url, api_url), cwd=cwd, timeout=120)


@pytest.mark.both_backends
def test_killed_between_writing_and_sending_then_restarted_sends_once(
    uow: UnitOfWork, ana: Actor, now: datetime, db_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    reminders.set_reminder(uow, ana, due_at=DUE, text="Call Jo back", now=now)
    child = subprocess.Popen([sys.executable, "-c", WRITE_THEN_PARK, db_url, DUE.isoformat(), fake.url],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(db_url),
                             cwd=tmp_path)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "nudges: 1 queued"
    assert child.stdout.readline().strip() == "written"
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    assert fake.calls("chat.postMessage") == []
    with uow.read() as s:
        [msg] = s.query(OutboxMessage).all()
    assert msg.status == OutboxStatus.PENDING  # the decision survived the kill
    restarted = _deliver(DUE + timedelta(seconds=30), db_url, fake.url, tmp_path)
    assert "1 sent" in restarted.stdout, restarted.stderr
    _deliver(DUE + timedelta(minutes=10), db_url, fake.url, tmp_path)
    assert _posted_keys(fake) == [msg.key]


class BlackHole:
    """A 'Slack' that reads the request and never answers (the send is in flight)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.got_request = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if conn.recv(65536):
                self.got_request.set()

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


def _wait_for_the_dead_senders_claims(uow: UnitOfWork, limit: float = 5.0) -> None:
    """Wait (on the wall clock: that is what a claim is) until the dead sender's lease and claims lapse."""
    with uow.read() as s:
        lease = s.get(Lease, "outbox-delivery")
        holds = [m.held_until for m in s.query(OutboxMessage) if m.held_until is not None]
    assert lease is not None
    until = max([lease.expires_at, *holds])
    delay = (until - datetime.now(UTC)).total_seconds()
    assert delay <= limit, f"claims held {delay:.1f}s ahead: longer than the sender's 2 s claim"
    if delay > 0:
        time.sleep(delay + 0.05)


@pytest.mark.both_backends
def test_killed_while_the_post_is_in_flight_then_restarted_sends_once(
    uow: UnitOfWork, ana: Actor, now: datetime, db_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    reminders.set_reminder(uow, ana, due_at=DUE, text="Call Jo back", now=now)
    queued = subprocess.run([SALESBOT, "jobs", "run", "nudges", "--at", DUE.isoformat()], capture_output=True,
                            text=True, env=_env(db_url), cwd=tmp_path, timeout=120)
    assert "1 queued" in queued.stdout, queued.stderr
    hole = BlackHole()
    try:
        child = subprocess.Popen([sys.executable, "-c", SHORT_CLAIM_SENDER, db_url, DUE.isoformat(), hole.url, "-"],
                                 env=_env(db_url), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert hole.got_request.wait(timeout=60), "the worker never tried to post"
        child.kill()
        child.wait(timeout=30)
    finally:
        hole.close()
    # Still held by the dead worker's lease and claim (wall clock), even for a run "as if" in
    # 2030: nobody sends it in parallel.
    from bot.jobs import run_job

    early = run_job("deliver", uow, datetime(2030, 1, 1, tzinfo=UTC), WebClient(token="xoxb-test", base_url=fake.url))
    assert early == "deliver: another worker is delivering"
    assert fake.calls("chat.postMessage") == []
    # The dead worker's claim and lease run out; a restarted worker looks, finds nothing, sends it once.
    _wait_for_the_dead_senders_claims(uow)
    late = _deliver(DUE + timedelta(minutes=1), db_url, fake.url, tmp_path)
    assert "1 sent," in late.stdout, late.stdout + late.stderr
    assert len(_posted_keys(fake)) == 1
    [history] = fake.calls("conversations.history")
    assert history["channel"] == "DANA" and history["include_all_metadata"] in ("1", "true", True)


@pytest.mark.both_backends
def test_killed_between_slacks_answer_and_the_mark_then_restarted_posts_nothing_twice(
    uow: UnitOfWork, ana: Actor, now: datetime, db_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    reminders.set_reminder(uow, ana, due_at=DUE, text="Call Jo back", now=now)
    queued = subprocess.run([SALESBOT, "jobs", "run", "nudges", "--at", DUE.isoformat()], capture_output=True,
                            text=True, env=_env(db_url), cwd=tmp_path, timeout=120)
    assert "1 queued" in queued.stdout, queued.stderr
    child = subprocess.Popen(
        [sys.executable, "-c", SHORT_CLAIM_SENDER, db_url, DUE.isoformat(), fake.url, "park-before-mark"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(db_url), cwd=tmp_path,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "answered"
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    [post] = fake.calls("chat.postMessage")  # Slack has it ...
    with uow.read() as s:
        [msg] = s.query(OutboxMessage).all()
    assert msg.status == OutboxStatus.PENDING and msg.claimed_at is not None  # ... the outbox does not know
    _wait_for_the_dead_senders_claims(uow)
    restarted = _deliver(DUE + timedelta(minutes=1), db_url, fake.url, tmp_path)
    assert restarted.returncode == 0, restarted.stderr
    assert "1 sent (1 found already posted)" in restarted.stdout, restarted.stdout + restarted.stderr
    again = _deliver(DUE + timedelta(minutes=10), db_url, fake.url, tmp_path)
    assert "0 sent" in again.stdout
    assert _posted_keys(fake) == [msg.key]  # one message in Slack
    [lookup] = fake.calls("conversations.history")
    assert lookup["channel"] == "DANA" and float(lookup["oldest"]) <= msg.claimed_at.timestamp()
    with uow.read() as s:
        [done] = s.query(OutboxMessage).all()
    [landed] = fake.history["DANA"]
    assert (done.status, done.slack_channel, done.slack_ts) == (OutboxStatus.SENT, "DANA", landed["ts"])
    assert post["channel"] == "UANA"


@pytest.mark.both_backends
def test_two_schedulers_on_the_same_database_post_each_message_once(
    uow: UnitOfWork, mia: Actor, now: datetime, db_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    start = datetime.fromisoformat("2026-11-30T08:58:00+00:00")  # Monday: digests at 09:00
    for i in range(20):
        rep = make_actor(uow, f"UREP{i:02d}", name=f"Rep {i}", role=Role.REP, team="East")
        create_deal(uow, rep, title=f"Old deal {i}", now=now - timedelta(days=30))  # stale by Monday
        reminders.set_reminder(uow, rep, due_at=start + timedelta(minutes=i % 4), text=f"Follow up {i}", now=now)
    replicas = [
        subprocess.Popen([sys.executable, "-c", TICKS, db_url, fake.url, start.isoformat(), "5"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=_env(db_url), cwd=tmp_path)
        for _ in range(2)
    ]
    for proc in replicas:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=300) for proc in replicas]
    for proc, (_out, err) in zip(replicas, outputs, strict=True):
        assert proc.returncode == 0, err
    final = _deliver(start + timedelta(minutes=30), db_url, fake.url, tmp_path)
    assert final.returncode == 0, final.stderr
    with uow.read() as s:
        rows = s.query(OutboxMessage).all()
    kinds = collections.Counter(r.kind for r in rows)
    assert kinds == {"nudge": 20, "morning": 20, "digest": 1}
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    keys = _posted_keys(fake)
    assert len(keys) == 41 and sorted(keys) == sorted(r.key for r in rows)  # each message once
    # Both replicas swept every minute; each message was decided and queued once.
    queued = [sum(int(line.split()[1]) for line in out.splitlines() if line.startswith("nudges:"))
              for out, _ in outputs]
    assert sum(queued) == 20, outputs
