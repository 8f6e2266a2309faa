"""`salesbot console` in-process: scripts of slash commands and console commands, on SQLite and
PostgreSQL, with every Python-level network connection refused (the console needs none).

The subprocess form (`printf ... | salesbot console`) is in tests/e2e/test_console_process.py.
"""

from __future__ import annotations

import io
import socket
from datetime import datetime
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select

from bot.config import Settings
from bot.console import ConsoleOptions, parse_now, parse_when, run_console
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
    opts = ConsoleOptions(
        user_id=options.pop("user_id", "UCON"),
        team_id=options.pop("team_id", "T1"),
        now=parse_now(options.pop("now", NOW_TEXT)),
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
