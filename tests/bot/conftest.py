"""Fixtures for driving the Bolt app through signed requests against a fake Slack.

- `fake_slack`: a FakeSlack (tests/bot/fake_slack.py) on 127.0.0.1, recording every Web API
  call: `fake_slack.calls("chat.postEphemeral")`, `fake_slack.wait_for("views.publish")`,
  `fake_slack.add_user("UANA", "Ana", tz="Europe/Istanbul", is_admin=False)` (users.info),
  `fake_slack.fail_next("chat.postMessage", 2, status=429)`.
  Users the fake does not know answer `user_not_found`, so actors made with `make_actor`
  (tests/conftest.py) keep the time zone and role the test gave them.
- `slack_settings`: Settings with bot token xoxb-test, signing secret, slack_api_url = the fake.
- `app`: create_app(slack_settings, uow, clock=lambda: now, process_before_response=True), so
  `app.dispatch` returns only when the listener (and its respond()/API calls) is done.
  Response URLs point at the fake (`fake_slack.calls("response_url")`).
- Request helpers live in tests/bot/signing.py: send_command(app, "/deal", "new Acme 12k",
  user_id="UANA", team_id="T1"), send_action(app, block_actions_payload(...)),
  send_view_submission(app, view_submission_payload(...)), send_event(app, app_home_opened()).
- Block Kit checks: tests/bot/blockkit.py assert_valid_message / assert_valid_view.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from slack_bolt import App

from bot.app import create_app
from bot.config import Settings
from core.db import UnitOfWork
from tests.bot.fake_slack import FakeSlack, running_fake_slack
from tests.bot.signing import BOT_TOKEN, SIGNING_SECRET


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack Web API on loopback, recording calls."""
    with running_fake_slack() as fake:
        yield fake


@pytest.fixture
def slack_settings(fake_slack: FakeSlack, db_url: str) -> Settings:
    """Settings that point the bot at the fake Slack and the test database."""
    return Settings(
        database_url=db_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        scheduler=False,
    )


@pytest.fixture
def app(slack_settings: Settings, uow: UnitOfWork, now: datetime, fake_slack: FakeSlack) -> App:
    """The real Bolt app (every listener module present) with a fixed clock."""
    bolt_app = create_app(slack_settings, uow, clock=lambda: now, process_before_response=True)
    bolt_app.salesbot_test_fake = fake_slack  # type: ignore[attr-defined]  # response_url default
    return bolt_app
