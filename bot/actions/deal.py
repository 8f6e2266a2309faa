"""Buttons on deal messages: Show, Edit, Won, Lost, Reopen, and picking a deal for an ambiguous ref.

The message a button sat on is updated in place (its buttons replaced by who did what,
when), so the conversation shows the current truth. Buttons on the App Home have no
message to update: the answer goes to the user as a DM there.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.commands import Request, Respond, answering, request_from
from bot.home import refresh_homes
from bot.modals import deal_forms as forms
from bot.views import deals as views
from bot.views import discounts as discount_views
from bot.views.common import Message
from core.deals import deals
from core.deals.queries import get_changeable_deal
from core.errors import InvalidInput
from core.i18n import _
from core.notify import discounts


def register(app: App) -> None:
    """Listen to the deal buttons."""
    app.action(views.SHOW)(on_show)
    app.action(views.EDIT)(on_edit)
    app.action(views.WON)(on_won)
    app.action(views.LOST)(on_lost)
    app.action(views.PICK)(on_pick)
    app.action(views.LOG)(on_log)
    app.action(views.REMIND)(on_remind)
    app.action(views.REOPEN)(on_reopen)


def _reply(body: dict[str, Any], client: WebClient, respond: Respond) -> Respond:
    """respond() when the button sat on a message, else a DM to the user (App Home)."""
    if body.get("response_url"):
        return respond
    user = str((body.get("user") or {}).get("id") or "")

    def dm(**payload: Any) -> None:
        client.chat_postMessage(channel=user, **{k: v for k, v in payload.items() if k in ("text", "blocks")})

    return dm


def _request(context: BoltContext, client: WebClient, respond: Respond, body: dict[str, Any]) -> Request:
    req = request_from(context, client, respond, body)
    req.trigger_id = body.get("trigger_id")
    return req


def _value(body: dict[str, Any]) -> str:
    action = (body.get("actions") or [{}])[0]
    return str(action.get("value") or "")


def _acted(body: dict[str, Any], req: Request, what: str) -> Message:
    """The acted-on message: its blocks without buttons, plus who did what, when."""
    original = (body.get("message") or {}).get("blocks") or []
    line = views.acted_line(req.actor, what, req.now)
    blocks = views.acted_on(original, line)
    return {"text": line, "blocks": blocks}


def _updating_this_message(view: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Let the modal's submission update the message the button sat on (via its response_url)."""
    if body.get("response_url"):
        meta = forms.metadata_of(view)
        meta["response_url"] = body["response_url"]
        view["private_metadata"] = json.dumps(meta)
    return view


def on_show(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    """Show: the deal card."""
    ack()
    reply = _reply(body, client, respond)
    with answering(reply, "deal Show button"):
        req = _request(context, client, reply, body)
        deal = deals.get_deal(req.uow, req.actor, _value(body))
        activities = deals.deal_activities(req.uow, req.actor, deal.ref, limit=5)
        pending = discounts.pending_discount_of(req.uow, deal.id)
        req.answer(views.deal_shown(deal, req.actor, activities,
                                    discount_line=discount_views.pending_line(pending) if pending else None))


def on_edit(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    """Edit: the Edit deal modal."""
    ack()
    reply = _reply(body, client, respond)
    with answering(reply, "deal Edit button"):
        req = _request(context, client, reply, body)
        deal = get_changeable_deal(req.uow, req.actor, _value(body))
        view = _updating_this_message(forms.edit_deal_view(deal, req.actor.locale, req.channel_id), body)
        client.views_open(trigger_id=req.trigger_id, view=view)


def on_won(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    """Won: close it and update the message in place."""
    ack()
    reply = _reply(body, client, respond)
    with answering(reply, "deal Won button"):
        req = _request(context, client, reply, body)
        deal = deals.close_deal_won(req.uow, req.actor, _value(body), now=req.now)
        if body.get("response_url"):
            respond(**_acted(body, req, _("closed {ref} as won").format(ref=deal.ref)), replace_original=True)
        reply(**views.deal_won(deal, req.actor))
        refresh_homes(req.homes, client, req.uow, req.actor, req.now, deal.owner_slack_id)


def on_reopen(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    """Reopen: the closed deal is open again; the message is updated in place."""
    ack()
    reply = _reply(body, client, respond)
    with answering(reply, "deal Reopen button"):
        req = _request(context, client, reply, body)
        deal = deals.reopen_deal(req.uow, req.actor, _value(body), now=req.now)
        if body.get("response_url"):
            respond(**_acted(body, req, _("reopened {ref}").format(ref=deal.ref)), replace_original=True)
        reply(**views.deal_changed(deal, req.actor, _("reopened in {stage}").format(stage=deal.stage)))
        refresh_homes(req.homes, client, req.uow, req.actor, req.now, deal.owner_slack_id)


def on_lost(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    """Lost: the Close-lost modal (it updates the message on submit)."""
    ack()
    reply = _reply(body, client, respond)
    with answering(reply, "deal Lost button"):
        req = _request(context, client, reply, body)
        deal = get_changeable_deal(req.uow, req.actor, _value(body), must_be_open=True)
        view = _updating_this_message(forms.close_lost_view(deal, req.channel_id), body)
        client.views_open(trigger_id=req.trigger_id, view=view)


def on_pick(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    """A candidate of an ambiguous ref was picked: run the command again on that deal."""
    ack()
    reply = _reply(body, client, respond)

    def replace(**payload: Any) -> None:
        # The candidates message becomes the answer, unless the answer is for the channel.
        if payload.get("response_type") != "in_channel" and body.get("response_url"):
            payload["replace_original"] = True
        reply(**payload)

    with answering(reply, "deal pick button"):
        from bot.commands.deal import run

        try:
            picked = json.loads(_value(body))
            text = f"{picked['sub']} {picked['ref']} {picked.get('rest', '')}".strip()
        except (ValueError, KeyError, TypeError):
            raise InvalidInput(_("That button is out of date; run the command again.")) from None
        run(_request(context, client, replace, body), text)


def _opens_form(what: str, form: Callable[[deals.DealView, str | None], dict[str, Any]]) -> Callable[..., None]:
    """A button that opens `form` for a deal the user may change (Log activity, Remind me)."""
    def listener(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
        ack()
        reply = _reply(body, client, respond)
        with answering(reply, f"deal {what} button"):
            req = _request(context, client, reply, body)
            deal = get_changeable_deal(req.uow, req.actor, _value(body))
            client.views_open(trigger_id=req.trigger_id, view=form(deal, req.channel_id))

    listener.__doc__ = f"{what}: its modal, for a deal the user may change."
    return listener


on_log = _opens_form("Log", forms.log_activity_view)
on_remind = _opens_form("Remind", forms.reminder_view)
