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

from core import formatting
from core.dates import local_now
from core.errors import UnknownUser, UserError
from core.i18n import N_, _, ngettext

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
    """The "… and N more" line under a cut list (`hint`, already translated, after a dash)."""
    more = ngettext("… and {n} more", "… and {n} more", count).format(n=formatting.number(count))
    return context(f"{more} — {hint}" if hint else more)


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
        text = _("{user} hasn't used salesbot yet.").format(user=f"<@{err.user_id}>")
        return message(text, [section(f":warning: {escape_keep_mentions(text)}")])
    shown = escape_keep_mentions(err.message)  # errors quote what the user typed
    return message(shown, [section(f":warning: {shown}")])


def apology(error_id: str) -> Message:
    """What the user sees when something broke that they could not cause."""
    text = _("Sorry, something went wrong on our side. If it keeps happening, tell your admin: error {error_id}."
             ).format(error_id=error_id)
    return message(text, [section(f":x: {text}")])


def money(amount: Decimal | None, currency: str, locale: str | None = None, compact: bool = False) -> str:
    """An amount for display (core.formatting.money), or an em dash when there is none.

    Without `locale`, in the language of the text being built, like every other figure.
    """
    return formatting.money(amount, currency, locale, compact=compact)


def amount_text(amount: Decimal | None, currency: str, locale: str | None = None, approx: bool = False,
                compact: bool = False) -> str:
    """A figure in the base currency, marked "≈" when some of it was converted from another currency."""
    text = money(amount, currency, locale, compact=compact)
    return f"≈ {text}" if approx and amount is not None else text


def missing_rates_note(missing: dict[str, int]) -> str | None:
    """The line under figures that left deals out for want of an exchange rate, or None."""
    if not missing:
        return None
    parts = [ngettext("{n} deal in {currency}", "{n} deals in {currency}", n).format(
        n=formatting.number(n), currency=cur) for cur, n in sorted(missing.items())]
    first = sorted(missing)[0]
    example = formatting.number(Decimal("1.08"))
    return ":warning: " + _(
        "{deals} left out of the amounts: no exchange rate. Add one with {command} "
        "(1 {currency} = {rate} in the base currency)."
    ).format(deals=", ".join(parts), command=f"`/salesbot rate {first} 1.08`", currency=first, rate=example)


def day(d: date | None) -> str:
    """A date as `Fri 27 Nov 2026` / `27 Kasım 2026 Cuma` (core.formatting.day)."""
    if d is None:
        return _("no close date")
    return formatting.day(d)


def when(at: datetime, tz: str) -> str:
    """A moment in the user's zone, e.g. `Mon 23 Nov 14:05` / `23 Kasım Pzt 14:05`."""
    return formatting.moment(local_now(at, tz))


# Activity kinds are stored in English (data): shown through these, translated.
ACTIVITY_KIND = {"call": N_("call"), "email": N_("email"), "meeting": N_("meeting"), "demo": N_("demo"),
                 "proposal": N_("proposal"), "note": N_("note")}


def label(words: dict[str, str], value: str) -> str:
    """The translated word for an enum value (the value itself when it has none)."""
    word = words.get(str(value))
    return _(word) if word else str(value)


def activity_count(kind: str, n: int) -> str:
    """`3 calls` / `3 arama`, for each kind of activity."""
    forms = {
        "call": lambda: ngettext("{n} call", "{n} calls", n),
        "email": lambda: ngettext("{n} email", "{n} emails", n),
        "meeting": lambda: ngettext("{n} meeting", "{n} meetings", n),
        "demo": lambda: ngettext("{n} demo", "{n} demos", n),
        "proposal": lambda: ngettext("{n} proposal", "{n} proposals", n),
        "note": lambda: ngettext("{n} note", "{n} notes", n),
    }
    form = forms.get(kind)
    return form().format(n=formatting.number(n)) if form else f"{formatting.number(n)} {kind}"

