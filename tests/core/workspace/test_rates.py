"""Exchange rates as admins set them: `/salesbot rate` (set_rate, list_rates) and a rates file."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.db import UnitOfWork
from core.errors import InvalidInput, NotAllowed
from core.tables import ExchangeRate, Workspace
from core.workspace.rates import RateBook, RateFileError, import_rates, list_rates, parse_rate, set_rate
from core.workspace.users import Actor


def _rows(uow: UnitOfWork) -> list[tuple[str, date, Decimal]]:
    with uow.read() as s:
        return [(c, d, Decimal(r)) for c, d, r in s.execute(
            select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.rate)
            .order_by(ExchangeRate.currency, ExchangeRate.valid_from))]


def _zone(uow: UnitOfWork, actor: Actor, tz: str) -> None:
    with uow.transaction() as s:
        s.get_one(Workspace, actor.workspace_id).timezone = tz


def test_an_admin_sets_a_rate_from_today_in_the_workspaces_zone(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    _zone(uow, root, "Pacific/Auckland")  # 14:00 UTC on 23 Nov is already 24 Nov there
    saved = set_rate(uow, root, "eur", "1.08", now=now)
    assert (saved.currency, saved.rate, saved.valid_from, saved.base) == ("EUR", Decimal("1.08"), date(2026, 11, 24),
                                                                        "USD")
    assert _rows(uow) == [("EUR", date(2026, 11, 24), Decimal("1.08"))]
    set_rate(uow, root, "EUR", "1,10", now=now)  # the same day again: replaced, not doubled
    assert _rows(uow) == [("EUR", date(2026, 11, 24), Decimal("1.10"))]
    with uow.read() as s:
        book = RateBook.load(s, root.workspace_id)
    assert book.to_base(100_00, "EUR", date(2026, 11, 24)) == 110_00
    assert book.to_base(100_00, "EUR", date(2026, 11, 23)) is None


def test_list_rates_shows_the_rate_in_force_today(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    set_rate(uow, root, "EUR", "1.05", now=now - timedelta(days=10))
    set_rate(uow, root, "EUR", "1.08", now=now)
    set_rate(uow, root, "TRY", "0.029", now=now)
    base, found = list_rates(uow, root, now=now)
    assert base == "USD"
    assert [(r.currency, r.rate, r.valid_from) for r in found] == [
        ("EUR", Decimal("1.08"), date(2026, 11, 23)), ("TRY", Decimal("0.029"), date(2026, 11, 23))]
    _, earlier = list_rates(uow, root, now=now - timedelta(days=5))
    assert [(r.currency, r.rate) for r in earlier] == [("EUR", Decimal("1.05"))]


@pytest.mark.parametrize(
    ("currency", "rate", "message"),
    [
        ("XYZ", "1.08", '"XYZ" is not a currency code'),
        ("EURO", "1.08", "is not a currency code"),
        ("", "1.08", "is not a currency code"),
        ("USD", "1.08", "USD is the base currency"),
        ("usd", "1", "USD is the base currency"),
        ("EUR", "0", "above zero"),
        ("EUR", "0.0", "above zero"),
        ("EUR", "-1.08", "is not a rate"),
        ("EUR", "abc", "is not a rate"),
        ("EUR", "1.08.1", "is not a rate"),
        ("EUR", "1e3", "is not a rate"),
        ("EUR", "99999999999", "is not a rate"),
        ("EUR", "0.00000000001", "is not a rate"),
    ],
)
def test_bad_rates_are_refused_and_nothing_is_saved(
    uow: UnitOfWork, root: Actor, now: datetime, currency: str, rate: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        set_rate(uow, root, currency, rate, now=now)
    assert message in err.value.message
    assert _rows(uow) == []


def test_reps_and_managers_cannot_set_rates(uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime) -> None:
    for who in (ana, mia):
        with pytest.raises(NotAllowed):
            set_rate(uow, who, "EUR", "1.08", now=now)
    assert _rows(uow) == []


GOOD_FILE = """date,currency,rate
2017-01-01,EUR,1.05
2017-07-01,EUR,1.14
2017-01-01,TRY,0.28
"""


def test_a_rates_file_imports_every_row_and_again_changes_nothing(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    first = import_rates(uow, root.workspace_id, GOOD_FILE, now=now)
    assert (first.created, first.updated, first.unchanged, first.base) == (3, 0, 0, "USD")
    rows = _rows(uow)
    again = import_rates(uow, root.workspace_id, GOOD_FILE, now=now + timedelta(hours=1))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert _rows(uow) == rows
    changed = import_rates(uow, root.workspace_id, GOOD_FILE.replace("1.14", "1.15"), now=now)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 2)
    with uow.read() as s:
        book = RateBook.load(s, root.workspace_id)
    assert book.rate_on("EUR", date(2017, 6, 30)) == Decimal("1.05")
    assert book.rate_on("EUR", date(2017, 9, 25)) == Decimal("1.15")


def test_a_file_with_columns_in_another_order_and_a_bom_reads_the_same(uow: UnitOfWork, root: Actor,
                                                                       now: datetime) -> None:
    text = "\ufeffRate,Currency,Date\n1.05,eur,2017-01-01\n\n"
    assert import_rates(uow, root.workspace_id, text, now=now).created == 1
    assert _rows(uow) == [("EUR", date(2017, 1, 1), Decimal("1.05"))]


BAD_FILES = [
    # file, (row, column, part of the reason) of each bad cell
    ("date,currency,rate\n2017-01-01,XYZ,1.05\n", [(2, "currency", '"XYZ" is not a currency code')]),
    ("date,currency,rate\n2017-01-01,EUR,0\n", [(2, "rate", "above zero")]),
    ("date,currency,rate\n2017-01-01,EUR,-2\n", [(2, "rate", "is not a rate")]),
    ("date,currency,rate\n2017-02-30,EUR,1.1\n", [(2, "date", "not a date")]),
    ("date,currency,rate\n2017-01-01,USD,1\n", [(2, "currency", "base currency")]),
    ("date,currency,rate\n2017-01-01,EUR,1.1\n2017-01-01,EUR,1.2\n", [(3, "date", "already given in row 2")]),
    ("date,currency,rate\n2017-01-01,EUR,1.1\n01/02/2017,TRY,x\n",
     [(3, "date", "YYYY-MM-DD"), (3, "rate", "is not a rate")]),
    ("date,currency\n2017-01-01,EUR\n", [(1, "rate", "missing column")]),
    ("", [(1, "-", "empty")]),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_a_bad_row_names_row_column_reason_and_nothing_is_imported(
    uow: UnitOfWork, root: Actor, now: datetime, text: str, expected: list[tuple[int, str, str]]
) -> None:
    import_rates(uow, root.workspace_id, "date,currency,rate\n2016-01-01,GBP,1.3\n", now=now)
    before = _rows(uow)
    with pytest.raises(RateFileError) as err:
        import_rates(uow, root.workspace_id, text + "2018-01-01,GBP,1.4\n" if text else text, now=now)
    got = [(e.row, e.column, e.reason) for e in err.value.errors]
    assert [(r, c) for r, c, _ in got] == [(r, c) for r, c, _ in expected]
    for (_, _, reason), (_, _, part) in zip(got, expected, strict=True):
        assert part in reason
    assert err.value.message.startswith(f"Row {expected[0][0]}, column {expected[0][1]}: ")
    assert err.value.message.endswith("Nothing was imported.")
    assert _rows(uow) == before


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=15), st.from_regex(r"-?\d{0,12}([.,]\d{0,12})?", fullmatch=True)))
def test_any_rate_text_is_a_positive_rate_or_invalid_input(text: str) -> None:
    try:
        rate = parse_rate(text)
    except InvalidInput as err:
        assert err.message
    else:
        assert Decimal(0) < rate < Decimal(10) ** 9
        assert rate == Decimal(text.strip().replace(",", "."))


@pytest.mark.parametrize("code", ["XYZ", "DEM", "EURO", "$", ""])
def test_the_base_currency_is_an_iso_code_too(uow: UnitOfWork, root: Actor, now: datetime, code: str) -> None:
    from core.workspace.setup import update_workspace_settings, workspace_settings

    before = workspace_settings(uow, root)
    with pytest.raises(InvalidInput) as err:
        update_workspace_settings(uow, root, now=now, default_currency=code, locale="en", digest_weekday=0,
                                  digest_time="09:00", hot_lead_threshold=70, quiet_start="20:00", quiet_end="08:00")
    assert err.value.field == "default_currency" and "currency code" in err.value.message
    assert workspace_settings(uow, root) == before
    saved = update_workspace_settings(uow, root, now=now, default_currency="try", locale="tr", digest_weekday=0,
                                      digest_time="09:00", hot_lead_threshold=70, quiet_start="20:00",
                                      quiet_end="08:00")
    assert saved.default_currency == "TRY"


def test_a_new_base_currency_drops_the_rates_into_the_old_one(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    from core.workspace.setup import update_workspace_settings

    set_rate(uow, root, "EUR", "1.08", now=now)
    set_rate(uow, root, "TRY", "0.029", now=now)
    same = dict(locale="en", digest_weekday=0, digest_time="09:00", hot_lead_threshold=70, quiet_start="20:00",
                quiet_end="08:00")
    assert update_workspace_settings(uow, root, now=now, default_currency="usd", **same).rates_removed == 0
    assert len(_rows(uow)) == 2
    saved = update_workspace_settings(uow, root, now=now, default_currency="TRY", **same)
    assert (saved.default_currency, saved.rates_removed) == ("TRY", 2)
    assert _rows(uow) == []
