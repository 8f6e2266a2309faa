"""The parts of Slack's interaction payloads the console builds from what is on screen:
a modal's `state.values` for `:submit`, an action's value for `:click`."""

from __future__ import annotations

import re
from typing import Any

from bot.console.render import Control, Field, render_view


def fields_of(view: dict[str, Any]) -> list[Field]:
    return render_view(view).fields


def match_field(fields: list[Field], key: str) -> Field | None:
    key_l = key.lower()
    for f in fields:
        if key_l in (f.block_id.lower(), f.action_id.lower(), f.label.lower()):
            return f
    return None


def strip_mention(value: str) -> str:
    m = re.match(r"^<?[@#]?([UWC][A-Z0-9]+)(?:\|[^>]*)?>?$", value.strip())
    return m.group(1) if m else value.strip()


def option(options: tuple[tuple[str, str], ...], value: str) -> dict[str, Any]:
    for v, label in options:
        if value in (v, label) or value.lower() == label.lower():
            return {"text": {"type": "plain_text", "text": label}, "value": v}
    return {"text": {"type": "plain_text", "text": value}, "value": value}


def typed_value(kind: str, value: Any, options: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The state value Slack sends for an input element of `kind` holding `value`."""
    many = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value or [])
    if kind in ("static_select", "external_select", "radio_buttons"):
        return {"selected_option": option(options, str(value)) if value not in (None, "") else None}
    if kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        return {"selected_options": [option(options, v) for v in many if v]}
    if kind == "datepicker":
        return {"selected_date": value or None}
    if kind == "timepicker":
        return {"selected_time": value or None}
    if kind == "datetimepicker":
        return {"selected_date_time": int(value) if value else None}
    if kind == "users_select":
        return {"selected_user": strip_mention(value) if value else None}
    if kind == "multi_users_select":
        return {"selected_users": [strip_mention(v) for v in many if v]}
    if kind in ("conversations_select", "channels_select"):
        key = "selected_conversation" if kind == "conversations_select" else "selected_channel"
        return {key: strip_mention(value) if value else None}
    if kind in ("multi_conversations_select", "multi_channels_select"):
        key = "selected_conversations" if kind == "multi_conversations_select" else "selected_channels"
        return {key: [strip_mention(v) for v in many if v]}
    if kind == "rich_text_input":
        text = str(value or "")
        return {
            "rich_text_value": {
                "type": "rich_text",
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]
                if text
                else [],
            }
        }
    return {"value": value if value not in ("",) else None}


def state_values(fields: list[Field], given: dict[str, str]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for f in fields:
        value = given.get(f.block_id, f.initial)
        values.setdefault(f.block_id, {})[f.action_id] = {"type": f.type, **typed_value(f.type, value, f.options)}
    return values


def action_value(control: Control, value: str | None) -> dict[str, Any]:
    if control.type == "button":
        return (
            {"value": value, "text": {"type": "plain_text", "text": control.label}}
            if value
            else {"text": {"type": "plain_text", "text": control.label}}
        )
    if control.type == "overflow":
        return {"selected_option": option(control.options, value or "")}
    return typed_value(control.type, value or "", control.options)
