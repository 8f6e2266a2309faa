"""Reading and showing amounts: what a rep types, in their locale."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.money import Money, format_money, from_minor, parse_amount, to_minor

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
    ("12.000", "en", "USD", "12", "USD"),  # `.` is the decimal mark in en
    ("12.000", "tr", "TRY", "12000", "TRY"),  # and the thousands mark in tr
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
    ("1,5", "en", "Try 12000, 12k, 1.5m or $12,000."),  # ambiguous under en
    ("1.5", "tr", "Try 12000, 12k, 1,5m or ₺12.000."),  # ambiguous under tr
    ("12 000", "en", "Couldn't read"),
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
    ("12.345", "en", "at most 2 decimals"),
    ("12.5 JPY", "en", "JPY amounts take no decimals"),
    ("1.234 KWD", "en", "at most 2 decimals"),  # the database keeps hundredths
    ("12 XYZ", "en", 'Unknown currency "XYZ"'),
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
        ("12000.5", "EUR", "de", False, "12.000,50\xa0€"),
        ("12000", "USD", "en", True, "$12K"),
        ("1500000", "USD", "en", True, "$1.5M"),
        ("950", "USD", "en", True, "$950"),
        ("12000", "TRY", "tr", True, "₺12\xa0B"),
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
