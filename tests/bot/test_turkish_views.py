"""Every view builder for a Turkish reader (issue 13): Turkish words, Turkish numbers and dates,
valid Block Kit, and no English text of the catalog left in any surface.

The builders are pure: they are called here with Turkish sample data under `use_locale("tr")`,
as the edge (bot/context.py, a job, the Home refresher) calls them. The figures that were
wrong before (the scheduled digest's `TRY75,000.00`, the Home's `₺75 B` and its English "of")
are tested end to end against the database and the outbox in tests/bot/test_turkish_surfaces.py.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from babel.messages.pofile import read_po

from bot.catalogs import po_path
from bot.chart import chart_labels, pipeline_chart
from bot.delivery import render
from bot.views import admin, deals, digest, forecast, home, kpis, leads, nudges, pipeline
from bot.views.common import apology, error_message, missing_rates_note
from core.deals.queries import ActivityView, DealView
from core.errors import UnknownUser
from core.i18n import use_locale
from core.insight.forecast import Accuracy, ForecastReport, QuarterForecast
from core.insight.kpis import Kpis, StageFlow, StageTotal
from core.insight.projection import ModelForecast
from core.insight.quotas import Attainment
from core.leads.leads import LeadView
from core.leads.points import Reason
from core.leads.predictive import Factor, Prediction
from core.notify.reminders import ReminderView
from core.tables import ActivityKind, DealStatus, LeadStatus, Role
from core.workspace.admin import LinkResult, TeamMove, TeamView
from core.workspace.rates import RateInfo
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message, assert_valid_view

D = Decimal
NOW = datetime.fromisoformat("2026-11-23T14:00:00+00:00")  # a Monday, 14:00 UTC (17:00 in Istanbul)
CLOSE = date(2026, 12, 15)  # a Tuesday
IST = "Europe/Istanbul"


def ayse(**over: Any) -> Actor:
    base: dict[str, Any] = dict(workspace_id=1, user_id=1, role=Role.MANAGER, team_id=1,
                                managed_team_ids=frozenset({1}), tz=IST, locale="tr", currency="TRY",
                                slack_id="UAYSE0001", name="Ayşe")
    return Actor(**{**base, **over})


def deal(**over: Any) -> DealView:
    base: dict[str, Any] = dict(
        id=1, ref="D-1", number=1, title="Karadeniz Lojistik yenileme", account="Karadeniz Lojistik",
        contact="Emre Yılmaz", product=None, amount=D("75000.00"), currency="TRY", stage="Teklif", stage_id=3,
        probability=50, status=DealStatus.OPEN, owner_id=1, owner_name="Ayşe", owner_slack_id="UAYSE0001",
        owner_team_id=1, expected_close=CLOSE, next_step="Sözleşmeyi gönder", source=None, created_at=NOW,
        updated_at=NOW, closed_at=None, lost_reason=None, last_touch_at=NOW, weighted=D("37500.00"))
    return DealView(**{**base, **over})


def activity(kind: ActivityKind = ActivityKind.CALL) -> ActivityView:
    return ActivityView(id=1, deal_ref="D-1", kind=kind, user_id=1, user_name="Ayşe", at=NOW,
                        text="Fiyatı konuştuk")


def stage(name: str = "Teklif", count: int = 2) -> StageTotal:
    return StageTotal(stage_id=3, stage=name, position=3, probability=50, count=count, amount=D("75000.00"),
                      weighted=D("37500.00"), exact_amount=D("75000.00"), exact_weighted=D("37500.00"))


def lead(**over: Any) -> LeadView:
    base: dict[str, Any] = dict(
        id=7, ref="L-7", name="Zeynep Kaya", email="zeynep@ege.com.tr", company="Ege Tekstil",
        title="Satın alma müdürü", phone=None, source="webinar", country="TR", industry="Tekstil", employees=250,
        attributes={}, status=LeadStatus.NEW, owner_id=None, owner_name=None, owner_slack_id=None, team_id=1,
        team_name="Karadeniz", score=82, reasons=(Reason(25, "demo talep etti"),), predicted=40, hot=True,
        hot_since=NOW, disqualify_reason=None, deal_id=None, deal_ref=None, events=3, created_at=NOW,
        updated_at=NOW)
    return LeadView(**{**base, **over})


def card() -> dict[str, Any]:
    return {"lead_id": 7, "ref": "L-7", "name": "Zeynep Kaya", "company": "Ege Tekstil",
            "title": "Satın alma müdürü", "email": "zeynep@ege.com.tr", "score": 82, "predicted": 40,
            "reasons": [Reason(25, "demo talep etti").to_json()], "hot_since": NOW.isoformat(),
            "why": "Karadeniz bölgesi"}


def deal_item(**over: Any) -> dict[str, Any]:
    return {"ref": "D-1", "title": "Karadeniz Lojistik yenileme", "stage": "Teklif", "amount": "75000.00",
            "currency": "TRY", "owner": "Ayşe", "owner_slack_id": "UAYSE0001", "idle_days": 20,
            "rotting_days": 14, "expected_close": "2026-11-01", "days_late": 22, **over}


def digest_data() -> dict[str, Any]:
    totals = {"open_count": 3, "open_amount": "75000.00", "prev_amount": "50000.00", "open_weighted": "37500.00",
              "prev_weighted": "30000.00", "landing": "87500.00"}
    st = {"stage": "Teklif", "probability": 50, "count": 3, "prev_count": 2, "amount": "75000.00",
          "prev_amount": "50000.00", "weighted": "37500.00"}
    return {"currency": "TRY", "team_name": "Karadeniz", "start": "2026-11-16T00:00:00+03:00",
            "end": "2026-11-23T00:00:00+03:00", "totals": totals, "stages": [st], "new": [2, "20000.00"],
            "won": [1, "50000.00"], "lost": [1, "5000.00"],
            "moves": [{"from_stage": "Keşif", "to_stage": "Teklif", "count": 2}], "quota": "300000.00",
            "quarter": "2026-Q4", "quarter_won": "50000.00", "slipped": [1, "75000.00"],
            "slipped_deals": [deal_item()], "stale": [1, "75000.00"], "stale_deals": [deal_item()],
            "top_deals": [deal_item()], "missing": {"EUR": 2},
            "activity": [{"slack_id": "UAYSE0001", "name": "Ayşe", "counts": {"call": 3, "email": 1}}]}


def quarter(**over: Any) -> QuarterForecast:
    model = ModelForecast(learned=True, expected=D("120000.00"), low=D("100000.00"), high=D("140000.00"),
                          from_pipeline=D("40000.00"), run_rate=D("10000.00"), top_down=D("70000.00"))
    base: dict[str, Any] = dict(
        period="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31), is_current=True,
        won_to_date=D("50000.00"), weighted=D("37500.00"), commit=D("80000.00"), best_case=D("125000.00"),
        deals_in_period=4, undated=2, model=model, quota=D("300000.00"), accuracy=Accuracy(3, D("0.08"), D("0.05")),
        band=D("0.15"), won_count=1, missing={"EUR": 1})
    return QuarterForecast(**{**base, **over})


def kpi() -> Kpis:
    return Kpis(start=date(2026, 10, 1), end=date(2026, 12, 31), won_count=2, lost_count=1,
                won_amount=D("90000.00"), lost_amount=D("5000.00"), cycle_mean_days=D("40"),
                cycle_median_days=D("38"), new_count=4, new_amount=D("120000.00"), open_count=3,
                open_amount=D("75000.00"), open_weighted=D("37500.00"), activities={"call": 3, "meeting": 1},
                stages=[StageFlow("Keşif", 1, 3, 2, 0, D("12"))], quota=D("300000.00"))


def team_panel() -> home.TeamPanel:
    return home.TeamPanel(
        name="Karadeniz", stages=[stage()], quarter="2026-Q4", kpis=kpi(),
        attainment=Attainment(period="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31),
                              quota=D("300000.00"), currency="TRY", won=D("0.00"), won_count=0))


def home_data() -> home.HomeData:
    return home.HomeData(
        stages=[stage()], deals=[deal()], deals_total=1,
        follow_ups=[home.FollowUp(NOW + timedelta(days=1), "Sözleşmeyi gönder", "D-1")], follow_ups_total=1,
        hot_leads=[home.HotLead("L-7", "Zeynep Kaya", "Ege Tekstil", 82)], hot_leads_total=1, teams=[team_panel()])


def reminder() -> ReminderView:
    import dataclasses

    fields = {f.name for f in dataclasses.fields(ReminderView)}
    values: dict[str, Any] = {"id": 5, "text": "Teklifi ara", "due_at": NOW, "deal_ref": "D-1",
                              "deal_title": "Karadeniz Lojistik yenileme", "lead_ref": None}
    for name in fields - set(values):
        values[name] = None
    return ReminderView(**{k: v for k, v in values.items() if k in fields})


def team_view(team_id: int = 1) -> TeamView:
    return TeamView(team_id, "Karadeniz", "UAYSE0001", "Ayşe", "C0KARADEN1", ("UEMRE0001",), ("Mehmet Öz",),
                    (TeamMove("UEMRE0001", "Emre", "Ege"),))


def forecast_report() -> ForecastReport:
    unlearned = ModelForecast(learned=False, reason="henüz yeterli kapanmış fırsat yok")
    return ForecastReport(quarter(), quarter(period="2027-Q1", model=unlearned, accuracy=None), "Karadeniz")


# name -> (builder, kind, what a Turkish reader must find in it)
SURFACES: dict[str, tuple[Callable[[], Any], str, list[str]]] = {
    "deal_list": (lambda: deals.deal_list([deal()], ayse(), "Açık fırsatlarınız"), "message",
                  ["₺75.000,00", "Teklif %50", "kapanış 15 Aralık 2026 Salı", "1 fırsat", "Göster", "Düzenle",
                   "Kazanıldı", "Kaybedildi"]),
    "deal_list_empty": (lambda: deals.deal_list([], ayse(), "Açık fırsatlarınız"), "message",
                        ["açık fırsat yok", "ile bir fırsat oluşturun"]),
    "deal_shown": (lambda: deals.deal_shown(deal(), ayse(), [activity()]), "message",
                   ["*Tutar*\n₺75.000,00", "*Ağırlıklı*\n₺37.500,00", "*Aşama*\n:large_blue_circle: Teklif (%50)",
                    "*Beklenen kapanış*\n15 Aralık 2026 Salı", "*Sonraki adım:*", "23 Kasım Pzt 17:00 · arama · Ayşe",
                    "Son işlem: 23 Kasım Pzt 17:00", "Aktivite kaydet", "Bana hatırlat"]),
    "deal_lost": (lambda: deals.deal_shown(deal(status=DealStatus.LOST, lost_reason="bütçe yok"), ayse()),
                  "message", ["*Kaybedilme nedeni:* bütçe yok", "Yeniden aç"]),
    "deal_changed": (lambda: deals.deal_changed(deal(), ayse(), "Pazarlık aşamasına taşındı"), "message",
                     ["₺75.000,00", "kapanış 15 Aralık 2026 Salı"]),
    "deal_won": (lambda: deals.deal_won(deal(status=DealStatus.WON), ayse()), "message",
                 ["kazanıldı, kazanan: <@UAYSE0001> · ₺75.000,00"]),
    "activity_logged": (lambda: deals.activity_logged(activity(), ayse()), "message",
                        ["*D-1* için arama kaydedildi"]),
    "note_logged": (lambda: deals.activity_logged(activity(ActivityKind.NOTE), ayse()), "message",
                    ["*D-1* fırsatına not eklendi"]),
    "candidates": (lambda: deals.candidates("Hangisi?", [deal(), deal(ref="D-2")], ayse(), "show", ""), "message",
                   ["D-1 seç", "D-2 seç"]),
    "reminder_set": (lambda: deals.reminder_set("D-1", NOW, "Teklifi ara", ayse(),
                                                arrives_at=NOW + timedelta(hours=16), now=NOW), "message",
                     ["*D-1* için size *23 Kasım Pzt 17:00* tarihinde hatırlatacağım",
                      "sessiz saatler: size yarın saat 09:00 itibarıyla ulaşacak"]),
    "with_acted_line": (lambda: deals.with_acted_line(deals.deal_shown(deal(), ayse()), ayse(), "kazanıldı", NOW),
                        "message", ["23 Kasım Pzt 17:00"]),
    "pipeline": (lambda: pipeline.pipeline_message([stage()], ayse(), "Karadeniz"), "message",
                 ["Açık satış hattı: Karadeniz", "*Teklif* (%50) — 2 fırsat · ₺75.000,00 · ağırlıklı ₺37.500,00",
                  "*Toplam* — 2 açık fırsat"]),
    "pipeline_empty": (lambda: pipeline.pipeline_message([], ayse(), "Karadeniz"), "message",
                       ["Burada henüz açık fırsat yok"]),
    "forecast": (lambda: forecast.forecast_message(forecast_report(), ayse()), "message",
                 ["*2026-Q4 tahmini: ₺170.000,00* (muhtemelen ₺152.000,00 – ₺188.000,00)",
                  "*Şu ana kadar kazanılan*\n₺50.000,00 (1 kazanılan) · kotanın %17 kadarı",
                  "*Kesinleşen* (%75+)", "son 3 çeyrek içinde sapma en fazla %8",
                  "Kapanış tarihi olmayan 2 açık fırsat", "*Gelecek çeyrek 2027-Q1:*", "(ağırlıklı)"]),
    "forecast_past": (lambda: forecast.forecast_message(
        ForecastReport(quarter(actual=D("90000.00"), won_count=2), None, "Karadeniz"), ayse()), "message",
        ["*2026-Q4 ₺90.000,00 ile kapandı* (2 kazanılan)", "Başındaki tahmin: ₺120.000,00"]),
    "kpis": (lambda: {"blocks": kpis.kpi_blocks(kpi(), ayse(), "Karadeniz")}, "message",
             ["Karadeniz: 1 Ekim 2026 – 31 Aralık 2026", "*Kazanma oranı*\n%66,7 (2 kazanılan / 1 kaybedilen)",
              "medyan 38 gün · ortalama 40 gün", "3 arama, 1 toplantı", "sonraki: 3 çıkışın %66,7 kadarı",
              "kazanma oranı = kazanılan ÷ (kazanılan + kaybedilen)", "*Kazanılan*\n₺90.000,00"]),
    "forecast_line": (lambda: {"blocks": [{"type": "section", "text": {
        "type": "mrkdwn", "text": kpis.forecast_line(quarter(), "TRY")}}]}, "message",
        ["*2026-Q4 tahmini* ₺170 bin (muhtemelen ₺152 bin–₺188 bin) · kota ₺300 bin"]),
    "digest": (lambda: digest.digest_blocks(digest_data()), "message",
               ["Satış hattı özeti · Karadeniz · 16 Kasım Pzt – 22 Kasım 2026 Pazar", "3 fırsat · ₺75.000,00",
                "geçen haftaya göre :arrow_up_small: +₺25.000,00", "*Teklif* (%50): 3 (+1)",
                "yeni 2 (₺20.000,00) · kazanılan 1 (₺50.000,00)", "kota ₺300.000,00 (%17)",
                "kapanış tarihi 1 Kasım", "20 gündür işlem yok", "3 arama, 1 e-posta, 0 toplantı",
                "EUR cinsinden 2 fırsat tutarlara katılmadı"]),
    "home": (lambda: home.home_view(ayse(), home_data(), NOW), "view",
             ["Satış hattınız", "2 açık fırsat · ₺75.000,00 · ağırlıklı ₺37.500,00", "Zamanı gelen takipler",
              "Bekleyen sıcak adaylar", "puan 82", "Karadeniz ekibi", "₺75 bin",
              "₺0,00 / 0 kazanılan · kota ₺300.000,00 (%0,0)", "*Kapsama*\nkalan kota karşısında 0,2×",
              "Güncellendi: 23 Kasım Pzt 17:00"]),
    "lead_shown": (lambda: leads.lead_shown(lead(), NOW, IST, Prediction(0.4, (Factor("Kaynak", "webinar", 1.2),)),
                                            ""), "message",
                   ["*Şirket*\nEge Tekstil", "*Sahibi*\nsahipsiz", "*Durum*\nyeni", "*Puan 82* :fire: sıcak",
                    "*Kazanma olasılığı %40*", "Üstlen", "Eklendi: 23 Kasım Pzt 17:00 · 3 etkileşim"]),
    "leads_listed": (lambda: leads.leads_listed([lead()], "hot"), "message", ["*Sıcak adaylar* (1)", "olasılık %40"]),
    "leads_none": (lambda: leads.leads_listed([], "mine"), "message", ["Açık adaylarınız:* şu anda yok."]),
    "lead_converted": (lambda: leads.lead_converted(lead(), "D-3", "Ege Tekstil", "₺75.000,00"), "message",
                       ["fırsata dönüştürüldü: D-3", "değiştirmek için"]),
    "lead_help": (lambda: leads.lead_help(), "message", ["*/lead komutları*", "Yeni aday formunu açar"]),
    "new_lead_modal": (lambda: leads.new_lead_view("C1"), "view", ["Yeni aday", "Aday ekle", "Şirket", "Unvan"]),
    "convert_modal": (lambda: leads.convert_lead_view(lead(), title="Ege Tekstil", currency="TRY",
                                                      owner_slack_id=None, channel_id="C1"), "view",
                      ["L-7 dönüştür", "Fırsat oluştur", "Tutar (başka bir para birimi belirtmezseniz TRY)"]),
    "not_a_fit_modal": (lambda: leads.not_a_fit_view(lead(), "C1", "1.2"), "view",
                        ["Neden uygun değil?", "Uygun değil"]),
    "hot_lead": (lambda: render({"view": "hot_lead", "data": card()}), "message",
                 ["*Sıcak aday: L-7 Zeynep Kaya (Ege Tekstil)*", "Puan *82*", "dönüşme olasılığı %40", "Üstlen",
                  "Şuna ata…", "Uygun değil"]),
    "hot_burst": (lambda: render({"view": "hot_lead_burst", "data": {
        "leads": [card(), {**card(), "lead_id": 8, "ref": "L-8"}], "window_minutes": 2}}), "message",
                  ["2 sıcak aday 2 dakika içinde", "aldıklarınızı üstlenin"]),
    "lead_assigned": (lambda: render({"view": "lead_assigned", "data": card()}), "message",
                      ["artık sizin — Karadeniz bölgesi", "gerçek bir fırsat olduğunda"]),
    "nudge": (lambda: render({"view": "nudge", "data": nudges.nudge_data(reminder(), IST, deal={
        "ref": "D-1", "title": "Karadeniz Lojistik yenileme", "stage": "Teklif", "amount": "75000.00",
        "currency": "TRY"})}), "message",
              ["*Takip:* Teklifi ara", "Teklif · ₺75.000,00", "Zamanı: 23 Kasım Pzt 17:00", "Tamamlandı",
               "1 gün ertele", "1 hafta ertele", "Fırsatı aç"]),
    "morning": (lambda: render({"view": "morning", "data": {"stale": [deal_item()], "slipped": [deal_item()]}}),
                "message",
                ["Bugün ilginizi bekleyen fırsatlar", "1 fırsat hareketsiz kalıyor",
                 "20 gündür işlem yok (aşama sınırı 14)",
                 "1 Kasım Paz tarihinde kapanacaktı, 22 gün önce", "1 fırsatın kapanış tarihi geçti"]),
    "escalation": (lambda: render({"view": "escalation", "data": {
        "rep": {"name": "Emre", "slack_id": "UEMRE0001"}, "deals": [deal_item()], "total": 1, "nudges": 2}}),
        "message", ["2 hatırlatma sonrasında hâlâ işlem görmeyen 1 fırsatı var"]),
    "team_saved": (lambda: admin.team_saved(team_view(), "oluşturuldu"), "message",
                   ["Karadeniz ekibi", "Yönetici: <@UAYSE0001>", "Mehmet Öz (içe aktarılan)",
                    "Emre, Ege ekibinden Karadeniz ekibine taşındı."]),
    "teams_listed": (lambda: admin.teams_listed([team_view(), team_view(2)], is_admin=True), "message",
                     ["*Ekipler* (2)", "kişileri taşır", "`/salesbot ekip ekle <ekip> @kişi…`",
                      "`/salesbot ekip kanal <ekip> #kanal`"]),
    "teams_none": (lambda: admin.teams_listed([], is_admin=False), "message",
                   ["Henüz bir ekipte değilsiniz", "`/salesbot ekip ekle <ekip> @siz`"]),
    "teams_none_admin": (lambda: admin.teams_listed([], is_admin=True), "message",
                         ["`/salesbot ekip oluştur Doğu @yönetici`", "`/salesbot ekip kanal Doğu #satis-dogu`"]),
    "linked": (lambda: admin.linked(LinkResult("UAYSE0001", "Ayşe Y.", 3, 1, 2, 1)), "message",
               ["3 fırsat, 1 aktivite, 2 hatırlatma ve 1 aday taşındı"]),
    "rates": (lambda: admin.rates_listed("TRY", [RateInfo("EUR", D("36.25"), date(2026, 11, 1), "TRY")]),
              "message", ["1 EUR = 36,25 TRY (2026-11-01 tarihinden itibaren)", "TRY karşılığı döviz kurları"]),
    "rates_none": (lambda: admin.rates_listed("TRY", []), "message", ["Henüz döviz kuru yok"]),
    "rate_saved": (lambda: admin.rate_saved(RateInfo("EUR", D("36.25"), date(2026, 11, 1), "TRY")), "message",
                   ["1 EUR = 36,25 TRY, 2026-11-01 tarihinden itibaren."]),
    "unknown_user": (lambda: error_message(UnknownUser("UEMRE0001")), "message", ["henüz salesbot kullanmadı"]),
    "apology": (lambda: apology("E-42"), "message", ["Üzgünüz", "hata E-42"]),
}

# Slack syntax and code that a translation keeps as is: commands, mentions, emoji, links.
_KEPT = re.compile(r"`[^`]*`|<[^>]*>|:[a-z0-9_+-]+:|/(?:deal|lead|pipeline|salesbot)\b[^\n·—]*")


def _texts(node: Any) -> list[str]:
    """Every `text` a reader sees (not button values or ids)."""
    if isinstance(node, dict):
        return [t for k, v in node.items() for t in ([v] if k == "text" and isinstance(v, str) else _texts(v))]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


def shown_text(payload: Any) -> str:
    return "\n".join(_texts(payload))


@cache
def english_fragments() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The English words of every catalog text whose Turkish differs, as whole-word patterns.

    A text is split at its placeholders; a piece counts when it holds a word of three letters or
    more, so `{n} deals in {currency}` yields "deals in" and `Show` yields "Show".
    """
    with po_path("tr").open("rb") as po:
        catalog = read_po(po, locale="tr")
    pieces: set[str] = set()
    # A one-word piece that is also a Turkish word ("not" is a note) proves nothing.
    turkish_words = {w.lower() for m in catalog if m.id for t in ([m.string] if isinstance(m.string, str)
                     else list(m.string)) for w in re.findall(r"\w+", t or "")}
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for msgid in ids:
            if msgid in strings:
                continue
            for piece in re.split(r"\{[^{}]*\}", _KEPT.sub(" ", msgid)):
                piece = piece.strip(" .,:;()·—–-*\n")
                if re.search(r"[A-Za-z]{3}", piece) and piece.lower() not in turkish_words:
                    pieces.add(piece)
    return tuple((p, re.compile(rf"(?<![\w]){re.escape(p)}(?![\w])")) for p in sorted(pieces))


