"""OAuth install (HTTP mode) on our own tables: Bolt's flow, our stores, encrypted tokens.

- `InstallationStore`: Bolt's installation store over core.workspace.installations, tokens
  encrypted with SALESBOT_ENCRYPTION_KEY (bot/secrets.py). Saving an installation makes its
  workspace active (a reinstall brings an uninstalled workspace back with all its data).
- `StateStore`: the OAuth `state` is `nonce.expiry.signature`, HMAC-SHA256-signed with
  SALESBOT_STATE_SECRET; the nonce is kept in `oauth_states` until used once or expired. A
  forged state fails the signature, a replayed one finds no row, an old one is past its expiry.
- `oauth_settings`: Bolt's OAuthSettings with both stores, token rotation (refresh tokens,
  rotated `TOKEN_ROTATION_MINUTES` before they expire) and our callback pages: every failure
  (missing, forged or expired state, a code Slack refuses) is a short HTML page saying what
  happened and what to do, and nothing is stored.
- `WorkspaceClients`: the client of each workspace for the jobs (delivery), from the store,
  rotating an expiring token first; `pause` stops a workspace whose token Slack refuses.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from logging import Logger
from typing import Any

from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store import InstallationStore as BaseInstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator

from bot.clock import utcnow
from bot.config import Settings
from bot.secrets import TokenCipher
from core.db import UnitOfWork
from core.i18n import _, current_locale, language_of, use_locale
from core.notify import outbox
from core.workspace import installations as core_installations
from core.workspace.installations import InstallationRecord

logger = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
TOKEN_ROTATION_MINUTES = 120  # a rotating token is refreshed this long before it expires


def _dt(epoch: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _scopes(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else ",".join(value)


class InstallationStore(BaseInstallationStore):  # type: ignore[misc]
    """Bolt's installation store on the `installations` table, tokens encrypted at rest."""

    def __init__(self, uow: UnitOfWork, cipher: TokenCipher, clock: Callable[[], datetime] = utcnow) -> None:
        self.uow = uow
        self.cipher = cipher
        self.clock = clock

    @property
    def logger(self) -> Logger:
        return logger

    def save(self, installation: Installation) -> None:
        team_id = installation.team_id or installation.enterprise_id
        if not team_id or not installation.bot_token:
            raise ValueError("an installation without a team or a bot token cannot be stored")
        c = self.cipher
        record = InstallationRecord(
            team_id=team_id,
            enterprise_id=installation.enterprise_id,
            team_name=installation.team_name or "",
            app_id=installation.app_id,
            bot_id=installation.bot_id,
            bot_user_id=installation.bot_user_id,
            bot_scopes=_scopes(installation.bot_scopes),
            bot_token=c.encrypt(installation.bot_token),
            bot_refresh_token=c.encrypt_optional(installation.bot_refresh_token),
            bot_token_expires_at=_dt(installation.bot_token_expires_at),
            installer_user_id=installation.user_id,
            user_token=c.encrypt_optional(installation.user_token),
            user_refresh_token=c.encrypt_optional(installation.user_refresh_token),
            user_token_expires_at=_dt(installation.user_token_expires_at),
            user_scopes=_scopes(installation.user_scopes) or None,
            token_type=installation.token_type,
        )
        with self.uow.transaction() as session:
            core_installations.save_installation(session, record, self.clock())
        logger.info("workspace %s installed (bot token stored encrypted)", team_id)

    def save_bot(self, bot: Bot) -> None:
        """A rotated bot token (Bolt's authorize saves it here)."""
        team_id = bot.team_id or bot.enterprise_id
        with self.uow.transaction() as session:
            core_installations.update_tokens(
                session, team_id or "", self.clock(),
                bot_token=self.cipher.encrypt(bot.bot_token),
                bot_refresh_token=self.cipher.encrypt_optional(bot.bot_refresh_token),
                bot_token_expires_at=_dt(bot.bot_token_expires_at),
            )

    def _record(self, enterprise_id: str | None, team_id: str | None) -> InstallationRecord | None:
        key = team_id or enterprise_id
        if not key:
            return None
        with self.uow.read() as session:
            return core_installations.find_installation(session, key)

    def find_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        record = self._record(enterprise_id, team_id)
        if record is None or (user_id is not None and user_id != record.installer_user_id):
            return None
        c = self.cipher
        return Installation(
            app_id=record.app_id,
            enterprise_id=record.enterprise_id,
            team_id=record.team_id,
            team_name=record.team_name,
            bot_token=c.decrypt(record.bot_token),
            bot_id=record.bot_id,
            bot_user_id=record.bot_user_id,
            bot_scopes=record.bot_scopes,
            bot_refresh_token=c.decrypt_optional(record.bot_refresh_token),
            bot_token_expires_at=_epoch(record.bot_token_expires_at),
            user_id=record.installer_user_id or "",
            user_token=c.decrypt_optional(record.user_token),
            user_scopes=record.user_scopes,
            user_refresh_token=c.decrypt_optional(record.user_refresh_token),
            user_token_expires_at=_epoch(record.user_token_expires_at),
            token_type=record.token_type,
            installed_at=record.installed_at,
        )

    def find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        installation = self.find_installation(enterprise_id=enterprise_id, team_id=team_id)
        return installation.to_bot() if installation is not None else None

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        key = team_id or enterprise_id or ""
        with self.uow.transaction() as session:
            if user_id is None:
                core_installations.delete_installation(session, key)
            else:
                core_installations.delete_user_tokens(session, key, self.clock())

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.delete_installation(enterprise_id=enterprise_id, team_id=team_id)


