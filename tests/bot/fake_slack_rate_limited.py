"""A fake Slack Web API that enforces rate limits and misbehaves on purpose, on a virtual clock.

- Limits like Slack's chat.postMessage: a token bucket per channel (1 message a second,
  with a small burst) and one for the whole workspace; over the limit it answers HTTP 429
  with `Retry-After` (whole seconds, as Slack does) and posts nothing.
- Chaos: with probabilities `p429` / `p500` a call answers 429 or 500 without posting.
- `permanent`: channels answering a permanent error (e.g. {"CGONE": "channel_not_found"}).
- Time is a `VirtualClock` shared with the code under test: its `sleep` advances the clock,
  so a benchmark of minutes of Slack time runs in seconds, and rates are exact.
- `posted` keeps every message accepted, with its outbox key (from `metadata`) and the
  virtual time, to count duplicates and measure the achieved rate; `conversations.history`
  answers from the same posts (with their metadata), `conversations.open` names DMs `D<id>`.
"""
from __future__ import annotations

import itertools
import json
import math
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.bot.fake_slack import serving


class VirtualClock:
    """An aware UTC clock that only moves when someone sleeps on it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._t = start or datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self) -> datetime:
        with self._lock:
            return self._t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._t += timedelta(seconds=max(seconds, 0.0))
            self.slept += max(seconds, 0.0)

    def seconds(self) -> float:
        return self.now().timestamp()


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    stamp: float

    def try_take(self, t: float) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + max(0.0, t - self.stamp) * self.rate)
        self.stamp = max(self.stamp, t)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class Posted:
    channel: str
    key: str | None
    at: float
    text: str


@dataclass
class RateLimitedSlack:
    clock: VirtualClock
    channel_rate: float = 1.0
    channel_burst: float = 3.0
    workspace_rate: float = 10.0
    workspace_burst: float = 20.0
    p429: float = 0.0
    p500: float = 0.0
    seed: int = 7
    permanent: dict[str, str] = field(default_factory=dict)
    posted: list[Posted] = field(default_factory=list)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # conversation -> posts
    uploads: list[dict[str, Any]] = field(default_factory=list)
    answered: dict[int, int] = field(default_factory=dict)  # HTTP status -> count
    server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _channels: dict[str, _Bucket] = field(default_factory=dict)
    _workspace: _Bucket | None = None
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def posted_keys(self) -> list[str | None]:
        with self._lock:
            return [p.key for p in self.posted]

    def _limit(self, channel: str, t: float) -> float:
        if self._workspace is None:
            self._workspace = _Bucket(self.workspace_rate, self.workspace_burst, self.workspace_burst, t)
        bucket = self._channels.setdefault(channel, _Bucket(self.channel_rate, self.channel_burst,
                                                              self.channel_burst, t))
        # Peek the channel first so a refused call does not spend a workspace token.
        wait_ch = bucket.try_take(t)
        if wait_ch:
            return wait_ch
        wait_ws = self._workspace.try_take(t)
        if wait_ws:
            bucket.tokens += 1  # give the channel token back
            return wait_ws
        return 0.0

    def handle(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            roll = self._rng.random()
            if roll < self.p429:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
            if roll < self.p429 + self.p500:
                return 500, {"ok": False, "error": "fatal_error"}, {}
            channel = str(body.get("channel") or body.get("channel_id") or "")
            if method in ("chat.postMessage", "chat.update"):
                if channel in self.permanent:
                    return 200, {"ok": False, "error": self.permanent[channel]}, {}
                t = self.clock.seconds()
                wait = self._limit(channel, t)
                if wait:
                    return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(max(1, math.ceil(wait)))}
                ts = f"{int(t)}.{next(self._ts):06d}"  # Slack-like, on the virtual clock
                if method == "chat.postMessage":
                    meta = body.get("metadata") or {}
                    if isinstance(meta, str):
                        meta = json.loads(meta)
                    key = (meta.get("event_payload") or {}).get("key")
                    self.posted.append(Posted(channel, key, t, str(body.get("text", ""))))
                    if channel.startswith("U"):
                        channel = "D" + channel[1:]
                    self.history.setdefault(channel, []).append({"ts": ts, "metadata": meta})
                return 200, {"ok": True, "channel": channel, "ts": body.get("ts") or ts}, {}
            if method == "conversations.open":
                return 200, {"ok": True, "channel": {"id": "D" + str(body.get("users", "")).split(",")[0][1:]}}, {}
            if method == "conversations.history":
                oldest = float(body.get("oldest") or 0)
                found = [m for m in reversed(self.history.get(channel, [])) if float(m["ts"]) > oldest]
                return 200, {"ok": True, "messages": found, "response_metadata": {"next_cursor": ""}}, {}
            if method == "files.getUploadURLExternal":
                file_id = f"F{next(self._ts):08d}"
                return 200, {"ok": True, "upload_url": f"{self.url}upload/{file_id}", "file_id": file_id}, {}
            if method == "files.completeUploadExternal":
                self.uploads.append(body)
                files = body.get("files")
                if isinstance(files, str):
                    files = json.loads(files)
                return 200, {"ok": True, "files": [{"id": f["id"]} for f in files or []]}, {}
            return 200, {"ok": True}, {}


def _handler(fake: RateLimitedSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            parsed = urlparse(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            method = parsed.path.strip("/").removeprefix("api/")
            if method.startswith("upload/"):
                status, payload, headers = 200, {"ok": True}, {}
            else:
                text = raw.decode("utf-8", errors="replace")
                if text.lstrip().startswith("{"):
                    body = json.loads(text)
                else:
                    body = {k: v[0] for k, v in parse_qs(text or parsed.query).items()}
                status, payload, headers = fake.handle(method, body)
            with fake._lock:
                fake.answered[status] = fake.answered.get(status, 0) + 1
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST

    return Handler


@contextmanager
def running_rate_limited_slack(clock: VirtualClock, **options: Any) -> Iterator[RateLimitedSlack]:
    """Start a RateLimitedSlack on 127.0.0.1:0; stop it at the end."""
    fake = RateLimitedSlack(clock=clock, **options)
    fake.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    with serving(fake.server, "fake-slack-rl"):
        yield fake
