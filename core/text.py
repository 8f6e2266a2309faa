"""Casing, matching and sorting of names in the reader's language (Turkish İ/ı included).

Python's str.upper/lower follow no language: "i".upper() is "I" and "I".lower() is "i",
which is wrong in Turkish ("KARADENİZ", "ısparta"), and "İ".lower() leaves a combining dot.
These functions take the language (a locale tag such as `tr`, `tr-TR` or `en`) and apply
its rules; for English and any other language they are Python's own.

Matching: `casefold_for_match` is the key two names are compared by. In Turkish it is the
Turkish lower case ("İstanbul" and "istanbul" give "istanbul"; "ISPARTA" and "Isparta" give
"ısparta"). `loose_key` also folds ı into i, for a fallback when nothing matches exactly
(a Turkish name typed on a keyboard without ı or İ).

Sorting: `sort_key` orders by the language's alphabet (Turkish: a b c ç d e f g ğ h ı i j k
l m n o ö p r s ş t u ü v y z), then accents, then case, then the text itself, so the order is
total and the same on every run. No ICU: the alphabet is small and written out here.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeVar

from core.i18n import current_locale, language_of

T = TypeVar("T")

TURKISH_ALPHABET = "abcçdefgğhıijklmnoöpqrsştuüvwxyz"  # q, w, x: where CLDR puts them
ENGLISH_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_RANKS = {
    "tr": {c: i for i, c in enumerate(TURKISH_ALPHABET)},
    "en": {c: i for i, c in enumerate(ENGLISH_ALPHABET)},
}
_DIGIT, _LETTER, _OTHER = 1_000, 2_000, 10_000


def _lang(locale: str | None) -> str:
    return language_of(locale if locale is not None else current_locale()) or "en"


def is_turkish(locale: str | None) -> bool:
    return _lang(locale) == "tr"


def upper(text: str, locale: str | None = None) -> str:
    """Upper case in `locale` (the current language when None): Turkish "i" -> "İ"."""
    if is_turkish(locale):
        text = text.replace("i", "İ")
    return text.upper()


def lower(text: str, locale: str | None = None) -> str:
    """Lower case in `locale` (the current language when None): Turkish "I" -> "ı", "İ" -> "i"."""
    if is_turkish(locale):
        text = text.replace("I", "ı").replace("İ", "i")
    return text.lower()


def title(text: str, locale: str | None = None) -> str:
    """Each word's first letter upper, the rest lower, in `locale` ("istanbul" -> "İstanbul")."""
    return " ".join(upper(w[:1], locale) + lower(w[1:], locale) for w in text.split(" "))


def casefold_for_match(text: str, locale: str | None = None) -> str:
    """The key two names are compared by: case-free in `locale`, composed, single spaces."""
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    if is_turkish(locale):
        return lower(text, "tr").casefold()  # casefold keeps ı; lower already handled I and İ
    return text.casefold()


def loose_key(text: str, locale: str | None = None) -> str:
    """`casefold_for_match`, with ı folded into i too (a fallback key, never the first try)."""
    return casefold_for_match(text, locale).replace("ı", "i").replace("i\u0307", "i")


def same_name(a: str, b: str, locale: str | None = None) -> bool:
    return casefold_for_match(a, locale) == casefold_for_match(b, locale)


def matching(items: Iterable[T], wanted: str, name: Callable[[T], str], locale: str | None = None) -> list[T]:
    """The items whose name equals `wanted` in `locale`; if none, those equal under `loose_key`.

    The fallback runs whatever the reader's language, so a Turkish name ("İzmir", "Işık")
    is found by someone writing in English too; what matched before still matches first."""
    items = list(items)
    key = casefold_for_match(wanted, locale)
    exact = [item for item in items if casefold_for_match(name(item), locale) == key]
    if exact:
        return exact
    loose = loose_key(wanted, locale)
    return [item for item in items if loose_key(name(item), locale) == loose]


def _rank(char: str, ranks: dict[str, int]) -> tuple[int, int]:
    """(primary, accent) of one lower-case character."""
    if char in ranks:
        return _LETTER + ranks[char], 0
    if char.isdigit():
        return _DIGIT + (unicodedata.digit(char, 0)), 0
    base = unicodedata.normalize("NFD", char)
    if base[:1] in ranks:  # é, â, ñ: their letter, after it by accent
        return _LETTER + ranks[base[0]], 1 + sum(ord(c) for c in base[1:]) % 997
    if char.isalpha():
        return _OTHER + ord(char), 0
    return ord(char) % _DIGIT, 0  # spaces and punctuation first


def sort_key(text: str, locale: str | None = None) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], str]:
    """Order names by the alphabet of `locale`, then accents, then case (lower first), then the text."""
    ranks = _RANKS[_lang(locale)] if _lang(locale) in _RANKS else _RANKS["en"]
    composed = unicodedata.normalize("NFC", text)
    folded = lower(composed, locale)
    pairs = [_rank(c, ranks) for c in folded]
    cases = tuple(0 if c == f else 1 for c, f in zip(composed, folded, strict=False))
    return tuple(p for p, __ in pairs), tuple(a for __, a in pairs), cases, composed


def sorted_names(items: Iterable[T], name: Callable[[T], str], locale: str | None = None) -> list[T]:
    """`items` sorted by their names in `locale` (stable for equal names)."""
    return sorted(items, key=lambda item: sort_key(name(item), locale))
