"""manifest.yml: valid against Slack's manifest schema, and exactly what the code uses.

- Schema: tests/slack_specs/manifest-schema (the entry schema's remote $refs are served
  from the local copies through a `referencing` registry, so nothing is fetched).
- Slash commands and events: the listeners registered by every listener module (recorded by
  wrapping App.command / App.event while create_app registers them) equal the manifest's.
- Scopes: every Web API method the code calls (found in bot/ and core/ source) needs a scope
  (from Slack's OpenAPI spec, legacy `:bot`/`:user` suffixes dropped); the manifest declares
  each needed scope and no other; bot.app.BOT_SCOPES (OAuth install) is the same list.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from slack_bolt import App

from bot.app import BOT_SCOPES, LISTENER_MODULES, register_listeners
from tests.conftest import REPO, SLACK_SPECS

SPECS = SLACK_SPECS
MANIFEST = REPO / "manifest.yml"
SCHEMA_DIR = SPECS / "manifest-schema"
OPENAPI = SPECS / "slack-api-specs" / "web-api" / "slack_web_openapi_v2.json"
REMOTE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"

# Methods newer than the 2020 OpenAPI file, with the scope Slack's docs give them.
NEWER_METHODS = {
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "apps.connections.open": None,  # app-level token (connections:write), not a bot scope
}
# WebClient helpers that call other methods under the hood.
COMPOSITE = {"files.upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}
# conversations.open takes any of four scopes; salesbot only opens DMs.
PREFERRED = {"conversations.open": "im:write"}
# Deal rooms are private channels (bot/rooms_delivery.py): groups:write, not channels:manage.
PREFERRED.update({f"conversations.{m}": "groups:write" for m in ("create", "invite", "rename", "archive", "unarchive")})
PREFERRED["users.conversations"] = "groups:read"  # a room's creation retried after a crash finds its channel
# Methods whose scope depends on the conversation, used on several kinds: each scope is needed.
# The outbox reads back the history of public and private channels and of DMs it posted to
# (bot/delivery.py, before a re-send); it never posts to group DMs.
ALL_OF = {"conversations.history": ("channels:history", "groups:history", "im:history")}
METHOD_CALL = re.compile(
    r"\.(chat|views|users|conversations|files|reactions|team|usergroups|pins|bookmarks|reminders|dnd|"
    r"emoji|bots|im)_([A-Za-z0-9_]+)\("
)
METHOD_STRING = re.compile(
    r"""api_call\(\s*["']([a-z]+\.[A-Za-z.]+)["']|["']method["']\s*:\s*["']([a-z]+\.[A-Za-z]+)["']"""
)
# The console (bot/console/) answers Web API calls; it does not make them.
NOT_CALLERS = {"console"}


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return data


def manifest_validator() -> Draft7Validator:
    registry: Registry[Any] = Registry()
    for version in ("1.0.0", "2.0.0"):
        schema = json.loads((SCHEMA_DIR / "schemas" / f"manifest.schema.{version}.json").read_text())
        registry = registry.with_resource(f"{REMOTE}manifest.schema.{version}.json", Resource.from_contents(schema))
    entry = json.loads((SCHEMA_DIR / "manifest.schema.json").read_text())
    return Draft7Validator(entry, registry=registry)


def test_manifest_schema_accepts_upstream_examples_and_rejects_bad_ones() -> None:
    validator = manifest_validator()
    valid = json.loads((SCHEMA_DIR / "examples" / "v1" / "manifest.valid.json").read_text())
    invalid = json.loads((SCHEMA_DIR / "examples" / "v1" / "manifest.invalid.json").read_text())
    assert list(validator.iter_errors(valid)) == []
    assert list(validator.iter_errors(invalid)) != []


def test_manifest_is_valid() -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in manifest_validator().iter_errors(manifest())]
    assert errors == []


def test_a_broken_manifest_is_caught() -> None:
    broken = manifest()
    broken["features"]["slash_commands"][0]["command"] = "deal"  # no leading slash
    assert list(manifest_validator().iter_errors(broken)) != []


def registered() -> dict[str, set[str]]:
    """Slash commands, events and interactive listener kinds the listener modules register."""
    app = App(token="xoxb-test", signing_secret="s", token_verification_enabled=False)
    seen: dict[str, set[str]] = {"commands": set(), "events": set(), "interactive": set(), "shortcuts": set(),
                                 "functions": set()}

    def wrap(name: str, kind: str) -> None:
        original = getattr(app, name)

        def recorder(key: Any, *args: Any, **kwargs: Any) -> Any:
            if kind == "interactive":
                seen[kind].add(name)
                if name == "shortcut":
                    seen["shortcuts"].add(str(key))
            elif kind == "functions":
                seen[kind].add(str(key))
            else:
                seen[kind].add(
                    key if isinstance(key, str) else (key.get("type") if isinstance(key, dict) else str(key))
                )
            return original(key, *args, **kwargs)

        setattr(app, name, recorder)

    wrap("command", "commands")
    wrap("event", "events")
    wrap("function", "functions")
    for name in ("action", "block_action", "view", "view_submission", "view_closed", "options", "shortcut"):
        wrap(name, "interactive")
    names = register_listeners(app)
    assert names, "no listener module is installed"
    return seen


def test_slash_commands_match_the_listeners() -> None:
    declared = {c["command"] for c in manifest()["features"]["slash_commands"]}
    listened = registered()["commands"]
    assert listened == declared, f"registered {sorted(listened)} but the manifest declares {sorted(declared)}"


def test_shortcuts_match_the_listeners() -> None:
    declared = {s["callback_id"] for s in manifest()["features"]["shortcuts"]}
    assert registered()["shortcuts"] == declared
    kinds = {s["callback_id"]: s["type"] for s in manifest()["features"]["shortcuts"]}
    assert kinds == {"new_deal": "global", "new_lead": "global", "deal_from_message": "message",
                     "deal_add_message": "message"}


def test_workflow_steps_match_the_function_listeners_and_their_inputs() -> None:
    from bot.functions import INPUTS, OUTPUTS

    functions = manifest()["functions"]
    assert registered()["functions"] == set(functions) == set(INPUTS)
    for callback_id, step in functions.items():
        assert set(step["input_parameters"]["properties"]) == set(INPUTS[callback_id]), callback_id
        assert set(step["output_parameters"]["properties"]) == set(OUTPUTS[callback_id]), callback_id
        assert set(step["input_parameters"]["required"]) <= set(INPUTS[callback_id])
    assert manifest()["settings"]["function_runtime"] == "remote"  # Bolt runs them, not Slack's runtime


def test_commands_escape_mentions_and_have_usage_hints() -> None:
    for command in manifest()["features"]["slash_commands"]:
        assert command["should_escape"] is True, command["command"]
        assert command.get("usage_hint"), command["command"]


def test_events_and_interactivity_match_the_listeners() -> None:
    seen = registered()
    settings = manifest()["settings"]
    declared_events = set(settings["event_subscriptions"]["bot_events"])
    assert seen["events"] == declared_events
    assert settings["interactivity"]["is_enabled"] is bool(seen["interactive"])
    assert manifest()["features"]["app_home"]["home_tab_enabled"] is ("app_home_opened" in seen["events"])


def called_methods() -> dict[str, set[str]]:
    """Web API method -> the source files that call it (bot/ and core/)."""
    found: dict[str, set[str]] = {}
    for root in ("bot", "core"):
        for path in sorted((REPO / root).rglob("*.py")):
            if NOT_CALLERS & set(path.relative_to(REPO).parts):
                continue
            text = path.read_text()
            where = str(path.relative_to(REPO))
            for family, rest in METHOD_CALL.findall(text):
                method = f"{family}.{rest}" if rest == "upload_v2" else f"{family}.{_camel(rest)}"
                found.setdefault(method, set()).add(where)
            for a, b in METHOD_STRING.findall(text):
                found.setdefault(a or b, set()).add(where)
    return found


def _camel(snake: str) -> str:
    head, *tail = snake.split("_")
    return head + "".join(t[:1].upper() + t[1:] for t in tail)


def openapi_scopes() -> dict[str, set[str]]:
    """Method -> acceptable bot scopes per Slack's OpenAPI file (empty set: needs none)."""
    spec = json.loads(OPENAPI.read_text())
    table: dict[str, set[str]] = {}
    for path, ops in spec["paths"].items():
        scopes: set[str] = set()
        for op in ops.values():
            for sec in op.get("security") or []:
                for raw in sec.get("slackAuth", []):
                    if raw != "none" and not raw.endswith(":user"):
                        scopes.add(raw.removesuffix(":bot"))
                    elif raw.endswith(":user"):
                        scopes.add(raw.removesuffix(":user"))
        table[path.lstrip("/")] = scopes
    return table


def needed_scopes() -> dict[str, str]:
    """Scope -> why (a method and where it is called)."""
    table = openapi_scopes()
    needs: dict[str, str] = {"commands": "slash commands are registered"}
    for method, files in called_methods().items():
        for real in COMPOSITE.get(method, (method,)):
            if real in NEWER_METHODS:
                scope = NEWER_METHODS[real]
            else:
                assert real in table, f"{real} (called in {sorted(files)}) is not a Slack Web API method"
                options = table[real]
                if not options:
                    continue
                if real in ALL_OF:
                    assert set(ALL_OF[real]) <= options, f"{real} takes {sorted(options)}, not {ALL_OF[real]}"
                    for each in ALL_OF[real]:
                        needs.setdefault(each, f"{real} in {sorted(files)[0]}")
                    continue
                scope = PREFERRED.get(real) or sorted(options)[0]
                assert len(options) == 1 or real in PREFERRED, f"pick the scope for {real}: {sorted(options)}"
            if scope:
                needs.setdefault(scope, f"{real} in {sorted(files)[0]}")
    return needs


def test_scope_table_reads_the_openapi_spec() -> None:
    table = openapi_scopes()
    assert table["chat.postMessage"] == {"chat:write"}
    assert table["users.info"] == {"users:read"}
    assert table["views.open"] == set()


def test_every_called_method_has_its_scope_and_no_scope_is_unused() -> None:
    needs = needed_scopes()
    declared = set(manifest()["oauth_config"]["scopes"]["bot"])
    missing = {s: why for s, why in needs.items() if s not in declared}
    unused = declared - set(needs)
    assert not missing, f"scopes the code needs but the manifest lacks: {missing}"
    assert not unused, f"scopes declared but unused: {sorted(unused)}"


def test_oauth_install_asks_for_the_manifest_scopes() -> None:
    assert set(BOT_SCOPES) == set(manifest()["oauth_config"]["scopes"]["bot"])


def test_the_core_calls_are_found() -> None:
    methods = called_methods()
    assert "users.info" in methods  # bot/slack_users.py
    assert "chat.postMessage" in methods
    assert {"conversations.history", "conversations.open"} <= set(methods)  # bot/delivery.py, before a re-send
    assert {"channels:history", "groups:history", "im:history", "im:write"} <= set(needed_scopes())


@pytest.mark.parametrize("module", LISTENER_MODULES, ids=lambda m: m.__name__)
def test_listener_modules_are_bot_modules_with_register(module: ModuleType) -> None:
    assert re.fullmatch(r"bot(\.[a-z_]+)+", module.__name__)
    assert module.__file__ and Path(module.__file__).is_relative_to(REPO / "bot")
    assert callable(module.register)
