"""The deal modals as Block Kit views, and reading their submitted values back.

Each input's block_id is the name of the field it holds, so a core InvalidInput(field=...)
maps straight onto `response_action: errors` keyed by block_id.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.views.common import MAX_OPTION_TEXT, MAX_OPTIONS, Block, cut, escape, plain, section
from core.deals.deals import DealView
from core.errors import InvalidInput
from core.i18n import N_, _, pgettext
from core.money import format_money
from core.tables import ActivityKind

NEW_DEAL, EDIT_DEAL, CLOSE_WON, CLOSE_LOST, LOG_ACTIVITY, SET_REMINDER = (
    "deal_new",
    "deal_edit_form",
    "deal_won_form",
    "deal_lost_form",
    "deal_log_form",
    "deal_remind_form",
)
LOGGABLE = ("call", "email", "meeting", "demo", "proposal", "note")
LOGGABLE_NAMES = {"call": N_("Call"), "email": N_("Email"), "meeting": N_("Meeting"), "demo": N_("Demo"),
                  "proposal": N_("Proposal"), "note": N_("Note")}
AMOUNT_HINT = N_("12k, $12,000 or 12000 EUR")
# Which block shows a core error about each field (core names -> our block ids).
FIELD_BLOCKS = {"title": "title", "amount": "amount", "stage": "stage", "expected_close": "close",
                "close": "close", "owner": "owner", "account": "account", "contact": "contact",
                "next_step": "next_step", "reason": "reason", "lost_reason": "reason", "kind": "kind",
                "text": "text", "due_at": "when", "when": "when", "source": "source"}


def text_input(block_id: str, label: str, *, initial: str | None = None, optional: bool = True,
                placeholder: str = "", multiline: bool = False, max_length: int = 500) -> Block:
    """A plain-text input block whose block_id is the field's name."""
    element: Block = {"type": "plain_text_input", "action_id": "value", "multiline": multiline,
                      "max_length": max_length}
    if initial:
        element["initial_value"] = cut(initial, max_length)
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return {"type": "input", "block_id": block_id, "label": plain(label, 2000), "optional": optional,
            "element": element}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, MAX_OPTION_TEXT), "value": cut(value, 150)}


