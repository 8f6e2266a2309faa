"""Block Kit as readable terminal text, for `salesbot console`.

Messages, modals and App Home views become lines of plain text (rich styles added by the
caller). Every interactive element is printed with the console command that presses it —
`:click <action_id> [value]` — and every input with the field name `:submit` takes, so a
console user can do anything a Slack user can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.text import upper

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]+))?>")
_CHANNEL = re.compile(r"<#(C[A-Z0-9]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]+))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~([^~\n]+)~(?![\w~])")


@dataclass(frozen=True)
class Control:
    """A pressable element: what `:click` needs to build a block_actions payload."""

    action_id: str
    block_id: str
    type: str
    label: str
    value: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for selects / overflow


@dataclass(frozen=True)
class Field:
    """An input of a modal: what `:submit name=value` fills in."""

    block_id: str
    action_id: str
    type: str
    label: str
    optional: bool
    initial: Any = None
    options: tuple[tuple[str, str], ...] = ()


@dataclass
class Rendered:
    """Text lines plus the controls and fields found on the way."""

    lines: list[str] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn to plain text: mentions as @id / #channel, links as 'label (url)'."""
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _USER.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = _STRIKE.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def text_of(obj: Any) -> str:
    """The text of a text object (plain_text or mrkdwn), or of a bare string."""
    if isinstance(obj, str):
        return mrkdwn_to_text(obj)
    if isinstance(obj, dict):
        return mrkdwn_to_text(str(obj.get("text", "")))
    return ""


