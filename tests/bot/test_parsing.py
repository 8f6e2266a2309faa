"""Reading command text: quotes, options, mentions, amounts — and never a crash."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.parsing import (
    MAX_COMMAND_TEXT,
    longest_prefix,
    looks_like_amount,
    read_args,
    resolve_option,
    split_amount,
    tokenize,
)
from core.dates import parse_date, parse_datetime
from core.errors import InvalidInput, UserError
from core.money import parse_amount

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def words(text: str) -> list[str]:
    return read_args(text).word_texts()


@pytest.mark.parametrize("text", ["<@U123|ana>", "<@U123>", "U123", "@U123", "<@W0AB1CD2|ana smith>"])
def test_every_form_of_a_user_mention_is_understood(text: str) -> None:
    args = read_args(f"add East {text}")
    assert args.users == [text.split("|")[0].strip("<@>")]
    assert words(f"add East {text}") == ["add", "East"]


@pytest.mark.parametrize("text", ["<#C123|sales>", "<#C123>", "C123", "#C123"])
def test_every_form_of_a_channel_is_understood(text: str) -> None:
    assert read_args(f"channel East {text}").channels == ["C123"]


def test_words_that_merely_start_with_u_stay_words() -> None:
    assert words("new Acme USA UK U2") == ["new", "Acme", "USA", "UK", "U2"]
    assert read_args("new Acme USA").users == []


def test_quoted_strings_are_one_word_and_literal() -> None:
    args = read_args('link "Anna Smith" <@U1|anna> note "stage:proposal"')
    assert args.word_texts() == ["link", "Anna Smith", "note", "stage:proposal"]
    assert args.options == {}
    assert args.words[1].quoted


def test_smart_quotes_work_like_straight_ones() -> None:
    assert words("show \u201cAcme renewal\u201d") == ["show", "Acme renewal"]


def test_options_with_plain_and_quoted_values() -> None:
    args = read_args('new Acme stage:"closed won" close:fri')
    assert args.option("stage") == "closed won"
    assert args.option("close") == "fri"
    assert args.options["stage"].quoted


def test_option_with_a_space_after_the_colon() -> None:
    assert read_args("list stage: proposal").option("stage") == "proposal"


def test_option_names_ignore_case() -> None:
    assert read_args("list STAGE:proposal").option("stage") == "proposal"


def test_an_option_without_a_value_says_what_is_expected() -> None:
    with pytest.raises(InvalidInput, match="stage:proposal"):
        read_args("list stage:")


def test_an_option_given_twice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="twice"):
        read_args("list stage:a stage:b")


def test_an_unclosed_quote_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not closed"):
        read_args('show "Acme renewal')


def test_group_mentions_are_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="one by one"):
        read_args("team add East <!here>")


def test_slack_html_escapes_are_undone() -> None:
    assert words("new AT&amp;T &lt;big&gt;") == ["new", "AT&T", "<big>"]


def test_over_long_text_is_refused() -> None:
    with pytest.raises(InvalidInput, match="keep it under"):
        read_args("x" * (MAX_COMMAND_TEXT + 1))


def test_a_date_option_takes_as_many_words_as_make_a_date() -> None:
    args = read_args("new Acme renewal 12k stage:proposal close:next friday")
    close = resolve_option(args, "close", lambda t: parse_date(t, NOW, "UTC"))
    assert close == date(2026, 12, 4) or close == date(2026, 11, 27)
    assert args.word_texts() == ["new", "Acme", "renewal", "12k"]


def test_a_date_option_leaves_the_words_that_are_not_part_of_it() -> None:
    args = read_args("new close:tomorrow Acme renewal")
    close = resolve_option(args, "close", lambda t: parse_date(t, NOW, "UTC"))
    assert close == date(2026, 11, 24)
    assert args.word_texts() == ["new", "Acme", "renewal"]


def test_a_bad_date_option_raises_the_date_error() -> None:
    args = read_args("new Acme close:someday")
    with pytest.raises(InvalidInput, match="someday"):
        resolve_option(args, "close", lambda t: parse_date(t, NOW, "UTC"))


def test_the_rightmost_amount_is_the_amount_and_the_rest_the_title() -> None:
    args = read_args("Acme 2027 renewal 12k")
    amount, rest = split_amount(args.words, lambda t: parse_amount(t, "en", "USD"))
    assert amount is not None and amount.amount == Decimal("12000")
    assert [t.value for t in rest] == ["Acme", "2027", "renewal"]


def test_an_amount_with_a_currency_word() -> None:
    args = read_args("Acme 12000 EUR")
    amount, rest = split_amount(args.words, lambda t: parse_amount(t, "en", "USD"))
    assert amount is not None and (amount.amount, amount.currency) == (Decimal("12000"), "EUR")
    assert [t.value for t in rest] == ["Acme"]


def test_a_turkish_amount_follows_the_locale() -> None:
    args = read_args("Acme ₺12.000")
    amount, _ = split_amount(args.words, lambda t: parse_amount(t, "tr", "TRY"))
    assert amount is not None and amount.amount == Decimal("12000")


def test_a_bad_amount_is_an_error_not_part_of_the_title() -> None:
    args = read_args("Acme -5k")
    with pytest.raises(InvalidInput, match="negative"):
        split_amount(args.words, lambda t: parse_amount(t, "en", "USD"))


def test_no_amount_leaves_the_words() -> None:
    args = read_args("Acme Q3 4x4 trucks")
    amount, rest = split_amount(args.words, lambda t: parse_amount(t, "en", "USD"))
    assert amount is None and len(rest) == 4


@pytest.mark.parametrize("word,expected", [("12k", True), ("$12,000", True), ("1.5m", True), ("-5", True),
                                           ("Q3", False), ("4x4", False), ("Acme", False), ("₺12.000", True)])
def test_amount_shapes(word: str, expected: bool) -> None:
    assert looks_like_amount(word) is expected


def test_longest_prefix_takes_the_longest_run_that_parses() -> None:
    value, used = longest_prefix(["tomorrow", "3pm", "send", "proposal"],
                                 lambda t: parse_datetime(t, NOW, "UTC"))
    assert used == 2 and value == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def test_longest_prefix_raises_when_nothing_parses() -> None:
    with pytest.raises(InvalidInput):
        longest_prefix(["whenever", "you", "like"], lambda t: parse_datetime(t, NOW, "UTC"))


# -- properties ------------------------------------------------------------------------------

SLACKISH = st.lists(
    st.sampled_from([*'abcUWC0123456789 "\u201c\u201d<>@#|:&;-_.,$€₺kKmM\t\n', "&amp;", "stage:", "close:",
                     "closing:", "<@U1|a b>", "<#C1|x>", "<!here>", "12k", " "]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), SLACKISH))
def test_any_text_parses_or_raises_a_user_error(text: str) -> None:
    try:
        args = read_args(text)
    except UserError as err:
        assert err.message
        return
    assert all(t.kind == "word" for t in args.words)
    assert all(u[0] in "UW" for u in args.users)
    try:
        split_amount(args.words, lambda t: parse_amount(t, "en", "USD"))
        resolve_option(args, "close", lambda t: parse_date(t, NOW, "UTC"))
    except UserError as err:
        assert err.message


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[UW][A-Z0-9]{1,10}[0-9][A-Z0-9]{0,5}", fullmatch=True),
       st.text(alphabet="abc xyz", max_size=20))
def test_user_ids_are_found_in_every_form(user_id: str, label: str) -> None:
    for form in (f"<@{user_id}|{label}>", f"<@{user_id}>", user_id, f"@{user_id}"):
        assert read_args(f"add East {form}").users == [user_id], form


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abcdefgh ,.'", min_size=1, max_size=12).map(str.strip).filter(bool),
                min_size=1, max_size=5))
def test_quoted_words_round_trip(parts: list[str]) -> None:
    text = " ".join(f'"{p}"' for p in parts)
    assert tokenize(text) and [t.value for t in tokenize(text)] == parts


def test_ordinals_stay_title_words_and_turkish_amount_words_are_taken() -> None:
    from bot.commands.parsing import looks_like_amount, read_args, split_amount
    from core.money import parse_amount

    for word in ("3rd", "2nd", "1st", "4th", "5pm", "3d"):
        assert not looks_like_amount(word)
    for text, amount, title in (("Acme 3rd floor 12 bin", "12000", "Acme 3rd floor"),
                                ("Kartal 1,5 milyon TL", "1500000", "Kartal"),
                                ("Ata 12.000TL", "12000", "Ata"),
                                ("Acme 12k for you", "12000", "Acme for you")):
        money, rest = split_amount(read_args(text).words, lambda t: parse_amount(t, "tr", "TRY"))
        assert money is not None and money.amount == int(amount)
        assert " ".join(t.value for t in rest) == title
