"""A fake Slack Web API on 127.0.0.1 (port 0), in a thread, recording every call.

Modelled on bolt-python's tests/mock_web_api_server: a stdlib HTTP server that answers
`POST /<method>` with `{"ok": true, ...}` and remembers the JSON or form body, so tests
assert on what the bot sent (`fake.calls("chat.postMessage")`). Response URLs live on the
same server at `/response_url/<id>` (`fake.response_url("c1")` builds one; posts are recorded
under the method name "response_url"). Posted messages are kept per conversation (a post to a
user id lands in the DM `D<id>`, as conversations.open names it) with Slack-like timestamps
from the real clock, and `conversations.history` answers from them (newest first, `oldest`,
`limit`/`cursor` paging, `metadata` only with `include_all_metadata`).
`fake.fail_next("chat.postMessage", 2, status=429, retry_after=1)` makes the next N calls
fail. OAuth: `fake.install("code1", Grant("T1", "Acme", "xoxb-t1", refresh_token=..., expires_in=60))`
makes oauth.v2.access accept that code once (any other code: invalid_code), refresh-token grants
answer a new token each (the old refresh token is spent), auth.test names each token's team, and
`fake.revoked.add(token)` makes every call with that token answer token_revoked.
`fake.wait_for(method, count)` blocks (with a deadline, no sleeps) until that many
calls arrived, for work done after the ack.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Call:
    """One request the fake received."""

    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    path: str

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)


@dataclass
class Failure:
    status: int
    remaining: int
    retry_after: int | None = None
    error: str | None = None


@dataclass
class SlackUser:
    """A users.info profile the fake knows."""

    id: str
    name: str
    tz: str = "UTC"
    is_admin: bool = False
    is_owner: bool = False
    locale: str = "en-US"
    is_bot: bool = False  # deal rooms refuse bots: set it on a user add_user returned

    def as_json(self, team_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name.lower(),
            "real_name": self.name,
            "deleted": False,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": 0,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": False,
            "is_bot": self.is_bot,
            "locale": self.locale,
            "profile": {"real_name": self.name, "display_name": self.name},
        }


@dataclass
class Grant:
    """What oauth.v2.access answers for an install code (or a refresh token) of one team."""

    team_id: str
    team_name: str
    access_token: str
    refresh_token: str | None = None  # set: the app has token rotation on
    expires_in: int | None = None
    bot_user_id: str = "UBOT2"


SCOPES = "commands,chat:write,users:read,files:write,channels:history,groups:history,im:history,im:write"


@dataclass
class FakeSlack:
    """State of the fake server: recorded calls, known users, injected failures."""

    team_id: str = "T1"
    users: dict[str, SlackUser] = field(default_factory=dict)
    _calls: list[Call] = field(default_factory=list)
    _failures: dict[str, Failure] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    # conversation id -> messages posted there, oldest first
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None
    # apps.connections.open answers this WebSocket URL (a Socket Mode test server).
    socket_mode_url: str | None = None
    # OAuth: install codes oauth.v2.access accepts (any other answers invalid_code), the refresh
    # tokens it accepts (each once: a refresh grant answers a new token and a new refresh token),
    # the team of each bot token (auth.test), and tokens Slack refuses (token_revoked).
    codes: dict[str, Grant] = field(
        default_factory=lambda: {"c0de": Grant("T2", "Second", "xoxb-installed-T2")}
    )
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    token_teams: dict[str, str] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    refresh_expires_in: int = 12 * 3600
    _grants: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    # Deal rooms: the channels conversations.create made (see the "channels" block below).
    channels: dict[str, FakeChannel] = field(default_factory=dict)
    taken_names: set[str] = field(default_factory=set)  # names of channels someone else made
    refuse_create: str | None = None  # conversations.create answers this error while set
    refuse_invite: dict[str, str] = field(default_factory=dict)  # user id -> the error inviting them answers

    # --- cards kept current (issue 15 point 2): chat.update ----------------------------
    # chat.update changes the stored message (text, blocks, metadata) and is recorded like any
    # call; `updates()` lists them. A message in `deleted` (channel, ts), or one never posted,
    # answers message_not_found, as Slack does for a message someone deleted.
    deleted: set[tuple[str, str]] = field(default_factory=set)

    def updates(self, ts: str | None = None) -> list[Call]:
        """The chat.update calls (of one message when `ts` is given)."""
        return [c for c in self.calls("chat.update") if ts is None or c.get("ts") == ts]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message as it stands now in `channel` (after its updates), or None."""
        with self._cond:
            return next((m for m in self.history.get(dm_channel(channel), []) if m["ts"] == ts), None)

    def _chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = dm_channel(str(body.get("channel") or "")), str(body.get("ts") or "")
        metadata = body.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        with self._cond:
            found = next((m for m in self.history.get(channel, []) if m["ts"] == ts), None)
            if found is None or (channel, ts) in self.deleted:
                return {"ok": False, "error": "message_not_found"}
            found.update({k: body.get(k) for k in ("text", "blocks") if k in body})
            if metadata is not None:
                found["metadata"] = metadata
            message = {k: found.get(k) for k in ("text", "blocks")}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _updates_stored(self, channel: Any, body: dict[str, Any]) -> bool:
        """True when chat.update targets a message this fake holds (or one marked deleted).

        Updates of messages never posted here (a test's made-up ts) keep the old plain answer.
        """
        conversation, ts = dm_channel(str(channel)), str(body.get("ts") or "")
        with self._cond:
            return (conversation, ts) in self.deleted or any(
                m["ts"] == ts for m in self.history.get(conversation, [])
            )

    # --- end of cards ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The Web API base URL (with the trailing slash WebClient wants)."""
        assert self.server is not None
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}/"

    def response_url(self, name: str = "r1") -> str:
        """A response_url served by this fake."""
        return f"{self.url}response_url/{name}"

    def add_user(
        self,
        slack_id: str,
        name: str,
        tz: str = "UTC",
        *,
        is_admin: bool = False,
        is_owner: bool = False,
        locale: str = "en-US",
    ) -> SlackUser:
        user = SlackUser(slack_id, name, tz, is_admin, is_owner, locale)
        self.users[slack_id] = user
        return user

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls, all or of one method (e.g. "chat.postMessage", "response_url")."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def methods(self) -> list[str]:
        """The method names called, in order."""
        with self._cond:
            return [c.method for c in self._calls]

    def clear(self) -> None:
        with self._cond:
            self._calls.clear()

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        status: int = 429,
        retry_after: int | None = None,
        error: str | None = None,
    ) -> None:
        """The next `times` calls of `method` answer `status` (429 carries Retry-After)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self._failures[method] = Failure(status, times, retry_after, error)

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until at least `count` calls of `method` arrived; AssertionError on timeout."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: len([c for c in self._calls if c.method == method]) >= count, timeout=timeout
            )
            found = [c for c in self._calls if c.method == method]
        if not ok:
            raise AssertionError(
                f"expected {count} {method} call(s) within {timeout}s, got {len(found)}; calls so far: {self.methods()}"
            )
        return found

    def _next_ts(self) -> str:
        """A message ts like Slack's: the real time in seconds, unique in its microseconds."""
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _history_page(self, body: dict[str, Any]) -> dict[str, Any]:
        conversation = str(body.get("channel") or "")
        with self._cond:
            if conversation not in self.history and not conversation.startswith(("C", "D", "G")):
                return {"ok": False, "error": "channel_not_found"}
            messages = list(self.history.get(conversation, []))
        oldest = float(body.get("oldest") or 0)
        with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        newest_first = [m for m in reversed(messages) if float(m["ts"]) > oldest]
        start = int(body.get("cursor") or 0)
        limit = int(body.get("limit") or 100)
        page = newest_first[start : start + limit]
        shown = [
            {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": m.get("text", ""), "ts": m["ts"],
             **({"metadata": m["metadata"]} if with_metadata and m.get("metadata") else {})}
            for m in page
        ]
        more = start + limit < len(newest_first)
        return {"ok": True, "messages": shown, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    # --- the server side -------------------------------------------------------------

    def record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def take_failure(self, method: str) -> Failure | None:
        with self._cond:
            failure = self._failures.get(method)
            if failure is None or failure.remaining <= 0:
                return None
            failure.remaining -= 1
            return failure

    def install(self, code: str, grant: Grant) -> None:
        """Make `code` an install code of `grant`'s team; its tokens are known to auth.test."""
        self.codes[code] = grant

    def _oauth_access(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            if body.get("grant_type") == "refresh_token":
                old = self.refresh_tokens.pop(str(body.get("refresh_token") or ""), None)
                if old is None:
                    return {"ok": False, "error": "invalid_refresh_token"}
                n = next(self._grants)
                grant = Grant(old.team_id, old.team_name, f"xoxe.xoxb-{old.team_id}-rotated-{n}",
                              f"xoxe-1-refresh-{old.team_id}-{n}", self.refresh_expires_in, old.bot_user_id)
            else:
                found = self.codes.pop(str(body.get("code") or ""), None)
                if found is None:
                    return {"ok": False, "error": "invalid_code"}
                grant = found
            self.token_teams[grant.access_token] = grant.team_id
            if grant.refresh_token:
                self.refresh_tokens[grant.refresh_token] = grant
        answer: dict[str, Any] = {
            "ok": True, "app_id": "A1", "access_token": grant.access_token, "token_type": "bot", "scope": SCOPES,
            "bot_user_id": grant.bot_user_id, "team": {"id": grant.team_id, "name": grant.team_name},
            "enterprise": None, "is_enterprise_install": False, "authed_user": {"id": "UINSTALLER"},
        }
        if grant.refresh_token:
            answer.update(refresh_token=grant.refresh_token, expires_in=grant.expires_in)
        return answer

    def answer(self, method: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        """The JSON answer of a Web API method (shapes follow the real API)."""
        ts = self._next_ts()
        channel = body.get("channel") or "C0FAKE"
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake",
                "user": "salesbot",
                "team_id": self.token_teams.get(token or "", self.team_id),
                "user_id": "UBOT",
                "bot_id": "BBOT",
            }
        if method == "oauth.v2.access":
            return self._oauth_access(body)
        if method == "apps.connections.open":
            if self.socket_mode_url is None:
                return {"ok": False, "error": "socket_mode_not_enabled"}
            return {"ok": True, "url": self.socket_mode_url}
        if method == "users.info":
            user = self.users.get(str(body.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            found = user.as_json(self.team_id)
            if str(body.get("include_locale", "")).lower() not in ("1", "true"):
                found.pop("locale")  # as Slack: the locale only when asked for
            return {"ok": True, "user": found}
        if method == "conversations.open":
            users = str(body.get("users", ""))
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0].lstrip("U")}}
        if method == "chat.postMessage":
            conversation = dm_channel(str(channel))
            message = {k: body.get(k) for k in ("text", "blocks") if k in body}
            metadata = body.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            with self._cond:
                self.history.setdefault(conversation, []).append({**message, "ts": ts, "metadata": metadata})
            return {"ok": True, "channel": conversation, "ts": ts, "message": message}
        if method == "chat.update" and self._updates_stored(channel, body):
            return self._chat_update(body)  # a message this fake posted: see "cards" above
        if method in ("chat.update", "chat.scheduleMessage"):
            message = {k: body.get(k) for k in ("text", "blocks") if k in body}
            return {"ok": True, "channel": channel, "ts": body.get("ts") or ts, "message": message}
        if method == "conversations.history":
            return self._history_page(body)
        if method in CHANNEL_METHODS:
            return self._channel_answer(method, body)
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            view = body.get("view")
            if isinstance(view, str):
                view = json.loads(view)
            view = dict(view or {})
            view.setdefault("id", f"V{next(self._ts):08d}")
            return {"ok": True, "view": view}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            return {"ok": True, "upload_url": f"{self.url}upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = body.get("files")
            if isinstance(files, str):
                files = json.loads(files)
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files or []]}
        return {"ok": True}


    # --- channels (deal rooms): conversations.create / invite / rename / archive / unarchive, pins.add

    def channel_named(self, name: str) -> FakeChannel | None:
        """The channel the fake made under `name` (its current name), if any."""
        with self._cond:
            return next((c for c in self.channels.values() if c.name == name), None)

    def _channel_answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            if method == "users.conversations":  # the bot's own channels: every one it made
                return {"ok": True, "channels": [c.as_json() for c in self.channels.values()],
                        "response_metadata": {"next_cursor": ""}}
            if method == "conversations.create":
                if self.refuse_create:
                    return {"ok": False, "error": self.refuse_create}
                name = str(body.get("name") or "")
                if not _CHANNEL_NAME.fullmatch(name):
                    return {"ok": False, "error": "invalid_name_specials"}
                if name in self.taken_names or any(c.name == name for c in self.channels.values()):
                    return {"ok": False, "error": "name_taken"}
                channel = FakeChannel(f"G{next(self._ts):08d}", name,
                                      str(body.get("is_private")).lower() in ("1", "true"))
                self.channels[channel.id] = channel
                return {"ok": True, "channel": channel.as_json()}
            found = self.channels.get(str(body.get("channel") or ""))
            if found is None:
                return {"ok": False, "error": "channel_not_found"}
            if method == "conversations.invite":
                users = [u for u in str(body.get("users") or "").split(",") if u]
                if found.archived:
                    return {"ok": False, "error": "is_archived"}
                if any(u in found.members for u in users):
                    return {"ok": False, "error": "already_in_channel"}
                missing = [u for u in users if u not in self.users]
                if missing:
                    return {"ok": False, "error": "user_not_found"}
                refused = [self.refuse_invite[u] for u in users if u in self.refuse_invite]
                if refused:
                    return {"ok": False, "error": refused[0]}
                found.members.extend(users)
            elif method == "conversations.rename":
                name = str(body.get("name") or "")
                if found.archived:
                    return {"ok": False, "error": "is_archived"}
                if name in self.taken_names or any(c.name == name and c is not found for c in self.channels.values()):
                    return {"ok": False, "error": "name_taken"}
                found.name = name
            elif method == "conversations.archive":
                if found.archived:
                    return {"ok": False, "error": "already_archived"}
                found.archived = True
            elif method == "conversations.unarchive":
                if not found.archived:
                    return {"ok": False, "error": "not_archived"}
                found.archived = False
            elif method == "pins.add":
                ts = str(body.get("timestamp") or "")
                if ts in found.pins:
                    return {"ok": False, "error": "already_pinned"}
                found.pins.append(ts)
            return {"ok": True, "channel": found.as_json()}


