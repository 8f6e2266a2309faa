"""Socket Mode: the bot connects out to Slack over a WebSocket (no public URL needed).

Bolt's SocketModeHandler (slack_sdk's built-in client, no extra dependency) opens the
connection with apps.connections.open on `settings.slack_api_url`, so tests can point it at a
local fake. It reconnects on its own; `close()` stops it.
"""

from __future__ import annotations

import logging
import time

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.builtin.client import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.config import Settings
from bot.metrics import METRICS, payload_kind

client_logger = logging.getLogger("bot.socket_mode.client")


class TimedSocketModeHandler(SocketModeHandler):
    """Bolt's handler, timing each request to its ack for /metrics (as the HTTP server does)."""

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.perf_counter()
        super().handle(client, req)
        METRICS.observe_ack(*payload_kind(req.payload), time.perf_counter() - started)


def start_socket_mode(app: App, settings: Settings) -> SocketModeHandler:
    """Connect to Slack in Socket Mode (non-blocking); return the handler to close later."""
    assert settings.slack_app_token, "Socket Mode needs SLACK_APP_TOKEN"
    handler = TimedSocketModeHandler(
        app, app_token=settings.slack_app_token, web_client=app.client, logger=client_logger
    )
    # A refused first connection is reported by the caller in one line; later drops and
    # reconnects are logged as usual.
    client_logger.setLevel(logging.CRITICAL)
    try:
        handler.connect()  # type: ignore[no-untyped-call]
    finally:
        client_logger.setLevel(logging.NOTSET)
    return handler
