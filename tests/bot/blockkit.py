"""Block Kit checks for tests: the JSON Schema plus the limits and rules it does not enforce.

`assert_valid_message(payload)` takes what is sent to chat.postMessage / chat.update /
chat.postEphemeral / respond() (a dict with `text` and/or `blocks`, or a bare blocks list);
`assert_valid_view(view)` takes a modal or home view as given to views.open / views.publish.
Both raise AssertionError listing every problem with its JSON path.

Schema: tests/slack_specs/block-kit-schema/slack-block-kit.schema.json (draft 2020-12).
Extra rules (from Slack's Block Kit reference, not in the schema): 50 blocks a message and 100
a view; section text 3000 chars, 10 fields of 2000; header 150; button text 75, value 2000,
url 3000; action_id / block_id 255, unique block_id per surface and action_id per block; 100
options (75-char text, 150-char value); 25 elements an actions block, 10 a context block;
modal title / submit / close 24; private_metadata 3000; callback_id 255; message text 40000.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

SCHEMA_PATH = (
    Path(__file__).resolve().parents[1] / "slack_specs" / "block-kit-schema" / "slack-block-kit.schema.json"
)


@cache
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return data


@cache
def _validator(ref: str | None) -> Draft202012Validator:
    schema = _schema()
    if ref is None:
        return Draft202012Validator(schema)
    sub = {k: schema[k] for k in ("$schema", "$id", "$defs")}
    sub["$ref"] = f"#/$defs/{ref}"
    return Draft202012Validator(sub)


def _schema_errors(instance: Any, ref: str | None, where: str) -> list[str]:
    errors = []
    for err in sorted(_validator(ref).iter_errors(instance), key=lambda e: list(e.absolute_path)):
        path = where + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in err.absolute_path)
        # oneOf/anyOf failures are vague: name the best sub-error too.
        detail = err.message if len(err.message) < 200 else f"fails {err.validator} ({err.message[:120]}...)"
        if err.context:
            best = best_match(err.context)
            if best is not None:
                sub = "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in best.relative_path)
                detail += f"; closest: {sub} {best.message[:200]}"
        errors.append(f"{path}: {detail}")
    return errors


def _blocks_schema_errors(blocks: Any, where: str) -> list[str]:
    """Validate each block against its own type's definition, for messages that say what is wrong."""
    if not isinstance(blocks, list):
        return [f"{where}: blocks must be a list"]
    defs = _schema()["$defs"]
    errors = []
    for i, block in enumerate(blocks):
        btype = block.get("type") if isinstance(block, dict) else None
        ref = f"{btype}_block"
        if ref not in defs:
            errors.append(f"{where}[{i}]: unknown block type {btype!r}")
            continue
        errors += _schema_errors(block, ref, f"{where}[{i}]")
    return errors


