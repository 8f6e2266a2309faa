"""Who is acting: users.info profiles cached in the users table, refreshed daily (SPEC 8).

The language a user reads (issue 13): their Slack locale (users.info with include_locale)
when salesbot speaks it (core.i18n.language_of: en, tr), else the workspace's (`/salesbot setup`),
which a workspace starts with from SALESBOT_LOCALE. A Slack locale salesbot does not speak
(`de-DE`) is told to the workspace's admins once, through the outbox.

A known user whose profile is younger than a day costs one read and no Slack call, so the
acknowledgement path stays fast. A first contact calls users.info before the listener runs
(the time zone and the Slack admin flag matter for that very command); an old profile is
refreshed in the background and the request goes on with the cached one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from bot.views.common import Message, escape, message, section
from core.db import UnitOfWork
from core.i18n import _, language_of, use_locale
from core.notify import outbox
from core.tables import Role, User, Workspace
from core.workspace.users import Actor, actor_by_slack_id, actor_for, actor_of

logger = logging.getLogger(__name__)

REFRESH_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class SlackProfile:
    """What we keep from users.info."""

    name: str | None
    tz: str | None
    is_admin: bool
    locale: str | None = None


def profile_from_users_info(user: dict[str, Any]) -> SlackProfile:
    """Read name, time zone and the admin/owner flag from a users.info `user` object."""
    profile = user.get("profile") or {}
    name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
    is_admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
    locale = user.get("locale")
    return SlackProfile(name=name or None, tz=user.get("tz") or None, is_admin=is_admin, locale=locale)


def fetch_profile(client: WebClient, slack_id: str) -> SlackProfile | None:
    """users.info for one user; None when Slack cannot say (the request goes on regardless)."""
    try:
        resp = client.users_info(user=slack_id, include_locale=True)
    except (SlackApiError, SlackClientError, OSError) as exc:
        logger.warning("users.info %s failed: %s", slack_id, exc)
        return None
    user = resp.get("user")
    return profile_from_users_info(user) if isinstance(user, dict) else None


class SnapshotReads:
    """Read-only sessions for the acknowledgement path, apart from the writers.

    On SQLite the shared engine's connections can all be busy in write transactions queued on
    the database lock; in WAL mode a reader needs no lock, so this engine runs its SELECTs in
    autocommit on query-only connections of its own. On PostgreSQL the reads get a small pool
    of their own, so a burst of writes holding the shared pool cannot delay an ack.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.factory: sessionmaker[Session] | None = None
        if uow.dialect == "sqlite":
            engine = create_engine(
                uow.engine.url, connect_args={"timeout": 30, "check_same_thread": False}, poolclass=NullPool
            )

            @event.listens_for(engine, "connect")
            def _autocommit(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None
                dbapi_conn.execute("PRAGMA query_only=ON")

            self.factory = sessionmaker(engine)
        elif uow.dialect == "postgresql":
            # A small pool of its own, in autocommit: under a burst of writes the shared pool
            # can be all checked out, and the ack would wait for a connection.
            engine = create_engine(
                uow.engine.url, pool_size=2, max_overflow=6, isolation_level="AUTOCOMMIT", pool_pre_ping=True
            )
            self.factory = sessionmaker(engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        if self.factory is None:
            with self.uow.read() as session:
                yield session
            return
        session = self.factory()
        try:
            yield session
        finally:
            session.close()


def _cached_actor(reads: SnapshotReads, team_id: str, slack_id: str, now: datetime) -> tuple[Actor | None, bool]:
    """(actor, fresh) from the database alone; (None, False) on first contact."""
    with reads.session() as session:
        found = actor_by_slack_id(session, team_id, slack_id)
    if found is None:
        return None, False
    actor, refreshed_at = found
    return actor, refreshed_at is not None and now - refreshed_at < REFRESH_AFTER


LANGUAGE_NAMES = {"en": "English", "tr": "Türkçe"}


def unsupported_locale_notice(user_name: str, slack_locale: str, workspace_language: str) -> Message:
    """What an admin is told once about a user whose Slack language salesbot does not speak."""
    text = _("{name}'s Slack is set to {locale}, which salesbot does not speak yet: they get the workspace's "
             "language, {language}. Change it with `/salesbot setup`.").format(
        name=escape(user_name), locale=escape(slack_locale),
        language=LANGUAGE_NAMES.get(workspace_language, workspace_language))
    return message(text, [section(f":globe_with_meridians: {text}")])


def _tell_admins_once(session: Session, user: User, slack_locale: str, now: datetime) -> None:
    """Queue the unsupported-locale notice to each admin, once per user and locale (the outbox key)."""
    ws = session.get_one(Workspace, user.workspace_id)
    admins = session.scalars(select(User).where(
        User.workspace_id == ws.id, User.role == Role.ADMIN, User.slack_id.is_not(None)).order_by(User.id))
    for admin in admins:
        assert admin.slack_id is not None
        key = f"locale:{user.id}:{slack_locale[:10].lower()}:{admin.id}"
        if outbox.is_queued(session, ws.id, key):
            continue
        with use_locale(admin.locale or ws.locale):
            body = unsupported_locale_notice(user.name, slack_locale, language_of(ws.locale) or "en")
        outbox.enqueue(session, ws.id, key, "notice", admin.slack_id,
                       {"text": body["text"], "blocks": body["blocks"]}, now)


def save_profile(uow: UnitOfWork, team_id: str, slack_id: str, now: datetime, profile: SlackProfile | None,
                 workspace_locale: str | None = None) -> Actor:
    """Create or update the user (and workspace) from a profile; stamp refreshed_at when we had one.

    `workspace_locale` (SALESBOT_LOCALE) is the language of a workspace created by this contact.
    """
    with uow.transaction() as session:
        if profile is None:
            actor = actor_for(session, team_id, slack_id, now, workspace_locale=workspace_locale)
        else:
            actor = actor_for(
                session, team_id, slack_id, now, name=profile.name, tz=profile.tz, is_slack_admin=profile.is_admin,
                workspace_locale=workspace_locale,
            )
            user = session.get(User, actor.user_id)
            assert user is not None
            user.refreshed_at = now
            # The full Slack locale (`en-GB`, `tr-TR`): its region says how the user writes dates
            # (core.dates: `15/12` is 15 December from en-GB, a question from plain `en`). Slack
            # is the source of truth: a user who switches to Turkish reads Turkish from then on.
            if profile.locale:
                if language_of(profile.locale):
                    user.locale = profile.locale[:10]
                else:  # not a language salesbot speaks: the workspace's, and the admins are told once
                    user.locale = None
                    session.flush()
                    _tell_admins_once(session, user, profile.locale, now)
            session.flush()
            actor = actor_of(session, user)
        return actor


class UserDirectory:
    """Resolves the Actor of a request, calling users.info only when the cache says so."""

    def __init__(self, uow: UnitOfWork, *, background: bool = True, default_locale: str | None = None) -> None:
        self.uow = uow
        self.default_locale = default_locale
        self.reads = SnapshotReads(uow)
        self.background = background
        self._executor: ThreadPoolExecutor | None = None
        # At most one refresh in flight per (team, user); tests wait on these.
        self.pending: dict[tuple[str, str], Future[Actor]] = {}

    def _background(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="users-info")
        return self._executor

    def actor(self, client: WebClient | None, team_id: str, slack_id: str, now: datetime) -> Actor:
        """The actor for (team, user), created on first contact with its Slack profile."""
        actor, fresh = _cached_actor(self.reads, team_id, slack_id, now)
        if actor is not None and (fresh or client is None):
            return actor
        if actor is None:
            profile = fetch_profile(client, slack_id) if client is not None else None
            return save_profile(self.uow, team_id, slack_id, now, profile, self.default_locale)
        # Known but stale: answer now with the cached profile, refresh off the ack path.
        assert client is not None
        if not self.background:
            return self._refresh(client, team_id, slack_id, now)
        key = (team_id, slack_id)
        running = self.pending.get(key)
        if running is None or running.done():
            self.pending[key] = self._background().submit(self._refresh, client, team_id, slack_id, now)
        return actor

    def _refresh(self, client: WebClient, team_id: str, slack_id: str, now: datetime) -> Actor:
        profile = fetch_profile(client, slack_id)
        return save_profile(self.uow, team_id, slack_id, now, profile, self.default_locale)

    def wait(self) -> None:
        """Block until background refreshes are done (tests, shutdown)."""
        for future in list(self.pending.values()):
            future.result()
