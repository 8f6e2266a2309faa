"""Signed Slack requests for tests: slash commands, block actions, view submissions, events.

Bodies follow the shapes of Slack's samples (tests/slack_specs/java-slack-sdk-json-logs/
samples/app-backend/) and are signed as Slack signs them (v0 HMAC-SHA256 over
"v0:{timestamp}:{body}", checked by slack_sdk.signature.SignatureVerifier), then dispatched
through `app.dispatch(BoltRequest(...))` — the same path an HTTP request takes.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest, BoltResponse

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
_counter = itertools.count(1)
# Nothing listens there: a response_url that must never be used fails fast, never reaches Slack.
NOWHERE = "http://127.0.0.1:9/response_url/none"


def default_response_url(app: App, kind: str) -> str:
    """The fake Slack's response_url when the app fixture attached one (tests/bot/conftest.py)."""
    fake = getattr(app, "salesbot_test_fake", None)
    return fake.response_url(f"{kind}{next(_counter)}") if fake is not None else NOWHERE


def sign(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The X-Slack-Signature / X-Slack-Request-Timestamp headers for a raw body."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"x-slack-signature": f"v0={digest}", "x-slack-request-timestamp": ts}


def signed_request(
    body: str,
    content_type: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    extra_headers: dict[str, str] | None = None,
) -> BoltRequest:
    headers = {"content-type": content_type, **sign(body, secret, timestamp), **(extra_headers or {})}
    return BoltRequest(body=body, headers={k: [v] for k, v in headers.items()})


def command_body(
    command: str,
    text: str = "",
    *,
    user_id: str = "UANA",
    team_id: str = "T1",
    channel_id: str = "C1",
    response_url: str = NOWHERE,
    trigger_id: str | None = None,
) -> str:
    """A form-encoded slash command body (SlashCommandPayload.json keys)."""
    n = next(_counter)
    fields = {
        "token": "legacy-verification-token",
        "api_app_id": "A1",
        "team_id": team_id,
        "team_domain": "acme",
        "enterprise_id": "",
        "enterprise_name": "",
        "channel_id": channel_id,
        "channel_name": "sales",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "response_url": response_url,
        "trigger_id": trigger_id or f"{n}.{n}.trigger{n}",
        "is_enterprise_install": "false",
    }
    return urlencode(fields)


def send_command(
    app: App,
    command: str,
    text: str = "",
    *,
    user_id: str = "UANA",
    team_id: str = "T1",
    channel_id: str = "C1",
    response_url: str | None = None,
    trigger_id: str | None = None,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> BoltResponse:
    """Dispatch a signed slash command through the app; the ack is the returned response."""
    body = command_body(
        command,
        text,
        user_id=user_id,
        team_id=team_id,
        channel_id=channel_id,
        response_url=response_url or default_response_url(app, "command"),
        trigger_id=trigger_id,
    )
    req = signed_request(
        body, "application/x-www-form-urlencoded", secret=secret, timestamp=timestamp, extra_headers=headers
    )
    return app.dispatch(req)


def block_actions_payload(
    action_id: str,
    value: str | None = None,
    *,
    user_id: str = "UANA",
    team_id: str = "T1",
    channel_id: str = "C1",
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    response_url: str | None = NOWHERE,
    block_id: str = "b1",
    action_type: str = "button",
    selected: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A block_actions payload (BlockActionPayload.json keys) for one pressed element."""
    n = next(_counter)
    action: dict[str, Any] = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"1700000000.{n:06d}",
    }
    if value is not None:
        action["value"] = value
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
    if selected:
        action.update(selected)
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "acme"},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "trigger_id": f"{n}.{n}.trigger{n}",
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V1")}
        payload["view"] = view
    else:
        ts = (message or {}).get("ts", "1700000000.000001")
        payload["container"] = {"type": "message", "message_ts": ts, "channel_id": channel_id, "is_ephemeral": False}
        payload["channel"] = {"id": channel_id, "name": "sales"}
        payload["message"] = {"type": "message", "ts": ts, "text": "", "blocks": [], **(message or {})}
        if response_url:
            payload["response_url"] = response_url
    return payload


def view_submission_payload(
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    user_id: str = "UANA",
    team_id: str = "T1",
    private_metadata: str = "",
    view_id: str = "V1",
    blocks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A view_submission payload (ViewSubmissionPayload.json keys): values[block_id][action_id] = value."""
    n = next(_counter)
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "acme"},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "trigger_id": f"{n}.{n}.trigger{n}",
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "title": {"type": "plain_text", "text": "Modal"},
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": f"{n}.hash",
            "root_view_id": view_id,
            "app_id": "A1",
            "bot_id": "BBOT",
        },
        "is_enterprise_install": False,
    }


def send_payload(
    app: App,
    payload: dict[str, Any],
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> BoltResponse:
    """Dispatch a signed interactive payload as Slack posts it (form field `payload`)."""
    body = urlencode({"payload": json.dumps(payload)})
    req = signed_request(
        body, "application/x-www-form-urlencoded", secret=secret, timestamp=timestamp, extra_headers=headers
    )
    return app.dispatch(req)


def send_action(app: App, payload: dict[str, Any], **signing: Any) -> BoltResponse:
    """Dispatch a signed block_actions payload (build one with block_actions_payload).

    A payload whose response_url is the NOWHERE default gets the fake Slack's instead.
    `signing` is send_payload's secret, timestamp and headers.
    """
    if payload.get("response_url") == NOWHERE:
        payload = {**payload, "response_url": default_response_url(app, "action")}
    return send_payload(app, payload, **signing)


send_view_submission = send_payload
"""Dispatch a signed view_submission payload (build one with view_submission_payload)."""


def event_envelope(event: dict[str, Any], *, team_id: str = "T1") -> dict[str, Any]:
    """An Events API event_callback envelope around `event`."""
    n = next(_counter)
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "api_app_id": "A1",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{n:08d}",
        "event_time": 1700000000 + n,
        "authorizations": [{"team_id": team_id, "user_id": "UBOT", "is_bot": True, "is_enterprise_install": False}],
    }


def app_home_opened(user_id: str = "UANA", *, tab: str = "home") -> dict[str, Any]:
    """An app_home_opened event."""
    return {"type": "app_home_opened", "user": user_id, "channel": "D1", "tab": tab, "event_ts": "1700000000.000100"}


def send_event(
    app: App,
    event: dict[str, Any],
    *,
    team_id: str = "T1",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> BoltResponse:
    """Dispatch a signed Events API request carrying `event`."""
    body = json.dumps(event_envelope(event, team_id=team_id))
    req = signed_request(body, "application/json", secret=secret, timestamp=timestamp, extra_headers=headers)
    return app.dispatch(req)
