"""The catalogs (issue 13): complete, in step with the code, compiling cleanly; and the
language of the text being built is the one the edge set."""
from __future__ import annotations

import io
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from bot import catalogs
from bot.app import ContextCarryingExecutor
from core import i18n
from core.i18n import current_locale, language_of, use_locale


def test_every_text_in_the_code_has_its_turkish_and_the_catalog_is_in_step() -> None:
    assert catalogs.check() == []


def test_the_turkish_catalog_compiles_without_a_warning() -> None:
    with catalogs.po_path("tr").open("rb") as po, warnings.catch_warnings():
        warnings.simplefilter("error")
        catalog = read_po(po, locale="tr")
        write_mo(io.BytesIO(), catalog)
    assert catalog.num_plurals == 2


@pytest.mark.parametrize(("tag", "language"), [
    ("tr-TR", "tr"), ("tr_TR", "tr"), ("TR", "tr"), ("en-GB", "en"), ("en", "en"),
    ("de-DE", None), ("", None), (None, None), ("klingon", None),
])
def test_language_of_a_slack_locale(tag: str | None, language: str | None) -> None:
    assert language_of(tag) == language


def test_use_locale_sets_and_restores_the_language() -> None:
    assert current_locale() == "en"
    with use_locale("tr-TR"):
        assert current_locale() == "tr"
        with use_locale("de-DE"):  # unsupported: English, the source language
            assert current_locale() == "en"
        assert current_locale() == "tr"
    assert current_locale() == "en"


def test_the_listener_pool_runs_listeners_in_the_request_language() -> None:
    with ContextCarryingExecutor(max_workers=1) as carrying, ThreadPoolExecutor(max_workers=1) as plain, \
            use_locale("tr"):
        assert carrying.submit(current_locale).result() == "tr"
        assert plain.submit(current_locale).result() == "en"  # why the carrying pool exists


def _turkish(entries: list[tuple[str | tuple[str, str], str | tuple[str, str]]]) -> Translations:
    catalog = Catalog(locale="tr", domain="salesbot")
    for msgid, msgstr in entries:
        catalog.add(msgid, msgstr)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain="salesbot")


def test_gettext_and_plural_forms_follow_the_current_language(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _turkish([("Deal {ref} won.", "{ref} kazanıldı."),
                     (("{n} deal", "{n} deals"), ("{n} fırsat", "{n} fırsat"))])
    monkeypatch.setattr(i18n, "translations", lambda locale: fake if locale == "tr" else i18n.NullTranslations())
    with use_locale("tr"):
        assert i18n._("Deal {ref} won.").format(ref="D-1") == "D-1 kazanıldı."
        assert i18n.ngettext("{n} deal", "{n} deals", 3).format(n=3) == "3 fırsat"
    assert i18n._("Deal {ref} won.").format(ref="D-1") == "Deal D-1 won."
    assert i18n.ngettext("{n} deal", "{n} deals", 1).format(n=1) == "1 deal"
    assert i18n.ngettext("{n} deal", "{n} deals", 2).format(n=2) == "2 deals"


def test_the_check_names_a_missing_translation_and_a_changed_placeholder() -> None:
    catalog = Catalog(locale="tr")
    untranslated = catalog.add("Deal {ref} won.", "")
    renamed = catalog.add("Deal {ref} won!", "{deal} kazanıldı!")
    assert catalogs.message_problems(untranslated, "tr") == ["tr: 'Deal {ref} won.' has no translation"]
    assert "placeholders differ" in catalogs.message_problems(renamed, "tr")[0]
