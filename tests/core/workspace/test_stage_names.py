"""The default stages speak the workspace's language: /salesbot setup switching to Turkish names
them Keşif … Kazanıldı, and back; a pipeline an admin shaped keeps its names."""
from __future__ import annotations

from datetime import datetime

from core.db import UnitOfWork
from core.deals import deals
from core.workspace import setup
from core.workspace.users import Actor


def _switch(uow: UnitOfWork, root: Actor, now: datetime, locale: str) -> None:
    current = setup.workspace_settings(uow, root)
    setup.update_workspace_settings(
        uow, root, now=now, default_currency=current.default_currency, locale=locale,
        digest_weekday=current.digest_weekday, digest_time=current.digest_time,
        hot_lead_threshold=current.hot_lead_threshold, quiet_start=current.quiet_start, quiet_end=current.quiet_end)


def _names(uow: UnitOfWork, root: Actor) -> list[str]:
    return [s.name for s in setup.pipeline_stages(uow, root)]


def test_default_stages_follow_the_workspace_language(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    deal = deals.create_deal(uow, root, title="Karadeniz", stage="Proposal", now=now)
    _switch(uow, root, now, "tr")
    assert _names(uow, root) == ["Keşif", "Nitelikli", "Teklif", "Pazarlık", "Kazanıldı", "Kaybedildi"]
    assert deals.get_deal(uow, root, deal.ref).stage == "Teklif"  # the same stage, renamed
    _switch(uow, root, now, "tr")  # saving again changes nothing
    assert _names(uow, root)[2] == "Teklif"
    _switch(uow, root, now, "en")
    assert _names(uow, root) == ["Prospecting", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]


def test_a_pipeline_an_admin_shaped_keeps_its_names(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    setup.update_pipeline_stages(uow, root, "Lead, 10%, 14\nDemo, 40%, 14\nContract, 80%, 7", now=now)
    before = _names(uow, root)
    _switch(uow, root, now, "tr")
    assert _names(uow, root) == before
