"""Buttons on hot-lead alerts and lead lists: Claim, Assign (pick a person), Not a fit.

First click wins (core.leads.leads.claim_lead is one conditional UPDATE): the winner's click
updates the alert in place ("✅ @ana claimed it · Mon 14:05"); every later clicker gets a
polite ephemeral "already claimed by @x" and the message is left as the winner made it.

"Not a fit" opens a modal asking why; on submit the lead is disqualified and the alert shows
who did it with an Undo button. Undo (only by that person, within a minute of `now`) puts the
lead back as it was and brings the alert's buttons back.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.commands import Request, Respond, answering, request_from
from bot.modals.deal_forms import field_value, metadata_of
from bot.modals.submissions import actor_of_context, submit
from bot.views import leads as views
from bot.views.common import escape, when
from core.errors import InvalidInput
from core.i18n import N_, _
from core.leads import alerts, leads
from core.workspace.admin import member_id
from core.workspace.users import Actor

LEAD_STATUS_NAMES = {"new": N_("new"), "assigned": N_("assigned"), "working": N_("working"),
                     "converted": N_("converted"), "disqualified": N_("disqualified")}

logger = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(views.CLAIM)(on_claim)
    app.action(views.ASSIGN)(on_assign)
    app.action(views.NOT_A_FIT)(on_not_a_fit)
    app.view(views.NOT_A_FIT_FORM)(on_not_a_fit_reason)
    app.action(views.UNDO_NOT_A_FIT)(on_undo_not_a_fit)


def _lead_id(body: dict[str, Any]) -> int:
    action = (body.get("actions") or [{}])[0]
    raw = str(action.get("value") or action.get("block_id") or "").rsplit(":", 1)[-1]
    if not raw.isdigit():
        raise InvalidInput(_("This button lost track of its lead; use /lead list hot."))
    return int(raw)


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
    return channel, ts


def _tell(req: Request, body: dict[str, Any], text: str) -> None:
    """An ephemeral note to the clicker (a DM when the click did not come from a channel message)."""
    channel, _ts = _where(body)
    user = req.actor.slack_id or (body.get("user") or {}).get("id")
    if channel and user:
        req.client.chat_postEphemeral(channel=channel, user=user, text=text)
    elif user:
        req.client.chat_postMessage(channel=user, text=text)


def _update(req: Request, body: dict[str, Any], lead_id: int, what: str) -> None:
    """The alert updated in place: this lead's buttons replaced by who did what, when."""
    channel, ts = _where(body)
    original = (body.get("message") or {}).get("blocks") or []
    if not channel or not ts or not original:
        return
    who = f"<@{req.actor.slack_id}>" if req.actor.slack_id else escape(req.actor.name)
    line = f"{who} {what} · {when(req.now, req.actor.tz)}"
    text = (body.get("message") or {}).get("text") or _("Lead")
    blocks = views.acted_on_lead(original, lead_id, line)
    if (body.get("container") or {}).get("is_ephemeral"):
        # A /lead list answer only its reader sees: chat.update cannot reach it, its response_url can.
        req.answer({"text": text, "blocks": blocks}, replace_original=True)
        return
    req.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)


