"""Shortcuts (manifest.yml `features.shortcuts`): where a conversation becomes a deal or a note.

- global `new_deal` / `new_lead`: the New deal and New lead modals, from anywhere.
- message `deal_from_message`: the New deal modal with the message's first line as the title;
  the message (author, words, permalink) becomes the deal's first note when it is created.
- message `deal_add_message`: pick a deal (an external select searching refs and titles) and
  log the message on it as a note, an email, a call or a meeting.

The message is read from the shortcut's payload, never from history, so shortcuts work in
channels, DMs and threads the bot is not a member of.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.modals import deal_forms
from bot.modals.submissions import actor_of_context, submit, tell
from bot.views import deals as deal_views
from bot.views import leads as lead_views
from bot.views import shortcuts as views
from bot.views.common import error_message
from core.deals import deals
from core.deals.search import search_deals
from core.errors import InvalidInput, UserError
from core.i18n import _
from core.workspace.setup import open_stage_names

logger = logging.getLogger(__name__)

NEW_DEAL, NEW_LEAD, DEAL_FROM_MESSAGE, ADD_TO_DEAL = "new_deal", "new_lead", "deal_from_message", "deal_add_message"


def register(app: App) -> None:
    app.shortcut(NEW_DEAL)(on_new_deal_shortcut)
    app.shortcut(NEW_LEAD)(on_new_lead_shortcut)
    app.shortcut(DEAL_FROM_MESSAGE)(on_deal_from_message)
    app.shortcut(ADD_TO_DEAL)(on_add_to_deal)
    app.options(views.DEAL_PICKER)(on_deal_search)
    app.view(views.ADD_TO_DEAL)(on_add_to_deal_submitted)


# -- the message a shortcut was used on -----------------------------------------------------


def permalink(shortcut: dict[str, Any]) -> str:
    """The message's link, built from the payload (no chat.getPermalink call, no membership)."""
    domain = (shortcut.get("team") or {}).get("domain") or "app"
    channel = (shortcut.get("channel") or {}).get("id", "")
    msg = shortcut.get("message") or {}
    ts = str(msg.get("ts") or shortcut.get("message_ts") or "")
    link = f"https://{domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    thread = msg.get("thread_ts")
    if thread and thread != ts:
        link += f"?thread_ts={thread}&cid={channel}"
    return link


def usable_message(shortcut: dict[str, Any]) -> dict[str, Any]:
    """The message, or InvalidInput saying why a deal can't come from it."""
    msg = shortcut.get("message") or {}
    if msg.get("subtype") in ("tombstone", "message_deleted") or msg.get("hidden"):
        raise InvalidInput(_("That message has been deleted, so there is nothing to take from it."))
    if msg.get("bot_id") or msg.get("subtype") == "bot_message":
        raise InvalidInput(_("That message was posted by an app, not by a person: use it on a customer's "
                             "or a colleague's message, or start a deal with /deal new."))
    if not (msg.get("text") or "").strip():
        raise InvalidInput(_("That message has no text to take a deal from."))
    return msg


def _author(client: WebClient, user_id: str | None) -> str:
    """The author's name for the note (a plain name: a note never pings anyone)."""
    if not user_id:
        return _("someone")
    try:
        user = client.users_info(user=user_id).get("user") or {}
    except SlackApiError:
        return user_id  # from another org (Slack Connect) or gone: the id still says who
    profile = user.get("profile") or {}
    return str(profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user_id)


def _refuse(respond: Respond, err: UserError) -> None:
    body = error_message(err)
    respond(text=body["text"], blocks=body.get("blocks"), response_type="ephemeral")


# -- listeners ------------------------------------------------------------------------------


def on_new_deal_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    actor = actor_of_context(context)
    view = deal_forms.new_deal_view(open_stage_names(context["uow"], actor), actor.slack_id, None)
    client.views_open(trigger_id=shortcut["trigger_id"], view=view)


def on_new_lead_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    client.views_open(trigger_id=shortcut["trigger_id"], view=lead_views.new_lead_view(None))


def on_deal_from_message(ack: Ack, shortcut: dict[str, Any], client: WebClient, context: BoltContext,
                         respond: Respond) -> None:
    ack()
    try:
        msg = usable_message(shortcut)
    except UserError as err:
        _refuse(respond, err)
        return
    actor = actor_of_context(context)
    link, author, text = permalink(shortcut), _author(client, msg.get("user")), str(msg.get("text", ""))
    note = views.message_note(author, text, link, limit=views.MAX_SNIPPET_IN_FORM)
    while len(json.dumps(note)) > views.MAX_SNIPPET_IN_FORM:  # escapes (non-ASCII, newlines) count too
        text = text[: len(text) * 3 // 4]
        note = views.message_note(author, text, link, limit=views.MAX_SNIPPET_IN_FORM)
    view = deal_forms.new_deal_view(open_stage_names(context["uow"], actor), actor.slack_id, None,
                                    title=views.first_line(str(msg.get("text", ""))), first_note=note)
    client.views_open(trigger_id=shortcut["trigger_id"], view=view)


def on_add_to_deal(ack: Ack, shortcut: dict[str, Any], client: WebClient, context: BoltContext,
                   respond: Respond) -> None:
    ack()
    try:
        msg = usable_message(shortcut)
    except UserError as err:
        _refuse(respond, err)
        return
    source = {"link": permalink(shortcut), "author": _author(client, msg.get("user"))}
    client.views_open(trigger_id=shortcut["trigger_id"], view=views.add_to_deal_view(msg.get("text", ""), source))


def on_deal_search(ack: Ack, payload: dict[str, Any], context: BoltContext) -> None:
    """The deal picker's options: the deals the user may read matching what they typed."""
    actor = context.get("actor")
    if actor is None:
        ack(options=[])
        return
    found = search_deals(context["uow"], actor, str(payload.get("value") or ""))
    ack(options=views.deal_options(found))


def on_add_to_deal_submitted(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    def work() -> Callable[[], None]:
        actor = actor_of_context(context)
        values = (view.get("state") or {}).get("values") or {}
        picked = ((values.get("deal") or {}).get(views.DEAL_PICKER) or {}).get("selected_option") or {}
        ref = picked.get("value")
        if not ref:
            raise InvalidInput(_("Pick the deal to add the message to."), field="deal")
        kind = (((values.get("kind") or {}).get("value") or {}).get("selected_option") or {}).get("value") or "note"
        if kind not in {k for k, _label in views.MESSAGE_KINDS}:
            raise InvalidInput(_("Choose what the message was: a note, an email, a call or a meeting."), field="kind")
        text = deal_forms.field_value(view, "text") or ""
        source = deal_forms.metadata_of(view)
        if not source.get("link"):
            raise InvalidInput(_("This form lost track of its message; use the shortcut on the message again."),
                               field="deal")
        note = views.message_note(str(source.get("author") or _("someone")), text, str(source["link"]))
        activity = deals.log_activity(context["uow"], actor, str(ref), kind, note, now=context["now"])
        deal = deals.get_deal(context["uow"], actor, str(ref))
        label = _(dict(views.MESSAGE_KINDS).get(activity.kind.value, activity.kind.value))
        body = deal_views.deal_changed(deal, actor, _("got a message added ({kind})").format(kind=label.lower()))
        return lambda: tell(context, actor, view, body)

    submit(ack, view, "deal", work, "add to deal")

