"""Slash-command listeners, and what they share: the request they answer and its error handling.

A listener acknowledges first, builds a `Request` from Bolt's context, and runs the
subcommand inside `answering(...)`: a UserError is shown to the caller as is (ephemeral);
anything else is logged with a short id and answered with an apology naming that id.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.after_ack import AfterAck
from bot.home import HomeRefresher
from bot.views.common import Message, apology, error_message
from core.db import UnitOfWork
from core.errors import InvalidInput, UserError
from core.i18n import _
from core.workspace.users import Actor

logger = logging.getLogger(__name__)

Respond = Callable[..., Any]


@dataclass
class Request:
    """What a subcommand needs: who, when, where, and how to answer."""

    uow: UnitOfWork
    actor: Actor
    now: datetime
    client: WebClient
    respond: Respond
    trigger_id: str | None = None
    channel_id: str | None = None
    # Set by a subcommand once it split "<ref> <rest>": lets an ambiguous ref re-run the
    # command on the deal the user picks.
    sub: str = ""
    rest: str = ""
    homes: HomeRefresher | None = None

    def answer(self, body: Message, *, replace_original: bool = False) -> None:
        """Send `body` to the caller (ephemeral unless it says in_channel)."""
        payload = dict(body)
        if replace_original:
            payload["replace_original"] = True
        self.respond(**payload)


def request_from(context: BoltContext, client: WebClient, respond: Respond, body: dict[str, Any]) -> Request:
    """The Request of a command or action, from the context our middleware filled in."""
    actor = context.get("actor")
    if actor is None:
        raise InvalidInput(_("Salesbot could not tell who you are; try again from a channel or DM."))
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id") or context.channel_id
    return Request(
        uow=context["uow"],
        actor=actor,
        now=context["now"],
        client=client,
        respond=respond,
        trigger_id=body.get("trigger_id"),
        channel_id=channel,
        homes=context.get("homes"),
    )


def slash_command(name: str, run: Callable[[Request, str], None]) -> Callable[..., None]:
    """The listener of slash command `name`: acknowledge at once, then `run` its text
    (on the AfterAck pool, see bot/after_ack.py).

    A UserError is shown to the caller; anything else is logged and apologised for (answering).
    """
    def listener(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient,
                 context: BoltContext) -> None:
        ack()

        def work() -> None:
            with answering(respond, f"{name} {command.get('text', '')[:80]}"):
                run(request_from(context, client, respond, command), command.get("text") or "")

        after_ack: AfterAck | None = context.get("after_ack")
        if after_ack is None:
            work()
        else:
            after_ack.run(work)  # frees Bolt's listener thread for the next request's ack

    listener.__name__ = listener.__qualname__ = f"on_{name.lstrip('/')}"
    listener.__doc__ = f"Acknowledge {name} at once, then run its text."
    return listener


def new_error_id() -> str:
    """A short id that ties an apology to its log line."""
    return uuid.uuid4().hex[:8]


@contextmanager
def answering(respond: Respond, what: str) -> Iterator[None]:
    """Show user errors as they are; log anything else with an id and apologise with it."""
    try:
        yield
    except UserError as err:
        respond(**error_message(err))
    except Exception:
        error_id = new_error_id()
        logger.exception("%s failed [error %s]", what, error_id)
        try:
            respond(**apology(error_id))
        except Exception:  # Slack unreachable too: the log line is all we can do
            logger.exception("could not send the apology for error %s", error_id)
