"""The predictive score: learns from closed leads, calibrated, explainable, honest with little data."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from core.leads import csv_io as lead_io
from core.leads import leads, predictive
from core.leads import quality as model_quality
from core.leads import training as lead_model
from core.leads.intake import clean_lead, intake
from core.tables import Lead, LeadStatus, Workspace


def synthetic(n: int, seed: int = 1) -> tuple[list[dict], list[int]]:
    """Leads whose source and time on site decide conversion (plus noise)."""
    rnd = random.Random(seed)
    rows, labels = [], []
    for _ in range(n):
        source = rnd.choice(["referral", "google", "ads", "olark"])
        minutes = rnd.uniform(0, 60)
        logit = {"referral": 2.0, "google": 0.0, "ads": -0.5, "olark": -1.5}[source] + (minutes - 30) / 10
        rows.append(
            {"source": source, "country": rnd.choice(["de", "in", ""]), "attributes": {"minutes": f"{minutes:.1f}"}}
        )
        labels.append(1 if rnd.random() < 1 / (1 + np.exp(-logit)) else 0)
    return [predictive.feature_values(r) for r in rows], labels


def test_learns_a_signal_calibrated_on_held_out_leads():
    rows, labels = synthetic(3000)
    ev = model_quality.evaluate(rows, labels, seed=0)
    assert ev.auc > 0.85 and ev.ece < 0.05
    assert sum(r.count for r in ev.table) == ev.n_test


def test_the_model_is_json_and_explains_each_lead():
    rows, labels = synthetic(1500)
    model = json.loads(json.dumps(predictive.train(rows, labels)))
    good = predictive.predict(model, {"source": "referral", "minutes": "55"})
    bad = predictive.predict(model, {"source": "olark", "minutes": "2"})
    assert good.probability > 0.9 > 0.1 > bad.probability
    assert {f.field for f in good.factors[:2]} <= {"source", "minutes", "source & minutes", "minutes & source"}
    assert good.factors[0].weight > 0 and bad.factors[0].weight < 0
    assert predictive.describe_factor(good.factors[0]).startswith("+ ")


def test_unknown_and_missing_values_fall_into_their_own_buckets():
    rows, labels = synthetic(800)
    model = predictive.train(rows, labels)
    p = predictive.predict(model, {"source": "carrier pigeon", "minutes": None})
    assert 0 < p.probability < 1
    assert {f.value for f in p.factors} & {"(other)", "(missing)"}


def test_with_too_little_history_it_says_how_much_more_it_needs():
    rows, _labels = synthetic(30)
    with pytest.raises(predictive.NotEnoughData) as err:
        predictive.train(rows[:25], [1] * 5 + [0] * 20)
    assert "15 more converted" in str(err.value) and "points score" in str(err.value)


def test_recent_outcomes_weigh_more():
    w = predictive.recency_weights(np.array([0.0, 180.0, 360.0]), 180.0)
    assert w[0] / w[1] == pytest.approx(2) and w[1] / w[2] == pytest.approx(2)
    assert w.mean() == pytest.approx(1)


def test_auc_and_ece_are_computed_right():
    y = np.array([0, 0, 1, 1])
    assert model_quality.auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert model_quality.auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert model_quality.ece(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx(0.0)
    assert model_quality.ece(np.array([1, 1]), np.array([0.75, 0.75])) == pytest.approx(0.25)


def test_excluded_columns_never_reach_the_model():
    values = predictive.feature_values(
        {
            "source": "x",
            "attributes": {
                "Tags": "Will revert",
                "Lead Quality": "High",
                "Asymmetrique Profile Score": "15",
                "City": "Pune",
            },
        }
    )
    assert set(values) == {"source", "country", "industry", "employees", "title", "City"}


def test_training_in_a_workspace_uses_its_closed_leads_and_scores_open_ones(uow, ana, now):
    rows, labels = synthetic(200, seed=3)
    with uow.transaction() as s:
        ws = s.get_one(Workspace, ana.workspace_id)
        items = [
            clean_lead({"name": f"L{i}", "source": r["source"], "attributes": {"minutes": r["minutes"]}})
            for i, r in enumerate(rows)
        ]
        intake(s, ws, items, now)
        for lead, label in zip(s.query(Lead).order_by(Lead.number), labels, strict=True):
            lead.status = LeadStatus.CONVERTED if label else LeadStatus.DISQUALIFIED
            lead.updated_at = now - timedelta(days=30)
        intake(s, ws, [clean_lead({"name": "Open one", "source": "referral", "attributes": {"minutes": "50"}})], now)
    results = lead_model.retrain_all(uow, now)
    assert results[0].trained and results[0].n == 200
    view = leads.get_lead(uow, ana, "Open one")
    assert view.predicted is not None and view.predicted > 60
    with uow.read() as s:
        assert lead_model.model_status(s, ana.workspace_id)["ready"] is True
        lead = s.query(Lead).filter(Lead.name == "Open one").one()
        explained = lead_model.explain(s, lead)
        assert explained is not None and explained.factors


def test_a_workspace_without_history_records_what_it_needs(uow, ana, now):
    results = lead_model.retrain_all(uow, now)
    assert not results[0].trained and "20 more converted" in results[0].message
    with uow.read() as s:
        status = lead_model.model_status(s, ana.workspace_id)
        assert status["ready"] is False and "more" in status["message"]


@pytest.mark.leads_csv
def test_leads_csv_imports_every_row_with_its_outcome(uow, ana, now, leads_csv):
    report = lead_io.import_leads(uow, ana.workspace_id, leads_csv, now=now)
    assert (report.created, report.errors) == (9240, [])
    with uow.read() as s:
        converted = s.scalar(select(func.count()).select_from(Lead).where(Lead.status == LeadStatus.CONVERTED))
        assert converted == 3561


@pytest.mark.leads_csv
def test_leads_csv_meets_the_quality_target_without_staff_filled_columns(leads_csv):
    rows, labels = lead_io.training_rows(leads_csv)
    assert len(rows) == 9240 and sum(labels) == 3561
    assert not any(k.lower().startswith(("tags", "lead quality", "asymmetrique", "lead profile")) for k in rows[0])
    ev = model_quality.evaluate(rows, labels, seed=0)
    assert ev.auc >= 0.90 and ev.ece < 0.05
    assert ev.train_seconds < 15  # the < 5 s goal is measured in tests/benchmarks (this box may be busy)


def test_outcomes_count_a_converted_lead_whose_deal_was_lost_as_a_loss(uow, ana, now):
    from core.deals import deals

    for name in ("Won one", "Lost one", "Open one", "No one"):
        leads.create_lead(uow, ana, {"name": name}, now=now)
    for ref in ("L-1", "L-2", "L-3"):
        leads.convert_lead(uow, ana, ref, now=now)
    deals.close_deal_won(uow, ana, "D-1", now=now)
    deals.close_deal_lost(uow, ana, "D-2", "price", now=now)
    leads.disqualify_lead(uow, ana, "L-4", "spam", now=now)
    with uow.read() as s:
        rows, labels, ages = lead_model.outcomes(s, ana.workspace_id, now + timedelta(days=10))
    assert sorted(labels) == [0, 0, 1, 1]  # lost deal and disqualified: 0; won and still open: 1
    assert all(a >= 9.9 for a in ages) and len(rows) == 4
