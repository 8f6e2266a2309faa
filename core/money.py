"""Amounts of money: reading what a rep types, and showing it back in their locale.

Pure functions: no Slack, no database. How `12.000`, `12,000` and `12,50` are read:
- Marks that allow one reading only are read that way, whatever the locale: two different
  marks (`$12.000,00`, `₺12,000.00`: the last one is the decimal mark), a mark used twice
  (`1.000.000`), a space or apostrophe (`12 000`, `12'000`: thousands), a leading mark
  (`.5m`, `0,5`), a mark before a magnitude word (`€1.2M`, `1,5 milyon`).
- A single `.` or `,` followed by exactly three digits is a thousands mark on a currency
  with two (or no) decimals: `₺12.000` is 12,000 TRY and `$12,000` 12,000 USD everywhere.
- A single mark followed by other than three digits can only be decimals, or a misplaced
  thousands mark. It is read as decimals when the user's locale writes decimals so, or when
  a symbol or code is present and that currency's own convention does (`€12,50` anywhere,
  `$12,50` under tr, where the product itself shows `$12,50`). Otherwise (`12,50` from an
  en-US user) it is refused with both readings offered: never guessed.
- Three-decimal currencies (KWD, ...): three digits after the locale's decimal mark are
  decimals (`KWD 12.350` under en, as the product shows it); after any other mark both
  readings are offered.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from functools import lru_cache
from itertools import pairwise

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
)

from core import formatting
from core.errors import InvalidInput
from core.i18n import _

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
# The decimal mark(s) a currency's own country writes (its convention), for amounts that
# name their currency. Currencies used under both conventions list both; a currency not
# listed has no convention here and the user's locale decides.
_DOT, _COMMA, _BOTH = frozenset("."), frozenset(","), frozenset(".,")
CURRENCY_DECIMALS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("USD", "GBP", "JPY", "CNY", "INR", "AUD", "NZD", "HKD", "SGD", "KRW", "MXN", "ILS",
                     "THB", "PHP", "MYR", "TWD", "NGN", "SAR", "AED", "PKR"), _DOT),
    **dict.fromkeys(("TRY", "BRL", "RUB", "PLN", "SEK", "NOK", "DKK", "CZK", "HUF", "ARS", "CLP", "COP",
                     "IDR", "VND", "UAH", "RON", "BGN", "ISK"), _COMMA),
    **dict.fromkeys(("EUR", "CHF", "CAD", "ZAR"), _BOTH),
}
_OTHER_SYMBOL_LOCALES = ("en_GB", "en_US", "en_CA", "en_AU", "en_IN", "tr", "de", "fr", "es", "it", "pt", "ja")
_SPACES = "\u00a0\u202f\u2009\u2007\t\n\r"
_APOSTROPHES = "'’"
_SOFT = ".,"  # marks that may be decimal or thousands marks
_HARD = " '"  # marks that are only ever thousands marks (after folding)
# a leading mark (`.5m`) never belongs to a symbol that ends in a dot (`Cg.` of XCG)
_NUMBER = re.compile(r"(?:(?<![^\W\d_])[.,])?\d(?:[\d.,']|(?<=\d) (?=\d))*")


@dataclass(frozen=True)
class Money:
    """An amount in one currency (ISO 4217 code, upper case)."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class _Marks:
    decimal: str
    group: str
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
    return _Marks(get_decimal_symbol(locale), group, _magnitude_words(locale))


def _magnitude_words(locale: Locale) -> tuple[tuple[str, int], ...]:
    """`k`, `m`, `b` and their words, plus what the locale's compact formats print.

    Reading Babel's own compact patterns means what format_money(compact=True) shows can
    be typed back: under `tr` that makes `B` (bin) a thousand, not a billion.
    """
    words: dict[str, int] = {"k": 10**3, "m": 10**6, "mm": 10**6, "mn": 10**6, "b": 10**9, "bn": 10**9,
                             # the Turkish words mean nothing else in English: read them everywhere
                             "bin": 10**3, "milyon": 10**6, "milyar": 10**9}
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
    """Symbol (case-folded) -> code: Babel's English ones, the locale's, a few other locales', common ones.

    The other locales' symbols (`JP¥` of en_GB, `$US` of fr) let an amount shown to someone
    else be pasted back; they never replace what English or the user's locale says.
    """
    table: dict[str, str] = {}
    for loc in (Locale.parse("en"), locale, *(Locale.parse(n) for n in _OTHER_SYMBOL_LOCALES)):
        for code, symbol in loc.currency_symbols.items():
            if symbol != code and len(code) == 3 and code in iso_currencies():
                folded = "".join(" " if c in _SPACES else c for c in symbol).casefold()  # `F CFA`
                table.setdefault(folded, code)
    table.update(_COMMON_SYMBOLS)
    return table


