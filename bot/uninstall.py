"""`app_uninstalled` and `tokens_revoked`: the workspace is deactivated, nothing more is sent to it.

The workspace becomes `uninstalled` (core.workspace.installations), its stored tokens are
deleted and its queued messages set aside (core.notify.outbox.set_aside), in one transaction.
Its data stays: a reinstall (a new OAuth completion for the team) makes it active again. A
`tokens_revoked` naming only user tokens forgets the installer's user token and nothing else.
Bolt skips its auth.test for these two events (the token is already dead).
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltContext

from core.db import UnitOfWork
from core.notify import outbox
from core.workspace import installations

logger = logging.getLogger(__name__)


def deactivate(uow: UnitOfWork, team_id: str, reason: str, now: datetime) -> int:
    """Uninstall `team_id`: status, tokens, queued messages; returns how many were set aside."""
    with uow.transaction() as session:
        workspace_id = installations.mark_uninstalled(session, team_id, reason, now)
        aside = outbox.set_aside(session, workspace_id, reason) if workspace_id is not None else 0
    logger.warning("workspace %s deactivated (%s): tokens deleted, %d queued message(s) set aside",
                   team_id, reason, aside)
    return aside


def _team(context: BoltContext, body: dict[str, Any]) -> str | None:
    return context.team_id or body.get("team_id") or context.enterprise_id


def register(app: App) -> None:
    @app.event("app_uninstalled")
    def on_app_uninstalled(body: dict[str, Any], context: BoltContext) -> None:
        team_id = _team(context, body)
        if team_id:
            deactivate(context["uow"], team_id, "app_uninstalled", context["now"])

    @app.event("tokens_revoked")
    def on_tokens_revoked(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        team_id = _team(context, body)
        if not team_id:
            return
        tokens = event.get("tokens") or {}
        if tokens.get("bot"):
            deactivate(context["uow"], team_id, "tokens_revoked", context["now"])
        elif tokens.get("oauth"):
            with context["uow"].transaction() as session:
                installations.delete_user_tokens(session, team_id, context["now"])
            logger.info("workspace %s: the installer's user token was revoked and deleted", team_id)
