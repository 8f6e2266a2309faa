"""Nudge messages: a due follow-up with its buttons, each rep's morning list, the manager's alert.

They render the plain data that core.notify.nudges stored in the outbox (see core/notify/outbox.py for
the payload contract), so a message looks the same whether it is delivered now or after
a restart. The nudge buttons carry the reminder id; bot/actions/nudges.py handles them.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.views.common import (
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_TEXT,
    Block,
    Message,
    actions,
    button,
    context,
    cut,
    escape,
    fit,
    header,
    money,
    section,
    when,
)
from bot.views.prefs import weekly_note
from core import formatting
from core.i18n import _, ngettext
from core.notify.reminders import ReminderView

DONE = "nudge_done"
SNOOZE_DAY = "nudge_snooze_day"
SNOOZE_WEEK = "nudge_snooze_week"
SNOOZE_DATE = "nudge_snooze_date"
LOG = "nudge_log"
OPEN = "nudge_open"
NUDGE_ACTIONS = (DONE, SNOOZE_DAY, SNOOZE_WEEK, SNOOZE_DATE, LOG, OPEN)
NUDGE_BLOCK = "nudge_actions"


def nudge_data(reminder: ReminderView, tz: str, deal: dict[str, Any] | None = None) -> dict[str, Any]:
    """The data a nudge is rendered from, rebuilt from a reminder (to update it in place)."""
    data: dict[str, Any] = {
        "reminder_id": reminder.id,
        "text": reminder.text,
        "due_at": reminder.due_at.isoformat(),
        "tz": tz,
    }
    if deal is not None:
        data["deal"] = deal
    elif reminder.deal_ref:
        data["deal"] = {"ref": reminder.deal_ref, "title": reminder.deal_title}
    if reminder.lead_ref:
        data["lead"] = {"ref": reminder.lead_ref, "name": ""}
    return data


def _amount(item: dict[str, Any]) -> str:
    raw = item.get("amount")
    return money(Decimal(raw), item.get("currency") or "USD") if raw else ""


def _subject(data: dict[str, Any]) -> str:
    deal, lead = data.get("deal"), data.get("lead")
    if deal:
        parts = [f"*{deal['ref']}* {escape(cut(deal.get('title') or '', 150))}"]
        extra = [x for x in (escape(deal.get("stage") or ""), _amount(deal)) if x]
        if extra:
            parts.append(" · ".join(extra))
        return " · ".join(parts)
    if lead:
        return f"*{lead['ref']}* {escape(cut(lead.get('name') or '', 150))}"
    return ""


def nudge_buttons(data: dict[str, Any], tz: str) -> Block:
    """Done, Snooze 1 day / 1 week / a date, Log activity, Open deal."""
    rid = str(data["reminder_id"])
    tomorrow = (datetime.fromisoformat(data["due_at"]) + timedelta(days=1)).date()
    elements = [
        button(_("Done"), DONE, rid, style="primary"),
        button(_("Snooze 1 day"), SNOOZE_DAY, rid),
        button(_("Snooze 1 week"), SNOOZE_WEEK, rid),
        {
            "type": "datepicker",
            "action_id": SNOOZE_DATE,
            "initial_date": tomorrow.isoformat(),
            "placeholder": {"type": "plain_text", "text": _("Snooze to a date")},
        },
    ]
    deal = data.get("deal")
    if deal:
        elements.append(button(_("Log activity"), LOG, deal["ref"]))
        elements.append(button(_("Open deal"), OPEN, deal["ref"]))
    return actions(elements, block_id=f"{NUDGE_BLOCK}:{rid}")


def state_line(data: dict[str, Any]) -> str | None:
    """Where a refreshed nudge stands (core.notify.cards.current_nudge), when it needs no buttons."""
    state, deal = data.get("state") or {}, data.get("deal") or {}
    tz = data.get("tz") or "UTC"
    ref = f"*{escape(str(deal.get('ref') or ''))}*"
    if deal.get("status") == "won":
        return ":trophy: " + _("{deal} was won: nothing to follow up.").format(deal=ref)
    if deal.get("status") == "lost":
        return ":x: " + _("{deal} was lost: nothing to follow up.").format(deal=ref)
    if state.get("status") == "done":
        done_at = state.get("done_at")
        return ":white_check_mark: " + (_("Done {when}").format(when=when(datetime.fromisoformat(done_at), tz))
                                         if done_at else _("Done"))
    if state.get("status") == "cancelled":
        return ":heavy_minus_sign: " + _("Cancelled")
    if state.get("moved") and state.get("due_at"):
        return ":zzz: " + _("Snoozed to {when}").format(when=when(datetime.fromisoformat(state["due_at"]), tz))
    return None


def nudge_message(data: dict[str, Any], outcome: str | None = None) -> Message:
    """A follow-up that is due; with `outcome` (who did what), the acted-on version, no buttons.

    A refreshed nudge (its data has `state`) says on its own when it was done, snoozed or its deal closed.
    """
    tz = data.get("tz") or "UTC"
    outcome = outcome or state_line(data)
    body = escape(cut(data.get("text") or _("Follow up"), 1500))
    subject = _subject(data)
    due = datetime.fromisoformat(data["due_at"])
    follow_up = _("Follow-up:")
    blocks: list[Block] = [section(f":alarm_clock: *{follow_up}* {body}" + (f"\n{subject}" if subject else ""))]
    blocks.append(context(_("Due {when}").format(when=when(due, tz))))
    if outcome:
        blocks.append({**context(outcome), "block_id": "acted"})
    else:
        blocks.append(nudge_buttons(data, tz))
    ref = (data.get("deal") or data.get("lead") or {}).get("ref")
    text = f"{follow_up} {escape(data.get('text') or '')}" + (f" ({escape(str(ref))})" if ref else "")
    return {"text": cut(text, MAX_MESSAGE_TEXT), "blocks": blocks}


def outcome_line(who_slack_id: str | None, what: str, at: datetime, tz: str) -> str:
    """`:white_check_mark: <@U1> marked it done · Mon 23 Nov 14:05` under an acted-on nudge."""
    who = f"<@{who_slack_id}>" if who_slack_id else _("Someone")
    return f":white_check_mark: {who} {escape(what)} · {when(at, tz)}"


def _deal_line(item: dict[str, Any], why: str) -> str:
    amount = _amount(item)
    parts = [f"*{item['ref']}* {escape(cut(item.get('title') or '', 120))}", escape(item.get("stage") or "")]
    if amount:
        parts.append(amount)
    return " · ".join(p for p in parts if p) + f" — {why}"


def _stale_why(item: dict[str, Any]) -> str:
    idle = int(item["idle_days"])
    return ngettext("no touch for {n} day (stage limit {limit})", "no touch for {n} days (stage limit {limit})",
                    idle).format(n=formatting.number(idle), limit=formatting.number(int(item["rotting_days"])))


def _slipped_why(item: dict[str, Any]) -> str:
    late = int(item.get("days_late") or 0)
    closed = formatting.weekday_day(date.fromisoformat(item["expected_close"]))
    return _("was to close {date}, {ago}").format(date=closed, ago=formatting.days_ago(late))


def _deal_section(item: dict[str, Any], why: str, kind: str | None = None) -> list[Block]:
    # A morning list's block says its kind: a click on it counts against the back-off (core.notify.preferences).
    block_id = f"morning:{kind}:{item['ref']}" if kind else None
    return [section(_deal_line(item, why), accessory=button(_("Open"), OPEN, item["ref"]), block_id=block_id)]


def morning_message(data: dict[str, Any]) -> Message:
    """One rep's morning list: stale deals and deals whose close date slipped."""
    stale, slipped = data.get("stale") or [], data.get("slipped") or []
    n_stale, n_slipped = int(data.get("stale_total", len(stale))), int(data.get("slipped_total", len(slipped)))
    title = _("Deals that need you today")
    blocks: list[Block] = [header(title)]
    room_each = (MAX_MESSAGE_BLOCKS - 4) // 2
    if stale:
        going = ngettext("{n} going stale", "{n} going stale", n_stale).format(n=formatting.number(n_stale))
        blocks.append(section(f":hourglass: *{going}* — " + _("log a call, a note or a next step")))
        blocks.extend(fit([_deal_section(i, _stale_why(i), "stale") for i in stale], room_each, n_stale))
    if slipped:
        past = ngettext("{n} past its close date", "{n} past their close date", n_slipped).format(
            n=formatting.number(n_slipped))
        blocks.append(section(f":calendar: *{past}* — " + _("move the date or close them")))
        blocks.extend(fit([_deal_section(i, _slipped_why(i), "slipped") for i in slipped], room_each, n_slipped))
    parts = []
    if n_stale:
        parts.append(ngettext("{n} stale", "{n} stale", n_stale).format(n=formatting.number(n_stale)))
    if n_slipped:
        parts.append(ngettext("{n} past close date", "{n} past close date", n_slipped).format(
            n=formatting.number(n_slipped)))
    note = weekly_note(data)  # a kind that just backed off to weekly says so, with a button back
    blocks = blocks[:MAX_MESSAGE_BLOCKS - len(note)] + note
    return {"text": f"{title}: " + ", ".join(parts), "blocks": blocks}