# -- OAuth state ----------------------------------------------------------------------------


class StateStore(OAuthStateStore):  # type: ignore[misc]
    """Signed, expiring, single-use OAuth states (SALESBOT_STATE_SECRET)."""

    def __init__(
        self, uow: UnitOfWork, secret: str, clock: Callable[[], datetime] = utcnow, ttl: timedelta = STATE_TTL
    ) -> None:
        self.uow = uow
        self.key = secret.encode("utf-8")
        self.clock = clock
        self.ttl = ttl
        self._why = threading.local()  # why the last consume on this thread failed (for the page)

    @property
    def logger(self) -> Logger:
        return logger

    def _sign(self, body: str) -> str:
        digest = hmac.new(self.key, body.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def issue(self, *args: Any, **kwargs: Any) -> str:
        nonce = secrets.token_urlsafe(24)
        expires = self.clock() + self.ttl
        with self.uow.transaction() as session:
            core_installations.save_state(session, nonce, expires)
        body = f"{nonce}.{int(expires.timestamp())}"
        return f"{body}.{self._sign(body)}"

    def consume(self, state: str) -> bool:
        self._why.reason = "forged"
        parts = (state or "").split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return False
        nonce, expires, signature = parts
        if not hmac.compare_digest(self._sign(f"{nonce}.{expires}"), signature):
            return False
        now = self.clock()
        if int(expires) <= now.timestamp():
            self._why.reason = "expired"
            return False
        with self.uow.transaction() as session:
            if core_installations.consume_state(session, nonce, now):
                self._why.reason = None
                return True
        self._why.reason = "used"
        return False

    def last_failure(self) -> str | None:
        return getattr(self._why, "reason", None)


# -- callback pages -------------------------------------------------------------------------


def browser_language(headers: dict[str, Any], default: str = "en") -> str:
    """The first language of the browser's Accept-Language that salesbot speaks (`tr-TR,tr;q=0.9`)."""
    raw = headers.get("accept-language") or headers.get("Accept-Language") or ""
    value = raw[0] if isinstance(raw, list | tuple) else str(raw)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(value.split(",")):
        tag, _sep, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        language = language_of(tag.strip())
        if language is not None and weight > 0:
            ranked.append((-weight, i, language))
    return min(ranked)[2] if ranked else default


def _page(status: int, title: str, text: str, install_path: str | None = "/slack/install") -> BoltResponse:
    start_again = _("Start the installation again")
    again = f'<p><a href="{html.escape(install_path)}">{html.escape(start_again)}</a></p>' if install_path else ""
    body = (
        f"<!DOCTYPE html><html lang=\"{html.escape(current_locale())}\"><head><meta charset=\"utf-8\">"
        f"<title>salesbot: {html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p>{again}</body></html>"
    )
    return BoltResponse(status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"})


def callback_options(state_store: StateStore) -> CallbackOptions:
    """The pages a browser sees after Slack's consent screen, in the browser's language."""

    def success(args: SuccessArgs) -> BoltResponse:
        with use_locale(browser_language(args.request.headers)):
            team = args.installation.team_name or args.installation.team_id or _("your workspace")
            return _page(
                200, _("salesbot is installed"),
                _("salesbot is installed in {team}. Try /deal or /pipeline in Slack.").format(team=team),
                install_path=None,
            )

    def failure(args: FailureArgs) -> BoltResponse:
        with use_locale(browser_language(args.request.headers)):
            return _failure_page(args, state_store)

    return CallbackOptions(success=success, failure=failure)


def _failure_page(args: FailureArgs, state_store: StateStore) -> BoltResponse:
    reason = args.reason
    not_completed = _("Installation not completed")
    nothing = " " + _("Nothing was installed.")
    if reason == "invalid_browser":
        state = args.request.query.get("state", [None])[0]
        if not state:
            return _page(400, not_completed,
                         _("The link from Slack carried no state, so it cannot be checked.") + nothing)
        return _page(400, not_completed,
                     _("This installation was started in another browser (or cookies are off).") + nothing)
    if reason == "invalid_state":
        why = state_store.last_failure()
        if why == "expired":
            text = _("This installation link has expired (links are good for {minutes} minutes).").format(
                minutes=int(STATE_TTL.total_seconds() // 60))
        elif why == "used":
            text = _("This installation link was used already.")
        else:
            text = _("This installation link is not one salesbot issued.")
        return _page(401, not_completed, text + nothing)
    if reason == "missing_code":
        return _page(400, not_completed, _("Slack sent no authorization code.") + nothing)
    if reason == "invalid_code":
        return _page(401, not_completed,
                     _("Slack refused the authorization code (it may have been used already or expired).") + nothing)
    if reason == "access_denied":
        return _page(200, _("Installation cancelled"), _("The installation was cancelled in Slack.") + nothing)
    if reason == "storage_error":
        return _page(500, not_completed,
                     _("salesbot could not store the installation. Nothing was installed; try again later."))
    return _page(args.suggested_status_code, not_completed,
                 _("Slack answered {reason}.").format(reason=repr(reason)) + nothing)




def oauth_settings(settings: Settings, uow: UnitOfWork, scopes: list[str]) -> OAuthSettings:
    """Bolt's OAuthSettings: our stores, token rotation, our callback pages."""
    assert settings.slack_client_id and settings.slack_client_secret
    if not settings.state_secret:
        raise ValueError("SALESBOT_STATE_SECRET is not set: OAuth install signs its states with it")
    cipher = TokenCipher.from_setting(settings.encryption_key)
    state_store = StateStore(uow, settings.state_secret)
    oauth = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=scopes,
        installation_store=InstallationStore(uow, cipher),
        state_store=state_store,
        state_expiration_seconds=int(STATE_TTL.total_seconds()),
        token_rotation_expiration_minutes=TOKEN_ROTATION_MINUTES,
        callback_options=callback_options(state_store),
        authorization_url="https://slack.com/oauth/v2/authorize",
    )
    # Bolt's authorize refreshes expiring tokens with a client of its own on slack.com: use ours
    # (SLACK_API_URL), as every other call does. Its auth.test answer is kept per token (a rotated
    # token is a new entry), so an acknowledgement does not wait for an auth.test every request.
    oauth.authorize.cache_enabled = True
    oauth.authorize.token_rotator = TokenRotator(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
        client=WebClient(base_url=settings.slack_api_url, timeout=15),
    )
    return oauth


# -- clients for the jobs -------------------------------------------------------------------


class WorkspaceClients:
    """`client_for(workspace_id)`: that workspace's own bot token, rotated first when expiring.

    None when the workspace is not installed (or its token could not be refreshed: then it is
    paused and reported). Clients carry no retry handlers (bot/delivery.py retries itself).
    """

    def __init__(
        self, uow: UnitOfWork, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.uow = uow
        self.store = InstallationStore(uow, TokenCipher.from_setting(settings.encryption_key), clock)
        self.base_url = settings.slack_api_url
        self.clock = clock
        self.rotator = TokenRotator(
            client_id=settings.slack_client_id or "", client_secret=settings.slack_client_secret or "",
            client=WebClient(base_url=settings.slack_api_url, timeout=15),
        )
        self._cache: dict[str, WebClient] = {}
        self._lock = threading.Lock()

    def __call__(self, workspace_id: int) -> WebClient | None:
        from sqlalchemy import select

        from core.tables import Workspace

        with self.uow.read() as session:
            team_id = session.scalar(select(Workspace.team_id).where(Workspace.id == workspace_id))
        if not team_id:
            return None
        installation = self.store.find_installation(enterprise_id=None, team_id=team_id)
        if installation is None or not installation.bot_token:
            return None
        if installation.bot_refresh_token:
            try:
                refreshed = self.rotator.perform_token_rotation(
                    installation=installation, minutes_before_expiration=TOKEN_ROTATION_MINUTES
                )
            except SlackTokenRotationError as exc:
                error = _slack_error(exc.api_error) if exc.api_error is not None else "token rotation failed"
                self.pause(workspace_id, team_id, error)
                return None
            if refreshed is not None:
                self.store.save_bot(refreshed.to_bot())
                installation = refreshed
                logger.info("workspace %s: bot token rotated", team_id)
        token = installation.bot_token
        with self._lock:
            client = self._cache.get(token)
            if client is None:
                client = WebClient(token=token, base_url=self.base_url, timeout=15, retry_handlers=[])
                self._cache[token] = client
        return client

    def pause(self, workspace_id: int, team_id: str | None, error: str) -> None:
        """Stop sending to a workspace whose token Slack refuses; the others go on."""
        pause_workspace(self.uow, workspace_id, team_id, error, self.clock())


def pause_workspace(uow: UnitOfWork, workspace_id: int, team_id: str | None, error: str, now: datetime) -> bool:
    """Pause a workspace (its token fails) and say so in the log, never with the token."""
    with uow.transaction() as session:
        changed = core_installations.pause_workspace(session, workspace_id, f"Slack answered {error}", now)
        waiting = outbox.pending_count_of(session, workspace_id)
        team_id = team_id or core_installations.slack_team_id(session, workspace_id)
    if changed:
        logger.warning(
            "workspace %s paused: Slack answered %s to its bot token; %d message(s) wait until it is "
            "installed again (salesbot installs list)", team_id, error, waiting,
        )
    return changed


def _slack_error(exc: SlackApiError) -> str:
    data = exc.response.data if exc.response is not None else None
    return str(data.get("error") or "error") if isinstance(data, dict) else "error"


def reactivate_single_workspace(uow: UnitOfWork, client: WebClient, now: datetime) -> str | None:
    """Single-workspace mode, at start: SLACK_BOT_TOKEN's workspace is active again if Slack takes it.

    After an uninstall (or a revoked token) the operator reinstalls and sets the new token; the
    workspace it belongs to then sends again (what was set aside stays aside). Asks Slack only
    when some workspace is not active. Returns the team id made active, if any.
    """
    with uow.read() as session:
        if not core_installations.inactive_teams(session):
            return None
    try:
        team_id = str(client.auth_test()["team_id"])
    except (SlackApiError, SlackClientError, OSError) as exc:
        logger.warning("SLACK_BOT_TOKEN could not be checked (%s): inactive workspaces stay inactive",
                       exc.__class__.__name__)
        return None
    with uow.transaction() as session:
        changed = core_installations.reactivate(session, team_id, now)
    if changed:
        logger.info("workspace %s is active again: Slack accepts SLACK_BOT_TOKEN", team_id)
    return team_id if changed else None
