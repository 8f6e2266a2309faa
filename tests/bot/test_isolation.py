"""Isolation between workspaces, proven by a matrix (issue 14 point 4).

Two workspaces, A (TAAA) and B (TBBB), both hold deals, leads, reminders, users, teams,
quotas, rates, events and queued messages (tests/tenancy_data.py). Then, from workspace B
(its admin, whose Slack id UADMIN is also A's admin's, as an Enterprise Grid user's would be),
every surface is aimed at A's records:

- every slash command and every subcommand, read from the commands' own SUBCOMMANDS tables
  (a new subcommand fails `test_the_matrix_covers_every_surface` until it has arguments here),
  with A's refs, titles, emails, team names, imported owner names and Slack ids;
- every block action, its action id read from the listeners the app registers (bot/app.py
  LISTENER_MODULES), with values and block ids carrying A's refs and row ids;
- every view submission (callback ids read the same way), with private_metadata carrying A's
  refs and row ids and inputs naming A's people;
- the App Home event; both lead webhooks (`?team=TBBB` with A's emails); the CLI exports of B.

Each request goes signed through the real Bolt app against the fake Slack Web API. After each
one: every row of A in every table (found from Base.metadata) is as it was, nothing Slack was
sent holds a string of A's data that the request did not itself carry, and no row of B points
at a row of A.
"""
from __future__ import annotations

import io
import json
import threading
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from click.testing import CliRunner
from slack_bolt import App
from sqlalchemy import select

from bot import functions as workflow_functions
from bot.app import LISTENER_MODULES
from bot.commands import admin as admin_command
from bot.commands import deal as deal_command
from bot.commands import lead as lead_command
from bot.config import Settings
from bot.views import shortcuts as shortcut_views
from bot.webhooks import handle_request, sign
from core.db import UnitOfWork
from core.deals import deals
from core.leads import leads
from core.money import Money
from core.tables import Lead
from core.workspace.users import owner_by_name
from core.workspace.workspaces import workspace_by_team
from tests.bot.fake_slack import FakeSlack
from tests.bot.shortcut_payloads import (
    function_executed,
    global_shortcut,
    message_shortcut,
    send_function,
    send_shortcut,
    suggestion,
)
from tests.bot.signing import (
    app_home_opened,
    block_actions_payload,
    send_action,
    send_command,
    send_event,
    send_view_submission,
    signed_request,
    view_submission_payload,
)
from tests.conftest import REPO
from tests.tenancy_data import SHARED_ADMIN, Populated, cross_workspace_references, populate, rows_of

A, B = "TAAA", "TBBB"
ATTACKER = SHARED_ADMIN  # B's admin; A has an admin with the same Slack id
HOOK_SECRET = "isolation-webhook-secret-0123456789"


# -- what the app listens to, read from its listener modules ---------------------------------------


