"""`salesbot console`: the same Bolt app and listeners, driven from a terminal with no Slack.

Typed slash commands become signed Slack requests dispatched through `app.dispatch` (the path
an HTTP request takes). Web API calls (chat.postMessage, views.open, ...) and respond() are
answered in-process by `ConsoleSlack` and printed as text (bot/console_render.py): nothing
leaves the machine. Console commands:

  /deal new Acme 12k      any slash command
  :click <action_id> [v]  press a button / pick an option shown on screen
  :submit name=value ...  submit the open modal (:cancel closes it)
  :home                   open the App Home
  :digest, :nudges        run that scheduled job at the console's clock, then deliver what it
                          queued (digests go out on their day and hour, default Monday 09:00
                          local: :tick there, or /pipeline digest for yours now)
  :tick <when>            set the clock (ISO time, +2h, +1d) and run every job due then
  :help, :quit

Exit codes: 0 success, 1 a command failed at runtime, 2 bad usage (unknown console command).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from urllib.parse import urlencode

from rich.console import Console
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web import SlackResponse
from slack_sdk.web.file_upload_v2_result import FileUploadV2Result

from bot.app import create_app, utcnow
from bot.config import Settings
from bot.console.render import Control, Field, Rendered, render_message, render_view
from bot.optional_modules import optional_module
from bot.slack_users import SlackProfile, save_profile
from core.db import UnitOfWork, make_engine

CONSOLE_SECRET = "salesbot-console"
CONSOLE_TOKEN = "xoxb-console"
CONSOLE_API_URL = "http://console.invalid/api/"
CONSOLE_CHANNEL = "C0CONSOLE"
# The jobs :tick runs when bot.jobs does not list them; delivery always runs last.
TICK_JOBS = ("nudges", "stale", "digest", "route-leads")

HELP = __doc__.split("Console commands:", 1)[1].split("Exit codes", 1)[0].rstrip() if __doc__ else ""


@dataclass(frozen=True)
class ConsoleOptions:
    user_id: str = "U0CONSOLE"
    team_id: str = "T0CONSOLE"
    tz: str | None = None
    now: datetime | None = None
    demo: bool = False
    name: str | None = None  # None keeps the name the user already has
    admin: bool = False
    width: int = 100


def parse_now(text: str) -> datetime:
    """An ISO 8601 time as aware UTC (a time without zone is taken as UTC)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_RELATIVE = re.compile(r"^\+(\d+)\s*([mhdw])$")


def parse_when(text: str, now: datetime, tz: str) -> datetime:
    """`:tick` times: ISO 8601, `+30m` / `+2h` / `+1d` / `+1w`, or a date phrase (core.dates)."""
    text = text.strip()
    m = _RELATIVE.match(text)
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        return now + timedelta(**{unit: int(m.group(1))})
    try:
        return parse_now(text)
    except ValueError:
        pass
    from core.dates import parse_datetime

    return parse_datetime(text, now, tz)


class ConsoleSlack(WebClient):
    """A Web API client answered in-process: every call is shown, none leaves the machine."""

    def __init__(self, on_call: Callable[[str, dict[str, Any]], dict[str, Any]]) -> None:
        super().__init__(token=CONSOLE_TOKEN, base_url=CONSOLE_API_URL)
        self.on_call = on_call

    def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> SlackResponse:
        body: dict[str, Any] = {**(params or {}), **(data or {}), **(json or {})}
        for key in ("blocks", "view", "attachments", "files"):
            if isinstance(body.get(key), str):
                with contextlib.suppress(ValueError):
                    body[key] = _json_loads(body[key])
        answer = self.on_call(api_method, body)
        response = SlackResponse(
            client=self,
            http_verb=http_verb,
            api_url=self.base_url + api_method,
            req_args={},
            data=answer,
            headers={},
            status_code=200,
        )
        response.validate()  # type: ignore[no-untyped-call]  # raises SlackApiError like Slack
        return response

    def _upload_file(self, *, url: str, data: bytes, **_: Any) -> FileUploadV2Result:
        self.on_call("upload", {"url": url, "bytes": len(data)})
        return FileUploadV2Result(status=200, body="OK")


def _json_loads(text: str) -> Any:
    return json.loads(text)


