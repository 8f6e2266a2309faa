"""Issue 13.4: every surface a Turkish user meets is Turkish.

A Turkish workspace (locale tr, currency TRY) with Turkish-speaking admin, manager and rep, and
data written in Turkish, is driven as its users would: every slash command and subcommand
(answers and errors), the modals they open, the App Home, the nudges, morning messages, digest
and hot-lead alert the jobs send. Everything Slack would show is collected and checked two ways:
- no English text of the catalog appears where its Turkish differs (a text shown untranslated);
- no common English word appears at all (a text never put in the catalog).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from babel.messages.pofile import read_po
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import update

from bot.delivery import Deliverer, delivery_client
from bot.jobs import run_job
from core.db import UnitOfWork
from core.deals import deals
from core.i18n import po_path
from core.leads.alerts import on_hot
from core.leads.intake import clean_lead, intake
from core.money import Money
from core.notify import reminders
from core.tables import Deal, Lead, Role, Team, User, Workspace
from core.workspace import setup
from core.workspace.users import Actor
from tests.bot.fake_slack import FakeSlack
from tests.bot.fake_slack_rate_limited import VirtualClock
from tests.bot.signing import app_home_opened, send_command, send_event
from tests.conftest import make_actor

# Words an English sentence can hardly do without, and no Turkish one uses.
ENGLISH_WORDS = re.compile(
    r"\b(the|your|you|with|this|that|from|have|has|been|will|would|should|there|their|which|"
    r"deal|deals|lead|leads|stage|stages|owner|closes|closed|reminder|reminders|pipeline|forecast|"
    r"quota|won|lost|open|none|nothing|please|use|type|here|today|tomorrow|yesterday|week|month|"
    r"quarter|weighted|total|team|teams|settings|help|create|add|show|list|new|edit)\b",
    re.IGNORECASE,
)
# Not words of a sentence: command names and their English subcommands (typed by users, and
# still accepted in every language), refs, ids and URLs.
NOT_PROSE = re.compile(
    r"/(deal|lead|pipeline|salesbot)(\s+[a-z]+)?|\b[DL]-\d+\b|https?://\S+|/hooks/\S+|`[^`]*`|<[^>]*>")


def shown_text(node: Any) -> Iterator[str]:
    """Every text Slack would show in a message or view (not ids, values or metadata)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "title", "placeholder", "label", "hint", "submit", "close", "alt_text") \
                    and isinstance(value, str):
                yield value
            elif key not in ("action_id", "block_id", "value", "callback_id", "private_metadata", "url",
                             "image_url", "metadata", "initial_value", "type", "style", "channel", "user"):
                yield from shown_text(value)
    elif isinstance(node, list):
        for item in node:
            yield from shown_text(item)


def english_of_catalog() -> list[str]:
    """The English source texts whose Turkish differs, as the fixed runs a user would read."""
    with po_path("tr").open("rb") as po:
        catalog = read_po(po, locale="tr")
    runs: set[str] = set()
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for msgid in ids:
            if msgid in strings:
                continue
            for run in re.split(r"\{[^{}]*\}|\n", msgid):
                run = run.strip(" .,:;!?·*_()[]\"'-–—")
                if len(run) >= 14 and " " in run:
                    runs.add(run)
    return sorted(runs)