def on_claim(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    with answering(respond, "lead Claim button"):
        req = request_from(context, client, respond, body)
        lead_id = _lead_id(body)
        result = leads.claim_lead(req.uow, req.actor, lead_id, now=req.now)
        lead = result.lead
        if result.won:
            _update(req, body, lead_id, ":white_check_mark: " + _("claimed {ref}").format(ref=lead.ref))
            _tell(req, body, _("{lead} is yours. `{command}` for the details.").format(
                lead=f"{lead.ref} {escape(lead.name)}", command=_("/lead show {ref}").format(ref=lead.ref)))
        elif lead.owner_id == req.actor.user_id:
            _tell(req, body, _("You already have {lead}.").format(lead=f"{lead.ref} {escape(lead.name)}"))
        else:
            owner = f"<@{lead.owner_slack_id}>" if lead.owner_slack_id else escape(lead.owner_name or _("someone"))
            _tell(req, body, _("Sorry, {lead} was already claimed by {owner}.").format(
                lead=f"{lead.ref} {escape(lead.name)}", owner=owner))


def on_assign(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    ack()
    with answering(respond, "lead Assign picker"):
        req = request_from(context, client, respond, body)
        lead_id = _lead_id(body)
        action = (body.get("actions") or [{}])[0]
        slack_id = action.get("selected_user")
        if not slack_id:
            raise InvalidInput(_("Pick the person to assign the lead to."))
        ref = leads.lead_ref(req.uow, req.actor.workspace_id, lead_id)
        user_id = member_id(req.uow, req.actor, slack_id, req.now)
        lead = leads.assign_lead(req.uow, req.actor, ref, user_id, now=req.now)
        _update(req, body, lead_id, ":arrow_right: " + _("assigned {ref} to {person}").format(
            ref=lead.ref, person=f"<@{slack_id}>"))


def on_not_a_fit(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    """Ask why (a modal), if the clicker may turn this lead down; nothing changes until they say."""
    ack()
    with answering(respond, "lead Not a fit button"):
        req = request_from(context, client, respond, body)
        lead = leads.disqualify_check(req.uow, req.actor, _lead_id(body))
        channel, ts = _where(body)
        client.views_open(trigger_id=body.get("trigger_id"), view=views.not_a_fit_view(lead, channel, ts))


def _acted_line(actor: Actor, what: str, now: datetime) -> str:
    who = f"<@{actor.slack_id}>" if actor.slack_id else actor.name
    return f"{who} {what} · {when(now, actor.tz)}"


def on_not_a_fit_reason(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """The reason submitted: disqualify the lead, then show who did it on the alert, with Undo."""
    meta = metadata_of(view)

    def work() -> Any:
        actor, now, uow = actor_of_context(context), context["now"], context["uow"]
        lead_id = meta.get("lead_id")
        if not isinstance(lead_id, int):
            raise InvalidInput(_("This form lost track of its lead; press Not a fit again."), field="reason")
        ref = leads.lead_ref(uow, actor.workspace_id, lead_id)
        lead = leads.disqualify_lead(uow, actor, ref, field_value(view, "reason"), now=now, require_reason=True)
        channel, ts = meta.get("channel"), meta.get("ts")
        if not channel or not ts:
            return None
        with uow.read() as session:
            card = alerts.current_payload(session, actor.workspace_id, {"view": alerts.HOT_KIND, "data": {
                "lead_id": lead.id, "hot_since": lead.hot_since.isoformat() if lead.hot_since else None}})["data"]
        shown = views.hot_lead_message(card)
        line = _acted_line(actor, ":x: " + _("marked {ref} not a fit: {reason}").format(
            ref=lead.ref, reason=escape(lead.disqualify_reason or "")), now)
        blocks = views.undoable_card(shown["blocks"], lead.id, line)
        return lambda: client.chat_update(channel=channel, ts=ts, text=shown["text"], blocks=blocks)

    submit(ack, view, "reason", work, "lead Not a fit modal")


def on_undo_not_a_fit(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond,
                      context: BoltContext) -> None:
    """Undo "Not a fit" (who did it, within a minute): the lead as it was, the alert's buttons back."""
    ack()
    with answering(respond, "lead Undo button"):
        req = request_from(context, client, respond, body)
        lead_id = _lead_id(body)
        channel, ts = _where(body)
        original = (body.get("message") or {}).get("blocks") or []
        try:
            lead = leads.undo_disqualify(req.uow, req.actor, lead_id, now=req.now)
        except leads.TooLateToUndo:
            if channel and ts and original:  # the card stops offering what can no longer be done
                text = (body.get("message") or {}).get("text") or _("Lead")
                client.chat_update(channel=channel, ts=ts, text=text, blocks=views.without_undo(original, lead_id))
            raise
        if channel and ts and original:
            line = _acted_line(req.actor, ":leftwards_arrow_with_hook: " + _("undid Not a fit on {ref}").format(
                ref=lead.ref), req.now)
            text = (body.get("message") or {}).get("text") or _("Lead {ref}").format(ref=lead.ref)
            client.chat_update(channel=channel, ts=ts, text=text, blocks=views.restored_card(original, lead, line))
        _tell(req, body, _("{lead} is back as it was ({status}).").format(
            lead=f"{lead.ref} {escape(lead.name)}",
            status=_(LEAD_STATUS_NAMES.get(lead.status.value, lead.status.value))))
