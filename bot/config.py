"""Settings from environment variables (and a .env file), checked once at start.

A missing or wrong variable stops the program with one line naming the variable and the
fix (SPEC section 2), never a traceback: `ConfigError` carries that line.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
MIN_SECRET = 16  # characters of a secret salesbot checks HMACs or OAuth state with


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///salesbot.db"
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    state_secret: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    lead_webhook_secret: str | None = None
    scheduler: bool = True
    locale: str = "en"
    log_level: str = "INFO"
    log_format: str = "text"  # text or json (bot/logs.py)
    # Fernet key(s) for stored Slack tokens (bot/secrets.py): "KEY" or, while rotating, "NEW,OLD".
    encryption_key: str | None = None
    port: int = 3000

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def oauth(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def has_slack(self) -> bool:
        return bool(self.slack_bot_token or self.oauth)


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def load_settings(env: Mapping[str, str] | None = None, *, read_dotenv: bool = True) -> Settings:
    """Read and check the settings; raise ConfigError with a one-line fix on bad values."""
    if env is None:
        if read_dotenv:
            from dotenv import load_dotenv

            load_dotenv(override=False)
        env = os.environ
    db = _get(env, "DATABASE_URL") or Settings.database_url
    _check_database_url(db)
    port_text = _get(env, "PORT") or "3000"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"PORT={port_text!r} is not a port number: set PORT to 1-65535 (default 3000)")
    log_format = (_get(env, "LOG_FORMAT") or "text").lower()
    if log_format not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT={log_format!r}: set it to text or json (default text)")
    key = _get(env, "SALESBOT_ENCRYPTION_KEY")
    if key is not None and not all(_is_fernet_key(k.strip()) for k in key.split(",")):
        raise ConfigError(
            "SALESBOT_ENCRYPTION_KEY is not a Fernet key (32 bytes, url-safe base64, 44 characters; during a "
            "rotation NEW,OLD): make one with salesbot keys generate"
        )
    for name in ("SALESBOT_STATE_SECRET", "SALESBOT_LEAD_WEBHOOK_SECRET"):
        secret = _get(env, name)
        if secret is not None and len(secret) < MIN_SECRET:
            raise ConfigError(
                f"{name} is {len(secret)} characters: use a random secret of at least {MIN_SECRET} "
                "(e.g. openssl rand -hex 32)"
            )
    signing = _get(env, "SLACK_SIGNING_SECRET")
    if signing is not None and (signing.startswith(("xox", "xapp-")) or any(c.isspace() for c in signing)):
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not a signing secret (that looks like a token, or has spaces): copy the "
            "Signing Secret from the app's Basic Information page"
        )
    scheduler = (_get(env, "SALESBOT_SCHEDULER") or "on").lower()
    if scheduler not in ("on", "off"):
        raise ConfigError(f"SALESBOT_SCHEDULER={scheduler!r}: set it to on or off")
    locale = (_get(env, "SALESBOT_LOCALE") or "en").lower()
    if locale not in ("en", "tr"):
        raise ConfigError(f"SALESBOT_LOCALE={locale!r}: supported locales are en and tr")
    level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL={level!r}: use DEBUG, INFO, WARNING or ERROR")
    api_url = _get(env, "SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(f"SLACK_API_URL={api_url!r} must start with http:// or https://")
    if not api_url.endswith("/"):
        api_url += "/"
    bot_token = _get(env, "SLACK_BOT_TOKEN")
    if bot_token and not bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb- (OAuth & Permissions page)")
    app_token = _get(env, "SLACK_APP_TOKEN")
    if app_token and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp- (Basic Information page)")
    client_id, client_secret = _get(env, "SLACK_CLIENT_ID"), _get(env, "SLACK_CLIENT_SECRET")
    if bool(client_id) != bool(client_secret):
        raise ConfigError("Set both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth install, or neither")
    if client_id and not re.fullmatch(r"\d+\.\d+", client_id):
        raise ConfigError(
            f"SLACK_CLIENT_ID={client_id!r} is not a Slack client id (digits.digits, from the app's Basic "
            "Information page)"
        )
    if client_id and key is None:
        raise ConfigError(
            "SALESBOT_ENCRYPTION_KEY is not set: an OAuth install (SLACK_CLIENT_ID) stores each workspace's Slack "
            "tokens encrypted with it; make one with salesbot keys generate"
        )
    if client_id and _get(env, "SALESBOT_STATE_SECRET") is None:
        raise ConfigError(
            "SALESBOT_STATE_SECRET is not set: an OAuth install (SLACK_CLIENT_ID) signs its install links with it; "
            f"use a random secret of at least {MIN_SECRET} characters (e.g. openssl rand -hex 32)"
        )
    return Settings(
        database_url=db,
        slack_bot_token=bot_token,
        slack_signing_secret=_get(env, "SLACK_SIGNING_SECRET"),
        slack_app_token=app_token,
        slack_client_id=client_id,
        slack_client_secret=client_secret,
        state_secret=_get(env, "SALESBOT_STATE_SECRET"),
        slack_api_url=api_url,
        lead_webhook_secret=_get(env, "SALESBOT_LEAD_WEBHOOK_SECRET"),
        scheduler=scheduler == "on",
        locale=locale,
        log_level=level,
        log_format=log_format,
        encryption_key=key,
        port=int(port_text),
    )


def _check_database_url(url: str) -> None:
    """Refuse a DATABASE_URL salesbot cannot use, naming the forms it takes."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    accepted = (
        "sqlite:///path/to/salesbot.db or postgresql+psycopg://user:password@host:5432/dbname "
        "(postgresql:// and postgres:// are read as psycopg)"
    )
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL={_redacted(url)!r} is not a database URL: use {accepted}") from None
    driver = parsed.drivername
    if driver in ("postgres", "postgresql", "postgresql+psycopg"):
        if parsed.database:
            return
        raise ConfigError(f"DATABASE_URL={_redacted(url)!r} names no database: use {accepted}")
    if driver in ("sqlite", "sqlite+pysqlite"):
        return
    raise ConfigError(f"DATABASE_URL={_redacted(url)!r} is not supported: use {accepted}")


def _redacted(url: str) -> str:
    """The URL without its password (it goes into an error line)."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32 and len(key) == 44
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
