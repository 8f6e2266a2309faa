"""Reading and showing amounts: what a rep types, in their locale."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.money import Money, format_money, from_minor, iso_currencies, parse_amount, to_minor

GOOD = [
    # text, locale, default currency, amount, currency
    ("12000", "en", "USD", "12000", "USD"),
    ("12,000", "en", "USD", "12000", "USD"),
    ("12k", "en", "USD", "12000", "USD"),
    ("12K", "en", "USD", "12000", "USD"),
    ("1.5m", "en", "USD", "1500000", "USD"),
    ("2M", "en", "USD", "2000000", "USD"),
    ("1.2b", "en", "USD", "1200000000", "USD"),
    ("1 trillion", "en", "USD", "1000000000000", "USD"),
    (".5m", "en", "USD", "500000", "USD"),
    ("$12,000", "en", "USD", "12000", "USD"),
    ("$ 12,000.50", "en", "USD", "12000.50", "USD"),
    ("+12000", "en", "USD", "12000", "USD"),
    ("12000 EUR", "en", "USD", "12000", "EUR"),
    ("12000 eur", "en", "USD", "12000", "EUR"),
    ("EUR 12000", "en", "USD", "12000", "EUR"),
    ("12k€", "en", "USD", "12000", "EUR"),
    ("€12.000,50", "de", "EUR", "12000.50", "EUR"),
    ("€12.000,50", "tr", "TRY", "12000.50", "EUR"),
    ("12.000,50 €", "de", "EUR", "12000.50", "EUR"),
    ("5 Mio", "de", "EUR", "5000000", "EUR"),
    ("₺12.000", "tr", "TRY", "12000", "TRY"),
    ("12.000 TL", "tr", "TRY", "12000", "TRY"),
    ("1,5m", "tr", "TRY", "1500000", "TRY"),
    ("12 bin", "tr", "TRY", "12000", "TRY"),
    ("3 milyon TL", "tr", "TRY", "3000000", "TRY"),
    ("12 B $", "tr", "TRY", "12000", "USD"),  # what format_money(compact) prints under tr
    # issue 10: a mark followed by exactly three digits is a thousands mark on a two-decimal
    # currency, whatever the locale
    ("12.000", "en", "USD", "12000", "USD"),
    ("12.000", "tr", "TRY", "12000", "TRY"),
    ("₺12.000", "en", "USD", "12000", "TRY"),
    ("$12,000", "tr", "TRY", "12000", "USD"),
    ("12.345", "en", "USD", "12345", "USD"),
    ("¥12.000", "en", "USD", "12000", "JPY"),  # no decimals at all: thousands
    # marks that allow one reading are read that way in any locale
    ("$12.000,00", "en", "USD", "12000", "USD"),
    ("₺12,000.00", "tr", "TRY", "12000", "TRY"),
    ("1.234.567,89 €", "en", "USD", "1234567.89", "EUR"),
    ("1,000,000", "tr", "TRY", "1000000", "TRY"),
    ("12 000", "en", "USD", "12000", "USD"),
    ("12'000", "en", "USD", "12000", "USD"),
    ("0,50", "en", "USD", "0.50", "USD"),
    # a single mark before 1-2 digits: the user's locale, or the named currency's convention
    ("12,50", "tr", "TRY", "12.50", "TRY"),
    ("12.50", "en", "USD", "12.50", "USD"),
    ("€12,50", "en", "USD", "12.50", "EUR"),
    ("€12.50", "tr", "TRY", "12.50", "EUR"),
    ("$12,50", "tr", "TRY", "12.50", "USD"),  # the product shows `$12,50` under tr
    ("12,50 TL", "en", "USD", "12.50", "TRY"),
    # three-decimal currencies: the locale decides (hundredths are kept)
    ("KWD 12.350", "en", "USD", "12.35", "KWD"),
    ("KWD 12,350", "tr", "TRY", "12.35", "KWD"),
    # a mark before a magnitude word is a decimal mark
    ("€1.2M", "en", "USD", "1200000", "EUR"),
    ("€1.2M", "tr", "TRY", "1200000", "EUR"),
    ("1,5m", "en", "USD", "1500000", "USD"),
    ("1,5 milyon", "tr", "TRY", "1500000", "TRY"),
    ("2 milyar", "tr", "TRY", "2000000000", "TRY"),
    ("₺1,5 Mn", "tr", "TRY", "1500000", "TRY"),
    ("12000 EUR", "tr", "TRY", "12000", "EUR"),
    ("Cg.1,000.00", "en", "USD", "1000", "XCG"),  # a symbol ending in a dot keeps it
    ("F\u202fCFA1,000", "en", "USD", "1000", "XOF"),  # a symbol with a space in it
    ("12,5", "tr", "TRY", "12.5", "TRY"),
    ("£5", "en", "USD", "5", "GBP"),
    ("¥500", "en", "USD", "500", "JPY"),
    ("₹1,20,000", "en_IN", "INR", "120000", "INR"),  # lakh grouping
    ("12 000 €", "fr", "EUR", "12000", "EUR"),
    ("12’000.50 CHF", "de_CH", "CHF", "12000.50", "CHF"),
    ("$12", "en_CA", "CAD", "12", "CAD"),  # `$` is the default's own symbol there
    ("$12", "en_CA", "USD", "12", "USD"),
    ("0", "en", "USD", "0", "USD"),
    ("12000", "en-US", "USD", "12000", "USD"),  # Slack spells locales with a dash
    ("12000", "xx_unknown", "USD", "12000", "USD"),
    ("1000000000000", "en", "USD", "1000000000000", "USD"),
]


@pytest.mark.parametrize(("text", "locale", "default", "amount", "currency"), GOOD)
def test_reads_amounts(text: str, locale: str, default: str, amount: str, currency: str) -> None:
    assert parse_amount(text, locale, default) == Money(Decimal(amount), currency)


def test_amounts_carry_the_currencys_places() -> None:
    assert str(parse_amount("12k").amount) == "12000.00"
    assert str(parse_amount("¥500").amount) == "500"


BAD = [
    # text, locale, what the message must say
    ("", "en", "Enter an amount"),
    ("   ", "en", "Enter an amount"),
    ("garbage", "en", "Couldn't read"),
    ("$", "en", "Couldn't read"),
    ("12,00,0", "en", "Couldn't read"),
    ("1,5", "en", '"1,5" can be read two ways: 1.5 or 15. Write 1.5 or 15 to say which.'),
    ("12,50", "en", '"12,50" can be read two ways: 12.50 or 1,250. Write 12.50 or 1250 to say which.'),
    ("12,50", "en-US", "can be read two ways: 12.50 or 1,250"),
    ("$12,50", "en", "can be read two ways: 12.50 or 1,250"),  # USD writes `,` for thousands too
    ("1.5", "tr", '"1.5" can be read two ways: 1,5 or 15. Write 1,5 or 15 to say which.'),
    ("12.50", "tr", "can be read two ways: 12,50 or 1.250"),
    ("12.5.0", "en", "Couldn't read"),
    ("1.234,5.6", "en", "Couldn't read"),
    ("12,0000", "en", "can be read two ways"),
    ("1234,000", "en", "Couldn't read"),  # three digits make it thousands, and 1234 is no group
    ("12 0", "en", "Couldn't read"),
    ("12.", "en", "Couldn't read"),
    ("1e5", "en", "Couldn't read"),
    ("12k5", "en", "Couldn't read"),
    ("1.2.3", "en", "Couldn't read"),
    ("-5", "en", "cannot be negative"),
    ("$-5", "en", "cannot be negative"),
    ("−12k", "en", "cannot be negative"),
    ("2T", "en", "looks too large"),
    ("1000000000000.01", "en", "looks too large"),
    ("9" * 40, "en", "looks too large"),
    ("12.345,678", "en", "at most 2 decimals"),
    ("0.345", "en", "at most 2 decimals"),
    ("12.5 JPY", "en", "JPY amounts take no decimals"),
    ("1.234 KWD", "en", "at most 2 decimals"),  # the database keeps hundredths
    ("12 XYZ", "en", 'Unknown currency "XYZ"'),
    ("12 XXX", "en", 'Unknown currency "XXX"'),  # ISO's "no currency" is not one to sell in
    ("12 DEM", "en", 'Unknown currency "DEM"'),  # withdrawn
    ("12 dollars please", "en", "Unknown currency"),
    ("$12 EUR", "en", "names two currencies"),
    ("1" * 80, "en", "Couldn't read"),
]


@pytest.mark.parametrize(("text", "locale", "message"), BAD)
def test_bad_amounts_say_what_was_expected(text: str, locale: str, message: str) -> None:
    default = "TRY" if locale == "tr" else "USD"
    with pytest.raises(InvalidInput) as caught:
        parse_amount(text, locale, default)
    assert message in caught.value.message


def test_unreadable_message_matches_the_spec_example() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_amount("12,00,0")
    assert caught.value.message == 'Couldn\'t read "12,00,0" as an amount. Try 12000, 12k, 1.5m or $12,000.'


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "compact", "shown"),
    [
        ("12000", "USD", "en", False, "$12,000.00"),
        ("12000", "TRY", "tr", False, "₺12.000,00"),
        ("12000.5", "EUR", "de", False, "€12,000.50"),  # salesbot speaks en and tr: others read English
        ("12000", "USD", "en", True, "$12K"),
        ("1500000", "USD", "en", True, "$1.5M"),
        ("950", "USD", "en", True, "$950"),
        ("12000", "TRY", "tr", True, "₺12 bin"),  # the word, not Babel's bare "B" (a billion in English)
    ],
)
def test_formats_money(amount: str, currency: str, locale: str, compact: bool, shown: str) -> None:
    assert format_money(Decimal(amount), currency, locale, compact=compact) == shown


def test_compact_form_reads_back() -> None:
    shown = format_money(Decimal("12000"), "TRY", "tr", compact=True)
    assert parse_amount(shown, "tr", "TRY") == Money(Decimal("12000"), "TRY")


@pytest.mark.parametrize(
    ("amount", "minor"),
    [("12000", 1200000), ("0", 0), ("0.01", 1), ("12.345", 1234), ("12.355", 1236), ("12.3", 1230)],
)
def test_to_minor_rounds_half_even_to_hundredths(amount: str, minor: int) -> None:
    assert to_minor(Decimal(amount)) == minor


def test_from_minor_has_exactly_two_places() -> None:
    assert str(from_minor(1234)) == "12.34"
    assert str(from_minor(0)) == "0.00"
    assert str(from_minor(1200000)) == "12000.00"


# --- properties -------------------------------------------------------------------

LOCALES = st.sampled_from(["en", "tr", "de", "fr", "en_IN", "de_CH"])
AMOUNT_ALPHABET = "0123456789.,'’ \u00a0kKmMbB$€£¥₺-+ EURTLUSDXYZ"
CENTS = st.integers(min_value=0, max_value=10**14)  # up to the 1e12 limit
ANY_TEXT = st.one_of(st.text(max_size=40), st.text(alphabet=AMOUNT_ALPHABET, max_size=20))


@settings(max_examples=400, deadline=None)
@given(text=ANY_TEXT, locale=LOCALES)
def test_any_text_is_money_or_invalid_input(text: str, locale: str) -> None:
    try:
        money = parse_amount(text, locale)
    except InvalidInput as err:
        assert err.message
    else:
        assert Decimal(0) <= money.amount <= Decimal(10) ** 12
        assert len(money.currency) == 3 and money.currency.isupper()


@settings(max_examples=200, deadline=None)
@given(minor=CENTS, currency=st.sampled_from(["USD", "EUR", "TRY", "GBP"]), locale=st.sampled_from(["en", "tr"]))
def test_formatted_amounts_read_back(minor: int, currency: str, locale: str) -> None:
    amount = from_minor(minor)
    shown = format_money(amount, currency, locale)
    assert parse_amount(shown, locale, default_currency=currency) == Money(amount, currency)


@settings(max_examples=200, deadline=None)
@given(minor=CENTS)
def test_decimal_strings_read_back(minor: int) -> None:
    amount = from_minor(minor)
    assert parse_amount(str(amount)).amount == amount
    assert to_minor(parse_amount(str(amount)).amount) == minor


@settings(max_examples=100, deadline=None)
@given(whole=st.integers(min_value=0, max_value=10**12), locale=LOCALES)
def test_plain_integers_read_the_same_in_every_locale(whole: int, locale: str) -> None:
    assert parse_amount(str(whole), locale).amount == whole


# --- issue 10: every amount the product shows reads back; nothing is ever misread ---------------

SUPPORTED = ["en", "tr"]
WRITERS = ["en", "tr", "en_US", "en_GB", "de", "fr"]
CURRENCIES = ["USD", "EUR", "TRY", "GBP", "JPY", "KRW", "CHF", "INR", "CAD", "AUD", "BRL", "KWD", "BHD", "TND"]


def _stored(currency: str, minor: int) -> Decimal:
    """An amount as the product stores it: hundredths, whole units for zero-decimal currencies."""
    amount = from_minor(minor)
    return amount.quantize(Decimal(1)) if _places(currency) == 0 else amount


def _places(currency: str) -> int:
    from babel.numbers import get_currency_precision

    return int(get_currency_precision(currency))


@settings(max_examples=600, deadline=None)
@given(minor=CENTS, currency=st.sampled_from(CURRENCIES), locale=st.sampled_from(SUPPORTED),
       default=st.sampled_from(["USD", "TRY", "EUR"]))
def test_every_shown_amount_reads_back_in_its_locale(minor: int, currency: str, locale: str, default: str) -> None:
    amount = _stored(currency, minor)
    shown = format_money(amount, currency, locale)
    assert parse_amount(shown, locale, default) == Money(amount, currency), shown


# amounts compact formatting shows exactly: 1-3 significant digits (one decimal) at a magnitude
ROUND = st.builds(lambda digits, exponent: Decimal(digits).scaleb(exponent),
                  st.integers(min_value=1, max_value=999), st.sampled_from([0, 2, 3, 5, 6, 8, 9]))


@settings(max_examples=400, deadline=None)
@given(amount=ROUND, currency=st.sampled_from(CURRENCIES), locale=st.sampled_from(SUPPORTED))
def test_every_compact_amount_reads_back(amount: Decimal, currency: str, locale: str) -> None:
    shown = format_money(amount, currency, locale, compact=True)
    parsed = parse_amount(shown, locale, "USD")
    assert parsed.currency == currency, shown
    assert parsed.amount == amount, shown


@settings(max_examples=300, deadline=None)
@given(minor=CENTS, currency=st.sampled_from(CURRENCIES), locale=st.sampled_from(SUPPORTED))
def test_compact_amounts_read_back_as_shown(minor: int, currency: str, locale: str) -> None:
    """Compact rounds (`$12.3K`): what it shows reads back to the shown value, within its rounding."""
    amount = _stored(currency, minor)
    shown = format_money(amount, currency, locale, compact=True)
    parsed = parse_amount(shown, locale, "USD")
    assert parsed.currency == currency
    assert abs(parsed.amount - amount) <= max(amount * Decimal("0.05"), Decimal("0.01")), shown


@settings(max_examples=1500, deadline=None)
@given(minor=CENTS, currency=st.sampled_from(sorted(iso_currencies())), writer=st.sampled_from(WRITERS),
       reader=st.sampled_from(["en", "tr", "en_US", "en_GB", "en-US"]), default=st.sampled_from(["USD", "TRY"]))
def test_an_amount_written_anywhere_is_never_misread(
    minor: int, currency: str, writer: str, reader: str, default: str
) -> None:
    """Formatted under one locale and typed by a user of another: the same value, or a question."""
    amount = _stored(currency, minor)
    shown = format_money(amount, currency, writer)
    try:
        parsed = parse_amount(shown, reader, default)
    except InvalidInput as err:
        assert "can be read two ways" in err.message, (shown, err.message)
    else:
        assert parsed == Money(amount, currency), (shown, reader)


@settings(max_examples=400, deadline=None)
@given(whole=st.integers(min_value=1, max_value=999), cents=st.integers(min_value=0, max_value=99),
       mark=st.sampled_from([".", ","]), locale=st.sampled_from(["en", "tr", "en_US"]),
       currency=st.sampled_from(["", "$", "€", "₺", " EUR", " USD", " TL"]))
def test_a_single_mark_before_cents_is_decimals_or_a_question(
    whole: int, cents: int, mark: str, locale: str, currency: str
) -> None:
    """`12,50`: 12.50 when the locale or the named currency writes decimals so, else both readings."""
    text = f"{whole}{mark}{cents:02d}"
    text = currency + text if currency in ("$", "€", "₺") else text + currency
    try:
        parsed = parse_amount(text, locale, "USD")
    except InvalidInput as err:
        assert f"{whole}{mark}{cents:02d}" in err.message and "can be read two ways" in err.message
    else:
        assert parsed.amount == Decimal(whole) + Decimal(cents) / 100


@settings(max_examples=300, deadline=None)
@given(thousands=st.integers(min_value=1, max_value=999), rest=st.integers(min_value=0, max_value=999),
       mark=st.sampled_from([".", ","]), locale=st.sampled_from(["en", "tr", "en_US"]),
       currency=st.sampled_from(["$", "€", "₺", "", " EUR", " TL"]))
def test_three_digits_after_a_mark_are_thousands(thousands: int, rest: int, mark: str, locale: str,
                                                  currency: str) -> None:
    text = f"{thousands}{mark}{rest:03d}"
    text = currency + text if currency in ("$", "€", "₺") else text + currency
    assert parse_amount(text, locale, "USD").amount == thousands * 1000 + rest


def test_amounts_read_from_slash_commands() -> None:
    """The issue's own examples, as the /deal listener reads them."""
    assert parse_amount("₺12.000", "en", "USD") == Money(Decimal("12000"), "TRY")
    assert parse_amount("$12,000", "tr", "TRY") == Money(Decimal("12000"), "USD")
    assert parse_amount("12 bin", "tr", "TRY") == Money(Decimal("12000"), "TRY")
    assert parse_amount("12.000 TL", "tr", "TRY") == Money(Decimal("12000"), "TRY")


