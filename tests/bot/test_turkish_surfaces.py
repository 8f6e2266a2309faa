"""Turkish end to end (issue 13), against the database, the outbox and a fake Slack: the figures
that used to differ by surface now read the same, and a Home is in its owner's language.

- The scheduled digest printed "TRY75,000.00" while `/pipeline digest` printed "₺75.000,00".
- The App Home printed "₺75 B" and "$0,00 of $300.000,00".
- A Home republished after someone else's change was built in the changer's language.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.delivery import Deliverer, delivery_client
from bot.views.digest import digest_message
from core.db import UnitOfWork
from core.deals.deals import create_deal
from core.i18n import use_locale
from core.insight.quotas import set_quota
from core.money import Money
from core.notify.digest import digest_for, digest_sweep
from core.tables import User, Workspace
from core.workspace.users import Actor, actor_of
from tests.bot.blockkit import assert_valid_message
from tests.bot.fake_slack import FakeSlack
from tests.bot.fake_slack_rate_limited import VirtualClock
from tests.bot.signing import app_home_opened, send_event
from tests.bot.surfaces import command, published_views
from tests.bot.test_turkish_views import shown_text, untranslated

MONDAY_NINE = datetime.fromisoformat("2026-11-30T09:00:00+00:00")


TURKISH_STAGES = {"Prospecting": "Keşif", "Qualified": "Nitelikli", "Proposal": "Teklif", "Negotiation": "Pazarlık",
                  "Won": "Kazanıldı", "Lost": "Kaybedildi"}


def _turkish(uow: UnitOfWork, *actors: Actor, currency: str = "TRY", workspace_locale: str = "tr") -> list[Actor]:
    """The workspace in Turkish with `currency` and its stages named in Turkish (data, as a Turkish
    team names them); each actor's own Slack language Turkish."""
    from sqlalchemy import select

    from core.tables import Pipeline, Stage

    with uow.transaction() as s:
        ws = s.get_one(Workspace, actors[0].workspace_id)
        ws.locale, ws.default_currency = workspace_locale, currency
        if workspace_locale == "tr":
            for stage in s.scalars(select(Stage).join(Pipeline).where(Pipeline.workspace_id == ws.id)):
                stage.name = TURKISH_STAGES.get(stage.name, stage.name)
        users = [s.get_one(User, a.user_id) for a in actors]
        for user in users:
            user.locale = "tr-TR"
        s.flush()
        return [actor_of(s, u) for u in users]


def _sections(msg: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in msg["blocks"] if b.get("type") == "section" and b.get("text")]


def test_the_scheduled_digest_and_pipeline_digest_show_one_figure_the_turkish_way(
        uow: UnitOfWork, ana: Actor, mia: Actor, fake_slack: FakeSlack) -> None:
    ana, mia = _turkish(uow, ana, mia)
    create_deal(uow, ana, title="Karadeniz Lojistik", amount=Money(Decimal("75000"), "TRY"),
                now=MONDAY_NINE - timedelta(days=3))
    with uow.transaction() as s:
        assert digest_sweep(s, MONDAY_NINE) == 1  # Mia's DM
    with use_locale("en"):  # the delivery job's own language must not matter
        assert _deliverer(uow, fake_slack).drain().sent == 1
    [post] = fake_slack.calls("chat.postMessage")
    scheduled = {"text": post["text"], "blocks": post["blocks"]}
    assert_valid_message(scheduled)
    with use_locale("tr"):  # the edge's language for a Turkish caller (bot/context.py)
        asked = digest_message(*digest_for(uow, mia, MONDAY_NINE))

    assert "₺75.000,00" in post["text"] and "TRY75,000.00" not in shown_text(scheduled)
    # Every line of figures reads the same, character for character, on both surfaces.
    assert _sections(scheduled) == _sections(asked)
    assert re.search(r"\*Açık satış hattı:\* 1 fırsat · ₺75\.000,00", _sections(scheduled)[0])
    assert untranslated(scheduled) == [] and untranslated(asked) == []
    [upload] = fake_slack.calls("files.completeUploadExternal")
    files = upload["files"]
    assert json.loads(files)[0]["title"] == "Aşamalara göre satış hattı"  # the chart's title too


