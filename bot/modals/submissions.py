"""Handling a submitted modal: read the fields, call one core function, answer on the field.

Modals are acknowledged with the outcome (Slack waits up to 3 s for it): `ack()` closes the
modal, `ack(response_action="errors", errors={block_id: message})` keeps it open with the
message under the field that holds the bad input. Nothing is saved when a field is wrong:
each handler parses everything before it calls core, and core checks before it writes.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.commands import new_error_id
from bot.modals.deal_forms import block_for, metadata_of
from bot.views.common import Message, cut
from core.errors import InvalidInput, UserError
from core.i18n import _
from core.workspace.users import Actor

logger = logging.getLogger(__name__)

MAX_FIELD_ERROR = 300


def input_blocks(view: dict[str, Any]) -> list[str]:
    """The block_ids of the view's input blocks (where errors may be shown)."""
    ids = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"]
    values = ((view.get("state") or {}).get("values") or {}).keys()
    return [i for i in ids if i] or list(values)


def error_target(view: dict[str, Any], field: str | None, default: str) -> str:
    """The block to show an error on: the field's own block when the view has it."""
    wanted = block_for(field, default)
    blocks = input_blocks(view)
    if not blocks or wanted in blocks:
        return wanted
    return default if default in blocks else blocks[0]


def on_field(field: str, read: Callable[[], Any]) -> Any:
    """Run a parser; an InvalidInput it raises is about `field`."""
    try:
        return read()
    except InvalidInput as err:
        raise InvalidInput(err.message, field=field) from None


def submit(ack: Ack, view: dict[str, Any], default_block: str, work: Callable[[], Callable[[], None] | None],
           what: str) -> None:
    """Run `work` (which parses and calls core); ack with field errors, or close the modal.

    `work` may return a follow-up (post a confirmation, refresh Home) run after the ack.
    """
    try:
        after = work()
    except UserError as err:
        ack(response_action="errors",
            errors={error_target(view, err.field, default_block): cut(err.message, MAX_FIELD_ERROR)})
        return
    except Exception:
        error_id = new_error_id()
        logger.exception("%s failed [error %s]", what, error_id)
        ack(response_action="errors",
            errors={error_target(view, None, default_block): _(
                "Sorry, something went wrong on our side (error {error_id}). Nothing was saved.").format(
                    error_id=error_id)})
        return
    ack()
    if after is not None:
        try:
            after()
        except Exception:
            logger.exception("%s: the confirmation could not be sent", what)


def tell(context: BoltContext, actor: Actor, view: dict[str, Any], body: Message) -> None:
    """Confirm a modal's outcome: to the message it came from, else the channel, else a DM."""
    client: WebClient = context.client
    meta = metadata_of(view)
    payload = {k: v for k, v in body.items() if k in ("text", "blocks")}
    response_url = meta.get("response_url")
    if response_url:
        context["send_to_response_url"](response_url, {**payload, "replace_original": True})
        return
    channel = meta.get("channel")
    in_channel = body.get("response_type") == "in_channel"
    if channel and in_channel:
        try:
            client.chat_postMessage(channel=channel, **payload)
            return
        except SlackApiError as err:  # not in that channel: tell the user directly instead
            logger.info("chat.postMessage to %s failed (%s); sending a DM", channel, err.response.get("error"))
    elif channel and actor.slack_id:
        try:
            client.chat_postEphemeral(channel=channel, user=actor.slack_id, **payload)
            return
        except SlackApiError as err:
            logger.info("chat.postEphemeral to %s failed (%s); sending a DM", channel, err.response.get("error"))
    if actor.slack_id:
        client.chat_postMessage(channel=actor.slack_id, **payload)


def actor_of_context(context: BoltContext) -> Actor:
    """The acting user of a modal submission."""
    actor = context.get("actor")
    if actor is None:
        raise InvalidInput(_("Salesbot could not tell who you are; try again."))
    assert isinstance(actor, Actor)
    return actor