def untranslated(payload: Any) -> list[str]:
    """The English catalog texts found in what a Turkish reader sees."""
    seen = _KEPT.sub(" ", shown_text(payload))
    return [piece for piece, pattern in english_fragments() if pattern.search(seen)]


def build(name: str) -> Any:
    builder, kind, _ = SURFACES[name]
    with use_locale("tr"):
        payload = builder()
    if kind == "view":
        assert_valid_view(payload)
    else:
        assert_valid_message({k: v for k, v in payload.items() if k != "files"})
    return payload


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_each_surface_reads_turkish_with_turkish_figures_and_no_english_left(name: str) -> None:
    payload = build(name)
    text = shown_text(payload)
    missing = [want for want in SURFACES[name][2] if want not in text]
    assert not missing, f"{name}: {missing} not in\n{text}"
    assert untranslated(payload) == [], f"{name}: English left in\n{text}"


def test_the_english_check_finds_english() -> None:
    """The check above can fail: the same builders in English are full of the catalog's English."""
    with use_locale("en"):
        found = untranslated(SURFACES["deal_shown"][0]())
    assert "Expected close" in " ".join(found) and "Log activity" in " ".join(found)
    assert untranslated({"text": "`/deal new Acme` · <@U1> :fire: 15 Aralık"}) == []


