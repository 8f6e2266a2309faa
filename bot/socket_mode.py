"""Socket Mode: the bot connects out to Slack over a WebSocket (no public URL needed).

Bolt's SocketModeHandler (slack_sdk's built-in client, no extra dependency) opens the
connection with apps.connections.open on `settings.slack_api_url`, so tests can point it at a
local fake. It reconnects on its own; `close()` stops it.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.config import Settings

client_logger = logging.getLogger("bot.socket_mode.client")


def start_socket_mode(app: App, settings: Settings) -> SocketModeHandler:
    """Connect to Slack in Socket Mode (non-blocking); return the handler to close later."""
    assert settings.slack_app_token, "Socket Mode needs SLACK_APP_TOKEN"
    handler = SocketModeHandler(app, app_token=settings.slack_app_token, web_client=app.client, logger=client_logger)
    # A refused first connection is reported by the caller in one line; later drops and
    # reconnects are logged as usual.
    client_logger.setLevel(logging.CRITICAL)
    try:
        handler.connect()  # type: ignore[no-untyped-call]
    finally:
        client_logger.setLevel(logging.NOTSET)
    return handler
