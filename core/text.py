"""Changing the case of text the way its reader's language does (Turkish dotted and dotless i).

Python's str.upper() knows no language: "Karadeniz".upper() is "KARADENIZ", but a Turkish
reader writes "KARADENİZ" (i → İ), and "IŞIK".lower() is "işık" in Turkish, not "işik"
(I → ı). Every display that changes case goes through here, in the current language
(core.i18n.current_locale()) unless a locale is passed.
"""
from __future__ import annotations

from core.i18n import current_locale, language_of

# Languages whose i has a dotted and a dotless form (Azerbaijani would join when supported).
_DOTTED_I = frozenset({"tr", "az"})


def _dotted(locale: str | None) -> bool:
    lang = language_of(locale) if locale is not None else current_locale()
    return lang in _DOTTED_I


def upper(text: str, locale: str | None = None) -> str:
    """`Karadeniz` → `KARADENİZ` in Turkish, `KARADENIZ` in English."""
    if _dotted(locale):
        text = text.replace("i", "İ")
    return text.upper()


def lower(text: str, locale: str | None = None) -> str:
    """`IŞIK` → `ışık` in Turkish; `İSTANBUL` → `istanbul` (no stray combining dot)."""
    if _dotted(locale):
        text = text.replace("I", "ı").replace("İ", "i")
    return text.lower()


def capitalize(text: str, locale: str | None = None) -> str:
    """The first letter upper case, the rest unchanged: `istanbul` → `İstanbul` in Turkish."""
    return upper(text[:1], locale) + text[1:] if text else text


def title(text: str, locale: str | None = None) -> str:
    """Each word capitalized, the rest lower case: `izmir ilçeleri` → `İzmir İlçeleri`."""
    return " ".join(capitalize(lower(word, locale), locale) for word in text.split(" "))


def fold(text: str, locale: str | None = None) -> str:
    """A form for matching regardless of case: `İzmir`, `İZMİR` and `izmir` match in Turkish."""
    return lower(text, locale).casefold()