class _Recorder:
    """Stands in for the Bolt App while each listener module registers: records what it listens to."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = defaultdict(list)

    def __getattr__(self, kind: str) -> Callable[..., Callable[[Any], Any]]:
        def listen(constraint: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
            self.found[kind].append(constraint if isinstance(constraint, str) else repr(constraint))
            return lambda listener: listener

        return listen


def registered() -> dict[str, list[str]]:
    recorder = _Recorder()
    for module in LISTENER_MODULES:
        module.register(recorder)  # type: ignore[arg-type]
    return dict(recorder.found)


# -- the two workspaces ----------------------------------------------------------------------------


@dataclass
class World:
    a: Populated
    b: Populated
    a_only_deal: str  # a deal ref (D-900) that exists in A and not in B
    a_only_lead: str
    a_import_name: str
    markers: list[str] = field(default_factory=list)  # strings of A's data, to look for in B's answers


@pytest.fixture
def world(uow: UnitOfWork, now: datetime) -> World:
    a = populate(uow, A, now)
    b = populate(uow, B, now)
    with uow.transaction() as s:  # A's next deal and lead get numbers B never reaches (D-900, L-900)
        ws = workspace_by_team(s, A)
        ws.next_deal_number = ws.next_lead_number = 900
    extra = deals.create_deal(uow, a.rep, title="Initrode TAAA", amount=Money(Decimal("7000"), "USD"), now=now)
    with uow.transaction() as s:
        ws = workspace_by_team(s, A)
        owner_by_name(s, ws.id, "Old Owner TAAA", now)
        from core.leads.intake import intake

        intake(s, ws, [{"name": "Lead Three TAAA", "email": "cfo@taaa.example", "company": "Vandelay TAAA"}], now)
        a_lead = s.scalar(select(Lead.number).where(Lead.workspace_id == ws.id).order_by(Lead.number.desc()))
    leads.claim_lead(uow, a.rep, a.lead_ids[0], now=now)  # one of A's leads is owned, one is not
    a.deal_ids.append(extra.id)
    a.deal_refs.append(extra.ref)
    with uow.read() as s:
        a.lead_ids = list(s.scalars(select(Lead.id).where(Lead.workspace_id == a.workspace_id).order_by(Lead.id)))
    world = World(a=a, b=b, a_only_deal=extra.ref, a_only_lead=f"L-{a_lead}", a_import_name="Old Owner TAAA")
    strings = {
        v for rows in rows_of(uow, A, a.workspace_id).values() for row in rows for v in row
        if isinstance(v, str) and "taaa" in v.lower()
    }
    world.markers = sorted(strings - {A}, key=len, reverse=True)
    assert "Initrode TAAA" in world.markers and "ceo@taaa.example" in world.markers
    return world


def shortcut_types() -> dict[str, str]:
    """Each shortcut's callback id and type (global or message), as manifest.yml declares them."""
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))
    return {s["callback_id"]: s["type"] for s in manifest["features"]["shortcuts"]}


# -- the attack texts ------------------------------------------------------------------------------


def deal_texts(w: World) -> dict[str, list[str]]:
    refs = [w.a_only_deal, "Acme TAAA", "Initrode", str(w.a.deal_ids[-1])]
    rep = "<@UTAAAREP|rep>"
    per_ref = {
        "show": [""], "edit": [""], "won": [""], "reopen": [""],
        "stage": ["Negotiation"], "lost": ["no budget"], "note": ["hello"], "log": ["call spoke"],
        "remind": ["tomorrow call back"], "room": [""], "share": [""], "discount": ["10%", "10% multi-year"],
    }
    texts: dict[str, list[str]] = {
        sub: [f"{sub} {ref} {tail}".strip() for ref in refs for tail in tails] for sub, tails in per_ref.items()
    }
    texts["new"] = [f"new Stolen 5k {rep}", "new Stolen too 5k stage:proposal <@UTAAAMGR>"]
    texts["list"] = ["list", "list team", f"list {rep}", "list mine", "list stage:proposal"]
    texts["help"] = ["help"]
    return texts


def lead_texts(w: World) -> dict[str, list[str]]:
    refs = [w.a_only_lead, "Lead One TAAA", "ceo@taaa.example", "cfo@taaa.example"]
    texts: dict[str, list[str]] = {
        "show": [f"show {r}" for r in refs],
        "assign": [f"assign {r} <@UTAAAREP|rep>" for r in refs] + [f"assign {r} <@{ATTACKER}>" for r in refs],
        "convert": [f"convert {r}" for r in refs],
        "disqualify": [f"disqualify {r} spam" for r in refs],
        "dq": [f"dq {r}" for r in refs],
        "new": ["new Lead One TAAA Initech ceo@taaa.example", "new Someone Hooli cto@taaa.example source:web"],
        "add": ["add Lead Three TAAA Vandelay cfo@taaa.example"],
        "list": ["list", "list hot", "list mine", "list new"],
        "help": ["help"],
    }
    return texts