def test_a_channel_digest_is_in_the_workspace_language_and_the_dm_in_the_managers(
        uow: UnitOfWork, ana: Actor, mia: Actor, fake_slack: FakeSlack) -> None:
    from core.tables import Team

    [mia] = _turkish(uow, mia, currency="USD", workspace_locale="en")  # Mia reads Turkish, the workspace English
    with uow.transaction() as s:
        s.get_one(Team, min(mia.managed_team_ids)).channel_id = "C0EAST0001"
    create_deal(uow, ana, title="Acme", amount=Money(Decimal("12000"), "USD"), now=MONDAY_NINE - timedelta(days=3))
    with uow.transaction() as s:
        assert digest_sweep(s, MONDAY_NINE) == 2
    assert _deliverer(uow, fake_slack).drain().sent == 2
    posts = {p["channel"]: p for p in fake_slack.calls("chat.postMessage")}
    assert "$12.000,00" in posts["UMIA"]["text"] and "satış hattı özeti" in posts["UMIA"]["text"]
    assert "$12,000.00" in posts["C0EAST0001"]["text"] and "Pipeline digest" in posts["C0EAST0001"]["text"]


def _deliverer(uow: UnitOfWork, fake_slack: FakeSlack) -> Deliverer:
    clock = VirtualClock(MONDAY_NINE)
    client = delivery_client(WebClient(token="xoxb-test", base_url=fake_slack.url), timeout=5)
    return Deliverer(uow, client, clock=clock.now, sleep=clock.sleep)  # type: ignore[arg-type]


def test_the_app_home_of_a_turkish_rep_reads_turkish_amounts_and_quota(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime) -> None:
    ana, mia = _turkish(uow, ana, mia, currency="USD")
    set_quota(uow, mia, team_name="East", amount=Money(Decimal("300000"), "USD"), period="Q4", now=now)
    create_deal(uow, ana, title="Karadeniz Lojistik", amount=Money(Decimal("75000"), "USD"), now=now)
    fake_slack.clear()
    assert send_event(app, app_home_opened("UMIA")).status == 200
    [view] = published_views(fake_slack)
    text = shown_text(view)
    assert "East ekibi" in text and "1 · $75 bin" in text  # the compact figure, in Turkish words
    assert "$0,00 / 0 kazanılan · kota $300.000,00 (%0,0)" in text  # was "$0,00 of $300.000,00"
    assert " B" not in text and " of " not in text
    assert untranslated(view) == []


def test_a_home_republished_after_someone_elses_change_is_in_its_owners_language(
        app: App, fake_slack: FakeSlack, uow: UnitOfWork, ana: Actor, mia: Actor, now: datetime) -> None:
    [ana] = _turkish(uow, ana, workspace_locale="en")  # Ana reads Turkish; Mia, her manager, English
    create_deal(uow, ana, title="Karadeniz Lojistik", amount=Money(Decimal("75000"), "TRY"), now=now)
    answer = command(app, fake_slack, "/deal", "won D-1", user="UMIA")
    assert "TRY75,000.00" in shown_text(answer)  # Mia's answer: English
    homes = {call["user_id"]: call for call in fake_slack.calls("views.publish")}
    assert set(homes) == {"UMIA", "UANA"}
    by_user = dict(zip([c["user_id"] for c in fake_slack.calls("views.publish")], published_views(fake_slack),
                       strict=True))
    assert "Your pipeline" in shown_text(by_user["UMIA"])
    ana_home = shown_text(by_user["UANA"])
    assert "Satış hattınız" in ana_home and "Your pipeline" not in ana_home
    assert untranslated(by_user["UANA"]) == []


def test_the_console_upper_cases_a_turkish_title_the_turkish_way(db_url: str, uow: UnitOfWork) -> None:
    """`/deal show` in `salesbot console` for a Turkish workspace: "KARADENİZ", not "KARADENIZ"."""
    import io

    from rich.console import Console

    from bot.config import Settings
    from bot.console import ConsoleOptions, parse_now, run_console
    from tests.conftest import make_actor

    _turkish(uow, make_actor(uow, "UCON", name="Ayşe"))
    buffer = io.StringIO()
    out = Console(file=buffer, width=120, highlight=False, soft_wrap=True, color_system=None)
    options = ConsoleOptions(user_id="UCON", team_id="T1", now=parse_now("2026-11-23T14:00Z"))
    script = io.StringIO("/deal new Karadeniz 75000\n/deal show D-1\n")
    code = run_console(Settings(database_url=db_url, scheduler=False), options, script, out)
    text = buffer.getvalue()
    assert code == 0, text
    assert "D-1 KARADENİZ" in text and "KARADENIZ" not in text
    assert "Tutar" in text and "₺75.000,00" in text
