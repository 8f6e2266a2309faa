"""`salesbot keys generate` and `salesbot keys rotate`: the key Slack tokens are encrypted with.

SALESBOT_ENCRYPTION_KEY holds the key, or during a rotation several (`NEW,OLD`: the first
encrypts, each decrypts; bot/secrets.py). `keys rotate` re-encrypts every stored token under
the first key, or under `--new-key` when given, in one transaction: all tokens or none.
A token no configured key can read stops it with nothing changed (exit 1).
"""
from __future__ import annotations

import click

from bot.cli import settings_from
from bot.cli.data import _fail, _ready_engine
from bot.config import _is_fernet_key
from bot.secrets import ENV, SecretError, TokenCipher, generate_key, split_keys
from core.db import UnitOfWork
from core.workspace.installations import reencrypt_all


def register(main: click.Group) -> None:
    """Add `keys generate` and `keys rotate` to the `salesbot` command."""

    @main.group("keys")
    def keys_group() -> None:
        """The key stored Slack tokens are encrypted with (SALESBOT_ENCRYPTION_KEY)."""

    @keys_group.command("generate")
    def keys_generate() -> None:
        """Print a new random Fernet key (for SALESBOT_ENCRYPTION_KEY)."""
        click.echo(generate_key())

    @keys_group.command("rotate")
    @click.option("--new-key", default=None, metavar="KEY",
                  help="encrypt under this key (default: the first key of SALESBOT_ENCRYPTION_KEY)")
    @click.pass_context
    def keys_rotate(ctx: click.Context, new_key: str | None) -> None:
        """Re-encrypt every stored Slack token under the new key, in one transaction.

        \b
        Without downtime (several replicas):
          1. SALESBOT_ENCRYPTION_KEY=NEW,OLD on every replica, restarted (they read both)
          2. salesbot keys rotate
          3. SALESBOT_ENCRYPTION_KEY=NEW
        One replica: salesbot keys rotate --new-key NEW, then set SALESBOT_ENCRYPTION_KEY=NEW.
        """
        settings = settings_from(ctx)
        keys = split_keys(settings.encryption_key)
        if not keys:
            _fail(ctx, 2, f"{ENV} is not set: it must hold the key the stored tokens are encrypted with now")
        if new_key is not None:
            new_key = new_key.strip()
            if not _is_fernet_key(new_key):
                _fail(ctx, 2, "--new-key is not a Fernet key (44 characters, url-safe base64): make one with "
                              "salesbot keys generate")
            keys = [new_key, *[k for k in keys if k != new_key]]
        cipher = TokenCipher(keys)
        engine = _ready_engine(ctx)
        try:
            with UnitOfWork(engine).transaction() as session:
                count = reencrypt_all(session, cipher.rotate)
        except SecretError as err:
            _fail(ctx, 1, f"{err}; nothing was changed")
            return
        finally:
            engine.dispose()
        click.echo(f"Re-encrypted {count} stored token(s) under the new key.")
        if new_key is not None:
            click.echo(f"Now set {ENV} to the key given with --new-key (only that one) before the next start.")
        elif len(keys) > 1:
            click.echo(f"Every token reads with the first key alone now: drop the others from {ENV}.")