CHANNEL_METHODS = frozenset({"users.conversations", "conversations.create", "conversations.invite",
                             "conversations.rename", "conversations.archive", "conversations.unarchive", "pins.add"})
_CHANNEL_NAME = re.compile(r"[a-z0-9_-]{1,80}")


@dataclass
class FakeChannel:
    """A channel conversations.create made: its name, members, archive flag and pinned messages."""

    id: str
    name: str
    is_private: bool
    members: list[str] = field(default_factory=list)
    archived: bool = False
    pins: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "is_private": self.is_private, "is_archived": self.archived}


def dm_channel(channel: str) -> str:
    """The conversation a post to `channel` lands in: a user id means the DM with that user."""
    return "D" + channel[1:] if channel.startswith(("U", "W")) else channel


def _make_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def _body(self, raw: bytes, query: str) -> dict[str, Any]:
            text = raw.decode("utf-8", errors="replace")
            if text.lstrip().startswith("{"):
                parsed = json.loads(text)
                return parsed if isinstance(parsed, dict) else {"_": parsed}
            if (
                text
                and "=" in text
                and self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
            ):
                return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
            if text:
                return {"_raw": text}
            return {k: v[0] for k, v in parse_qs(query).items()}

        def _send(self, status: int, payload: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            parsed = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = parsed.path.lstrip("/")
            if path.startswith("api/"):
                path = path[4:]
            if path.startswith("response_url/"):
                method = "response_url"
            elif path.startswith("upload/"):
                method = "upload"
            else:
                method = path
            body = {"_bytes": len(raw)} if method == "upload" else self._body(raw, parsed.query)
            fake.record(Call(method, body, dict(self.headers.items()), parsed.path))
            failure = fake.take_failure(method)
            if failure is not None:
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                default_error = "ratelimited" if failure.status == 429 else "fatal_error"
                self._send(failure.status, {"ok": False, "error": failure.error or default_error}, headers)
                return
            if method in ("response_url", "upload"):
                self._send(200, "ok" if method == "upload" else {"ok": True})
                return
            auth = self.headers.get("Authorization", "")
            # xwfp-: the short-lived token Slack gives a Workflow Builder step (function_executed)
            if not auth.startswith(("Bearer xox", "Bearer xapp", "Bearer xwfp", "Basic ")) and "token" not in body:
                self._send(200, {"ok": False, "error": "not_authed"})
                return
            token = str(body.get("token") or "") or (auth[len("Bearer "):] if auth.startswith("Bearer ") else None)
            if token and token in fake.revoked:
                self._send(200, {"ok": False, "error": "token_revoked"})
                return
            self._send(200, fake.answer(method, body, token))

        do_GET = _handle
        do_POST = _handle

    return Handler


@contextmanager
def serving(server: ThreadingHTTPServer, name: str) -> Iterator[ThreadingHTTPServer]:
    """Serve `server` from a daemon thread until the block ends."""
    server.daemon_threads = True
    # serve_forever checks for shutdown every poll_interval: 0.5 s by default, per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=name, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def running_fake_slack(team_id: str = "T1") -> Iterator[FakeSlack]:
    """Start a FakeSlack on 127.0.0.1:0 in a daemon thread; stop it at the end."""
    fake = FakeSlack(team_id=team_id)
    fake.server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(fake))
    with serving(fake.server, "fake-slack"):
        yield fake
