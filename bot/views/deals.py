"""Deal messages: one deal, a list with buttons, a change confirmation, candidates to pick."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.views.common import (
    ACTIVITY_KIND,
    MAX_BUTTON_VALUE,
    MAX_MESSAGE_BLOCKS,
    Block,
    Message,
    actions,
    button,
    context,
    cut,
    day,
    escape,
    fields_section,
    fit,
    header,
    label,
    message,
    money,
    section,
    when,
)
from core import formatting
from core.dates import local_now
from core.deals.deals import ActivityView, DealView
from core.i18n import _, ngettext
from core.tables import DealStatus
from core.text import upper
from core.words import status_word
from core.workspace.users import Actor

SHOW, EDIT, WON, LOST, PICK = "deal_show", "deal_edit", "deal_won", "deal_lost", "deal_pick"
LOG, REMIND, REOPEN = "deal_log", "deal_remind", "deal_reopen"
STATUS_ICON = {DealStatus.OPEN: ":large_blue_circle:", DealStatus.WON: ":trophy:", DealStatus.LOST: ":x:"}


def owner_mention(deal: DealView) -> str:
    """The owner as a mention, or their imported name."""
    if deal.owner_slack_id:
        return f"<@{deal.owner_slack_id}>"
    return escape(deal.owner_name or _("nobody"))


def deal_line(deal: DealView, locale: str | None = None) -> str:
    """`*D-42* Acme renewal · $12,000 · Proposal 50% · closes Fri 27 Nov 2026 · @ana`.

    Figures in the language of the text (core.formatting); `locale` only to force another one.
    """
    parts = [
        f"*{deal.ref}* {escape(cut(deal.title, 120))}",
        money(deal.amount, deal.currency, locale),
        f"{escape(deal.stage)} {formatting.probability(deal.probability, locale)}" if deal.status == DealStatus.OPEN
        else status_word(deal.status.value),
    ]
    if deal.status == DealStatus.OPEN:
        parts.append(_("closes {date}").format(date=day(deal.expected_close)) if deal.expected_close
                     else _("no close date"))
    parts.append(owner_mention(deal))
    return " · ".join(parts)


def deal_buttons(deal: DealView, *, full: bool = False) -> Block:
    """Show / Edit / Won / Lost while open, Reopen once closed; `full` adds Log (and Remind while open)."""
    elements = [button(_("Show"), SHOW, deal.ref), button(_("Edit"), EDIT, deal.ref)]
    if deal.status == DealStatus.OPEN:
        elements += [button(_("Won"), WON, deal.ref, "primary"), button(_("Lost"), LOST, deal.ref, "danger")]
    else:
        elements.append(button(_("Reopen"), REOPEN, deal.ref))
    if full:
        elements.append(button(_("Log activity"), LOG, deal.ref))
        if deal.status == DealStatus.OPEN:
            elements.append(button(_("Remind me"), REMIND, deal.ref))
    return actions(elements)


def deal_list(deals: Sequence[DealView], actor: Actor, title: str, total: int | None = None) -> Message:
    """Open deals with their buttons; cut to Slack's 50 blocks with "and N more"."""
    if not deals:
        text = _("{title}: no open deals. Create one with {command}.").format(
            title=escape(title), command="`/deal new Acme 12k`")
        return message(text, [section(text)])
    total = len(deals) if total is None else total
    count = ngettext("{n} deal", "{n} deals", total).format(n=formatting.number(total))
    head = [section(f"*{escape(title)}* — {count}")]
    room = MAX_MESSAGE_BLOCKS - len(head)
    # Each deal takes at least one block, so no more than `room` of them can be shown: only
    # those are rendered (formatting a thousand amounts to show two dozen is the cost).
    groups = [[section(deal_line(d)), deal_buttons(d)] for d in list(deals)[:room]]
    body = fit(groups, room, total, _("narrow it with {stage} or {closing}").format(stage="stage:", closing="closing:"))
    return message(f"{escape(title)}: {count}", head + body)


