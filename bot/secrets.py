"""Tokens at rest: Fernet encryption with the key(s) of SALESBOT_ENCRYPTION_KEY.

SALESBOT_ENCRYPTION_KEY holds one Fernet key, or several separated by commas during a key
rotation: the first encrypts, every one of them decrypts (cryptography's MultiFernet). An
operator rotates without downtime in three steps:

1. `salesbot keys generate` prints a new key; put it FIRST in SALESBOT_ENCRYPTION_KEY on every
   replica, keeping the old one after it (`NEW,OLD`), and restart them: they read both.
2. `salesbot keys rotate` re-encrypts every stored token (and each workspace's sealed lead-webhook
   secret) under the first key, in one transaction.
3. Drop the old key from the variable.

With one replica, `salesbot keys rotate --new-key NEW` does steps 1-2 at once (then set
SALESBOT_ENCRYPTION_KEY=NEW before the next start).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from core.tables import WorkspaceConfig
from core.workspace.setup import LEAD_WEBHOOK_CONFIG

ENV = "SALESBOT_ENCRYPTION_KEY"


class SecretError(Exception):
    """A stored secret cannot be read with the configured key(s); the message says what to do."""


def split_keys(value: str | None) -> list[str]:
    """The keys of a SALESBOT_ENCRYPTION_KEY value, in order (first one encrypts)."""
    return [k.strip() for k in (value or "").split(",") if k.strip()]


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


class TokenCipher:
    """Encrypts with the first key, decrypts with any of them."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretError(f"{ENV} is not set: OAuth installs keep Slack tokens encrypted with it")
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])

    @classmethod
    def from_setting(cls, value: str | None) -> TokenCipher:
        return cls(split_keys(value))

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretError(
                f"a stored Slack token cannot be decrypted with {ENV}: the key that encrypted it is missing "
                "(during a key rotation list both keys, new first: NEW,OLD)"
            ) from None

    def rotate(self, stored: str) -> str:
        """The same secret encrypted under the first key (readable by any configured key)."""
        try:
            return self._fernet.rotate(stored.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise SecretError(
                f"a stored Slack token cannot be decrypted with the configured keys: add the key that "
                f"encrypted it to {ENV} (after the new one) and run the rotation again"
            ) from None

    def encrypt_optional(self, secret: str | None) -> str | None:
        return self.encrypt(secret) if secret else None

    def decrypt_optional(self, stored: str | None) -> str | None:
        return self.decrypt(stored) if stored else None


def webhook_secret_seal(settings: Settings) -> Callable[[str], str] | None:
    """How a workspace's lead-webhook secret is stored: encrypted when the install has a key."""
    keys = split_keys(settings.encryption_key)
    return TokenCipher(keys).encrypt if keys else None


def open_webhook_secret(data: Mapping[str, Any], settings: Settings) -> str | None:
    """A stored workspace webhook secret, readable again (None: none stored).

    Raises SecretError when it was sealed and no configured key opens it."""
    if data.get("sealed"):
        return TokenCipher.from_setting(settings.encryption_key).decrypt(str(data["sealed"]))
    own = data.get("secret")
    return str(own) if own else None


def stored_webhook_secrets(session: Session, settings: Settings) -> list[str]:
    """Every workspace's own lead-webhook secret that can be opened (for the log redactor at start)."""
    found = []
    for data in session.scalars(select(WorkspaceConfig.data).where(WorkspaceConfig.name == LEAD_WEBHOOK_CONFIG)):
        try:
            own = open_webhook_secret(data, settings) if isinstance(data, dict) else None
        except SecretError:
            continue  # said when a request needs it (bot/webhooks.py)
        if own:
            found.append(own)
    return found
