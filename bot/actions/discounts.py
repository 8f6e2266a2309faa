"""Approve and Reject on a discount approval DM, and the Reject form (a required comment).

Listeners are thin: read the request id, call core.notify.discounts (which checks whose turn
it is and applies a decision once), answer the clicker ephemerally. The DM itself is updated
in place through the outbox by core (its buttons replaced by the outcome).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.commands import Respond, answering, request_from
from bot.modals.deal_forms import field_value, metadata_of
from bot.modals.submissions import actor_of_context, submit
from bot.views import discounts as views
from core.errors import InvalidInput
from core.i18n import _
from core.notify import discounts


def register(app: App) -> None:
    """Listen to the approval buttons and the Reject form."""
    app.action(views.APPROVE)(on_approve)
    app.action(views.REJECT)(on_reject)
    app.view(views.REJECT_FORM)(on_reject_form)


def _request_id(raw: object) -> int:
    text = str(raw or "")
    if not text.isdigit():
        raise InvalidInput(_("This button does not name a discount request any more."))
    return int(text)


def _value(body: dict[str, Any]) -> object:
    return ((body.get("actions") or [{}])[0]).get("value")


def on_approve(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    """Approve: the step whose turn it is (the last approval changes the deal's amount)."""
    ack()
    with answering(respond, "discount Approve"):
        req = request_from(context, client, respond, body)
        decision = discounts.approve_discount(req.uow, req.actor, _request_id(_value(body)), now=req.now)
        req.answer(views.decided(decision))


def on_reject(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    """Reject: the form asking why opens when it is the clicker's turn (else they are told why not)."""
    ack()
    with answering(respond, "discount Reject"):
        req = request_from(context, client, respond, body)
        view = discounts.check_turn(req.uow, req.actor, _request_id(_value(body)))
        client.views_open(trigger_id=body.get("trigger_id"), view=views.reject_form(view))


def on_reject_form(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Reject with the comment; a missing or long comment is shown on the field, nothing changes."""
    def work() -> Callable[[], None] | None:
        actor = actor_of_context(context)
        discounts.reject_discount(context["uow"], actor, _request_id(metadata_of(view).get("request_id")),
                                  field_value(view, "comment") or "", now=context["now"])
        return None

    submit(ack, view, "comment", work, "discount Reject form")
