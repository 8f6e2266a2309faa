"""Exchange rates: dated rates into the workspace's base currency, and converting by them.

A rate says 1 unit of a currency = `rate` units of the base currency from its date on, until a
later rate of the same currency. Figures convert each deal at the rate in force on its relevant
date (close date for closed deals, today for open ones) and never add raw amounts of different
currencies (SPEC section 9). Amounts are integer hundredths, as in core.tables.

Admins set rates with `/salesbot rate EUR 1.08` (set_rate: from today in the workspace's zone)
or a file (`salesbot rates import`, import_rates: every row or none, idempotent). Codes are
ISO 4217 (core.money.check_currency); a rate is above zero; the base currency has no rate.
"""
from __future__ import annotations

import csv
import io
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.csv_mapping import RowError
from core.db import UnitOfWork
from core.errors import InvalidInput
from core.i18n import N_, _, ngettext
from core.money import check_currency
from core.tables import ExchangeRate, Workspace
from core.workspace.users import Actor, require_admin


@dataclass
class RateBook:
    """Every rate of one workspace, by currency and date, for converting amounts to its base."""

    base: str
    _dates: dict[str, list[date]] = field(default_factory=dict)
    _rates: dict[str, list[Decimal]] = field(default_factory=dict)

    @classmethod
    def of(cls, base: str, rates: Iterable[tuple[str, date, Decimal]]) -> RateBook:
        """A book from (currency, valid_from, rate) triples, in any order."""
        book = cls(base=base)
        for currency, valid_from, rate in sorted(rates, key=lambda r: (r[0], r[1])):
            book._dates.setdefault(currency, []).append(valid_from)
            book._rates.setdefault(currency, []).append(Decimal(rate))
        return book

    @classmethod
    def load(cls, session: Session, workspace_id: int) -> RateBook:
        """The workspace's base currency and all of its rates."""
        base = session.scalar(select(Workspace.default_currency).where(Workspace.id == workspace_id)) or "USD"
        rows = session.execute(
            select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.rate).where(
                ExchangeRate.workspace_id == workspace_id
            )
        )
        return cls.of(base, ((c, d, r) for c, d, r in rows))

    def rate_on(self, currency: str, on: date) -> Decimal | None:
        """The rate in force for `currency` on `on`; 1 for the base; None when there is none."""
        if currency == self.base:
            return Decimal(1)
        dates = self._dates.get(currency)
        if not dates:
            return None
        i = bisect_right(dates, on)
        return self._rates[currency][i - 1] if i else None

    def to_base(self, amount_minor: int, currency: str, on: date) -> int | None:
        """`amount_minor` hundredths of `currency` in hundredths of the base, or None without a rate."""
        rate = self.rate_on(currency, on)
        if rate is None:
            return None
        if rate == 1:
            return amount_minor
        return int((Decimal(amount_minor) * rate).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))

    def currencies(self) -> list[str]:
        """The currencies that have at least one rate."""
        return sorted(self._dates)


# -- setting rates -------------------------------------------------------------------------------

MAX_RATE = Decimal(10) ** 9  # Numeric(20, 10): ten digits before the point
RATE_PLACES = 10
_RATE_TEXT = re.compile(r"\d{1,10}(?:[.,]\d{1,10})?|[.,]\d{1,10}")


@dataclass(frozen=True)
class RateInfo:
    """One dated rate: 1 `currency` = `rate` `base`, from `valid_from` on."""

    currency: str
    rate: Decimal
    valid_from: date
    base: str


class RateFileError(InvalidInput):
    """A rates file with bad rows; nothing was imported. `errors` lists every bad cell."""

    def __init__(self, errors: list[RowError]) -> None:
        first = errors[0]
        if len(errors) > 1:
            message = ngettext(
                "Row {row}, column {column}: {reason} (and {n} more). Nothing was imported.",
                "Row {row}, column {column}: {reason} (and {n} more). Nothing was imported.",
                len(errors) - 1).format(row=first.row, column=first.column, reason=first.reason, n=len(errors) - 1)
        else:
            message = _("Row {row}, column {column}: {reason}. Nothing was imported.").format(
                row=first.row, column=first.column, reason=first.reason)
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True)
class RatesImported:
    """What an import of a rates file did."""

    created: int
    updated: int
    unchanged: int
    base: str


def parse_rate(text: str | Decimal, field: str | None = "rate") -> Decimal:
    """`1.08` (or `1,08`) as a positive Decimal of at most ten decimals; InvalidInput otherwise."""
    shown = str(text).strip()
    if not _RATE_TEXT.fullmatch(shown):
        raise InvalidInput(_('"{text}" is not a rate: write a number like 1.08 (1 unit = 1.08 in the base '
                             "currency).").format(text=shown[:20]), field=field)
    rate = Decimal(shown.replace(",", "."))
    if rate <= 0:
        raise InvalidInput(_("A rate must be above zero, not {text}.").format(text=shown), field=field)
    if rate >= MAX_RATE:
        raise InvalidInput(_("{text} is too large for a rate (under {limit}).").format(
            text=shown, limit=f"{MAX_RATE:,}"),
                           field=field)
    return rate


