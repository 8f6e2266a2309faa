"""core.deals.queries.list_deals_counted: the first page of a listing and how many match in all."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from core.db import UnitOfWork
from core.deals import deals
from core.deals.queries import list_deals_counted
from core.errors import NotAllowed
from core.workspace.users import Actor


def test_a_page_and_the_total_match_list_deals(uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor,
                                               now: datetime) -> None:
    for i in range(7):
        deals.create_deal(uow, ana, title=f"A{i}", stage="Proposal" if i % 2 else None,
                          expected_close=date(2026, 12, 1 + i), now=now)
    deals.create_deal(uow, bob, title="West deal", now=now)
    page, total = list_deals_counted(uow, ana, owner_ids=[ana.user_id], limit=3)
    assert [d.title for d in page] == ["A0", "A1", "A2"] and total == 7
    assert [d.title for d in page] == [d.title for d in deals.list_deals(uow, ana, owner_ids=[ana.user_id],
                                                                         limit=3)]
    page, total = list_deals_counted(uow, mia, team_id=ana.team_id, stage="proposal", limit=2)
    assert [d.title for d in page] == ["A1", "A3"] and total == 3
    page, total = list_deals_counted(uow, ana, limit=50)  # no filter: what Ana may read, not Bob's
    assert total == len(page) == 7


def test_it_refuses_what_list_deals_refuses(uow: UnitOfWork, ana: Actor, bob: Actor) -> None:
    with pytest.raises(NotAllowed, match="another team"):
        list_deals_counted(uow, ana, owner_ids=[bob.user_id])
    with pytest.raises(NotAllowed):
        list_deals_counted(uow, ana, team_id=bob.team_id)