def test_english_is_unchanged_by_the_formatter() -> None:
    """English stays the source: salesbot's own forms, not Babel's en_US defaults."""
    with use_locale("en"):
        text = shown_text(SURFACES["deal_shown"][0]())
    assert "*Amount*\nTRY75,000.00" in text and "*Expected close*\nTue 15 Dec 2026" in text
    assert "Mon 23 Nov 17:00 · call by Ayşe" in text and "Proposal" not in text


def test_the_chart_speaks_turkish_with_turkish_ticks() -> None:
    from bot.chart import _short

    with use_locale("tr"):
        labels = chart_labels("TRY")
        ticks = [_short(v) for v in (0.0, 75000.0, 1_500_000.0)]
        png = pipeline_chart(["Keşif", "Teklif"], [D("75000"), D("0")], [D("50000"), D("1000")], "Karadeniz", "TRY")
    assert labels == {"last": "Geçen hafta", "this": "Bu hafta", "amount": "Açık tutar (TRY)"}
    assert ticks == ["0", "75 bin", "1,5 milyon"]
    assert png.startswith(b"\x89PNG")
    with use_locale("en"):
        assert chart_labels("USD")["amount"] == "Open amount (USD)"


def test_the_outbox_renderers_follow_the_language_delivery_sets() -> None:
    """bot/delivery.py renders each message inside use_locale(the recipient's language)."""
    with use_locale("tr"):
        msg = render({"view": "digest", "data": digest_data()})
    with use_locale("en"):
        english = render({"view": "digest", "data": digest_data()})
    assert "₺75.000,00" in shown_text(msg) and "satış hattı özeti" in msg["text"]
    assert msg["files"][0]["title"] == "Aşamalara göre satış hattı"
    assert "TRY75,000.00" in shown_text(english) and "Pipeline digest" in english["text"]


def test_missing_rates_note_counts_each_currency_in_turkish() -> None:
    with use_locale("tr"):
        note = missing_rates_note({"EUR": 2, "USD": 1})
    assert note is not None
    assert note.startswith(":warning: EUR cinsinden 2 fırsat, USD cinsinden 1 fırsat tutarlara katılmadı")
    assert "(1 EUR = ana para biriminde 1,08)" in note