def admin_texts(w: World) -> dict[str, list[str]]:
    rep, mgr = "<@UTAAAREP|rep>", "<@UTAAAMGR|mgr>"
    return {
        "team": ["team list", "team list East TAAA", f"team create East TAAA {mgr}", f"team add East TAAA {rep}",
                 "team channel East TAAA <#C0AAA|a-sales>", f"team add West TAAA <@{ATTACKER}>"],
        "role": [f"role {rep} admin", f"role {mgr} rep", f"role <@{ATTACKER}> rep"],
        "quota": [f"quota {rep} 99k", f"quota {rep} 99k 2026-Q4", "quota team East TAAA 99k"],
        "link": [f'link "{w.a_import_name}" <@{ATTACKER}>', f'link "{w.a_import_name}" {rep}'],
        "setup": ["setup"],
        "pipeline": ["pipeline"],
        "rate": ["rate EUR 2", "rate TRY 0.03"],
        "prefs": ["prefs", f"prefs {rep}", f"prefs {mgr}", "prefs mute stale", "prefs hours 10:00-16:00 mon-thu",
                  "prefs away until 2026-12-24", "prefs back", "prefs channel dm"],
        "help": ["help"],
    }


PIPELINE_TEXTS = ["", "mine", "team", "<@UTAAAREP|rep>", "<@UTAAAMGR|mgr>", "forecast", "forecast 2026-Q4",
                  "digest", "help"]


def action_variants(w: World, action_id: str) -> list[dict[str, Any]]:
    """Block actions carrying A's refs and row ids in their value, block id and selections."""
    ids = {w.a.deal_ids[-1], w.a.lead_ids[-1], w.a.reminder_ids[0], w.a.lead_ids[0], *w.a.discount_ids}
    values = [w.a_only_deal, "Acme TAAA", w.a_only_lead, *map(str, sorted(ids)),
              json.dumps({"sub": "won", "ref": w.a_only_deal}), json.dumps({"sub": "show", "ref": "Acme TAAA"})]
    variants: list[dict[str, Any]] = [{"value": v} for v in values]
    for row_id in sorted(ids):
        variants.append({"value": None, "block_id": f"lead:{row_id}", "action_type": "users_select",
                         "selected": {"selected_user": "UTAAAREP"}})
        variants.append({"value": None, "block_id": f"reminder:{row_id}", "action_type": "users_select",
                         "selected": {"selected_user": ATTACKER}})
        variants.append({"value": None, "block_id": f"snooze:{row_id}", "action_type": "datepicker",
                         "selected": {"selected_date": "2026-12-10"}})
    return variants


def _text(v: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": v}}


def _select(v: str) -> dict[str, Any]:
    return {"value": {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": v},
                                                                   "value": v}}}


def submission_variants(w: World) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(private_metadata, state values) pairs carrying A's refs, ids and people."""
    a_ids = {"lead_id": w.a.lead_ids[0], "deal_id": w.a.deal_ids[0], "reminder_id": w.a.reminder_ids[0],
             "request_id": w.a.discount_ids[0]}
    metas: list[dict[str, Any]] = [
        {"ref": w.a_only_deal, "lead": w.a_only_lead, **a_ids, "channel": "C0AAA", "ts": "1700000000.000001"},
        {"ref": "Acme TAAA", "lead": "ceo@taaa.example", **a_ids},
        {"ref": str(w.a.deal_ids[-1]), "lead": str(w.a.lead_ids[-1]), "lead_id": w.a.lead_ids[-1]},
        {},
    ]
    base: dict[str, Any] = {
        "title": _text("Stolen title"), "amount": _text("9k"), "account": _text("Stolen account"),
        "contact": _text("x"), "next_step": _text("y"), "stage": _select("Proposal"), "reason": _text("no budget"),
        "kind": _select("call"), "text": _text("notes"), "when": _text("tomorrow 10:00"),
        "close": {"value": {"type": "datepicker", "selected_date": "2026-12-31"}},
        "name": _text("Lead One TAAA"), "email": _text("ceo@taaa.example"), "company": _text("Initech TAAA"),
        "source": _text("web"), "default_currency": _select("EUR"), "locale": _select("en"),
        "digest_weekday": _select("0"), "digest_time": {"value": {"type": "timepicker", "selected_time": "09:00"}},
        "hot_lead_threshold": {"value": {"type": "number_input", "value": "50"}},
        "quiet_start": {"value": {"type": "timepicker", "selected_time": "20:00"}},
        "quiet_end": {"value": {"type": "timepicker", "selected_time": "08:00"}},
        "stages": _text("Prospecting 10% 14d\nWon 100%\nLost 0%"),
    }
    owners = [{"value": {"type": "users_select", "selected_user": "UTAAAREP"}},
              {"value": {"type": "users_select", "selected_user": ATTACKER}}]
    found = []
    for meta in metas:
        ref = str(meta.get("ref") or w.a_only_deal)
        picked = {"text": {"type": "plain_text", "text": ref}, "value": ref}
        # The Add-to-deal form: the deal picked in its external select, the message's link in its metadata.
        deal = {"deal": {shortcut_views.DEAL_PICKER: {"type": "external_select", "selected_option": picked}}}
        source = {"link": "https://acme.slack.com/archives/C1/p1700000000000100", "author": "Someone"}
        for owner in owners:
            found.append(({**meta, **source}, {**base, **deal, "owner": owner}))
    return found


