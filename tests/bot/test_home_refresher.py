"""HomeRefresher: App Homes republished after a change, once per user per burst, off the answer's path."""
from __future__ import annotations

import copy
import json
import threading
from datetime import datetime

import pytest

from bot.app import create_app
from bot.config import Settings
from bot.context import home_refresher
from bot.home import HomeRefresher
from core.db import UnitOfWork
from tests.bot.fake_slack import FakeSlack
from tests.bot.signing import send_command
from tests.conftest import make_actor


def test_a_burst_of_changes_publishes_each_users_home_once_with_the_latest_state() -> None:
    homes = HomeRefresher(delay=3600)  # never due by itself: flush() decides when
    published: list[str] = []
    for label in ("ana-1", "ana-2", "ana-3"):
        homes.later((1, "UANA"), lambda label=label: published.append(label))  # type: ignore[misc]
    homes.later((1, "UBOB"), lambda: published.append("bob-1"))
    homes.later((2, "UANA"), lambda: published.append("other-workspace-ana"))
    assert published == [] and homes.waiting() == 3, "nothing is published on the request's thread"
    homes.flush()
    assert sorted(published) == ["ana-3", "bob-1", "other-workspace-ana"]
    assert homes.waiting() == 0


def test_without_a_delay_it_publishes_at_once_and_a_failure_is_only_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    homes = HomeRefresher(delay=0)
    published: list[str] = []
    homes.later((1, "UANA"), lambda: published.append("ana"))
    assert published == ["ana"]

    def broken() -> None:
        raise RuntimeError("slack down")

    homes.later((1, "UBOB"), broken)
    assert "could not refresh the App Home of UBOB" in caplog.text


def test_a_due_home_is_published_by_the_refresher_thread() -> None:
    homes = HomeRefresher(delay=0.01)
    done = threading.Event()
    homes.later((1, "UANA"), done.set)
    assert done.wait(5)
    assert homes.waiting() == 0


def test_bolt_copying_the_context_shares_the_refresher() -> None:
    homes = HomeRefresher(delay=1)
    assert copy.deepcopy({"homes": homes})["homes"] is homes


def test_in_production_mode_changes_answer_first_and_the_home_follows_once(
        slack_settings: Settings, uow: UnitOfWork, fake_slack: FakeSlack, now: datetime) -> None:
    make_actor(uow, "UANA", name="Ana", team="East")
    bolt = create_app(slack_settings, uow, clock=lambda: now)  # listeners run after the ack
    bolt.salesbot_test_fake = fake_slack  # type: ignore[attr-defined]  # answers go to its response_url
    homes = home_refresher(bolt)
    homes.delay = 3600  # the burst is still open when we look
    for text in ("new Acme renewal 12k", "new Globex 5k", "note D-1 budget approved"):
        assert send_command(bolt, "/deal", text, user_id="UANA").status == 200
    answers = fake_slack.wait_for("response_url", count=3)
    assert all("error" not in a.body.get("text", "").lower() for a in answers)
    assert fake_slack.calls("views.publish") == [] and homes.waiting() == 1
    homes.flush()
    published = fake_slack.calls("views.publish")
    assert [c["user_id"] for c in published] == ["UANA"]
    shown = json.dumps(published[0]["view"])
    assert "Acme renewal" in shown and "Globex" in shown, "the one publish shows the whole burst"


def test_a_users_home_is_published_at_most_once_per_min_interval() -> None:
    clock = [100.0]
    homes = HomeRefresher(delay=0.5, min_interval=3.0, clock=lambda: clock[0])
    assert homes.due_time((1, "UANA")) == 100.5, "a first change waits only the delay"
    homes._last[(1, "UANA")] = 100.5  # published then
    clock[0] = 101.0
    assert homes.due_time((1, "UANA")) == 103.5, "the next one waits for the interval"
    assert homes.due_time((1, "UBOB")) == 101.5, "other users are not held back"
    clock[0] = 110.0
    assert homes.due_time((1, "UANA")) == 110.5


def test_the_refresher_thread_records_each_publish_and_spaces_the_next() -> None:
    homes = HomeRefresher(delay=0.0001, min_interval=3600)
    first = threading.Event()
    homes.later((1, "UANA"), first.set)
    assert first.wait(5)
    homes.later((1, "UANA"), lambda: None)
    assert homes.waiting() == 1 and homes._due[0][0] >= homes._last[(1, "UANA")] + 3600
    homes.flush()
    assert homes.waiting() == 0
