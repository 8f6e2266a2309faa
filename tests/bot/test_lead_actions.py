"""Buttons on hot-lead alerts: Claim (first click wins, 20 at once), Assign, Not a fit — updated in place."""

from __future__ import annotations

import json
import threading
from datetime import datetime

from slack_bolt import App
from sqlalchemy import select

from bot.views import leads as views
from core.db import UnitOfWork
from core.leads.intake import clean_lead, intake
from core.tables import Lead, LeadStatus, Workspace
from core.workspace.users import Actor
from tests.bot.blockkit import assert_valid_message
from tests.bot.fake_slack import FakeSlack
from tests.bot.signing import block_actions_payload, send_action
from tests.bot.surfaces import opened_view, press, submit, text_value
from tests.conftest import make_actor


def hot_lead(uow: UnitOfWork, actor: Actor, now: datetime) -> tuple[int, dict]:
    with uow.transaction() as s:
        intake(s, s.get_one(Workspace, actor.workspace_id), [clean_lead({"name": "Zoe Hart", "company": "Acme"})], now)
        row = s.scalars(select(Lead)).one()
        card = {
            "lead_id": row.id,
            "ref": row.ref,
            "name": row.name,
            "company": row.company,
            "score": 82,
            "reasons": [{"points": 40, "label": "demo requested", "at": now.isoformat(), "count": 1}],
            "hot_since": now.isoformat(),
        }
    message = views.hot_lead_message(card)
    assert_valid_message(message)
    return row.id, {**message, "ts": "1700000000.000100"}


def owner_of(uow: UnitOfWork, lead_id: int) -> int | None:
    with uow.read() as s:
        return s.get_one(Lead, lead_id).owner_id


def test_claim_takes_the_lead_and_updates_the_alert_in_place(app: App, fake_slack: FakeSlack, uow, ana, now):
    lead_id, message = hot_lead(uow, ana, now)
    calls = press(app, fake_slack, views.CLAIM, str(lead_id), message=message, channel_id="CEAST")
    assert owner_of(uow, lead_id) == ana.user_id
    update = [c for c in calls if c.method == "chat.update"]
    assert len(update) == 1 and update[0]["channel"] == "CEAST" and update[0]["ts"] == "1700000000.000100"
    blocks = update[0]["blocks"]
    blocks = __import__("json").loads(blocks) if isinstance(blocks, str) else blocks
    assert_valid_message({"text": "x", "blocks": blocks})
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "claimed L-1" in str(blocks[-1]) and "<@UANA>" in str(blocks[-1])
    note = [c for c in calls if c.method == "chat.postEphemeral"]
    assert note and note[0]["user"] == "UANA" and "is yours" in note[0]["text"]


def test_a_second_claim_is_told_politely_who_has_it(app, fake_slack, uow, ana, bob, now):
    lead_id, message = hot_lead(uow, ana, now)
    press(app, fake_slack, views.CLAIM, str(lead_id), message=message)
    calls = press(app, fake_slack, views.CLAIM, str(lead_id), user="UBOB", message=message)
    assert [c.method for c in calls if c.method.startswith("chat.")] == ["chat.postEphemeral"]
    assert calls[-1]["text"] == "Sorry, L-1 Zoe Hart was already claimed by <@UANA>."
    assert owner_of(uow, lead_id) == ana.user_id
    again = press(app, fake_slack, views.CLAIM, str(lead_id), message=message)
    assert "You already have L-1" in again[-1]["text"]


