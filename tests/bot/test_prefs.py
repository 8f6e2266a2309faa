"""Notification preferences from Slack, through signed requests: `/salesbot prefs`, the App Home
Settings button and its modal, the "Back to daily" button, and clicks on a morning list."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from slack_bolt import App
from sqlalchemy import select

from bot.home import home_data
from bot.views.home import home_view
from bot.views.nudges import OPEN, morning_message
from bot.views.prefs import MODAL, OPEN_SETTINGS, RESTORE, away_digest_blocks, away_summary_message, prefs_modal
from core.db import UnitOfWork
from core.deals.deals import create_deal
from core.i18n import use_locale
from core.notify.preferences import PrefsChange, get_prefs, set_prefs
from core.tables import UserPrefs
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message, assert_valid_view
from tests.bot.fake_slack import FakeSlack
from tests.bot.surfaces import command, date_value, opened_view, press, select_value, submit, text_of


def prefs(app: App, fake: FakeSlack, text: str = "", user: str = "UANA") -> str:
    return text_of(command(app, fake, "/salesbot", f"prefs {text}".strip(), user))


def _row(uow: UnitOfWork, actor: Actor) -> dict[str, Any] | None:
    with uow.read() as s:
        row = s.scalar(select(UserPrefs).where(UserPrefs.user_id == actor.user_id))
        return None if row is None else {c: getattr(row, c) for c in (
            "muted", "channel_id", "work_days", "work_start", "work_end", "digest_weekday", "away_until")}


def test_prefs_shows_and_changes_ones_own(app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor) -> None:
    shown = prefs(app, fake_slack)
    assert "Your notification preferences" in shown and "direct message" in shown and "(the workspace's)" in shown
    saved = prefs(app, fake_slack, "mute stale slipped")
    assert "Saved" in saved and "Stale deals" not in saved and get_prefs(uow, ana).muted == ("stale", "slipped")
    saved = prefs(app, fake_slack, "channel <#C0ALERTS|sales-alerts>")
    assert "<#C0ALERTS>" in saved and "/invite @salesbot" in saved
    assert "10:00-18:00" in prefs(app, fake_slack, "hours 10:00-18:00 mon-thu")
    assert "2026-12-24" in prefs(app, fake_slack, "away until 2026-12-24")
    view = get_prefs(uow, ana)
    assert (view.channel_id, view.work_days, view.away_until) == ("C0ALERTS", (0, 1, 2, 3), date(2026, 12, 24))
    prefs(app, fake_slack, "back")
    prefs(app, fake_slack, "channel dm")
    assert (get_prefs(uow, ana).away_until, get_prefs(uow, ana).channel_id) == (None, None)


def test_prefs_refuses_bad_input_and_changes_nothing(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                     ana: Actor) -> None:
    prefs(app, fake_slack, "mute digest")
    before = _row(uow, ana)
    for text, says in (
        ("away until 2026-11-01", "is in the past"),
        ("away until 2028-01-01", "more than a year ahead"),
        ("channel #sales-alerts", "is not a channel salesbot knows"),
        ("hours 18:00-09:00", "end before they start"),
        ("hours 9am-6pm", "is not working hours"),
        ("mute weather", "is not a kind of message"),
        ("digest friday", "only they pick its day"),
        ("fly me to the moon", "Use `/salesbot prefs`"),
    ):
        assert says in prefs(app, fake_slack, text), text
    assert _row(uow, ana) == before


def test_admins_see_anyones_prefs_and_nobody_changes_anothers(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, bob: Actor, root: Actor
) -> None:
    prefs(app, fake_slack, "mute slipped")
    before = _row(uow, ana)
    shown = prefs(app, fake_slack, "<@UANA|ana>", user="UROOT")
    assert "Notification preferences of Ana" in shown and "Slipped close dates" not in shown.split("Getting:")[1]
    assert "Only admins" in prefs(app, fake_slack, "<@UANA|ana>", user="UBOB")
    assert "only your own" in prefs(app, fake_slack, "<@UANA|ana> mute stale", user="UROOT")
    assert "only your own" in prefs(app, fake_slack, "<@UANA|ana> away until 2026-12-01", user="UBOB")
    assert _row(uow, ana) == before


def test_a_turkish_user_reads_the_prefs_in_turkish(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                   ana: Actor) -> None:
    from core.tables import User

    with uow.transaction() as s:
        s.get_one(User, ana.user_id).locale = "tr"
    shown = prefs(app, fake_slack)
    assert "Bildirim tercihleriniz" in shown and "Pazartesi" in shown
    assert "geçmişte kaldı" in prefs(app, fake_slack, "away until 2026-11-01")


def test_the_home_settings_button_opens_the_modal_and_it_saves(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, mia: Actor, now: datetime
) -> None:
    home = home_view(mia, home_data(uow, mia, now), now)
    assert_valid_view(home)
    assert OPEN_SETTINGS in str(home["blocks"])
    press(app, fake_slack, OPEN_SETTINGS, "open", user="UMIA")
    view = opened_view(fake_slack)  # valid Block Kit
    assert view["callback_id"] == MODAL and "digest_day" in str(view["blocks"])

    def values(start: str, end: str, away: str | None) -> dict[str, Any]:
        return {
            "kinds": {"value": {"type": "checkboxes", "selected_options": [
                {"text": {"type": "plain_text", "text": "x"}, "value": k} for k in ("followups", "hot_leads")]}},
            "channel": {"value": {"type": "conversations_select", "selected_conversation": "G0MIA0001"}},
            "days": {"value": {"type": "checkboxes", "selected_options": [
                {"text": {"type": "plain_text", "text": "x"}, "value": d} for d in ("0", "1", "2")]}},
            "start": {"value": {"type": "timepicker", "selected_time": start}},
            "end": {"value": {"type": "timepicker", "selected_time": end}},
            "digest_day": select_value("4"),
            "away_until": date_value(away),
        }

    meta = {"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00", "digest": 0}
    before = _row(uow, mia)
    for start, end, away, block, says in (
        ("18:00", "09:00", None, "end", "end before they start"),
        ("09:00", "17:00", "2026-11-01", "away_until", "is in the past"),
        ("09:00", "17:00", "2028-01-01", "away_until", "more than a year ahead"),
    ):
        ack = submit(app, fake_slack, MODAL, values(start, end, away), user="UMIA", metadata=meta,
                     blocks=view["blocks"])
        assert ack["response_action"] == "errors" and says in ack["errors"][block], ack
    assert _row(uow, mia) == before
    assert submit(app, fake_slack, MODAL, values("09:00", "17:00", "2026-12-24"), user="UMIA", metadata=meta,
                  blocks=view["blocks"]) == {}
    saved = get_prefs(uow, mia)
    assert saved.muted == ("stale", "slipped", "digest") and saved.channel_id == "G0MIA0001"
    assert (saved.work_days, saved.work_start, saved.work_end) == ((0, 1, 2), "09:00", "17:00")
    assert (saved.digest_weekday, saved.away_until) == (4, date(2026, 12, 24))
    assert_valid_view(prefs_modal(saved))


def test_keeping_the_workspace_hours_in_the_modal_keeps_following_them(
    app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor
) -> None:
    view = prefs_modal(get_prefs(uow, ana))
    assert "digest_day" not in str(view["blocks"])  # reps get no digest
    values = {
        "kinds": {"value": {"type": "checkboxes", "selected_options": []}},
        "channel": {"value": {"type": "conversations_select", "selected_conversation": None}},
        "days": {"value": {"type": "checkboxes", "selected_options": [
            {"text": {"type": "plain_text", "text": "x"}, "value": str(d)} for d in range(5)]}},
        "start": {"value": {"type": "timepicker", "selected_time": "08:00"}},
        "end": {"value": {"type": "timepicker", "selected_time": "20:00"}},
        "away_until": date_value(None),
    }
    assert submit(app, fake_slack, MODAL, values, metadata={"days": [0, 1, 2, 3, 4], "start": "08:00",
                                                            "end": "20:00", "digest": 0},
                  blocks=view["blocks"]) == {}
    saved = get_prefs(uow, ana)
    assert saved.muted == ("followups", "stale", "slipped", "hot_leads") and not saved.own_hours


def test_back_to_daily_and_a_click_on_a_morning_list(app: App, fake_slack: FakeSlack, uow: UnitOfWork,
                                                     ana: Actor, now: datetime) -> None:
    deal = create_deal(uow, ana, title="Globex", now=now)
    with uow.transaction() as s:
        s.add(UserPrefs(workspace_id=ana.workspace_id, user_id=ana.user_id, muted=[], updated_at=now,
                        backoff={"stale": {"weekly": True, "streak": 3, "last": now.isoformat()}}))
    assert get_prefs(uow, ana).weekly == ("stale",)
    calls = press(app, fake_slack, RESTORE, "stale")
    assert "daily again" in str([c.body for c in calls])
    assert get_prefs(uow, ana).weekly == ()
    press(app, fake_slack, OPEN, deal.ref, block_id=f"morning:stale:{deal.ref}")
    with uow.read() as s:
        row = s.scalar(select(UserPrefs).where(UserPrefs.user_id == ana.user_id))
        assert row is not None and row.backoff["stale"]["clicked"] == now.isoformat()


def test_the_new_messages_are_valid_block_kit_in_both_languages(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    item = {"ref": "D-1", "title": "Globex <b>", "stage": "Proposal", "amount": "1200.00", "currency": "TRY",
            "idle_days": 40, "rotting_days": 14, "expected_close": None, "days_late": None, "stale_on": "2026-11-01"}
    for locale in ("en", "tr"):
        with use_locale(locale):
            morning = morning_message({"stale": [item], "stale_total": 1, "slipped": [], "weekly": ["stale"]})
            assert_valid_message(morning)
            assert RESTORE in str(morning["blocks"])
            summary = away_summary_message({
                "rep": {"tz": "Europe/Istanbul"}, "away_until": "2026-11-25",
                "held": [{"text": "call <Jo>", "due_at": (now + timedelta(days=1)).isoformat(), "deal": "D-1"}],
                "held_total": 1, "stale": [item], "stale_total": 1})
            assert_valid_message(summary)
            assert "&lt;Jo&gt;" in str(summary["blocks"])
            blocks = away_digest_blocks({"away": [{"name": "Ana", "until": "2026-11-25", "deals": [item],
                                                   "total": 1}]})
            assert_valid_message({"text": "digest", "blocks": blocks})
            set_prefs(uow, ana, PrefsChange(away_until="2026-11-30"), now)
            assert_valid_view(prefs_modal(get_prefs(uow, ana)))
    with use_locale("tr"):
        assert "Tekrar hoş geldiniz" in str(away_summary_message({"away_until": "2026-11-25"}))
