"""Discount approvals: the approver's DM (Approve / Reject), its reminder, the requester's outcome,
the Reject form, and the pending line on a deal's card.

The DMs render the plain data core.notify.discounts stored in the outbox (view_data), so they
read the same whenever they are delivered; a decided request renders without buttons, with
who decided what (the DM is updated in place through the outbox). The buttons carry the
request id; bot/actions/discounts.py handles them.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from bot.views.common import (
    MAX_MESSAGE_TEXT,
    Block,
    Message,
    actions,
    button,
    context,
    cut,
    escape,
    message,
    money,
    plain,
    section,
)
from core import formatting
from core.i18n import _
from core.notify.discounts import MAX_COMMENT, DiscountDecision, DiscountView, percent_text, view_data

APPROVE, REJECT, REJECT_FORM = "discount_approve", "discount_reject", "discount_reject_form"
BUTTONS_BLOCK = "discount_actions"


def percent(value: Decimal | str) -> str:
    """`15 %` / `%15`, `12.5 %` / `%12,5` (core.notify.discounts.percent_text)."""
    return percent_text(value)


def _who(slack_id: str | None, name: str | None = None) -> str:
    return f"<@{slack_id}>" if slack_id else escape(name or _("someone"))


def _waiting_on(data: dict[str, Any]) -> str:
    waiting = [f"<@{u}>" for u in data.get("waiting_on") or []]
    if data.get("step") == "admin":
        return _("an admin ({admins})").format(admins=", ".join(waiting)) if waiting else _("an admin")
    return ", ".join(waiting) or _("the manager")


def _summary(data: dict[str, Any]) -> str:
    """`*D-42* Acme renewal: 15 % off (−$1,500.00), $10,000.00 → $8,500.00`."""
    cur = data["currency"]
    return _("*{ref}* {title}: {percent} off ({off}), {old} → {new}").format(
        ref=data["deal_ref"], title=escape(cut(data.get("deal_title") or "", 150)), percent=percent(data["percent"]),
        off=money(Decimal(data["discount"]), cur), old=money(Decimal(data["old_amount"]), cur),
        new=money(Decimal(data["new_amount"]), cur))


def _outcome(data: dict[str, Any]) -> str:
    by = _who(data.get("decided_by"))
    status = data.get("status")
    if status == "approved" and data.get("step") == "manager" and data.get("needs_admin"):
        return ":white_check_mark: " + _("Approved by {who}; an admin decides next.").format(who=by)
    if status == "approved":
        return ":white_check_mark: " + _("Approved by {who}; the deal's amount is now {amount}.").format(
            who=by, amount=money(Decimal(data["new_amount"]), data["currency"]))
    if status == "rejected":
        return ":x: " + _("Rejected by {who}: {comment}").format(who=by, comment=escape(data.get("comment") or ""))
    if status == "expired":
        return ":hourglass: " + _("Expired: nobody decided within 7 days.")
    if status == "withdrawn":
        return ":heavy_minus_sign: " + _("Withdrawn: {ref} was closed before anyone decided.").format(
            ref=data["deal_ref"])
    return ""


def _request_blocks(data: dict[str, Any], heading: str) -> list[Block]:
    lines = [f"{heading}\n{_summary(data)}",
             _("Asked by {who}").format(who=_who(data.get("requested_by"), data.get("requested_by_name")))]
    if data.get("reason"):
        lines.append(_("Reason: {reason}").format(reason=escape(cut(data["reason"], 500))))
    blocks: list[Block] = [section("\n".join(lines))]
    if data.get("step") == "admin":
        blocks.append(context(_("Above the manager's limit (or no manager to ask): an admin decides.")))
    elif data.get("needs_admin"):
        blocks.append(context(_("Above the manager's limit: after you, an admin decides.")))
    return blocks


def _buttons(data: dict[str, Any]) -> Block:
    rid = str(data["request_id"])
    return actions([button(_("Approve"), APPROVE, rid, "primary"), button(_("Reject"), REJECT, rid, "danger")],
                   block_id=f"{BUTTONS_BLOCK}:{rid}")


def ask_message(data: dict[str, Any]) -> dict[str, Any]:
    """The approver's DM: the request with Approve and Reject; once decided, the outcome instead."""
    blocks = _request_blocks(data, ":money_with_wings: *" + _("Discount approval") + "*")
    outcome = _outcome(data) if data.get("status") != "pending" else ""
    blocks.append({**context(outcome), "block_id": "decided"} if outcome else _buttons(data))
    text = _("Discount approval: {ref}, {percent} off").format(ref=data["deal_ref"], percent=percent(data["percent"]))
    return {"text": cut(text, MAX_MESSAGE_TEXT), "blocks": blocks}


