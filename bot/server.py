"""The HTTP face (SPEC 8): a small WSGI app served by waitress.

Routes:
- `POST /slack/events`: Bolt (slash commands, interactivity, events) — HTTP mode only.
- `GET /slack/install`, `GET /slack/oauth_redirect`: Bolt's OAuth flow, when configured.
- `POST /hooks/leads`, `POST /hooks/lead-events`: the lead intake webhook (bot/webhooks.py).
- `GET /healthz`: 200 `{"ok": true, "db": "ok"}` when the database answers, else 503 (liveness).
- `GET /readyz`: 200 when the database answers and its migrations are at head, else 503 with
  the reason (readiness: a replica on an unmigrated database takes no traffic).
- `GET /metrics`: Prometheus text format (bot/metrics.py); Slack requests are timed to their ack.
In Socket Mode the same server runs without the Slack routes (webhooks and health only).

Hostile requests (bot/request_guard.py): a body over 1 MiB is refused (413) on its
Content-Length before a byte is read; a Slack request is signature-checked and shape-checked
here, before Bolt, so a bad one gets 401 or 400 (never 500) and one short, rate-limited log
line with the path and the reason — never the body, the signature or a response_url.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App

from bot import webhooks
from bot.config import Settings
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.metrics import METRICS, Metrics, request_kind
from bot.request_guard import (
    MAX_BODY,
    BadRequest,
    LogThrottle,
    check_slack_body,
    content_length,
    slack_signature_problem,
)
from core.db import UnitOfWork, migration_state, ping

logger = logging.getLogger(__name__)

# Refused requests are logged in one short line each, at most a few a minute.
_REFUSED_LOG = LogThrottle(burst=5, window=60.0)

StartResponse = Callable[..., Any]
Environ = dict[str, Any]

SLACK_EVENTS_PATH = "/slack/events"
OAUTH_PATHS = ("/slack/install", "/slack/oauth_redirect")
HOOK_PATHS = ("/hooks/leads", "/hooks/lead-events")
# Webhook bodies over 1 MiB are refused (413) by bot.webhooks; never read more than that.
MAX_HOOK_BODY = MAX_BODY
# Slack's requests over 1 MiB are refused (413) before a byte of them is read.
MAX_SLACK_BODY = MAX_BODY

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _status_line(code: int) -> str:
    return f"{code} {_STATUS_TEXT.get(code, 'Status')}"


def _json(start_response: StartResponse, code: int, payload: dict[str, Any]) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(_status_line(code), [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _headers_of(environ: Environ) -> dict[str, str]:
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def _read_body(environ: Environ, limit: int) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    # Read one byte past the limit at most, so an oversized body is seen as such.
    return bytes(stream.read(min(length, limit + 1))) if length > 0 else b""


class SalesbotServer:
    """The WSGI callable: routes requests to Bolt, the webhooks and the health check."""

    def __init__(
        self,
        settings: Settings,
        uow: UnitOfWork,
        *,
        bolt_app: App | None,
        clock: Callable[[], datetime],
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.uow = uow
        self.clock = clock
        self.metrics = metrics or METRICS
        self.metrics.watch_outbox(uow, clock)
        self.bolt_handler: Callable[[Environ, StartResponse], Iterable[bytes]] | None = None
        if bolt_app is not None:
            from slack_bolt.adapter.wsgi import SlackRequestHandler

            self.bolt_handler = SlackRequestHandler(bolt_app, path=SLACK_EVENTS_PATH)
        self.oauth = bolt_app is not None and bolt_app.oauth_flow is not None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        try:
            if path == "/healthz":
                if method not in ("GET", "HEAD"):
                    return _json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
                return self.health(start_response)
            if path in ("/readyz", "/metrics"):
                if method not in ("GET", "HEAD"):
                    return _json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
                return self.ready(start_response) if path == "/readyz" else self.scrape(start_response)
            if path == SLACK_EVENTS_PATH and self.bolt_handler is not None:
                if method != "POST":
                    return _json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
                return self.slack(environ, start_response)
            if path in OAUTH_PATHS and self.oauth and self.bolt_handler is not None:
                return self.bolt_handler(environ, start_response)
            if path in HOOK_PATHS:
                if method != "POST":
                    return _json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
                length = content_length(environ)
                if length is None:
                    return _json(start_response, 400, {"ok": False, "error": "bad Content-Length"})
                if length > MAX_HOOK_BODY:
                    return _json(start_response, 413, {"ok": False, "error": "the body is over 1 MiB"})
                return self.hook(environ, start_response, path)
            return _json(start_response, 404, {"ok": False, "error": "not_found"})
        except Exception:
            logger.exception("%s %s failed", method, path)
            return _json(start_response, 500, {"ok": False, "error": "internal_error"})

    def slack(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Check size, signature and shape of a Slack request, then hand it to Bolt.

        Everything refused here is answered without Bolt (which would log the body of a bad
        signature and answer 500 to a malformed one) and logged in one short line."""
        assert self.bolt_handler is not None
        length = content_length(environ)
        if length is None:
            return self._refuse(start_response, BadRequest(400, "bad Content-Length"))
        if length > MAX_SLACK_BODY:
            return self._refuse(start_response, BadRequest(413, "body over 1 MiB"))
        body = _read_body(environ, MAX_SLACK_BODY)
        headers = _headers_of(environ)
        why = slack_signature_problem(self.settings.slack_signing_secret or "", headers, body, time.time())
        if why is not None:
            return self._refuse(start_response, BadRequest(401, why))
        try:
            check_slack_body(headers, body)
        except BadRequest as bad:
            return self._refuse(start_response, bad)
        # Bolt reads the body again from wsgi.input: give it the bytes already read.
        environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        started = time.perf_counter()
        # Bolt's WSGI adapter answers once the listener acked (the rest runs after): this is the ack.
        answer = self.bolt_handler(environ, start_response)
        self.metrics.observe_ack(*request_kind(headers, body), time.perf_counter() - started)
        return answer

    def _refuse(self, start_response: StartResponse, bad: BadRequest) -> list[bytes]:
        _REFUSED_LOG.log(logger, "refused %s %s: %s", bad.status, SLACK_EVENTS_PATH, bad.reason)
        return _json(start_response, bad.status, {"ok": False, "error": bad.reason})

    def health(self, start_response: StartResponse) -> list[bytes]:
        """200 when the database answers a query, 503 when it does not."""
        if ping(self.uow.engine):
            return _json(start_response, 200, {"ok": True, "db": "ok"})
        return _json(start_response, 503, {"ok": False, "db": "unreachable"})

    def ready(self, start_response: StartResponse) -> list[bytes]:
        """200 when the database answers and is migrated to head; 503 with the reason otherwise."""
        try:
            current, heads = migration_state(self.uow.engine)
        except Exception as exc:
            logger.warning("readyz: the database is unreachable (%s)", exc.__class__.__name__)
            return _json(start_response, 503, {"ok": False, "reason": "database unreachable"})
        if current != heads:
            reason = "database not migrated" if not current else "migrations not at head"
            return _json(
                start_response, 503,
                {"ok": False, "reason": f"{reason}: run salesbot migrate", "current": sorted(current),
                 "head": sorted(heads)},
            )
        return _json(start_response, 200, {"ok": True, "db": "ok", "revision": sorted(current)})

    def scrape(self, start_response: StartResponse) -> list[bytes]:
        data = self.metrics.exposition()
        start_response(_status_line(200), [("Content-Type", METRICS_CONTENT_TYPE), ("Content-Length", str(len(data)))])
        return [data]

    def hook(self, environ: Environ, start_response: StartResponse, path: str) -> list[bytes]:
        """Hand a webhook request to bot.webhooks.handle_request."""
        body = _read_body(environ, MAX_HOOK_BODY)
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        status, payload = webhooks.handle_request(
            self.uow, self.settings, path, query, _headers_of(environ), body, self.clock()
        )
        return _json(start_response, int(status), payload)


def make_waitress_server(wsgi_app: SalesbotServer, host: str, port: int, threads: int = 8) -> Any:
    """A waitress server bound to (host, port), not yet serving (call .run())."""
    import gc

    from waitress.server import create_server

    # What exists now (modules, the app, its caches) lives as long as the process: freezing it
    # keeps the collector from rescanning it during requests, which showed in the p99 latency.
    gc.collect()
    gc.freeze()
    # max_request_body_size: waitress answers 413 to a larger (e.g. chunked) body without buffering it.
    return create_server(
        wsgi_app, host=host, port=port, threads=threads, ident="salesbot", max_request_body_size=MAX_BODY
    )
