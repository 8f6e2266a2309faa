"""The backtest: replaying the history period by period, on a steady history and on Maven's."""
from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta

from core.db import UnitOfWork
from core.errors import InvalidInput
from core.insight.backtest import backtest
from core.insight.history import History, day_number, load_history
from core.insight.projection import forecast_window
from core.workspace.users import Actor
from tests.core.insight.analytics_data import add_deal
from tests.core.insight.test_kpis_maven import demo, source_table  # noqa: F401  (demo is a fixture)


def _steady(uow: UnitOfWork, ana: Actor, months: int = 15) -> None:
    """From January 2025, 10 deals of 1,000 start each month on the 10th; 6 are won, 4 lost, next month."""
    for m in range(months):
        year, month = 2025 + m // 12, m % 12 + 1
        closes = date(year + month // 12, month % 12 + 1, 20)
        for i in range(10):
            outcome = {"won": closes} if i < 6 else {"lost": closes}
            add_deal(uow, ana, "1000", created=date(year, month, 10), **outcome)


def test_a_steady_history_is_forecast_exactly(uow: UnitOfWork, ana: Actor) -> None:
    _steady(uow, ana)
    with uow.read() as s:
        result = backtest(s, ana.workspace_id, "month", date(2026, 1, 1))
    # Periods from the first close (Feb 2025) to the last whole month before the 1st of January.
    assert [r.label for r in result.rows] == [f"2025-{m:02d}" for m in range(2, 13)]
    assert all(r.actual == Decimal("6000.00") for r in result.rows)
    learned = result.learned_rows
    # April learns from February and March (no earlier quarter yet); later months from earlier quarters.
    assert learned and learned[0].label == "2025-04"
    assert not result.rows[0].history.learned and "no full period" in result.rows[0].history.reason
    assert all(r.history.expected == Decimal("6000.00") for r in learned)
    assert result.mape("history") == Decimal("0") == result.mape("naive")
    # 10 open deals in Prospecting (10 %) at each month's start, rebuilt from the stage history.
    assert all(r.weighted == Decimal("1000.00") for r in learned)
    assert result.mape("weighted") == Decimal("0.8333")
    assert result.worst("history", 3) == (3, Decimal("0"))
    assert all(r.low <= r.actual <= r.high for r in learned) and result.coverage() == (len(learned), len(learned))


def test_quarters_replay_too(uow: UnitOfWork, ana: Actor) -> None:
    _steady(uow, ana)
    with uow.read() as s:
        result = backtest(s, ana.workspace_id, "quarter", date(2026, 4, 1))
    assert [r.label for r in result.rows] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]
    # Q1 2026: December's deals close in January, and January's and February's within the quarter.
    assert result.rows[-1].actual == Decimal("18000.00")


def test_bad_periods_and_empty_histories(uow: UnitOfWork, ana: Actor) -> None:
    with uow.read() as s:
        with pytest.raises(InvalidInput, match="month or quarter"):
            backtest(s, ana.workspace_id, "week", date(2026, 1, 1))
        assert backtest(s, ana.workspace_id, "month", date(2026, 1, 1)).rows == []
    _steady(uow, ana, months=2)
    with uow.read() as s:
        young = backtest(s, ana.workspace_id, "month", date(2025, 4, 1))
    assert young.rows and not young.learned_rows and young.mape("history") is None


