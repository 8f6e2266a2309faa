"""Keeping the gettext catalogs in step with the code (Babel's extract, update, compile, check).

`salesbot i18n extract` writes core/locale/salesbot.pot from every `_()`, `ngettext()`,
`pgettext()` and `N_()` in core/ and bot/; `update` merges it into each language's .po (new
texts arrive untranslated, removed ones become obsolete); `compile` writes the .mo files;
`check` lists what keeps a language from being complete: an untranslated or fuzzy text,
placeholders that differ from the English, a .po out of step with the code, or what Babel's
own checkers find. The tests run `check` so that a text added without its Turkish fails CI.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from core.i18n import DOMAIN, LOCALE_DIR, SOURCE_LOCALE, SUPPORTED_LOCALES, po_path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("core", "bot")
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
TRANSLATED = tuple(lang for lang in SUPPORTED_LOCALES if lang != SOURCE_LOCALE)
_EPOCH = datetime(2026, 12, 1, tzinfo=UTC)
_HEADER = "# salesbot's texts. English is the source; see README, Translations.\n#"
_PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


def extract_template() -> Catalog:
    """Every translatable text in the code, with where it is used."""
    # A fixed creation date keeps the files byte-stable: they change only when texts change.
    template = Catalog(project="salesbot", domain=DOMAIN, charset="utf-8", fuzzy=False,
                       creation_date=_EPOCH, revision_date=_EPOCH, msgid_bugs_address="",
                       header_comment=_HEADER)
    for directory in SOURCE_DIRS:
        found = extract_from_dir(
            ROOT / directory, method_map=[("**.py", "python")], keywords=DEFAULT_KEYWORDS,
            comment_tags=("Translators:",), strip_comment_tags=True,
        )
        for filename, lineno, message, comments, context in found:
            location = (f"{directory}/{filename}", lineno)
            template.add(message, None, [location], auto_comments=comments, context=context)
    return template


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=100, sort_by_file=True, include_previous=False)


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=locale, domain=DOMAIN)


def extract() -> Path:
    _write(extract_template(), TEMPLATE)
    return TEMPLATE


def update() -> list[Path]:
    """Merge the code's texts into every language's .po (creating it the first time)."""
    template = extract_template()
    written = []
    for lang in TRANSLATED:
        path = po_path(lang)
        catalog = _read(path, lang) if path.exists() else Catalog(
            locale=lang, domain=DOMAIN, project="salesbot", creation_date=_EPOCH, revision_date=_EPOCH,
            msgid_bugs_address="", header_comment=_HEADER)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False
        catalog.revision_date = _EPOCH
        catalog.obsolete.clear()  # git keeps the history of removed texts
        _write(catalog, path)
        written.append(path)
    _write(template, TEMPLATE)
    return written


def compile_catalogs() -> list[Path]:
    written = []
    for lang in TRANSLATED:
        catalog = _read(po_path(lang), lang)
        mo = po_path(lang).with_suffix(".mo")
        with mo.open("wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        written.append(mo)
    return written


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def _texts(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def message_problems(message: Message, lang: str) -> list[str]:
    """What is wrong with one translated message (empty when it is complete)."""
    where = f"{lang}: {message.id!r}"
    ids = _texts(message.id)
    strings = _texts(message.string)
    if message.fuzzy:
        return [f"{where} is marked fuzzy"]
    if not strings or any(not s for s in strings):
        return [f"{where} has no translation"]
    wanted = set().union(*(placeholders(i) for i in ids))
    problems = []
    for s in strings:
        # A plural form may leave out `{n}` (Turkish `bir` for one), never invent a name.
        extra = placeholders(s) - wanted
        missing = wanted - placeholders(s) - ({"n"} if len(ids) > 1 else set())
        if extra or missing:
            problems.append(f"{where}: placeholders differ in {s!r} (extra {sorted(extra)}, missing {sorted(missing)})")
    return problems


def check() -> list[str]:
    """Everything that keeps a language from being complete and in step with the code."""
    template = extract_template()
    problems: list[str] = []
    for lang in TRANSLATED:
        path = po_path(lang)
        if not path.exists():
            problems.append(f"{lang}: {path} is missing (run `salesbot i18n update`)")
            continue
        catalog = _read(path, lang)
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id, context=message.context)
            if found is None:
                problems.append(f"{lang}: {message.id!r} is not in {path.name} (run `salesbot i18n update`)")
                continue
            problems.extend(message_problems(found, lang))
        for message in catalog:
            if message.id and template.get(message.id, context=message.context) is None:
                problems.append(f"{lang}: {message.id!r} is no longer used (run `salesbot i18n update`)")
        for message, errors in catalog.check():
            problems.extend(f"{lang}: {message.id!r}: {error}" for error in errors)
    return problems
