"""Exchange rates: dated rates into the workspace's base currency, and converting by them.

A rate says 1 unit of a currency = `rate` units of the base currency from its date on, until a
later rate of the same currency. Figures convert each deal at the rate in force on its relevant
date (close date for closed deals, today for open ones) and never add raw amounts of different
currencies (SPEC section 9). Amounts are integer hundredths, as in core.tables.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.tables import ExchangeRate, Workspace


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
