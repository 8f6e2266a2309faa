"""The language a listener builds its texts in is the acting user's (issue 13.2): set by the
middleware for the whole request, including the listener Bolt runs after the middleware."""
from __future__ import annotations

from slack_bolt import Ack, App

from core.i18n import current_locale
from tests.bot.fake_slack import FakeSlack
from tests.bot.signing import send_command


def test_a_listener_runs_in_the_language_of_the_user_who_acted(app: App, fake_slack: FakeSlack) -> None:
    seen: list[str] = []

    @app.command("/probe")
    def probe(ack: Ack) -> None:
        seen.append(current_locale())
        ack()

    fake_slack.add_user("UTRK", "Ayşe", tz="Europe/Istanbul", locale="tr-TR")
    fake_slack.add_user("UENG", "Emma", tz="Europe/London", locale="en-GB")
    fake_slack.add_user("UDEU", "Dieter", tz="Europe/Berlin", locale="de-DE")
    for user in ("UTRK", "UENG", "UTRK", "UDEU"):
        assert send_command(app, "/probe", "", user_id=user).status == 200
    assert seen == ["tr", "en", "tr", "en"]  # German is not supported: the workspace's English
