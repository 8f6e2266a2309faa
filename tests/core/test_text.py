"""Casing, matching and sorting of names by the reader's language (issue 13): Turkish İ/ı."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.i18n import use_locale
from core.text import (
    TURKISH_ALPHABET,
    casefold_for_match,
    loose_key,
    lower,
    matching,
    same_name,
    sort_key,
    sorted_names,
    title,
    upper,
)

TURKISH_LETTERS = "abcçdefgğhıijklmnoöprsştuüvyzABCÇDEFGĞHIİJKLMNOÖPRSŞTUÜVYZ"


@pytest.mark.parametrize(("text", "tr", "en"), [
    ("Karadeniz", "KARADENİZ", "KARADENIZ"),
    ("istanbul", "İSTANBUL", "ISTANBUL"),
    ("ılgaz", "ILGAZ", "ILGAZ"),
    ("Şule Çağrı Öztürk", "ŞULE ÇAĞRI ÖZTÜRK", "ŞULE ÇAĞRI ÖZTÜRK"),
])
def test_upper_case_follows_the_language(text: str, tr: str, en: str) -> None:
    assert upper(text, "tr") == tr
    assert upper(text, "tr-TR") == tr
    assert upper(text, "en") == en


@pytest.mark.parametrize(("text", "tr", "en"), [
    ("ISPARTA", "ısparta", "isparta"),
    ("İSTANBUL", "istanbul", "i̇stanbul"),  # Python's own: an i with a combining dot
    ("IĞDIR", "ığdır", "iğdir"),
])
def test_lower_case_follows_the_language(text: str, tr: str, en: str) -> None:
    assert lower(text, "tr") == tr
    assert lower(text, "en") == en


def test_the_current_language_is_the_default() -> None:
    with use_locale("tr"):
        assert upper("izmir") == "İZMİR"
        assert title("istanbul ılıca") == "İstanbul Ilıca"
    assert upper("izmir") == "IZMIR"


def test_matching_a_turkish_name_in_a_turkish_workspace() -> None:
    assert same_name("istanbul", "İstanbul", "tr")
    assert same_name("İSTANBUL", "istanbul", "tr")
    assert casefold_for_match("ISPARTA", "tr") == casefold_for_match("Isparta", "tr") == "ısparta"
    assert not same_name("ISPARTA", "isparta", "tr")  # in Turkish these are two spellings
    assert same_name("Çağrı  Öz", "çağrı öz", "tr")  # spaces count once


def test_matching_stays_as_it_was_for_english() -> None:
    assert same_name("Acme Renewal", "acme renewal", "en")
    assert casefold_for_match("ISPARTA", "en") == "isparta"
    assert not same_name("İstanbul", "istanbul", "en")  # the exact key is Python's own ...
    assert loose_key("İstanbul", "en") == loose_key("istanbul", "en")  # ... the fallback is not


def test_matching_falls_back_to_dotless_equals_dotted_only_when_nothing_matches_exactly() -> None:
    cities = ["Isparta", "İzmir", "ısparta köyü"]
    assert matching(cities, "ISPARTA", str, "tr") == ["Isparta"]
    assert matching(cities, "isparta", str, "tr") == ["Isparta"]  # typed without ı: the loose key
    assert matching(cities, "IZMIR", str, "tr") == ["İzmir"]  # typed without İ
    assert matching(cities, "izmir", str, "en") == ["İzmir"]  # a Turkish name found in English too
    assert matching(cities, "Ankara", str, "tr") == []


def test_sorting_follows_the_turkish_alphabet() -> None:
    names = ["Zeynep", "çağla", "Ceren", "ılgaz", "İpek", "Ismail", "Ali", "ömer", "Oya", "Şule", "Sema",
             "Üner", "Uğur", "Gül", "Ğ", "Hakan"]
    assert sorted_names(names, str, "tr") == [
        "Ali", "Ceren", "çağla", "Gül", "Ğ", "Hakan", "ılgaz", "Ismail", "İpek", "Oya", "ömer", "Sema", "Şule",
        "Uğur", "Üner", "Zeynep"]
    # English keeps its own order: ç is a c with an accent (the letters after it decide first)
    assert sorted_names(["şule", "sema", "zeki", "cem", "çağla", "cağla"], str, "en") == [
        "cağla", "çağla", "cem", "sema", "şule", "zeki"]
    assert sorted_names(["cem", "çağla", "cağla"], str, "tr") == ["cağla", "cem", "çağla"]


def test_the_alphabet_itself_is_in_order() -> None:
    letters = list(TURKISH_ALPHABET)
    assert sorted(reversed(letters), key=lambda c: sort_key(c, "tr")) == letters


names = st.text(alphabet=TURKISH_LETTERS + " -'0123456789éâ", max_size=12)


@given(st.lists(names, max_size=20))
def test_sorting_is_total_and_stable(items: list[str]) -> None:
    once = sorted_names(items, str, "tr")
    assert sorted_names(list(reversed(items)), str, "tr") == once  # the order of the input does not matter
    assert sorted_names(once, str, "tr") == once
    keys = [sort_key(n, "tr") for n in once]
    assert keys == sorted(keys)
    assert len({sort_key(n, "tr") for n in items}) == len(set(items))  # equal keys only for equal names


@given(st.text(alphabet=TURKISH_LETTERS, max_size=30))
def test_turkish_upper_and_lower_round_trip(word: str) -> None:
    assert lower(upper(word, "tr"), "tr") == lower(word, "tr")
    assert upper(lower(word, "tr"), "tr") == upper(word, "tr")
    assert len(upper(word, "tr")) == len(word) == len(lower(word, "tr"))  # Turkish letters map one to one
    assert casefold_for_match(upper(word, "tr"), "tr") == casefold_for_match(lower(word, "tr"), "tr")


@given(names, names)
def test_same_name_agrees_with_the_key(a: str, b: str) -> None:
    assert same_name(a, b, "tr") == (casefold_for_match(a, "tr") == casefold_for_match(b, "tr"))
    if same_name(a, b, "tr"):
        assert loose_key(a, "tr") == loose_key(b, "tr")