def test_compact_form_reads_the_way_babel_2_19_shows_it() -> None:
    """Compact Turkish amounts are written with the word (`₺12 bin`, `₺1,5 milyon`); Babel's own
    `₺12 B` (B = bin in tr, a billion in en) is still read back, as a Turkish user may type it."""
    shown = format_money(Decimal("12000"), "TRY", "tr", compact=True)
    assert shown == "₺12 bin"
    assert parse_amount("₺12\xa0B", "tr", "TRY").amount == 12000
    assert parse_amount(shown, "tr", "TRY").amount == 12000
    assert parse_amount("12B", "en", "USD").amount == 12 * 10**9
    assert parse_amount(format_money(Decimal("1500000"), "TRY", "tr", compact=True), "tr").amount == 1500000


@pytest.mark.parametrize("code", ["XYZ", "ABC", "XXX", "usd1", "", "EURO", "DEM"])
def test_unknown_currency_codes_are_refused(code: str) -> None:
    from core.money import check_currency

    with pytest.raises(InvalidInput) as caught:
        check_currency(code, field="currency")
    assert "is not a currency code" in caught.value.message and caught.value.field == "currency"


def test_known_currency_codes_are_upper_cased() -> None:
    from core.money import check_currency, iso_currencies

    assert check_currency(" eur ") == "EUR"
    assert {"USD", "EUR", "TRY", "JPY", "KWD", "GBP"} <= iso_currencies()