def _rate_currency(currency: str, base: str, field: str | None = "currency") -> str:
    code = check_currency(currency, field=field)
    if code == base:
        raise InvalidInput(_("{code} is the base currency: its rate is always 1. Set rates of other currencies "
                             "into it.").format(code=code), field=field)
    return code


def _workspace_today(session: Session, workspace_id: int, now: datetime) -> tuple[str, date]:
    ws = session.get_one(Workspace, workspace_id)
    zone = ZoneInfo(ws.timezone) if ws.timezone in available_timezones() else ZoneInfo("UTC")
    return ws.default_currency, now.astimezone(zone).date()


def _upsert(session: Session, workspace_id: int, currency: str, valid_from: date, rate: Decimal,
            now: datetime) -> str:
    """Write one rate; 'created', 'updated' or 'unchanged'."""
    row = session.scalar(select(ExchangeRate).where(
        ExchangeRate.workspace_id == workspace_id, ExchangeRate.currency == currency,
        ExchangeRate.valid_from == valid_from))
    if row is None:
        session.add(ExchangeRate(workspace_id=workspace_id, currency=currency, valid_from=valid_from,
                                 rate=rate, created_at=now))
        return "created"
    if Decimal(row.rate) == rate:
        return "unchanged"
    row.rate = rate
    return "updated"


def set_rate(uow: UnitOfWork, actor: Actor, currency: str, rate: str | Decimal, *, now: datetime) -> RateInfo:
    """`/salesbot rate EUR 1.08`: 1 EUR = 1.08 in the base currency from today (the workspace's zone)."""
    require_admin(actor, N_("set exchange rates"))
    value = parse_rate(rate)
    with uow.transaction() as session:
        base, today = _workspace_today(session, actor.workspace_id, now)
        code = _rate_currency(currency, base)
        _upsert(session, actor.workspace_id, code, today, value, now)
        session.flush()
    return RateInfo(code, value, today, base)


def list_rates(uow: UnitOfWork, actor: Actor, *, now: datetime) -> tuple[str, list[RateInfo]]:
    """The base currency and each currency's rate in force today (`/salesbot rate`)."""
    with uow.read() as session:
        base, today = _workspace_today(session, actor.workspace_id, now)
        book = RateBook.load(session, actor.workspace_id)
    found = []
    for currency in book.currencies():
        dates = book._dates[currency]
        i = bisect_right(dates, today)
        if i:
            found.append(RateInfo(currency, book._rates[currency][i - 1], dates[i - 1], base))
    return base, found


_COLUMNS = ("date", "currency", "rate")


def read_rates_csv(text: str, base: str) -> list[tuple[int, str, date, Decimal]]:
    """(row, currency, date, rate) of a rates file; RateFileError listing every bad cell."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise RateFileError([RowError(1, "-", "", _("the file is empty: give a header `date,currency,rate`"))])
    names = [h.strip().lower() for h in header]
    missing = [c for c in _COLUMNS if c not in names]
    if missing:
        raise RateFileError([RowError(1, c, "", _("missing column: the header is `date,currency,rate`"))
                             for c in missing])
    at = {c: names.index(c) for c in _COLUMNS}
    errors: list[RowError] = []
    rows: list[tuple[int, str, date, Decimal]] = []
    seen: dict[tuple[str, date], int] = {}
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        cell = {c: (cells[at[c]].strip() if at[c] < len(cells) else "") for c in _COLUMNS}
        row_errors: list[RowError] = []
        try:
            day = date.fromisoformat(cell["date"])
        except ValueError:
            row_errors.append(RowError(number, "date", cell["date"], _("not a date: write it as YYYY-MM-DD")))
        try:
            code = _rate_currency(cell["currency"], base)
        except InvalidInput as err:
            row_errors.append(RowError(number, "currency", cell["currency"], err.message))
        try:
            value = parse_rate(cell["rate"])
        except InvalidInput as err:
            row_errors.append(RowError(number, "rate", cell["rate"], err.message))
        if row_errors:
            errors.extend(row_errors)
            continue
        first = seen.setdefault((code, day), number)
        if first != number:
            reason = _("{code} on {day} is already given in row {row}").format(code=code, day=day, row=first)
            errors.append(RowError(number, "date", cell["date"], reason))
            continue
        rows.append((number, code, day, value))
    if errors:
        raise RateFileError(errors)
    return rows


def import_rates(uow: UnitOfWork, workspace_id: int, text: str, *, now: datetime) -> RatesImported:
    """`salesbot rates import FILE.csv`: every row or none; importing the same file again changes nothing."""
    with uow.transaction() as session:
        base = session.get_one(Workspace, workspace_id).default_currency
        rows = read_rates_csv(text, base)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for __, code, day, value in rows:
            counts[_upsert(session, workspace_id, code, day, value, now)] += 1
        session.flush()
    return RatesImported(counts["created"], counts["updated"], counts["unchanged"], base)
