"""Block Kit building blocks shared by every surface, and Slack's limits kept in one place.

Every text that reaches Slack goes through `mrkdwn`/`plain` here, so an over-long title or a
300-deal list is cut ("… and 12 more") instead of being refused by Slack.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.dates import local_now
from core.errors import UnknownUser, UserError
from core.money import format_money

Block = dict[str, Any]
Message = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_OPTION_TEXT = 75
MAX_OPTIONS = 100
MAX_CONTEXT_ELEMENTS = 10
MAX_MESSAGE_TEXT = 3000  # the notification text; Slack allows more, nobody reads more


def cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """User text made safe for mrkdwn: &, < and > would otherwise become links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack's user and channel ids are a letter and at least eight more characters.
_ESCAPED_MENTION = re.compile(r"&lt;([@#][UWC][A-Z0-9]{8,})&gt;")


def escape_keep_mentions(text: str) -> str:
    """Like escape, but a mention of a real Slack id (`<@U0123ABCD>`, `<#C0123ABCD>`) stays one.

    For error messages: core composes them with mentions of the users it names, and they are
    ephemeral, seen only by the person who typed the command (an ephemeral message notifies
    nobody). Broadcasts (`<!channel>`, `<!here>`, `<!subteam^…>`) and links are always escaped.
    """
    return _ESCAPED_MENTION.sub(r"<\1>", escape(text))


def plain(text: str, limit: int = MAX_BUTTON_TEXT) -> dict[str, Any]:
    """A plain_text object cut to `limit`."""
    return {"type": "plain_text", "text": cut(text or " ", limit), "emoji": True}


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    """A mrkdwn text object cut to `limit`."""
    return {"type": "mrkdwn", "text": cut(text or " ", limit)}


def section(text: str, accessory: Block | None = None, block_id: str | None = None) -> Block:
    """A section block."""
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if accessory is not None:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def fields_section(fields: Sequence[str]) -> Block:
    """A section of up to 10 fields."""
    return {"type": "section", "fields": [mrkdwn(f, MAX_FIELD_TEXT) for f in list(fields)[:10]]}


def header(text: str) -> Block:
    """A header block."""
    return {"type": "header", "text": plain(text, MAX_HEADER_TEXT)}


def context(*texts: str) -> Block:
    """A context block of mrkdwn texts."""
    return {"type": "context", "elements": [mrkdwn(t, MAX_FIELD_TEXT) for t in texts[:MAX_CONTEXT_ELEMENTS]]}


def divider() -> Block:
    """A divider block."""
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    """A button element."""
    element: Block = {
        "type": "button",
        "text": plain(text, MAX_BUTTON_TEXT),
        "action_id": action_id,
        "value": cut(value, MAX_BUTTON_VALUE) or "-",
    }
    if style:
        element["style"] = style
    return element


def actions(elements: Sequence[Block], block_id: str | None = None) -> Block:
    """An actions block (up to 25 elements)."""
    block: Block = {"type": "actions", "elements": list(elements)[:25]}
    if block_id:
        block["block_id"] = block_id
    return block


def more_line(count: int, hint: str = "") -> Block:
    """The "… and N more" line under a cut list."""
    return context(f"… and {count} more{(' — ' + hint) if hint else ''}")


def fit(groups: Sequence[Sequence[Block]], room: int, total: int | None = None, hint: str = "") -> list[Block]:
    """Whole groups of blocks (one per item) that fit in `room` blocks, then "and N more".

    `total` is how many items exist when `groups` is already a cut of them (a LIMITed query).
    """
    total = len(groups) if total is None else max(total, len(groups))
    out: list[Block] = []
    shown = 0
    for group in groups:
        left_after = total - shown - 1
        reserve = 1 if left_after > 0 else 0
        if len(out) + len(group) + reserve > room:
            break
        out.extend(group)
        shown += 1
    if shown < total:
        if len(out) + 1 > room and out:
            out.pop()
        out.append(more_line(total - shown, hint))
    return out


def message(text: str, blocks: list[Block] | None = None, *, in_channel: bool = False) -> Message:
    """A response_url / respond() payload: ephemeral unless it is meant for the channel."""
    body: Message = {
        "response_type": "in_channel" if in_channel else "ephemeral",
        "text": cut(text, MAX_MESSAGE_TEXT),
    }
    if blocks:
        body["blocks"] = blocks[:MAX_MESSAGE_BLOCKS]
    return body


def error_message(err: UserError) -> Message:
    """A user error, shown as is (a person core names by id as a mention), ephemeral."""
    if isinstance(err, UnknownUser):
        text = f"<@{err.user_id}> hasn't used salesbot yet."
        return message(text, [section(f":warning: {escape_keep_mentions(text)}")])
    shown = escape_keep_mentions(err.message)  # errors quote what the user typed
    return message(shown, [section(f":warning: {shown}")])


def apology(error_id: str) -> Message:
    """What the user sees when something broke that they could not cause."""
    text = f"Sorry, something went wrong on our side. If it keeps happening, tell your admin: error {error_id}."
    return message(text, [section(f":x: {text}")])


def money(amount: Decimal | None, currency: str, locale: str, compact: bool = False) -> str:
    """An amount for display, or an em dash when there is none."""
    if amount is None:
        return "—"
    return format_money(amount, currency, locale, compact=compact)


def amount_text(amount: Decimal | None, currency: str, locale: str, approx: bool = False,
                compact: bool = False) -> str:
    """A figure in the base currency, marked "≈" when some of it was converted from another currency."""
    text = money(amount, currency, locale, compact=compact)
    return f"≈ {text}" if approx and amount is not None else text


def missing_rates_note(missing: dict[str, int]) -> str | None:
    """The line under figures that left deals out for want of an exchange rate, or None."""
    if not missing:
        return None
    parts = [f"{n} deal{'s' if n != 1 else ''} in {cur}" for cur, n in sorted(missing.items())]
    first = sorted(missing)[0]
    return (f":warning: {', '.join(parts)} left out of the amounts: no exchange rate. "
            f"Add one with `/salesbot rate {first} 1.08` (1 {first} = 1.08 in the base currency).")


def day(d: date | None) -> str:
    """A date as `Fri 27 Nov 2026`."""
    if d is None:
        return "no close date"
    return d.strftime("%a %-d %b %Y")


def when(at: datetime, tz: str) -> str:
    """A moment in the user's zone, e.g. `Mon 23 Nov 14:05`."""
    return local_now(at, tz).strftime("%a %-d %b %H:%M")