# -- the checks ------------------------------------------------------------------------------------


@dataclass
class Judge:
    uow: UnitOfWork
    fake: FakeSlack
    world: World
    a_rows: dict[str, list[tuple[Any, ...]]]
    problems: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    cases: int = 0

    def check(self, what: str, sent: str, extra_out: str = "") -> None:
        """A is unchanged, nothing broke, and nothing sent to Slack (or returned) shows A's data.

        What B's requests carried so far is B's to see again (B may have made records of its own
        under the names it typed): only strings of A's that B never sent count as shown.
        """
        self.cases += 1
        self.sent.append(sent.lower())
        after = rows_of(self.uow, A, self.world.a.workspace_id)
        changed = [t for t in self.a_rows if after.get(t) != self.a_rows[t]]
        if changed:
            self.problems.append(f"{what}: changed A's {', '.join(changed)}")
            self.a_rows = after
        out = json.dumps([c.body for c in self.fake.calls()], ensure_ascii=False).lower() + extra_out.lower()
        known = "\n".join(self.sent)
        shown = [m for m in self.world.markers if m.lower() in out and m.lower() not in known]
        if shown:
            self.problems.append(f"{what}: showed A's {shown[:4]}")
        if "something went wrong on our side" in out:
            self.problems.append(f"{what}: crashed (answered with an apology)")
        self.fake.clear()


@pytest.fixture
def judge(uow: UnitOfWork, world: World, fake_slack: FakeSlack) -> Iterator[Judge]:
    fake_slack.add_user(ATTACKER, "Admin TBBB", is_admin=True)
    j = Judge(uow, fake_slack, world, rows_of(uow, A, world.a.workspace_id))
    fake_slack.clear()
    yield j


def _finish(judge: Judge, uow: UnitOfWork, minimum: int) -> None:
    assert judge.cases >= minimum
    assert judge.problems == [], "\n".join(judge.problems)
    assert cross_workspace_references(uow) == []


# -- the matrix ------------------------------------------------------------------------------------


def test_the_matrix_covers_every_surface(world: World) -> None:
    found = registered()
    # A new kind of listener (shortcuts, options, messages, ...) must join the matrix below.
    assert set(found) == {"command", "action", "view", "event", "shortcut", "options", "function"}, found
    assert sorted(found["command"]) == ["/deal", "/lead", "/pipeline", "/salesbot"]
    assert "app_home_opened" in found["event"]  # the others: test_other_events_from_b_never_reach_a
    assert set(found["function"]) == set(workflow_functions.INPUTS) == set(FUNCTION_INPUTS)
    for callback_id, names in workflow_functions.INPUTS.items():
        for inputs in FUNCTION_INPUTS[callback_id]:
            assert set(names) <= set(inputs), callback_id
    assert set(found["shortcut"]) == set(shortcut_types())
    assert set(deal_texts(world)) == set(deal_command.SUBCOMMANDS)
    assert set(lead_texts(world)) == set(lead_command.SUBCOMMANDS)
    assert set(admin_texts(world)) == set(admin_command.SUBCOMMANDS)


def test_slash_commands_from_b_never_reach_a(app: App, judge: Judge, world: World, uow: UnitOfWork) -> None:
    commands = {"/deal": deal_texts(world), "/lead": lead_texts(world), "/salesbot": admin_texts(world),
                "/pipeline": {"": PIPELINE_TEXTS}}
    cases = [(name, sub, text) for name, table in commands.items() for sub, texts in table.items() for text in texts]
    # What creates records in B runs last, so that until then A's refs and names match nothing of B's.
    cases.sort(key=lambda c: c[1] in ("new", "add") or c[2].startswith("team create"))
    for name, _, text in cases:
        response = send_command(app, name, text, user_id=ATTACKER, team_id=B)
        assert response.status == 200, (name, text, response.body)
        judge.check(f"{name} {text}", text + " " + json.dumps(response.body))
    _finish(judge, uow, 100)