@pytest.fixture
def turkish(uow: UnitOfWork, fake_slack: FakeSlack, now: datetime) -> dict[str, Actor]:
    """Ayşe (admin), Mehmet (manager of İstanbul) and Zeynep (rep), all with Turkish Slack."""
    people = {}
    for slack_id, name, role, team, manages in (
        ("UAYSE", "Ayşe Yılmaz", Role.ADMIN, None, None),
        ("UMEHMET", "Mehmet Kaya", Role.MANAGER, None, "İstanbul"),
        ("UZEYNEP", "Zeynep Demir", Role.REP, "İstanbul", None),
    ):
        fake_slack.add_user(slack_id, name, tz="Europe/Istanbul", locale="tr-TR", is_admin=role == Role.ADMIN)
        people[slack_id] = make_actor(uow, slack_id, name=name, role=role, team=team, manages=manages,
                                      tz="Europe/Istanbul")
    admin = people["UAYSE"]
    current = setup.workspace_settings(uow, admin)
    setup.update_workspace_settings(  # as an admin would in /salesbot setup: the stages turn Turkish too
        uow, admin, now=now, default_currency="TRY", locale="tr", digest_weekday=current.digest_weekday,
        digest_time=current.digest_time, hot_lead_threshold=current.hot_lead_threshold,
        quiet_start=current.quiet_start, quiet_end=current.quiet_end)
    with uow.transaction() as s:
        s.get_one(Workspace, admin.workspace_id).timezone = "Europe/Istanbul"
        s.execute(update(User).values(locale="tr-TR"))
        s.execute(update(Team).values(channel_id="CSATIS"))
    people = {k: make_actor(uow, k, tz="Europe/Istanbul") for k in people}  # re-read: locale, currency
    zeynep = people["UZEYNEP"]
    old = now - timedelta(days=60)
    for title, amount, stage in (("Karadeniz yenileme", "75000", "Nitelikli"), ("Ege genişleme", "120000", "Teklif"),
                                 ("Marmara lisans", "30000", "Pazarlık")):
        deals.create_deal(uow, zeynep, title=title, amount=Money(Decimal(amount), "TRY"), stage=stage,
                          expected_close=(now - timedelta(days=3)).date(), now=old)
    deals.close_deal_won(uow, zeynep, "D-3", now=now - timedelta(days=2))
    deals.add_note(uow, zeynep, "D-1", "Fiyat teklifi gönderildi", now=now - timedelta(days=40))
    reminders.set_reminder(uow, zeynep, due_at=now + timedelta(minutes=5), text="Karadeniz'i ara", now=now,
                           deal_ref="D-1")
    with uow.transaction() as s:
        s.execute(update(Deal).values(last_touch_at=old))
        ws = s.get_one(Workspace, zeynep.workspace_id)
        intake(s, ws, [clean_lead({"name": "Deniz Aksoy", "email": "deniz@firma.com.tr", "company": "Firma A.Ş."})],
               now)
        lead = s.query(Lead).one()
        lead.score, lead.hot, lead.hot_since, lead.team_id = 92, True, now, zeynep.team_id
        on_hot(s, ws, lead, now)
    return people


COMMANDS = [
    ("UZEYNEP", "/deal", "help"), ("UZEYNEP", "/deal", "list"), ("UZEYNEP", "/deal", "show D-1"),
    ("UZEYNEP", "/deal", "new Trakya bayi 12.000 TL close:gelecek cuma"), ("UZEYNEP", "/deal", "stage D-2 Pazarlık"),
    ("UZEYNEP", "/deal", "note D-1 Müşteri bütçeyi onayladı"), ("UZEYNEP", "/deal", "log D-1 call Görüşme yapıldı"),
    ("UZEYNEP", "/deal", "remind D-2 yarın 10:00 Teklifi sor"), ("UZEYNEP", "/deal", "won D-2"),
    ("UZEYNEP", "/deal", "lost D-4 fiyat"), ("UZEYNEP", "/deal", "reopen D-4"), ("UZEYNEP", "/deal", "show D-99"),
    ("UZEYNEP", "/deal", "new"), ("UZEYNEP", "/deal", "frobnicate"), ("UZEYNEP", "/deal", "new Test 12 XYZ"),
    ("UZEYNEP", "/deal", "edit D-1"), ("UZEYNEP", "/deal", ""),
    ("UZEYNEP", "/lead", "help"), ("UZEYNEP", "/lead", "list"), ("UZEYNEP", "/lead", "list hot"),
    ("UZEYNEP", "/lead", "show L-1"), ("UZEYNEP", "/lead", "new Can Öztürk can@ornek.com.tr Örnek Ltd"),
    ("UZEYNEP", "/lead", "assign L-1 <@UZEYNEP>"), ("UZEYNEP", "/lead", "convert L-2"),
    ("UZEYNEP", "/lead", "disqualify L-2 bütçe yok"), ("UZEYNEP", "/lead", "show L-99"),
    ("UZEYNEP", "/pipeline", ""), ("UZEYNEP", "/pipeline", "help"), ("UMEHMET", "/pipeline", "team"),
    ("UMEHMET", "/pipeline", "forecast"), ("UMEHMET", "/pipeline", "digest"), ("UZEYNEP", "/pipeline", "mine"),
    ("UAYSE", "/salesbot", "help"), ("UAYSE", "/salesbot", "setup"), ("UAYSE", "/salesbot", "team list"),
    ("UAYSE", "/salesbot", "role <@UZEYNEP> rep"), ("UAYSE", "/salesbot", "quota <@UZEYNEP> 500 bin"),
    ("UAYSE", "/salesbot", "rate"), ("UAYSE", "/salesbot", "pipeline"), ("UZEYNEP", "/salesbot", "setup"),
]


