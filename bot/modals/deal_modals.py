"""Submissions of the deal modals: new, edit, close won, close lost, log activity, reminder."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.home import refresh_homes
from bot.modals import deal_forms as forms
from bot.modals.submissions import actor_of_context, on_field, submit, tell
from bot.views import deals as views
from core.dates import parse_datetime
from core.deals import deals
from core.errors import InvalidInput, NotAllowed
from core.i18n import _
from core.money import Money, parse_amount
from core.workspace.admin import member_id
from core.workspace.users import Actor


def register(app: App) -> None:
    """Listen to the deal modals' submissions."""
    app.view(forms.NEW_DEAL)(on_new_deal)
    app.view(forms.EDIT_DEAL)(on_edit_deal)
    app.view(forms.CLOSE_WON)(on_close_won)
    app.view(forms.CLOSE_LOST)(on_close_lost)
    app.view(forms.LOG_ACTIVITY)(on_log_activity)
    app.view(forms.SET_REMINDER)(on_set_reminder)


def _amount(view: dict[str, Any], actor: Actor) -> Money | None:
    text = forms.field_value(view, "amount")
    if text is None:
        return None
    return on_field("amount", lambda: parse_amount(text, actor.locale, actor.currency))  # type: ignore[no-any-return]


def _owner(view: dict[str, Any], context: BoltContext, actor: Actor) -> int | None:
    slack_id = forms.field_value(view, "owner")
    if slack_id is None or slack_id == actor.slack_id:
        return None
    return member_id(context["uow"], actor, slack_id, context["now"])


def _follow_up(client: WebClient, context: BoltContext, actor: Actor, view: dict[str, Any],
               body: dict[str, Any], deal: deals.DealView | None = None) -> Callable[[], None]:
    def after() -> None:
        tell(context, actor, view, body)
        refresh_homes(context.get("homes"), client, context["uow"], actor, context["now"],
                      deal.owner_slack_id if deal else None)

    return after


def _on_owner_field(create: Callable[..., deals.DealView]) -> Callable[..., deals.DealView]:
    """A refusal to create for someone else is about the Owner field."""
    def wrapped(*args: Any, **kwargs: Any) -> deals.DealView:
        try:
            return create(*args, **kwargs)
        except NotAllowed as err:
            raise NotAllowed(err.message, field="owner") from None

    return wrapped


def _ref(view: dict[str, Any]) -> str:
    ref = forms.metadata_of(view).get("ref")
    if not ref:
        raise InvalidInput(_("This form lost track of its deal; open it again from the deal."))
    return str(ref)


def on_new_deal(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """New deal: one deal per view, however often it is submitted."""
    def work() -> Callable[[], None]:
        actor, now = actor_of_context(context), context["now"]
        title = forms.field_value(view, "title") or ""
        if not title:
            raise InvalidInput(_("A deal needs a title."), field="title")
        amount = _amount(view, actor)
        close = forms.read_date(view, "close")
        owner_id = _owner(view, context, actor)
        create = deals.create_deal if owner_id is None else _on_owner_field(deals.create_deal)
        deal = create(
            context["uow"], actor, title=title, now=now, amount=amount, stage=forms.field_value(view, "stage"),
            expected_close=close, owner_id=owner_id, account=forms.field_value(view, "account"),
            next_step=forms.field_value(view, "next_step"),
            first_note=forms.metadata_of(view).get("first_note"),  # from the "Create deal" message shortcut
            # Both submits of a double click carry the same view id: one deal, not two.
            idempotency_key=f"modal:new_deal:{view.get('id') or view.get('root_view_id')}",
        )
        created = views.deal_changed(deal, actor, _("created in {stage}").format(stage=deal.stage))
        return _follow_up(client, context, actor, view, created, deal)

    submit(ack, view, "title", work, "new deal modal")


def on_edit_deal(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Edit deal."""
    def work() -> Callable[[], None]:
        actor, now = actor_of_context(context), context["now"]
        title = forms.field_value(view, "title") or ""
        if not title:
            raise InvalidInput(_("A deal needs a title."), field="title")
        changes: dict[str, Any] = {
            "title": title,
            "amount": _amount(view, actor),
            "expected_close": forms.read_date(view, "close"),
            "account": forms.field_value(view, "account"),
            "contact": forms.field_value(view, "contact"),
            "next_step": forms.field_value(view, "next_step"),
        }
        owner_slack = forms.field_value(view, "owner")
        if owner_slack is not None:
            changes["owner_id"] = member_id(context["uow"], actor, owner_slack, now)
        current = deals.get_deal(context["uow"], actor, _ref(view))
        if changes.get("owner_id") == current.owner_id:
            changes.pop("owner_id")  # unchanged owner: no reassignment permission needed
        deal = deals.edit_deal(context["uow"], actor, current.ref, now=now, **changes)
        body = views.with_acted_line(views.deal_changed(deal, actor, _("updated")), actor,
                                     _("edited {ref}").format(ref=deal.ref), now)
        return _follow_up(client, context, actor, view, body, deal)

    submit(ack, view, "title", work, "edit deal modal")


def on_close_won(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Close won (with the final amount)."""
    def work() -> Callable[[], None]:
        actor = actor_of_context(context)
        amount = _amount(view, actor)
        deal = deals.close_deal_won(context["uow"], actor, _ref(view), now=context["now"], amount=amount)
        return _follow_up(client, context, actor, view, views.deal_won(deal, actor), deal)

    submit(ack, view, "amount", work, "close won modal")


def on_close_lost(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Close lost (the reason is required)."""
    def work() -> Callable[[], None]:
        actor = actor_of_context(context)
        reason = forms.field_value(view, "reason") or ""
        if not reason:
            raise InvalidInput(_("Say why it was lost."), field="reason")
        deal = deals.close_deal_lost(context["uow"], actor, _ref(view), reason, now=context["now"])
        lost = views.deal_changed(deal, actor, _("closed as lost: {reason}").format(reason=reason))
        body = views.with_acted_line(lost, actor, _("closed {ref} as lost").format(ref=deal.ref), context["now"])
        return _follow_up(client, context, actor, view, body, deal)

    submit(ack, view, "reason", work, "close lost modal")


def on_log_activity(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Log activity."""
    def work() -> Callable[[], None]:
        actor = actor_of_context(context)
        kind = forms.kind_of(forms.field_value(view, "kind"))
        text = forms.field_value(view, "text") or ""
        activity = deals.log_activity(context["uow"], actor, _ref(view), kind, text, now=context["now"])
        return _follow_up(client, context, actor, view, views.activity_logged(activity, actor))

    submit(ack, view, "kind", work, "log activity modal")


def on_set_reminder(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Set reminder."""
    def work() -> Callable[[], None]:
        actor, now = actor_of_context(context), context["now"]
        when_text = forms.field_value(view, "when") or ""
        due_at = on_field("when", lambda: parse_datetime(when_text, now, actor.tz, actor.locale))
        from core.notify.reminders import set_reminder

        reminder = set_reminder(context["uow"], actor, deal_ref=_ref(view), due_at=due_at,
                                text=forms.field_value(view, "text") or "", now=now)
        body = views.reminder_set(reminder.deal_ref, reminder.due_at, reminder.text, actor,
                                  reminder.arrives_at, now)
        return _follow_up(client, context, actor, view, body)

    submit(ack, view, "when", work, "reminder modal")
