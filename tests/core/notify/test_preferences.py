"""Notification preferences (issue 13, points 5 and 6), against the outbox: real database, time
injected, the jobs run "as if" at given times. Bad input is refused with a clear message and
changes nothing."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.delivery import render
from core.db import UnitOfWork
from core.deals.deals import create_deal
from core.errors import InvalidInput, NotAllowed
from core.i18n import use_locale
from core.leads.routing import next_rep
from core.notify import outbox, reminders
from core.notify.away import return_sweep
from core.notify.digest import digest_sweep
from core.notify.nudges import morning_sweep, sweep_due_reminders
from core.notify.preferences import PrefsChange, get_prefs, note_click, restore_daily, set_prefs
from core.tables import Deal, OutboxMessage, ReminderStatus, Team, User, UserPrefs, Workspace
from core.workspace.locales import recipient_locale
from core.workspace.users import Actor
from tests.conftest import make_actor

MON = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # the `now` fixture: a Monday, 14:00 UTC


def _messages(uow: UnitOfWork, kind: str | None = None) -> list[OutboxMessage]:
    with uow.read() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list(s.scalars(query))


def _sweep(uow: UnitOfWork, at: datetime) -> int:
    with uow.transaction() as s:
        return sweep_due_reminders(s, at)


def _morning(uow: UnitOfWork, at: datetime) -> int:
    with uow.transaction() as s:
        return morning_sweep(s, at).messages


def _language(uow: UnitOfWork, msg: OutboxMessage) -> str:
    """The language delivery builds a queued message in (its recipient's)."""
    with uow.read() as s:
        return recipient_locale(s, msg.workspace_id, msg.channel)


def _prefs_row(uow: UnitOfWork, actor: Actor) -> dict[str, Any] | None:
    with uow.read() as s:
        row = s.scalar(select(UserPrefs).where(UserPrefs.user_id == actor.user_id))
        if row is None:
            return None
        return {c: getattr(row, c) for c in ("muted", "channel_id", "work_days", "work_start", "work_end",
                                             "digest_weekday", "away_until", "backoff")}


def _stale_deal(uow: UnitOfWork, owner: Actor, title: str, idle_days: int, now: datetime) -> str:
    deal = create_deal(uow, owner, title=title, now=now - timedelta(days=idle_days))
    with uow.transaction() as s:
        row = s.scalar(select(Deal).where(Deal.number == int(deal.ref[2:])))
        assert row is not None
        row.last_touch_at = now - timedelta(days=idle_days)
    return deal.ref


# --- get / set and the refusals -------------------------------------------------------------------

def test_without_a_choice_the_workspace_defaults_apply(uow: UnitOfWork, ana: Actor) -> None:
    view = get_prefs(uow, ana)
    assert (view.muted, view.channel_id, view.own_hours) == ((), None, False)
    assert (view.work_days, view.work_start, view.work_end) == ((0, 1, 2, 3, 4), "08:00", "20:00")
    assert view.away_until is None and _prefs_row(uow, ana) is None


def test_a_user_sets_every_preference_of_their_own(uow: UnitOfWork, mia: Actor, now: datetime) -> None:
    view = set_prefs(uow, mia, PrefsChange(mute=("stale", "hot"), channel="C0ALERTS", hours="10:00-16:30",
                                           days="tue-thu", digest_day="cuma", away_until="2026-12-24"), now)
    assert view.muted == ("stale", "hot_leads") and view.channel_id == "C0ALERTS"
    assert (view.work_days, view.work_start, view.work_end, view.own_hours) == ((1, 2, 3), "10:00", "16:30", True)
    assert view.digest_weekday == 4 and view.away_until == date(2026, 12, 24)
    with uow.read() as s:
        assert s.get_one(User, mia.user_id).is_away is True
    view = set_prefs(uow, mia, PrefsChange(unmute=("stale",), channel="dm", away_until="back"), now)
    assert view.muted == ("hot_leads",) and view.channel_id is None and view.away_until is None
    with uow.read() as s:
        assert s.get_one(User, mia.user_id).is_away is False


@pytest.mark.parametrize(("change", "says"), [
    (PrefsChange(away_until="2026-11-20"), "is in the past"),
    (PrefsChange(away_until="2027-11-24"), "more than a year ahead"),
    (PrefsChange(channel="#sales-alerts"), "is not a channel salesbot knows"),
    (PrefsChange(hours="9-18"), "is not working hours"),
    (PrefsChange(hours="25:00-26:00"), "is not working hours"),
    (PrefsChange(hours="18:00-09:00"), "end before they start"),
    (PrefsChange(hours="09:00-09:00"), "end before they start"),
    (PrefsChange(days="mon-funday"), "is not a weekday"),
    (PrefsChange(mute=("weather",)), "is not a kind of message"),
    # a good change next to a bad one: nothing of it is saved
    (PrefsChange(mute=("stale",), channel="C0GOODCH", hours="18:00-09:00"), "end before they start"),
    (PrefsChange(mute=("stale",), away_until="2025-01-01"), "is in the past"),
])
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(
    uow: UnitOfWork, ana: Actor, now: datetime, change: PrefsChange, says: str
) -> None:
    set_prefs(uow, ana, PrefsChange(mute=("digest",)), now)
    before = _prefs_row(uow, ana)
    with pytest.raises(InvalidInput) as err:
        set_prefs(uow, ana, change, now)
    assert says in err.value.message
    assert _prefs_row(uow, ana) == before
    with uow.read() as s:
        assert s.get_one(User, ana.user_id).is_away is False


def test_the_away_date_may_be_today_or_a_year_ahead_in_the_users_zone(uow: UnitOfWork, now: datetime) -> None:
    # 14:00 UTC on Monday is already Tuesday in Auckland: Monday is the past there.
    kiwi = make_actor(uow, "UKIWI", name="Kiri", tz="Pacific/Auckland")
    with pytest.raises(InvalidInput, match="in the past"):
        set_prefs(uow, kiwi, PrefsChange(away_until="2026-11-23"), now)
    assert set_prefs(uow, kiwi, PrefsChange(away_until="2026-11-24"), now).away_until == date(2026, 11, 24)
    assert set_prefs(uow, kiwi, PrefsChange(away_until="2027-11-24"), now).away_until == date(2027, 11, 24)


def test_nobody_changes_another_users_preferences_and_only_admins_see_them(
    uow: UnitOfWork, ana: Actor, bob: Actor, mia: Actor, root: Actor, now: datetime
) -> None:
    set_prefs(uow, ana, PrefsChange(mute=("slipped",)), now)
    before = _prefs_row(uow, ana)
    for who in (bob, mia, root):  # a peer, her manager, an admin
        with pytest.raises(NotAllowed, match="only your own"):
            set_prefs(uow, who, PrefsChange(mute=("stale",)), now, slack_id="UANA")
    assert _prefs_row(uow, ana) == before
    for who in (bob, mia):
        with pytest.raises(NotAllowed, match="Only admins"):
            get_prefs(uow, who, "UANA")
    assert get_prefs(uow, root, "UANA").muted == ("slipped",)


def test_only_managers_pick_the_digest_day(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    with pytest.raises(NotAllowed, match="managers"):
        set_prefs(uow, ana, PrefsChange(digest_day="friday"), now)
    assert _prefs_row(uow, ana) is None


# --- follow-ups: muted, channel, working hours ------------------------------------------------------

def test_a_muted_kind_queues_nothing(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    set_prefs(uow, ana, PrefsChange(mute=("followups",)), now)
    r = reminders.set_reminder(uow, ana, due_at=now + timedelta(minutes=5), text="call Jo", now=now)
    assert _sweep(uow, now + timedelta(minutes=5)) == 0
    assert _messages(uow) == []
    # decided (not sent, not held): unmuting later does not bring a flood of old nudges
    assert reminders.get_reminder(uow, ana, r.id).status == ReminderStatus.SENT


def test_a_chosen_channel_gets_the_nudge_in_the_workspaces_language(uow: UnitOfWork, ana: Actor,
                                                                     now: datetime) -> None:
    with uow.transaction() as s:
        s.get_one(User, ana.user_id).locale = "tr"
    set_prefs(uow, ana, PrefsChange(channel="C0ALERTS"), now)
    reminders.set_reminder(uow, ana, due_at=now + timedelta(minutes=5), text="call Jo", now=now)
    assert _sweep(uow, now + timedelta(minutes=5)) == 1
    [msg] = _messages(uow, "nudge")
    assert (msg.channel, _language(uow, msg)) == ("C0ALERTS", "en")


def test_nudges_wait_for_the_users_own_working_days_and_hours_and_arrive_once(uow: UnitOfWork,
                                                                             now: datetime) -> None:
    ist = make_actor(uow, "UIST", name="Ayşe", tz="Europe/Istanbul")
    set_prefs(uow, ist, PrefsChange(hours="10:00-16:00", days="tue-thu"), now)
    # Monday 17:00 in Istanbul: not a working day of hers; the next window opens Tuesday 10:00 (07:00 UTC).
    reminders.set_reminder(uow, ist, due_at=now, text="send the proposal", now=now)
    assert _sweep(uow, now) == 1
    [msg] = _messages(uow, "nudge")
    opens = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert msg.next_attempt_at == opens
    with uow.transaction() as s:
        assert outbox.claim(s, now, due_by=opens - timedelta(minutes=1)) == []  # held
    with uow.transaction() as s:
        [item] = outbox.claim(s, now, due_by=opens)
        outbox.mark_sent(s, item.id, now)
    with uow.transaction() as s:
        assert outbox.claim(s, now + timedelta(minutes=1), due_by=opens + timedelta(days=3)) == []  # once
    assert _sweep(uow, opens) == 0


def test_inside_the_users_hours_a_nudge_goes_at_once(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    set_prefs(uow, ana, PrefsChange(hours="13:00-15:00", days="mon"), now)
    reminders.set_reminder(uow, ana, due_at=now, text="call", now=now)
    assert _sweep(uow, now) == 1
    assert _messages(uow)[0].next_attempt_at == now


def test_the_morning_list_comes_in_the_users_own_hours_without_the_muted_kind(uow: UnitOfWork, ana: Actor,
                                                                               now: datetime) -> None:
    _stale_deal(uow, ana, "Globex", 40, now)
    late = create_deal(uow, ana, title="Initech", now=now)
    with uow.transaction() as s:
        row = s.scalar(select(Deal).where(Deal.number == int(late.ref[2:])))
        assert row is not None
        row.expected_close = date(2026, 11, 20)
    set_prefs(uow, ana, PrefsChange(hours="11:00-17:00", mute=("stale",)), now)
    tuesday = datetime(2026, 11, 24, 9, 5, tzinfo=UTC)
    assert _morning(uow, tuesday) == 0  # 09:05: before her day starts
    assert _morning(uow, tuesday + timedelta(hours=2)) == 1  # 11:05
    [msg] = _mornings_of(uow)
    assert msg.payload["data"]["stale"] == [] and [d["title"] for d in msg.payload["data"]["slipped"]] == ["Initech"]
    set_prefs(uow, ana, PrefsChange(mute=("slipped",)), now)
    assert _morning(uow, tuesday + timedelta(days=1, hours=2)) == 0  # both muted: nothing


def test_the_managers_escalation_honours_their_channel_and_mute(uow: UnitOfWork, mia: Actor, ana: Actor,
                                                                 now: datetime) -> None:
    _stale_deal(uow, ana, "Globex", 40, now)
    set_prefs(uow, mia, PrefsChange(channel="C0MIAESC1"), now)
    for at in MORNINGS[:3]:  # nudged twice in vain: the third morning tells her manager
        _morning(uow, at)
    [esc] = _messages(uow, "escalation")
    assert esc.channel == "C0MIAESC1"
    set_prefs(uow, mia, PrefsChange(mute=("stale",)), now)
    hooli = _stale_deal(uow, ana, "Hooli", 40, now)
    for at in (datetime(2026, 11, 30, 9, 5, tzinfo=UTC), datetime(2026, 12, 1, 9, 5, tzinfo=UTC),
               datetime(2026, 12, 2, 9, 5, tzinfo=UTC)):
        note_click(uow, ana, "stale", at - timedelta(hours=1))  # she looks: no back-off in the way
        assert _morning(uow, at) == 1
    with uow.read() as s:  # Hooli went through the nudges that escalate it...
        assert s.scalars(select(Deal.stale_nudges).where(Deal.number == int(hooli[2:]))).one() == 3
    assert len(_messages(uow, "escalation")) == 1  # ...but its manager muted stale deals


# --- the digest's day ---------------------------------------------------------------------------------

def test_the_manager_gets_the_digest_on_their_own_day(uow: UnitOfWork, mia: Actor, ana: Actor,
                                                       now: datetime) -> None:
    set_prefs(uow, mia, PrefsChange(digest_day="friday"), now)
    with uow.transaction() as s:
        assert digest_sweep(s, now) == 0  # Monday: the workspace's day, not hers
    friday = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
    with uow.transaction() as s:
        assert digest_sweep(s, friday) == 1
    with uow.transaction() as s:
        assert digest_sweep(s, friday + timedelta(hours=1)) == 0
    [msg] = _messages(uow, "digest")
    assert msg.channel == "UMIA" and msg.key.endswith("2026-11-27:dm")


def test_a_muted_digest_is_not_sent_but_the_team_channel_still_gets_its_copy(
    uow: UnitOfWork, mia: Actor, now: datetime
) -> None:
    set_prefs(uow, mia, PrefsChange(mute=("digest",)), now)
    with uow.transaction() as s:
        assert digest_sweep(s, now) == 0
        team = s.scalar(select(Team).where(Team.name == "East"))
        assert team is not None
        team.channel_id = "C0EAST"
    with uow.transaction() as s:
        assert digest_sweep(s, now) == 1
    assert [m.channel for m in _messages(uow, "digest")] == ["C0EAST"]


# --- away ------------------------------------------------------------------------------------------------

def test_away_no_nudges_then_one_summary_on_return_routing_skips_and_the_manager_sees_the_risk(
    uow: UnitOfWork, mia: Actor, ana: Actor, now: datetime
) -> None:
    set_prefs(uow, ana, PrefsChange(away_until="2026-11-25"), now)
    stale_ref = _stale_deal(uow, ana, "Globex", 40, now)  # stale already
    _stale_deal(uow, ana, "Initech", 12, now)  # goes stale (14 days) while she is away
    fresh = _stale_deal(uow, ana, "Umbrella", 1, now)  # still fresh on her return
    r1 = reminders.set_reminder(uow, ana, due_at=now + timedelta(hours=1), text="call Jo", now=now)
    r2 = reminders.set_reminder(uow, ana, due_at=now + timedelta(days=1), text="send terms", now=now)

    # While away: nothing reaches her, the reminders are held, no morning list.
    for at in (now + timedelta(hours=1), now + timedelta(days=1, hours=1), datetime(2026, 11, 25, 9, 5, tzinfo=UTC)):
        assert _sweep(uow, at) == 0
        assert _morning(uow, at) == 0
        with uow.transaction() as s:
            assert return_sweep(s, at) == 0
    assert [m.kind for m in _messages(uow)] == []
    assert reminders.get_reminder(uow, ana, r1.id).status == ReminderStatus.PENDING

    # Routing skips her (Mia, the other member of East, gets the lead).
    with uow.transaction() as s:
        team = s.scalar(select(Team).where(Team.name == "East"))
        assert team is not None
        chosen = [next_rep(s, ana.workspace_id, team.id, now) for _ in range(3)]
        assert {u.slack_id for u in chosen if u} == {"UMIA"}

    # Her manager's digest lists her deals going stale while she is away.
    with uow.transaction() as s:
        assert digest_sweep(s, now) == 1
    [digest] = _messages(uow, "digest")
    [away] = digest.payload["data"]["away"]
    assert away["name"] == "Ana" and away["until"] == "2026-11-25"
    assert [d["title"] for d in away["deals"]] == ["Globex", "Initech"]
    assert fresh not in str(away)
    assert "Ana" in str(render(digest.payload)["blocks"])

    # Back on Thursday: ONE summary listing what was held, and the held reminders not sent one by one.
    back = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    with uow.transaction() as s:
        assert return_sweep(s, back) == 1
    with uow.transaction() as s:
        assert return_sweep(s, back + timedelta(hours=1)) == 0
    assert _sweep(uow, back + timedelta(hours=1)) == 0
    [summary] = _messages(uow, "away_summary")
    held = summary.payload["data"]["held"]
    assert [h["text"] for h in held] == ["call Jo", "send terms"]
    assert stale_ref in str(summary.payload["data"]["stale"])
    assert summary.channel == "UANA" and summary.next_attempt_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert {reminders.get_reminder(uow, ana, r.id).status for r in (r1, r2)} == {ReminderStatus.SENT}
    with uow.read() as s:
        assert s.get_one(User, ana.user_id).is_away is False
    assert get_prefs(uow, ana).away_until is None
    message = render(summary.payload)
    assert "call Jo" in str(message["blocks"]) and "2 follow-ups came due" in message["text"]


def test_an_away_users_held_reminders_never_fill_the_sweeps_batch(uow: UnitOfWork, ana: Actor, bob: Actor,
                                                                  now: datetime) -> None:
    set_prefs(uow, ana, PrefsChange(away_until="2026-12-20", channel="C0ANA0001"), now)
    set_prefs(uow, bob, PrefsChange(channel="C0BOB0001"), now)
    for i in range(3):
        reminders.set_reminder(uow, ana, due_at=now + timedelta(minutes=i), text=f"held {i}", now=now)
    reminders.set_reminder(uow, bob, due_at=now + timedelta(minutes=5), text="bob's", now=now)
    with uow.transaction() as s:
        assert sweep_due_reminders(s, now + timedelta(minutes=10), limit=2) == 1
    assert [m.channel for m in _messages(uow, "nudge")] == ["C0BOB0001"]


# --- back-off ------------------------------------------------------------------------------------------

MORNINGS = [datetime(2026, 11, d, 9, 5, tzinfo=UTC) for d in (24, 25, 26, 27)]  # Tue-Fri


def _mornings_of(uow: UnitOfWork) -> list[OutboxMessage]:
    return [m for m in _messages(uow, "morning") if m.channel == "UANA"]


def test_a_nudge_ignored_three_times_backs_off_to_weekly_and_the_button_restores_it(
    uow: UnitOfWork, ana: Actor, now: datetime
) -> None:
    _stale_deal(uow, ana, "Globex", 40, now)
    for at in MORNINGS:
        assert _morning(uow, at) == 1
    weekly = [m.payload["data"]["weekly"] for m in _mornings_of(uow)]
    assert weekly == [[], [], [], ["stale"]]  # the fourth says it goes weekly
    assert "now come weekly" in str(render(_mornings_of(uow)[-1].payload)["blocks"])
    # Weekly: Monday and Tuesday pass in silence, a week after the last one it comes again.
    assert _morning(uow, datetime(2026, 11, 30, 9, 5, tzinfo=UTC)) == 0
    assert _morning(uow, datetime(2026, 12, 1, 9, 5, tzinfo=UTC)) == 0
    assert _morning(uow, datetime(2026, 12, 4, 9, 5, tzinfo=UTC)) == 1
    assert _mornings_of(uow)[-1].payload["data"]["weekly"] == []  # said once
    # The button turns it back up: daily again from the next morning.
    assert restore_daily(uow, ana, "stale", datetime(2026, 12, 4, 10, 0, tzinfo=UTC)).weekly == ()
    assert _morning(uow, datetime(2026, 12, 7, 9, 5, tzinfo=UTC)) == 1
    assert _morning(uow, datetime(2026, 12, 8, 9, 5, tzinfo=UTC)) == 1


def _streak(uow: UnitOfWork, actor: Actor) -> int:
    with uow.read() as s:
        prefs = s.scalar(select(UserPrefs).where(UserPrefs.user_id == actor.user_id))
        assert prefs is not None
        return int(prefs.backoff["stale"]["streak"])


def test_a_click_or_a_change_to_the_deal_is_not_ignoring(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    globex = _stale_deal(uow, ana, "Globex", 40, now)
    _stale_deal(uow, ana, "Initech", 40, now)
    _morning(uow, MORNINGS[0])
    _morning(uow, MORNINGS[1])
    assert _streak(uow, ana) == 1  # the first went ignored
    note_click(uow, ana, "stale", MORNINGS[1] + timedelta(hours=1))  # she opened a deal from the second
    _morning(uow, MORNINGS[2])
    assert _streak(uow, ana) == 0
    with uow.transaction() as s:  # after the third, Globex changes (a call logged: a touch)
        row = s.scalar(select(Deal).where(Deal.number == int(globex[2:])))
        assert row is not None
        row.last_touch_at = MORNINGS[2] + timedelta(hours=1)
    _morning(uow, MORNINGS[3])
    assert _streak(uow, ana) == 0
    assert [len(m.payload["data"]["stale"]) for m in _mornings_of(uow)] == [2, 2, 2, 1]
    assert all(m.payload["data"]["weekly"] == [] for m in _mornings_of(uow))


# --- language -----------------------------------------------------------------------------------------

def test_a_turkish_user_gets_turkish_nudge_text(uow: UnitOfWork, ana: Actor, now: datetime) -> None:
    with uow.transaction() as s:
        s.get_one(User, ana.user_id).locale = "tr"
        s.scalar(select(Workspace)).locale = "en"  # type: ignore[union-attr]
    _stale_deal(uow, ana, "Globex", 40, now)
    for at in MORNINGS:
        _morning(uow, at)
    last = _mornings_of(uow)[-1]
    assert _language(uow, last) == "tr"
    with use_locale(_language(uow, last)):
        shown = str(render(last.payload)["blocks"])
    assert "artık haftada bir geliyor" in shown and "Yeniden her gün" in shown
    assert "now come weekly" not in shown


# --- hot leads: the manager's alert, the assignee's DM ----------------------------------------------

HOT_RULES = "fit:\n  - {field: title, eq: ceo, points: 90}\n"


def _hot_lead(uow: UnitOfWork, actor: Actor, now: datetime, name: str) -> None:
    from core.leads.intake import clean_lead, intake
    from core.leads.rules import save_rules

    with uow.transaction() as s:
        save_rules(s, actor.workspace_id, HOT_RULES, now)
        intake(s, s.get_one(Workspace, actor.workspace_id), [clean_lead({"name": name, "title": "CEO"})], now)


def test_hot_lead_alerts_to_the_manager_honour_mute_channel_and_language(uow: UnitOfWork, mia: Actor,
                                                                          now: datetime) -> None:
    with uow.transaction() as s:  # East has no channel: alerts go to its manager
        s.get_one(User, mia.user_id).locale = "tr"
    _hot_lead(uow, mia, now, "Zoe")
    [dm] = _messages(uow, "hot_lead")
    assert (dm.channel, _language(uow, dm)) == ("UMIA", "tr")
    set_prefs(uow, mia, PrefsChange(channel="C0HOTLEADS"), now)
    _hot_lead(uow, mia, now + timedelta(hours=1), "Yan")
    assert [(m.channel, _language(uow, m)) for m in _messages(uow, "hot_lead")][1] == ("C0HOTLEADS", "en")
    set_prefs(uow, mia, PrefsChange(mute=("hot",)), now)
    _hot_lead(uow, mia, now + timedelta(hours=2), "Xi")
    assert len(_messages(uow, "hot_lead")) == 2


def test_the_assignees_dm_honours_mute_and_channel(uow: UnitOfWork, mia: Actor, ana: Actor, now: datetime) -> None:
    from core.leads.routing import route_unclaimed

    with uow.transaction() as s:
        s.get_one(User, mia.user_id).is_away = True  # only Ana takes leads
    set_prefs(uow, ana, PrefsChange(channel="C0ANALEADS"), now)
    _hot_lead(uow, mia, now, "One")
    assert [r.user_id for r in route_unclaimed(uow, now + timedelta(hours=1))] == [ana.user_id]
    [dm] = _messages(uow, "lead_assigned")
    assert dm.channel == "C0ANALEADS"
    set_prefs(uow, ana, PrefsChange(mute=("hot",)), now)
    _hot_lead(uow, mia, now + timedelta(hours=1), "Two")
    assert [r.user_id for r in route_unclaimed(uow, now + timedelta(hours=2))] == [ana.user_id]  # still assigned
    assert len(_messages(uow, "lead_assigned")) == 1  # but not told


def test_every_nudge_is_built_in_its_recipients_language(uow: UnitOfWork, ana: Actor, bob: Actor,
                                                         now: datetime) -> None:
    with uow.transaction() as s:
        s.get_one(User, ana.user_id).locale = "tr"
        s.scalar(select(Workspace)).locale = "tr"  # type: ignore[union-attr]
        s.get_one(User, bob.user_id).locale = "en"
    for who in (ana, bob):
        reminders.set_reminder(uow, who, due_at=now, text="call", now=now)
    assert _sweep(uow, now) == 2
    assert {m.channel: _language(uow, m) for m in _messages(uow, "nudge")} == {"UANA": "tr", "UBOB": "en"}
    with uow.transaction() as s:
        s.get_one(User, ana.user_id).locale = None  # no Slack locale: the workspace's
    reminders.set_reminder(uow, ana, due_at=now + timedelta(minutes=1), text="again", now=now)
    _sweep(uow, now + timedelta(minutes=1))
    assert _language(uow, _messages(uow, "nudge")[-1]) == "tr"
