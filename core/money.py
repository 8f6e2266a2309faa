"""Amounts of money: reading what a rep types, and showing it back in their locale.

Pure functions: no Slack, no database. Thousands and decimal marks follow the user's
locale (Babel), so `12.000` is twelve under `en` and twelve thousand under `tr`.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    format_compact_currency,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
)

from core.errors import InvalidInput

MAX_AMOUNT = Decimal(10) ** 12
# The database keeps hundredths for every currency, so no currency may carry more.
MAX_DECIMALS = 2
_CENT = Decimal("0.01")
_MAX_TEXT = 64  # longer input is not an amount; also keeps Decimal work small

# Symbols people type that Babel's per-locale tables miss or disagree on. `$` stays USD
# unless the default currency itself is written `$` in the user's locale (en_CA + CAD).
_COMMON_SYMBOLS = {
    "$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₺": "TRY", "tl": "TRY",
    "₹": "INR", "₩": "KRW", "₽": "RUB", "₴": "UAH", "₪": "ILS", "₫": "VND", "₱": "PHP",
    "₦": "NGN", "r$": "BRL", "zł": "PLN", "kč": "CZK", "fr.": "CHF",
}
_SPACES = "\u00a0\u202f\u2009\u2007\t\n\r"
_APOSTROPHES = "'’"


@dataclass(frozen=True)
class Money:
    """An amount in one currency (ISO 4217 code, upper case)."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class _Marks:
    decimal: str
    group: str
    primary: int  # digits in the last group (3)
    secondary: int  # digits in the other groups (3, or 2 for Indian lakh grouping)
    magnitudes: tuple[tuple[str, int], ...]  # ("k", 1000), longest first


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    """The Babel locale for a Slack locale like `en-US`; unknown ones fall back to `en`."""
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


@lru_cache(maxsize=64)
def _marks(locale: Locale) -> _Marks:
    group = get_group_symbol(locale)
    if group in _SPACES:
        group = " "  # we fold every kind of space to a plain one before reading
    elif group in _APOSTROPHES:
        group = "'"
    primary, secondary = locale.decimal_formats[None].grouping
    return _Marks(get_decimal_symbol(locale), group, primary, secondary, _magnitude_words(locale))


def _magnitude_words(locale: Locale) -> tuple[tuple[str, int], ...]:
    """`k`, `m`, `b` and their words, plus what the locale's compact formats print.

    Reading Babel's own compact patterns means what format_money(compact=True) shows can
    be typed back: under `tr` that makes `B` (bin) a thousand, not a billion.
    """
    words: dict[str, int] = {"k": 10**3, "m": 10**6, "mm": 10**6, "mn": 10**6, "b": 10**9, "bn": 10**9}
    for loc in (Locale.parse("en"), locale):
        for width in ("long", "short"):
            for forms in loc.compact_decimal_formats.get(width, {}).values():
                for key, pattern in forms.items():
                    word = pattern.suffix[0].replace("'", "").strip(_SPACES + " .").casefold()
                    zeros = pattern.pattern.count("0")
                    if word and zeros and not any(c.isdigit() for c in word):
                        words[word] = int(key) // 10 ** (zeros - 1)
    return tuple(sorted(words.items(), key=lambda item: -len(item[0])))


@lru_cache(maxsize=64)
def _symbols(locale: Locale) -> dict[str, str]:
    """Symbol (case-folded) -> code: Babel's English names, the locale's, then common ones."""
    table: dict[str, str] = {}
    for loc in (Locale.parse("en"), locale):
        for code, symbol in loc.currency_symbols.items():
            if symbol != code and len(code) == 3:
                table.setdefault(symbol.casefold(), code)
    table.update(_COMMON_SYMBOLS)
    return table


@lru_cache(maxsize=1)
def _known_codes() -> frozenset[str]:
    return frozenset(list_currencies())


def _examples(locale: Locale, currency: str) -> str:
    """`Try 12000, 12k, 1.5m or $12,000.` with the user's own marks and currency."""
    marks = _marks(locale)
    try:  # the locale's own currency pattern without its cents: `$12,000`, `₺12.000`
        pattern = locale.currency_formats["standard"].pattern.replace(".00", "")
        sample = format_currency(12000, currency, locale=locale, format=pattern, currency_digits=False)
    except Exception:  # an odd currency/locale pair must not turn a hint into a crash
        sample = f"12{marks.group}000 {currency}"
    for space in _SPACES:
        sample = sample.replace(space, " ")
    return f"Try 12000, 12k, 1{marks.decimal}5m or {sample}."


def _unreadable(text: str, locale: Locale, currency: str) -> InvalidInput:
    return InvalidInput(f'Couldn\'t read "{text}" as an amount. {_examples(locale, currency)}')