def _options_of(element: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    opts = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        opts += group.get("options") or []
    return tuple((str(o.get("value", "")), text_of(o.get("text"))) for o in opts)


def _rich_text(element: dict[str, Any]) -> str:
    parts: list[str] = []
    for el in element.get("elements") or []:
        kind = el.get("type")
        if kind == "text":
            parts.append(el.get("text", ""))
        elif kind == "link":
            parts.append(el.get("text") or el.get("url", ""))
        elif kind == "user":
            parts.append("@" + el.get("user_id", ""))
        elif kind == "channel":
            parts.append("#" + el.get("channel_id", ""))
        elif kind == "emoji":
            parts.append(f":{el.get('name', '')}:")
        elif "elements" in el:
            parts.append(_rich_text(el))
    sep = "\n" if element.get("type") in ("rich_text_list",) else ""
    return sep.join(parts)


def _initial_of(element: dict[str, Any]) -> Any:
    for key in (
        "initial_value",
        "initial_date",
        "initial_time",
        "initial_user",
        "initial_conversation",
        "initial_channel",
        "initial_users",
        "initial_conversations",
        "initial_channels",
    ):
        if key in element:
            return element[key]
    if "initial_option" in element:
        return element["initial_option"].get("value")
    if "initial_options" in element:
        return [o.get("value") for o in element["initial_options"]]
    return None


class _Renderer:
    def __init__(self, width: int) -> None:
        self.width = width
        self.out = Rendered()

    def line(self, text: str = "", indent: int = 0) -> None:
        for piece in text.split("\n"):
            self.out.lines.append(" " * indent + piece)

    def control(self, element: dict[str, Any], block_id: str, indent: int) -> None:
        kind = str(element.get("type", ""))
        action_id = str(element.get("action_id", ""))
        if kind == "button":
            label = text_of(element.get("text"))
            value = element.get("value")
            if element.get("url") and not action_id:
                self.line(f"[{label}] -> {element['url']}", indent)
                return
            control = Control(action_id, block_id, kind, label, value)
            press = f":click {action_id}" + (f" {value}" if value else "")
            style = {"primary": " *", "danger": " !"}.get(str(element.get("style", "")), "")
            self.line(f"[{label}]{style}  ({press})", indent)
        elif kind in ("static_select", "overflow", "radio_buttons", "checkboxes", "multi_static_select"):
            options = _options_of(element)
            control = Control(action_id, block_id, kind, text_of(element.get("placeholder")) or kind, None, options)
            listed = ", ".join(v for v, _ in options[:12]) + (" ..." if len(options) > 12 else "")
            self.line(f"<{control.label}: {listed}>  (:click {action_id} <value>)", indent)
        elif kind in (
            "users_select",
            "conversations_select",
            "channels_select",
            "datepicker",
            "timepicker",
            "external_select",
            "multi_users_select",
            "datetimepicker",
        ):
            control = Control(action_id, block_id, kind, text_of(element.get("placeholder")) or kind)
            self.line(f"<{control.label} ({kind})>  (:click {action_id} <value>)", indent)
        elif kind == "image":
            self.line(f"[image: {element.get('alt_text', '')}]", indent)
            return
        else:
            self.line(f"<{kind}>", indent)
            return
        self.out.controls.append(control)

    def input(self, block: dict[str, Any], indent: int) -> None:
        element = block.get("element") or {}
        kind = str(element.get("type", ""))
        label = text_of(block.get("label"))
        block_id = str(block.get("block_id", ""))
        action_id = str(element.get("action_id", ""))
        optional = bool(block.get("optional"))
        initial = _initial_of(element)
        options = _options_of(element)
        fld = Field(block_id, action_id, kind, label, optional, initial, options)
        self.out.fields.append(fld)
        shown = f" = {initial!r}" if initial not in (None, "", []) else ""
        choice = f" one of: {', '.join(v for v, _ in options[:12])}" if options else ""
        self.line(f"{label}{'' if optional else ' *'}: ____ ({kind}, field {block_id}){shown}{choice}", indent)
        if block.get("hint"):
            self.line(f"  {text_of(block['hint'])}", indent)

    def block(self, block: dict[str, Any], indent: int = 0) -> None:
        kind = block.get("type")
        block_id = str(block.get("block_id", ""))
        if kind == "header":
            title = text_of(block.get("text"))
            # Upper case as the reader's language writes it: "KARADENİZ" in Turkish (core.text).
            self.line(upper(title) if title.isascii() else title, indent)
        elif kind == "section":
            if block.get("text"):
                self.line(text_of(block["text"]), indent)
            for f in block.get("fields") or []:
                self.line("  " + text_of(f).replace("\n", " "), indent)
            if isinstance(block.get("accessory"), dict):
                self.control(block["accessory"], block_id, indent + 4)
        elif kind == "divider":
            self.line("-" * min(self.width - indent, 60), indent)
        elif kind == "context":
            texts = [
                text_of(e) if e.get("type") != "image" else f"[{e.get('alt_text', '')}]"
                for e in block.get("elements") or []
            ]
            self.line("  ".join(t for t in texts if t), indent)
        elif kind == "actions":
            for el in block.get("elements") or []:
                self.control(el, block_id, indent)
        elif kind == "input":
            self.input(block, indent)
        elif kind == "image":
            title = text_of(block.get("title")) or block.get("alt_text", "")
            self.line(f"[image: {title}]", indent)
        elif kind == "rich_text":
            for el in block.get("elements") or []:
                self.line(_rich_text(el), indent)
        elif kind == "markdown":
            self.line(mrkdwn_to_text(str(block.get("text", ""))), indent)
        elif kind == "table":
            for row in block.get("rows") or []:
                self.line(" | ".join(_cell_text(c) for c in row), indent)
        else:
            self.line(f"<{kind} block>", indent)


def _cell_text(cell: dict[str, Any]) -> str:
    if cell.get("type") == "raw_text":
        return str(cell.get("text", ""))
    return _rich_text(cell) if "elements" in cell else str(cell.get("text", ""))


def render_message(message: dict[str, Any], width: int = 100) -> Rendered:
    """A chat message (text and/or blocks, attachments' blocks too) as text."""
    r = _Renderer(width)
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        import json

        blocks = json.loads(blocks)
    if blocks:
        for b in blocks:
            r.block(b)
    elif message.get("text"):
        r.line(mrkdwn_to_text(str(message["text"])))
    for att in message.get("attachments") or []:
        for b in att.get("blocks") or []:
            r.block(b, indent=2)
        if att.get("text"):
            r.line(mrkdwn_to_text(str(att["text"])), 2)
    return r.out


def render_view(view: dict[str, Any], width: int = 100) -> Rendered:
    """A modal or App Home view as text, with its submit hint."""
    r = _Renderer(width)
    kind = view.get("type", "modal")
    title = text_of(view.get("title")) if view.get("title") else ("Home" if kind == "home" else "")
    r.line(f"== {title} ==" if kind == "modal" else "== App Home ==")
    for b in view.get("blocks") or []:
        r.block(b, indent=2)
    if kind == "modal" and view.get("submit"):
        r.line(
            f"[{text_of(view['submit'])}]  (:submit field=value ...)   [{text_of(view.get('close')) or 'Cancel'}]"
            "  (:cancel)"
        )
    return r.out
