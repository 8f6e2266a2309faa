"""The house rules that a grep can prove (ARCHITECTURE.md, issue 9): core's layering, no Slack
in core, no clock in core, and plain imports everywhere."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

LAYERS = ("kernel", "workspace", "deals", "insight", "notify", "leads")  # each may import those to its left


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in LAYERS else "kernel"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


@pytest.mark.parametrize("path", _modules("core"), ids=_name)
def test_core_imports_no_slack_and_only_layers_to_its_left(path: Path) -> None:
    imports = _imports(path)
    assert not {i for i in imports if i.split(".")[0] in ("bot", "slack_bolt", "slack_sdk")}, path
    mine = LAYERS.index(_layer(_name(path)))
    for target in imports:
        if target.startswith("core.") and _layer(target) != "kernel":
            assert LAYERS.index(_layer(target)) <= mine, f"{_name(path)} imports {target}"


@pytest.mark.parametrize("path", _modules("core"), ids=_name)
def test_core_knows_no_mention_syntax_and_reads_no_clock(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    mention = r"<[@#][A-Z]|<!(?:channel|here|everyone|subteam)"  # not a regex's (?<! lookbehind
    assert not re.search(mention, text), "Slack mention syntax belongs to bot/"
    assert not re.search(r"datetime\.(now|utcnow|today)\(|date\.today\(|time\.time\(", text), "core takes `now`"


_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}


def _guarded_bodies(tree: ast.AST) -> list[list[ast.stmt]]:
    """The statements run under `except ImportError` / `contextlib.suppress(ImportError)`."""
    bodies = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                caught = handler.type
                names = {n.id for n in ast.walk(caught) if isinstance(n, ast.Name)} if caught else set()
                if names & _IMPORT_ERRORS:
                    bodies.append(node.body)
        elif isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and any(
                    isinstance(a, ast.Name) and a.id in _IMPORT_ERRORS for a in call.args
                ):
                    bodies.append(node.body)
    return bodies


@pytest.mark.parametrize("path", [*_modules("core"), *_modules("bot")], ids=_name)
def test_imports_are_plain(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "importlib" not in text and "find_spec" not in text and "optional_module" not in text
    for body in _guarded_bodies(ast.parse(text)):
        # The one guard left: readline, which some platforms (Windows) do not have.
        assert [ast.unparse(s) for s in body] == ["import readline"], f"{_name(path)}: {ast.unparse(body[0])}"


def test_the_bot_reads_the_wall_clock_in_one_place() -> None:
    readers = [
        _name(p) for p in _modules("bot") if re.search(r"datetime\.(now|utcnow)\(", p.read_text(encoding="utf-8"))
    ]
    assert readers == ["bot.clock"]
