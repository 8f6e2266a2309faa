"""The rules file: every mistake reported with its line; valid files stored and loaded."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.leads.rules import DEFAULT_RULES, RulesInvalid, load_rules, parse_rules, save_rules
from core.tables import Workspace


def errors_of(text: str) -> list[str]:
    with pytest.raises(RulesInvalid) as err:
        parse_rules(text)
    return [str(e) for e in err.value.errors]


def test_every_mistake_is_listed_with_its_line():
    text = """\
fit:
  - {field: industry, inn: [SaaS], points: 10}
  - {field: employees, gte: many, points: 5}
  - {field: title, contains: vp}
engagement:
  half_life_days: 0
  groups: {email: 10}
  events:
    email_open: {points: 2, group: mail}
    tweet: {points: 1}
territories:
  - {country: Germany}
  - {region: EMEA, team: East}
colour: blue
"""
    assert errors_of(text) == [
        "line 2: unknown key 'inn'; operators are eq, ne, in, not_in, contains, gt, gte, lt, lte, present, missing",
        "line 2: a fit rule needs exactly one operator "
        "(eq, ne, in, not_in, contains, gt, gte, lt, lte, present, missing)",
        "line 3: gte should be a number, not 'many'",
        "line 4: a fit rule needs points: (e.g. points: 10)",
        "line 6: half_life_days should be more than 0",
        "line 9: group 'mail' is not under engagement.groups",
        "line 10: unknown event 'tweet'; events are email_open, email_click, page_view, form_submit, "
        "demo_request, meeting_booked, unsubscribe",
        "line 12: a territory needs team: (the team's name)",
        "line 13: unknown key 'region'; territories match on country, industry, source, employees_gte, employees_lt",
        "line 14: unknown section 'colour' (fit, engagement, territories)",
    ]


def test_broken_yaml_and_empty_files_are_reported_with_a_line():
    assert errors_of("fit:\n  - {field: x\n")[0].startswith("line 3: not valid YAML")
    assert errors_of("") == ["line 1: the file is empty: expected fit:, engagement: and territories:"]
    assert errors_of("- a\n- b\n") == ["line 1: the file should be a mapping (key: value)"]


def test_a_rules_error_is_a_user_error():
    with pytest.raises(InvalidInput):
        parse_rules("fit: 3")


def test_a_valid_file_parses_with_defaults_filled_in():
    rules = parse_rules("fit:\n  - {field: plan, eq: Pro, points: 5}\n")
    assert rules["fit"] == [
        {"field": "attributes.plan", "op": "eq", "value": "pro", "points": 5.0, "label": "plan eq pro"}
    ]
    assert rules["engagement"]["half_life_days"] == 14.0 and rules["territories"] == []


def test_rules_are_stored_per_workspace_and_bad_ones_change_nothing(uow, ana, now):
    with uow.transaction() as s:
        assert load_rules(s, ana.workspace_id) is DEFAULT_RULES
        save_rules(s, ana.workspace_id, "fit:\n  - {field: industry, eq: saas, points: 50}\n", now)
    with pytest.raises(RulesInvalid), uow.transaction() as s:
        save_rules(s, ana.workspace_id, "fit: nope\n", now)
    with uow.read() as s:
        rules = load_rules(s, ana.workspace_id)
        assert rules["fit"][0]["points"] == 50.0
        assert s.get(Workspace, ana.workspace_id) is not None
