"""Helpers for the surface tests (/deal, /pipeline, /salesbot, modals, Home): run, read, check.

Every answer they return has been checked against Block Kit (tests/bot/blockkit.py).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from sqlalchemy import func, select

from bot.commands import Request
from core.db import UnitOfWork
from core.errors import UserError
from core.tables import Activity, Deal, DealChange, Reminder
from tests.bot.blockkit import assert_valid_message, assert_valid_view
from tests.bot.fake_slack import Call, FakeSlack
from tests.bot.signing import (
    block_actions_payload,
    send_action,
    send_command,
    send_view_submission,
    view_submission_payload,
)


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [t for k, v in node.items() for t in ([v] if k in ("text", "value") and isinstance(v, str)
                                                   else _texts(v))]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


def text_of(body: dict[str, Any]) -> str:
    """The notification text and every text (and button value) in the blocks, as one string."""
    return "\n".join([body.get("text", ""), *_texts(body.get("blocks", []))])


def answers(fake: FakeSlack) -> list[dict[str, Any]]:
    """Every response_url answer so far, each checked against Block Kit."""
    found = [c.body for c in fake.calls("response_url")]
    for body in found:
        assert_valid_message(body)
    return found


def command(app: App, fake: FakeSlack, name: str, text: str = "", user: str = "UANA") -> dict[str, Any]:
    """Run a slash command and return its one answer (through the response_url)."""
    fake.clear()
    response = send_command(app, name, text, user_id=user)
    assert response.status == 200, response.body
    found = answers(fake)
    assert len(found) == 1, f"expected one answer to {name} {text!r}, got {fake.methods()}"
    return found[0]


def deal(app: App, fake: FakeSlack, text: str = "", user: str = "UANA") -> dict[str, Any]:
    return command(app, fake, "/deal", text, user)


def opened_view(fake: FakeSlack) -> dict[str, Any]:
    """The one view opened since the last clear, checked against Block Kit."""
    calls = fake.calls("views.open")
    assert len(calls) == 1, fake.methods()
    view = calls[0]["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert calls[0]["trigger_id"]
    assert_valid_view(view)
    return dict(view)


def published_views(fake: FakeSlack) -> list[dict[str, Any]]:
    views = []
    for call in fake.calls("views.publish"):
        view = call["view"]
        view = json.loads(view) if isinstance(view, str) else view
        assert_valid_view(view)
        views.append(view)
    return views


def press(app: App, fake: FakeSlack, action_id: str, value: str, user: str = "UANA",
          message: dict[str, Any] | None = None, **kw: Any) -> list[Call]:
    """Press a button; return the calls it caused."""
    fake.clear()
    response = send_action(app, block_actions_payload(action_id, value, user_id=user, message=message, **kw))
    assert response.status == 200, response.body
    answers(fake)
    return fake.calls()


def submit(app: App, fake: FakeSlack, callback_id: str, values: dict[str, Any], *, user: str = "UANA",
           metadata: dict[str, Any] | None = None, view_id: str = "V1",
           blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Submit a modal; return the ack body ({} when the modal closes)."""
    fake.clear()
    payload = view_submission_payload(callback_id, values, user_id=user, view_id=view_id,
                                      private_metadata=json.dumps(metadata or {}), blocks=blocks)
    response = send_view_submission(app, payload)
    assert response.status == 200, response.body
    return json.loads(response.body) if response.body else {}


def text_value(value: str | None) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def select_value(value: str) -> dict[str, Any]:
    return {"value": {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": value},
                                                                   "value": value}}}


def date_value(value: str | None) -> dict[str, Any]:
    return {"value": {"type": "datepicker", "selected_date": value}}


def user_value(value: str | None) -> dict[str, Any]:
    return {"value": {"type": "users_select", "selected_user": value}}


def time_value(value: str) -> dict[str, Any]:
    return {"value": {"type": "timepicker", "selected_time": value}}


def number_value(value: str) -> dict[str, Any]:
    return {"value": {"type": "number_input", "value": value}}


def snapshot(uow: UnitOfWork) -> list[Any]:
    """Deals, history, activities and reminders as they stand (for "nothing changed")."""
    with uow.read() as s:
        rows = s.execute(select(Deal.number, Deal.title, Deal.amount_minor, Deal.currency, Deal.stage_id,
                                Deal.status, Deal.owner_id, Deal.expected_close, Deal.lost_reason)
                         .order_by(Deal.number)).all()
        return [
            [tuple(r) for r in rows],
            s.scalar(select(func.count(DealChange.id))),
            s.scalar(select(func.count(Activity.id))),
            s.scalar(select(func.count(Reminder.id))),
        ]


def answer_changing_nothing(app: App, fake: FakeSlack, uow: UnitOfWork, text: str, user: str = "UANA") -> str:
    """The text of the answer to `/deal <text>`, checking that it changed no deal, activity or reminder."""
    before = snapshot(uow)
    answer = text_of(deal(app, fake, text, user))
    assert snapshot(uow) == before
    return answer


def answers_of_run(run: Callable[[Request, str], None], req: Request, text: str) -> list[dict[str, Any]] | None:
    """Run a command's text straight through its `run` (no HTTP), answering into a list.

    Returns the answers, each checked against Block Kit, or None when the text raised a
    UserError (which must say something).
    """
    answers: list[dict[str, Any]] = []
    req.respond = lambda **kw: answers.append(kw)
    try:
        run(req, text)
    except UserError as err:
        assert err.message
        return None
    for body in answers:
        assert_valid_message(body)
    return answers