def deal_card(deal: DealView, tz: str, activities: Sequence[ActivityView] = (),
              discount_line: str | None = None) -> list[Block]:
    """The blocks of one deal: what it is, where it stands, what happened lately, its buttons.

    Times in `tz`: the reader's own for `/deal show`, the workspace's on a card posted to a channel.
    `discount_line`: a discount waiting for approval (bot/views/discounts.py pending_line).
    """
    blocks: list[Block] = [
        header(f"{deal.ref} {escape(deal.title)}"),
        fields_section(
            [
                "*{}*\n{}".format(_("Amount"), money(deal.amount, deal.currency)),
                "*{}*\n{}".format(_("Weighted"), money(deal.weighted, deal.currency)),
                "*{}*\n{} {} ({})".format(_("Stage"), STATUS_ICON[deal.status], escape(deal.stage),
                                          formatting.probability(deal.probability)),
                "*{}*\n{}".format(_("Owner"), owner_mention(deal)),
                "*{}*\n{}".format(_("Expected close"), day(deal.expected_close)),
                "*{}*\n{}".format(_("Account"), escape(deal.account or "—")),
            ]
        ),
    ]
    if deal.next_step:
        blocks.append(section("*{}* {}".format(_("Next step:"), escape(deal.next_step))))
    if discount_line:
        blocks.append(section(discount_line))
    if deal.status == DealStatus.LOST and deal.lost_reason:
        blocks.append(section("*{}* {}".format(_("Lost because:"), escape(deal.lost_reason))))
    for activity in list(activities)[:5]:
        who = escape(activity.user_name or _("someone"))
        text = f" — {escape(cut(activity.text, 300))}" if activity.text else ""
        did = _("{kind} by {who}").format(kind=label(ACTIVITY_KIND, activity.kind.value), who=who)
        blocks.append(context(f"{when(activity.at, tz)} · {did}{text}"))
    blocks.append(context(_("Last touched {when}").format(when=when(deal.last_touch_at, tz))))
    blocks.append(deal_buttons(deal, full=True))
    return blocks


def deal_shown(deal: DealView, actor: Actor, activities: Sequence[ActivityView] = (),
               discount_line: str | None = None) -> Message:
    """`/deal show`: the deal card as a message (with the discount waiting for approval, if any)."""
    return message(f"{deal.ref} {escape(deal.title)}", deal_card(deal, actor.tz, activities, discount_line))


def deal_changed(deal: DealView, actor: Actor, what: str, *, in_channel: bool = False) -> Message:
    """`D-42 moved to Negotiation · $12,000 · closes Fri 27 Nov 2026`, with the deal's buttons."""
    details = [money(deal.amount, deal.currency)]
    if deal.status == DealStatus.OPEN and deal.expected_close:
        details.append(_("closes {date}").format(date=day(deal.expected_close)))
    text = f"{deal.ref} {escape(what)} · {' · '.join(details)}"
    blocks = [section(f"*{deal.ref}* {escape(cut(deal.title, 150))} {escape(what)} · {' · '.join(details)}"),
              deal_buttons(deal)]
    return message(text, blocks, in_channel=in_channel)


def deal_won(deal: DealView, actor: Actor) -> Message:
    """The channel announcement of a won deal."""
    amount = money(deal.amount, deal.currency)
    won = _("{deal} won by {owner}")
    text = ":trophy: " + won.format(deal=f"{deal.ref} {escape(deal.title)}",
                                    owner=escape(deal.owner_name or _("the team"))) + f" · {amount}"
    blocks = [section(":trophy: " + won.format(deal=f"*{deal.ref}* {escape(cut(deal.title, 150))}",
                                               owner=owner_mention(deal)) + f" · {amount}")]
    return message(text, blocks, in_channel=True)


def _first_upper(text: str) -> str:
    """`call logged on D-1` -> `Call logged on D-1` (Turkish: `ilgi` -> `İlgi`)."""
    return upper(text[:1]) + text[1:]


def activity_logged(activity: ActivityView, actor: Actor) -> Message:
    """`Call logged on D-42: …`."""
    kind = label(ACTIVITY_KIND, activity.kind.value)
    what = _("Note added to {ref}") if activity.kind.value == "note" else _("{kind} logged on {ref}")
    text = _first_upper(what.format(kind=kind, ref=activity.deal_ref))
    body = _first_upper(what.format(kind=kind, ref=f"*{activity.deal_ref}*"))
    body += f": {escape(cut(activity.text, 2500))}" if activity.text else ""
    return message(text, [section(body)])


