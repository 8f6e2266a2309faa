"""`salesbot jobs list` and `salesbot jobs run NAME --at ISO` as installed, against a fake Slack."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.db import UnitOfWork
from core.deals.deals import create_deal
from core.notify import reminders
from core.tables import OutboxMessage, OutboxStatus
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack, running_fake_slack

SALESBOT = str(Path(sys.executable).with_name("salesbot"))


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with running_fake_slack() as f:
        yield f


def salesbot(*args: str, db_url: str, api_url: str = "", cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SALESBOT_", "DATABASE_"))}
    environ.update(DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-test", **env)
    if api_url:
        environ["SLACK_API_URL"] = api_url
    return subprocess.run([SALESBOT, *args], capture_output=True, text=True, env=environ, cwd=cwd, timeout=120)


def test_jobs_list_names_every_job_with_its_next_run(db_url: str, tmp_path: Path) -> None:
    done = salesbot("jobs", "list", db_url=db_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines()]
    assert names == ["nudges", "stale", "slipped", "digest", "route-leads", "discounts", "train-leads", "cards",
                     "deliver"]
    assert "next 20" in done.stdout


@pytest.mark.both_backends
def test_nudges_then_deliver_as_if_at_a_given_time(
    uow: UnitOfWork, ana: Actor, now: datetime, db_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    reminders.set_reminder(uow, ana, due_at=now + timedelta(hours=2), text="Send the quote", now=now)
    early = salesbot("jobs", "run", "nudges", "--at", "2026-11-23T15:59:00Z", db_url=db_url, cwd=tmp_path)
    assert (early.returncode, early.stdout.strip()) == (0, "nudges: 0 queued")
    due = salesbot("jobs", "run", "nudges", "--at", "2026-11-23T16:00:00+00:00", db_url=db_url, cwd=tmp_path)
    assert (due.returncode, due.stdout.strip()) == (0, "nudges: 1 queued"), due.stderr
    sent = salesbot("jobs", "run", "deliver", "--at", "2026-11-23T16:00:05Z", db_url=db_url, api_url=fake.url,
                    cwd=tmp_path)
    assert sent.returncode == 0 and "1 sent" in sent.stdout, sent.stderr
    again = salesbot("jobs", "run", "deliver", "--at", "2026-11-23T16:01:00Z", db_url=db_url, api_url=fake.url,
                     cwd=tmp_path)
    assert "0 sent" in again.stdout
    [post] = fake.calls("chat.postMessage")
    assert post["channel"] == "UANA" and "Send the quote" in post["text"]


def test_train_leads_job_says_when_a_workspace_needs_more_history(
    ana: Actor, db_url: str, tmp_path: Path
) -> None:
    done = salesbot("jobs", "run", "train-leads", "--at", "2026-11-24T03:00:00Z", db_url=db_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("train-leads: 0 of 1 workspace model(s) retrained (") and "more" in done.stdout


def test_stale_and_digest_jobs_from_the_command_line(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime, db_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    create_deal(uow, ana, title="Forgotten", now=now - timedelta(days=30))
    stale = salesbot("jobs", "run", "stale", "--at", "2026-11-24T09:00:00Z", db_url=db_url, cwd=tmp_path)
    assert "morning: 1 message(s) queued (1 stale, 0 slipped deals)" in stale.stdout, stale.stderr
    slipped = salesbot("jobs", "run", "slipped", "--at", "2026-11-24T10:00:00Z", db_url=db_url, cwd=tmp_path)
    assert "morning: 0 message(s)" in slipped.stdout  # the same morning message: already queued
    digest = salesbot("jobs", "run", "digest", "--at", "2026-11-30T09:00:00Z", db_url=db_url, cwd=tmp_path)
    assert "digest: 1 digest message(s) queued" in digest.stdout, digest.stderr
    sent = salesbot("jobs", "run", "deliver", "--at", "2026-11-30T09:00:10Z", db_url=db_url, api_url=fake.url,
                    cwd=tmp_path)
    assert "2 sent" in sent.stdout, sent.stdout + sent.stderr
    assert sorted(c["channel"] for c in fake.calls("chat.postMessage")) == ["UANA", "UMIA"]
    assert len(fake.calls("files.completeUploadExternal")) == 1  # the digest chart
    with uow.read() as s:
        assert {m.status for m in s.query(OutboxMessage)} == {OutboxStatus.SENT}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("jobs", "run", "coffee"), "unknown job 'coffee'"),
        (("jobs", "run", "nudges", "--at", "next tuesday"), "not an ISO-8601 time"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_line(args: tuple[str, ...], message: str, db_url: str, tmp_path: Path) -> None:
    done = salesbot(*args, db_url=db_url, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr


def test_scheduler_off_starts_nothing(uow: UnitOfWork) -> None:
    from bot.config import load_settings
    from bot.scheduler import start_scheduler

    settings = load_settings({"SALESBOT_SCHEDULER": "off"}, read_dotenv=False)
    assert start_scheduler(settings, uow, None) is None


def test_failed_messages_are_listed_for_admins(
    uow: UnitOfWork, ana: Actor, now: datetime, db_url: str, tmp_path: Path
) -> None:
    from core.notify import outbox

    with uow.transaction() as s:
        outbox.enqueue(s, ana.workspace_id, "digest:t9:2026-11-23:channel", "digest", "CGONE", {"text": "x"}, now)
        [item] = outbox.claim(s, now)
        outbox.mark_failed(s, item.id, now, "channel_not_found")
    done = salesbot("jobs", "failed", db_url=db_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "channel_not_found" in done.stdout and "CGONE" in done.stdout and "digest" in done.stdout
    empty = salesbot("jobs", "failed", "--team", "TOTHER", db_url=db_url, cwd=tmp_path)
    assert empty.stdout.strip() == "No failed messages."


@pytest.mark.both_backends
def test_one_scheduler_leads_the_sweeps_and_hands_over_on_shutdown(uow: UnitOfWork, now: datetime) -> None:
    from bot.scheduler import Scheduler

    first = Scheduler(uow, None, clock=lambda: now)
    second = Scheduler(uow, None, clock=lambda: now)
    assert sorted(job.id for job in first.aps.get_jobs()) == [
        "cards", "deliver", "digest", "discounts", "nudges", "route-leads", "stale", "train-leads"]
    assert all(str(job.trigger.timezone) == "UTC" for job in first.aps.get_jobs())
    assert first.run("nudges") == "nudges: 0 queued"
    assert second.run("nudges") is None  # not the leader: skips the sweep
    first.start()
    first.shutdown()  # stops APScheduler and releases the lease
    assert second.run("nudges") == "nudges: 0 queued"


def test_a_future_or_past_at_never_holds_delivery_beyond_the_wall_clock(
    uow: UnitOfWork, ana: Actor, now: datetime, db_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    from datetime import UTC

    from core.notify import outbox
    from core.tables import Lease

    def queue(key: str) -> None:
        with uow.transaction() as s:
            outbox.enqueue(s, ana.workspace_id, key, "test", "UANA", {"text": key}, datetime.now(UTC))

    def bounded() -> None:
        real = datetime.now(UTC)
        with uow.read() as s:
            leases = s.query(Lease).all()
            holds = [m.held_until for m in s.query(OutboxMessage) if m.held_until is not None]
        assert all(lease.expires_at <= real + timedelta(seconds=20) for lease in leases)
        assert all(until <= real + timedelta(seconds=20) for until in holds)

    queue("first")
    future = salesbot("jobs", "run", "deliver", "--at", "2030-01-01T00:00:00Z", db_url=db_url, api_url=fake.url,
                      cwd=tmp_path)
    assert future.returncode == 0 and "1 sent" in future.stdout, future.stdout + future.stderr
    bounded()
    queue("second")
    past = salesbot("jobs", "run", "deliver", "--at", "2020-01-01T00:00:00Z", db_url=db_url, api_url=fake.url,
                    cwd=tmp_path)
    assert past.returncode == 0 and past.stdout.startswith("deliver: 0 sent"), past.stdout  # not due in 2020
    bounded()
    # A retry timer set by a run "as if" in 2030 is a wall-clock time too: seconds, not years.
    fake.fail_next("chat.postMessage", 1, status=500)
    queue("third")
    retry = salesbot("jobs", "run", "deliver", "--at", "2030-01-01T00:00:00Z", db_url=db_url, api_url=fake.url,
                     cwd=tmp_path)
    # "second", held back by the 2020 run, is due by 2030 and goes first: it meets the 500; "third" is sent.
    assert retry.stdout.startswith("deliver: 1 sent, 0 failed, 1 to retry"), retry.stdout + retry.stderr
    bounded()
    with uow.read() as s:
        [until] = [m.held_until for m in s.query(OutboxMessage) if m.held_until]
    wait = (until - datetime.now(UTC)).total_seconds()
    if wait > 0:  # the first backoff is 1-2 s of real time
        import time

        time.sleep(wait + 0.05)
    real = salesbot("jobs", "run", "deliver", db_url=db_url, api_url=fake.url, cwd=tmp_path)
    assert real.returncode == 0 and real.stdout.startswith("deliver: 1 sent"), real.stdout + real.stderr
    texts = [c["text"] for c in fake.calls("chat.postMessage")]
    assert sorted(texts) == ["first", "second", "second", "third"]  # the 500 refused "second", then once more
    with uow.read() as s:
        assert {m.status for m in s.query(OutboxMessage)} == {OutboxStatus.SENT}


def test_deliver_without_slack_credentials_exits_2_naming_the_token(db_url: str, tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SALESBOT_", "DATABASE_"))}
    environ["DATABASE_URL"] = db_url
    done = subprocess.run([SALESBOT, "jobs", "run", "deliver"], capture_output=True, text=True, env=environ,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("salesbot: SLACK_BOT_TOKEN")