@lru_cache(maxsize=1)
def iso_currencies() -> frozenset[str]:
    """The ISO 4217 codes in use today in some country, from Babel's CLDR data.

    Withdrawn codes (DEM, TRL, HRK) and the special ones (XXX, XTS) are not amounts one
    sells in; "in use" is CLDR's own (no `to` date), so no clock is read.
    """
    known = set(list_currencies())
    current = {str(code) for spans in get_global("territory_currencies").values()
               for code, _start, end, tender in spans if tender and end is None}
    return frozenset(current & known)


def check_currency(code: str, field: str | None = None) -> str:
    """`code` upper-cased when it is an ISO 4217 currency in use, else InvalidInput naming it."""
    text = (code or "").strip()
    upper = text.upper()
    if upper in iso_currencies():
        return upper
    shown = text[:12] or _("(empty)")
    raise InvalidInput(_('"{text}" is not a currency code: use an ISO 4217 code such as USD, EUR or TRY.').format(
        text=shown), field=field)


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
    return _("Try 12000, 12k, 1{decimal}5m or {sample}.").format(decimal=marks.decimal, sample=sample)


def _unreadable(text: str, locale: Locale, currency: str) -> InvalidInput:
    return InvalidInput(_('Couldn\'t read "{text}" as an amount. {hint}').format(
        text=text, hint=_examples(locale, currency)))


def parse_amount(text: str, locale: str = "en", default_currency: str = "USD") -> Money:
    """Read `12k`, `$12,000`, `12000 EUR`, `₺12.000` or `12 bin` into Money, or raise InvalidInput."""
    loc = _locale(locale)
    default = default_currency.upper()
    original = text.strip()
    if not original:
        raise InvalidInput(_("Enter an amount. {hint}").format(hint=_examples(loc, default)))
    if len(original) > _MAX_TEXT:
        raise _unreadable(original[:_MAX_TEXT] + "…", loc, default)
    marks = _marks(loc)
    s = original
    for space in _SPACES:
        s = s.replace(space, " ")
    for mark in _APOSTROPHES:
        s = s.replace(mark, "'")
    s = " ".join(s.split())

    found = _NUMBER.search(s)
    if found is None:
        raise _unreadable(original, loc, default)
    prefix, number, rest = s[: found.start()], found.group(), s[found.end():]
    if "-" in prefix or "−" in prefix or s.endswith("-"):
        raise InvalidInput(_('Amounts cannot be negative ("{text}"). Enter 0 or more, like 12000.').format(
            text=original))
    prefix = prefix.removeprefix("+").strip()
    multiplier, rest = _take_magnitude(rest.strip(), marks)
    if any(c.isdigit() for c in prefix + rest):
        raise _unreadable(original, loc, default)  # `1.2.3 4`, `12k5`
    currency, named = _currency_of(prefix, rest.strip(), loc, default, original)
    value = _read_number(number, currency, named, multiplier != 1, loc, original)

    with localcontext() as ctx:
        ctx.prec = 60  # exact for anything that fits in _MAX_TEXT characters
        amount = value * multiplier
    if amount > MAX_AMOUNT:
        raise InvalidInput(_('"{text}" looks too large: amounts go up to 1,000,000,000,000.').format(text=original))
    digits = min(MAX_DECIMALS, _precision(currency))
    quantum = Decimal(1).scaleb(-digits)
    if amount != amount.quantize(quantum):
        if digits == 0:
            message = _('"{text}" has too many decimals: {currency} amounts take no decimals.')
        else:
            message = _('"{text}" has too many decimals: {currency} amounts take at most {digits} decimals.')
        raise InvalidInput(message.format(text=original, currency=currency, digits=digits))
    return Money(amount.quantize(quantum), currency)


def _take_magnitude(rest: str, marks: _Marks) -> tuple[int, str]:
    # Turkish capitals and dotless i (`12 BİN`, `1,5 MİLYON`, `12 bın`) fold to the words; one
    # character for one, so the slice below stays aligned with `rest`.
    folded = rest.replace("İ", "i").replace("ı", "i").casefold()
    for word, multiplier in marks.magnitudes:
        after = folded[len(word):]
        if folded.startswith(word) and not after[:1].isalpha():
            return multiplier, rest[len(word):].lstrip(" .")
    return 1, rest


def _grouped(whole: str, group: str) -> str | None:
    """`12,000,000` -> `12000000` when the groups are well formed (3s, or Indian 2s), else None."""
    parts = whole.split(group)
    head, middle, last = parts[0], parts[1:-1], parts[-1]
    if not head.isdigit() or len(last) != 3 or not last.isdigit():
        return None
    sizes = {len(p) for p in middle}
    if not all(p.isdigit() for p in middle) or (sizes - {3} and sizes - {2}):
        return None
    if len(head) > (2 if sizes == {2} else 3):
        return None
    return "".join(parts)


def _decimal(whole: str, fraction: str) -> Decimal:
    try:
        return Decimal(f"{whole or '0'}.{fraction or '0'}")
    except InvalidOperation:  # pragma: no cover - digits only by construction
        raise InvalidInput(_("Couldn't read {text} as an amount.").format(text=f"{whole}.{fraction}")) from None