def parse_amount(text: str, locale: str = "en", default_currency: str = "USD") -> Money:
    """Read `12k`, `$12,000`, `12000 EUR` or `₺12.000` (tr) into Money, or raise InvalidInput."""
    loc = _locale(locale)
    default = default_currency.upper()
    original = text.strip()
    if not original:
        raise InvalidInput(f"Enter an amount. {_examples(loc, default)}")
    if len(original) > _MAX_TEXT:
        raise _unreadable(original[:_MAX_TEXT] + "…", loc, default)
    marks = _marks(loc)
    s = original
    for space in _SPACES:
        s = s.replace(space, " ")
    for mark in _APOSTROPHES:
        s = s.replace(mark, "'")
    s = " ".join(s.split())

    start = next((i for i, c in enumerate(s) if c.isascii() and c.isdigit()), None)
    if start is None:
        raise _unreadable(original, loc, default)
    if start > 0 and s[start - 1] == marks.decimal:
        start -= 1  # `.5m`
    prefix = s[:start]
    if "-" in prefix or "−" in prefix or s.endswith("-"):
        raise InvalidInput(f'Amounts cannot be negative ("{original}"). Enter 0 or more, like 12000.')
    prefix = prefix.removeprefix("+").strip()

    number, rest = _take_number(s[start:], marks)
    multiplier, rest = _take_magnitude(rest.strip(), marks)
    if any(c.isdigit() for c in prefix + rest):
        raise _unreadable(original, loc, default)  # `12 000` under en, `1.2.3`, `12k5`
    currency = _currency_of(prefix, rest.strip(), loc, default, original)
    value = _read_number(number, marks)
    if value is None:
        raise _unreadable(original, loc, default)

    with localcontext() as ctx:
        ctx.prec = 60  # exact for anything that fits in _MAX_TEXT characters
        amount = value * multiplier
    if amount > MAX_AMOUNT:
        raise InvalidInput(f'"{original}" looks too large: amounts go up to 1,000,000,000,000.')
    digits = min(MAX_DECIMALS, _precision(currency))
    quantum = Decimal(1).scaleb(-digits)
    if amount != amount.quantize(quantum):
        unit = "no decimals" if digits == 0 else f"at most {digits} decimals"
        raise InvalidInput(f'"{original}" has too many decimals: {currency} amounts take {unit}.')
    return Money(amount.quantize(quantum), currency)


def _take_number(s: str, marks: _Marks) -> tuple[str, str]:
    """Split `12.000,50 €` into the number and what follows it."""
    allowed = set("0123456789") | {marks.decimal, marks.group}
    end = 0
    while end < len(s) and s[end] in allowed:
        # a space is a group mark only between digits (`12 000`), never before a unit
        if s[end] == " " and not (end + 1 < len(s) and s[end + 1].isascii() and s[end + 1].isdigit()):
            break
        end += 1
    return s[:end], s[end:]


def _take_magnitude(rest: str, marks: _Marks) -> tuple[int, str]:
    folded = rest.casefold()
    for word, multiplier in marks.magnitudes:
        after = folded[len(word):]
        if folded.startswith(word) and not after[:1].isalpha():
            return multiplier, rest[len(word):].lstrip(" .")
    return 1, rest


def _read_number(number: str, marks: _Marks) -> Decimal | None:
    """The value of `12,000.50` under the locale's marks, or None if the grouping is off."""
    whole, mark, fraction = number.partition(marks.decimal)
    if marks.group in fraction or marks.decimal in fraction:
        return None
    if mark and not fraction:
        return None  # `12.` with nothing after the mark
    if marks.group in whole:
        parts = whole.split(marks.group)
        head, middle, last = parts[0], parts[1:-1], parts[-1]
        if not (1 <= len(head) <= marks.secondary and head.isdigit()):
            return None
        if len(last) != marks.primary or any(len(p) != marks.secondary for p in middle):
            return None
        whole = "".join(parts)
    if not (whole.isdigit() or (whole == "" and fraction)):
        return None
    try:
        return Decimal(f"{whole or '0'}.{fraction or '0'}")
    except InvalidOperation:
        return None


def _currency_of(prefix: str, suffix: str, locale: Locale, default: str, original: str) -> str:
    codes = {_currency_code(token, locale, default) for token in (prefix, suffix) if token}
    if len(codes) > 1:
        raise InvalidInput(f'"{original}" names two currencies. Use one, like 12000 EUR.')
    return codes.pop() if codes else default


def _currency_code(token: str, locale: Locale, default: str) -> str:
    if len(token) == 3 and token.isascii() and token.isalpha():
        code = token.upper()
        if code in _known_codes():
            return code
    else:
        folded = token.casefold()
        if folded == _default_symbol(default, locale):
            return default
        code_for = _symbols(locale).get(folded)
        if code_for:
            return code_for
    raise InvalidInput(f'Unknown currency "{token}". Use a three-letter code like USD, EUR or TRY.')


def _default_symbol(default: str, locale: Locale) -> str:
    try:
        return str(get_currency_symbol(default, locale)).casefold()
    except Exception:  # an unknown default currency simply has no symbol
        return default.casefold()


def _precision(currency: str) -> int:
    try:
        return int(get_currency_precision(currency))
    except Exception:  # Babel knows the code but not its digits: assume cents
        return MAX_DECIMALS


def format_money(amount: Decimal, currency: str, locale: str = "en", compact: bool = False) -> str:
    """`$12,000.00` / `12.000,00 ₺`, or with compact=True `$12K` / `$1.5M` where Babel has it."""
    loc = _locale(locale)
    if compact:
        try:
            return str(format_compact_currency(amount, currency, locale=loc, fraction_digits=1))
        except Exception:  # no compact pattern for this locale: the full form is still right
            pass
    return str(format_currency(amount, currency, locale=loc))


def to_minor(amount: Decimal) -> int:
    """Integer hundredths for the database (every currency), rounded half-even."""
    return int(amount.quantize(_CENT, rounding=ROUND_HALF_EVEN).scaleb(2))


def from_minor(minor: int) -> Decimal:
    """The Decimal (exactly two places) for integer hundredths read from the database."""
    return Decimal(minor).scaleb(-2).quantize(_CENT)
