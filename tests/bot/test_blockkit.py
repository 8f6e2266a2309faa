"""The Block Kit validator other tests rely on (tests/bot/blockkit.py): it accepts real views and
messages, and catches both schema errors and the limits the schema does not carry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.bot.blockkit import assert_valid_message, assert_valid_view, message_problems, view_problems
from tests.conftest import SLACK_SPECS

VIEWS = SLACK_SPECS / "python-slack-sdk-views"
# Server-side fields (id, hash, state, ...) are not part of what an app sends; Slack echoes the
# modal-only flags on home views too.
SERVER_FIELDS = (
    "id",
    "team_id",
    "state",
    "hash",
    "previous_view_id",
    "root_view_id",
    "app_id",
    "app_installed_team_id",
    "bot_id",
    "clear_on_close",
    "notify_on_close",
)


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(label: str, action_id: str = "a", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id, **extra}


@pytest.mark.parametrize("path", sorted(VIEWS.glob("view_*.json")), ids=lambda p: p.name)
def test_slack_sdk_example_views_are_valid(path: Any) -> None:
    view = json.loads(path.read_text())
    modal_only = ("notify_on_close", "clear_on_close")
    for key in SERVER_FIELDS:
        if key not in modal_only or view.get("type") == "home":
            view.pop(key, None)
    assert_valid_view(view)


def test_a_good_message() -> None:
    assert_valid_message(
        {
            "text": "fallback",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "Pipeline"}},
                section("*D-1* Acme", accessory=button("Show", "show", value="D-1")),
                {"type": "divider"},
                {"type": "actions", "elements": [button("Won", "won", style="primary"), button("Lost", "lost")]},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "updated now"}]},
            ],
        }
    )


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([section("x" * 3001)], "section text is 3001 chars"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "header"),
        ([section("x", accessory=button("b" * 76))], "button text is 76 chars"),
        ([section("x")] * 51, "51 blocks, limit 50"),
        ([section("x", block_id="same"), section("y", block_id="same")], "duplicate block_id"),
        ([{"type": "actions", "elements": [button("A", "dup"), button("B", "dup")]}], "duplicate action_id"),
        ([section("x", accessory=button("ok", "a" * 256))], "action_id is 256 chars"),
        ([{"type": "sectionx"}], "unknown block type"),
        ([{"type": "section", "text": {"type": "markdown", "text": "x"}}], "blocks[0]"),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "static_select",
                            "action_id": "s",
                            "options": [
                                {"text": {"type": "plain_text", "text": str(i)}, "value": str(i)} for i in range(101)
                            ],
                        }
                    ],
                }
            ],
            "101 options, limit 100",
        ),
    ],
)
def test_bad_messages_are_caught(blocks: list[dict[str, Any]], expected: str) -> None:
    problems = message_problems({"text": "t", "blocks": blocks})
    assert any(expected in p for p in problems), problems
    with pytest.raises(AssertionError):
        assert_valid_message({"text": "t", "blocks": blocks})


def test_empty_message_is_caught() -> None:
    assert message_problems({}) == ["message: neither text nor blocks"]


def modal(**extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "New deal"},
        "submit": {"type": "plain_text", "text": "Create"},
        "callback_id": "deal_new",
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "v"},
            }
        ],
        **extra,
    }


def test_modal_limits() -> None:
    assert_valid_view(modal())
    assert any(
        "title text is 25 chars" in p for p in view_problems(modal(title={"type": "plain_text", "text": "t" * 25}))
    )
    assert any("private_metadata" in p for p in view_problems(modal(private_metadata="m" * 3001)))
    no_submit = modal()
    del no_submit["submit"]
    assert any("needs a submit" in p for p in view_problems(no_submit))
    too_many = modal(blocks=[section(str(i)) for i in range(101)])
    assert any("101 blocks, limit 100" in p for p in view_problems(too_many))
    assert view_problems({"type": "dialog"}) == ["view.type: 'dialog' is neither modal nor home"]
