"""The weekly digest as a Slack message (and its chart), from core.notify.digest's data.

The scheduled digest stores `digest_data(...)` in the outbox and is rendered here at send
time (`digest_from_payload`, with the PNG chart uploaded after the message);
`/pipeline digest` computes the same data now (`digest_message`).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.chart import pipeline_chart
from bot.views.common import (
    MAX_MESSAGE_BLOCKS,
    Block,
    Message,
    activity_count,
    context,
    cut,
    divider,
    escape,
    header,
    message,
    missing_rates_note,
    money,
    section,
)
from bot.views.prefs import away_digest_blocks
from core import formatting
from core.i18n import _, current_locale, ngettext, use_locale
from core.notify.digest import TeamDigest, digest_data

LISTED = 5
KINDS = ("call", "email", "meeting", "demo", "proposal")


def _d(value: Any) -> Decimal:
    return Decimal(str(value or "0"))


def _delta(now: Any, before: Any, currency: str) -> str:
    diff = _d(now) - _d(before)
    if diff == 0:
        return _("no change")
    arrow = ":arrow_up_small:" if diff > 0 else ":arrow_down_small:"
    sign = "+" if diff > 0 else "−"
    return f"{arrow} {sign}{money(abs(diff), currency)}"


def _count_delta(now: int, before: int) -> str:
    diff = now - before
    return "" if diff == 0 else f" ({'+' if diff > 0 else '−'}{formatting.number(abs(diff))})"


def _deal_line(item: dict[str, Any], currency: str, extra: str = "") -> str:
    who = f"<@{item['owner_slack_id']}>" if item.get("owner_slack_id") else escape(item.get("owner") or "")
    # a deal in its own currency
    amount = money(_d(item["amount"]), item.get("currency") or currency) if item.get("amount") is not None else "—"
    title, stage = escape(cut(item.get("title") or "", 80)), escape(item.get("stage") or "")
    parts = [f"*{item['ref']}* {title}", stage, amount, who]
    return "• " + " · ".join(p for p in parts if p) + (f" — {extra}" if extra else "")


def _deals(n: int) -> str:
    return ngettext("{n} deal", "{n} deals", n).format(n=formatting.number(n))


def digest_blocks(data: dict[str, Any], locale: str | None = None) -> Message:
    """Text and blocks of one digest (data as produced by core.notify.digest.digest_data).

    In `locale` when given, else the language the text is being built in; every figure goes
    through core.formatting, so the scheduled digest and `/pipeline digest` read the same.
    """
    with use_locale(locale or current_locale()):
        return _digest_blocks(data)


def _digest_blocks(data: dict[str, Any]) -> Message:
    cur = data.get("currency") or "USD"
    totals = data["totals"]
    start = datetime.fromisoformat(data["start"])
    last = datetime.fromisoformat(data["end"]) - timedelta(days=1)
    approx = "≈ " if data.get("approx") else ""

    def _m(value: Any) -> str:  # figures in the base currency
        return approx + money(_d(value), cur)

    title = _("Pipeline digest · {team} · week of {start} – {end}").format(
        team=escape(data["team_name"]), start=formatting.weekday_day(start.date()), end=formatting.day(last.date()))
    blocks: list[Block] = [header(cut(title, 150))]
    open_line = _("{label} {deals} · {amount} ({delta} vs last week) · weighted {weighted} ({weighted_delta})").format(
        label="*" + _("Open pipeline:") + "*", deals=_deals(int(totals["open_count"])),
        amount=_m(totals["open_amount"]),
        delta=_delta(totals["open_amount"], totals["prev_amount"], cur), weighted=_m(totals["open_weighted"]),
        weighted_delta=_delta(totals["open_weighted"], totals["prev_weighted"], cur))
    stage_lines = [
        f"• *{escape(s['stage'])}* ({formatting.probability(int(s['probability']))}): "
        f"{formatting.number(int(s['count']))}{_count_delta(s['count'], s['prev_count'])}"
        f" · {_m(s['amount'])} ({_delta(s['amount'], s['prev_amount'], cur)})"
        " · " + _("weighted {amount}").format(amount=_m(s["weighted"]))
        for s in data["stages"]
    ]
    blocks.append(section(open_line + "\n" + "\n".join(stage_lines)))
    new, won, lost = data["new"], data["won"], data["lost"]
    blocks.append(section(
        _("{label} new {new} ({new_amount}) · won {won} ({won_amount}) · lost {lost} ({lost_amount})").format(
            label="*" + _("This week:") + "*", new=formatting.number(new[0]), new_amount=_m(new[1]),
            won=formatting.number(won[0]), won_amount=_m(won[1]), lost=formatting.number(lost[0]),
            lost_amount=_m(lost[1]))
    ))
    if data["moves"]:
        moves = [f"• {escape(m['from_stage'])} → {escape(m['to_stage'])}: {formatting.number(m['count'])}"
                 for m in data["moves"][:8]]
        blocks.append(section("*" + _("Stage moves") + "*\n" + "\n".join(moves)))
    quota = data.get("quota")
    quarter = f"*{data['quarter']}:*"
    if quota:
        won_pct = _d(data["quarter_won"]) / _d(quota)
        landing = _d(totals.get("landing") or _d(data["quarter_won"]) + _d(totals["open_weighted"]))
        q_line = _("{quarter} won {won} of {quota} quota ({won_pct}) · with the weighted pipeline {landing} "
                   "({landing_pct} of quota)").format(
            quarter=quarter, won=_m(data["quarter_won"]), quota=_m(quota), won_pct=formatting.percent(won_pct, 0),
            landing=_m(landing), landing_pct=formatting.percent(landing / _d(quota), 0))
    else:
        q_line = _("{quarter} won {won} · weighted open {weighted} · no quota set ({command})").format(
            quarter=quarter, won=_m(data["quarter_won"]), weighted=_m(totals["open_weighted"]),
            command="`/salesbot quota`")
    blocks.append(section(q_line))
    blocks.append(divider())
    risks: tuple[tuple[str, str, Callable[[dict[str, Any]], str]], ...] = (
        ("slipped", _("Past their close date"),
         lambda i: _("due {date}").format(date=formatting.day_month(date.fromisoformat(i["expected_close"])))),
        ("stale", _("Going stale"),
         lambda i: ngettext("{n} day untouched", "{n} days untouched", int(i["idle_days"])).format(
             n=formatting.number(int(i["idle_days"])))),
    )
    for key, title_text, extra in risks:
        count, amount = data[key]
        if count:
            lines = [_deal_line(i, cur, extra(i)) for i in data[f"{key}_deals"][:LISTED]]
            more = ""
            if count > len(lines):
                left = count - len(lines)
                more = "\n" + ngettext("… and {n} more", "… and {n} more", left).format(n=formatting.number(left))
            blocks.append(section(f"*{title_text}: {formatting.number(count)}* ({_m(amount)})\n"
                                  + "\n".join(lines) + more))
    if data["top_deals"]:
        blocks.append(section("*" + _("Top open deals") + "*\n"
                              + "\n".join(_deal_line(i, cur) for i in data["top_deals"])))
    if data["activity"]:
        rows = []
        for rep in data["activity"][:15]:
            who = f"<@{rep['slack_id']}>" if rep.get("slack_id") else escape(rep["name"])
            counts = ", ".join(activity_count(k, int(rep["counts"].get(k, 0))) for k in KINDS)
            rows.append(f"• {who}: {counts}")
        blocks.append(section("*" + _("Activity this week") + "*\n" + "\n".join(rows)))
    else:
        blocks.append(section("*" + _("Activity this week:") + "* " + _("nothing logged.")))
    note = missing_rates_note(data.get("missing") or {})
    notes = [_("The week is Monday to Sunday in your time zone; the pipeline a week ago is rebuilt from each "
               "deal's history.")] + ([note] if note else [])
    blocks.append(context(*notes))
    text = _("Pipeline digest for {team}: {deals} open, {amount}; won {won}, lost {lost} this week").format(
        team=escape(data["team_name"]), deals=_deals(int(totals["open_count"])), amount=_m(totals["open_amount"]),
        won=formatting.number(won[0]), lost=formatting.number(lost[0]))
    return {"text": text, "blocks": blocks[:MAX_MESSAGE_BLOCKS]}


def digest_chart(data: dict[str, Any], locale: str | None = None) -> bytes:
    """The PNG of the open amount by stage, this week against last week (labels in the text's language)."""
    stages = data["stages"]
    with use_locale(locale or current_locale()):
        return pipeline_chart(
            [s["stage"] for s in stages],
            [_d(s["amount"]) for s in stages],
            [_d(s["prev_amount"]) for s in stages],
            _("{team}: open pipeline by stage").format(team=data["team_name"]),
            data.get("currency") or "USD",
        )


def digest_from_payload(data: dict[str, Any]) -> Message:
    """The outbox renderer: the message plus the chart to upload after it.

    In the current language: bot/delivery.py sets the recipient's (the manager's for a DM,
    the workspace's in a channel) around every render.
    """
    msg = digest_blocks(data)
    away = away_digest_blocks(data)  # the manager's away reps and their deals going stale
    msg["blocks"] = [*msg["blocks"][:MAX_MESSAGE_BLOCKS - len(away)], *away]
    msg["files"] = [{"content": digest_chart(data), "filename": "pipeline.png", "title": _("Pipeline by stage")}]
    return msg


def digest_message(digest: TeamDigest, locale: str | None = None) -> Message:
    """`/pipeline digest`: core.notify.digest.digest_for's digest as an ephemeral message."""
    msg = digest_blocks(digest_data(digest), locale)
    return message(msg["text"], msg["blocks"])
