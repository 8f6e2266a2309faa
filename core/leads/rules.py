"""The lead rules file: fit points, engagement points, territories (YAML), checked line by line.

An admin edits one YAML file and `salesbot leads rules check FILE` lists every mistake with
its line, so a typo never silently turns a rule off. The checked rules are stored as JSON in
workspace_configs (name "scoring_rules"); a workspace without its own uses DEFAULT_RULES_YAML.

    fit:
      - {field: industry, in: [Software, SaaS], points: 15, label: target industry}
      - {field: employees, gte: 200, points: 10}
    engagement:
      half_life_days: 14
      groups: {email: 15, web: 20}          # cap per group, in points
      events:
        demo_request: {points: 25, label: demo requested}
        email_open: {points: 2, group: email}
    territories:
      - {country: [Germany, France], team: EMEA}
      - {employees_gte: 1000, team: Enterprise}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.tables import WorkspaceConfig

CONFIG_NAME = "scoring_rules"
LEAD_FIELDS = ("name", "email", "company", "title", "phone", "source", "country", "industry", "employees")
OPERATORS = ("eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "present", "missing")
NUMERIC_OPS = ("gt", "gte", "lt", "lte")
EVENT_KINDS = (
    "email_open",
    "email_click",
    "page_view",
    "form_submit",
    "demo_request",
    "meeting_booked",
    "unsubscribe",
)
TERRITORY_KEYS = ("country", "industry", "source", "employees_gte", "employees_lt")

DEFAULT_RULES_YAML = """\
fit:
  - {field: title, contains: [vp, head, director, chief, founder, owner], points: 15, label: decision-maker title}
  - {field: employees, gte: 50, points: 10, label: 50+ employees}
  - {field: employees, gte: 1000, points: 10, label: 1000+ employees}
  - {field: source, in: [referral, reference, partner], points: 15, label: referral}
  - {field: email, present: true, points: 5, label: has an email}
  - {field: company, present: true, points: 5, label: company known}
engagement:
  half_life_days: 14
  groups: {email: 15, web: 20}
  events:
    email_open: {points: 2, group: email, label: opened an email}
    email_click: {points: 5, group: email, label: clicked an email}
    page_view: {points: 2, group: web, label: viewed a page}
    form_submit: {points: 15, group: web, label: submitted a form}
    demo_request: {points: 40, label: demo requested}
    meeting_booked: {points: 40, label: meeting booked}
    unsubscribe: {points: -30, label: unsubscribed}
