"""Installations, workspace status and OAuth states in core (ciphertext in, ciphertext out)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from core.db import UnitOfWork
from core.notify import outbox
from core.tables import OutboxMessage, OutboxStatus, Workspace, WorkspaceStatus
from core.workspace import installations as inst
from core.workspace.installations import InstallationRecord
from tests.conftest import make_actor


def _status(uow: UnitOfWork, team_id: str) -> tuple[WorkspaceStatus, str | None]:
    with uow.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.team_id == team_id))
        assert ws is not None
        return ws.status, ws.status_reason


def test_status_moves_and_what_each_means_for_the_outbox(uow: UnitOfWork, now: datetime) -> None:
    ana = make_actor(uow, "UANA", team_id="T1")
    with uow.transaction() as s:
        ws_id = inst.save_installation(s, InstallationRecord(team_id="T1", bot_token="cipher-1"), now)
        assert ws_id == ana.workspace_id  # the workspace that was there, with its data
        outbox.enqueue(s, ws_id, "a", "nudge", "C1", {"text": "a"}, now)
    # Paused: nothing is claimed, nothing is lost.
    with uow.transaction() as s:
        assert inst.pause_workspace(s, ws_id, "Slack answered token_revoked", now)
        assert not inst.pause_workspace(s, ws_id, "again", now)  # already paused: no change
        assert outbox.claim(s, now) == [] and outbox.next_due_at(s, now) is None
        assert outbox.pending_count_of(s, ws_id) == 1
    assert _status(uow, "T1") == (WorkspaceStatus.PAUSED, "Slack answered token_revoked")
    # Uninstalled: tokens gone, queued and later messages set aside; pausing does not undo it.
    with uow.transaction() as s:
        assert inst.mark_uninstalled(s, "T1", "app_uninstalled", now) == ws_id
        assert outbox.set_aside(s, ws_id, "app_uninstalled") == 1
        assert outbox.enqueue(s, ws_id, "b", "nudge", "C1", {"text": "b"}, now)
        assert not inst.pause_workspace(s, ws_id, "x", now)
        assert inst.find_installation(s, "T1") is None
        assert [m.key for m in outbox.set_aside_messages(s, ws_id)] == ["a", "b"]
        assert outbox.claim(s, now) == []
    assert _status(uow, "T1") == (WorkspaceStatus.UNINSTALLED, "app_uninstalled")
    # A reinstall: active, new messages are claimed, the set-aside ones stay aside.
    with uow.transaction() as s:
        inst.save_installation(s, InstallationRecord(team_id="T1", bot_token="cipher-2"), now)
        outbox.enqueue(s, ws_id, "c", "nudge", "C1", {"text": "c"}, now)
        assert [i.key for i in outbox.claim(s, now)] == ["c"]
        found = inst.find_installation(s, "T1")
        assert found is not None and found.bot_token == "cipher-2"
        assert set(s.scalars(select(OutboxMessage.status).where(OutboxMessage.key.in_(["a", "b"])))) == {
            OutboxStatus.SET_ASIDE
        }
    assert _status(uow, "T1") == (WorkspaceStatus.ACTIVE, None)
    with uow.read() as s:
        [state] = inst.workspace_states(s)
    assert (state.team_id, state.status, state.installed) == ("T1", "active", True)


def test_reencrypt_is_all_or_nothing(uow: UnitOfWork, now: datetime) -> None:
    with uow.transaction() as s:
        inst.save_installation(s, InstallationRecord(team_id="T1", bot_token="a1", bot_refresh_token="r1"), now)
        inst.save_installation(s, InstallationRecord(team_id="T2", bot_token="bad"), now)

    def convert(value: str) -> str:
        if value == "bad":
            raise ValueError("unreadable")
        return value.upper()

    try:
        with uow.transaction() as s:
            inst.reencrypt_all(s, convert)
    except ValueError:
        pass
    with uow.read() as s:
        t1 = inst.find_installation(s, "T1")
    assert t1 is not None and (t1.bot_token, t1.bot_refresh_token) == ("a1", "r1")  # untouched
    with uow.transaction() as s:
        inst.delete_installation(s, "T2")
        assert inst.reencrypt_all(s, convert) == 2


def test_a_state_is_good_once_and_until_it_expires(uow: UnitOfWork, now: datetime) -> None:
    with uow.transaction() as s:
        inst.save_state(s, "n1", now + timedelta(minutes=10))
        inst.save_state(s, "n2", now + timedelta(minutes=10))
    with uow.transaction() as s:
        assert inst.consume_state(s, "n1", now)
        assert not inst.consume_state(s, "n1", now)  # used
        assert not inst.consume_state(s, "unknown", now)
        assert not inst.consume_state(s, "n2", now + timedelta(minutes=10))  # expired (and cleared)
