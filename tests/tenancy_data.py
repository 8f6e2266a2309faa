"""Two workspaces full of data, and the checks that one's rows are untouched (issue 14 points 3 and 4).

`populate(uow, team_id, now)` fills one workspace through the domain's own functions: users
in two teams (a manager, reps, an admin whose Slack id is the same in every workspace, as a
user of an Enterprise Grid org would be), deals with history, activities and an idempotency
key, a deal room, a discount waiting for approval, a live card, a reminder, a quota, an
exchange rate, leads with engagement events, an outbox message and a workspace config.
`rows_of(uow, team_id)` is every row of that workspace in every table of Base.metadata (found
by core.workspace.tenancy, so new tables are included); `cross_workspace_references(uow)`
lists the rows that point at a row of another workspace.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from core.db import UnitOfWork
from core.deals import deals
from core.deals.rooms import request_room
from core.insight.quotas import set_quota
from core.leads.events import clean_event, intake_events
from core.leads.intake import intake
from core.money import Money
from core.notify import cards, discounts, outbox
from core.notify.preferences import PrefsChange, set_prefs
from core.notify.reminders import set_reminder
from core.tables import Base, CardSubject, Lead, OutboxMessage, Reminder, Role, WorkspaceConfig
from core.workspace.rates import set_rate
from core.workspace.tenancy import table_scopes
from core.workspace.users import Actor
from core.workspace.workspaces import workspace_by_team
from tests.conftest import make_actor

SHARED_ADMIN = "UADMIN"  # the same Slack id in every workspace (an Enterprise Grid user)


@dataclass
class Populated:
    team_id: str
    workspace_id: int
    admin: Actor
    manager: Actor
    rep: Actor
    deal_refs: list[str]
    deal_ids: list[int]
    lead_refs: list[str]
    lead_ids: list[int]
    reminder_ids: list[int]
    emails: list[str]
    discount_ids: list[int]


def populate(uow: UnitOfWork, team_id: str, now: datetime, prefix: str | None = None) -> Populated:
    """Fill workspace `team_id` with a little of everything (see the module docstring)."""
    p = prefix or team_id
    admin = make_actor(uow, SHARED_ADMIN, name=f"Admin {p}", role=Role.ADMIN, team_id=team_id)
    manager = make_actor(uow, f"U{p}MGR", name=f"Manager {p}", role=Role.MANAGER, manages=f"East {p}",
                         team_id=team_id)
    rep = make_actor(uow, f"U{p}REP", name=f"Rep {p}", team=f"East {p}", team_id=team_id)
    make_actor(uow, f"U{p}WEST", name=f"West {p}", team=f"West {p}", team_id=team_id)
    set_rate(uow, admin, "EUR", "1.08", now=now)
    set_quota(uow, admin, user_slack_id=rep.slack_id, amount=Money(Decimal("50000"), "USD"), period="2026-Q4",
              now=now)
    first = deals.create_deal(uow, rep, title=f"Acme {p}", amount=Money(Decimal("12000"), "USD"), now=now,
                              idempotency_key=f"create-{p}")
    second = deals.create_deal(uow, rep, title=f"Globex {p}", amount=Money(Decimal("5000"), "USD"), now=now)
    deals.move_stage(uow, rep, first.ref, "Proposal", now=now)
    deals.log_activity(uow, rep, first.ref, "call", f"talked to {p}", now=now)
    deals.add_note(uow, rep, second.ref, f"note of {p}", now=now)
    request_room(uow, rep, first.ref, [], now=now)  # a deal room (core.deals.rooms)
    asked = discounts.request_discount(uow, rep, first.ref, "10%", f"multi-year {p}", now=now)  # waits on the manager
    cards.share_deal(uow, rep, first.ref, "C0CARDS", now)
    set_prefs(uow, rep, PrefsChange(hours="09:00-18:00", days="mon-fri"), now)
    reminder = set_reminder(uow, rep, due_at=now + timedelta(days=1), text=f"call {p}", now=now,
                            deal_ref=first.ref)
    emails = [f"ceo@{p.lower()}.example", f"cto@{p.lower()}.example"]
    with uow.transaction() as s:
        ws = workspace_by_team(s, team_id)
        intake(s, ws, [
            {"name": f"Lead One {p}", "email": emails[0], "company": f"Initech {p}", "employees": 500},
            {"name": f"Lead Two {p}", "email": emails[1], "company": f"Hooli {p}"},
        ], now)
        intake_events(s, ws, [clean_event({"type": "demo_request", "email": emails[0], "at": now.isoformat()})], now)
        outbox.enqueue(s, ws.id, f"test:{p}", "text", rep.slack_id, {"text": f"hello {p}"}, now,
                       not_before=now + timedelta(days=30))
        s.add(WorkspaceConfig(workspace_id=ws.id, name="tenancy-test", data={"of": p}, updated_at=now))
        _fill_other_tables(s, ws.id, team_id, now)
        # A live card, as delivery records one once the shared deal card is posted.
        shared = s.scalar(select(OutboxMessage.id).where(OutboxMessage.workspace_id == ws.id,
                                                         OutboxMessage.key.startswith("share:")))
        assert shared is not None
        cards.record_posted(s, shared, ws.id, "C0CARDS", "1700000000.000100", now,
                            {cards.Subject(CardSubject.DEAL, first.id): 1})
        leads = list(s.scalars(select(Lead).where(Lead.workspace_id == ws.id).order_by(Lead.number)))
        reminder_ids = list(s.scalars(select(Reminder.id).where(Reminder.workspace_id == ws.id)))
        assert reminder.id in reminder_ids
        ws_id = ws.id
    return Populated(
        team_id=team_id, workspace_id=ws_id, admin=admin, manager=manager, rep=rep,
        deal_refs=[first.ref, second.ref], deal_ids=[first.id, second.id],
        lead_refs=[lead.ref for lead in leads], lead_ids=[lead.id for lead in leads],
        reminder_ids=reminder_ids, emails=emails, discount_ids=[asked.id],
    )


# Rows for workspace-owned tables the domain calls above do not fill (the columns a row needs).
FILLERS: dict[str, Callable[[int, str, datetime], dict[str, Any]]] = {
    "installations": lambda ws_id, team_id, now: {
        "workspace_id": ws_id, "team_id": team_id, "bot_token": f"ciphertext-of-{team_id}", "bot_scopes": "commands",
        "installed_at": now, "updated_at": now,
    },
}


def _fill_other_tables(s: Any, ws_id: int, team_id: str, now: datetime) -> None:
    for name, row in FILLERS.items():
        table = Base.metadata.tables.get(name)
        if table is not None:
            s.execute(table.insert().values({k: v for k, v in row(ws_id, team_id, now).items() if k in table.c}))


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def rows_of(uow: UnitOfWork, team_id: str, workspace_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the workspace in every workspace-owned table, in primary-key order."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with uow.read() as s:
        for scope in table_scopes():
            order = list(scope.table.primary_key.columns) or list(scope.table.c)
            rows = s.execute(select(scope.table).where(scope.where(workspace_id, team_id)).order_by(*order))
            found[scope.table.name] = [tuple(_plain(v) for v in row) for row in rows]
    return found


def all_rows(uow: UnitOfWork) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (for "the other workspaces are untouched")."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with uow.read() as s:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.c)
            found[table.name] = [tuple(_plain(v) for v in row) for row in s.execute(select(table).order_by(*order))]
    return found


def cross_workspace_references(uow: UnitOfWork) -> list[str]:
    """Rows whose foreign key points at a row of another workspace (there must be none)."""
    leaks = []
    with uow.read() as s:
        for scope in table_scopes():
            child = scope.table
            if "workspace_id" not in child.c:
                continue
            for fk in child.foreign_keys:
                parent = fk.column.table
                if parent.name == "workspaces" or "workspace_id" not in parent.c:
                    continue
                p = aliased(parent)
                n = s.scalar(
                    select(func.count()).select_from(child).join(p, and_(fk.parent == p.c[fk.column.name]))
                    .where(child.c.workspace_id != p.c.workspace_id)
                )
                if n:
                    leaks.append(f"{child.name}.{fk.parent.name} -> {parent.name}: {n} row(s)")
    return leaks
