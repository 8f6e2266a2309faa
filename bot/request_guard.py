"""What every HTTP request to salesbot passes before anything parses it (SPEC 8, issue 12).

- Bodies are capped before they are read: the server refuses a Content-Length over
  `MAX_BODY` with 413 (waitress refuses the same for chunked bodies), so an unsigned 50 MB
  post costs neither memory nor disk.
- Slack's signature is checked here, on the raw bytes, before Bolt sees the request: a
  timestamp that is not unix seconds, is older than five minutes or a wrong signature gets 401
  and one short log line (path and reason, never the body, the signature or a response_url);
  a flood of them is cut to a few lines a minute (`LogThrottle`).
- A signed request must then be well-formed as Bolt reads it (UTF-8; a form, or a JSON object;
  no JSON nested deeper than `MAX_JSON_DEPTH`), else 400: Bolt would answer 500.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

MAX_BODY = 1024 * 1024
MAX_AGE_SECONDS = 300
# Slack's payloads nest about 10 levels (a view's state values); 64 leaves room and keeps
# every recursive reader (json, SQLAlchemy's JSON type, our own walkers) far from Python's limit.
MAX_JSON_DEPTH = 64
_CONTAINERS = (dict, list)
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"



class BadRequest(ValueError):
    """A request salesbot will not read: `status` (400, 401 or 413) and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def json_depth(value: Any, stop: int = MAX_JSON_DEPTH + 1) -> int:
    """How deeply a parsed JSON value nests arrays and objects (a scalar is 0), level by level
    without recursion; it stops counting at `stop`."""
    depth = 0
    level = [value] if type(value) in _CONTAINERS else []
    while level and depth < stop:
        depth += 1
        below: list[Any] = []
        for node in level:
            below += [c for c in (node.values() if type(node) is dict else node) if type(c) in _CONTAINERS]
        level = below
    return depth


def load_json(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, refusing (ValueError) a value that nests deeper than `max_depth`.

    The parser itself stops at Python's recursion limit (RecursionError, turned into
    ValueError here); what it parsed is then measured without recursion, so nothing read
    later (SQLAlchemy's JSON type, our own walkers) meets a value too deep for it.
    """
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise ValueError(f"the JSON nests deeper than {max_depth} levels") from exc
    # Fewer brackets than the limit cannot nest past it: most bodies skip the walk.
    brackets = text.count("[") + text.count("{")
    if brackets > max_depth and json_depth(value, max_depth + 1) > max_depth:
        raise ValueError(f"the JSON nests deeper than {max_depth} levels")
    return value


def content_length(environ: Mapping[str, Any]) -> int | None:
    """The declared Content-Length; None when it is not a number."""
    raw = str(environ.get("CONTENT_LENGTH") or "0").strip()
    return int(raw) if raw.isdigit() else None


def slack_signature_problem(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """None when the request is signed by Slack with `secret` and fresh, else why not (short)."""
    timestamp = (headers.get("x-slack-request-timestamp") or "").strip()
    signature = (headers.get("x-slack-signature") or "").strip()
    if not timestamp or not signature:
        return "unsigned"
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return "malformed timestamp"
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return "stale timestamp"
    expected = "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "wrong signature"
    return None


def check_slack_body(headers: Mapping[str, str], body: bytes) -> None:
    """Raise BadRequest(400) unless Bolt can read `body` (see slack_bolt.request.internals.parse_body)."""
    content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in (FORM, JSON):
        raise BadRequest(400, "unsupported content type")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(400, "the body is not UTF-8") from exc
    if not text:
        return
    try:
        if content_type == JSON or text.startswith("{"):
            parsed: Any = load_json(text)
        elif "payload" in text:
            payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
            parsed = {} if payload is None else load_json(payload)
        else:
            parsed = dict(parse_qsl(text, keep_blank_values=True))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise BadRequest(400, "malformed JSON") from exc
    if not isinstance(parsed, dict):
        raise BadRequest(400, "the body is not a JSON object")


class LogThrottle:
    """At most `burst` lines per `window` seconds; the lines held back are counted in the next one."""

    def __init__(self, burst: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._start = -window
        self._used = 0
        self._held = 0

    def log(self, logger: logging.Logger, message: str, *args: Any) -> None:
        with self._lock:
            now = self.clock()
            if now - self._start >= self.window:
                held, self._held = self._held, 0
                self._start, self._used = now, 0
                if held:
                    logger.warning("%d more refused requests in the last minute were not logged", held)
            if self._used >= self.burst:
                self._held += 1
                return
            self._used += 1
        logger.warning(message, *args)


class _NoBodiesInBoltLogs(logging.Filter):
    """Bolt logs a refused signature with the whole body, the signature and so any response_url;
    the server logs its own short line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Invalid request signature" not in str(record.msg)


def quiet_bolt_signature_log() -> None:
    """Drop Bolt's "Invalid request signature ... body: <body>" line (idempotent)."""
    bolt_logger = logging.getLogger("slack_bolt.RequestVerification")
    if not any(isinstance(f, _NoBodiesInBoltLogs) for f in bolt_logger.filters):
        bolt_logger.addFilter(_NoBodiesInBoltLogs())