territories: []
"""


@dataclass(frozen=True)
class RuleError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class RulesInvalid(InvalidInput):
    """A rules file with mistakes; `errors` lists each with its line."""

    def __init__(self, errors: list[RuleError]) -> None:
        super().__init__("The rules file has mistakes:\n" + "\n".join(str(e) for e in errors), field="rules")
        self.errors = errors


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: yaml.Node, errors: list[RuleError], what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """Key -> (key node, value node) of a YAML mapping, with an error if it is not one."""
    if not isinstance(node, yaml.MappingNode):
        errors.append(RuleError(_line(node), f"{what} should be a mapping (key: value)"))
        return {}
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for k, v in node.value:
        key = str(k.value)
        if key in out:
            errors.append(RuleError(_line(k), f"{key!r} is given twice in {what}"))
        out[key] = (k, v)
    return out


def _scalar(node: yaml.Node) -> Any:
    """The Python value of a scalar or a list of scalars (YAML's own typing)."""
    return yaml.safe_load(yaml.serialize(node))


def _number(node: yaml.Node, errors: list[RuleError], what: str) -> float | None:
    value = _scalar(node) if isinstance(node, yaml.ScalarNode) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(RuleError(_line(node), f"{what} should be a number, not {getattr(node, 'value', '...')!r}"))
        return None
    return float(value)


def _check_fit(node: yaml.Node, errors: list[RuleError]) -> list[dict[str, Any]]:
    if not isinstance(node, yaml.SequenceNode):
        errors.append(RuleError(_line(node), "fit should be a list of rules (lines starting with '- ')"))
        return []
    rules = []
    for item in node.value:
        m = _mapping(item, errors, "a fit rule")
        if not m:
            continue
        rule: dict[str, Any] = {}
        if "field" not in m:
            errors.append(RuleError(_line(item), "a fit rule needs field: (e.g. field: industry)"))
        else:
            field = str(_scalar(m["field"][1]))
            rule["field"] = field
            if field.startswith("attributes."):
                rule["field"] = field
            elif field not in LEAD_FIELDS:
                # Anything else is read from the lead's free attributes.
                rule["field"] = "attributes." + field
        ops = [k for k in m if k in OPERATORS]
        unknown = [k for k in m if k not in OPERATORS and k not in ("field", "points", "label")]
        for k in unknown:
            errors.append(RuleError(_line(m[k][0]), f"unknown key {k!r}; operators are {', '.join(OPERATORS)}"))
        if len(ops) != 1:
            errors.append(RuleError(_line(item), f"a fit rule needs exactly one operator ({', '.join(OPERATORS)})"))
        else:
            op = ops[0]
            value = _scalar(m[op][1])
            if op in NUMERIC_OPS:
                value = _number(m[op][1], errors, op)
            elif op in ("in", "not_in", "contains"):
                value = value if isinstance(value, list) else [value]
                value = [str(v).casefold() for v in value]
            elif op in ("eq", "ne"):
                value = str(value).casefold()
            elif op in ("present", "missing") and not isinstance(value, bool):
                errors.append(RuleError(_line(m[op][1]), f"{op} should be true or false"))
            rule["op"], rule["value"] = op, value
        if "points" not in m:
            errors.append(RuleError(_line(item), "a fit rule needs points: (e.g. points: 10)"))
        else:
            pts = _number(m["points"][1], errors, "points")
            rule["points"] = pts
        label = _scalar(m["label"][1]) if "label" in m else None
        rule["label"] = str(label) if label else _default_label(rule)
        rules.append(rule)
    return rules


def _default_label(rule: dict[str, Any]) -> str:
    field = str(rule.get("field", "?")).removeprefix("attributes.")
    value = rule.get("value")
    if isinstance(value, list):
        value = "/".join(str(v) for v in value[:3])
    return f"{field} {rule.get('op', '')} {value}".strip()


def _check_engagement(node: yaml.Node, errors: list[RuleError]) -> dict[str, Any]:
    m = _mapping(node, errors, "engagement")
    out: dict[str, Any] = {"half_life_days": 14.0, "groups": {}, "events": {}}
    for k in m:
        if k not in ("half_life_days", "groups", "events"):
            errors.append(
                RuleError(_line(m[k][0]), f"unknown key {k!r} in engagement (half_life_days, groups, events)")
            )
    if "half_life_days" in m:
        hl = _number(m["half_life_days"][1], errors, "half_life_days")
        if hl is not None and hl <= 0:
            errors.append(RuleError(_line(m["half_life_days"][1]), "half_life_days should be more than 0"))
        elif hl is not None:
            out["half_life_days"] = hl
    if "groups" in m:
        for name, (knode, vnode) in _mapping(m["groups"][1], errors, "groups").items():
            cap = _number(vnode, errors, f"the cap of group {name}")
            if cap is not None and cap < 0:
                errors.append(RuleError(_line(knode), f"the cap of group {name} should be 0 or more"))
            elif cap is not None:
                out["groups"][name] = cap
    if "events" in m:
        for kind, (knode, vnode) in _mapping(m["events"][1], errors, "events").items():
            if kind not in EVENT_KINDS:
                errors.append(RuleError(_line(knode), f"unknown event {kind!r}; events are {', '.join(EVENT_KINDS)}"))
                continue
            em = _mapping(vnode, errors, f"event {kind}")
            if not em:
                continue
            event: dict[str, Any] = {"label": kind.replace("_", " ")}
            for k in em:
                if k not in ("points", "group", "label"):
                    errors.append(
                        RuleError(_line(em[k][0]), f"unknown key {k!r} in event {kind} (points, group, label)")
                    )
            if "points" not in em:
                errors.append(RuleError(_line(knode), f"event {kind} needs points:"))
            else:
                event["points"] = _number(em["points"][1], errors, "points")
            if "group" in em:
                group = str(_scalar(em["group"][1]))
                if group not in out["groups"]:
                    errors.append(RuleError(_line(em["group"][1]), f"group {group!r} is not under engagement.groups"))
                event["group"] = group
            if "label" in em:
                event["label"] = str(_scalar(em["label"][1]))
            out["events"][kind] = event
    return out


def _check_territories(node: yaml.Node, errors: list[RuleError]) -> list[dict[str, Any]]:
    if not isinstance(node, yaml.SequenceNode):
        errors.append(RuleError(_line(node), "territories should be a list (lines starting with '- ')"))
        return []
    out = []
    for item in node.value:
        m = _mapping(item, errors, "a territory")
        if not m:
            continue
        terr: dict[str, Any] = {}
        if "team" not in m:
            errors.append(RuleError(_line(item), "a territory needs team: (the team's name)"))
        else:
            terr["team"] = str(_scalar(m["team"][1]))
        for k, (knode, vnode) in m.items():
            if k == "team":
                continue
            if k not in TERRITORY_KEYS:
                errors.append(
                    RuleError(_line(knode), f"unknown key {k!r}; territories match on {', '.join(TERRITORY_KEYS)}")
                )
            elif k.startswith("employees"):
                terr[k] = _number(vnode, errors, k)
            else:
                v = _scalar(vnode)
                terr[k] = [str(x).casefold() for x in (v if isinstance(v, list) else [v])]
        out.append(terr)
    return out


def parse_rules(text: str) -> dict[str, Any]:
    """Check a rules file; return its rules as JSON-ready data or raise RulesInvalid listing every mistake."""
    errors: list[RuleError] = []
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulesInvalid([RuleError(line, f"not valid YAML: {problem}")]) from None
    if root is None:
        raise RulesInvalid([RuleError(1, "the file is empty: expected fit:, engagement: and territories:")])
    top = _mapping(root, errors, "the file")
    for k in top:
        if k not in ("fit", "engagement", "territories"):
            errors.append(RuleError(_line(top[k][0]), f"unknown section {k!r} (fit, engagement, territories)"))
    rules: dict[str, Any] = {
        "fit": _check_fit(top["fit"][1], errors) if "fit" in top else [],
        "engagement": _check_engagement(top["engagement"][1], errors)
        if "engagement" in top
        else {"half_life_days": 14.0, "groups": {}, "events": {}},
        "territories": _check_territories(top["territories"][1], errors) if "territories" in top else [],
    }
    if errors:
        raise RulesInvalid(sorted(errors, key=lambda e: e.line))
    rules["source"] = text
    return rules


DEFAULT_RULES: dict[str, Any] = parse_rules(DEFAULT_RULES_YAML)


def load_rules(session: Session, workspace_id: int) -> dict[str, Any]:
    """The workspace's checked rules, or the defaults."""
    cfg = session.scalar(
        select(WorkspaceConfig).where(WorkspaceConfig.workspace_id == workspace_id, WorkspaceConfig.name == CONFIG_NAME)
    )
    return dict(cfg.data) if cfg is not None and cfg.data else DEFAULT_RULES


def save_rules(session: Session, workspace_id: int, text: str, now: datetime) -> dict[str, Any]:
    """Check and store a rules file for a workspace (RulesInvalid and nothing stored when wrong)."""
    rules = parse_rules(text)
    cfg = session.scalar(
        select(WorkspaceConfig).where(WorkspaceConfig.workspace_id == workspace_id, WorkspaceConfig.name == CONFIG_NAME)
    )
    if cfg is None:
        cfg = WorkspaceConfig(workspace_id=workspace_id, name=CONFIG_NAME, data=rules, updated_at=now)
        session.add(cfg)
    else:
        cfg.data = rules
        cfg.updated_at = now
    session.flush()
    return rules
