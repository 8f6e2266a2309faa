"""`/pipeline forecast [mine|team] [quarter]` through signed requests and a fake Slack."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from slack_bolt import App

from bot.views.forecast import forecast_message
from core.db import UnitOfWork
from core.insight.forecast import forecast_report
from core.insight.quotas import set_quota
from core.money import Money
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message
from tests.bot.fake_slack import FakeSlack
from tests.bot.surfaces import command, text_of
from tests.core.insight.analytics_data import add_deal


def _history(uow: UnitOfWork, rep: Actor) -> None:
    """22 months of 3 deals a month (2 won, 1 lost, 40 days on), then two open deals this quarter."""
    for m in range(22):
        created = date(2025 + m // 12, m % 12 + 1, 5)
        closed = date.fromordinal(created.toordinal() + 40)
        for i in range(3):
            add_deal(uow, rep, "1000", created=created, **({"won": closed} if i < 2 else {"lost": closed}))
    add_deal(uow, rep, "5000", created=date(2026, 11, 1), stage="Negotiation", expected_close=date(2026, 12, 15))
    add_deal(uow, rep, "2000", created=date(2026, 11, 2), stage="Qualified", expected_close=date(2027, 2, 1))


def test_a_manager_sees_the_team_forecast_against_quota(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime
) -> None:
    _history(uow, ana)
    set_quota(uow, mia, team_name="East", amount=Money(Decimal("100000"), "USD"), period="Q4", now=now)
    body = command(app, fake_slack, "/pipeline", "forecast", user="UMIA")
    text = text_of(body)
    assert body["response_type"] == "ephemeral"
    assert "Forecast 2026-Q4 · team East" in text and "likely" in text
    assert "$100,000.00" in text and "gap to close" in text
    assert "Accuracy (backtest): last" in text and "within" in text
    assert "Next quarter 2027-Q1" in text
    assert "Commit* (75 %+)\n$9,000.00" in text  # won so far 4,000 + the Negotiation deal at full amount
    assert "Won so far*\n$4,000.00 (4 won) · 4 % of quota" in text


def test_a_team_without_history_gets_the_weighted_pipeline_only(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, bob: Actor
) -> None:
    add_deal(uow, bob, "4000", created=date(2026, 11, 1), stage="Proposal", expected_close=date(2026, 12, 1))
    text = text_of(command(app, fake_slack, "/pipeline", "forecast", user="UBOB"))
    assert "Can't learn from your history yet" in text and "weighted pipeline only" in text
    assert "Forecast 2026-Q4: $2,000.00" in text  # 50 % of 4,000
    assert "Quota*\nnot set" in text


def test_one_quarter_asked_by_name(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor) -> None:
    _history(uow, ana)
    text = text_of(command(app, fake_slack, "/pipeline", "forecast mine Q1"))
    assert "Forecast 2027-Q1 · your deals" in text and "Next quarter" not in text
    assert "Weighted*\n$500.00" in text  # the Qualified deal closing in February, at 25 %


def test_bad_quarters_are_answered_with_the_reason(app: App, fake_slack: FakeSlack, ana: Actor) -> None:
    assert "\"someday\" is not a quarter" in text_of(command(app, fake_slack, "/pipeline", "forecast someday"))
    assert "is not a quarter" in text_of(command(app, fake_slack, "/pipeline", "forecast next month"))
    assert "is not a quarter" in text_of(command(app, fake_slack, "/pipeline", "forecast 2026-Q9"))


def test_a_quarter_that_is_over_shows_how_it_landed(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                     ana: Actor) -> None:
    _history(uow, ana)
    text = text_of(command(app, fake_slack, "/pipeline", "forecast 2026-Q3"))
    assert "2026-Q3 landed at $" in text and "Forecast at its start:" in text


def test_the_view_is_valid_block_kit_for_a_rep(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    _history(uow, ana)
    body = forecast_message(forecast_report(uow, ana, "", now), ana)
    assert_valid_message(body)
    assert body["text"].startswith("Forecast 2026-Q4 (team East): $")


def test_kpi_blocks_and_the_forecast_line_for_home_and_digest(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime
) -> None:
    from bot.views.kpis import forecast_line, kpi_blocks
    from core.insight.forecast import quarter_forecast
    from core.insight.kpis import kpis

    _history(uow, ana)
    set_quota(uow, mia, team_name="East", amount=Money(Decimal("100000"), "USD"), period="Q4", now=now)
    with uow.read() as s:
        k = kpis(s, ana.workspace_id, date(2026, 1, 1), date(2026, 9, 30), team_id=ana.team_id)
        f = quarter_forecast(s, ana.workspace_id, now, team_id=ana.team_id)
    blocks = kpi_blocks(k, mia, "Team East")
    assert_valid_message({"text": "KPIs", "blocks": blocks})
    text = text_of({"blocks": blocks})
    assert "Win rate*\n66.7 % (18 won / 9 lost)" in text and "won ÷ (won + lost)" in text
    assert "median 40 days" in text and "Prospecting* → next: 66.7 %" in text
    line = forecast_line(f, "USD", "en")
    assert line.startswith("*2026-Q4 forecast* $") and "quota $100K" in line and "gap $" in line
    assert "last 3 quarters within" in line