def test_a_turkish_team_meets_no_english(app: App, fake_slack: FakeSlack, uow: UnitOfWork, now: datetime,
                                          turkish: dict[str, Actor]) -> None:
    surfaces: list[tuple[str, Any]] = []
    for user, command, text in COMMANDS:
        fake_slack.clear()
        assert send_command(app, command, text, user_id=user).status == 200
        for call in fake_slack.calls():
            if call.method in ("response_url", "chat.postMessage", "chat.postEphemeral"):
                surfaces.append((f"{command} {text}", call.body))
            elif call.method in ("views.open", "views.push", "views.publish", "views.update"):
                view = call["view"]
                surfaces.append((f"{command} {text} (view)", json.loads(view) if isinstance(view, str) else view))
    for user in turkish:
        fake_slack.clear()
        send_event(app, app_home_opened(user))
        surfaces += [(f"App Home of {user}", json.loads(c["view"]) if isinstance(c["view"], str) else c["view"])
                     for c in fake_slack.calls("views.publish")]
    fake_slack.clear()
    monday_morning = datetime(2026, 11, 30, 6, 0, tzinfo=now.tzinfo)  # 09:00 in İstanbul
    for job, at in (("nudges", now + timedelta(minutes=6)), ("stale", monday_morning), ("digest", monday_morning)):
        run_job(job, uow, at, None)
    client = delivery_client(WebClient(token="xoxb-test", base_url=fake_slack.url), timeout=5)
    clock = VirtualClock(monday_morning)
    Deliverer(uow, client, clock=clock.now, sleep=clock.sleep).drain()
    posted = fake_slack.calls("chat.postMessage")
    assert {c["channel"] for c in posted} >= {"UZEYNEP", "UMEHMET", "CSATIS"}, "nudges, digest and alert were sent"
    surfaces += [(f"job message to {c['channel']}", c.body) for c in posted]

    leaks = []
    catalog_english = english_of_catalog()
    for where, body in surfaces:
        for text in shown_text(body):
            prose = NOT_PROSE.sub(" ", text)
            leaks += [f"{where}: untranslated {run!r} in {text[:120]!r}" for run in catalog_english if run in prose]
            leaks += [f"{where}: English word {m[0]!r} in {prose[:160]!r}" for m in ENGLISH_WORDS.finditer(prose)]
    assert len(surfaces) > 50
    assert leaks == [], f"{len(leaks)} English texts on Turkish surfaces:\n" + "\n".join(sorted(set(leaks))[:80])


def test_the_check_sees_english_where_there_is_some() -> None:
    """Both detectors fire on the English help: the Turkish test passing means something."""
    from bot.views.help import deal_help
    from core.i18n import use_locale

    with use_locale("en"):
        english = " ".join(NOT_PROSE.sub(" ", t) for t in shown_text(deal_help()))
    with use_locale("tr"):
        turkish = " ".join(NOT_PROSE.sub(" ", t) for t in shown_text(deal_help()))
    assert ENGLISH_WORDS.search(english) and any(run in english for run in english_of_catalog())
    assert not ENGLISH_WORDS.search(turkish) and not any(run in turkish for run in english_of_catalog())
