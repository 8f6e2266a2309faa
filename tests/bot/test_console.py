"""`salesbot console` in-process: scripts of slash commands and console commands, on SQLite and
PostgreSQL, with every Python-level network connection refused (the console needs none).

The subprocess form (`printf ... | salesbot console`) is in tests/e2e/test_console_process.py.
"""

from __future__ import annotations

import io
import logging
import re
import socket
from datetime import datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select

from bot.config import Settings
from bot.console import ConsoleOptions, parse_now, parse_when, read_now, run_console
from bot.console.render import mrkdwn_to_text, render_message, render_view
from core.db import UnitOfWork
from core.tables import Deal, DealStatus, Role, User

NOW_TEXT = "2026-11-23T14:00Z"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse Python socket connections (libpq, used for PostgreSQL, connects in C)."""

    def refuse(self: socket.socket, address: Any) -> None:
        raise AssertionError(f"the console tried to connect to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def console(db_url: str, script: str, **options: Any) -> tuple[int, str]:
    """Run a console script; return (exit code, output text)."""
    buffer = io.StringIO()
    out = Console(file=buffer, width=120, highlight=False, soft_wrap=True, color_system=None)
    now = options.pop("now", NOW_TEXT)
    opts = ConsoleOptions(
        user_id=options.pop("user_id", "UCON"),
        team_id=options.pop("team_id", "T1"),
        now=parse_now(now) if now is not None else None,
        **options,
    )
    code = run_console(Settings(database_url=db_url, scheduler=False), opts, io.StringIO(script), out)
    return code, buffer.getvalue()


def deals(uow: UnitOfWork) -> list[Deal]:
    with uow.read() as s:
        return list(s.scalars(select(Deal).order_by(Deal.id)))


def test_quick_create_and_list(db_url: str, uow: UnitOfWork, no_network: None) -> None:
    code, out = console(db_url, "/deal new Acme renewal 12k\n/deal list\n")
    assert code == 0, out
    assert "> /deal new Acme renewal 12k" in out
    assert "Acme renewal" in out and "$12,000.00" in out
    assert "(:click deal_show D-1)" in out  # buttons are shown with how to press them
    rows = deals(uow)
    assert [(d.title, d.amount_minor) for d in rows] == [("Acme renewal", 1_200_000)]


def test_click_a_button(db_url: str, uow: UnitOfWork, no_network: None) -> None:
    code, out = console(db_url, "/deal new Acme 12k\n:click deal_won D-1\n")
    assert code == 0, out
    assert deals(uow)[0].status == DealStatus.WON


def test_submit_the_new_deal_modal(db_url: str, uow: UnitOfWork, no_network: None) -> None:
    script = '/deal\n:submit title="Globex expansion" amount=30k stage=Qualified close=2026-12-15\n'
    code, out = console(db_url, script)
    assert code == 0, out
    assert "== New deal ==" in out and "-- modal closed --" in out
    [deal] = deals(uow)
    assert deal.title == "Globex expansion" and deal.amount_minor == 3_000_000
    assert str(deal.expected_close) == "2026-12-15"


def test_modal_errors_are_shown_and_nothing_saved(db_url: str, uow: UnitOfWork, no_network: None) -> None:
    code, out = console(db_url, "/deal\n:submit title=Initech amount=lots\n")
    assert code == 0, out  # a refused form is an answer, not a failure
    assert "the modal stays open" in out
    assert deals(uow) == []


def test_acting_user_gets_tz_and_admin_flag(db_url: str, uow: UnitOfWork, no_network: None) -> None:
    code, out = console(db_url, "/deal list\n", user_id="UADM", tz="Europe/Istanbul", admin=True, name="Ada")
    assert code == 0, out
    with uow.read() as s:
        user = s.scalar(select(User).where(User.slack_id == "UADM"))
    assert user is not None and (user.tz, user.role, user.name) == ("Europe/Istanbul", Role.ADMIN, "Ada")


def test_bad_input_sets_exit_code_two(db_url: str, no_network: None) -> None:
    code, out = console(db_url, "hello\n:nope\n:click nothing_here\n")
    assert code == 2
    assert "type a slash command" in out and "unknown console command :nope" in out
    assert "no button 'nothing_here' on screen" in out


def test_help_and_quit(db_url: str, no_network: None) -> None:
    code, out = console(db_url, ":help\n:quit\n/deal new Never 1k\n")
    assert code == 0
    assert ":tick <when>" in out and "Never" not in out.split(":quit", 1)[1]


def test_home_shows_the_app_home(db_url: str, no_network: None) -> None:
    code, out = console(db_url, "/deal new Acme 12k\n:home\n")
    assert code == 0, out
    assert "== App Home ==" in out


def test_tick_runs_jobs_and_delivers_to_the_screen(db_url: str, no_network: None) -> None:
    pytest.importorskip("bot.jobs", reason="the scheduled jobs module (bot/jobs.py) is not installed")
    script = "/deal new Acme 12k\n/deal remind D-1 tomorrow 10am call back\n:tick 2026-11-24T10:01Z\n"
    _code, out = console(db_url, script)  # 1 while another job (e.g. digest) is unfinished
    assert "-- nudges at 2026-11-24T10:01:00+00:00" in out
    assert "-- DM UCON --" in out and "call back" in out.split(":tick", 1)[1]


def test_parse_when_forms() -> None:
    now = datetime.fromisoformat("2026-11-23T14:00+00:00")
    assert parse_when("+2h", now, "UTC").isoformat() == "2026-11-23T16:00:00+00:00"
    assert parse_when("+1d", now, "UTC").isoformat() == "2026-11-24T14:00:00+00:00"
    assert parse_when("2026-11-30T09:00Z", now, "UTC").isoformat() == "2026-11-30T09:00:00+00:00"
    assert parse_now("2026-11-30T09:00").tzinfo is not None
    with pytest.raises(ValueError):
        parse_now("next tuesday-ish")


def test_render_mrkdwn_and_controls() -> None:
    assert mrkdwn_to_text("*D-1* for <@U1|ana> in <#C1|sales>: <https://x.io|site>") == (
        "D-1 for @ana in #sales: site (https://x.io)"
    )
    assert mrkdwn_to_text("deal_show stays, _italic_ goes") == "deal_show stays, italic goes"
    rendered = render_message(
        {
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "Pipeline"}},
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "*Acme*"},
                    "accessory": {
                        "type": "overflow",
                        "action_id": "more",
                        "options": [{"text": {"type": "plain_text", "text": "Edit"}, "value": "edit"}],
                    },
                },
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Won"},
                            "action_id": "w",
                            "value": "7",
                        }
                    ],
                },
            ]
        }
    )
    assert rendered.lines[0] == "PIPELINE" and "Acme" in rendered.lines[1]
    assert "[Won]  (:click w 7)" in rendered.lines
    assert [c.action_id for c in rendered.controls] == ["more", "w"]


def test_render_view_lists_fields() -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Lost"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {"type": "plain_text_input", "action_id": "v"},
            }
        ],
    }
    rendered = render_view(view)
    assert rendered.lines[0] == "== Lost =="
    assert [(f.block_id, f.action_id, f.optional) for f in rendered.fields] == [("reason", "v", False)]


def test_a_failing_listener_gives_exit_code_one(db_url: str, uow: UnitOfWork, no_network: None) -> None:
    from bot.console import ConsoleSession

    buffer = io.StringIO()
    out = Console(file=buffer, width=120, color_system=None)
    session = ConsoleSession(Settings(database_url=db_url), ConsoleOptions(now=parse_now(NOW_TEXT)), out, uow)

    @session.app.command("/boom")
    def boom(ack: Any) -> None:
        ack()
        raise RuntimeError("listener broke")

    session.introduce()
    session.handle("/boom")
    assert session.exit_code() == 1
    assert "error: RuntimeError: listener broke" in buffer.getvalue()
    session.handle("/nothing-listens-here")
    assert "No handler for /nothing-listens-here" in buffer.getvalue()


# --- the demo, --as, --now and modals opened from buttons (issue 9 point 5, issue 11 point 8) ---


def test_the_demo_starts_as_its_manager_on_a_monday_inside_the_data(db_url: str, no_network: None) -> None:
    script = "/pipeline\n/pipeline forecast\n/pipeline digest\n:home\n"
    code, out = console(db_url, script, demo=True, now=None, team_id="TDEMO", user_id="U0CONSOLE")
    assert code == 0, out
    first_screen = out.split("> /pipeline", 1)[0]
    assert "Demo organisation loaded: 8800 deals created" in first_screen
    assert "You are Dustin Brinkmann (manager of team Dustin Brinkmann), Slack id UDUSTINBRINKMANN." in first_screen
    assert '--as "Darcel Schlecht" (a rep)' in first_screen
    assert "The clock is at Monday 2017-09-25 13:00 UTC: a Monday inside the demo data" in first_screen
    _, pipeline, forecast, digest, home = re.split(r"^> ", out, flags=re.MULTILINE)
    # The team's Maven figures at once: open deals, a quarter forecast, the week's digest, the Home.
    assert "TEAM DUSTIN BRINKMANN" in pipeline.upper() and re.search(r"[1-9]\d* open deals", pipeline)
    assert "2017-Q3" in forecast and re.search(r"\$[1-9][\d,]*\.\d\d", forecast)
    # The digest of Monday 25 September covers the week before it (SPEC section 9).
    assert "week of Mon 18 Sep – Sun 24 Sep 2017" in digest and re.search(r"won [1-9]", digest)
    assert "App Home of UDUSTINBRINKMANN" in home and "TEAM DUSTIN BRINKMANN" in home.upper()
    assert re.search(r"[1-9]\d* open deals", home.upper().split("TEAM DUSTIN BRINKMANN", 1)[1].lower())


def test_as_takes_a_demo_name_or_its_id_and_refuses_an_unknown_name(db_url: str, no_network: None) -> None:
    code, out = console(db_url, "/deal list\n", demo=True, now=None, team_id="TDEMO", who="Darcel Schlecht")
    assert code == 0, out
    assert "You are Darcel Schlecht (rep of team Melvin Marxen), Slack id UDARCELSCHLECHT." in out
    assert "You are Dustin" not in out and '--as "Dustin Brinkmann"' not in out
    code, out = console(db_url, "", demo=True, now=None, team_id="TDEMO", who="UDARCELSCHLECHT")
    assert code == 0 and "You are Darcel Schlecht" in out
    code, out = console(db_url, "/deal list\n", demo=True, now=None, team_id="TDEMO", who="Nobody Here")
    assert code == 2
    assert "--as 'Nobody Here': nobody of that name here" in out and "Dustin Brinkmann" in out
    assert "> /deal list" not in out  # nothing ran


def test_a_modal_opened_from_a_button_answers_in_the_console(
    db_url: str, uow: UnitOfWork, no_network: None, caplog: pytest.LogCaptureFixture
) -> None:
    script = '/deal new A 1k\n/deal new B 2k\n/deal new C 3k\n:click deal_lost D-3\n:submit reason="no budget"\n'
    code, out = console(db_url, script)
    assert code == 0, out
    after_submit = out.split('> :submit reason="no budget"', 1)[1]
    assert "-- only you see, replaces the message --" in after_submit
    assert "D-3" in after_submit and "lost" in after_submit.lower()
    assert after_submit.index("replaces the message") < after_submit.index("-- modal closed --")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    lost = deals(uow)[2]
    assert (lost.status, lost.lost_reason) == (DealStatus.LOST, "no budget")


@pytest.mark.parametrize(
    ("text", "utc", "zone", "given", "note"),
    [
        ("2017-09-25T13:00+03:00", "2017-09-25T10:00", "UTC+03:00", True, "given in UTC+03:00 (13:00 there)"),
        ("2017-09-25 13:00 Europe/Istanbul", "2017-09-25T10:00", "Europe/Istanbul", True, "(13:00 there)"),
        ("2017-09-25T13:00-05:30", "2017-09-25T18:30", "UTC-05:30", True, "UTC-05:30"),
        ("2017-09-25T13:00Z", "2017-09-25T13:00", "UTC", True, "given in UTC"),
        ("2017-09-25 13:00 UTC", "2017-09-25T13:00", "UTC", True, "given in UTC"),
        ("2017-09-25T13:00", "2017-09-25T13:00", "UTC", False, "named no zone, so it was read as UTC"),
        ("2017-03-26 02:30 Europe/Berlin", "2017-03-26T01:30", "Europe/Berlin", True, "02:30 there"),
    ],
)
def test_now_takes_an_offset_or_a_zone_name_and_says_which(
    text: str, utc: str, zone: str, given: bool, note: str
) -> None:
    read = read_now(text)
    assert read.at.tzinfo is not None and read.at.utcoffset() == timedelta(0)
    assert read.at.strftime("%Y-%m-%dT%H:%M") == utc
    assert (read.zone, read.zone_given) == (zone, given)
    assert note in read.note()


@pytest.mark.parametrize(
    ("text", "says"),
    [("2017-09-25 13:00 Mars/Olympus", "not a time zone name"), ("2017-09-25T13:00+03:00 Europe/Istanbul", "not both"),
     ("someday", "someday"), ("2017-13-01", "month")],
)
def test_a_bad_now_is_refused_with_the_reason(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        read_now(text)


def test_the_first_screen_says_which_zone_the_clock_was_read_in(db_url: str, no_network: None) -> None:
    read = read_now("2017-09-25 13:00 Europe/Istanbul")
    buffer = io.StringIO()
    opts = ConsoleOptions(user_id="U1", team_id="T1", now=read.at, now_note=read.note())
    code = run_console(Settings(database_url=db_url, scheduler=False), opts, io.StringIO(""),
                       Console(file=buffer, width=200, color_system=None))
    assert code == 0
    assert "The clock is at Monday 2017-09-25 10:00 UTC: --now was given in Europe/Istanbul (13:00 there)." in (
        buffer.getvalue()
    )


def test_a_turkish_slack_user_is_answered_in_turkish(db_url: str, uow: UnitOfWork, no_network: None) -> None:
    code, out = console(db_url, "/deal yeni Karadeniz yenileme 12 bin\n/deal liste\n", locale="tr-TR")
    assert code == 0, out
    assert "Karadeniz yenileme" in out and "$12.000,00" in out and "[Göster]" in out
    code, out = console(db_url, "/deal list\n", locale="de-DE", user_id="UDE")  # not spoken: the workspace's
    assert code == 0 and "Your open deals" in out
