"""`/salesbot setup` and `/salesbot pipeline`: the two admin modals and their submissions."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.logs import redact_from_now_on
from bot.modals.deal_forms import field_value, modal, select_input, text_input
from bot.modals.submissions import actor_of_context, submit, tell
from bot.secrets import webhook_secret_seal
from bot.views import discounts as discount_views
from bot.views.common import Block, context, divider, escape, message, plain, section
from core.deals.room_settings import RoomSettings, parse_room_amount, save_room_settings
from core.i18n import N_, _, ngettext
from core.notify.discounts import DiscountSettings, check_manager_up_to, update_discount_settings
from core.workspace.setup import (
    LOCALES,
    SECRET_MAX,
    WEEKDAYS,
    StageInfo,
    WorkspaceSettings,
    update_pipeline_stages,
    update_workspace_settings,
)
from core.workspace.users import Actor

SETUP, PIPELINE = "salesbot_setup", "salesbot_pipeline"
# Each language named in itself, so anyone can find their own.
LANGUAGE_NAMES = {"en": "English", "tr": "Türkçe"}
WEEKDAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
                 N_("Sunday"))


def register(app: App) -> None:
    """Listen to the admin modals' submissions."""
    app.view(SETUP)(on_setup)
    app.view(PIPELINE)(on_pipeline)


def _time_input(block_id: str, label: str, initial: str) -> Block:
    return {"type": "input", "block_id": block_id, "label": plain(label), "optional": False,
            "element": {"type": "timepicker", "action_id": "value", "initial_time": initial}}


def setup_view(settings: WorkspaceSettings, discounts: DiscountSettings | None = None,
               rooms: RoomSettings | None = None) -> Block:
    """The workspace settings modal, filled with the current values."""
    threshold: Block = {
        "type": "input", "block_id": "hot_lead_threshold", "label": plain(_("Hot-lead score threshold")),
        "element": {"type": "number_input", "action_id": "value", "is_decimal_allowed": False,
                    "min_value": "1", "max_value": "100", "initial_value": str(settings.hot_lead_threshold)},
    }
    blocks = [
        text_input("default_currency", _("Default currency"), initial=settings.default_currency, optional=False,
                    placeholder="USD, EUR, TRY", max_length=3),
        select_input("locale", _("Language and number format"),
                     [(LANGUAGE_NAMES.get(loc, loc), loc) for loc in LOCALES], initial=settings.locale),
        select_input("digest_weekday", _("Weekly digest day"),
                     [(_(WEEKDAY_NAMES[i]), str(i)) for i in range(len(WEEKDAYS))],
                     initial=str(settings.digest_weekday)),
        _time_input("digest_time", _("Weekly digest time (each manager's local time)"), settings.digest_time),
        threshold,
        _time_input("quiet_start", _("Quiet hours start (no nudges)"), settings.quiet_start),
        _time_input("quiet_end", _("Quiet hours end"), settings.quiet_end),
        _secret_input(settings.lead_webhook_secret_set),
        *_room_inputs(rooms or RoomSettings()),
    ]
    blocks += discount_setup_blocks(discounts or DiscountSettings())
    return modal(SETUP, _("Salesbot setup"), _("Save"), blocks, {})


# -- deal rooms (issue 15 point 3): when a deal gets its room without being asked --------------------


def _room_inputs(rooms: RoomSettings) -> list[Block]:
    amount = f"{rooms.min_amount.amount.normalize():f} {rooms.min_amount.currency}" if rooms.min_amount else None
    stage = text_input("room_stage", _("Deal room from stage (empty: only on request)"), initial=rooms.stage,
                       placeholder=_("e.g. Proposal"), max_length=100)
    stage["hint"] = plain(_("A deal that reaches this stage, or a later one, gets a private channel."))
    return [
        stage,
        text_input("room_amount", _("Deal room from amount (empty: no amount rule)"), initial=amount,
                   placeholder=_("e.g. 50000 USD"), max_length=40),
    ]


def _save_rooms(context: BoltContext, actor: Actor, view: dict[str, Any], currency: str) -> None:
    """Save the room settings of the setup modal (in the caller's transaction: all or nothing)."""
    save_room_settings(context["uow"], actor, field_value(view, "room_stage"),
                       parse_room_amount(field_value(view, "room_amount"), currency), now=context["now"])


# -- discount approvals (issue 15, point 4): their own block of the setup modal ------------------
# Kept apart from the other settings: read, checked and saved by core.notify.discounts.

DISCOUNT_UP_TO = "discount_manager_up_to"


def discount_setup_blocks(settings: DiscountSettings) -> list[Block]:
    """The discount threshold: up to it the manager approves alone, above it an admin too."""
    block: Block = {
        "type": "input", "block_id": DISCOUNT_UP_TO,
        "label": plain(_("Discounts a manager approves alone, up to (%)")),
        "element": {"type": "number_input", "action_id": "value", "is_decimal_allowed": True,
                    "min_value": "0", "max_value": "100",
                    "initial_value": format(settings.manager_up_to_percent.normalize(), "f")},
        "hint": plain(_("Above it an admin approves too, after the manager. 0: every discount needs an admin."),
                      2000),
    }
    return [divider(), block]


def read_discount_setup(view: dict[str, Any]) -> Decimal | None:
    """The threshold typed in the modal, checked (InvalidInput on its field) before anything is saved.

    None when the submitted form has no such field (a form opened before it existed): kept as is.
    """
    if DISCOUNT_UP_TO not in ((view.get("state") or {}).get("values") or {}):
        return None
    return check_manager_up_to(field_value(view, DISCOUNT_UP_TO) or "")