def reminder_message(data: dict[str, Any]) -> dict[str, Any]:
    """The one reminder to the approver whose turn it is (buttons again: it may be easier to find)."""
    blocks = _request_blocks(data, ":alarm_clock: *" + _("Still waiting on you: a discount approval") + "*")
    blocks.append(context(_("It expires {when} if nobody decides.").format(
        when=formatting.day(_date(data["expires_at"])))))
    blocks.append(_buttons(data))
    text = _("Reminder: discount approval for {ref}").format(ref=data["deal_ref"])
    return {"text": cut(text, MAX_MESSAGE_TEXT), "blocks": blocks}


def outcome_message(data: dict[str, Any]) -> dict[str, Any]:
    """The requester hears how their request ended."""
    status = data.get("status")
    heading = {"approved": _("Your discount was approved"), "rejected": _("Your discount was rejected"),
               "expired": _("Your discount request expired"),
               "withdrawn": _("Your discount request was withdrawn")}.get(str(status), _("Your discount request"))
    blocks = [section(f"*{heading}*\n{_summary(data)}"), context(_outcome(data))]
    if status == "expired":
        blocks.append(context(_("Ask again with {command} if it still matters.").format(
            command=f"`/deal discount {data['deal_ref']} …`")))
    text = f"{heading}: {data['deal_ref']}, {percent(data['percent'])}"
    return {"text": cut(text, MAX_MESSAGE_TEXT), "blocks": blocks}


def _date(iso: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(iso).date()


def requested(view: DiscountView) -> Message:
    """The requester's answer: asked, and who decides."""
    data = view_data(view)
    text = _("Discount asked: {summary}. Waiting on {who}.").format(summary=_summary(data), who=_waiting_on(data))
    return message(text, [section(":hourglass_flowing_sand: " + text),
                          context(_("The amount changes only when it is approved; it expires in 7 days."))])


def decided(decision: DiscountDecision) -> Message:
    """The approver's answer to their click or their Reject form."""
    data = view_data(decision.request)
    if decision.outcome == "advanced":
        text = _("Approved. {ref} now waits on {who}.").format(ref=data["deal_ref"], who=_waiting_on(data))
    elif decision.outcome == "approved":
        text = _("Approved. {ref} is now {amount}; {who} is told.").format(
            ref=data["deal_ref"], amount=money(Decimal(data["new_amount"]), data["currency"]),
            who=_who(data.get("requested_by"), data.get("requested_by_name")))
    else:
        text = _("Rejected. {who} is told why.").format(
            who=_who(data.get("requested_by"), data.get("requested_by_name")))
    return message(text, [section(text)])


def pending_line(view: DiscountView) -> str:
    """The line a deal's card shows while a discount waits: how much, asked by whom, waiting on whom."""
    return pending_line_of(view_data(view))


def pending_line_of(data: dict[str, Any]) -> str:
    """pending_line from the plain data a posted card stores (core.notify.discounts.view_data)."""
    return ":hourglass_flowing_sand: " + _("Discount {percent} ({off}) asked by {who}, waiting on {approver}").format(
        percent=percent(Decimal(data["percent"])), off=money(Decimal(data["discount"]), data["currency"]),
        who=_who(data.get("requested_by"), data.get("requested_by_name")), approver=_waiting_on(data))


def reject_form(view: DiscountView) -> Block:
    """The Reject form: a required comment for the requester."""
    data = view_data(view)
    element: Block = {"type": "plain_text_input", "action_id": "value", "multiline": True,
                      "max_length": MAX_COMMENT, "min_length": 1}
    blocks = [
        section(_summary(data)),
        {"type": "input", "block_id": "comment", "label": plain(_("Why? The requester reads this")),
         "element": element},
    ]
    return {
        "type": "modal", "callback_id": REJECT_FORM, "title": plain(_("Reject discount"), 24),
        "submit": plain(_("Reject"), 24), "close": plain(_("Cancel"), 24),
        "private_metadata": json.dumps({"request_id": view.id}),
        "blocks": blocks,
    }
