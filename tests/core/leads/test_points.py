"""Points scoring: fit rules, engagement decay by half-life, caps per group, reasons that add up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.leads.points import Reason, Scorer, ago, describe, rule_matches
from core.leads.rules import DEFAULT_RULES, parse_rules

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

RULES = parse_rules(
    """
fit:
  - {field: industry, in: [Software, SaaS], points: 15, label: target industry}
  - {field: employees, gte: 200, points: 10}
  - {field: plan, eq: enterprise, points: 5, label: enterprise plan}
engagement:
  half_life_days: 10
  groups: {email: 10}
  events:
    demo_request: {points: 40, label: demo requested}
    email_open: {points: 3, group: email, label: opened an email}
    email_click: {points: 6, group: email, label: clicked an email}
    unsubscribe: {points: -20}
"""
)


def test_fit_rules_add_their_points_with_their_labels():
    score = Scorer(RULES).score({"industry": "saas", "employees": 250, "attributes": {"plan": "Enterprise"}}, [], NOW)
    assert score.points == 30
    assert {r.label for r in score.reasons} == {"target industry", "employees gte 200.0", "enterprise plan"}


def test_an_event_loses_half_its_points_every_half_life():
    scorer = Scorer(RULES)
    fresh = scorer.score({}, [("demo_request", NOW)], NOW).points
    one = scorer.score({}, [("demo_request", NOW - timedelta(days=10))], NOW).points
    two = scorer.score({}, [("demo_request", NOW - timedelta(days=20))], NOW).points
    assert (fresh, one, two) == (40, 20, 10)


def test_a_group_is_capped_and_its_kinds_share_the_cap():
    events = [("email_open", NOW)] * 10 + [("email_click", NOW)] * 5  # 30 + 30 raw
    score = Scorer(RULES).score({}, events, NOW)
    assert score.points == 10
    opens = next(r for r in score.reasons if r.label == "opened an email")
    clicks = next(r for r in score.reasons if r.label == "clicked an email")
    assert (opens.points, opens.times, clicks.points, clicks.times) == (5, 10, 5, 5)


def test_negative_events_lower_the_score_but_never_below_zero():
    scorer = Scorer(RULES)
    assert scorer.score({}, [("unsubscribe", NOW)], NOW).points == 0
    s = scorer.score({"industry": "SaaS"}, [("demo_request", NOW), ("unsubscribe", NOW)], NOW)
    assert s.points == 35


def test_the_score_is_capped_at_100_and_unknown_events_are_ignored():
    events = [("demo_request", NOW)] * 5 + [("tweet", NOW)]
    assert Scorer(RULES).score({}, events, NOW).points == 100


def test_top_reasons_are_the_largest_and_read_like_a_sentence():
    events = [("demo_request", NOW - timedelta(days=2)), ("email_open", NOW - timedelta(hours=3))]
    score = Scorer(RULES).score({"industry": "software"}, events, NOW)
    top = score.top(2)
    assert [r.label for r in top] == ["demo requested", "target industry"]
    assert describe(top[0], NOW) == "+35 demo requested 2 days ago"
    assert describe(Reason(-20, "unsubscribed", NOW - timedelta(minutes=5)), NOW) == "−20 unsubscribed 5 minutes ago"
    assert ago(NOW - timedelta(hours=1), NOW) == "1 hour ago"


def test_reasons_round_trip_through_json():
    r = Reason(12, "clicked an email", NOW, 3)
    assert Reason.from_json(r.to_json()) == r


@pytest.mark.parametrize(
    ("rule", "fields", "expected"),
    [
        ({"field": "title", "op": "contains", "value": ["vp"]}, {"title": "VP of Sales"}, True),
        ({"field": "title", "op": "contains", "value": ["vp"]}, {"title": None}, False),
        ({"field": "employees", "op": "lt", "value": 10.0}, {"employees": "1,000"}, False),
        ({"field": "employees", "op": "gte", "value": 10.0}, {"employees": "n/a"}, False),
        ({"field": "email", "op": "present", "value": True}, {"email": "  "}, False),
        ({"field": "email", "op": "missing", "value": True}, {}, True),
        ({"field": "country", "op": "not_in", "value": ["india"]}, {"country": "India"}, False),
        ({"field": "country", "op": "ne", "value": "india"}, {"country": "Spain"}, True),
    ],
)
def test_operators(rule, fields, expected):
    assert rule_matches(rule, fields) is expected


def test_default_rules_make_a_demo_request_from_a_vp_hot():
    score = Scorer(DEFAULT_RULES).score(
        {"title": "VP Marketing", "employees": 120, "email": "a@b.io", "company": "B"},
        [("demo_request", NOW - timedelta(hours=1))],
        NOW,
    )
    assert score.points >= 70
