"""Build the Bolt `App`: Web API client, request middleware, and every listener module.

`create_app` is the one place that wires Slack to the domain. The listener modules are imported
here and listed in LISTENER_MODULES; each exposes `register(app: App) -> None`. Listeners read
`context["uow"]`, `context["now"]`, `context["actor"]` and `context["settings"]` (see
bot/context.py) and never read the wall clock themselves: bot/clock.py `utcnow` is the only place.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol, TypeVar

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler

from bot import functions, home, modals, shortcuts, uninstall
from bot.actions import deal as deal_actions
from bot.actions import discounts as discount_actions
from bot.actions import leads as lead_actions
from bot.actions import nudges as nudge_actions
from bot.clock import utcnow
from bot.commands import admin as admin_command
from bot.commands import deal as deal_command
from bot.commands import lead as lead_command
from bot.commands import pipeline as pipeline_command
from bot.config import DEFAULT_SLACK_API_URL, Settings
from bot.modals import prefs as prefs_modals
from bot.request_guard import quiet_bolt_signature_log
from core.db import UnitOfWork

logger = logging.getLogger(__name__)


class _QuietTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and then warns that the client we
    pass wins; that is what we intend, so the warning is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "`token` will be unused" not in message and "will be ignored" not in message


logging.getLogger("slack_bolt.App").addFilter(_QuietTokenWarning())
quiet_bolt_signature_log()

class ListenerModule(Protocol):
    """A module of Bolt listeners: `register(app)` adds them."""

    __name__: str

    def register(self, app: App) -> None: ...


# Every listener module, in registration order: imported above, so a typo fails at import.
LISTENER_MODULES: tuple[ListenerModule, ...] = (
    deal_command,
    pipeline_command,
    admin_command,
    lead_command,
    modals,
    home,
    deal_actions,
    nudge_actions,
    discount_actions,
    lead_actions,
    shortcuts,
    functions,
    prefs_modals,
    uninstall,
)

# Bolt runs listeners in this pool; actions and views still do their work here after the ack,
# and Bolt's default of 5 threads let a burst of them hold back the next requests' acks.
LISTENER_THREADS = 16
# Slash commands hand their work after the ack to this many threads (bot/after_ack.py).
AFTER_ACK_THREADS = 8

# After a change the App Home is republished this many seconds later, once for a burst of
# changes by the same user (bot/home.py HomeRefresher).
HOME_REFRESH_DELAY = 0.5
# ... and at most once in this many seconds per user (see HomeRefresher).
HOME_REFRESH_MIN_INTERVAL = 3.0

# The bot scopes the code needs; manifest.yml declares exactly these (tests/bot/test_manifest.py).
# The history scopes and im:write let delivery look for a message before re-sending it.
BOT_SCOPES = (
    "commands", "chat:write", "users:read", "files:write", "channels:history", "groups:history", "im:history",
    "im:write",
)


def retry_handlers() -> list[RetryHandler]:
    """Retry 429 (honouring Retry-After), 5xx and dropped connections a few times."""
    from bot.metrics import METRICS

    return [
        METRICS.count_rate_limits(),  # counts Slack's 429s for /metrics; retries nothing itself
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
        ConnectionErrorRetryHandler(max_retry_count=2),
    ]


def make_client(settings: Settings, token: str | None = None) -> WebClient:
    """A Web API client for `settings.slack_api_url` with the retry handlers attached."""
    return WebClient(
        token=token if token is not None else settings.slack_bot_token,
        base_url=settings.slack_api_url,
        retry_handlers=retry_handlers(),
    )


def oauth_settings(settings: Settings, uow: UnitOfWork) -> object:
    """Bolt's OAuthSettings with installations and states on our own tables (bot/installations.py)."""
    from bot.installations import oauth_settings as build

    return build(settings, uow, list(BOT_SCOPES))


def _local_authorize(token: str) -> Callable[..., AuthorizeResult]:
    def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=token,
            bot_id="B0SALESBOT",
            bot_user_id="U0SALESBOT",
            user_id=user_id,
        )

    return authorize


_T = TypeVar("_T")


class ContextCarryingExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, running each listener in the context the middleware set up (the
    user's language, core.i18n): a plain pool would run it in the thread's own, empty context."""

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


class RequestScopedApp(App):
    """Bolt's App, dispatching each request in a copy of the caller's context: the language the
    middleware sets for the request (core.i18n.activate) is its own and ends with it."""

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        return contextvars.copy_context().run(super().dispatch, req)


def register_listeners(app: App, modules: tuple[ListenerModule, ...] = LISTENER_MODULES) -> list[str]:
    """Call each listener module's register(app); return the module names, in order."""
    for module in modules:
        module.register(app)
    return [module.__name__ for module in modules]


def create_app(
    settings: Settings,
    uow: UnitOfWork,
    *,
    clock: Callable[[], datetime] = utcnow,
    client: WebClient | None = None,
    process_before_response: bool = False,
) -> App:
    """The Bolt app with our middleware and every listener module registered.

    `client`, when given, is the Web API client every listener receives (tests and the
    console pass one); otherwise Bolt builds one per request from ours. Token verification
    (an auth.test call at start) runs only against the real Slack, so tests and the console
    never touch the network at construction. `process_before_response=True` makes dispatch
    return only when the listener is done (tests use it to avoid waiting).
    """
    from bot.after_ack import AfterAck
    from bot.context import install_context_middleware

    real_slack = settings.slack_api_url == DEFAULT_SLACK_API_URL and client is None
    kwargs: dict[str, Any] = {}
    if settings.oauth and client is None:
        kwargs["oauth_settings"] = oauth_settings(settings, uow)
        base_client = WebClient(base_url=settings.slack_api_url, retry_handlers=retry_handlers())
    elif client is not None:
        # A client answered in-process (the console): authorize without an auth.test call.
        base_client = client
        kwargs["authorize"] = _local_authorize(client.token or "xoxb-local")
    else:
        base_client = make_client(settings)
    # With `authorize`, Bolt ignores the client's token (and warns): hide it while building.
    saved_token = base_client.token
    if "authorize" in kwargs:
        base_client.token = None
    try:
        app = RequestScopedApp(
            signing_secret=settings.slack_signing_secret or "",
            client=base_client,
            process_before_response=process_before_response,
            request_verification_enabled=True,
            token_verification_enabled=real_slack,
            listener_executor=ContextCarryingExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener"),
            **kwargs,
        )
    finally:
        base_client.token = saved_token
    homes = home.HomeRefresher(
        delay=0 if process_before_response else HOME_REFRESH_DELAY,
        min_interval=0 if process_before_response else HOME_REFRESH_MIN_INTERVAL,
    )
    after_ack = AfterAck(workers=0 if process_before_response else AFTER_ACK_THREADS)
    install_context_middleware(
        app, settings, uow, clock=clock, client=client, background_refresh=not process_before_response, homes=homes,
        after_ack=after_ack,
    )
    names = register_listeners(app)
    logger.debug("listener modules registered: %s", ", ".join(names))
    return app
