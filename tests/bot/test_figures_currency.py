"""Currencies in figures (issue 10, point 2): never added raw; converted at the dated rate, marked "≈";
deals without a rate left out of the amount and counted in a visible note."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from slack_bolt import App

from bot.home import home_data
from bot.views.deals import deal_card
from bot.views.digest import digest_message
from bot.views.forecast import forecast_message
from bot.views.home import home_view
from bot.views.pipeline import pipeline_message
from core.db import UnitOfWork
from core.deals.deals import DealView, close_deal_won, create_deal
from core.insight.forecast import forecast_report
from core.insight.kpis import kpis, pipeline_by_stage
from core.insight.quotas import attainment
from core.money import Money
from core.notify.digest import digest_for
from core.tables import ExchangeRate
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack
from tests.bot.surfaces import command, text_of

D = Decimal


def _rate(uow: UnitOfWork, actor: Actor, currency: str, valid_from: date, rate: str) -> None:
    with uow.transaction() as s:
        s.add(ExchangeRate(workspace_id=actor.workspace_id, currency=currency, valid_from=valid_from, rate=D(rate),
                           created_at=datetime(2026, 1, 1, tzinfo=UTC)))


def _mixed(uow: UnitOfWork, ana: Actor, now: datetime) -> DealView:
    create_deal(uow, ana, title="Alpha", amount=Money(D("1000"), "USD"), now=now)
    delta = create_deal(uow, ana, title="Delta", amount=Money(D("1200000"), "EUR"), now=now)
    create_deal(uow, ana, title="Theta", amount=Money(D("12000"), "EUR"), now=now)
    create_deal(uow, ana, title="Gamma", amount=Money(D("12000"), "TRY"), now=now)
    return delta


def _text(msg: dict[str, object]) -> str:
    return text_of(msg)


def test_without_rates_other_currencies_are_left_out_and_counted(uow: UnitOfWork, ana: Actor, mia: Actor,
                                                                 now: datetime) -> None:
    _mixed(uow, ana, now)
    with uow.read() as s:
        stages = pipeline_by_stage(s, ana.workspace_id, team_id=ana.team_id, now=now)
    text = _text(pipeline_message(stages, mia, "team East"))
    # Four deals, but only the dollars are summed: never $1,212,012.00.
    assert "*Total* — 4 open deals · $1,000.00 · weighted $100.00" in text
    assert "2 deals in EUR, 1 deal in TRY left out of the amounts: no exchange rate" in text
    assert "`/salesbot rate EUR 1.08`" in text and "1,212,012" not in text
    home = _text(home_view(mia, home_data(uow, mia, now), now))
    assert "4 open deals · $1,000.00 · weighted $100.00" in home and "left out of the amounts" in home


def test_with_rates_each_deal_is_converted_and_marked(uow: UnitOfWork, ana: Actor, mia: Actor,
                                                      now: datetime) -> None:
    delta = _mixed(uow, ana, now)
    _rate(uow, ana, "EUR", date(2026, 1, 1), "1.08")
    _rate(uow, ana, "TRY", date(2026, 1, 1), "0.03")
    with uow.read() as s:
        stages = pipeline_by_stage(s, ana.workspace_id, team_id=ana.team_id, now=now)
    text = _text(pipeline_message(stages, mia, "team East"))
    # 1,000 + (1,200,000 + 12,000) x 1.08 + 12,000 x 0.03, all in Prospecting (10 %).
    assert "*Total* — 4 open deals · ≈ $1,310,320.00 · weighted ≈ $131,032.00" in text
    assert "left out" not in text
    # A deal's own card keeps its own currency.
    card = text_of({"blocks": deal_card(delta, ana.tz)})
    assert "*Amount*\n€1,200,000.00" in card


def test_closed_deals_convert_at_the_rate_of_their_close_day(uow: UnitOfWork, app: App, fake_slack: FakeSlack,
                                                             ana: Actor, mia: Actor, now: datetime) -> None:
    _rate(uow, ana, "EUR", date(2026, 1, 1), "1.00")
    _rate(uow, ana, "EUR", date(2026, 11, 1), "1.20")
    for title, closed in (("October", datetime(2026, 10, 15, 10, tzinfo=UTC)),
                          ("November", datetime(2026, 11, 20, 10, tzinfo=UTC))):
        deal = create_deal(uow, ana, title=title, amount=Money(D("1000"), "EUR"), now=closed)
        close_deal_won(uow, ana, deal.ref, now=closed)
    create_deal(uow, ana, title="Lira", amount=Money(D("5000"), "TRY"), now=now)  # no TRY rate
    expected = D("2200.00")  # 1,000 at 1.00 + 1,000 at 1.20: not today's 1.20 for both
    with uow.read() as s:
        k = kpis(s, ana.workspace_id, date(2026, 10, 1), date(2026, 12, 31), team_id=ana.team_id, now=now)
        att = attainment(s, ana.workspace_id, "2026-Q4", team_id=ana.team_id, now=now)
    assert (k.won_count, k.won_amount, k.approx) == (2, expected, True)
    assert k.missing == {"TRY": 1} and k.open_count == 1 and k.open_amount == D("0.00")
    assert (att.won_count, att.won, att.approx) == (2, expected, True)
    report = forecast_report(uow, mia, "team", now)
    assert report.forecast.won_to_date == expected and report.forecast.missing == {"TRY": 1}
    fc = _text(forecast_message(report, mia))
    assert "Won so far*\n≈ $2,200.00 (2 won)" in fc and "1 deal in TRY left out" in fc
    digest, locale = digest_for(uow, mia, now)
    assert digest.quarter_won == expected and digest.won == (1, D("1200.00"))  # the week of 16-22 November
    dg = _text(digest_message(digest, locale))
    assert "won ≈ $2,200.00" in dg and "1 deal in TRY left out" in dg
    assert "≈ $2,200.00" in text_of(command(app, fake_slack, "/pipeline", "forecast", user="UMIA"))
