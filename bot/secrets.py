"""Tokens at rest: Fernet encryption with the key(s) of SALESBOT_ENCRYPTION_KEY.

SALESBOT_ENCRYPTION_KEY holds one Fernet key, or several separated by commas during a key
rotation: the first encrypts, every one of them decrypts (cryptography's MultiFernet). An
operator rotates without downtime in three steps:

1. `salesbot keys generate` prints a new key; put it FIRST in SALESBOT_ENCRYPTION_KEY on every
   replica, keeping the old one after it (`NEW,OLD`), and restart them: they read both.
2. `salesbot keys rotate` re-encrypts every stored token under the first key, in one transaction.
3. Drop the old key from the variable.

With one replica, `salesbot keys rotate --new-key NEW` does steps 1-2 at once (then set
SALESBOT_ENCRYPTION_KEY=NEW before the next start).
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

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
