"""Hot-lead alerts: once per upward crossing, to the team channel (else the manager), bursts grouped."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.leads.events import clean_event, intake_events
from core.leads.intake import clean_lead, intake
from core.leads.rules import save_rules
from core.tables import Lead, OutboxMessage, Team, Workspace

RULES = """\
fit:
  - {field: title, eq: ceo, points: 50}
engagement:
  half_life_days: 1
  events:
    demo_request: {points: 30}
"""


def setup(uow, actor, now, channel="CEAST"):
    with uow.transaction() as s:
        save_rules(s, actor.workspace_id, RULES, now)
        team = s.scalar(select(Team).where(Team.name == "East"))
        team.channel_id = channel


def add(uow, actor, now, **fields):
    with uow.transaction() as s:
        return intake(s, s.get_one(Workspace, actor.workspace_id), [clean_lead(fields)], now)[0]


def demo(uow, actor, at, email, now):
    with uow.transaction() as s:
        ev = clean_event({"type": "demo_request", "email": email, "at": at.isoformat()})
        return intake_events(s, s.get_one(Workspace, actor.workspace_id), [ev], now)[0]


def alerts(uow):
    with uow.read() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_crossing_upward_alerts_once_and_again_only_after_cooling(uow, ana, now):
    setup(uow, ana, now)
    add(uow, ana, now, name="Zoe", email="zoe@a.io", title="CEO")
    assert alerts(uow) == []  # 50 < 70
    assert demo(uow, ana, now, "zoe@a.io", now).hot
    demo(uow, ana, now - timedelta(minutes=5), "zoe@a.io", now)  # still hot: no second alert
    sent = alerts(uow)
    assert len(sent) == 1 and sent[0].kind == "hot_lead" and sent[0].channel == "CEAST"
    data = sent[0].payload["data"]
    assert data["ref"] == "L-1" and data["score"] >= 70 and data["reasons"][0]["points"] > 0
    # Two days later the demos have decayed: a new fit-only update cools it...
    later = now + timedelta(days=3)
    add(uow, ana, later, email="zoe@a.io", company="A")
    with uow.read() as s:
        assert s.scalar(select(Lead.hot)) is False
    # ...and a fresh demo request is a new crossing.
    demo(uow, ana, later, "zoe@a.io", later)
    assert len(alerts(uow)) == 2


def test_without_a_channel_the_manager_gets_a_dm(uow, ana, mia, now):
    setup(uow, ana, now, channel=None)
    add(uow, ana, now, name="Zoe", email="zoe@a.io", title="CEO")
    demo(uow, ana, now, "zoe@a.io", now)
    assert [m.channel for m in alerts(uow)] == ["UMIA"]


def test_a_burst_becomes_one_grouped_message(uow, ana, now):
    setup(uow, ana, now)
    for i in range(5):
        add(uow, ana, now + timedelta(seconds=10 * i), name=f"Lead {i}", email=f"l{i}@a.io", title="CEO")
        demo(uow, ana, now + timedelta(seconds=10 * i), f"l{i}@a.io", now + timedelta(seconds=10 * i))
    msgs = alerts(uow)
    assert [m.kind for m in msgs] == ["hot_lead_burst"]
    assert [c["ref"] for c in msgs[0].payload["data"]["leads"]] == ["L-1", "L-2", "L-3", "L-4", "L-5"]


def test_alerts_already_sent_stay_single_and_the_rest_group(uow, ana, now):
    setup(uow, ana, now)
    add(uow, ana, now, name="A", email="a@a.io", title="CEO")
    demo(uow, ana, now, "a@a.io", now)
    with uow.transaction() as s:
        s.scalars(select(OutboxMessage)).one().status = "sent"
    for i, email in enumerate(["b@a.io", "c@a.io", "d@a.io"], start=1):
        at = now + timedelta(seconds=20 * i)
        add(uow, ana, at, name=email, email=email, title="CEO")
        demo(uow, ana, at, email, at)
    kinds = [(m.kind, [c["ref"] for c in m.payload["data"].get("leads", [])]) for m in alerts(uow)]
    assert kinds == [("hot_lead", []), ("hot_lead_burst", ["L-2", "L-3", "L-4"])]


def test_leads_spread_over_time_alert_one_by_one(uow, ana, now):
    setup(uow, ana, now)
    for i in range(3):
        at = now + timedelta(minutes=5 * i)
        add(uow, ana, at, name=f"L{i}", email=f"l{i}@a.io", title="CEO")
        demo(uow, ana, at, f"l{i}@a.io", at)
    assert [m.kind for m in alerts(uow)] == ["hot_lead"] * 3


def test_rescoring_after_a_rules_change_alerts_and_decay_cools(uow, ana, now):
    from core.leads.rescoring import rescore_all, rescore_workspace

    setup(uow, ana, now)
    add(uow, ana, now, name="Zoe", email="zoe@a.io", title="CTO")
    demo(uow, ana, now, "zoe@a.io", now)
    assert alerts(uow) == []  # 30: no fit points for a CTO
    with uow.transaction() as s:
        save_rules(s, ana.workspace_id, RULES.replace("eq: ceo", "in: [ceo, cto]"), now)
    assert rescore_workspace(uow, ana.workspace_id, now) == 1
    assert [m.kind for m in alerts(uow)] == ["hot_lead"]
    assert rescore_all(uow, now + timedelta(days=5)) == 1  # the demo decayed (half-life 1 day)
    with uow.read() as s:
        assert s.scalar(select(Lead.hot)) is False and s.scalar(select(Lead.score)) == 51


def test_a_lead_that_already_has_an_owner_raises_no_alert(uow, ana, now):
    from core.leads import leads

    setup(uow, ana, now)
    leads.create_lead(uow, ana, {"name": "Zoe", "email": "zoe@a.io", "title": "CEO"}, now=now)
    assert demo(uow, ana, now, "zoe@a.io", now).hot
    assert alerts(uow) == []


def test_a_queued_alert_is_read_with_the_leads_score_at_delivery(uow, ana, now):
    from core.leads.alerts import current_payload

    setup(uow, ana, now)
    add(uow, ana, now, name="Zoe", email="zoe@a.io", title="CEO")
    demo(uow, ana, now, "zoe@a.io", now)
    [queued] = alerts(uow)
    hot_score = queued.payload["data"]["score"]
    demo(uow, ana, now + timedelta(minutes=1), "zoe@a.io", now + timedelta(minutes=1))  # hotter, still queued
    with uow.read() as s:
        lead = s.scalars(select(Lead)).one()
        current = current_payload(s, ana.workspace_id, queued.payload)
        assert lead.score > hot_score
    data = current["data"]
    assert data["score"] == lead.score and data["reasons"] == list(lead.score_reasons)[:3]
    assert data["hot_since"] == queued.payload["data"]["hot_since"]  # the moment it speaks about stays
    assert queued.payload["data"]["score"] == hot_score  # the outbox row itself is untouched
    burst = {"view": "hot_lead_burst", "data": {"leads": [queued.payload["data"], {"lead_id": 999, "score": 1}]}}
    with uow.read() as s:
        cards = current_payload(s, ana.workspace_id, burst)["data"]["leads"]
        assert [c["score"] for c in cards] == [lead.score, 1]  # a lead gone keeps its queued data
        other = {"view": "nudge", "data": {"lead_id": lead.id, "score": 5}}
        assert current_payload(s, ana.workspace_id, other) == other
        assert current_payload(s, ana.workspace_id + 1, queued.payload)["data"]["score"] == hot_score  # tenant
