"""The words a user reads, in the user's language: gettext catalogs managed with Babel.

English is the source language: texts are written in English inside `_()` / `ngettext()` and
Turkish comes from core/locale/tr/LC_MESSAGES/salesbot.po. The catalogs are compiled when first
used (in memory, from the .po files shipped in the package), so an install never runs with
stale .mo files; `salesbot i18n compile` writes .mo files too, for packagers who want them.

The language of the text being built is a context variable, set at the edge (the Bolt
middleware for a request, a job for each recipient) with `use_locale`. Core functions that
raise a UserError read it through `_()` like any view; they stay free of I/O and clocks.

Placeholders are named braces, filled after translation:
`_("Deal {ref} moved to {stage}.").format(ref=ref, stage=stage)`, so a translator can move them.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DOMAIN = "salesbot"
LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LOCALE = "en"
SUPPORTED_LOCALES = ("en", "tr")

_current: ContextVar[str] = ContextVar("salesbot_locale", default=SOURCE_LOCALE)


def language_of(tag: str | None) -> str | None:
    """The supported language of a locale tag (`tr-TR`, `tr_TR`, `TR`, `en-GB`), or None."""
    if not tag:
        return None
    language = tag.replace("_", "-").split("-")[0].strip().lower()
    return language if language in SUPPORTED_LOCALES else None


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog of a supported language (English: the source texts themselves)."""
    language = language_of(locale) or SOURCE_LOCALE
    path = po_path(language)
    if language == SOURCE_LOCALE or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def current_locale() -> str:
    """The language texts are being built in (`en` unless an edge said otherwise)."""
    return _current.get()


@contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    """Build texts in `locale` (a tag such as `tr-TR`; unsupported or None means English) inside."""
    language = language_of(locale) or SOURCE_LOCALE
    token = _current.set(language)
    try:
        yield language
    finally:
        _current.reset(token)


def activate(locale: str | None) -> str:
    """Build texts in `locale` from here on in this context (the Bolt middleware: Bolt runs the
    listener after the middleware returns, so a `with` block there would end too early)."""
    language = language_of(locale) or SOURCE_LOCALE
    _current.set(language)
    return language


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for `n` (`{n}` stays a placeholder for `.format(n=...)`)."""
    return translations(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` where the English word alone is ambiguous (`Close` a modal vs `Close` a deal)."""
    return str(translations(_current.get()).pgettext(context, message))


def N_(message: str) -> str:
    """Mark a text for translation without translating it (module constants); `_()` it when shown."""
    return message


_ = gettext
