"""Payloads of shortcuts, external-select suggestions and Workflow Builder steps, as Slack sends
them (key names follow MessageShortcutPayload.json and the function_executed event of Slack's docs)."""
from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import urlencode

from slack_bolt import App, BoltResponse

from tests.bot.signing import event_envelope, send_payload, signed_request

_counter = itertools.count(1)


def global_shortcut(callback_id: str, *, user_id: str = "UANA", team_id: str = "T1") -> dict[str, Any]:
    n = next(_counter)
    return {
        "type": "shortcut", "callback_id": callback_id, "trigger_id": f"{n}.{n}.trigger{n}",
        "action_ts": f"1700000000.{n:06d}", "team": {"id": team_id, "domain": "acme"},
        "user": {"id": user_id, "name": user_id.lower(), "team_id": team_id}, "token": "legacy-verification-token",
        "is_enterprise_install": False,
    }


def message_shortcut(callback_id: str, message: dict[str, Any], *, user_id: str = "UANA", team_id: str = "T1",
                     channel_id: str = "C1", response_url: str = "") -> dict[str, Any]:
    n = next(_counter)
    msg = {"type": "message", "ts": "1700000000.000100", "text": "", **message}
    return {
        "type": "message_action", "callback_id": callback_id, "trigger_id": f"{n}.{n}.trigger{n}",
        "message_ts": msg["ts"], "response_url": response_url, "message": msg,
        "team": {"id": team_id, "domain": "acme"}, "user": {"id": user_id, "name": user_id.lower(), "team_id": team_id},
        "channel": {"id": channel_id, "name": "sales"}, "token": "legacy-verification-token",
        "action_ts": f"1700000000.{n:06d}", "is_enterprise_install": False,
    }


def send_shortcut(app: App, payload: dict[str, Any]) -> BoltResponse:
    if payload.get("type") == "message_action" and not payload.get("response_url"):
        fake = app.salesbot_test_fake  # type: ignore[attr-defined]
        payload = {**payload, "response_url": fake.response_url("shortcut")}
    return send_payload(app, payload)


def suggestion(action_id: str, value: str, *, block_id: str = "deal", user_id: str = "UANA",
               team_id: str = "T1") -> dict[str, Any]:
    """A block_suggestion (external select typed into) payload."""
    return {
        "type": "block_suggestion", "action_id": action_id, "block_id": block_id, "value": value,
        "team": {"id": team_id, "domain": "acme"}, "user": {"id": user_id, "name": user_id.lower(), "team_id": team_id},
        "api_app_id": "A1", "token": "legacy-verification-token", "container": {"type": "view", "view_id": "V1"},
        "view": {"id": "V1", "type": "modal", "callback_id": "deal_add_message_form"},
    }


def send_suggestion(app: App, payload: dict[str, Any]) -> dict[str, Any]:
    body = urlencode({"payload": json.dumps(payload)})
    response = app.dispatch(signed_request(body, "application/x-www-form-urlencoded"))
    assert response.status == 200, response.body
    return dict(json.loads(response.body))


def function_executed(callback_id: str, inputs: dict[str, Any], *, execution_id: str | None = None) -> dict[str, Any]:
    n = next(_counter)
    return {
        "type": "function_executed",
        "function": {"id": f"Fn{n:08d}", "callback_id": callback_id, "title": callback_id, "type": "app",
                     "input_parameters": [], "output_parameters": [], "app_id": "A1",
                     "date_created": 1700000000, "date_updated": 1700000000, "date_deleted": 0},
        "inputs": inputs,
        "function_execution_id": execution_id or f"Fx{n:08d}",
        "workflow_execution_id": f"Wx{n:08d}",
        "event_ts": f"1700000000.{n:06d}",
        "bot_access_token": "xwfp-function-token",
    }


def send_function(app: App, event: dict[str, Any], *, team_id: str = "T1") -> BoltResponse:
    body = json.dumps(event_envelope(event, team_id=team_id))
    return app.dispatch(signed_request(body, "application/json"))
