"""Notification preferences from Slack: the App Home Settings button and its modal, the
"Back to daily" button of a backed-off nudge, and clicks on a morning list (not ignored).

Each listener parses, calls one core function (core.notify.preferences), and answers.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.commands import Respond, answering, request_from
from bot.modals.deal_forms import field_value, metadata_of
from bot.modals.submissions import actor_of_context, submit, tell
from bot.views.common import message, section
from bot.views.prefs import MODAL, OPEN_SETTINGS, RESTORE, kind_label, prefs_modal, prefs_saved
from core.errors import InvalidInput, UserError
from core.i18n import _
from core.notify.preferences import DIGEST, KINDS, PrefsChange, get_prefs, note_click, restore_daily, set_prefs

DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Where a core error about a field is shown in the modal.
ERROR_BLOCKS = {"muted": "kinds", "channel": "channel", "days": "days", "hours": "end",
                "digest_weekday": "digest_day", "away_until": "away_until"}


def register(app: App) -> None:
    """Listen to the Settings button, the preferences modal and the back-off button."""
    app.action(OPEN_SETTINGS)(on_open_settings)
    app.view(MODAL)(on_submit)
    app.action(RESTORE)(on_restore)


def on_open_settings(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond,
                     context: BoltContext) -> None:
    """Open the preferences modal, filled with the user's current choices."""
    ack()
    with answering(respond, "prefs settings"):
        req = request_from(context, client, respond, body)
        client.views_open(trigger_id=body["trigger_id"], view=prefs_modal(get_prefs(req.uow, req.actor)))


def _checked(view: dict[str, Any], block_id: str) -> list[str]:
    values = ((view.get("state") or {}).get("values") or {}).get(block_id) or {}
    element = values.get("value") or {}
    return [str(o.get("value")) for o in element.get("selected_options") or []]


def change_from_modal(view: dict[str, Any]) -> PrefsChange:
    """The change the submitted modal asks for; hours, days and the digest day only when changed
    (so keeping the workspace's defaults keeps following them)."""
    meta = metadata_of(view)
    blocks = {b.get("block_id") for b in view.get("blocks") or []}
    kinds = [k for k in KINDS if k != DIGEST or "digest_day" in blocks]
    wanted = set(_checked(view, "kinds"))
    days = sorted(int(d) for d in _checked(view, "days") if d.isdigit() and 0 <= int(d) < 7)
    start, end = field_value(view, "start") or "", field_value(view, "end") or ""
    own_hours = days != list(meta.get("days") or []) or start != meta.get("start") or end != meta.get("end")
    digest = field_value(view, "digest_day")
    away = field_value(view, "away_until")
    return PrefsChange(
        mute=tuple(k for k in kinds if k not in wanted),
        unmute=tuple(k for k in kinds if k in wanted),
        channel=field_value(view, "channel") or "dm",
        hours=f"{start}-{end}" if own_hours else None,
        days=",".join(DAY_CODES[d] for d in days) if own_hours else None,
        digest_day=DAY_CODES[int(digest)] if digest and digest.isdigit() and str(digest) != str(meta.get("digest"))
        and 0 <= int(digest) < 7 else None,
        away_until=away or "off",
    )


def on_submit(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Save the preferences; a refused value is shown on its field and nothing is saved."""
    def work() -> Callable[[], None]:
        actor = actor_of_context(context)
        try:
            change = change_from_modal(view)
            if change.hours is not None and not change.days:
                raise InvalidInput(_("Pick at least one working day."), "days")
            saved = set_prefs(context["uow"], actor, change, context["now"])
        except UserError as err:
            err.field = ERROR_BLOCKS.get(err.field or "", err.field)  # core's field -> the modal's block
            raise
        answer = prefs_saved(saved)
        return lambda: tell(context, actor, view, answer)

    submit(ack, view, "kinds", work, "prefs modal")


def on_restore(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    """"Back to daily" under a backed-off nudge: that kind comes daily again."""
    ack()
    with answering(respond, "prefs restore"):
        req = request_from(context, client, respond, body)
        kind = str(((body.get("actions") or [{}])[0]).get("value") or "")
        restore_daily(req.uow, req.actor, kind, req.now)
        text = _("*{kind}*: daily again.").format(kind=kind_label(kind))
        req.answer(message(text.replace("*", ""), [section(f":white_check_mark: {text}")]))


def note_morning_click(context: BoltContext, body: dict[str, Any]) -> None:
    """A click on a morning list's deal: that kind of nudge was not ignored (the back-off streak resets)."""
    action = (body.get("actions") or [{}])[0]
    parts = str(action.get("block_id") or "").split(":")
    actor = context.get("actor")
    if len(parts) >= 2 and parts[0] == "morning" and actor is not None:
        note_click(context["uow"], actor, parts[1], context["now"])
