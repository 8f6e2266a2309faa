"""Workflow Builder steps (manifest.yml `functions`): "Create a deal" and "Add a lead".

Bolt calls a function listener on `function_executed`; the step ends with `complete(outputs)`
(the new ref, which later steps can use) or `fail(error)` (a sentence Workflow Builder shows
the workflow's owner). Inputs are typed in the manifest; they are still checked here, since a
workflow passes whatever its form collected. The person the step acts for is an input
(`owner`, `added_by`): Workflow Builder fills it with "Person who used this workflow" or a
form's user field, and the usual permissions apply to them.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any

from slack_bolt import Ack, App, BoltContext, Complete, Fail
from slack_sdk import WebClient

from bot.slack_users import UserDirectory
from core.dates import parse_date
from core.deals import deals
from core.errors import InvalidInput, UserError
from core.i18n import _, use_locale
from core.leads import leads
from core.money import parse_amount
from core.workspace.users import Actor

logger = logging.getLogger(__name__)

CREATE_DEAL, ADD_LEAD = "create_deal", "add_lead"
LEAD_FIELDS = ("name", "email", "company", "title", "phone", "source", "country", "industry")
# The inputs and outputs each step declares in manifest.yml (tests/bot/test_manifest.py compares).
INPUTS = {CREATE_DEAL: ("title", "owner", "amount", "stage", "close_date", "account"),
          ADD_LEAD: (*LEAD_FIELDS, "added_by")}
OUTPUTS = {CREATE_DEAL: ("deal_ref", "deal_title"), ADD_LEAD: ("lead_ref", "score")}


def register(app: App) -> None:
    app.function(CREATE_DEAL)(on_create_deal)
    app.function(ADD_LEAD)(on_add_lead)


def _text(inputs: dict[str, Any], name: str) -> str | None:
    value = inputs.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise InvalidInput(_("The step's input {name} must be text.").format(name=name))
    text = str(value).strip()
    return text or None


def _actor(context: BoltContext, client: WebClient, inputs: dict[str, Any], name: str) -> Actor:
    user_id = _text(inputs, name)
    if not user_id:
        raise InvalidInput(_("The step needs the person it acts for in its input {name}.").format(name=name))
    users: UserDirectory = context["users"]
    return users.actor(client, str(context.team_id), user_id, context["now"])


def _close_date(text: str | None, actor: Actor, context: BoltContext) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)  # slack#/types/date inputs are YYYY-MM-DD
    except ValueError:
        return parse_date(text, context["now"], actor.tz, actor.locale)


def _finish(run: Any, complete: Complete, fail: Fail, what: str) -> None:
    """Complete with `run()`'s outputs, or fail with a sentence the workflow's owner can act on."""
    try:
        outputs = run()
    except UserError as err:
        fail(err.message)
        return
    except Exception:
        logger.exception("workflow step %s failed", what)
        fail(_("salesbot could not finish this step because of an internal error; try again later."))
        return
    complete(outputs=outputs)


def on_create_deal(ack: Ack, inputs: dict[str, Any], complete: Complete, fail: Fail, client: WebClient,
                   context: BoltContext, event: dict[str, Any]) -> None:
    def run() -> dict[str, Any]:
        actor = _actor(context, client, inputs, "owner")
        with use_locale(actor.locale):
            title = _text(inputs, "title")
            if not title:
                raise InvalidInput(_("A deal needs a title."))
            amount_text = _text(inputs, "amount")
            amount = parse_amount(amount_text, actor.locale, actor.currency) if amount_text else None
            deal = deals.create_deal(
                context["uow"], actor, title=title, now=context["now"], amount=amount,
                stage=_text(inputs, "stage"), expected_close=_close_date(_text(inputs, "close_date"), actor, context),
                account=_text(inputs, "account"), source="workflow",  # data (reports group by it), not a text
                # A retried event carries the same execution id: one deal, not two.
                idempotency_key=f"function:{event.get('function_execution_id')}",
            )
            return {"deal_ref": deal.ref, "deal_title": deal.title}

    _finish(run, complete, fail, CREATE_DEAL)


def on_add_lead(ack: Ack, inputs: dict[str, Any], complete: Complete, fail: Fail, client: WebClient,
                context: BoltContext) -> None:
    def run() -> dict[str, Any]:
        actor = _actor(context, client, inputs, "added_by")
        with use_locale(actor.locale):
            data = {k: v for k in LEAD_FIELDS if (v := _text(inputs, k))}
            if not data.get("name"):
                raise InvalidInput(_("A lead needs a name."))
            lead = leads.create_lead(context["uow"], actor, data, now=context["now"])
            return {"lead_ref": lead.ref, "score": lead.score}

    _finish(run, complete, fail, ADD_LEAD)