def _month_bounds(label: str) -> tuple[date, date]:
    year, month = map(int, label.split("-"))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def test_maven_backtest_by_month(uow: UnitOfWork, demo: int) -> None:  # noqa: F811
    """April-December 2017, each month forecast from the pipeline as it stood on the 1st."""
    with uow.read() as s:
        result = backtest(s, demo, "month", date(2018, 1, 1))
    published = {r["period"]: Decimal(r["won revenue"].replace(",", "")) for r in source_table("#### Won deals")}
    learned = result.learned_rows
    assert [r.label for r in learned] == [f"2017-{m:02d}" for m in range(4, 13)]
    assert all(r.actual == published[r.label] for r in learned)  # what closed, as SOURCE.md counts it
    naive, history, weighted = result.mape("naive"), result.mape("history"), result.mape("weighted")
    assert naive == Decimal("0.3985")  # last month's won revenue misses by 39.9 % on average
    # The aim: a mean absolute percentage error under 15 %. Measured: 12.2 % (April, with only
    # March's backlog to learn from, is +58 %; May-December are within 16 %).
    assert history is not None and history <= Decimal("0.13") < Decimal("0.15")
    assert all(abs(e) <= Decimal("0.16") for e in result.errors("history")[1:])
    assert weighted is not None and weighted > naive  # Engaging at 88 % with no close dates: far off
    # Each forecast is the mean of its two estimates; July's past window is April alone, so
    # its top-down figure is April's won revenue.
    assert all(abs(r.history.expected - (r.history.bottom_up + r.history.top_down) / 2) <= Decimal("0.01")
               for r in learned)
    assert learned[3].label == "2017-07" and learned[3].history.top_down == published["2017-04"]
    # The range users see is the forecast -/+ the 80th percentile of the errors of the months
    # that had ended before it: it held 8 of the 9 actuals (89 % for a nominal 80 %); April,
    # with no track record yet, shows the model's own band, and missed (+58 %).
    assert result.coverage() == (8, 9) and len(result.scored_rows) == 9
    assert not learned[0].low <= learned[0].actual <= learned[0].high
    assert result.bias("history") == Decimal("0.0920")  # forecasts ran high on average


def test_maven_backtest_replays_only_the_span_of_the_data(uow: UnitOfWork, demo: int) -> None:  # noqa: F811
    """Asked up to a late date, it still stops with December 2017, where the data ends."""
    with uow.read() as s:
        months = backtest(s, demo, "month", date(2026, 11, 30))
        quarters = backtest(s, demo, "quarter", date(2026, 11, 30))
    assert months.rows[-1].label == "2017-12" and len(months.rows) == 10
    assert len(months.scored_rows) == 9 and months.mape("history") == Decimal("0.1215")
    assert quarters.rows[-1].label == "2017-Q4" and len(quarters.rows) == 4
    # Two quarters scored; their ranges (calibrated on the months' errors while there are
    # fewer than 4 quarters) held both actuals.
    assert len(quarters.scored_rows) == 2 and quarters.coverage() == (2, 2)
    assert quarters.mape("history") == Decimal("0.0641") == quarters.bias("history")


def _rewrite_the_future(h: History, t: date) -> History:
    """Every outcome after t turned around (lost, a year later) and every deal started from t on worth 10 x."""
    tt = day_number(t)
    later, new = h.close >= tt, h.start >= tt
    return replace(
        h,
        won=np.where(later, ~h.won, h.won),
        close=np.where(later, h.close + 365, h.close),
        amount=np.where(new, h.amount * 10, h.amount),
    )


def test_maven_forecasts_never_look_past_their_instant(uow: UnitOfWork, demo: int) -> None:  # noqa: F811
    with uow.read() as s:
        h = load_history(s, demo)
    for t, months in ((date(2017, 4, 1), 1), (date(2017, 9, 1), 1), (date(2017, 10, 1), 3)):
        end = t + relativedelta(months=months)
        made = forecast_window(h, t, t, end)
        assert made.learned and made == forecast_window(_rewrite_the_future(h, t), t, t, end)


def test_maven_backtest_by_quarter(uow: UnitOfWork, demo: int) -> None:  # noqa: F811
    with uow.read() as s:
        result = backtest(s, demo, "quarter", date(2018, 1, 1))
    errors = {r.label: r.history_error for r in result.learned_rows}
    assert set(errors) == {"2017-Q3", "2017-Q4"}  # Q2 has no whole earlier quarter of closes to learn from
    q3, q4 = errors["2017-Q3"], errors["2017-Q4"]
    # The aim was within 5 %. Measured: Q3 +4.7 % (met), Q4 +8.1 % (missed: the pile of July
    # and August deals that never close, and the fall in new deals in November and December,
    # are not visible on October 1; last quarter's revenue as the forecast misses by 6.4 %).
    assert q3 is not None and abs(q3) <= Decimal("0.05")
    assert q4 is not None and abs(q4) <= Decimal("0.09")
