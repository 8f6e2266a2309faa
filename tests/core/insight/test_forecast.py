"""The quarter forecast: weighted / commit / best case, the history-based model and its range."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import select

from core.db import UnitOfWork
from core.errors import InvalidInput
from core.insight.forecast import forecast_report, nearest_quarter, next_quarter, quarter_forecast
from core.insight.history import History, day_number
from core.insight.projection import forecast_window
from core.insight.quotas import set_quota
from core.money import Money
from core.tables import User
from core.workspace.users import Actor, actor_of
from tests.core.insight.analytics_data import add_deal
from tests.core.insight.test_kpis_maven import demo  # noqa: F401  (a fixture)


def steady_history(months: int = 24, first: date = date(2025, 1, 1)) -> History:
    """Each month 10 deals start on the 10th; 6 are won and 4 lost on the 20th of the next month.

    Amounts 1,000.00 (hundredths in the arrays). No stage history: every deal in stage 0.
    """
    start, close, won = [], [], []
    for m in range(months):
        year, month = first.year + (first.month - 1 + m) // 12, (first.month - 1 + m) % 12 + 1
        ny, nm = year + month // 12, month % 12 + 1
        for i in range(10):
            start.append(day_number(date(year, month, 10)))
            close.append(day_number(date(ny, nm, 20)))
            won.append(i < 6)
    n = len(start)
    return History(
        start=np.array(start), close=np.array(close), won=np.array(won), amount=np.full(n, 100000.0),
        stage=np.zeros(n, int), probability=np.array([50.0]), stage_names=["Engaging"],
        change_deal=np.zeros(0, int), change_at=np.zeros(0), change_old=np.zeros(0, int),
        first_close=min(close),
    )


def test_the_model_learns_the_share_that_closes_in_the_window() -> None:
    h = steady_history()
    f = forecast_window(h, date(2026, 11, 1), date(2026, 11, 1), date(2026, 12, 1))
    # Open on Nov 1: October's 10 deals (22 days old); 6 of each such cohort closed won in the month.
    assert f.learned and f.expected == Decimal("6000.00") and f.run_rate == Decimal("0.00")
    assert f.low <= f.expected <= f.high
    assert f.windows[0] == date(2026, 8, 1)  # same month of the quarter, one quarter back


def test_the_model_never_looks_past_the_forecast_instant() -> None:
    h = steady_history()
    t = date(2026, 6, 1)
    before = forecast_window(h, t, t, date(2026, 7, 1))
    later = h.close >= day_number(t)
    # Rewrite every outcome known only after t: all lost, a year later. Nothing may change.
    future = replace(h, won=np.where(later, False, h.won), close=np.where(later, h.close + 365, h.close))
    assert forecast_window(future, t, t, date(2026, 7, 1)) == before


def test_deals_that_never_close_do_not_inflate_the_pipeline() -> None:
    h = steady_history()
    # Ten more deals of 1,000 start on 2026-04-10 and stay open forever.
    dormant = 10
    h = replace(
        h,
        start=np.concatenate([h.start, np.full(dormant, day_number(date(2026, 4, 10)))]),
        close=np.concatenate([h.close, np.full(dormant, np.inf)]),
        won=np.concatenate([h.won, np.zeros(dormant, bool)]),
        amount=np.concatenate([h.amount, np.full(dormant, 100000.0)]),
        stage=np.concatenate([h.stage, np.zeros(dormant, int)]),
    )
    f = forecast_window(h, date(2026, 6, 1), date(2026, 6, 1), date(2026, 7, 1))
    # On June 1 they are 52 days old, an age at which no deal was ever still open before: the
    # pile is read as deals that will not close (without that, the fallback rate of 60 % would
    # add 6,000). What remains is May's cohort, 6 of 10 won.
    assert f.from_pipeline == Decimal("6000.00") and f.top_down == Decimal("6000.00")
    assert f.expected == Decimal("6000.00") == f.bottom_up


def test_the_forecast_is_the_mean_of_pipeline_and_past_windows() -> None:
    h = steady_history()
    t = date(2026, 6, 1)
    # Twice the won value in May's cohort, known before June: both estimates see it differently.
    richer = replace(h, amount=np.where((h.start >= day_number(date(2026, 5, 1))) & (h.start < day_number(t)),
                                        200000.0, h.amount))
    f = forecast_window(richer, t, t, date(2026, 7, 1))
    # Pipeline: May's 10 open deals of 2,000 x 60 %; past windows (March, then December at half
    # weight) still brought 6,000.
    assert f.from_pipeline == Decimal("12000.00") and f.top_down == Decimal("6000.00")
    assert f.expected == (f.bottom_up + f.top_down) / 2 == Decimal("9000.00")
    # The two disagree by 6,000: the range is at least half that either side.
    assert f.low <= Decimal("6000.00") and f.high >= Decimal("12000.00")


def test_without_history_the_model_says_it_cannot_learn_yet() -> None:
    h = steady_history(months=1, first=date(2026, 10, 1))
    f = forecast_window(h, date(2026, 11, 1), date(2026, 11, 1), date(2026, 12, 1))
    assert not f.learned and "no full period" in f.reason
    f2 = forecast_window(steady_history(months=2, first=date(2026, 8, 1)), date(2026, 10, 1),
                         date(2026, 10, 1), date(2026, 11, 1))
    assert not f2.learned and "needs 20" in f2.reason  # one month of 10 closes is too little


def _open_deals(uow: UnitOfWork, ana: Actor) -> None:
    add_deal(uow, ana, "3000", created=date(2026, 9, 1), won=date(2026, 10, 15))
    add_deal(uow, ana, "1000", created=date(2026, 10, 1), stage="Negotiation", expected_close=date(2026, 12, 10))
    add_deal(uow, ana, "2000", created=date(2026, 10, 1), stage="Proposal", expected_close=date(2026, 12, 20))
    add_deal(uow, ana, "4000", created=date(2026, 10, 1), stage="Qualified", expected_close=date(2027, 1, 15))
    add_deal(uow, ana, "500", created=date(2026, 11, 1))  # no close date: counts in this quarter
    add_deal(uow, ana, "800", created=date(2026, 9, 1), stage="Proposal", expected_close=date(2026, 10, 1))


def test_weighted_commit_and_best_case_of_this_and_next_quarter(
    uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime
) -> None:
    _open_deals(uow, ana)
    set_quota(uow, mia, team_name="East", amount=Money(Decimal("10000"), "USD"), period="Q4", now=now)
    with uow.read() as s:
        this = quarter_forecast(s, ana.workspace_id, now, team_id=ana.team_id)
        following = quarter_forecast(s, ana.workspace_id, now, next_quarter(this.period), team_id=ana.team_id)
    assert (this.period, this.is_current, this.won_to_date) == ("2026-Q4", True, Decimal("3000.00"))
    assert this.weighted == Decimal("5200.00")  # 3000 + 75% of 1000 + 50% of 2000 + 10% of 500 + 50% of 800
    assert this.commit == Decimal("4000.00")  # won + the 75 % deal
    assert this.best_case == Decimal("7300.00")
    assert (this.deals_in_period, this.undated) == (4, 1)
    # One win is no history to learn from: the weighted figure is the forecast, against quota.
    assert not this.learned and this.expected == this.weighted and this.low is None
    assert (this.quota, this.gap, this.attainment) == (Decimal("10000.00"), Decimal("4800.00"), Decimal("0.3000"))
    assert (following.period, following.won_to_date) == ("2027-Q1", Decimal("0.00"))
    assert following.weighted == Decimal("1000.00")
    assert (following.commit, following.best_case, following.quota, following.gap) == (
        Decimal("0.00"), Decimal("4000.00"), None, None
    )


def test_a_history_makes_the_forecast_learn(uow: UnitOfWork, bob: Actor, now: datetime) -> None:
    # Two years of 3 deals a month for Bob: 2 won, 1 lost, 40 days after they start.
    for m in range(22):
        year, month = 2025 + m // 12, m % 12 + 1
        for i in range(3):
            created = date(year, month, 5)
            closed = date.fromordinal(created.toordinal() + 40)
            add_deal(uow, bob, "1000", created=created, **({"won": closed} if i < 2 else {"lost": closed}))
    with uow.read() as s:
        f = quarter_forecast(s, bob.workspace_id, now, owner_ids=[bob.user_id])
    assert f.learned and f.model.closed_seen >= 20
    assert f.low is not None and f.high is not None and f.low <= f.expected <= f.high
    # Won so far in Q4: the deals of Aug 5 .. Oct 5 closed in Oct 1 .. Nov 22: 2 a month x 2 months.
    assert f.won_to_date == Decimal("4000.00")
    assert f.accuracy is not None and f.accuracy.periods >= 1


def test_a_past_quarter_shows_how_it_landed_against_the_forecast_at_its_start(
    uow: UnitOfWork, demo: int  # noqa: F811
) -> None:
    with uow.read() as s:
        f = quarter_forecast(s, demo, datetime(2017, 12, 29, 13, tzinfo=UTC), "2017-Q3")
    assert f.is_past and f.actual == Decimal("2982255.00")  # SOURCE.md's 2017-Q3 won revenue
    # The forecast made on 1 July, as the backtest replays it: +4.7 %.
    assert f.learned and f.model.expected == Decimal("3121790.93") and f.landed_error == Decimal("0.0468")
    assert f.model_low <= f.actual <= f.model_high


def test_a_quarter_without_a_year_is_the_nearest_one(uow: UnitOfWork, demo: int) -> None:  # noqa: F811
    with uow.read() as s:
        dustin = s.scalar(select(User).where(User.workspace_id == demo, User.import_name == "Dustin Brinkmann"))
        assert dustin is not None
        actor = actor_of(s, dustin)
    at = datetime(2017, 12, 29, 13, tzinfo=UTC)
    assert forecast_report(uow, actor, "Q3", at).forecast.period == "2017-Q3"  # 3 months back, not 6 ahead
    assert forecast_report(uow, actor, "team q1", at).forecast.period == "2018-Q1"  # 3 days ahead
    assert nearest_quarter(4, date(2017, 12, 29)) == "2017-Q4"
    with pytest.raises(InvalidInput, match="is not a quarter"):
        forecast_report(uow, actor, "Q9", at)


def test_a_malformed_quarter_is_refused(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    with uow.read() as s, pytest.raises(InvalidInput, match="not a quarter"):
        quarter_forecast(s, ana.workspace_id, now, "Q4 of 2026")


def test_an_empty_workspace_forecasts_nothing_without_failing(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    with uow.read() as s:
        f = quarter_forecast(s, root.workspace_id, now)
    assert not f.learned and f.expected == Decimal("0.00") and f.accuracy is None
    assert (f.weighted, f.commit, f.best_case, f.gap) == (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), None)