def _text_of(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


class _Limits:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.block_ids: set[str] = set()

    def check(self, cond: bool, path: str, message: str) -> None:
        if not cond:
            self.problems.append(f"{path}: {message}")

    def max_len(self, value: Any, limit: int, path: str, what: str) -> None:
        if isinstance(value, str):
            self.check(len(value) <= limit, path, f"{what} is {len(value)} chars, limit {limit}")

    def element(self, el: dict[str, Any], path: str, action_ids: set[str]) -> None:
        if "action_id" in el:
            aid = el["action_id"]
            self.max_len(aid, 255, path, "action_id")
            self.check(aid not in action_ids, path, f"duplicate action_id {aid!r} in one block")
            action_ids.add(aid)
        etype = el.get("type")
        if etype == "button":
            self.max_len(_text_of(el.get("text")), 75, path, "button text")
            self.max_len(el.get("value"), 2000, path, "button value")
            self.max_len(el.get("url"), 3000, path, "button url")
        if "placeholder" in el:
            self.max_len(_text_of(el["placeholder"]), 150, path, "placeholder")
        for key in ("options", "initial_options"):
            opts = el.get(key)
            if isinstance(opts, list):
                self.check(len(opts) <= 100, path, f"{len(opts)} {key}, limit 100")
                for i, opt in enumerate(opts):
                    self.max_len(_text_of(opt.get("text")), 75, f"{path}.{key}[{i}]", "option text")
                    self.max_len(opt.get("value"), 150, f"{path}.{key}[{i}]", "option value")
        groups = el.get("option_groups")
        if isinstance(groups, list):
            self.check(len(groups) <= 100, path, f"{len(groups)} option_groups, limit 100")
        if etype == "plain_text_input" and "max_length" in el:
            self.check(el["max_length"] <= 3000, path, "plain_text_input max_length over 3000")

    def block(self, block: dict[str, Any], path: str) -> None:
        if "block_id" in block:
            bid = block["block_id"]
            self.max_len(bid, 255, path, "block_id")
            self.check(bid not in self.block_ids, path, f"duplicate block_id {bid!r}")
            self.block_ids.add(bid)
        btype = block.get("type")
        action_ids: set[str] = set()
        if btype == "section":
            self.max_len(_text_of(block.get("text")), 3000, path, "section text")
            fields = block.get("fields") or []
            self.check(len(fields) <= 10, path, f"{len(fields)} section fields, limit 10")
            for i, f in enumerate(fields):
                self.max_len(_text_of(f), 2000, f"{path}.fields[{i}]", "section field")
            if isinstance(block.get("accessory"), dict):
                self.element(block["accessory"], f"{path}.accessory", action_ids)
        elif btype == "header":
            self.max_len(_text_of(block.get("text")), 150, path, "header text")
        elif btype == "actions":
            els = block.get("elements") or []
            self.check(len(els) <= 25, path, f"{len(els)} elements in an actions block, limit 25")
            for i, el in enumerate(els):
                self.element(el, f"{path}.elements[{i}]", action_ids)
        elif btype == "context":
            els = block.get("elements") or []
            self.check(len(els) <= 10, path, f"{len(els)} elements in a context block, limit 10")
        elif btype == "input":
            self.max_len(_text_of(block.get("label")), 2000, path, "input label")
            self.max_len(_text_of(block.get("hint")), 2000, path, "input hint")
            if isinstance(block.get("element"), dict):
                self.element(block["element"], f"{path}.element", action_ids)
        elif btype == "image":
            self.max_len(block.get("alt_text"), 2000, path, "image alt_text")

    def blocks(self, blocks: list[dict[str, Any]], limit: int, where: str) -> None:
        self.check(len(blocks) <= limit, where, f"{len(blocks)} blocks, limit {limit}")
        for i, b in enumerate(blocks):
            if isinstance(b, dict):
                self.block(b, f"{where}[{i}]")


def message_problems(payload: dict[str, Any] | list[dict[str, Any]]) -> list[str]:
    """Every schema error and limit breach of a message payload."""
    if isinstance(payload, list):
        payload = {"blocks": payload}
    problems: list[str] = []
    blocks = payload.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    text = payload.get("text")
    if not blocks and not text and not payload.get("attachments"):
        problems.append("message: neither text nor blocks")
    if isinstance(text, str) and len(text) > 40000:
        problems.append(f"message.text: {len(text)} chars, limit 40000")
    if blocks:
        problems += _blocks_schema_errors(blocks, "blocks")
        limits = _Limits()
        limits.blocks(blocks, 50, "blocks")
        problems += limits.problems
    return problems


def view_problems(view: dict[str, Any] | str) -> list[str]:
    """Every schema error and limit breach of a modal or home view."""
    if isinstance(view, str):
        view = json.loads(view)
    assert isinstance(view, dict), "a view is a JSON object"
    vtype = view.get("type")
    if vtype not in ("modal", "home"):
        return [f"view.type: {vtype!r} is neither modal nor home"]
    # The shell (title, submit, ...) against the view schema, each block against its own type.
    shell = {**view, "blocks": [{"type": "divider"}]}
    problems = _schema_errors(shell, "modal_view" if vtype == "modal" else "home_view", "view")
    problems += _blocks_schema_errors(view.get("blocks"), "view.blocks")
    limits = _Limits()
    limits.blocks(view.get("blocks") or [], 100, "view.blocks")
    for key in ("title", "submit", "close"):
        if key in view:
            limits.max_len(_text_of(view[key]), 24, f"view.{key}", f"{key} text")
    limits.max_len(view.get("private_metadata"), 3000, "view", "private_metadata")
    limits.max_len(view.get("callback_id"), 255, "view", "callback_id")
    limits.max_len(view.get("external_id"), 255, "view", "external_id")
    if vtype == "modal":
        has_input = any(b.get("type") == "input" for b in view.get("blocks") or [] if isinstance(b, dict))
        limits.check(not has_input or "submit" in view, "view", "a modal with input blocks needs a submit button")
    return problems + limits.problems


def assert_valid_message(payload: dict[str, Any] | list[dict[str, Any]]) -> None:
    """Fail, listing every problem, unless `payload` is a valid Slack message."""
    problems = message_problems(payload)
    assert not problems, "invalid Block Kit message:\n  " + "\n  ".join(problems)


def assert_valid_view(view: dict[str, Any] | str) -> None:
    """Fail, listing every problem, unless `view` is a valid modal or home view."""
    problems = view_problems(view)
    assert not problems, "invalid Block Kit view:\n  " + "\n  ".join(problems)