class ConsoleSession:
    """One console: the app, the clock, what is on screen (buttons, the open modal)."""

    def __init__(self, settings: Settings, options: ConsoleOptions, out: Console, uow: UnitOfWork) -> None:
        self.options = options
        self.out = out
        self.uow = uow
        self.fixed_now = options.now
        self.failed = False
        self.usage_error = False
        self.counter = itertools.count(1)
        self.controls: dict[str, tuple[Control, dict[str, Any]]] = {}
        self.modals: list[dict[str, Any]] = []
        self.client = ConsoleSlack(self.answer)
        console_settings = dataclasses.replace(
            settings,
            slack_bot_token=CONSOLE_TOKEN,
            slack_signing_secret=CONSOLE_SECRET,
            slack_api_url=CONSOLE_API_URL,
            slack_app_token=None,
            slack_client_id=None,
            slack_client_secret=None,
        )
        self.app: App = create_app(
            console_settings, uow, clock=self.now, client=self.client, process_before_response=True
        )
        self.app.middleware(self._console_respond)
        self.app.error(self._on_error)
        self.verifier = SignatureVerifier(CONSOLE_SECRET)

    # --- clock and identity ------------------------------------------------------------

    def now(self) -> datetime:
        return self.fixed_now if self.fixed_now is not None else utcnow()

    def profile(self) -> SlackProfile:
        return SlackProfile(name=self.options.name, tz=self.options.tz, is_admin=self.options.admin)

    def introduce(self) -> None:
        """Create or update the acting user with the console's profile (--tz, --admin, --name)."""
        save_profile(self.uow, self.options.team_id, self.options.user_id, self.now(), self.profile())

    # --- the in-process Slack ------------------------------------------------------------

    def answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """Answer a Web API call the way Slack would, and show what it carries."""
        n = next(self.counter)
        ts = f"{int(time.time())}.{n:06d}"
        channel = str(body.get("channel") or CONSOLE_CHANNEL)
        if method == "auth.test":
            return {"ok": True, "team_id": self.options.team_id, "user_id": "U0SALESBOT", "bot_id": "B0SALESBOT"}
        if method == "users.info":
            uid = str(body.get("user"))
            if uid != self.options.user_id:
                return {"ok": False, "error": "user_not_found"}
            p = self.profile()
            return {
                "ok": True,
                "user": {
                    "id": uid,
                    "name": p.name,
                    "real_name": p.name,
                    "tz": p.tz or "UTC",
                    "is_admin": p.is_admin,
                    "profile": {"display_name": p.name},
                },
            }
        if method == "conversations.open":
            users = str(body.get("users", "")).split(",")[0]
            return {"ok": True, "channel": {"id": "D" + users.lstrip("UW")}}
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage"):
            where = self._where(channel, method, body)
            message = {**body, "ts": body.get("ts") or ts}
            self.show(where, render_message(body, self.options.width), message)
            key = "message_ts" if method == "chat.postEphemeral" else "ts"
            return {"ok": True, "channel": channel, key: message["ts"], "message": body}
        if method in ("views.open", "views.push", "views.update", "views.publish"):
            return self._view_call(method, body, n)
        if method == "files.getUploadURLExternal":
            return {"ok": True, "upload_url": f"console://upload/F{n}", "file_id": f"F{n:08d}"}
        if method == "files.completeUploadExternal":
            files = body.get("files") or []
            titles = ", ".join(str(f.get("title") or f.get("id")) for f in files)
            self.out.print(f"  [file shared in {body.get('channel_id') or 'a DM'}: {titles}]", markup=False)
            return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title", "")} for f in files]}
        if method == "upload":
            return {"ok": True}
        return {"ok": True}

    def _where(self, channel: str, method: str, body: dict[str, Any]) -> str:
        if method == "chat.postEphemeral":
            return f"only you see (in {channel})"
        if method == "chat.update":
            return f"message updated in {channel}"
        if channel.startswith(("D", "U", "W")):
            return f"DM {channel}"
        return f"message in #{channel}" + (" (thread)" if body.get("thread_ts") else "")

    def _view_call(self, method: str, body: dict[str, Any], n: int) -> dict[str, Any]:
        view = dict(body.get("view") or {})
        if method == "views.publish":
            self.show(f"App Home of {body.get('user_id')}", render_view(view, self.options.width), {"view": view})
            return {"ok": True, "view": {**view, "id": f"VHOME{n}"}}
        if method == "views.update":
            target = body.get("view_id") or body.get("external_id")
            for i, open_view in enumerate(self.modals):
                if target in (open_view.get("id"), open_view.get("external_id")):
                    view["id"] = open_view["id"]
                    self.modals[i] = view
                    break
            else:
                view["id"] = str(target or f"V{n}")
        else:
            view["id"] = f"VCONSOLE{n}"
            if method == "views.open":
                self.modals = []
            self.modals.append(view)
        self.show(f"modal ({method.split('.')[1]})", render_view(view, self.options.width), {"view": view})
        return {"ok": True, "view": view}

    # --- showing things ----------------------------------------------------------------

    def show(self, where: str, rendered: Rendered, context: dict[str, Any]) -> None:
        """Print a message or view with a header line; remember its buttons for :click."""
        self.out.print(f"-- {where} --", style="bold", markup=False, highlight=False)
        for line in rendered.lines:
            self.out.print("  " + line, markup=False, highlight=False, soft_wrap=True)
        for control in rendered.controls:
            self.controls[control.action_id] = (control, context)

    def _console_respond(self, context: Any, next: Callable[[], Any]) -> Any:
        """respond() goes to the screen, not to a response_url."""

        def respond(
            text: str = "",
            blocks: Any = None,
            response_type: str | None = None,
            replace_original: bool | None = None,
            delete_original: bool | None = None,
            **kwargs: Any,
        ) -> Any:
            if delete_original:
                self.out.print("-- (message deleted) --", markup=False)
                return None
            where = "in channel" if response_type == "in_channel" else "only you see"
            if replace_original:
                where += ", replaces the message"
            body = {"text": text, "blocks": blocks or [], **kwargs}
            self.show(where, render_message(body, self.options.width), {**body, "ephemeral": True})
            return None

        context["respond"] = respond
        return next()

    def _on_error(self, error: Exception) -> None:
        self.failed = True
        self.out.print(f"error: {error.__class__.__name__}: {error}", style="red", markup=False)

    def show_ack(self, resp: BoltResponse, what: str) -> None:
        """The synchronous answer (ack body): a reply, modal errors, a modal update."""
        if resp.status == 404:
            self.out.print(f"No handler for {what} (is its listener module installed?)", markup=False)
            self.usage_error = True
            return
        if resp.status >= 400:
            self.failed = True
            self.out.print(f"error: {what} failed (HTTP {resp.status})", style="red", markup=False)
            return
        if not resp.body:
            return
        try:
            body = json.loads(resp.body)
        except ValueError:
            self.show("only you see", render_message({"text": resp.body}, self.options.width), {"ephemeral": True})
            return
        if isinstance(body, dict) and "response_action" in body:
            self._modal_response(body)
            return
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            where = "in channel" if body.get("response_type") == "in_channel" else "only you see"
            self.show(where, render_message(body, self.options.width), {**body, "ephemeral": True})

    def _modal_response(self, body: dict[str, Any]) -> None:
        action = body["response_action"]
        if action == "errors":
            self.out.print("-- the modal stays open: --", style="bold", markup=False)
            for field_name, message in (body.get("errors") or {}).items():
                self.out.print(f"  {field_name}: {message}", style="red", markup=False)
            return
        if action == "clear":
            self.modals = []
        elif action in ("update", "push"):
            view = dict(body.get("view") or {})
            view["id"] = (
                self.modals[-1]["id"] if action == "update" and self.modals else f"VCONSOLE{next(self.counter)}"
            )
            if action == "update" and self.modals:
                self.modals[-1] = view
            else:
                self.modals.append(view)
            self.show(f"modal ({action})", render_view(view, self.options.width), {"view": view})

    # --- sending requests ------------------------------------------------------------

    def dispatch(self, body: str, content_type: str) -> BoltResponse:
        ts = str(int(time.time()))
        headers: dict[str, str | Sequence[str]] = {
            "content-type": [content_type],
            "x-slack-request-timestamp": [ts],
            "x-slack-signature": [self.verifier.generate_signature(timestamp=ts, body=body) or ""],
        }
        return self.app.dispatch(BoltRequest(body=body, headers=headers))

    def command(self, line: str) -> None:
        name, _, text = line.partition(" ")
        n = next(self.counter)
        form = {
            "token": "console",
            "team_id": self.options.team_id,
            "team_domain": "console",
            "channel_id": CONSOLE_CHANNEL,
            "channel_name": "console",
            "user_id": self.options.user_id,
            "user_name": self.options.name or self.options.user_id.lower(),
            "command": name,
            "text": text.strip(),
            "api_app_id": "A0CONSOLE",
            "response_url": f"console://response/{n}",
            "trigger_id": f"{n}.{n}.console",
            "is_enterprise_install": "false",
        }
        self.show_ack(self.dispatch(urlencode(form), "application/x-www-form-urlencoded"), name)

    def _user(self) -> dict[str, str]:
        uid = self.options.user_id
        handle = self.options.name or uid.lower()
        return {"id": uid, "username": handle, "name": handle, "team_id": self.options.team_id}

    def _payload(self, kind: str, **extra: Any) -> str:
        n = next(self.counter)
        payload = {
            "type": kind,
            "team": {"id": self.options.team_id, "domain": "console"},
            "user": self._user(),
            "api_app_id": "A0CONSOLE",
            "token": "console",
            "trigger_id": f"{n}.{n}.console",
            **extra,
        }
        return urlencode({"payload": json.dumps(payload)})

    def click(self, args: list[str]) -> None:
        if not args:
            self.usage("usage: :click <action_id> [value]")
            return
        found = self.controls.get(args[0])
        if found is None:
            self.usage(f"no button {args[0]!r} on screen; the last ones: {', '.join(list(self.controls)[-8:])}")
            return
        control, context = found
        value = " ".join(args[1:]) if len(args) > 1 else control.value
        action: dict[str, Any] = {
            "type": control.type,
            "action_id": control.action_id,
            "block_id": control.block_id,
            "action_ts": f"{time.time():.6f}",
        }
        action.update(_action_value(control, value))
        extra: dict[str, Any] = {"actions": [action]}
        n = next(self.counter)
        if "view" in context:
            view = context["view"]
            extra["container"] = {"type": "view", "view_id": view.get("id")}
            extra["view"] = {**view, "state": {"values": _state_values(_fields_of(view), {})}, "hash": f"{n}.hash"}
        else:
            ts = context.get("ts", f"{int(time.time())}.{n:06d}")
            extra["container"] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": context.get("channel", CONSOLE_CHANNEL),
                "is_ephemeral": bool(context.get("ephemeral")),
            }
            extra["channel"] = {"id": context.get("channel", CONSOLE_CHANNEL), "name": "console"}
            extra["message"] = {
                "type": "message",
                "ts": ts,
                "text": context.get("text", ""),
                "blocks": context.get("blocks") or [],
            }
            extra["response_url"] = f"console://response/{n}"
        self.show_ack(
            self.dispatch(self._payload("block_actions", **extra), "application/x-www-form-urlencoded"),
            f"button {control.action_id}",
        )

    def submit(self, args: list[str]) -> None:
        if not self.modals:
            self.usage("no modal is open")
            return
        view = self.modals[-1]
        fields = _fields_of(view)
        given: dict[str, str] = {}
        for arg in args:
            key, sep, value = arg.partition("=")
            if not sep:
                self.usage(f"{arg!r}: write field=value (fields: {', '.join(f.block_id for f in fields)})")
                return
            match = _match_field(fields, key)
            if match is None:
                self.usage(f"no field {key!r} in this modal (fields: {', '.join(f.block_id for f in fields)})")
                return
            given[match.block_id] = value
        missing = [
            f.label or f.block_id
            for f in fields
            if not f.optional and f.block_id not in given and f.initial in (None, "", [])
        ]
        if missing:
            self.usage(f"required: {', '.join(missing)}")
            return
        submitted = {
            **view,
            "state": {"values": _state_values(fields, given)},
            "hash": f"{next(self.counter)}.hash",
            "team_id": self.options.team_id,
        }
        resp = self.dispatch(
            self._payload("view_submission", view=submitted, response_urls=[]), "application/x-www-form-urlencoded"
        )
        closes = resp.status == 200 and not (resp.body and '"response_action"' in resp.body)
        self.show_ack(resp, "the modal")
        if closes and self.modals:
            self.modals.pop()
            self.out.print("-- modal closed --", markup=False)

    def cancel(self) -> None:
        if not self.modals:
            self.usage("no modal is open")
            return
        view = self.modals.pop()
        if view.get("notify_on_close"):
            self.dispatch(
                self._payload("view_closed", view=view, is_cleared=False), "application/x-www-form-urlencoded"
            )
        self.out.print("-- modal closed --", markup=False)

    def home(self) -> None:
        n = next(self.counter)
        envelope = {
            "token": "console",
            "team_id": self.options.team_id,
            "api_app_id": "A0CONSOLE",
            "type": "event_callback",
            "event_id": f"Ev{n:08d}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": self.options.user_id,
                "channel": "D0CONSOLE",
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
            "authorizations": [{"team_id": self.options.team_id, "user_id": "U0SALESBOT", "is_bot": True}],
        }
        self.show_ack(self.dispatch(json.dumps(envelope), "application/json"), "the App Home")

    # --- scheduled work ------------------------------------------------------------

    def run_jobs(self, names: tuple[str, ...], at: datetime) -> None:
        jobs = optional_module("bot.jobs")
        if jobs is None:
            self.out.print("Scheduled jobs are not available in this build (bot.jobs is missing).", markup=False)
            self.failed = True
            return
        for name in (*names, "deliver"):
            try:
                summary = jobs.run_job(name, self.uow, at, self.client)
            except Exception as exc:
                self.failed = True
                self.out.print(f"error: job {name}: {exc.__class__.__name__}: {exc}", style="red", markup=False)
                continue
            self.out.print(f"-- {name} at {at.isoformat()}: {summary} --", style="dim", markup=False)

    def tick(self, args: list[str]) -> None:
        if not args:
            self.usage("usage: :tick <when>  (e.g. :tick 2026-11-30T09:00Z, :tick +1d)")
            return
        try:
            at = parse_when(" ".join(args), self.now(), self.options.tz or "UTC")
        except Exception as exc:
            self.usage(f":tick {' '.join(args)!r}: {exc}")
            return
        self.fixed_now = at
        jobs = optional_module("bot.jobs")
        names = tuple(n for n in getattr(jobs, "SCHEDULED", TICK_JOBS) if n != "deliver")
        self.run_jobs(names, at)

    # --- the loop ------------------------------------------------------------------

    def usage(self, message: str) -> None:
        self.usage_error = True
        self.out.print(message, style="yellow", markup=False)

    def handle(self, line: str) -> bool:
        """Run one input line; False when the console should stop."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line.startswith("/"):
            self.command(line)
            return True
        if not line.startswith(":"):
            self.usage(f"{line!r}: type a slash command (/deal help) or :help")
            return True
        try:
            words = shlex.split(line[1:])
        except ValueError as exc:
            self.usage(f"{line!r}: {exc}")
            return True
        if not words:
            self.usage("type :help")
            return True
        cmd, args = words[0].lower(), words[1:]
        if cmd in ("quit", "q", "exit"):
            return False
        handlers: dict[str, Callable[[], None]] = {
            "help": lambda: self.out.print(HELP, markup=False, highlight=False),
            "click": lambda: self.click(args),
            "submit": lambda: self.submit(args),
            "cancel": self.cancel,
            "home": self.home,
            "digest": lambda: self.run_jobs(("digest",), self.now()),
            "nudges": lambda: self.run_jobs(("nudges",), self.now()),
            "tick": lambda: self.tick(args),
        }
        handler = handlers.get(cmd)
        if handler is None:
            self.usage(f"unknown console command :{cmd} (try :help)")
        else:
            handler()
        return True

    def exit_code(self) -> int:
        if self.failed:
            return 1
        return 2 if self.usage_error else 0


def _fields_of(view: dict[str, Any]) -> list[Field]:
    return render_view(view).fields


def _match_field(fields: list[Field], key: str) -> Field | None:
    key_l = key.lower()
    for f in fields:
        if key_l in (f.block_id.lower(), f.action_id.lower(), f.label.lower()):
            return f
    return None


def _strip_mention(value: str) -> str:
    m = re.match(r"^<?[@#]?([UWC][A-Z0-9]+)(?:\|[^>]*)?>?$", value.strip())
    return m.group(1) if m else value.strip()


def _option(options: tuple[tuple[str, str], ...], value: str) -> dict[str, Any]:
    for v, label in options:
        if value in (v, label) or value.lower() == label.lower():
            return {"text": {"type": "plain_text", "text": label}, "value": v}
    return {"text": {"type": "plain_text", "text": value}, "value": value}


def _typed_value(kind: str, value: Any, options: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The state value Slack sends for an input element of `kind` holding `value`."""
    many = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value or [])
    if kind in ("static_select", "external_select", "radio_buttons"):
        return {"selected_option": _option(options, str(value)) if value not in (None, "") else None}
    if kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        return {"selected_options": [_option(options, v) for v in many if v]}
    if kind == "datepicker":
        return {"selected_date": value or None}
    if kind == "timepicker":
        return {"selected_time": value or None}
    if kind == "datetimepicker":
        return {"selected_date_time": int(value) if value else None}
    if kind == "users_select":
        return {"selected_user": _strip_mention(value) if value else None}
    if kind == "multi_users_select":
        return {"selected_users": [_strip_mention(v) for v in many if v]}
    if kind in ("conversations_select", "channels_select"):
        key = "selected_conversation" if kind == "conversations_select" else "selected_channel"
        return {key: _strip_mention(value) if value else None}
    if kind in ("multi_conversations_select", "multi_channels_select"):
        key = "selected_conversations" if kind == "multi_conversations_select" else "selected_channels"
        return {key: [_strip_mention(v) for v in many if v]}
    if kind == "rich_text_input":
        text = str(value or "")
        return {
            "rich_text_value": {
                "type": "rich_text",
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]
                if text
                else [],
            }
        }
    return {"value": value if value not in ("",) else None}


