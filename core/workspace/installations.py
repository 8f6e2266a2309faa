"""OAuth installations and the status of each workspace (active / paused / uninstalled).

Tokens arrive here already encrypted (the bot holds the key, bot/secrets.py): this module
stores and returns ciphertext and never sees a token in clear. A new installation of a team
(OAuth completion) saves its tokens and makes its workspace active again, with all its data;
an uninstall deletes the tokens and marks the workspace uninstalled (core.notify.outbox sets
its queued messages aside); a token Slack refuses pauses the workspace until it works again.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.tables import Installation, OAuthState, Workspace, WorkspaceStatus
from core.workspace.workspaces import get_or_create_workspace

# The columns that hold ciphertext (keys rotation re-encrypts exactly these).
SECRET_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


@dataclass(frozen=True)
class InstallationRecord:
    """One installation as stored: token fields hold ciphertext."""

    team_id: str
    bot_token: str
    enterprise_id: str | None = None
    team_name: str = ""
    app_id: str | None = None
    bot_id: str | None = None
    bot_user_id: str | None = None
    bot_scopes: str = ""
    bot_refresh_token: str | None = None
    bot_token_expires_at: datetime | None = None
    installer_user_id: str | None = None
    user_token: str | None = None
    user_refresh_token: str | None = None
    user_token_expires_at: datetime | None = None
    user_scopes: str | None = None
    token_type: str | None = None
    installed_at: datetime | None = None


@dataclass(frozen=True)
class WorkspaceState:
    """What an operator reads about a workspace: its status, why, since when, whether installed."""

    team_id: str
    name: str
    status: str
    reason: str | None
    since: datetime | None
    installed: bool
    bot_token_expires_at: datetime | None


_STORED = tuple(f.name for f in fields(InstallationRecord) if f.name not in ("team_name", "installed_at"))


def save_installation(session: Session, record: InstallationRecord, now: datetime) -> int:
    """Store (or replace) the installation of `record.team_id`; the workspace becomes active.

    A reinstall after an uninstall finds the workspace with all its data and makes it active
    again. Returns the workspace id.
    """
    ws = get_or_create_workspace(session, record.team_id, now, name=record.team_name)
    if record.team_name and not ws.name:
        ws.name = record.team_name
    row = session.scalar(select(Installation).where(Installation.workspace_id == ws.id))
    if row is None:
        row = Installation(workspace_id=ws.id, installed_at=record.installed_at or now)
        session.add(row)
    for name in _STORED:
        setattr(row, name, getattr(record, name))
    row.updated_at = now
    set_status(session, ws, WorkspaceStatus.ACTIVE, None, now)
    session.flush()
    return ws.id


def find_installation(session: Session, team_id: str) -> InstallationRecord | None:
    """The stored installation of a team (ciphertext tokens), or None."""
    row = session.scalar(select(Installation).where(Installation.team_id == team_id))
    if row is None:
        return None
    ws = session.get(Workspace, row.workspace_id)
    return InstallationRecord(
        team_name=ws.name if ws is not None else "",
        installed_at=row.installed_at,
        **{name: getattr(row, name) for name in _STORED},
    )


def update_tokens(session: Session, team_id: str, now: datetime, **tokens: object) -> bool:
    """Replace some token fields of an installation (a token rotation); False when none is stored."""
    unknown = set(tokens) - set(_STORED)
    if unknown:
        raise ValueError(f"not installation fields: {sorted(unknown)}")
    row = session.scalar(select(Installation).where(Installation.team_id == team_id))
    if row is None:
        return False
    for name, value in tokens.items():
        setattr(row, name, value)
    row.updated_at = now
    session.flush()
    return True


def delete_installation(session: Session, team_id: str) -> bool:
    """Forget a team's tokens; True when there were some."""
    result = session.execute(delete(Installation).where(Installation.team_id == team_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def delete_user_tokens(session: Session, team_id: str, now: datetime) -> bool:
    """Forget the installer's user token (a tokens_revoked event naming only user tokens)."""
    return update_tokens(
        session, team_id, now, user_token=None, user_refresh_token=None, user_token_expires_at=None
    )


def set_status(
    session: Session, ws: Workspace, status: WorkspaceStatus, reason: str | None, now: datetime
) -> bool:
    """Move a workspace to `status` (with why); True when it changed."""
    if ws.status == status and ws.status_reason == reason:
        return False
    ws.status = status
    ws.status_reason = reason[:200] if reason else None
    ws.status_changed_at = now
    session.flush()
    return True


def pause_workspace(session: Session, workspace_id: int, reason: str, now: datetime) -> bool:
    """Stop sending to a workspace whose token Slack refuses; True when it was active before.

    An uninstalled workspace stays uninstalled (that is the stronger state).
    """
    ws = session.get(Workspace, workspace_id, with_for_update=True)
    if ws is None or ws.status != WorkspaceStatus.ACTIVE:
        return False
    return set_status(session, ws, WorkspaceStatus.PAUSED, reason, now)


def resume_workspace(session: Session, team_id: str, now: datetime) -> bool:
    """Make a paused workspace active again (its token works again); True when it changed."""
    ws = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
    if ws is None or ws.status != WorkspaceStatus.PAUSED:
        return False
    return set_status(session, ws, WorkspaceStatus.ACTIVE, None, now)


def inactive_teams(session: Session) -> list[str]:
    """Team ids of the workspaces messages do not go out to (paused or uninstalled)."""
    return list(session.scalars(select(Workspace.team_id).where(Workspace.status != WorkspaceStatus.ACTIVE)))


def reactivate(session: Session, team_id: str, now: datetime) -> bool:
    """Make a paused or uninstalled workspace active again (its token works); True when it changed."""
    ws = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
    if ws is None or ws.status == WorkspaceStatus.ACTIVE:
        return False
    return set_status(session, ws, WorkspaceStatus.ACTIVE, None, now)


def mark_uninstalled(session: Session, team_id: str, reason: str, now: datetime) -> int | None:
    """The app was uninstalled (or its bot token revoked): tokens deleted, workspace uninstalled.

    Returns the workspace id (None for a team we never knew). The caller sets the workspace's
    queued messages aside in the same transaction (core.notify.outbox.set_aside).
    """
    delete_installation(session, team_id)
    ws = session.scalar(select(Workspace).where(Workspace.team_id == team_id))
    if ws is None:
        return None
    set_status(session, ws, WorkspaceStatus.UNINSTALLED, reason, now)
    return ws.id


def slack_team_id(session: Session, workspace_id: int) -> str | None:
    return session.scalar(select(Workspace.team_id).where(Workspace.id == workspace_id))


def is_active(session: Session, workspace_id: int) -> bool:
    status = session.scalar(select(Workspace.status).where(Workspace.id == workspace_id))
    return status == WorkspaceStatus.ACTIVE


def workspace_states(session: Session) -> list[WorkspaceState]:
    """Every workspace with its status and whether it holds an installation (for operators)."""
    installed = {
        int(ws_id): expires
        for ws_id, expires in session.execute(select(Installation.workspace_id, Installation.bot_token_expires_at))
    }
    return [
        WorkspaceState(
            team_id=ws.team_id,
            name=ws.name,
            status=str(ws.status.value if isinstance(ws.status, WorkspaceStatus) else ws.status),
            reason=ws.status_reason,
            since=ws.status_changed_at,
            installed=ws.id in installed,
            bot_token_expires_at=installed.get(ws.id),
        )
        for ws in session.scalars(select(Workspace).order_by(Workspace.id))
    ]


def reencrypt_all(session: Session, convert: Callable[[str], str]) -> int:
    """Pass every stored secret through `convert` (decrypt with an old key, encrypt with the new).

    All rows or none: run it in one transaction; an exception from `convert` (a secret no key
    can read) leaves everything as it was. Returns how many secrets were re-encrypted.
    """
    count = 0
    for row in session.scalars(select(Installation).order_by(Installation.id).with_for_update()):
        for column in SECRET_COLUMNS:
            value = getattr(row, column)
            if value:
                setattr(row, column, convert(value))
                count += 1
    session.flush()
    return count


# -- OAuth states ---------------------------------------------------------------------------


def save_state(session: Session, nonce: str, expires_at: datetime) -> None:
    """Remember a state handed out by the install page until it is used or expires."""
    session.add(OAuthState(nonce=nonce, expires_at=expires_at))
    session.flush()


def consume_state(session: Session, nonce: str, now: datetime) -> bool:
    """Use a state once: True when it was handed out and has not expired (it is gone after)."""
    result = session.execute(delete(OAuthState).where(OAuthState.nonce == nonce, OAuthState.expires_at > now))
    session.execute(delete(OAuthState).where(OAuthState.expires_at <= now))  # expired ones, while here
    return bool(result.rowcount)  # type: ignore[attr-defined]
