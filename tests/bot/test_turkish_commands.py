"""Issue 13 through the commands: a Turkish user's subcommands, amounts, dates, stage names and refs,
every modal in Turkish within Slack's limits, and the chain that picks each user's language.

Requests are signed and answered through the fake Slack; users are first seen through users.info,
whose locale decides the language (tr-TR), as in a real workspace.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from slack_bolt import App
from sqlalchemy import select

from bot.app import create_app
from bot.commands import aliases
from bot.config import Settings
from bot.modals import admin_modals, deal_forms
from bot.views import leads as lead_views
from core.db import UnitOfWork
from core.deals import deals
from core.i18n import _, use_locale
from core.leads import leads
from core.money import Money
from core.tables import Deal, DealStatus, OutboxMessage, Role, User, Workspace
from core.workspace.setup import WorkspaceSettings, pipeline_stages, update_pipeline_stages
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_view
from tests.bot.fake_slack import FakeSlack
from tests.bot.surfaces import command, snapshot, text_of
from tests.conftest import NOW, make_actor

TR_USER = "UAYSE"

# Wording and parsing do not depend on the database: these run on SQLite only, to keep CI
# inside its time. What does (Turkish-case matching in SQL) runs on both backends in
# tests/core/test_core_turkish.py.
pytestmark = pytest.mark.one_backend


@pytest.fixture
def ayse(fake_slack: FakeSlack) -> str:
    """A rep whose Slack speaks Turkish; salesbot meets her on her first command."""
    fake_slack.add_user(TR_USER, "Ayşe", tz="Europe/Istanbul", locale="tr-TR")
    return TR_USER


def deal_tr(app: App, fake: FakeSlack, text: str) -> dict[str, Any]:
    return command(app, fake, "/deal", text, TR_USER)


def deals_in(uow: UnitOfWork) -> list[Deal]:
    with uow.read() as s:
        return list(s.scalars(select(Deal).order_by(Deal.id)))


def actor_of(uow: UnitOfWork, slack_id: str) -> Actor:
    from core.workspace.users import actor_by_slack_id

    with uow.read() as s:
        found = actor_by_slack_id(s, "T1", slack_id)
    assert found is not None
    return found[0]


# -- subcommands and their words in Turkish -----------------------------------------------------------


def test_the_turkish_help_lists_the_turkish_subcommands(app: App, fake_slack: FakeSlack, ayse: str) -> None:
    shown = text_of(deal_tr(app, fake_slack, "yardım"))
    for turkish in ("/deal yeni", "/deal liste", "/deal göster", "/deal düzenle", "/deal aşama", "/deal kazan",
                    "/deal kaybet", "/deal yeniden", "/deal not", "/deal kaydet", "/deal hatırlat"):
        assert turkish in shown
    assert "/deal komutları" in shown and "İngilizce alt komutlar da çalışır" in shown
    assert "open the New deal form" not in shown  # no English left over
    for name, help_word in (("/lead", "yardım"), ("/pipeline", "yardim"), ("/salesbot", "YARDIM")):
        body = text_of(command(app, fake_slack, name, help_word, TR_USER))
        assert f"{name} komutları" in body and "İngilizce alt komutlar da çalışır" in body


@pytest.mark.parametrize("word", ["göster", "GÖSTER", "goster", "Göster", "show"])
@pytest.mark.parametrize("ref", ["D-1", "d-1"])
def test_show_in_any_case_with_or_without_diacritics(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                     ayse: str, word: str, ref: str) -> None:
    deal_tr(app, fake_slack, "yeni Karadeniz enerji 12.000 TL")
    shown = text_of(deal_tr(app, fake_slack, f"{word} {ref}"))
    assert "D-1" in shown and "Karadeniz enerji" in shown


def test_every_turkish_subcommand_names_an_english_one() -> None:
    from bot.commands import admin, deal, lead

    for table, subcommands in ((aliases.DEAL, deal.SUBCOMMANDS), (aliases.LEAD, lead.SUBCOMMANDS),
                               (aliases.SALESBOT, {**admin.SUBCOMMANDS, "prefs": None})):
        assert set(table.values()) <= set(subcommands), table
    assert set(deal.SUBCOMMANDS) - {"new", "list", "show", "edit", "stage", "won", "lost", "reopen", "note", "log",
                                    "remind", "share", "discount", "help"} == set(), \
        "a new /deal subcommand needs its Turkish"
    assert set(aliases.DEAL.values()) == set(deal.SUBCOMMANDS)
    assert set(aliases.LEAD.values()) >= set(lead.SUBCOMMANDS) - {"dq"}
    assert set(aliases.SALESBOT.values()) >= set(admin.SUBCOMMANDS)
    assert set(aliases.PIPELINE.values()) == {"mine", "team", "forecast", "digest", "help"}
    assert aliases.fold("LIST") == "list" and aliases.fold("İLK GÖRÜŞME") == aliases.fold("ilk görüşme")


def test_a_turkish_note_log_and_list(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ayse: str) -> None:
    deal_tr(app, fake_slack, "yeni Boğaziçi lojistik 5 bin")
    assert "bütçe onaylandı" in text_of(deal_tr(app, fake_slack, "not D-1 bütçe onaylandı"))
    deal_tr(app, fake_slack, "kaydet D-1 toplantı finans müdürüyle görüşüldü")
    from core.tables import Activity

    with uow.read() as s:
        kinds = sorted(str(a.kind.value) for a in s.scalars(select(Activity)))
    assert kinds == ["meeting", "note"]
    listed = text_of(deal_tr(app, fake_slack, "liste benim"))
    assert "Açık fırsatlarınız" in listed and "D-1" in listed


def test_turkish_options_name_the_stage_and_the_close_date(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                            ayse: str) -> None:
    deal_tr(app, fake_slack, "yeni Anadolu sigorta 12 bin AŞAMA:proposal kapanış:gelecek cuma")
    (created,) = deals_in(uow)
    assert created.expected_close == date(2026, 12, 4)
    with uow.read() as s:
        from core.tables import Stage

        stage = s.get(Stage, created.stage_id)
        assert stage is not None and stage.name == "Proposal"


# -- amounts and dates, through the command ---------------------------------------------------------


@pytest.mark.parametrize(("typed", "amount", "currency"), [
    ("12.000 TL", "12000", "TRY"), ("₺12.000", "12000", "TRY"), ("12 bin", "12000", "USD"),
    ("1,5 milyon", "1500000", "USD"), ("12 BİN", "12000", "USD"), ("1,5 MİLYON TL", "1500000", "TRY"),
])
def test_turkish_amounts(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ayse: str, typed: str, amount: str,
                         currency: str) -> None:
    body = deal_tr(app, fake_slack, f"yeni Ege tekstil {typed}")
    (created,) = deals_in(uow)
    assert (created.title, Decimal(created.amount_minor) / 100, created.currency) == ("Ege tekstil", Decimal(amount),
                                                                                     currency)
    assert "aşamasında oluşturuldu" in text_of(body)


# NOW is Monday 23 November 2026, 14:00 UTC (17:00 in Istanbul).
@pytest.mark.parametrize(("typed", "expected"), [
    ("yarın", date(2026, 11, 24)), ("cuma", date(2026, 11, 27)), ("gelecek cuma", date(2026, 12, 4)),
    ("haftaya", date(2026, 11, 30)), ("3 gün sonra", date(2026, 11, 26)), ("ay sonu", date(2026, 11, 30)),
    ("çeyrek sonu", date(2026, 12, 31)), ("15 Aralık", date(2026, 12, 15)), ("15.12", date(2026, 12, 15)),
    ("YARIN", date(2026, 11, 24)), ("Gelecek Cuma", date(2026, 12, 4)), ("15 ARALIK", date(2026, 12, 15)),
])
def test_turkish_close_dates(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ayse: str, typed: str,
                             expected: date) -> None:
    deal_tr(app, fake_slack, f"yeni Trakya gıda 7 bin kapanış:{typed}")
    (created,) = deals_in(uow)
    assert (created.title, created.expected_close) == ("Trakya gıda", expected)


def test_a_turkish_reminder_time(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ayse: str) -> None:
    from core.tables import Reminder

    deal_tr(app, fake_slack, "yeni Marmara yapı 3 bin")
    deal_tr(app, fake_slack, "hatırlat D-1 yarın 15:00 teklifi gönder")
    with uow.read() as s:
        (reminder,) = s.scalars(select(Reminder))
        assert reminder.text == "teklifi gönder"
        assert reminder.due_at.replace(tzinfo=None) == datetime(2026, 11, 24, 12, 0)  # 15:00 in Istanbul


@pytest.mark.parametrize(("text", "turkish"), [
    ("yeni Ege tekstil 12..000 TL", "bir tutar olarak okunamadı"),
    ("yeni Ege tekstil -5 bin", "Tutarlar negatif olamaz"),
    ("yeni Ege tekstil 5 bin kapanış:32 Aralık", "bir tarih olarak okunamadı"),  # "32" alone, then
    ("yeni Ege tekstil 5 bin kapanış:31 Şubat", "bir tarih olarak okunamadı"),
])
def test_bad_turkish_input_is_refused_and_nothing_is_saved(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                           ayse: str, text: str, turkish: str) -> None:
    before = snapshot(uow)
    body = deal_tr(app, fake_slack, text)
    assert ":warning:" in text_of(body) and turkish in text_of(body)
    assert snapshot(uow) == before and deals_in(uow) == []


@pytest.mark.parametrize(("text", "turkish"), [
    ("kaydet D-1 dans partisi", '"dans" bir etkinlik değil'),
    ("liste herkes", '"herkes" bir kapsam değil'),
    ("göster", "Hangi fırsat? Kullanım: `/deal göster D-42`"),
    ("yeni", "Fırsatın bir başlığı olmalı"),
    ("uç D-1", '"uç" bir /deal komutu değil'),
])
def test_bad_turkish_commands_answer_in_turkish_and_change_nothing(app: App, fake_slack: FakeSlack,
                                                                   uow: UnitOfWork, ayse: str, text: str,
                                                                   turkish: str) -> None:
    deal_tr(app, fake_slack, "yeni Ege tekstil 5 bin")
    before = snapshot(uow)
    assert turkish in text_of(deal_tr(app, fake_slack, text))
    assert snapshot(uow) == before


# -- stage names: the workspace's, with Turkish case rules; won and lost in Turkish ------------------


@pytest.fixture
def turkish_stages(uow: UnitOfWork, fake_slack: FakeSlack, app: App, ayse: str) -> None:
    admin = make_actor(uow, "UADMIN", name="Admin", role=Role.ADMIN)
    update_pipeline_stages(uow, admin, "Prospecting -> İlk görüşme, 10%\nQualified -> İhtiyaç analizi, 25%\n"
                                        "Proposal -> Teklif, 50%\nNegotiation -> Pazarlık, 75%", now=NOW)
    deal_tr(app, fake_slack, "yeni Karadeniz enerji 20 bin aşama:TEKLİF")
    (created,) = deals_in(uow)
    with uow.read() as s:
        from core.tables import Stage

        stage = s.get(Stage, created.stage_id)
        assert stage is not None and stage.name == "Teklif"


@pytest.mark.parametrize(("typed", "stage"), [
    ("İLK GÖRÜŞME", "İlk görüşme"), ("ilk görüşme", "İlk görüşme"), ("ILK GORUSME", "İlk görüşme"),
    ("ihtiyaç analizi", "İhtiyaç analizi"), ("İHTİYAÇ ANALİZİ", "İhtiyaç analizi"), ("pazarlik", "Pazarlık"),
])
def test_stage_names_match_by_turkish_case_rules(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                 turkish_stages: None, typed: str, stage: str) -> None:
    body = deal_tr(app, fake_slack, f"taşı D-1 {typed}")
    assert f"{stage} aşamasına taşındı" in text_of(body)


@pytest.mark.parametrize("typed", ["aşama D-1 kazanıldı", "taşı d-1 KAZANILDI", "kazan D-1", "won D-1"])
def test_won_in_turkish(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ayse: str, typed: str) -> None:
    deal_tr(app, fake_slack, "yeni Karadeniz enerji 20 bin")
    deal_tr(app, fake_slack, typed)
    (won,) = deals_in(uow)
    assert won.status == DealStatus.WON


def test_lost_in_turkish_with_a_reason(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ayse: str) -> None:
    deal_tr(app, fake_slack, "yeni Karadeniz enerji 20 bin")
    body = deal_tr(app, fake_slack, "kaybet D-1 rakibi seçtiler")
    (lost,) = deals_in(uow)
    assert lost.status == DealStatus.LOST and "kaybedildi olarak kapatıldı" in text_of(body)


# -- every modal in Turkish: valid Block Kit, nothing cut to fit ------------------------------------


def _plain_texts(node: Any, limits: dict[str, int], path: str = "") -> list[tuple[str, str, int]]:
    """(where, text, Slack's limit there) for every plain_text object with a known limit."""
    found: list[tuple[str, str, int]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict) and value.get("type") == "plain_text" and key in limits:
                found.append((f"{path}.{key}", value["text"], limits[key]))
            found.extend(_plain_texts(value, limits, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_plain_texts(value, limits, f"{path}[{i}]"))
    return found


def _modals(uow: UnitOfWork, ana: Actor) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    deal = deals.create_deal(uow, ana, title="Karadeniz enerji santrali yenileme sözleşmesi " * 4,
                             amount=Money(Decimal("1500000"), "TRY"), now=NOW, expected_close=date(2026, 12, 31))
    lead = leads.create_lead(uow, ana, {"name": "Zeynep Yılmaz", "company": "Acme"}, now=NOW)
    stages = pipeline_stages(uow, ana)
    settings = WorkspaceSettings("TRY", "tr", 4, "09:00", 70, "20:00", "08:00")
    return [
        ("new deal", lambda: deal_forms.new_deal_view([s.name for s in stages], "UANA", "C1")),
        ("edit deal", lambda: deal_forms.edit_deal_view(deal, "tr-TR", "C1")),
        ("close won", lambda: deal_forms.close_won_view(deal, "tr-TR", "C1")),
        ("close lost", lambda: deal_forms.close_lost_view(deal, "C1", "1.2")),
        ("log activity", lambda: deal_forms.log_activity_view(deal, "C1")),
        ("reminder", lambda: deal_forms.reminder_view(deal, "C1")),
        ("setup", lambda: admin_modals.setup_view(settings)),
        ("pipeline", lambda: admin_modals.pipeline_view(stages)),
        ("new lead", lambda: lead_views.new_lead_view("C1")),
        ("convert lead", lambda: lead_views.convert_lead_view(lead, title="Acme", currency="TRY",
                                                              owner_slack_id="UANA", channel_id="C1")),
        ("not a fit", lambda: lead_views.not_a_fit_view(lead, "C1", "1.2")),
    ]


LIMITS = {"title": 24, "submit": 24, "close": 24, "placeholder": 150, "label": 2000, "text": 75}


def test_every_modal_in_turkish_is_valid_and_fits_without_cutting(uow: UnitOfWork, ana: Actor) -> None:
    for name, build in _modals(uow, ana):
        with use_locale("tr"):
            view = build()
        assert_valid_view(view)
        for where, text, limit in _plain_texts(view, LIMITS):
            cut = len(text) == limit and text.endswith("…")
            assert not cut, f"{name}: {where} was cut to fit Slack's {limit} characters: {text!r}"
            assert len(text) <= limit, f"{name}: {where} is {len(text)} characters"
        for key in ("title", "submit", "close"):
            if key in view:
                assert len(view[key]["text"]) <= 24


def test_the_deal_modals_are_turkish_for_a_turkish_user(uow: UnitOfWork, ana: Actor) -> None:
    for name, build in _modals(uow, ana)[:8]:  # ours; the lead modals are rendered by bot/views/leads.py
        with use_locale("tr"):
            turkish = build()
        english = build()
        assert turkish["title"]["text"] != english["title"]["text"], name
        assert turkish["close"]["text"] == "Vazgeç"


def test_the_modal_titles_of_every_length_of_ref_fit() -> None:
    with use_locale("tr"):
        for msgid in ("Edit {ref}", "Won {ref}", "Lost {ref}", "Log on {ref}", "Remind {ref}"):
            assert len(_(msgid).format(ref="D-123456")) <= 24, msgid
        for msgid in ("New deal", "Salesbot setup", "Pipeline stages", "Close as won", "Close as lost",
                      "Set reminder", "Create", "Save", "Cancel"):
            assert len(_(msgid)) <= 24, msgid


# -- whose language: Slack locale, else the workspace's, else SALESBOT_LOCALE ------------------------


def test_a_request_s_language_ends_with_it(app: App, fake_slack: FakeSlack, ayse: str) -> None:
    from core.i18n import current_locale

    assert current_locale() == "en"
    assert "/deal komutları" in text_of(deal_tr(app, fake_slack, "yardım"))
    assert current_locale() == "en"  # the request ran in a copy of this context


def _help_language(app: App, fake: FakeSlack, user: str) -> str:
    shown = text_of(command(app, fake, "/deal", "help", user))
    if "/deal komutları" in shown:
        return "tr"
    assert "/deal commands" in shown
    return "en"


def test_the_slack_locale_decides_when_salesbot_speaks_it(app: App, fake_slack: FakeSlack, uow: UnitOfWork) -> None:
    fake_slack.add_user("UTR", "Ayşe", locale="tr-TR")
    fake_slack.add_user("UEN", "Ann", locale="en-GB")
    assert _help_language(app, fake_slack, "UTR") == "tr"
    assert _help_language(app, fake_slack, "UEN") == "en"
    info = [c.body for c in fake_slack.calls("users.info")]
    assert info and all(str(b.get("include_locale")).lower() in ("1", "true") for b in info)
    assert actor_of(uow, "UTR").locale == "tr-TR" and actor_of(uow, "UEN").locale == "en-GB"


def test_a_user_who_switches_slack_to_turkish_reads_turkish_after_the_refresh(
        fake_slack: FakeSlack, uow: UnitOfWork, slack_settings: Settings) -> None:
    fake_slack.add_user("USW", "Sam", locale="en-US")
    clock = [NOW]
    bolt = create_app(slack_settings, uow, clock=lambda: clock[0], process_before_response=True)
    bolt.salesbot_test_fake = fake_slack  # type: ignore[attr-defined]
    assert _help_language(bolt, fake_slack, "USW") == "en"
    fake_slack.users["USW"].locale = "tr-TR"
    clock[0] = NOW + timedelta(days=2)  # the daily profile refresh
    _help_language(bolt, fake_slack, "USW")
    from bot.context import user_directory

    user_directory(bolt).wait()
    assert _help_language(bolt, fake_slack, "USW") == "tr"


def test_an_unsupported_locale_gets_the_workspace_language_and_the_admins_are_told_once(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork) -> None:
    fake_slack.add_user("UBOSS", "Boss", is_admin=True, locale="en-US")
    fake_slack.add_user("UDE", "Dieter", locale="de-DE")
    assert _help_language(app, fake_slack, "UBOSS") == "en"
    with uow.transaction() as s:  # the admin sets the workspace's language to Turkish in setup
        ws = s.scalar(select(Workspace).where(Workspace.team_id == "T1"))
        assert ws is not None
        ws.locale = "tr"
    assert _help_language(app, fake_slack, "UDE") == "tr"
    assert actor_of(uow, "UDE").locale == "tr"
    with uow.read() as s:
        notices = list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice")))
        boss = s.scalar(select(User).where(User.slack_id == "UBOSS"))
    assert len(notices) == 1 and boss is not None and notices[0].channel == "UBOSS"
    assert "de-DE" in notices[0].payload["text"] and "Dieter" in notices[0].payload["text"]
    # Told once: later requests and profile refreshes of the same user queue nothing more.
    from bot.slack_users import SlackProfile, save_profile

    save_profile(uow, "T1", "UDE", NOW + timedelta(days=3), SlackProfile("Dieter", "UTC", False, "de-DE"))
    _help_language(app, fake_slack, "UDE")
    with uow.read() as s:
        assert len(list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice")))) == 1


def test_the_notice_is_in_the_admins_language(app: App, fake_slack: FakeSlack, uow: UnitOfWork) -> None:
    fake_slack.add_user("UBOSS", "Boss", is_admin=True, locale="tr-TR")
    fake_slack.add_user("UFR", "Fleur", locale="fr-FR")
    _help_language(app, fake_slack, "UBOSS")
    assert _help_language(app, fake_slack, "UFR") == "en"  # the workspace's language (English by default)
    with uow.read() as s:
        (notice,) = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice"))
    assert "salesbot bu dili henüz konuşmuyor" in notice.payload["text"] and "fr-FR" in notice.payload["text"]
    # Delivered like any queued message: a DM to the admin, valid Block Kit.
    from slack_sdk import WebClient

    from bot.delivery import Deliverer, delivery_client
    from tests.bot.blockkit import assert_valid_message
    from tests.bot.fake_slack_rate_limited import VirtualClock

    fake_slack.clear()
    clock = VirtualClock(NOW)
    client = delivery_client(WebClient(token="xoxb-test", base_url=fake_slack.url), timeout=5)
    assert Deliverer(uow, client, clock=clock.now, sleep=clock.sleep).drain().sent == 1
    (posted,) = [c.body for c in fake_slack.calls("chat.postMessage")]
    assert "fr-FR" in str(posted.get("text"))
    assert_valid_message({"text": posted["text"], "blocks": notice.payload["blocks"]})


@pytest.mark.parametrize(("deployment", "slack_locale", "language"), [
    ("tr", "de-DE", "tr"),  # unsupported: the workspace's language, which starts from SALESBOT_LOCALE
    ("tr", "en-US", "en"),  # the user's own Slack language wins
    ("en", "de-DE", "en"),
    ("en", "tr-TR", "tr"),
])
def test_a_new_workspace_speaks_salesbot_locale(fake_slack: FakeSlack, uow: UnitOfWork, slack_settings: Settings,
                                                deployment: str, slack_locale: str, language: str) -> None:
    from dataclasses import replace

    fake_slack.add_user("UNEW", "Nur", locale=slack_locale)
    bolt = create_app(replace(slack_settings, locale=deployment), uow, clock=lambda: NOW,
                      process_before_response=True)
    bolt.salesbot_test_fake = fake_slack  # type: ignore[attr-defined]
    assert _help_language(bolt, fake_slack, "UNEW") == language
    with uow.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.team_id == "T1"))
        assert ws is not None and ws.locale == deployment


# -- the Turkish help's examples are commands that work -----------------------------------------------


def test_every_turkish_help_example_names_a_subcommand() -> None:
    from bot.commands import admin, deal, lead
    from bot.views import help as helps

    tables = {"/deal": (helps.DEAL_HELP, aliases.DEAL, deal.SUBCOMMANDS),
              "/lead": (helps.LEAD_HELP, aliases.LEAD, lead.SUBCOMMANDS),
              "/pipeline": (helps.PIPELINE_HELP, aliases.PIPELINE, {"mine": 1, "team": 1, "forecast": 1, "digest": 1}),
              "/salesbot": (helps.ADMIN_HELP, aliases.SALESBOT, admin.SUBCOMMANDS)}
    with use_locale("tr"):
        for name, (entries, table, subcommands) in tables.items():
            for example, what in entries:
                words = _(example).split()
                assert words[0] == name and _(what) != what
                if len(words) > 1:
                    assert aliases.english(table, words[1]) in subcommands, _(example)
                    assert words[1] not in subcommands or words[1] in ("demo",), f"{_(example)} is still English"


@pytest.mark.parametrize("example", [
    "/salesbot kota @ana 120 bin Q1", '/salesbot kota ekip "Doğu" 250 bin Q1', "/salesbot kota @ana 1,5 milyon TL Q1",
])
def test_a_quota_in_turkish(app: App, fake_slack: FakeSlack, uow: UnitOfWork, example: str) -> None:
    from core.tables import Quota

    fake_slack.add_user("UBOSS", "Boss", is_admin=True, locale="tr-TR")
    make_actor(uow, "UANA", name="Ana", team="Doğu")
    text = example.removeprefix("/salesbot ").replace("@ana", "<@UANA|ana>")
    body = text_of(command(app, fake_slack, "/salesbot", text, "UBOSS"))
    assert "kotası" in body
    with uow.read() as s:
        (quota,) = s.scalars(select(Quota))
        assert quota.amount_minor in (12_000_000, 25_000_000, 150_000_000)


def test_in_production_the_language_reaches_the_listener_and_after_ack_threads(
        fake_slack: FakeSlack, uow: UnitOfWork, slack_settings: Settings) -> None:
    """process_before_response=False: the listener runs on Bolt's pool, its work on the AfterAck pool."""
    from tests.bot.signing import send_command

    fake_slack.add_user("UTR", "Ayşe", locale="tr-TR")
    fake_slack.add_user("UEN", "Ann", locale="en-US")
    bolt = create_app(slack_settings, uow, clock=lambda: NOW)
    bolt.salesbot_test_fake = fake_slack  # type: ignore[attr-defined]
    try:
        for user, title in (("UTR", "/deal komutları"), ("UEN", "/deal commands"), ("UTR", "/deal komutları")):
            fake_slack.clear()
            assert send_command(bolt, "/deal", "help", user_id=user).status == 200
            fake_slack.wait_for("response_url")
            (answer,) = [c.body for c in fake_slack.calls("response_url")]
            assert title in text_of(answer)
    finally:
        from bot.context import after_ack_pool

        after_ack_pool(bolt).shutdown()


# -- /lead, /pipeline and /salesbot in Turkish ---------------------------------------------------------


def test_lead_subcommands_in_turkish(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ayse: str) -> None:
    from core.tables import Lead

    added = text_of(command(app, fake_slack, "/lead", 'yeni "Zeynep Yılmaz" Acme zeynep@acme.io KAYNAK:webinar',
                            TR_USER))
    assert "eklendi, sizin" in added
    with uow.read() as s:
        (lead,) = s.scalars(select(Lead))
        assert (lead.name, lead.company, lead.email, lead.source) == ("Zeynep Yılmaz", "Acme", "zeynep@acme.io",
                                                                      "webinar")
    for text in ("göster l-1", "GÖSTER L-1", "goster L-1"):
        assert "Zeynep Yılmaz" in text_of(command(app, fake_slack, "/lead", text, TR_USER))
    assert "Zeynep Yılmaz" in text_of(command(app, fake_slack, "/lead", "liste benim", TR_USER))
    refused = text_of(command(app, fake_slack, "/lead", "liste soğuk", TR_USER))
    assert "Kullanım: `/lead liste [sıcak|benim|yeni]`" in refused
    command(app, fake_slack, "/lead", "reddet L-1 bütçe yok", TR_USER)
    with uow.read() as s:
        (lead,) = s.scalars(select(Lead))
        assert lead.status.value == "disqualified" and lead.disqualify_reason == "bütçe yok"


@pytest.mark.parametrize(("turkish", "english"), [
    ("benim", "mine"), ("özet", "digest"), ("ozet", "digest"), ("tahmin", "forecast"), ("TAHMİN Q4", "forecast Q4"),
    ("ekip", "team"),
])
def test_pipeline_subcommands_in_turkish(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ayse: str,
                                         turkish: str, english: str) -> None:
    deal_tr(app, fake_slack, "yeni Karadeniz enerji 20 bin")
    answer = text_of(command(app, fake_slack, "/pipeline", turkish, TR_USER))
    assert answer == text_of(command(app, fake_slack, "/pipeline", english, TR_USER))
    assert "bir /pipeline komutu değil" not in answer


def test_salesbot_team_and_role_in_turkish(app: App, fake_slack: FakeSlack, uow: UnitOfWork) -> None:
    from core.tables import Team

    fake_slack.add_user("UBOSS", "Boss", is_admin=True, locale="tr-TR")
    make_actor(uow, "UMIA", name="Mia")
    make_actor(uow, "UANA", name="Ana")
    command(app, fake_slack, "/salesbot", "ekip oluştur Doğu <@UMIA|mia>", "UBOSS")
    added = text_of(command(app, fake_slack, "/salesbot", "takım ekle Doğu <@UANA|ana>", "UBOSS"))
    assert "artık 2 üyeli" in added
    said = text_of(command(app, fake_slack, "/salesbot", "rol <@UANA|ana> yönetici", "UBOSS"))
    assert "artık yönetici" in said
    with uow.read() as s:
        team = s.scalar(select(Team).where(Team.name == "Doğu"))
        ana = s.scalar(select(User).where(User.slack_id == "UANA"))
        assert team is not None and ana is not None and ana.team_id == team.id and ana.role == Role.MANAGER
    refused = text_of(command(app, fake_slack, "/salesbot", "rol <@UANA|ana> kral", "UBOSS"))
    assert ":warning:" in refused


def test_the_turkish_deal_help_examples_run_as_written(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                        ayse: str) -> None:
    from bot.views.help import DEAL_HELP
    from core.tables import Activity, Reminder

    deal_tr(app, fake_slack, "yardım")  # meets Ayşe and her workspace
    with uow.transaction() as s:
        ws = s.scalar(select(Workspace).where(Workspace.team_id == "T1"))
        assert ws is not None
        ws.next_deal_number = 42  # the examples name D-42
    make_actor(uow, TR_USER, name="Ayşe", team="Doğu", tz="Europe/Istanbul")  # `liste ekip` lists her team's
    make_actor(uow, "UMURAT", name="Murat", role=Role.MANAGER, manages="Doğu")  # approves `indirim`
    with use_locale("tr"):
        examples = [_(example) for example, _what in DEAL_HELP]
    for example in examples:
        text = example.removeprefix("/deal").strip()
        fake_slack.clear()
        from tests.bot.signing import send_command

        assert send_command(app, "/deal", text, user_id=TR_USER).status == 200
        answered = " ".join(text_of(c.body) for c in fake_slack.calls("response_url"))
        assert "komutu değil" not in answered and "Kullanım" not in answered, (example, answered)
        if not example.startswith("/deal kaybet"):  # the example before it won the deal: closed already
            assert ":warning:" not in answered, (example, answered)
        opened = fake_slack.calls("views.open")
        assert answered or opened, example
    (created,) = deals_in(uow)
    assert (created.number, created.title, created.status) == (42, "Acme yenileme", DealStatus.OPEN)
    with uow.read() as s:
        kinds = sorted(a.kind.value for a in s.scalars(select(Activity).where(Activity.deal_id == created.id)))
        assert "note" in kinds and "call" in kinds
        assert [r.text for r in s.scalars(select(Reminder))] == ["teklifi gönder"]


@pytest.mark.parametrize("table", [aliases.DEAL, aliases.LEAD, aliases.PIPELINE, aliases.SALESBOT, aliases.SCOPES,
                                   aliases.LEAD_LISTS, aliases.TEAM_ACTIONS, aliases.ROLES, aliases.ACTIVITIES,
                                   aliases.OPTIONS])
def test_every_turkish_word_reads_the_same_however_it_is_cased(table: dict[str, str]) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(deadline=None, max_examples=200)
    @given(st.sampled_from(sorted(table)), st.lists(st.booleans(), min_size=20, max_size=20))
    def check(folded: str, upper: list[bool]) -> None:
        # a random mix of Turkish capitals (`i` -> `İ`) and small letters; the folded keys have no ı
        typed = "".join(("İ" if c == "i" else c.upper()) if up else c for c, up in zip(folded, upper * 2, strict=False))
        assert aliases.english(table, typed) == table[folded]

    check()


def test_the_turkish_pipeline_modal_reads_back_as_it_was_shown() -> None:
    from core.workspace.setup import StageInfo, parse_stage_lines

    stages = [StageInfo("İlk görüşme", 10, 1, False, False), StageInfo("Teklif", 50, 10, False, False)]
    for language in ("tr", "en"):
        with use_locale(language):
            shown = admin_modals.stage_lines(stages)
        assert parse_stage_lines(shown) == stages, shown
