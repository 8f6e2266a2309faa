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
from core.notify.digest import TeamDigest, digest_data

LISTED = 5
KIND_LABELS = (("call", "call"), ("email", "email"), ("meeting", "meeting"), ("demo", "demo"),
               ("proposal", "proposal"))


def _d(value: Any) -> Decimal:
    return Decimal(str(value or "0"))


def _m(value: Any, currency: str, locale: str) -> str:
    return money(_d(value), currency, locale, compact=False)


def _delta(now: Any, before: Any, currency: str, locale: str) -> str:
    diff = _d(now) - _d(before)
    if diff == 0:
        return "no change"
    arrow = ":arrow_up_small:" if diff > 0 else ":arrow_down_small:"
    sign = "+" if diff > 0 else "−"
    return f"{arrow} {sign}{money(abs(diff), currency, locale)}"


def _count_delta(now: int, before: int) -> str:
    diff = now - before
    return "" if diff == 0 else f" ({'+' if diff > 0 else '−'}{abs(diff)})"


def _deal_line(item: dict[str, Any], currency: str, locale: str, extra: str = "") -> str:
    who = f"<@{item['owner_slack_id']}>" if item.get("owner_slack_id") else escape(item.get("owner") or "")
    # a deal in its own currency
    amount = _m(item["amount"], item.get("currency") or currency, locale) if item.get("amount") is not None else "—"
    title, stage = escape(cut(item.get("title") or "", 80)), escape(item.get("stage") or "")
    parts = [f"*{item['ref']}* {title}", stage, amount, who]
    return "• " + " · ".join(p for p in parts if p) + (f" — {extra}" if extra else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def digest_blocks(data: dict[str, Any], locale: str = "en") -> Message:
    """Text and blocks of one digest (data as produced by core.notify.digest.digest_data)."""
    cur = data.get("currency") or "USD"
    totals = data["totals"]
    start = datetime.fromisoformat(data["start"])
    last = datetime.fromisoformat(data["end"]) - timedelta(days=1)
    approx = "≈ " if data.get("approx") else ""

    def _m(value: Any, currency: str, locale: str) -> str:  # figures in the base currency
        return approx + money(_d(value), currency, locale, compact=False)

    title = (f"Pipeline digest · {escape(data['team_name'])} · week of {start.strftime('%a %-d %b')} – "
             f"{last.strftime('%a %-d %b %Y')}")
    blocks: list[Block] = [header(cut(title, 150))]
    open_line = (
        f"*Open pipeline:* {_plural(int(totals['open_count']), 'deal')} · {_m(totals['open_amount'], cur, locale)} "
        f"({_delta(totals['open_amount'], totals['prev_amount'], cur, locale)} vs last week) · weighted "
        f"{_m(totals['open_weighted'], cur, locale)} "
        f"({_delta(totals['open_weighted'], totals['prev_weighted'], cur, locale)})"
    )
    stage_lines = [
        f"• *{escape(s['stage'])}* ({s['probability']}%): {s['count']}{_count_delta(s['count'], s['prev_count'])}"
        f" · {_m(s['amount'], cur, locale)} ({_delta(s['amount'], s['prev_amount'], cur, locale)})"
        f" · weighted {_m(s['weighted'], cur, locale)}"
        for s in data["stages"]
    ]
    blocks.append(section(open_line + "\n" + "\n".join(stage_lines)))
    new, won, lost = data["new"], data["won"], data["lost"]
    blocks.append(section(
        f"*This week:* new {new[0]} ({_m(new[1], cur, locale)}) · won {won[0]} ({_m(won[1], cur, locale)})"
        f" · lost {lost[0]} ({_m(lost[1], cur, locale)})"
    ))
    if data["moves"]:
        moves = [f"• {escape(m['from_stage'])} → {escape(m['to_stage'])}: {m['count']}" for m in data["moves"][:8]]
        blocks.append(section("*Stage moves*\n" + "\n".join(moves)))
    quota = data.get("quota")
    q_line = f"*{data['quarter']}:* won {_m(data['quarter_won'], cur, locale)}"
    if quota:
        won_pct = (_d(data["quarter_won"]) / _d(quota) * 100).quantize(Decimal("1"))
        landing = _d(totals.get("landing") or _d(data["quarter_won"]) + _d(totals["open_weighted"]))
        land_pct = (landing / _d(quota) * 100).quantize(Decimal("1"))
        q_line += (
            f" of {_m(quota, cur, locale)} quota ({won_pct}%) · with the weighted pipeline "
            f"{_m(landing, cur, locale)} ({land_pct}% of quota)"
        )
    else:
        q_line += f" · weighted open {_m(totals['open_weighted'], cur, locale)} · no quota set (`/salesbot quota`)"
    blocks.append(section(q_line))
    blocks.append(divider())
    risks: tuple[tuple[str, str, Callable[[dict[str, Any]], str]], ...] = (
        ("slipped", "Past their close date", lambda i: f"due {date.fromisoformat(i['expected_close']):%-d %b}"),
        ("stale", "Going stale", lambda i: f"{i['idle_days']} days untouched"),
    )
    for key, label, extra in risks:
        count, amount = data[key]
        if count:
            lines = [_deal_line(i, cur, locale, extra(i)) for i in data[f"{key}_deals"][:LISTED]]
            more = f"\n… and {count - len(lines)} more" if count > len(lines) else ""
            blocks.append(section(f"*{label}: {count}* ({_m(amount, cur, locale)})\n" + "\n".join(lines) + more))
    if data["top_deals"]:
        blocks.append(section("*Top open deals*\n" + "\n".join(_deal_line(i, cur, locale) for i in data["top_deals"])))
    if data["activity"]:
        rows = []
        for rep in data["activity"][:15]:
            who = f"<@{rep['slack_id']}>" if rep.get("slack_id") else escape(rep["name"])
            counts = ", ".join(_plural(int(rep["counts"].get(k, 0)), label) for k, label in KIND_LABELS)
            rows.append(f"• {who}: {counts}")
        blocks.append(section("*Activity this week*\n" + "\n".join(rows)))
    else:
        blocks.append(section("*Activity this week:* nothing logged."))
    note = missing_rates_note(data.get("missing") or {})
    notes = ["The week is Monday to Sunday in your time zone; the pipeline a week ago is rebuilt from each "
             "deal's history."] + ([note] if note else [])
    blocks.append(context(*notes))
    text = (
        f"Pipeline digest for {escape(data['team_name'])}: {totals['open_count']} open deals, "
        f"{_m(totals['open_amount'], cur, locale)}; won {won[0]}, lost {lost[0]} this week"
    )
    return {"text": text, "blocks": blocks[:MAX_MESSAGE_BLOCKS]}


def digest_chart(data: dict[str, Any]) -> bytes:
    """The PNG of the open amount by stage, this week against last week."""
    stages = data["stages"]
    return pipeline_chart(
        [s["stage"] for s in stages],
        [_d(s["amount"]) for s in stages],
        [_d(s["prev_amount"]) for s in stages],
        f"{data['team_name']}: open pipeline by stage",
        data.get("currency") or "USD",
    )


def digest_from_payload(data: dict[str, Any]) -> Message:
    """The outbox renderer: the message plus the chart to upload after it."""
    msg = digest_blocks(data)
    away = away_digest_blocks(data)  # the manager's away reps and their deals going stale
    msg["blocks"] = [*msg["blocks"][:MAX_MESSAGE_BLOCKS - len(away)], *away]
    msg["files"] = [{"content": digest_chart(data), "filename": "pipeline.png", "title": "Pipeline by stage"}]
    return msg


def digest_message(digest: TeamDigest, locale: str) -> Message:
    """`/pipeline digest`: core.notify.digest.digest_for's digest as an ephemeral message."""
    msg = digest_blocks(digest_data(digest), locale)
    return message(msg["text"], msg["blocks"])
