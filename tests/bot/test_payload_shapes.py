"""The payloads the tests sign (tests/bot/signing.py) and the console sends (bot/console/) use
Slack's key names, at Slack's nesting.

Checked against java-slack-sdk's samples (tests/slack_specs/java-slack-sdk-json-logs/samples/):
every key we send must exist in the sample at the same place, wherever the sample has that
object. The samples merge every key ever seen and blank the values, so only names and nesting
are compared, not values. Three places hold keys that are not names but data, and are checked
otherwise: `blocks` (Block Kit, checked by tests/bot/blockkit.py against the Block Kit schema),
a view's `state.values` (block ids, then action ids; the element states inside are checked
against the sample's action keys, which are the same names), and `private_metadata` (ours).
A `view` is compared with the union of the sample payload's view and the views.open sample's
view: Slack sends one view object, and the payload samples leave out its `blocks`.

Message shortcuts (tests/bot/shortcut_payloads.py) are checked against MessageShortcutPayload.json.
The samples have no global shortcut, block_suggestion or function_executed payload: those follow
Slack's documentation pages and are checked by the listeners that read them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from rich.console import Console

from bot.config import Settings
from bot.console import ConsoleOptions, ConsoleSession, parse_now
from core.db import UnitOfWork
from tests.bot.signing import block_actions_payload, command_body, view_submission_payload
from tests.conftest import SLACK_SPECS

SAMPLES = SLACK_SPECS / "java-slack-sdk-json-logs" / "samples"
APP_BACKEND = SAMPLES / "app-backend"


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _union(*shapes: dict[str, Any]) -> dict[str, Any]:
    """One shape with the keys of all: nested objects merged key by key."""
    merged: dict[str, Any] = {}
    for shape in shapes:
        for key, value in shape.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = _union(merged[key], value)
            else:
                merged.setdefault(key, value)
    return merged


SLASH_COMMAND = _load(APP_BACKEND / "slash-commands" / "SlashCommandPayload.json")
BLOCK_ACTIONS = _load(APP_BACKEND / "interactive-components" / "BlockActionPayload.json")
VIEW_SUBMISSION = _load(APP_BACKEND / "views" / "ViewSubmissionPayload.json")
VIEW_CLOSED = _load(APP_BACKEND / "views" / "ViewClosedPayload.json")
VIEW = _union(VIEW_SUBMISSION["view"], _load(SAMPLES / "api" / "views.open.json")["view"])
ACTION = BLOCK_ACTIONS["actions"][0]
# Where keys are data, not names (see the module docstring).
OPAQUE = ("blocks", "private_metadata")


def unknown_keys(ours: Any, sample: Any, path: str = "") -> list[str]:
    """The paths of keys in `ours` that `sample` lacks (recursively), and of objects or lists
    where the sample has something else."""
    if isinstance(sample, dict) and not isinstance(ours, dict):
        return [f"{path or '.'} is {type(ours).__name__}, Slack's is an object"]
    if isinstance(sample, list) and not isinstance(ours, list):
        return [f"{path or '.'} is {type(ours).__name__}, Slack's is a list"]
    found: list[str] = []
    if isinstance(ours, dict) and isinstance(sample, dict):
        for key, value in ours.items():
            where = f"{path}.{key}" if path else key
            if key == "view" and isinstance(value, dict):
                found += _view_keys(value, where)
            elif key not in sample:
                found.append(where)
            elif key not in OPAQUE:
                found += unknown_keys(value, sample[key], where)
    elif isinstance(ours, list) and isinstance(sample, list) and sample:
        item_shape = _union(*[s for s in sample if isinstance(s, dict)]) if isinstance(sample[0], dict) else sample[0]
        for i, item in enumerate(ours):
            found += unknown_keys(item, item_shape, f"{path}[{i}]")
    return found


def _view_keys(view: dict[str, Any], path: str) -> list[str]:
    shape = {k: v for k, v in VIEW.items() if k != "state"}
    found = unknown_keys({k: v for k, v in view.items() if k != "state"}, shape, path)
    state = view.get("state")
    if state is None:
        return found
    if not isinstance(state, dict) or set(state) - {"values"}:
        return [*found, f"{path}.state has keys {sorted(state) if isinstance(state, dict) else state}"]
    for block_id, elements in state.get("values", {}).items():
        for action_id, element in elements.items():
            found += unknown_keys(element, ACTION, f"{path}.state.values.{block_id}.{action_id}")
    return found


# --- tests/bot/signing.py ------------------------------------------------------------------


def test_message_shortcuts_have_slacks_keys() -> None:
    from tests.bot.shortcut_payloads import message_shortcut

    sample = _load(APP_BACKEND / "interactive-components" / "MessageShortcutPayload.json")
    payload = message_shortcut("deal_from_message", {"user": "U1", "text": "hi", "thread_ts": "1.2"},
                               response_url="https://hooks.slack.com/x")
    assert unknown_keys(payload, sample) == []


def test_the_slash_command_form_has_slacks_fields() -> None:
    fields = dict(parse_qsl(command_body("/deal", "new Acme 12k"), keep_blank_values=True))
    assert unknown_keys(fields, SLASH_COMMAND) == []
    assert set(fields) == set(SLASH_COMMAND)  # and every field Slack sends


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"action_id": "deal_won", "value": "D-1"}, "a button on a message"),
        ({"action_id": "deal_won", "value": "D-1", "response_url": None}, "a button without response_url"),
        ({"action_id": "snooze_date", "action_type": "datepicker", "selected": {"selected_date": "2026-11-27"}},
         "a datepicker"),
        ({"action_id": "pick", "action_type": "static_select",
          "selected": {"selected_option": {"text": {"type": "plain_text", "text": "A"}, "value": "a"}}},
         "a select"),
        ({"action_id": "owner", "action_type": "users_select", "selected": {"selected_user": "UANA"}}, "a user pick"),
        ({"action_id": "deal_won", "value": "D-1", "message": {"ts": "1.2", "text": "hi", "blocks": []}},
         "a button on a given message"),
    ],
)
def test_block_actions_have_slacks_keys(kwargs: dict[str, Any], what: str) -> None:
    payload = block_actions_payload(**kwargs)
    assert unknown_keys(payload, BLOCK_ACTIONS) == [], what


def test_block_actions_in_a_view_have_slacks_keys() -> None:
    view = {
        "id": "V1", "type": "modal", "callback_id": "deal_new", "title": {"type": "plain_text", "text": "New"},
        "blocks": [{"type": "input", "block_id": "title", "label": {"type": "plain_text", "text": "T"},
                    "element": {"type": "plain_text_input", "action_id": "v"}}],
        "private_metadata": "{}", "state": {"values": {"title": {"v": {"type": "plain_text_input", "value": "x"}}}},
        "hash": "1.h",
    }
    payload = block_actions_payload("stage_pick", "Won", view=view)
    assert "container" in payload and payload["container"]["type"] == "view"
    assert unknown_keys(payload, BLOCK_ACTIONS) == []


def test_view_submissions_have_slacks_keys() -> None:
    values = {
        "title": {"v": {"type": "plain_text_input", "value": "Globex"}},
        "close": {"v": {"type": "datepicker", "selected_date": "2026-12-15"}},
        "stage": {"v": {"type": "static_select",
                        "selected_option": {"text": {"type": "plain_text", "text": "Won"}, "value": "Won"}}},
        "owner": {"v": {"type": "users_select", "selected_user": "UANA"}},
    }
    payload = view_submission_payload("deal_new", values, private_metadata='{"channel": "C1"}')
    assert unknown_keys(payload, VIEW_SUBMISSION) == []


def test_the_check_finds_a_key_slack_does_not_send() -> None:
    payload = view_submission_payload("deal_new", {})
    payload["response_url"] = "https://hooks.slack.com/x"  # block_actions have one; view_submission not
    payload["view"]["titel"] = {"type": "plain_text", "text": "typo"}
    assert sorted(unknown_keys(payload, VIEW_SUBMISSION)) == ["response_url", "view.titel"]
    wrong_kind = block_actions_payload("x", "1")
    wrong_kind["actions"] = {"0": wrong_kind["actions"][0]}
    assert unknown_keys(wrong_kind, BLOCK_ACTIONS) == ["actions is dict, Slack's is a list"]


# --- the console (bot/console/session.py) -----------------------------------------------


def test_the_consoles_payloads_have_slacks_keys(db_url: str, uow: UnitOfWork) -> None:
    out = Console(file=io.StringIO(), width=120, color_system=None)
    session = ConsoleSession(Settings(database_url=db_url, scheduler=False),
                             ConsoleOptions(user_id="UCON", team_id="T1", now=parse_now("2026-11-23T14:00Z")), out, uow)
    sent: list[tuple[str, Any]] = []
    dispatch = session.dispatch

    def recording(body: str, content_type: str) -> Any:
        if content_type == "application/json":
            sent.append(("event", json.loads(body)))
        else:
            form = dict(parse_qsl(body, keep_blank_values=True))
            sent.append(("payload", json.loads(form["payload"])) if "payload" in form else ("command", form))
        return dispatch(body, content_type)

    session.dispatch = recording  # type: ignore[method-assign]
    session.introduce()
    script = [
        "/deal new Acme 12k",
        ":click deal_edit D-1",  # a button on a message: opens the Edit modal
        ':submit title="Acme renewal"',
        ":click deal_lost D-1",
        ":cancel",
        "/deal",
        ':submit title="Globex" amount=30k stage=Qualified close=2026-12-15',
    ]
    for line in script:
        session.handle(line)
    assert session.exit_code() == 0, out.file.getvalue()  # type: ignore[attr-defined]
    samples = {"block_actions": BLOCK_ACTIONS, "view_submission": VIEW_SUBMISSION, "view_closed": VIEW_CLOSED}
    kinds = []
    for kind, body in sent:
        if kind == "command":
            assert unknown_keys(body, SLASH_COMMAND) == [], body
            kinds.append("command")
        elif kind == "payload":
            assert unknown_keys(body, samples[body["type"]]) == [], body["type"]
            kinds.append(body["type"])
    assert {"command", "block_actions", "view_submission"} <= set(kinds)