def acted_on(original_blocks: Sequence[Block], line: str) -> list[Block]:
    """The message a button sat on, without its buttons, with who did what at the end."""
    kept = [b for b in original_blocks if b.get("type") != "actions" and not _is_acted_line(b)]
    room = MAX_MESSAGE_BLOCKS - 1
    last = context(line)
    last["block_id"] = "acted"
    return [*kept[:room], last]


def _is_acted_line(block: Block) -> bool:
    return block.get("block_id") == "acted"


def acted_line(actor: Actor, what: str, at: datetime) -> str:
    """`✅ @ana closed D-42 as won · Mon 23 Nov 14:05`."""
    who = f"<@{actor.slack_id}>" if actor.slack_id else escape(actor.name)
    return f":white_check_mark: {who} {escape(what)} · {when(at, actor.tz)}"


def pick_value(sub: str, ref: str, rest: str) -> str | None:
    """The button value that re-runs `/deal <sub> <ref> <rest>`; None when it would not fit."""
    value = json.dumps({"sub": sub, "ref": ref, "rest": rest}, ensure_ascii=False)
    return value if len(value) <= MAX_BUTTON_VALUE else None


def candidates(prompt: str, deals: Sequence[DealView], actor: Actor, sub: str, rest: str) -> Message:
    """An ambiguous ref: the candidates, each with a button that runs the command on it."""
    blocks: list[Block] = [section(f":mag: {escape(prompt)}")]
    for deal in list(deals)[:10]:
        value = pick_value(sub, deal.ref, rest)
        accessory = button(_("Pick {ref}").format(ref=deal.ref), PICK, value) if value else None
        blocks.append(section(deal_line(deal), accessory=accessory))
    if any(pick_value(sub, d.ref, rest) is None for d in deals):
        blocks.append(context(_("Run the command again with the deal's id, e.g. {command}.").format(
            command=f"`/deal {sub} {deals[0].ref}`")))
    return message(escape(prompt), blocks)


def quiet_note(due_at: datetime, arrives_at: datetime | None, tz: str, now: datetime | None = None) -> str:
    """`quiet hours: it will reach you at 09:00 tomorrow`, when quiet hours move the nudge; else ''."""
    if arrives_at is None or arrives_at <= due_at:
        return ""
    local = local_now(arrives_at, tz)
    today = local_now(now or due_at, tz).date()
    days = (local.date() - today).days
    at = formatting.clock_time(local)
    if days in (0, 1):
        return _("quiet hours: it will reach you at {time} {day}").format(
            time=at, day=formatting.relative_day(local.date(), today))
    return _("quiet hours: it will reach you at {time} on {date}").format(
        time=at, date=formatting.weekday_day(local.date()))


def reminder_set(deal_ref: str | None, due_at: datetime, text: str, actor: Actor,
                 arrives_at: datetime | None = None, now: datetime | None = None) -> Message:
    """`I'll remind you Tue 24 Nov 15:00 about D-42: send the proposal` (and when quiet hours move it)."""
    shown = when(due_at, actor.tz)
    note = quiet_note(due_at, arrives_at, actor.tz, now)
    if deal_ref:
        line = _("I'll remind you {when} about {ref}: {text}").format(
            when=f"*{shown}*", ref=f"*{deal_ref}*", text=escape(cut(text, 2000)))
    else:
        line = _("I'll remind you {when}: {text}").format(when=f"*{shown}*", text=escape(cut(text, 2000)))
    blocks = [section(f":alarm_clock: {line}")]
    if note:
        blocks.append(context(":zzz: " + _("{when} is in your {note}.").format(when=shown, note=note)))
    fallback = _("I'll remind you {when}: {text}").format(when=shown, text=escape(text))
    return message(fallback + (f" ({note})" if note else ""), blocks)


def with_acted_line(body: Message, actor: Actor, what: str, at: datetime) -> Message:
    """`body` with who did what, when, at the end (for a message updated in place)."""
    blocks = list(body.get("blocks") or [])[: MAX_MESSAGE_BLOCKS - 1]
    last = context(acted_line(actor, what, at))
    last["block_id"] = "acted"
    return {**body, "blocks": [*blocks, last]}