def escalation_message(data: dict[str, Any]) -> Message:
    """The manager's note: a rep's deals stayed untouched after N nudges."""
    rep = data["rep"]
    who = f"<@{rep['slack_id']}>" if rep.get("slack_id") else escape(rep.get("name") or _("A rep"))
    deals = data.get("deals") or []
    total = int(data.get("total", len(deals)))
    nudges = int(data.get("nudges", 2))
    has = ngettext("{who} has {n} deal with no touch after {reminders}:",
                   "{who} has {n} deals with no touch after {reminders}:", total)
    reminders = ngettext("{n} reminder", "{n} reminders", nudges).format(n=formatting.number(nudges))
    intro = ":warning: " + has.format(who=who, n=formatting.number(total), reminders=reminders)
    blocks: list[Block] = [section(intro)]
    blocks.extend(fit([_deal_section(i, _stale_why(i)) for i in deals], MAX_MESSAGE_BLOCKS - 1, total))
    name = escape(rep.get("name") or rep.get("slack_id") or _("a rep"))
    nudged = ngettext("{n} nudge", "{n} nudges", nudges).format(n=formatting.number(nudges))
    text = ngettext("{n} stale deal of {name} ignored after {nudges}",
                    "{n} stale deals of {name} ignored after {nudges}", total).format(
        n=formatting.number(total), name=name, nudges=nudged)
    return {"text": text, "blocks": blocks}