def test_twenty_concurrent_claims_leave_one_owner_and_nineteen_polite_notes(app, fake_slack, uow, mia, now):
    reps = [make_actor(uow, f"UREP{i:02d}", name=f"Rep {i}", team="East") for i in range(20)]
    lead_id, message = hot_lead(uow, mia, now)
    fake_slack.clear()
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def click(rep: Actor) -> None:
        payload = block_actions_payload(views.CLAIM, str(lead_id), user_id=rep.slack_id or "", message=message)
        barrier.wait()
        statuses.append(send_action(app, payload).status)

    threads = [threading.Thread(target=click, args=(r,)) for r in reps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 20
    owner = owner_of(uow, lead_id)
    winner = next(r for r in reps if r.user_id == owner)
    assert len(fake_slack.calls("chat.update")) == 1
    notes = fake_slack.calls("chat.postEphemeral")
    sorry = [n for n in notes if n["text"].startswith("Sorry")]
    assert len(sorry) == 19
    assert {n["text"] for n in sorry} == {f"Sorry, L-1 Zoe Hart was already claimed by <@{winner.slack_id}>."}
    assert {n["user"] for n in sorry} == {r.slack_id for r in reps} - {winner.slack_id}


def test_assign_from_the_alert_needs_a_manager(app, fake_slack, uow, ana, bob, mia, now):
    lead_id, message = hot_lead(uow, ana, now)
    selected = {"selected_user": "UANA"}
    kw = {"action_type": "users_select", "selected": selected, "block_id": f"lead_actions:{lead_id}"}
    calls = press(app, fake_slack, views.ASSIGN, None, user="UBOB", message=message, **kw)
    assert "can't assign" in str([c.body for c in calls])
    assert owner_of(uow, lead_id) is None
    calls = press(app, fake_slack, views.ASSIGN, None, user="UMIA", message=message, **kw)
    assert owner_of(uow, lead_id) == ana.user_id
    update = [c for c in calls if c.method == "chat.update"]
    assert update and "assigned L-1 to <@UANA>" in str(update[0]["blocks"])


def lead_state(uow: UnitOfWork, lead_id: int) -> tuple:
    with uow.read() as s:
        row = s.get_one(Lead, lead_id)
        return (row.status, row.owner_id, row.claimed_at, row.hot, row.hot_since, row.disqualify_reason)


def updated_blocks(calls: list) -> list[dict]:
    [update] = [c for c in calls if c.method == "chat.update"]
    blocks = update["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert_valid_message({"text": update["text"], "blocks": blocks})
    return blocks


def not_a_fit(app: App, fake: FakeSlack, lead_id: int, message: dict, reason: str | None,
              user: str = "UANA") -> tuple[dict, dict]:
    """Press Not a fit, then submit its modal; return the opened view and the submission's ack."""
    press(app, fake, views.NOT_A_FIT, str(lead_id), user=user, message=message, channel_id="CEAST")
    view = opened_view(fake)  # checked against Block Kit
    meta = json.loads(view["private_metadata"])
    ack = submit(app, fake, views.NOT_A_FIT_FORM, {"reason": text_value(reason)}, user=user, metadata=meta,
                 blocks=view["blocks"])
    return view, ack


def test_not_a_fit_asks_why_then_disqualifies_with_an_undo(app, fake_slack, uow, ana, bob, now):
    lead_id, message = hot_lead(uow, ana, now)
    before = lead_state(uow, lead_id)
    calls = press(app, fake_slack, views.NOT_A_FIT, str(lead_id), user="UBOB", message=message)
    assert "can't disqualify" in str([c.body for c in calls])  # Bob is in West, the lead in East
    assert not fake_slack.calls("views.open") and lead_state(uow, lead_id) == before
    # Pressing only asks: nothing changes until a reason is given.
    press(app, fake_slack, views.NOT_A_FIT, str(lead_id), message=message, channel_id="CEAST")
    view = opened_view(fake_slack)
    assert view["callback_id"] == views.NOT_A_FIT_FORM and "L-1 Zoe Hart" in str(view["blocks"])
    assert lead_state(uow, lead_id) == before
    _, ack = not_a_fit(app, fake_slack, lead_id, message, "   ")
    assert ack["response_action"] == "errors" and "Say why" in ack["errors"]["reason"]
    assert lead_state(uow, lead_id) == before and not fake_slack.calls("chat.update")

    _, ack = not_a_fit(app, fake_slack, lead_id, message, "student, no budget")
    assert ack == {}
    assert lead_state(uow, lead_id)[0::5] == (LeadStatus.DISQUALIFIED, "student, no budget")
    blocks = updated_blocks(fake_slack.calls())
    shown = str(blocks)
    assert "marked L-1 not a fit: student, no budget" in shown and "<@UANA>" in shown
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [views.UNDO_NOT_A_FIT]  # Claim / Assign / Not a fit gone, Undo in their place


def test_undo_within_a_minute_restores_the_lead_and_the_buttons(app, fake_slack, uow, ana, now):
    lead_id, message = hot_lead(uow, ana, now)
    before = lead_state(uow, lead_id)
    not_a_fit(app, fake_slack, lead_id, message, "wrong country")
    card = {"text": "Hot lead", "blocks": updated_blocks(fake_slack.calls()), "ts": message["ts"]}
    calls = press(app, fake_slack, views.UNDO_NOT_A_FIT, str(lead_id), message=card, channel_id="CEAST")
    assert lead_state(uow, lead_id) == before  # status, owner, claim, heat and reason as they were
    blocks = updated_blocks(calls)
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [views.CLAIM, views.ASSIGN, views.NOT_A_FIT]
    assert "undid Not a fit on L-1" in str(blocks)
    assert any("is back as it was" in c.body.get("text", "") for c in calls if c.method == "chat.postEphemeral")


def test_undo_by_someone_else_or_after_a_minute_changes_nothing(app, fake_slack, uow, ana, mia, now,
                                                                slack_settings):
    from datetime import timedelta

    from bot.app import create_app

    lead_id, message = hot_lead(uow, ana, now)
    not_a_fit(app, fake_slack, lead_id, message, "spam")
    card = {"text": "Hot lead", "blocks": updated_blocks(fake_slack.calls()), "ts": message["ts"]}
    after = lead_state(uow, lead_id)
    calls = press(app, fake_slack, views.UNDO_NOT_A_FIT, str(lead_id), user="UMIA", message=card)
    assert "Only Ana can undo" in str([c.body for c in calls])
    assert not [c for c in calls if c.method == "chat.update"] and lead_state(uow, lead_id) == after

    later = create_app(slack_settings, uow, clock=lambda: now + timedelta(seconds=61), process_before_response=True)
    later.salesbot_test_fake = fake_slack  # type: ignore[attr-defined]
    calls = press(later, fake_slack, views.UNDO_NOT_A_FIT, str(lead_id), message=card, channel_id="CEAST")
    assert "Too late to undo" in str([c.body for c in calls])
    assert lead_state(uow, lead_id) == after
    blocks = updated_blocks(calls)  # the card keeps who did it, and drops the Undo it can no longer honour
    assert not [b for b in blocks if b["type"] == "actions"] and "marked L-1 not a fit: spam" in str(blocks)


def test_claim_on_a_grouped_alert_only_touches_that_lead(app, fake_slack, uow, ana, now):
    lead_id, _ = hot_lead(uow, ana, now)
    card = {"lead_id": lead_id, "ref": "L-1", "name": "Zoe Hart", "score": 82, "reasons": []}
    other = {**card, "lead_id": 999, "ref": "L-9", "name": "Other"}
    message = {**views.hot_burst_message({"leads": [card, other]}), "ts": "1700000000.000200"}
    calls = press(app, fake_slack, views.CLAIM, str(lead_id), message=message)
    blocks = next(c for c in calls if c.method == "chat.update")["blocks"]
    blocks = __import__("json").loads(blocks) if isinstance(blocks, str) else blocks
    claimable = [b["block_id"] for b in blocks if "accessory" in b]
    assert claimable == ["lead:999"]
    assert_valid_message({"text": "x", "blocks": blocks})


def test_claim_from_an_ephemeral_list_replaces_it_through_the_response_url(app, fake_slack, uow, ana, now):
    lead_id, _ = hot_lead(uow, ana, now)
    from core.leads import leads as core_leads

    listed = views.leads_listed(core_leads.list_leads(uow, ana, "new"), "new")
    message = {"text": listed["text"], "blocks": listed["blocks"], "ts": "1700000000.000300"}
    fake_slack.clear()
    payload = block_actions_payload(views.CLAIM, str(lead_id), message=message)
    payload["container"]["is_ephemeral"] = True
    payload["response_url"] = fake_slack.response_url("eph")
    assert send_action(app, payload).status == 200
    assert owner_of(uow, lead_id) == ana.user_id
    assert fake_slack.calls("chat.update") == []
    replaced = fake_slack.calls("response_url")
    assert replaced and replaced[0]["replace_original"] is True
    assert "claimed L-1" in str(replaced[0]["blocks"])