def select_input(block_id: str, label: str, options: Sequence[tuple[str, str]], initial: str | None = None,
            optional: bool = False) -> Block:
    """A static select input block (at most 100 options)."""
    opts = [_option(text, value) for text, value in list(options)[:MAX_OPTIONS]]
    element: Block = {"type": "static_select", "action_id": "value", "options": opts}
    chosen = next((o for o in opts if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return {"type": "input", "block_id": block_id, "label": plain(label, 2000), "optional": optional,
            "element": element}


def _date_input(block_id: str, label: str, initial: date | None) -> Block:
    element: Block = {"type": "datepicker", "action_id": "value"}
    if initial is not None:
        element["initial_date"] = initial.isoformat()
    return {"type": "input", "block_id": block_id, "label": plain(label), "optional": True, "element": element}


def _user_input(block_id: str, label: str, initial: str | None) -> Block:
    element: Block = {"type": "users_select", "action_id": "value"}
    if initial:
        element["initial_user"] = initial
    return {"type": "input", "block_id": block_id, "label": plain(label), "optional": True, "element": element}


def modal(callback_id: str, title: str, submit: str, blocks: list[Block], metadata: dict[str, Any]) -> Block:
    """A modal view with our private_metadata."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain(_("Cancel"), 24),
        "private_metadata": cut(json.dumps(metadata), 3000),
        "blocks": blocks,
    }


def metadata_of(view: dict[str, Any]) -> dict[str, Any]:
    """The private_metadata a modal was opened with ({} when missing or unreadable)."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def new_deal_view(stages: Sequence[str], owner_slack_id: str | None, channel_id: str | None, *,
                  title: str | None = None, first_note: str | None = None) -> Block:
    """The New deal modal (from a message: its first line as the title, the message as the first note)."""
    blocks = [
        text_input("title", _("Title"), initial=title, optional=False, placeholder=_("Acme renewal"), max_length=200),
        text_input("amount", _("Amount"), placeholder=_(AMOUNT_HINT), max_length=64),
        _date_input("close", _("Expected close"), None),
        _user_input("owner", _("Owner"), owner_slack_id),
        text_input("account", _("Account"), max_length=200),
        text_input("next_step", _("Next step"), max_length=500),
    ]
    if stages:  # a select needs at least one option
        blocks.insert(2, select_input("stage", _("Stage"), [(s, s) for s in stages], initial=stages[0]))
    meta: dict[str, Any] = {"channel": channel_id}
    if first_note:
        meta["first_note"] = first_note
    return modal(NEW_DEAL, _("New deal"), _("Create"), blocks, meta)


def edit_deal_view(deal: DealView, locale: str, channel_id: str | None) -> Block:
    """The Edit deal modal, filled with the deal's current values."""
    amount = format_money(deal.amount, deal.currency, locale) if deal.amount is not None else None
    blocks = [
        text_input("title", _("Title"), initial=deal.title, optional=False, max_length=200),
        text_input("amount", _("Amount"), initial=amount, placeholder=_(AMOUNT_HINT), max_length=64),
        _date_input("close", _("Expected close"), deal.expected_close),
        _user_input("owner", _("Owner"), deal.owner_slack_id),
        text_input("account", _("Account"), initial=deal.account, max_length=200),
        text_input("contact", _("Contact"), initial=deal.contact, max_length=200),
        text_input("next_step", _("Next step"), initial=deal.next_step, max_length=500),
    ]
    return modal(EDIT_DEAL, cut(_("Edit {ref}").format(ref=deal.ref), 24), _("Save"), blocks,
                 {"ref": deal.ref, "channel": channel_id})


def close_won_view(deal: DealView, locale: str, channel_id: str | None) -> Block:
    """The Close-won modal (final amount)."""
    amount = format_money(deal.amount, deal.currency, locale) if deal.amount is not None else None
    blocks = [
        section(_("Close {deal} as won.").format(deal=f"*{deal.ref}* {escape(cut(deal.title, 200))}")),
        text_input("amount", _("Final amount"), initial=amount, max_length=64),
    ]
    return modal(CLOSE_WON, cut(_("Won {ref}").format(ref=deal.ref), 24), _("Close as won"), blocks,
                  {"ref": deal.ref, "channel": channel_id})


def close_lost_view(deal: DealView, channel_id: str | None, message_ts: str | None = None) -> Block:
    """The Close-lost modal: the reason is required."""
    blocks = [
        section(_("Close {deal} as lost.").format(deal=f"*{deal.ref}* {escape(cut(deal.title, 200))}")),
        text_input("reason", _("Why was it lost?"), optional=False, multiline=True,
                    placeholder=_("Went with a competitor; no budget this year…"), max_length=500),
    ]
    return modal(CLOSE_LOST, cut(_("Lost {ref}").format(ref=deal.ref), 24), _("Close as lost"), blocks,
                  {"ref": deal.ref, "channel": channel_id, "ts": message_ts})


def log_activity_view(deal: DealView, channel_id: str | None) -> Block:
    """The Log activity modal."""
    blocks = [
        select_input("kind", _("What happened?"), [(_(LOGGABLE_NAMES[k]), k) for k in LOGGABLE], initial="call"),
        text_input("text", _("Notes"), multiline=True, max_length=3000),
    ]
    return modal(LOG_ACTIVITY, cut(_("Log on {ref}").format(ref=deal.ref), 24), pgettext("button", "Log"), blocks,
                  {"ref": deal.ref, "channel": channel_id})


def reminder_view(deal: DealView, channel_id: str | None) -> Block:
    """The Set reminder modal."""
    blocks = [
        text_input("when", _("When?"), optional=False, placeholder=_("tomorrow 3pm, fri, in 3 days"), max_length=100),
        text_input("text", _("Remind me to…"), max_length=500),
    ]
    return modal(SET_REMINDER, cut(_("Remind {ref}").format(ref=deal.ref), 24), _("Set reminder"), blocks,
                  {"ref": deal.ref, "channel": channel_id})


# -- reading a submitted view ----------------------------------------------------------------


def field_value(view: dict[str, Any], block_id: str) -> str | None:
    """The value of one input (text, select, date, user, time, number); None when empty."""
    values = ((view.get("state") or {}).get("values") or {}).get(block_id) or {}
    element = values.get("value") or next(iter(values.values()), None) or {}
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons"):
        option = element.get("selected_option") or {}
        value = option.get("value")
    elif kind == "datepicker":
        value = element.get("selected_date")
    elif kind == "users_select":
        value = element.get("selected_user")
    elif kind == "conversations_select" or kind == "channels_select":
        value = element.get("selected_conversation") or element.get("selected_channel")
    elif kind == "timepicker":
        value = element.get("selected_time")
    else:
        value = element.get("value")
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def read_date(view: dict[str, Any], block_id: str) -> date | None:
    """A datepicker's date, or None."""
    value = field_value(view, block_id)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("Pick a date from the calendar."), field=block_id) from None


def block_for(field: str | None, default: str) -> str:
    """The block a core error about `field` is shown on."""
    return FIELD_BLOCKS.get(field or "") or field or default


def kind_of(value: str | None) -> ActivityKind:
    """The activity kind picked in the modal."""
    try:
        return ActivityKind(value or "")
    except ValueError:
        raise InvalidInput(_("Pick what happened: call, email, meeting, demo, proposal or note."),
                           field="kind") from None
