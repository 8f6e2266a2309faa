"""One console session: the Bolt app, its in-process Slack, the clock, and what is on screen.

Typed lines are handled by `ConsoleSession.handle`. Console commands:

  /deal new Acme 12k      any slash command
  :click <action_id> [v]  press a button / pick an option shown on screen
  :submit name=value ...  submit the open modal (:cancel closes it)
  :home                   open the App Home
  :digest, :nudges        run that scheduled job at the console's clock, then deliver what it
                          queued (digests go out on their day and hour, default Monday 09:00
                          local: :tick there, or /pipeline digest for yours now)
  :tick <when>            set the clock (ISO time, +2h, +1d) and run every job due then
  :help, :quit
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import shlex
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from rich.console import Console
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot import jobs
from bot.app import create_app
from bot.clock import utcnow
from bot.config import Settings
from bot.console.clock import parse_when
from bot.console.payloads import action_value, fields_of, match_field, state_values
from bot.console.render import Control, Rendered, render_message, render_view
from bot.console.slack import CONSOLE_API_URL, CONSOLE_TOKEN, ConsoleSlack
from bot.slack_users import SlackProfile, save_profile
from core.db import UnitOfWork
from core.workspace.users import display_names

CONSOLE_SECRET = "salesbot-console"
CONSOLE_CHANNEL = "C0CONSOLE"
_MENTIONED = re.compile(r"@([UW][A-Z0-9]{2,})\b")  # a mention as render.py prints it

HELP = __doc__.split("Console commands:", 1)[1].rstrip() if __doc__ else ""


@dataclass(frozen=True)
class ConsoleOptions:
    user_id: str = "U0CONSOLE"
    # --as as typed (a Slack id, or the name of a person imported by name, e.g. a demo user);
    # run_console resolves it into user_id. None: the demo manager with --demo, else user_id.
    who: str | None = None
    team_id: str = "T0CONSOLE"
    tz: str | None = None
    now: datetime | None = None
    now_note: str | None = None  # how `now` was read, said on the first screen
    demo: bool = False
    name: str | None = None  # None keeps the name the user already has
    admin: bool = False
    width: int = 100
    locale: str | None = None  # the user's Slack locale (--locale tr-TR), as users.info gives it


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
        return SlackProfile(name=self.options.name, tz=self.options.tz, is_admin=self.options.admin,
                            locale=self.options.locale)

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
                    **({"locale": p.locale} if p.locale and body.get("include_locale") else {}),
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
        if method == "conversations.create":  # a deal room (bot/rooms_delivery.py): shown, named by its name
            name = str(body.get("name") or "room")
            self.out.print(f"  [private channel #{name} created]", markup=False)
            return {"ok": True, "channel": {"id": name, "name": name, "is_private": True}}
        if method in ("conversations.rename", "conversations.archive", "conversations.unarchive"):
            what = {"conversations.rename": f"renamed #{body.get('name')}", "conversations.archive": "archived",
                    "conversations.unarchive": "unarchived"}[method]
            self.out.print(f"  [#{channel} {what}]", markup=False)
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
        """Print a message or view with a header line; remember its buttons for :click.

        Mentions of known users show their names, as Slack shows them (render.py gives @id).
        """
        self.out.print(f"-- {where} --", style="bold", markup=False, highlight=False)
        names = display_names(self.uow, self.options.team_id) if any("@" in line for line in rendered.lines) else {}
        for line in rendered.lines:
            if names:
                line = _MENTIONED.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), line)
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

        def send_to_response_url(url: str, payload: dict[str, Any]) -> None:
            respond(**payload)

        context["respond"] = respond
        context["send_to_response_url"] = send_to_response_url
        return next()

    def _on_error(self, error: Exception) -> None:
        self.failed = True
        self.out.print(f"error: {error.__class__.__name__}: {error}", style="red", markup=False)

    def show_ack(self, resp: BoltResponse, what: str) -> None:
        """The synchronous answer (ack body): a reply, modal errors, a modal update."""
        if resp.status == 404:
            self.out.print(f"No handler for {what}: salesbot has no listener for it.", markup=False)
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
        action.update(action_value(control, value))
        extra: dict[str, Any] = {"actions": [action]}
        n = next(self.counter)
        if "view" in context:
            view = context["view"]
            extra["container"] = {"type": "view", "view_id": view.get("id")}
            extra["view"] = {**view, "state": {"values": state_values(fields_of(view), {})}, "hash": f"{n}.hash"}
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
        fields = fields_of(view)
        given: dict[str, str] = {}
        for arg in args:
            key, sep, value = arg.partition("=")
            if not sep:
                self.usage(f"{arg!r}: write field=value (fields: {', '.join(f.block_id for f in fields)})")
                return
            match = match_field(fields, key)
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
            "state": {"values": state_values(fields, given)},
            "hash": f"{next(self.counter)}.hash",
            "team_id": self.options.team_id,
        }
        resp = self.dispatch(
            self._payload("view_submission", view=submitted), "application/x-www-form-urlencoded"
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
            # Unique across sessions, as Slack's are: events are deduplicated on event_id (bot/dedupe.py).
            "event_id": f"Ev{n:08d}{uuid.uuid4().hex[:10].upper()}",
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
        names = tuple(n for n in jobs.SCHEDULED if n != "deliver")
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
