"""`salesbot leads ...`: rules check / set (line-numbered errors), evaluate, train."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from core.tables import WorkspaceConfig


@pytest.fixture
def run(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_rules_check_lists_mistakes_with_lines_and_exits_1(run, tmp_path):
    bad = tmp_path / "rules.yml"
    bad.write_text("fit:\n  - {field: industry, eq: saas}\nengagement:\n  events:\n    tweet: {points: 1}\n")
    result = run("leads", "rules", "check", str(bad))
    assert result.exit_code == 1
    assert "rules.yml:2: a fit rule needs points:" in result.output
    assert "rules.yml:5: unknown event 'tweet'" in result.output
    good = tmp_path / "good.yml"
    good.write_text("fit:\n  - {field: industry, eq: saas, points: 10}\n")
    ok = run("leads", "rules", "check", str(good))
    assert ok.exit_code == 0 and "OK — 1 fit rule(s)" in ok.output


def test_rules_set_stores_good_rules_only(run, uow, ana, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("fit: nope\n")
    assert run("leads", "rules", "set", str(bad)).exit_code == 1
    with uow.read() as s:
        assert s.scalar(select(WorkspaceConfig).where(WorkspaceConfig.name == "scoring_rules")) is None
    good = tmp_path / "good.yml"
    good.write_text("fit:\n  - {field: industry, eq: saas, points: 10}\n")
    result = run("leads", "rules", "set", str(good))
    assert result.exit_code == 0 and "saved" in result.output
    shown = run("leads", "rules", "show")
    assert "field: industry, eq: saas" in shown.output


def test_train_says_it_needs_more_history(run, uow, ana):
    result = run("leads", "train")
    assert result.exit_code == 1 and "20 more converted" in result.output


@pytest.mark.leads_csv
def test_evaluate_on_leads_csv_prints_auc_ece_and_the_columns_left_out(run, leads_csv):
    result = run("leads", "evaluate", str(leads_csv))
    assert result.exit_code == 0, result.output
    assert "Tags (filled in by sales staff" in result.output and "Lead Quality (" in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("AUC"))
    auc, ece = float(line.split()[1]), float(line.split()[3])
    assert auc >= 0.90 and ece < 0.05
    assert "0.9–1.0" in result.output


def test_evaluate_refuses_a_file_without_outcomes(run, tmp_path):
    f = tmp_path / "leads.csv"
    f.write_text("name,email\nA,a@x.io\n")
    result = run("leads", "evaluate", str(f))
    assert result.exit_code == 1 and "No closed leads" in result.output