def _read_number(number: str, currency: str, named: bool, magnitude: bool, loc: Locale, original: str) -> Decimal:
    """The value of the digits and marks in `number` (see the module doc for the rules)."""
    marks = _marks(loc)
    seps = [c for c in number if not c.isdigit()]
    bad = _unreadable(original, loc, currency)
    if not seps:
        return Decimal(number)
    if number[-1] in seps or any(a in _SOFT + _HARD and b in _SOFT + _HARD for a, b in pairwise(number)):
        raise bad  # `12.`, `1..2`
    soft = [c for c in seps if c in _SOFT]
    hard = {c for c in seps if c in _HARD}
    kinds = set(soft)
    if not soft:  # `12 000`, `12'000`: thousands only
        if len(hard) > 1 or (whole := _grouped(number, hard.pop())) is None:
            raise bad
        return Decimal(whole)
    if len(kinds) == 2 or hard:
        # `12.000,50`, `12,000.50`, `12 000,50`: the last mark is the decimal one, used once
        mark = seps[-1]
        groups = kinds - {mark} | hard
        if mark not in _SOFT or soft.count(mark) != 1 or len(groups) != 1:
            raise bad
        whole, __, fraction = number.rpartition(mark)
        grouped = _grouped(whole, groups.pop())
        if grouped is None:
            raise bad
        return _decimal(grouped, fraction)
    mark = soft[0]
    if len(soft) > 1:  # `1.000.000`: the same mark twice is a thousands mark
        grouped = _grouped(number, mark)
        if grouped is None:
            raise bad
        return Decimal(grouped)
    whole, __, fraction = number.partition(mark)
    if whole in ("", "0"):  # `.5m`, `0,50`: no thousands mark starts a number
        return _decimal(whole, fraction)
    if len(fraction) == 3 and _precision(currency) <= 2:
        grouped = _grouped(number, mark)  # the rule: three digits after it make it thousands
        if grouped is None:
            raise bad
        return Decimal(grouped)
    if len(fraction) != 3 and magnitude:  # `1.5m`, `1,5 milyon`: no thousands before a word
        return _decimal(whole, fraction)
    decimal_marks = {marks.decimal}
    if named and len(fraction) != 3:
        decimal_marks |= CURRENCY_DECIMALS.get(currency, frozenset())
    if mark in decimal_marks:
        return _decimal(whole, fraction)
    # `12,50` under en, or `KWD 12,350` under en (three-decimal currencies show three digits)
    raise _ambiguous(original, whole, fraction, loc)


def _ambiguous(original: str, whole: str, fraction: str, loc: Locale) -> InvalidInput:
    """Both readings of `12,50`, each written so it reads one way only in the user's locale."""
    marks = _marks(loc)
    as_decimal = f"{whole}{marks.decimal}{fraction}"
    as_whole = format_decimal(int(whole + fraction), locale=loc).replace("\u00a0", " ").replace("\u202f", " ")
    plain = whole + fraction
    return InvalidInput(
        _('"{text}" can be read two ways: {as_decimal} or {as_whole}. '
          "Write {as_decimal} or {plain} to say which.").format(
            text=original, as_decimal=as_decimal, as_whole=as_whole, plain=plain), field=None)


def _currency_of(prefix: str, suffix: str, locale: Locale, default: str, original: str) -> tuple[str, bool]:
    """The currency named around the number, and whether one was named (else the default)."""
    codes = {_currency_code(token, locale, default) for token in (prefix, suffix) if token}
    if len(codes) > 1:
        raise InvalidInput(_('"{text}" names two currencies. Use one, like 12000 EUR.').format(text=original))
    return (codes.pop(), True) if codes else (default, False)


def _currency_code(token: str, locale: Locale, default: str) -> str:
    if len(token) == 3 and token.isascii() and token.isalpha():
        code = token.upper()
        if code in iso_currencies():
            return code
        raise InvalidInput(_('Unknown currency "{token}": use an ISO 4217 code such as USD, EUR or TRY.').format(
            token=token))
    folded = token.casefold()
    if folded == _default_symbol(default, locale):
        return default
    code_for = _symbols(locale).get(folded)
    if code_for:
        return code_for
    raise InvalidInput(_('Unknown currency "{token}". Use a three-letter code like USD, EUR or TRY.').format(
        token=token))


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


def format_money(amount: Decimal, currency: str, locale: str | None = None, compact: bool = False) -> str:
    """`$12,000.00` / `₺12.000,00`, or with compact=True `$12K` / `₺12 bin` (core.formatting.money).

    Without `locale`, in the language the text is being built in (core.i18n.current_locale()).
    """
    return formatting.money(amount, currency, locale, compact=compact)


def to_minor(amount: Decimal) -> int:
    """Integer hundredths for the database (every currency), rounded half-even."""
    return int(amount.quantize(_CENT, rounding=ROUND_HALF_EVEN).scaleb(2))


def from_minor(minor: int) -> Decimal:
    """The Decimal (exactly two places) for integer hundredths read from the database."""
    return Decimal(minor).scaleb(-2).quantize(_CENT)
