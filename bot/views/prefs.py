"""Notification preferences on screen: the Settings modal, `/salesbot prefs`, the welcome-back
summary, the back-off note under a morning message, and the away reps in a manager's digest.

Pure functions of core data (core.notify.preferences.PrefsView, outbox payload data), in the
language the caller set (core.i18n.use_locale).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import get_day_names

from bot.views.common import (
    MAX_MESSAGE_BLOCKS,
    Block,
    Message,
    actions,
    button,
    context,
    cut,
    escape,
    fit,
    header,
    message,
    money,
    plain,
    section,
    when,
)
from core.i18n import _, current_locale, ngettext
from core.notify.preferences import DIGEST, FOLLOWUPS, HOT_LEADS, KINDS, SLIPPED, STALE, PrefsView

MODAL = "prefs_modal"
OPEN_SETTINGS = "prefs_open"
RESTORE = "prefs_backoff_restore"
FIELDS = ("kinds", "channel", "days", "start", "end", "digest_day", "away_until")


def kind_label(kind: str) -> str:
    """A kind of message, as people call it."""
    return {
        FOLLOWUPS: _("Follow-up reminders"),
        STALE: _("Stale deals"),
        SLIPPED: _("Slipped close dates"),
        HOT_LEADS: _("Hot leads"),
        DIGEST: _("Weekly digest"),
    }[kind]


def weekday_name(day: int) -> str:
    """Monday = 0, in the current language (Babel's calendar names)."""
    return str(get_day_names("wide", locale=current_locale())[day])


def _days_text(days: tuple[int, ...]) -> str:
    return ", ".join(weekday_name(d) for d in days)


def settings_button() -> Block:
    """The App Home's Settings button (opens the preferences modal)."""
    return actions([button(_("Settings"), OPEN_SETTINGS, "open")], block_id="prefs_settings")


def prefs_lines(view: PrefsView, own: bool = True) -> list[str]:
    """The preferences as lines of text (mrkdwn, user text escaped)."""
    getting = [kind_label(k) for k in KINDS if k not in view.muted]
    lines = [
        _("*Getting:* {kinds}").format(kinds=", ".join(getting) if getting else _("nothing (all muted)")),
        _("*Delivery:* in <#{channel}>").format(channel=view.channel_id) if view.channel_id
        else _("*Delivery:* direct message"),
        (_("*Working days and hours:* {days}, {start}-{end}") if view.own_hours
         else _("*Working days and hours:* {days}, {start}-{end} (the workspace's)")).format(
            days=_days_text(view.work_days), start=view.work_start, end=view.work_end),
    ]
    if view.is_manager:
        lines.append(_("*Weekly digest:* {day}").format(day=weekday_name(view.digest_weekday)))
    if view.away_until is not None:
        lines.append(_("*Away until:* {date} (no nudges; one summary when you are back)")
                     .format(date=view.away_until.isoformat()))
    for kind in view.weekly:
        lines.append(_("*{kind}:* weekly (ignored three times in a row)").format(kind=kind_label(kind)))
    return lines


def prefs_message(view: PrefsView, own: bool = True) -> Message:
    """`/salesbot prefs` (and `/salesbot prefs @user` for admins)."""
    title = _("Your notification preferences") if own else _("Notification preferences of {name}").format(
        name=escape(view.name or view.slack_id or ""))
    body = "\n".join(prefs_lines(view, own))
    blocks: list[Block] = [section(f"*{title}*\n{body}")]
    if own:
        blocks.append(context(_("Change them: `/salesbot prefs mute stale`, `/salesbot prefs channel #sales-alerts`, "
                                "`/salesbot prefs hours 09:00-18:00 mon-fri`, `/salesbot prefs digest friday`, "
                                "`/salesbot prefs away until 2026-12-24`, `/salesbot prefs back` or App Home "
                                "Settings.")))
    return message(f"{title}\n{body}", blocks)


def prefs_saved(view: PrefsView) -> Message:
    """The answer to a change."""
    text = _("Saved. Your notification preferences now:")
    body = "\n".join(prefs_lines(view))
    blocks: list[Block] = [section(f":white_check_mark: {text}\n{body}")]
    if view.channel_id:  # salesbot posts only where it is a member (no chat:write.public)
        blocks.append(context(_("Salesbot must be in <#{channel}> to post there: `/invite @salesbot` in it.")
                              .format(channel=view.channel_id)))
    return message(f"{text}\n{body}", blocks)


def _checkbox(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def prefs_modal(view: PrefsView) -> Block:
    """The Settings modal, filled with the current preferences."""
    kinds = [_checkbox(kind_label(k), k) for k in KINDS if k != DIGEST or view.is_manager]
    kinds_el: Block = {"type": "checkboxes", "action_id": "value", "options": kinds}
    chosen = [o for o in kinds if o["value"] not in view.muted]
    if chosen:
        kinds_el["initial_options"] = chosen
    days = [_checkbox(weekday_name(d), str(d)) for d in range(7)]
    days_el: Block = {"type": "checkboxes", "action_id": "value", "options": days}
    if view.work_days:
        days_el["initial_options"] = [days[d] for d in view.work_days]
    channel_el: Block = {"type": "conversations_select", "action_id": "value",
                         "placeholder": plain(_("Direct message"), 150),
                         "filter": {"include": ["public", "private"], "exclude_bot_users": True}}
    if view.channel_id:
        channel_el["initial_conversation"] = view.channel_id
    away_el: Block = {"type": "datepicker", "action_id": "value", "placeholder": plain(_("Not away"), 150)}
    if view.away_until is not None:
        away_el["initial_date"] = view.away_until.isoformat()

    def field(block_id: str, label: str, element: Block, optional: bool = True, hint: str | None = None) -> Block:
        block: Block = {"type": "input", "block_id": block_id, "label": plain(label, 2000), "optional": optional,
                        "element": element}
        if hint:
            block["hint"] = plain(hint, 2000)
        return block

    blocks: list[Block] = [
        field("kinds", _("Messages I get"), kinds_el),
        field("channel", _("Send them to a channel"), channel_el, hint=_("Leave empty to get them by direct message.")),
        field("days", _("My working days"), days_el, optional=False),
        field("start", _("My working hours start"),
              {"type": "timepicker", "action_id": "value", "initial_time": view.work_start}, optional=False),
        field("end", _("My working hours end"),
              {"type": "timepicker", "action_id": "value", "initial_time": view.work_end}, optional=False,
              hint=_("Nudges arrive inside your working days and hours, in your time zone.")),
    ]
    if view.is_manager:
        blocks.append(field("digest_day", _("Weekly digest day"), {
            "type": "static_select", "action_id": "value",
            "options": [_checkbox(weekday_name(d), str(d)) for d in range(7)],
            "initial_option": _checkbox(weekday_name(view.digest_weekday), str(view.digest_weekday)),
        }, optional=False))
    blocks.append(field("away_until", _("Away until (the last day away)"), away_el,
                        hint=_("While you are away: no nudges, no new leads; one summary when you are back.")))
    metadata = {"days": list(view.work_days), "start": view.work_start, "end": view.work_end,
                "digest": view.digest_weekday}
    return {
        "type": "modal", "callback_id": MODAL,
        "title": plain(_("Notifications"), 24), "submit": plain(_("Save"), 24), "close": plain(_("Cancel"), 24),
        "private_metadata": cut(json.dumps(metadata), 3000), "blocks": blocks,
    }


def weekly_note(data: dict[str, Any]) -> list[Block]:
    """Under a morning message: the kinds that just went weekly, each with a button to turn it back up."""
    blocks: list[Block] = []
    for kind in data.get("weekly") or []:
        if kind not in (STALE, SLIPPED):
            continue
        text = _(":zzz: *{kind}*: you left the last three alone, so they now come weekly.").format(
            kind=kind_label(kind))
        blocks.append(section(text, accessory=button(_("Back to daily"), RESTORE, kind), block_id=f"weekly:{kind}"))
    return blocks


def _amount(item: dict[str, Any]) -> str:
    raw = item.get("amount")
    return money(Decimal(raw), item.get("currency") or "USD", current_locale()) if raw else ""


def _deal_line(item: dict[str, Any]) -> str:
    parts = [f"*{escape(str(item['ref']))}* {escape(cut(item.get('title') or '', 120))}",
             escape(item.get("stage") or ""), _amount(item)]
    return " · ".join(p for p in parts if p)


def away_summary_message(data: dict[str, Any]) -> Message:
    """The one message a user gets when back from being away: the follow-ups held, the deals now stale."""
    tz = (data.get("rep") or {}).get("tz") or "UTC"
    held, stale = data.get("held") or [], data.get("stale") or []
    n_held, n_stale = int(data.get("held_total", len(held))), int(data.get("stale_total", len(stale)))
    title = _("Welcome back")
    intro = _("While you were away (until {date}), salesbot held your nudges.").format(
        date=date.fromisoformat(data["away_until"]).isoformat())
    blocks: list[Block] = [header(title), section(intro)]
    room = (MAX_MESSAGE_BLOCKS - 5) // 2
    if held:
        blocks.append(section(ngettext("*{n} follow-up came due:*", "*{n} follow-ups came due:*", n_held)
                              .format(n=n_held)))
        lines = [[section(f"• {escape(cut(h.get('text') or '', 300))}"
                          + (f" ({escape(str(h['deal']))})" if h.get("deal") else "")
                          + f" — {when(datetime.fromisoformat(h['due_at']), tz)}")] for h in held]
        blocks.extend(fit(lines, room, n_held))
    if stale:
        blocks.append(section(ngettext("*{n} deal is stale now:*", "*{n} deals are stale now:*", n_stale)
                              .format(n=n_stale)))
        blocks.extend(fit([[section(_deal_line(i))] for i in stale], room, n_stale))
    if not held and not stale:
        blocks.append(section(_("Nothing came due and no deal went stale.")))
    text = _("Welcome back: {held}, {stale}.").format(
        held=ngettext("{n} follow-up came due", "{n} follow-ups came due", n_held).format(n=n_held),
        stale=ngettext("{n} deal is stale", "{n} deals are stale", n_stale).format(n=n_stale))
    return {"text": text, "blocks": blocks[:MAX_MESSAGE_BLOCKS]}


def away_digest_blocks(data: dict[str, Any]) -> list[Block]:
    """In a manager's digest: the away reps and their deals going stale while they are away."""
    blocks: list[Block] = []
    for rep in data.get("away") or []:
        name = escape(rep.get("name") or rep.get("slack_id") or "")
        total = int(rep.get("total", len(rep.get("deals") or [])))
        head = ngettext(":palm_tree: *{name}* is away until {date}: {n} deal goes stale meanwhile",
                        ":palm_tree: *{name}* is away until {date}: {n} deals go stale meanwhile", total).format(
            name=name, date=rep.get("until") or "?", n=total)
        lines = [
            _("{deal} — stale from {date}").format(deal=_deal_line(d), date=d.get("stale_on") or "")
            for d in (rep.get("deals") or [])[:5]
        ]
        blocks.append(section("\n".join([head, *lines])))
    return blocks
