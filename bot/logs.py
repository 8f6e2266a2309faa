"""Logging set up once at start (`configure_logging`): text or JSON lines, secrets redacted.

- `LOG_FORMAT=text` (default): `time LEVEL logger: message`; `LOG_FORMAT=json`: one JSON object
  a line with `time` (ISO 8601, UTC), `level`, `logger`, `message`, the fields passed with
  `extra=`, and `exception` / `stack` when there are any.
- `Redactor`, a filter on the handler, rewrites every record before any formatter sees it: the
  message with its arguments, the exception text and the extra fields lose every known secret
  of the Settings (tokens, signing, client, state and webhook secrets, the encryption key,
  the database password), each workspace's own webhook secret once it has been read or set
  (`redact_from_now_on`), anything shaped like a Slack token (xoxb-, xoxp-, xoxe-, xapp-...),
  a password in a URL, and e-mail addresses (a lead's e-mail is personal data). That holds
  for our lines and for every library's (slack_sdk logs request bodies at DEBUG).
"""
from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import quote, quote_plus

from bot.config import Settings

SECRET = "[redacted]"
TOKEN = "[redacted-token]"
EMAIL = "[redacted-email]"
_TOKEN_RE = re.compile(r"\b(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9._%\-]*")
# The lookbehind starts a match only where a run of name characters starts: linear, not
# quadratic, on long runs without an @.
_EMAIL_RE = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_URL_PASSWORD_RE = re.compile(r"(://[^:/@\s]*:)[^@\s/]+@")
MIN_LITERAL = 6  # shorter "secrets" would redact ordinary words
# The attributes every LogRecord has; anything else came with `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def settings_secrets(settings: Settings) -> list[str]:
    """The secret values a Settings holds (the database password too)."""
    values = [
        settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token,
        settings.slack_client_secret, settings.state_secret, settings.lead_webhook_secret,
        settings.encryption_key,
    ]
    from sqlalchemy.engine import make_url

    with contextlib.suppress(Exception):  # not a URL SQLAlchemy reads: config.py refuses it anyway
        values.append(make_url(settings.database_url).password)
    return [v for v in values if v]


class Redactor(logging.Filter):
    """Rewrites each record without its secrets; never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._literals: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Redact these values too (e.g. a workspace's webhook secret read from the database)."""
        literals = list(self._literals)
        for secret in secrets:
            if not secret or len(secret) < MIN_LITERAL:
                continue
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                if form not in literals:
                    literals.append(form)
        # A longer secret first, whole. A new list, swapped in at once: another thread redacting
        # meanwhile reads the old list or the new one, never one half sorted.
        self._literals = sorted(literals, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for literal in self._literals:
            if literal in text:
                text = text.replace(literal, SECRET)
        # Each pattern runs only where its anchor appears (most lines have none of them).
        if "xox" in text or "xapp-" in text:
            text = _TOKEN_RE.sub(TOKEN, text)
        if "://" in text:
            text = _URL_PASSWORD_RE.sub(r"\1***@", text)
        if "@" in text or "%40" in text:
            text = _EMAIL_RE.sub(EMAIL, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is, readable
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # Formatters print exc_text when it is set: the redacted text stands for the exception.
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, self._clean(value))
        return True

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        return self.redact(repr(value)) if not isinstance(value, (dict, list, tuple)) else json.loads(
            self.redact(json.dumps(value, default=str))
        )


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


class _Stderr(logging.StreamHandler[IO[str]]):
    """Writes to whatever sys.stderr is at the time (a test runner may swap and close it)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


def make_handler(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler in the configured format (stderr by default), with the Redactor."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(Redactor([*settings_secrets(settings), *_LEARNED]))
    return handler


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log line through one redacting handler in the configured format, at LOG_LEVEL.

    The handler goes first on the root logger, so its filter has redacted a record before any
    other handler there (a test's capture) sees it; a second call replaces the first handler.
    Returns the handler (`redactor_of(handler).add(...)` redacts values learned later).
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "salesbot_handler", False):
            root.removeHandler(old)
    handler = make_handler(settings, stream)
    handler.salesbot_handler = True  # type: ignore[attr-defined]
    root.handlers.insert(0, handler)
    root.setLevel(settings.log_level)
    # Alembic logs every plugin at INFO: keep stderr for our own lines unless debugging (set
    # both ways: a process configured twice, as the tests do, must not keep the first choice).
    logging.getLogger("alembic").setLevel(logging.NOTSET if settings.log_level == "DEBUG" else logging.WARNING)
    return handler


# Secrets learned while running (each workspace's own lead-webhook secret, read from the
# database or typed into /salesbot setup), redacted from then on by every handler made here.
_LEARNED: set[str] = set()


def redact_from_now_on(*secrets: str | None) -> None:
    """Redact these values from every later log line (cheap when they are known already)."""
    new = {s for s in secrets if s and len(s) >= MIN_LITERAL and s not in _LEARNED}
    if not new:
        return
    _LEARNED.update(new)
    for handler in logging.getLogger().handlers:
        if getattr(handler, "salesbot_handler", False):
            redactor_of(handler).add(*new)


def redactor_of(handler: logging.Handler) -> Redactor:
    """The Redactor on a handler made here (to add secrets learned at run time)."""
    return next(f for f in handler.filters if isinstance(f, Redactor))