def test_block_actions_from_b_never_reach_a(app: App, judge: Judge, world: World, uow: UnitOfWork) -> None:
    action_ids = registered()["action"]
    assert len(action_ids) >= 18
    for action_id in action_ids:
        for variant in action_variants(world, action_id):
            payload = block_actions_payload(action_id, variant.pop("value"), user_id=ATTACKER, team_id=B,
                                            **variant)
            response = send_action(app, payload)
            assert response.status == 200, (action_id, response.body)
            judge.check(f"action {action_id} {json.dumps(payload['actions'])}", json.dumps(payload["actions"]),
                        response.body or "")
        # The same buttons pressed in App Home (no response_url: answers come as DMs).
        payload = block_actions_payload(action_id, world.a_only_deal, user_id=ATTACKER, team_id=B,
                                        view={"id": "VHOME", "type": "home"}, response_url=None)
        send_action(app, payload)
        judge.check(f"home action {action_id}", world.a_only_deal)
    _finish(judge, uow, len(action_ids) * 10)


def test_view_submissions_from_b_never_reach_a(app: App, judge: Judge, world: World, uow: UnitOfWork) -> None:
    # The forms that create records in B go last (see the slash commands' test).
    callback_ids = sorted(registered()["view"], key=lambda c: "new" in c or "convert" in c)
    assert len(callback_ids) >= 11
    for callback_id in callback_ids:
        for meta, values in submission_variants(world):
            payload = view_submission_payload(callback_id, values, user_id=ATTACKER, team_id=B,
                                              private_metadata=json.dumps(meta))
            response = send_view_submission(app, payload)
            assert response.status == 200, (callback_id, response.body)
            judge.check(f"view {callback_id} {json.dumps(meta)}", json.dumps([meta, values]), response.body or "")
    _finish(judge, uow, len(callback_ids) * 8)


def test_app_home_from_b_shows_nothing_of_a(app: App, judge: Judge, world: World, uow: UnitOfWork) -> None:
    for user in (ATTACKER, "UTBBBREP", "UTBBBMGR", "UTAAAREP"):
        assert send_event(app, app_home_opened(user), team_id=B).status == 200
        published = judge.fake.calls("views.publish")
        assert published, user
        judge.check(f"home of {user}", user)
    _finish(judge, uow, 4)


def test_other_events_from_b_never_reach_a(app: App, judge: Judge, world: World, uow: UnitOfWork) -> None:
    """Every other event the app listens to (app_uninstalled, tokens_revoked, ...), sent by B:
    whatever it does to B, A's rows stay as they were."""
    events = [e for e in registered()["event"] if e != "app_home_opened"]
    for event_type in events:
        event = {"type": event_type, "user": ATTACKER, "channel": "C1", "event_ts": "1700000000.000100",
                 "tokens": {"oauth": [ATTACKER], "bot": ["UBOT"]}}
        response = send_event(app, event, team_id=B)
        assert response.status == 200, (event_type, response.body)
        judge.check(f"event {event_type}", json.dumps(event))
    _finish(judge, uow, len(events))


def _hook(uow: UnitOfWork, now: datetime, path: str, payload: Any, team: str) -> tuple[int, dict[str, Any]]:
    body = json.dumps(payload).encode()
    stamp = str(int(now.timestamp()))
    headers = {"X-Salesbot-Timestamp": stamp, "X-Salesbot-Signature": sign(HOOK_SECRET, stamp, body)}
    return handle_request(uow, Settings(lead_webhook_secret=HOOK_SECRET), path, {"team": team}, headers, body, now)


