"""core.deals.queries.split_ref: the deal named at the start of some words, and the words after it."""
from __future__ import annotations

from datetime import datetime

import pytest

from core.db import UnitOfWork
from core.deals import deals
from core.deals.queries import AmbiguousRef, split_ref
from core.errors import InvalidInput, NotFound
from core.workspace.users import Actor


@pytest.fixture
def titles(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    for title in ("Acme renewal", "Acme expansion", "Acme", "Globex renewal 2027"):
        deals.create_deal(uow, ana, title=title, now=now)


def split(uow: UnitOfWork, ana: Actor, text: str, min_rest: int = 0) -> tuple[str, list[str]]:
    with uow.read() as s:
        deal, rest = split_ref(s, ana.workspace_id, text.split(), min_rest=min_rest)
        return deal.title, rest


def test_the_longest_run_that_names_one_deal_wins(uow: UnitOfWork, ana: Actor, titles: None) -> None:
    assert split(uow, ana, "acme renewal call went well") == ("Acme renewal", ["call", "went", "well"])
    assert split(uow, ana, "ACME EXPANSION") == ("Acme expansion", [])
    assert split(uow, ana, "acme hello") == ("Acme", ["hello"])  # the exact title "Acme"
    assert split(uow, ana, "globex budget ok") == ("Globex renewal 2027", ["budget", "ok"])
    assert split(uow, ana, "D-2 acme renewal") == ("Acme expansion", ["acme", "renewal"])
    assert split(uow, ana, "3 hi") == ("Acme", ["hi"])


def test_min_rest_leaves_words_for_what_follows(uow: UnitOfWork, ana: Actor, titles: None) -> None:
    assert split(uow, ana, "acme renewal proposal", min_rest=1) == ("Acme renewal", ["proposal"])
    assert split(uow, ana, "acme expansion", min_rest=1) == ("Acme", ["expansion"])
    with pytest.raises(InvalidInput, match="Which deal"):
        split(uow, ana, "proposal", min_rest=1)


def test_a_longer_ambiguous_run_is_asked_about(uow: UnitOfWork, ana: Actor, titles: None, now: datetime) -> None:
    deals.create_deal(uow, ana, title="Initech Corp renewal", now=now)
    deals.create_deal(uow, ana, title="Initech Corp expansion", now=now)
    deals.create_deal(uow, ana, title="Initech", now=now)
    with pytest.raises(AmbiguousRef) as err:
        split(uow, ana, "initech corp called back")
    assert sorted(d.title for d in err.value.candidates) == ["Initech Corp expansion", "Initech Corp renewal"]
    assert err.value.rest == ["called", "back"]


def test_nothing_matches(uow: UnitOfWork, ana: Actor, titles: None) -> None:
    with pytest.raises(NotFound, match='No deal matches "umbrella"'):
        split(uow, ana, "umbrella acme renewal")
    with pytest.raises(NotFound, match="no deal D-77"):
        split(uow, ana, "D-77 acme")
    with pytest.raises(InvalidInput, match="Which deal"):
        split(uow, ana, "")
