"""App Home: my open deals by stage, follow-ups, my teams' numbers — always within 100 blocks."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from slack_bolt import App

from bot.home import home_data
from bot.views.home import HomeData, HotLead, home_view
from core.db import UnitOfWork
from core.deals import deals
from core.money import Money
from core.notify.reminders import set_reminder
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_view
from tests.bot.fake_slack import FakeSlack
from tests.bot.signing import app_home_opened, send_event
from tests.bot.surfaces import published_views, text_of


def usd(x: str) -> Money:
    return Money(Decimal(x), "USD")


def open_home(app: App, fake: FakeSlack, user: str = "UANA") -> dict[str, Any]:
    fake.clear()
    assert send_event(app, app_home_opened(user)).status == 200
    views = published_views(fake)
    assert len(views) == 1 and fake.calls("views.publish")[0]["user_id"] == user
    return views[0]


def test_home_shows_my_deals_by_stage_and_my_follow_ups(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                        ana: Actor, bob: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme renewal", amount=usd("12000"), stage="Proposal", now=now)
    deals.create_deal(uow, ana, title="Globex", amount=usd("8000"), now=now)
    deals.create_deal(uow, bob, title="Not mine", now=now)
    set_reminder(uow, ana, deal_ref="D-1", due_at=now + timedelta(days=1), text="send the contract", now=now)
    view = open_home(app, fake_slack)
    text = text_of(view)
    assert view["type"] == "home"
    assert "Acme renewal" in text and "Globex" in text and "Not mine" not in text
    assert "*Proposal* (50%) — 1 · $12,000.00 · weighted $6,000.00" in text
    assert "2 open deals · $20,000.00 · weighted $6,800.00" in text
    assert "send the contract" in text


def test_a_manager_also_sees_the_team_numbers(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                             mia: Actor, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Acme renewal", amount=usd("12000"), now=now)
    text = text_of(open_home(app, fake_slack, "UMIA"))
    assert "Team East" in text and "1 open deal · $12,000.00" in text


def test_a_manager_sees_the_teams_quarter_numbers(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                                  mia: Actor, now: datetime) -> None:
    from core.insight.quotas import set_quota

    set_quota(uow, mia, team_name="East", amount=usd("50000"), period="Q4", now=now)
    deals.create_deal(uow, ana, title="Won one", amount=usd("12000"), now=now)
    deals.close_deal_won(uow, ana, "D-1", now=now)
    deals.create_deal(uow, ana, title="Lost one", amount=usd("3000"), now=now)
    deals.close_deal_lost(uow, ana, "D-2", "no budget", now=now)
    deals.create_deal(uow, ana, title="Open one", amount=usd("20000"), stage="Proposal", now=now)
    text = text_of(open_home(app, fake_slack, "UMIA"))
    assert "*Win rate 2026-Q4*\n50.0 % (1 won / 1 lost)" in text
    assert "*Won 2026-Q4 vs quota*\n$12,000.00 / 1 won of $50,000.00 (24.0 %)" in text
    assert "*Coverage*\n0.3× of quota left" in text  # $10,000 weighted ÷ $38,000 left
    assert "won ÷ (won + lost)" in text, "the win rate is shown with its definition"


def test_a_team_without_a_quota_says_so(app: App, fake_slack: FakeSlack, ana: Actor, mia: Actor) -> None:
    text = text_of(open_home(app, fake_slack, "UMIA"))
    assert "*Won 2026-Q4 vs quota*\n$0.00 / 0 won · no quota set" in text and "*Win rate 2026-Q4*\n—" in text


def test_a_rep_sees_no_team_numbers(app: App, fake_slack: FakeSlack, ana: Actor) -> None:
    text = text_of(open_home(app, fake_slack))
    assert "Team East" not in text and "No open deals" in text


def test_three_hundred_deals_stay_within_a_hundred_blocks(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                          ana: Actor, mia: Actor, now: datetime) -> None:
    stages = ["Prospecting", "Qualified", "Proposal", "Negotiation"]
    for i in range(300):
        deals.create_deal(uow, ana, title=f"Deal {i} " + "x" * 150, amount=usd(str(1000 + i)),
                          stage=stages[i % 4], now=now)
    for i in range(15):
        set_reminder(uow, ana, deal_ref=f"D-{i + 1}", due_at=now + timedelta(hours=i + 1), text="y" * 400, now=now)
    view = open_home(app, fake_slack)
    assert len(view["blocks"]) <= 100
    shown = sum(1 for b in view["blocks"] if b.get("accessory", {}).get("action_id") == "deal_show")
    assert 0 < shown < 300 and f"and {300 - shown} more" in text_of(view)


def test_the_home_view_holds_every_section_at_its_limits(uow: UnitOfWork, mia: Actor, ana: Actor,
                                                         now: datetime) -> None:
    for i in range(120):
        deals.create_deal(uow, ana, title=f"D{i}", amount=usd("1"), now=now)
    data = home_data(uow, mia, now)
    leads = [HotLead(f"L-{i}", "N" * 300, "C" * 300, 99) for i in range(30)]
    big = HomeData(stages=data.stages, deals=data.deals * 3, hot_leads=leads, hot_leads_total=30,
                   teams=data.teams * 8)
    for variant in (big, HomeData(), data):
        view = home_view(mia, variant, now)
        assert_valid_view(view)
        assert len(view["blocks"]) <= 100


def test_home_is_republished_after_a_command_changes_something(app: App, fake_slack: FakeSlack,
                                                              ana: Actor) -> None:
    from tests.bot.surfaces import deal

    deal(app, fake_slack, "new Acme 12k")
    views = published_views(fake_slack)
    assert views and "Acme" in text_of(views[-1])


def test_hot_leads_waiting_are_listed(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor,
                                      now: datetime) -> None:
    from core.tables import Lead, LeadStatus

    with uow.transaction() as s:
        s.add(Lead(workspace_id=ana.workspace_id, number=7, name="Grace Hopper", company="Navy", score=91, hot=True,
                   status=LeadStatus.NEW, created_at=now, updated_at=now))
        s.add(Lead(workspace_id=ana.workspace_id, number=8, name="Cold Carl", score=5, hot=False,
                   status=LeadStatus.NEW, created_at=now, updated_at=now))
    text = text_of(open_home(app, fake_slack))
    assert "*L-7* Grace Hopper · Navy · score 91" in text and "Cold Carl" not in text


def test_a_change_to_someone_elses_deal_refreshes_their_home_too(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                                  ana: Actor, mia: Actor, now: datetime) -> None:
    from tests.bot.surfaces import deal

    deals.create_deal(uow, ana, title="Acme renewal", amount=usd("12000"), now=now)
    deal(app, fake_slack, "stage D-1 proposal", user="UMIA")
    published = {c["user_id"]: c for c in fake_slack.calls("views.publish")}
    assert set(published) == {"UMIA", "UANA"}
    ana_home = next(v for v, c in zip(published_views(fake_slack), fake_slack.calls("views.publish"), strict=True)
                if c["user_id"] == "UANA")
    assert "Proposal 50%" in text_of(ana_home)
