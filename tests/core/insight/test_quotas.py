"""Quarter quotas: who may set them, what periods read as quarters, attainment to date."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import UnitOfWork
from core.errors import InvalidInput, NotAllowed, NotFound
from core.insight.quotas import attainment, label_bounds, set_quota
from core.money import Money
from core.tables import Quota
from core.workspace.users import Actor
from tests.core.insight.analytics_data import add_deal


def usd(text: str) -> Money:
    return Money(Decimal(text), "USD")


def _quota_rows(uow: UnitOfWork) -> int:
    with uow.read() as s:
        return int(s.scalar(select(func.count(Quota.id))) or 0)


def test_a_manager_sets_their_team_and_rep_quotas(uow: UnitOfWork, mia: Actor, ana: Actor, now: datetime) -> None:
    team = set_quota(uow, mia, team_name="east", amount=usd("250000"), period="Q4", now=now)
    rep = set_quota(uow, mia, user_slack_id="UANA", amount=usd("100000"), period="2027-Q1", now=now)
    assert (team.period, team.team_name, team.amount, team.start, team.end) == (
        "2026-Q4", "East", Decimal("250000.00"), date(2026, 10, 1), date(2026, 12, 31)
    )
    assert (rep.period, rep.user_name, rep.whose) == ("2027-Q1", "Ana", "Ana")


def test_setting_again_replaces_the_quota(uow: UnitOfWork, mia: Actor, ana: Actor, now: datetime) -> None:
    set_quota(uow, mia, user_slack_id="UANA", amount=usd("100000"), period="Q4", now=now)
    again = set_quota(uow, mia, user_slack_id="UANA", amount=usd("120000"), period="this quarter", now=now)
    assert again.amount == Decimal("120000.00") and _quota_rows(uow) == 1


def test_a_rep_cannot_set_a_quota_and_nothing_changes(uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime) -> None:
    with pytest.raises(NotAllowed, match="manager"):
        set_quota(uow, ana, user_slack_id="UANA", amount=usd("1"), period="Q4", now=now)
    with pytest.raises(NotAllowed, match="manager of West"):
        set_quota(uow, ana, team_name="West", amount=usd("1"), period="Q4", now=now)
    assert _quota_rows(uow) == 0


def test_a_manager_cannot_set_another_teams_quota(uow: UnitOfWork, mia: Actor, bob: Actor, now: datetime) -> None:
    with pytest.raises(NotAllowed):
        set_quota(uow, mia, user_slack_id="UBOB", amount=usd("1"), period="Q4", now=now)
    assert _quota_rows(uow) == 0


def test_an_admin_sets_any_quota(uow: UnitOfWork, root: Actor, bob: Actor, now: datetime) -> None:
    view = set_quota(uow, root, team_name="West", amount=usd("0"), period="next quarter", now=now)
    assert (view.period, view.amount) == ("2027-Q1", Decimal("0.00"))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"team_name": "East", "amount": usd("-5"), "period": "Q4"}, InvalidInput, "cannot be negative"),
        ({"team_name": "East", "amount": usd("5"), "period": "someday"}, InvalidInput, "someday"),
        ({"team_name": "East", "amount": usd("5"), "period": "2026-11"}, InvalidInput, "per quarter"),
        ({"team_name": "East", "amount": usd("5"), "period": "Q5"}, InvalidInput, "Q5"),
        ({"team_name": "Nowhere", "amount": usd("5"), "period": "Q4"}, NotFound, "Teams: East"),
        ({"user_slack_id": "UNOBODY", "amount": usd("5"), "period": "Q4"}, NotFound, "UNOBODY"),
        ({"amount": usd("5"), "period": "Q4"}, InvalidInput, "either a rep"),
    ],
)
def test_bad_quota_input_is_refused_with_a_reason(
    uow: UnitOfWork, root: Actor, mia: Actor, now: datetime, kwargs: dict, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        set_quota(uow, root, now=now, **kwargs)
    assert _quota_rows(uow) == 0


def test_attainment_to_date(uow: UnitOfWork, mia: Actor, ana: Actor, bob: Actor, root: Actor, now: datetime) -> None:
    set_quota(uow, mia, team_name="East", amount=usd("10000"), period="Q4", now=now)
    set_quota(uow, root, team_name="West", amount=usd("5000"), period="Q4", now=now)
    set_quota(uow, mia, user_slack_id="UANA", amount=usd("8000"), period="Q4", now=now)
    add_deal(uow, ana, "3000", created=date(2026, 9, 1), won=date(2026, 10, 15))
    add_deal(uow, ana, "1000", created=date(2026, 9, 1), won=date(2026, 9, 30))  # Q3
    add_deal(uow, ana, "9000", created=date(2026, 9, 1), lost=date(2026, 11, 2))
    add_deal(uow, bob, "2500", created=date(2026, 10, 1), won=date(2026, 12, 31))
    with uow.read() as s:
        rep = attainment(s, ana.workspace_id, "2026-Q4", user_id=ana.user_id)
        east = attainment(s, ana.workspace_id, "2026-Q4", team_id=ana.team_id)
        everyone = attainment(s, ana.workspace_id, "2026-Q4")
        unset = attainment(s, ana.workspace_id, "2027-Q1", team_id=ana.team_id)
    assert (rep.won, rep.quota, rep.ratio, rep.remaining) == (
        Decimal("3000.00"), Decimal("8000.00"), Decimal("0.3750"), Decimal("5000.00")
    )
    assert (east.won, east.won_count, east.ratio) == (Decimal("3000.00"), 1, Decimal("0.3000"))
    assert (everyone.won, everyone.quota) == (Decimal("5500.00"), Decimal("15000.00"))  # team quotas summed
    assert unset.quota is None and unset.ratio is None and unset.remaining is None


def test_quarter_labels_must_be_well_formed() -> None:
    assert label_bounds("2026-q1") == (date(2026, 1, 1), date(2026, 3, 31))
    with pytest.raises(InvalidInput, match="2026-Q4"):
        label_bounds("Q4-2026")