def save_discount_setup(context: BoltContext, actor: Actor, up_to: Decimal | None) -> str | None:
    """Save the threshold; the line the confirmation adds (None when nothing was given)."""
    if up_to is None:
        return None
    saved = update_discount_settings(context["uow"], actor, now=context["now"], manager_up_to_percent=up_to)
    return _("Discounts above {percent} need an admin too.").format(
        percent=discount_views.percent(saved.manager_up_to_percent))

# -- end of discount approvals --------------------------------------------------------------------


def _secret_input(is_set: bool) -> Block:
    """The workspace's own lead-webhook secret: never shown back, only whether one is set."""
    if is_set:
        placeholder = _("Set. Leave blank to keep it, type - to remove it")
    else:
        placeholder = _("Not set: the install's secret applies")
    block = text_input("lead_webhook_secret", _("Lead webhook secret (this workspace's own)"),
                       placeholder=placeholder, max_length=SECRET_MAX)
    block["hint"] = plain(_("Senders sign POST /hooks/leads?team=<team id> with it. Once set, only this "
                            "secret adds leads to this workspace."))
    return block


def stage_lines(stages: list[StageInfo]) -> str:
    """The open stages as the modal's text."""
    return "\n".join(ngettext("{name}, {probability}%, {n} day", "{name}, {probability}%, {n} days", s.rotting_days)
                     .format(name=s.name, probability=s.probability, n=s.rotting_days)
                     for s in stages if not (s.is_won or s.is_lost))


def pipeline_view(stages: list[StageInfo]) -> Block:
    """The pipeline modal: one open stage a line, `Name, probability%, rotting days`."""
    blocks = [
        section(_("One open stage a line, in order: `Name, probability%, rotting days`. "
                  "Won and Lost are always there.")),
        text_input("stages", _("Open stages"), initial=stage_lines(stages), optional=False, multiline=True,
                    max_length=2000),
        context(_("Rename with `Old name -> New name, 25%` (its deals stay). A stage that still holds deals "
                  "can't be removed: move its deals first.")),
    ]
    return modal(PIPELINE, _("Pipeline stages"), _("Save"), blocks, {})


def _settings_message(s: WorkspaceSettings, extra: str | None = None) -> dict[str, Any]:
    day = _(WEEKDAY_NAMES[s.digest_weekday])
    text = _("Settings saved: {currency}, language {language}, digest {day} {time}, hot leads from score "
             "{threshold}, quiet {start}–{end}.").format(
        currency=s.default_currency, language=LANGUAGE_NAMES.get(s.locale, s.locale), day=day, time=s.digest_time,
        threshold=s.hot_lead_threshold, start=s.quiet_start, end=s.quiet_end)
    if s.rates_removed:
        text += " " + ngettext(
            "The base currency is now {currency}: the {n} exchange rate into the old one was removed; set rates "
            "into {currency} with `/salesbot rate`.",
            "The base currency is now {currency}: the {n} exchange rates into the old one were removed; set rates "
            "into {currency} with `/salesbot rate`.", s.rates_removed).format(currency=s.default_currency,
                                                                              n=s.rates_removed)
    if s.lead_webhook_secret_set:
        text += " " + _("The lead webhook takes this workspace's own secret.")
    if extra:
        text += " " + extra
    text = escape(text)
    return message(text, [section(f":gear: {text}")])


def on_setup(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Save the workspace settings."""
    def work() -> Callable[[], None]:
        actor = actor_of_context(context)
        discount_up_to = read_discount_setup(view)  # checked before anything is saved
        with context["uow"].transaction():  # the settings, rooms and discounts: saved together or not at all
            saved = _save_setup(actor)
            discount_text = save_discount_setup(context, actor, discount_up_to)
        return lambda: tell(context, actor, view, _settings_message(saved, discount_text))

    def _save_setup(actor: Actor) -> WorkspaceSettings:
        redact_from_now_on(field_value(view, "lead_webhook_secret"))
        saved = update_workspace_settings(
            context["uow"], actor, now=context["now"],
            default_currency=field_value(view, "default_currency") or "",
            locale=field_value(view, "locale") or "",
            digest_weekday=field_value(view, "digest_weekday") or "",
            digest_time=field_value(view, "digest_time") or "",
            hot_lead_threshold=field_value(view, "hot_lead_threshold") or "",
            quiet_start=field_value(view, "quiet_start") or "",
            quiet_end=field_value(view, "quiet_end") or "",
            lead_webhook_secret=field_value(view, "lead_webhook_secret"),
            seal=webhook_secret_seal(context["settings"]),
        )
        _save_rooms(context, actor, view, saved.default_currency)
        return saved

    submit(ack, view, "default_currency", work, "setup modal")


def on_pipeline(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Save the pipeline's stages."""
    def work() -> Callable[[], None]:
        actor = actor_of_context(context)
        stages = update_pipeline_stages(context["uow"], actor, field_value(view, "stages") or "",
                                        now=context["now"])
        text = escape(_("Pipeline saved: {stages}").format(
            stages=", ".join(f"{s.name} {s.probability}%" for s in stages)))
        return lambda: tell(context, actor, view, message(text, [section(f":white_check_mark: {text}")]))

    submit(ack, view, "stages", work, "pipeline modal")

