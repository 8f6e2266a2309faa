"""Core speaks the reader's language (issue 13): errors, CSV row errors, reasons and notes built
under `use_locale("tr")` are Turkish, data inside them (titles, stage and team names) is shown as
written, a refused change leaves the data as it was; and names match by Turkish case rules."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.csv_mapping import read_csv
from core.dates import parse_date
from core.db import UnitOfWork
from core.deals import deals, importer
from core.deals.queries import get_deal
from core.errors import InvalidInput, NotAllowed, NotFound
from core.i18n import use_locale
from core.insight import quotas
from core.leads import leads, points, routing
from core.leads.intake import clean_lead
from core.money import Money, parse_amount
from core.notify import digest, reminders
from core.tables import Deal, Lead, Reminder, Role, Stage, Team, User
from core.workspace import admin, rates, setup
from core.workspace.users import Actor
from tests.conftest import make_actor


def tl(x: str) -> Money:
    return Money(Decimal(x), "TRY")


def _deals(uow: UnitOfWork) -> list[tuple[object, ...]]:
    with uow.read() as s:
        return [tuple(r) for r in s.execute(select(Deal.number, Deal.title, Deal.stage_id, Deal.status,
                                                   Deal.amount_minor).order_by(Deal.id)).all()]


def _teams(uow: UnitOfWork) -> list[tuple[object, ...]]:
    with uow.read() as s:
        return [tuple(r) for r in s.execute(select(Team.name, Team.manager_id, Team.channel_id).order_by(Team.id))]


# -- workspace ------------------------------------------------------------------------------------


def test_workspace_refusals_in_turkish(uow: UnitOfWork, root: Actor, ana: Actor, now: datetime) -> None:
    before = _teams(uow)
    with use_locale("tr"), pytest.raises(NotAllowed) as refused:
        admin.create_team(uow, ana, "Kuzey", "UANA", now=now)
    assert refused.value.message == "Yalnızca yetkililer şunu yapabilir: ekip oluşturmak."
    with use_locale("tr"), pytest.raises(InvalidInput) as taken:
        admin.create_team(uow, root, "EAST", "UMIA", now=now)
    assert taken.value.message == '"EAST" adlı bir ekip zaten var.'
    with use_locale("tr"), pytest.raises(NotFound) as missing:
        admin.add_to_team(uow, root, "Güney", ["UANA"], now=now)
    assert missing.value.message == '"Güney" diye bir ekip yok. Ekipler: East.'
    with use_locale("tr"), pytest.raises(InvalidInput) as bad_time:
        setup.update_workspace_settings(uow, root, now=now, default_currency="TRY", locale="tr", digest_weekday="cuma",
                              digest_time="9", hot_lead_threshold=70, quiet_start="20:00", quiet_end="08:00")
    assert bad_time.value.message == "Saati SS:DD biçiminde verin, ör. 09:00." and bad_time.value.field == "digest_time"
    assert _teams(uow) == before
    # and in English, word for word as before
    with pytest.raises(NotAllowed, match=r"^Only admins can create teams\.$"):
        admin.create_team(uow, ana, "Kuzey", "UANA", now=now)


def test_a_turkish_weekday_name_sets_the_digest_day(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    for day, number in (("Cuma", 4), ("CUMARTESİ", 5), ("çarşamba", 2), ("friday", 4)):
        saved = setup.update_workspace_settings(uow, root, now=now, default_currency="TRY", locale="tr",
                                                digest_weekday=day,
                                      digest_time="09:00", hot_lead_threshold=70, quiet_start="20:00",
                                      quiet_end="08:00")
        assert saved.digest_weekday == number, day


def test_a_team_is_found_whatever_the_turkish_case(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    admin.create_team(uow, root, "İstanbul", "UIST", now=now)
    admin.create_team(uow, root, "Isparta", "UISP", now=now)
    admin.create_team(uow, root, "Çorum", "UCOR", now=now)
    admin.create_team(uow, root, "Adana", "UADA", now=now)
    with use_locale("tr"):
        assert admin.add_to_team(uow, root, "istanbul", ["UNEW1"], now=now).name == "İstanbul"
        assert admin.add_to_team(uow, root, "ISPARTA", ["UNEW2"], now=now).name == "Isparta"
        assert admin.add_to_team(uow, root, "ısparta", ["UNEW3"], now=now).name == "Isparta"
        with pytest.raises(InvalidInput, match="zaten var"):
            admin.create_team(uow, root, "İSTANBUL", "UX", now=now)
        # listed in Turkish alphabet order: Ç after C, I before İ
        assert [t.name for t in admin.list_teams(uow, root)] == ["Adana", "Çorum", "Isparta", "İstanbul"]
    assert admin.add_to_team(uow, root, "Istanbul", ["UNEW4"], now=now).name == "İstanbul"  # en: the loose key


def test_an_imported_owner_is_linked_whatever_the_turkish_case(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    with uow.transaction() as s:
        from core.workspace.users import owner_by_name
        owner_by_name(s, root.workspace_id, "IŞIL İNCE", now)
    with use_locale("tr"):
        linked = admin.link_import_owner(uow, root, "ışıl ince", "UISIL", now=now)
        assert linked.import_name == "ışıl ince"
        with pytest.raises(NotFound) as missing:
            admin.link_import_owner(uow, root, "Ayşe Kaya", "UAYSE", now=now)
    assert missing.value.message == ('"Ayşe Kaya" adlı içe aktarılmış bir sahip yok. '
                                     "İçe aktarma dosyasındaki yazımı kontrol edin.")


def test_rates_file_errors_in_turkish(uow: UnitOfWork, root: Actor, now: datetime) -> None:
    text = "date,currency,rate\n2026-11-01,EUR,0\n2026-11-02,XYZ,1.1\n"
    with use_locale("tr"), pytest.raises(rates.RateFileError) as bad:
        rates.import_rates(uow, root.workspace_id, text, now=now)
    assert bad.value.message == ("2. satır, rate sütunu: Kur sıfırdan büyük olmalı; 0 olamaz. (ve 1 hata daha). "
                                 "Hiçbir şey içe aktarılmadı.")
    with uow.read() as s:
        from core.tables import ExchangeRate
        assert s.scalars(select(ExchangeRate)).all() == []


# -- deals ----------------------------------------------------------------------------------------


def test_deal_errors_in_turkish_keep_the_data_as_written(uow: UnitOfWork, ana: Actor, bob: Actor,
                                                        now: datetime) -> None:
    can = make_actor(uow, "UCAN", name="Can", team="East")  # Ana's teammate: reads her deals, changes none
    deal = deals.create_deal(uow, ana, title="Karadeniz Enerji yenileme", amount=tl("75000"), now=now)
    deals.close_deal_won(uow, ana, deal.ref, now=now)
    before = _deals(uow)
    with use_locale("tr"):
        with pytest.raises(InvalidInput) as no_title:
            deals.create_deal(uow, ana, title="  ", now=now)
        with pytest.raises(InvalidInput) as closed:
            deals.move_stage(uow, ana, deal.ref, "Proposal", now=now)
        with pytest.raises(NotFound) as unknown:
            get_deal(uow, ana, "D-999")
        with pytest.raises(NotFound) as no_match:
            get_deal(uow, ana, "Marmara")
        with pytest.raises(NotAllowed) as theirs:
            deals.add_note(uow, can, deal.ref, "bütçe onaylandı", now=now)
        with pytest.raises(InvalidInput) as no_stage:
            deals.create_deal(uow, ana, title="Ege Gıda", stage="Kapanış", now=now)
    assert no_title.value.message == "Bir fırsatın başlığı olmalı, ör. `/deal yeni Acme yenileme 12 bin`."
    assert closed.value.message == f"{deal.ref} kazanıldı; önce `/deal aç {deal.ref}` ile yeniden açın."
    assert unknown.value.message == "D-999 diye bir fırsat yok. Fırsatlarınızı görmek için `/deal liste` yazın."
    assert no_match.value.message == ('"Marmara" ile eşleşen fırsat yok. Kimliğini (D-42) ya da başlığının bir '
                                      "kısmını yazın.")
    assert theirs.value.message == (f"{deal.ref} değiştirilemez: sahibi Ana. Temsilciler kendi kayıtlarını, "
                                    "yöneticiler ekiplerininkini değiştirir.")
    assert no_stage.value.message == ('"Kapanış" diye bir aşama yok. Aşamalar: Prospecting, Qualified, Proposal, '
                                      "Negotiation, Won, Lost.")
    assert _deals(uow) == before
    # English, as before
    with pytest.raises(InvalidInput, match=rf"^{deal.ref} is won; reopen it first with `/deal reopen {deal.ref}`\.$"):
        deals.move_stage(uow, ana, deal.ref, "Proposal", now=now)


def test_a_deal_title_and_a_stage_name_match_whatever_the_turkish_case(uow: UnitOfWork, root: Actor,
                                                                       ana: Actor, now: datetime) -> None:
    setup.update_pipeline_stages(uow, root, "İlk Görüşme, 10%\nIsıtma Teklifi, 40%\nKapanış, 80%", now=now)
    deal = deals.create_deal(uow, ana, title="İSTANBUL Bayi Ağı", stage="ilk görüşme", amount=tl("12000"), now=now)
    assert deal.stage == "İlk Görüşme"
    with use_locale("tr"):
        assert get_deal(uow, ana, "istanbul bayi").ref == deal.ref
        assert get_deal(uow, ana, "BAYİ AĞI").ref == deal.ref
        assert deals.move_stage(uow, ana, deal.ref, "ISITMA", now=now).stage == "Isıtma Teklifi"
        assert deals.move_stage(uow, ana, deal.ref, "KAPANIŞ", now=now).stage == "Kapanış"
        with pytest.raises(InvalidInput) as twice:
            setup.update_pipeline_stages(uow, root, "Kapanış, 10%\nKAPANIŞ, 20%", now=now)
    assert twice.value.message == '"KAPANIŞ" iki kez yazılmış.'
    assert get_deal(uow, ana, "istanbul bayi").ref == deal.ref  # an English reader finds it too


def test_a_csv_import_reports_bad_rows_in_turkish_and_writes_nothing(uow: UnitOfWork, root: Actor,
                                                                    now: datetime) -> None:
    csv_text = ("title,stage,amount,expected_close\n"
                "Ege Gıda,Kapanış,12000,2026-12-15\n"
                "Trakya Tarım,Prospecting,12000,2026-02-30\n")
    with use_locale("tr"):
        report = importer.import_deals(uow, root.workspace_id, io.StringIO(csv_text), now=now)
    assert not report.written and _deals(uow) == []
    reasons = {(e.row, e.column): e.reason for e in report.errors}
    assert reasons[(2, "stage")] == ("bilinmeyen aşama; bilinen aşamalar: Prospecting, Qualified, Proposal, "
                                     "Negotiation, Won, Lost")
    assert reasons[(3, "expected_close")] == "2026-02-30 gerçek bir tarih değil (günü ve ayı kontrol edin)."
    with use_locale("tr"), pytest.raises(InvalidInput) as empty:
        read_csv(io.StringIO("title;stage;amount\nA;B;1\n"), "deals")
    assert empty.value.message.endswith("sütunlar arasında noktalı virgül kullanıyor gibi görünüyor; salesbot "
                                        "virgülle ayrılmış dosyaları okur. Dosyayı CSV (virgülle ayrılmış) "
                                        "olarak kaydedip yeniden deneyin.")


def test_a_turkish_stage_name_in_an_import_matches_the_workspace_stage_by_turkish_case(
        uow: UnitOfWork, root: Actor, now: datetime) -> None:
    setup.update_pipeline_stages(uow, root, "İlk Görüşme, 10%\nKapanış, 80%", now=now)
    with uow.transaction() as s:
        from core.tables import Workspace
        s.get_one(Workspace, root.workspace_id).locale = "tr"
    csv_text = "title,stage,amount\nEge Gıda,İLK GÖRÜŞME,12000\nTrakya Tarım,KAPANIŞ,5000\nMarmara,kazanıldı,100\n"
    report = importer.import_deals(uow, root.workspace_id, io.StringIO(csv_text), now=now)
    assert report.errors == [] and report.created == 3
    with uow.read() as s:
        stages = dict(s.execute(select(Deal.title, Stage.name).join(Stage, Deal.stage_id == Stage.id)).all())
    assert stages == {"Ege Gıda": "İlk Görüşme", "Trakya Tarım": "Kapanış", "Marmara": "Won"}


# -- insight --------------------------------------------------------------------------------------


def test_quota_errors_in_turkish(uow: UnitOfWork, mia: Actor, ana: Actor, now: datetime) -> None:
    with use_locale("tr"):
        with pytest.raises(InvalidInput) as negative:
            quotas.set_quota(uow, mia, user_slack_id="UANA", amount=tl("-5"), period="Q4", now=now)
        with pytest.raises(InvalidInput) as not_a_quarter:
            quotas.set_quota(uow, mia, user_slack_id="UANA", amount=tl("5"), period="this month", now=now)
        with pytest.raises(NotAllowed) as not_theirs:
            quotas.set_quota(uow, ana, team_name="East", amount=tl("5"), period="Q4", now=now)
    assert negative.value.message == "Kota negatif olamaz. 0 ya da daha fazlasını girin, ör. 250 bin."
    assert not_a_quarter.value.message == ('Kotalar çeyrek başınadır ve "this month" bir çeyrek değil. '
                                           "Q4, 2026-Q4 ya da "
                                           "gelecek çeyrek deneyin.")
    assert not_theirs.value.message == "East ekibinin kotasını yalnızca yetkililer ve ekibin yöneticisi belirleyebilir."
    with uow.read() as s:
        from core.tables import Quota
        assert s.scalars(select(Quota)).all() == []


def test_parsing_errors_in_turkish_name_the_month_in_turkish(now: datetime) -> None:
    with use_locale("tr"):
        with pytest.raises(InvalidInput) as feb:
            parse_date("2026-02-30", now, "Europe/Istanbul", "tr")
        with pytest.raises(InvalidInput) as amount:
            parse_amount("on iki bin", "tr", "TRY")
    assert feb.value.message == '"2026-02-30" diye bir gün yok: Şubat 2026 28 gün çeker.'
    assert amount.value.message == ('"on iki bin" bir tutar olarak okunamadı. '
                                    "Örneğin 12000, 12 bin, 1,5 milyon ya da ₺12.000 yazın.")
    with pytest.raises(InvalidInput, match=r'does not exist: February 2026 has 28 days\.$'):
        parse_date("2026-02-30", now, "UTC", "en")


# -- notify ---------------------------------------------------------------------------------------


def test_reminder_errors_in_turkish(uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime) -> None:
    deal = deals.create_deal(uow, ana, title="Karadeniz Enerji", now=now)
    mine = reminders.set_reminder(uow, ana, due_at=now + timedelta(days=1), text="", now=now, deal_ref=deal.ref)
    assert mine.text == "Follow up on Karadeniz Enerji"
    with use_locale("tr"):
        theirs = reminders.set_reminder(uow, ana, due_at=now + timedelta(days=2), text="", now=now,
                                        deal_ref=deal.ref)
        with pytest.raises(InvalidInput) as past:
            reminders.set_reminder(uow, ana, due_at=now - timedelta(days=1), text="ara", now=now)
        with pytest.raises(NotAllowed) as other:
            reminders.cancel_reminder(uow, bob, mine.id, now)
        reminders.complete_reminder(uow, ana, mine.id, now)
        with pytest.raises(InvalidInput) as done:
            reminders.snooze_reminder(uow, ana, mine.id, now + timedelta(hours=1), now)
        with pytest.raises(NotAllowed) as no_team:
            digest.digest_for(uow, make_actor(uow, "ULONE", name="Yalnız"), now)
    assert theirs.text == "Karadeniz Enerji için takip"  # the title stays as written
    assert past.value.message == "Bu zaman geçmişte kaldı: şu andan sonraki bir zaman seçin."
    assert other.value.message == "Bu hatırlatmayı iptal edemezsiniz: Ana kişisine ait."
    assert done.value.message == "Bu hatırlatma zaten tamamlandı."
    assert no_team.value.message == ("Henüz bir ekipte değilsiniz: bir yetkiliden sizi eklemesini isteyin "
                                     "(`/salesbot ekip ekle`).")
    with uow.read() as s:
        assert len(s.scalars(select(Reminder)).all()) == 2


# -- leads ----------------------------------------------------------------------------------------


def _lead(uow: UnitOfWork, actor: Actor, now: datetime, **data: object) -> str:
    return leads.create_lead(uow, actor, dict(data), now=now).ref


def test_lead_errors_in_turkish(uow: UnitOfWork, ana: Actor, bob: Actor, now: datetime) -> None:
    ref = _lead(uow, ana, now, name="Işıl İnce", company="İzmir Lojistik", email="isil@example.com")
    with uow.read() as s:
        before = s.execute(select(Lead.owner_id, Lead.status)).all()
    with use_locale("tr"):
        with pytest.raises(InvalidInput) as bad:
            clean_lead({"name": "Ayşe", "employees": "çok"})
        with pytest.raises(NotFound) as missing:
            leads.get_lead(uow, ana, "L-404")
        with pytest.raises(NotAllowed) as theirs:
            leads.disqualify_lead(uow, bob, ref, "bütçe yok", now=now)
    assert bad.value.message == "employees bir tam sayı olmalı; 'çok' değil" and bad.value.field == "employees"
    assert missing.value.message == "Burada L-404 diye bir aday yok."
    assert theirs.value.message == (f"{ref} adayını eleyemezsiniz: sahibi Ana. Temsilciler kendi kayıtlarını, "
                                    "yöneticiler ekiplerininkini değiştirir.")
    with uow.read() as s:
        assert s.execute(select(Lead.owner_id, Lead.status)).all() == before


def test_a_lead_is_found_by_name_whatever_the_turkish_case(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    ref = _lead(uow, ana, now, name="IŞIL İNCE", company="İZMİR LOJİSTİK")
    with use_locale("tr"):
        assert leads.get_lead(uow, ana, "ışıl ince").ref == ref
        assert leads.get_lead(uow, ana, "izmir lojistik").ref == ref
    assert leads.get_lead(uow, ana, "işil ince").ref == ref  # typed without ı: the loose key


def test_score_reasons_and_the_assignment_why_in_the_readers_language(now: datetime) -> None:
    demo = points.Reason(40, "demo requested", now - timedelta(days=2), 1)
    own = points.Reason(10, "İstanbul bölgesi", None, 1)  # a workspace's own label is its data
    opened = points.Reason(4, "opened an email", now - timedelta(minutes=30), 2)
    assert points.describe(demo, now) == "+40 demo requested 2 days ago"
    with use_locale("tr"):
        assert points.describe(demo, now) == "+40 demo istedi 2 gün önce"
        assert points.describe(own, now) == "+10 İstanbul bölgesi"
        assert points.describe(opened, now) == "+4 bir e-postayı açtı ×2 30 dakika önce"
        assert points.ago(now - timedelta(seconds=20), now) == "az önce"
    payload = {"why": "nobody claimed it within 15 minutes", "why_data": dict(routing.unclaimed_for(15))}
    assert routing.why_text(payload) == "nobody claimed it within 15 minutes"
    with use_locale("tr"):
        assert routing.why_text(payload) == "15 dakika içinde kimse sahiplenmedi"
        assert routing.why_text({"why_data": dict(routing.assigned_by("Ana"))}) == "Ana tarafından atandı"
        assert routing.why_text({"why": "assigned by Ana"}) == "assigned by Ana"  # queued before: as it was


def test_statuses_and_roles_have_their_turkish_words() -> None:
    from core.words import role_word, status_word

    with use_locale("tr"):
        assert [status_word(s) for s in ("open", "won", "lost", "converted", "disqualified")] == [
            "açık", "kazanıldı", "kaybedildi", "dönüştürüldü", "elendi"]
        assert role_word(Role.ADMIN) == "yetkili" and status_word("mystery") == "mystery"
    assert status_word("won") == "won"


def test_every_user_facing_class_of_user_error_has_its_turkish(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    """The same refusal, asked in both languages in turn, answers in each (the language is per call)."""
    with use_locale("tr"), pytest.raises(NotFound) as tr_err:
        get_deal(uow, ana, "D-77")
    with pytest.raises(NotFound) as en_err:
        get_deal(uow, ana, "D-77")
    assert tr_err.value.message.startswith("D-77 diye bir fırsat yok")
    assert en_err.value.message == "There is no deal D-77. Try `/deal list` to see your deals."
    with uow.read() as s:
        assert s.scalars(select(User).where(User.slack_id == "UANA")).one().role == Role.REP


def test_the_deal_picker_finds_a_title_or_account_whatever_the_turkish_case(uow: UnitOfWork, ana: Actor,
                                                                           bob: Actor, now: datetime) -> None:
    from core.deals.search import search_deals

    mine = deals.create_deal(uow, ana, title="İSTANBUL Bayi Ağı", account="IŞIK Tekstil", now=now)
    deals.create_deal(uow, bob, title="İstanbul Batı", now=now)  # another team's: not readable by Ana
    with use_locale("tr"):
        assert [d.ref for d in search_deals(uow, ana, "istanbul")] == [mine.ref]
        assert [d.ref for d in search_deals(uow, ana, "ışık")] == [mine.ref]
    assert [d.ref for d in search_deals(uow, ana, "IŞIK TEKSTİL")] == [mine.ref]  # an English reader, Turkish capitals
    assert search_deals(uow, ana, "Ankara") == []


@pytest.mark.parametrize(("locale", "owners"), [("tr", 1), ("en", 2)])
def test_an_imported_owner_written_in_two_turkish_cases_is_one_owner_in_a_turkish_workspace(
        uow: UnitOfWork, root: Actor, now: datetime, locale: str, owners: int) -> None:
    with uow.transaction() as s:
        from core.tables import Workspace
        s.get_one(Workspace, root.workspace_id).locale = locale
    csv_text = "title,stage,amount,owner\nEge Gıda,Prospecting,100,IŞIL İNCE\nTrakya,Prospecting,200,Işıl İnce\n"
    report = importer.import_deals(uow, root.workspace_id, io.StringIO(csv_text), now=now)
    assert report.created == 2
    with uow.read() as s:
        names = s.scalars(select(User.import_name).where(User.import_name.is_not(None))).all()
        assert len(names) == owners  # English keeps comparing names exactly, as before
        assert len(set(s.scalars(select(Deal.owner_id)).all())) == owners


def test_a_leads_csv_reports_bad_rows_in_turkish_and_writes_nothing(uow: UnitOfWork, root: Actor,
                                                                   now: datetime) -> None:
    from core.leads.csv_io import import_leads

    csv_text = ("name,email,employees,status,created_at\n"
                "Işıl İnce,isil@example.com,çok,new,2026-11-01\n"
                "Can Öz,can@example.com,12,belki,dün\n")
    with use_locale("tr"):
        report = import_leads(uow, root.workspace_id, io.StringIO(csv_text), now=now)
    reasons = {(e.row, e.column): e.reason for e in report.errors}
    assert reasons == {
        (2, "employees"): "employees bir tam sayı olmalı; 'çok' değil",
        (3, "status"): ("durum şunlardan biri olmalı: new, assigned, working, converted, disqualified "
                        "(ya da 1/0)"),
        (3, "created_at"): "ISO biçiminde bir tarih ya da saat değil",
    }
    with uow.read() as s:
        assert s.scalars(select(Lead)).all() == []


def test_a_territory_names_its_team_in_any_turkish_case(uow: UnitOfWork, root: Actor, mia: Actor,
                                                       now: datetime) -> None:
    from core.leads.routing import team_for
    from core.leads.rules import save_rules

    istanbul = admin.create_team(uow, root, "İstanbul", "UIST", now=now)
    with uow.transaction() as s:
        save_rules(s, root.workspace_id, "territories:\n  - {country: [Türkiye], team: ISTANBUL}\n", now)
        assert team_for(s, root.workspace_id, {"country": "Türkiye"}) == istanbul.id