def _state_values(fields: list[Field], given: dict[str, str]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for f in fields:
        value = given.get(f.block_id, f.initial)
        values.setdefault(f.block_id, {})[f.action_id] = {"type": f.type, **_typed_value(f.type, value, f.options)}
    return values


def _action_value(control: Control, value: str | None) -> dict[str, Any]:
    if control.type == "button":
        return (
            {"value": value, "text": {"type": "plain_text", "text": control.label}}
            if value
            else {"text": {"type": "plain_text", "text": control.label}}
        )
    if control.type == "overflow":
        return {"selected_option": _option(control.options, value or "")}
    return _typed_value(control.type, value or "", control.options)


def run_console(settings: Settings, options: ConsoleOptions, stdin: IO[str], out: Console | None = None) -> int:
    """Run the console over `stdin` (a script when not a terminal); return the exit code."""
    out = out or Console(width=options.width, highlight=False, soft_wrap=True)
    engine = make_engine(settings.database_url)
    uow = UnitOfWork(engine)
    try:
        session = ConsoleSession(settings, options, out, uow)
        if options.demo:
            demo = optional_module("core.deals.demo")
            if demo is None:
                out.print("The demo organisation is not available in this build.", markup=False)
                return 1
            report = demo.load_demo_org(uow, options.team_id, session.now())
            out.print(
                f"Demo organisation loaded: {getattr(report, 'created', '?')} deals created, "
                f"{getattr(report, 'unchanged', 0)} unchanged.",
                markup=False,
            )
            for name, (probability, won, closed) in getattr(report, "stage_probabilities", {}).items():
                out.print(f"Stage {name} added at {probability} % ({won} won of {closed} imported deals that "
                          "reached it and closed).", markup=False)
        session.introduce()
        interactive = stdin.isatty()
        if interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  # line editing and history for input()
            out.print("salesbot console - type /deal help, :help, or :quit", markup=False)
        while True:
            if interactive:
                try:
                    line = input("salesbot> ")
                except EOFError:
                    break
            else:
                line = stdin.readline()
                if not line:
                    break
                out.print(f"> {line.rstrip()}", style="dim", markup=False)
            if not session.handle(line):
                break
        return session.exit_code()
    except KeyboardInterrupt:
        return 0
    finally:
        engine.dispose()


def main_stdin() -> int:  # pragma: no cover - convenience for python -m
    from bot.config import load_settings

    return run_console(load_settings(), ConsoleOptions(), sys.stdin)
