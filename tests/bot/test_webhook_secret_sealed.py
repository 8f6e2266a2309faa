"""A workspace's own lead-webhook secret is encrypted at rest when the install has a key
(issue 14.1: secrets at rest), opened to check signatures, and re-encrypted by `salesbot keys
rotate` with the Slack tokens."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from bot.config import Settings
from bot.secrets import TokenCipher, generate_key, webhook_secret_seal
from bot.webhooks import handle_request, sign
from core.db import UnitOfWork
from core.tables import Role, WorkspaceConfig
from core.workspace import setup
from core.workspace.users import Actor
from tests.conftest import make_actor

OWN = "workspace-two-own-secret"


def _set_secret(uow: UnitOfWork, admin: Actor, now: datetime, settings: Settings) -> None:
    s = setup.workspace_settings(uow, admin)
    setup.update_workspace_settings(
        uow, admin, now=now, default_currency=s.default_currency, locale=s.locale, digest_weekday=s.digest_weekday,
        digest_time=s.digest_time, hot_lead_threshold=s.hot_lead_threshold, quiet_start=s.quiet_start,
        quiet_end=s.quiet_end, lead_webhook_secret=OWN, seal=webhook_secret_seal(settings))


def _post(uow: UnitOfWork, now: datetime, settings: Settings, email: str) -> int:
    body = json.dumps({"name": "Zoe", "email": email}).encode()
    stamp = str(int(now.timestamp()))
    headers = {"X-Salesbot-Timestamp": stamp, "X-Salesbot-Signature": sign(OWN, stamp, body)}
    return handle_request(uow, settings, "/hooks/leads", {"team": "T2"}, headers, body, now)[0]


def _stored(uow: UnitOfWork) -> dict[str, str]:
    with uow.read() as s:
        return dict(s.scalars(select(WorkspaceConfig.data).where(WorkspaceConfig.name == "lead_webhook")).one())


def test_the_secret_is_sealed_opened_and_rotated(uow: UnitOfWork, now: datetime) -> None:
    old_key, new_key = generate_key(), generate_key()
    admin = make_actor(uow, "UADM2", team_id="T2", role=Role.ADMIN)
    keyed = Settings(encryption_key=old_key)
    _set_secret(uow, admin, now, keyed)
    stored = _stored(uow)
    assert set(stored) == {"sealed"} and OWN not in json.dumps(stored)
    assert _post(uow, now, keyed, "a@x.io") == 200

    rotating = Settings(encryption_key=f"{new_key},{old_key}")
    with uow.transaction() as s:
        assert setup.reseal_webhook_secrets(s, TokenCipher.from_setting(rotating.encryption_key).rotate) == 1
    assert _stored(uow) != stored
    assert _post(uow, now, Settings(encryption_key=new_key), "b@x.io") == 200  # the new key alone opens it
    status = _post(uow, now, Settings(encryption_key=old_key), "c@x.io")
    assert status == 503  # the old key alone no longer does: said, not a wrong-signature 401


def test_without_a_key_a_single_workspace_install_keeps_it_as_given(uow: UnitOfWork, now: datetime) -> None:
    admin = make_actor(uow, "UADM2", team_id="T2", role=Role.ADMIN)
    _set_secret(uow, admin, now, Settings())
    assert _stored(uow) == {"secret": OWN}
    assert _post(uow, now, Settings(), "a@x.io") == 200
