"""Which language a message is built in for whoever receives it (issue 13.2).

A person reads their own language: their Slack locale when salesbot speaks it, else the
workspace's default (`/salesbot setup`). A channel reads the workspace's default.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import SOURCE_LOCALE, language_of
from core.tables import User, Workspace


def recipient_locale(session: Session, workspace_id: int, recipient: str) -> str:
    """The language for `recipient`: a Slack user id (U…/W…) or a channel id."""
    workspace_locale = session.scalar(select(Workspace.locale).where(Workspace.id == workspace_id))
    default = language_of(workspace_locale) or SOURCE_LOCALE
    if not recipient.startswith(("U", "W")):
        return default
    user_locale = session.scalar(
        select(User.locale).where(User.workspace_id == workspace_id, User.slack_id == recipient)
    )
    return language_of(user_locale) or default