def test_webhooks_for_b_never_reach_a(judge: Judge, world: World, uow: UnitOfWork, now: datetime) -> None:
    lead = {"name": "Lead One TAAA", "email": "ceo@taaa.example", "company": "Initech TAAA", "employees": 9000}
    event = {"type": "demo_request", "email": "cfo@taaa.example", "at": now.isoformat()}
    sends = [("/hooks/leads", lead), ("/hooks/leads", [lead, {**lead, "email": "cto@taaa.example"}]),
             ("/hooks/lead-events", event), ("/hooks/lead-events", [event, {**event, "type": "meeting_booked",
                                                                            "email": "ceo@taaa.example"}])]
    for path, payload in sends:
        status, answer = _hook(uow, now, path, payload, B)
        assert status == 200, answer
        judge.check(f"{path} ?team={B}", json.dumps(payload), json.dumps(answer))
        # B's answer names B's leads: refs B has.
        with uow.read() as s:
            b_refs = {f"L-{n}" for n in s.scalars(select(Lead.number).where(Lead.workspace_id == world.b.workspace_id))}
        assert {item["ref"] for item in answer["leads"]} <= b_refs
    _finish(judge, uow, 4)


def test_the_same_webhook_body_for_a_and_b_answers_each_with_its_own_leads(
    uow: UnitOfWork, world: World, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that lost a race with its twin answers as the twin did: B's twin, never A's."""
    from sqlalchemy.exc import IntegrityError

    import bot.webhooks as hooks

    payload = {"name": "Twin", "email": "twin@example.com"}
    status, _ = _hook(uow, now, "/hooks/leads", payload, A)
    assert status == 200
    real_apply = hooks._apply

    def twin_committed_first(session: Any, *args: Any, **kwargs: Any) -> Any:
        def twin() -> None:  # the twin request, on its own thread and transaction, commits first
            with uow.transaction() as twins:
                real_apply(twins, *args, **kwargs)

        worker = threading.Thread(target=twin)
        worker.start()
        worker.join()
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(hooks, "_apply", twin_committed_first)
    status, b_answer = _hook(uow, now, "/hooks/leads", payload, B)
    monkeypatch.undo()
    status_again, b_again = _hook(uow, now, "/hooks/leads", payload, B)
    assert status == status_again == 200
    assert b_answer == b_again  # B's own first answer
    with uow.read() as s:
        b_lead = s.scalar(select(Lead.number).where(Lead.workspace_id == world.b.workspace_id,
                                                    Lead.email == "twin@example.com"))
    assert b_answer["leads"][0]["ref"] == f"L-{b_lead}"


def test_cli_exports_of_b_hold_nothing_of_a(
    judge: Judge, world: World, uow: UnitOfWork, db_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SALESBOT_LEAD_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    env = {"DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"}
    runner = CliRunner()
    outputs = []
    for kind in ("deals", "leads", "activities"):
        done = runner.invoke(main, ["export", kind, "--team-id", B], env=env, catch_exceptions=False)
        assert done.exit_code == 0, done.output
        assert done.output.count("\n") >= 3, done.output  # B's own rows are there
        outputs.append(done.output)
    for kind in ("deals", "leads", "activities"):  # with two workspaces, no --team-id is no guess
        done = runner.invoke(main, ["export", kind], env=env, catch_exceptions=False)
        assert done.exit_code == 2 and "choose one with --team-id" in done.output, done.output
    out = tmp_path / "b.zip"
    done = runner.invoke(main, ["workspaces", "export", B, "--out", str(out)], env=env, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as z:
        outputs.extend(z.read(n).decode() for n in z.namelist())
    judge.check("CLI exports of B", "", "\n".join(outputs))
    _finish(judge, uow, 1)


def test_a_reminder_of_a_cannot_be_snoozed_from_b_even_by_id(
    app: App, judge: Judge, world: World, uow: UnitOfWork, now: datetime
) -> None:
    """The nudge buttons carry a reminder id: B's admin pressing them with A's ids changes nothing."""
    from bot.views import nudges as nudge_views

    for action_id in (nudge_views.DONE, nudge_views.SNOOZE_DAY, nudge_views.SNOOZE_WEEK):
        for reminder_id in world.a.reminder_ids:
            send_action(app, block_actions_payload(action_id, str(reminder_id), user_id=ATTACKER, team_id=B))
            answers = [json.dumps(c.body) for c in judge.fake.calls("response_url")]
            assert len(answers) == 1 and f"No reminder #{reminder_id}" in answers[0], answers
            judge.check(f"{action_id} {reminder_id}", str(reminder_id))
    _finish(judge, uow, 3)


def test_shortcuts_and_deal_search_from_b_never_reach_a(
    app: App, judge: Judge, world: World, uow: UnitOfWork
) -> None:
    found = registered()
    message = {"text": f"About {world.a_only_deal} Acme TAAA and ceo@taaa.example", "user": "UTAAAREP"}
    for callback_id, kind in shortcut_types().items():
        for payload in ([global_shortcut(callback_id, user_id=ATTACKER, team_id=B)] if kind == "global" else
                        [message_shortcut(callback_id, message, user_id=ATTACKER, team_id=B),
                         message_shortcut(callback_id, {**message, "user": ATTACKER}, user_id=ATTACKER, team_id=B)]):
            response = send_shortcut(app, payload)
            assert response.status == 200, (callback_id, response.body)
            judge.check(f"shortcut {callback_id} ({payload['type']})", json.dumps(message), response.body or "")
    queries = ["", "TAAA", "Initrode", world.a_only_deal, "900", "Acme", "Acme TAAA", "taaa.example", "%", "_"]
    for action_id in found["options"]:
        for query in queries:
            body = urlencode({"payload": json.dumps(suggestion(action_id, query, user_id=ATTACKER, team_id=B))})
            response = app.dispatch(signed_request(body, "application/x-www-form-urlencoded"))
            assert response.status == 200, response.body
            options = json.loads(response.body).get("options", [])
            judge.check(f"options {action_id} {query!r}", query, response.body)
            # Only B's deals are offered (B's refs are D-1, D-2; A's D-900 never).
            assert all(not o["value"].endswith("900") for o in options), options
            if query == "Acme":
                assert options, "B's own Acme deal is offered"
    _finish(judge, uow, len(found["shortcut"]) + len(found["options"]) * len(queries))


# Every input of every Workflow Builder step, aimed at A: A's people, titles and emails.
FUNCTION_INPUTS: dict[str, list[dict[str, Any]]] = {
    "create_deal": [
        {"title": "Initrode TAAA", "owner": "UTAAAREP", "amount": "5k", "stage": "Proposal",
         "close_date": "2026-12-31", "account": "Vandelay TAAA"},
        {"title": "Acme TAAA", "owner": ATTACKER, "amount": "5k", "stage": "Proposal", "close_date": "2026-12-31",
         "account": "Initech TAAA"},
    ],
    "add_lead": [
        {"name": "Lead One TAAA", "email": "ceo@taaa.example", "company": "Initech TAAA", "title": "CEO",
         "phone": "1", "source": "web", "country": "TR", "industry": "x", "added_by": ATTACKER},
        {"name": "Lead Three TAAA", "email": "cfo@taaa.example", "company": "Vandelay TAAA", "title": "CFO",
         "phone": "2", "source": "web", "country": "TR", "industry": "y", "added_by": "UTAAAREP"},
    ],
}


def test_workflow_steps_in_b_never_reach_a(app: App, judge: Judge, world: World, uow: UnitOfWork) -> None:
    for callback_id in registered()["function"]:
        for inputs in FUNCTION_INPUTS[callback_id]:
            response = send_function(app, function_executed(callback_id, inputs), team_id=B)
            assert response.status == 200, response.body
            done = judge.fake.calls("functions.completeSuccess")
            assert done, (callback_id, judge.fake.methods())
            outputs = done[0]["outputs"]
            outputs = json.loads(outputs) if isinstance(outputs, str) else outputs
            ref = outputs.get("deal_ref") or outputs.get("lead_ref")
            assert ref not in (world.a_only_deal, world.a_only_lead), outputs
            judge.check(f"function {callback_id} {inputs}", json.dumps(inputs))
    with uow.read() as s:  # B got its own lead for A's email; A's lead is as it was (judge)
        b_emails = set(s.scalars(select(Lead.email).where(Lead.workspace_id == world.b.workspace_id)))
    assert {"ceo@taaa.example", "cfo@taaa.example"} <= b_emails
    _finish(judge, uow, 4)
