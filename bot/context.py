"""The global middleware: what every listener finds in its Bolt `context`.

- `context["uow"]`: the UnitOfWork (core.db) to call services with.
- `context["now"]`: the clock read once per request (aware UTC); listeners pass it on as `now`.
- `context["actor"]`: the core.workspace.users.Actor of the Slack user (created on first contact, with
  name, time zone and Slack admin flag from users.info, refreshed daily), or None when the
  request has no user (e.g. some events).
- `context["settings"]`: the bot.config.Settings.
- `context["users"]`: the UserDirectory (bot/slack_users.py), for tests and refreshes.
- `context["homes"]`: the HomeRefresher (bot/home.py) that republishes App Homes after changes.
- `context["after_ack"]`: the AfterAck (bot/after_ack.py) slash commands hand their work to.
- `context["send_to_response_url"]`: `(url, payload) -> None`, posts to a response_url kept from an
  earlier request (a modal's confirmation to the message its button sat on); the console
  replaces it with one that prints, as it replaces `respond`.

Slack retries and replays (bot/dedupe.py): a request whose event_id (events) or signed
timestamp and body (commands, interactions) was already taken in is answered 200 and dropped,
so a command, click or event never takes effect twice; a first delivery that carries
`X-Slack-Retry-Num` (its original never reached us) is processed like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.after_ack import AfterAck
from bot.config import Settings
from bot.dedupe import SeenRequests, request_key
from bot.home import HomeRefresher
from bot.slack_users import UserDirectory
from core.db import UnitOfWork
from core.i18n import activate


def install_context_middleware(
    app: App,
    settings: Settings,
    uow: UnitOfWork,
    *,
    clock: Callable[[], datetime],
    client: WebClient | None = None,
    background_refresh: bool = True,
    homes: HomeRefresher | None = None,
    after_ack: AfterAck | None = None,
) -> UserDirectory:
    """Register the global middleware on `app`; return its UserDirectory.

    `background_refresh=False` refreshes stale profiles before the listener runs (tests).
    `homes` defaults to publishing App Homes at once.
    """
    users = UserDirectory(uow, background=background_refresh, default_locale=settings.locale)
    seen = SeenRequests(uow, users.reads, background=background_refresh)
    homes = homes or HomeRefresher(delay=0)
    after_ack = after_ack or AfterAck(workers=0)

    def salesbot_context(context: BoltContext, request: BoltRequest, next: Callable[[], Any]) -> Any:
        if client is not None:
            # One shared client for every listener (tests and the console answer it locally).
            context["client"] = client
        now = clock()
        context["uow"] = uow
        context["now"] = now
        context["settings"] = settings
        context["users"] = users
        context["homes"] = homes
        context["after_ack"] = after_ack
        context["send_to_response_url"] = send_to_response_url
        context["actor"] = None
        team_id = context.team_id or context.enterprise_id
        if team_id and context.user_id:
            context["actor"] = users.actor(context.client, team_id, context.user_id, now)
        key = request_key(request)
        if key is not None:
            actor = context["actor"]
            workspace_id = actor.workspace_id if actor is not None else seen.workspace_id(team_id)
            if workspace_id is not None and not seen.first_time(workspace_id, key, now):
                return BoltResponse(status=200, body="")  # a retry or replay of one taken in
        # Texts are built in the actor's language (their Slack locale, else the workspace's, which
        # starts from SALESBOT_LOCALE).
        # Bolt runs the listener after this middleware returns, in this context or (the listener
        # executor, AfterAck) in a copy of it: set for the rest of the request, every request.
        activate(context["actor"].locale if context["actor"] is not None else settings.locale)
        return next()

    app.middleware(salesbot_context)
    setattr(app, _USERS_ATTR, users)
    setattr(app, _HOMES_ATTR, homes)
    setattr(app, _AFTER_ACK_ATTR, after_ack)
    return users


def send_to_response_url(url: str, payload: dict[str, Any]) -> None:
    """Post `payload` (text, blocks, replace_original, ...) to a Slack response_url."""
    WebhookClient(url).send_dict(payload)


_USERS_ATTR = "salesbot_user_directory"
_HOMES_ATTR = "salesbot_home_refresher"
_AFTER_ACK_ATTR = "salesbot_after_ack"


def after_ack_pool(app: App) -> AfterAck:
    """The AfterAck the middleware gives listeners (to finish its work at shutdown)."""
    pool: AfterAck = getattr(app, _AFTER_ACK_ATTR)
    return pool


def home_refresher(app: App) -> HomeRefresher:
    """The HomeRefresher the middleware gives listeners (to flush it at shutdown or in tests)."""
    homes: HomeRefresher = getattr(app, _HOMES_ATTR)
    return homes


def user_directory(app: App) -> UserDirectory:
    """The UserDirectory installed on `app` (to wait for background refreshes)."""
    users: UserDirectory = getattr(app, _USERS_ATTR)
    return users
