"""App Home: published when the user opens it, and again after a change they made.

Rebuilding a Home is the main per-request cost of a change (tens of ms of CPU for a rep with
a hundred open deals), so after a change it is republished by `HomeRefresher`: after the
user's answer has been sent, and at most once per user per burst of changes.
"""
from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.views.common import MAX_VIEW_BLOCKS
from bot.views.home import FollowUp, HomeData, HotLead, TeamPanel, home_view
from core.db import UnitOfWork
from core.deals import deals
from core.i18n import use_locale
from core.insight.figures import basis
from core.insight.kpis import kpis, pipeline_by_stage
from core.insight.quotas import attainment, label_bounds
from core.leads.leads import hot_leads_waiting_for
from core.notify.discounts import pending_discounts
from core.notify.reminders import list_reminders
from core.tables import Team
from core.workspace.users import Actor, actor_of, user_by_slack_id

logger = logging.getLogger(__name__)


def register(app: App) -> None:
    """Listen to app_home_opened."""
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Publish the Home tab when the user opens it."""
    if event.get("tab", "home") != "home":
        return
    actor = context.get("actor")
    if actor is None:
        return
    publish_home(client, context["uow"], actor, context["now"])


def home_data(uow: UnitOfWork, actor: Actor, now: datetime) -> HomeData:
    """Read what the Home tab shows (several reads; no change)."""
    data = HomeData()
    with uow.read() as session:
        data.stages = pipeline_by_stage(session, actor.workspace_id, owner_ids=[actor.user_id], now=now)
        data.teams = _team_panels(session, actor, now)
    # The tab has room for under a hundred deals: read those (in stage order) and count the rest.
    data.deals, data.deals_total = deals.list_deals_counted(
        uow, actor, owner_ids=[actor.user_id], limit=MAX_VIEW_BLOCKS, by_stage=True
    )
    with uow.read() as session:
        data.discounts = pending_discounts(session, [d.id for d in data.deals])
    due = list_reminders(uow, actor, limit=11)
    data.follow_ups = [FollowUp(r.due_at, r.text, r.deal_ref) for r in due]
    data.follow_ups_total = len(due)
    data.hot_leads, data.hot_leads_total = _hot_leads(uow, actor)
    return data


def _team_panels(session: Session, actor: Actor, now: datetime) -> list[TeamPanel]:
    """The teams the actor manages (the first five, by name): pipeline and this quarter's numbers."""
    if not actor.managed_team_ids:
        return []
    period = basis(session, actor.workspace_id, now).quarter()  # the workspace's quarter, as everywhere
    start, end = label_bounds(period)
    teams = session.scalars(select(Team).where(Team.id.in_(actor.managed_team_ids)).order_by(Team.name).limit(5))
    return [
        TeamPanel(
            name=team.name,
            stages=pipeline_by_stage(session, actor.workspace_id, team_id=team.id, now=now),
            quarter=period,
            kpis=kpis(session, actor.workspace_id, start, end, team_id=team.id, now=now),
            attainment=attainment(session, actor.workspace_id, period, team_id=team.id, now=now),
        )
        for team in teams
    ]


def _hot_leads(uow: UnitOfWork, actor: Actor) -> tuple[list[HotLead], int]:
    """Hot open leads waiting for the actor: theirs, or nobody's yet (claimable)."""
    found = hot_leads_waiting_for(uow, actor)
    items = [HotLead(lead.ref, lead.name or lead.email or lead.ref, lead.company, lead.score) for lead in found]
    return items, len(items)


def publish_home(client: WebClient, uow: UnitOfWork, actor: Actor, now: datetime) -> None:
    """Render and views.publish the actor's Home tab, in the language of `actor`, whose Home it is.

    Not the language of the request that caused it (a rep's change republishes their
    manager's or the owner's Home), nor none at all (the refresher runs on its own threads).
    """
    if not actor.slack_id:
        return
    with use_locale(actor.locale):
        view = home_view(actor, home_data(uow, actor, now), now)
    client.views_publish(user_id=actor.slack_id, view=view)


HomeKey = tuple[int, str]
"""Whose Home: (workspace id, Slack user id)."""


class HomeRefresher:
    """Republishes App Homes after changes: at most once per user per burst.

    `later(key, publish)` keeps only the latest `publish` for a user and runs it `delay`
    seconds after the first change of the burst, on a small pool off the listener's thread;
    the data is read when it runs, so it shows every change of the burst. A user's Home is
    published at most once every `min_interval` seconds: someone saving deal after deal from
    slash commands is not looking at the Home tab (opening it republishes it anyway), and
    rebuilding it for every change was a third of the server's CPU under load. With
    `delay=0` (process_before_response mode: tests and the console) it publishes at once, so
    what a request changed is on the Home when the request returns.
    """

    def __init__(self, delay: float, workers: int = 2, min_interval: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.delay = delay
        self.min_interval = min_interval
        self.clock = clock
        self._last: dict[HomeKey, float] = {}
        self._lock = threading.Condition()
        self._pending: dict[HomeKey, Callable[[], None]] = {}
        self._due: list[tuple[float, HomeKey]] = []
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._timer: threading.Thread | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> HomeRefresher:
        # Bolt deep-copies the context for some listeners; the refresher is shared, not copied.
        return self

    def later(self, key: HomeKey, publish: Callable[[], None]) -> None:
        """Publish `key`'s Home soon with `publish` (replacing one already waiting)."""
        if self.delay <= 0:
            _logged(key, publish)
            return
        with self._lock:
            if key not in self._pending:
                heapq.heappush(self._due, (self.due_time(key), key))
            self._pending[key] = publish
            self._start()
            self._lock.notify()

    def flush(self, budget: float | None = None) -> int:
        """Publish everything waiting now, on the caller's thread (shutdown, tests).

        With a `budget` (seconds), stop publishing once it is spent and return how many
        were left (a Home is republished whenever its user opens it).
        """
        with self._lock:
            waiting, self._pending, self._due = self._pending, {}, []
        deadline = None if budget is None else time.monotonic() + budget
        left = len(waiting)
        for key, publish in waiting.items():
            if deadline is not None and time.monotonic() >= deadline:
                break
            _logged(key, publish)
            left -= 1
        return left

    def due_time(self, key: HomeKey) -> float:
        """When a change now gets `key`'s Home published: after the delay, and not sooner
        than min_interval after its last publish."""
        return max(self.clock() + self.delay, self._last.get(key, float("-inf")) + self.min_interval)

    def waiting(self) -> int:
        """How many Homes wait to be published."""
        with self._lock:
            return len(self._pending)

    def _start(self) -> None:
        if self._timer is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="home")
            self._timer = threading.Thread(target=self._run, name="home-timer", daemon=True)
            self._timer.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._due or self._due[0][0] > self.clock():
                    self._lock.wait(None if not self._due else max(0.0, self._due[0][0] - self.clock()))
                _, key = heapq.heappop(self._due)
                publish = self._pending.pop(key, None)
                self._last[key] = self.clock()
            if publish is not None and self._pool is not None:
                self._pool.submit(_logged, key, publish)


def _logged(key: HomeKey, publish: Callable[[], None]) -> None:
    """A failed republish must not spoil the answer already sent: log it."""
    try:
        publish()
    except Exception:
        logger.exception("could not refresh the App Home of %s", key[1])


_IMMEDIATE = HomeRefresher(delay=0)


def refresh_homes(homes: HomeRefresher | None, client: WebClient, uow: UnitOfWork, actor: Actor, now: datetime,
                  owner_slack_id: str | None = None) -> None:
    """Republish the actor's Home and, when they changed someone else's deal, the owner's too.

    Call it after the user's answer is sent; `homes` None publishes at once.
    """
    homes = homes or _IMMEDIATE
    if actor.slack_id:
        homes.later((actor.workspace_id, actor.slack_id), lambda: publish_home(client, uow, actor, now))
    if not owner_slack_id or owner_slack_id == actor.slack_id:
        return

    def publish_owners() -> None:
        with uow.read() as session:
            owner = actor_of(session, user_by_slack_id(session, actor.workspace_id, owner_slack_id))
        publish_home(client, uow, owner, now)

    homes.later((actor.workspace_id, owner_slack_id), publish_owners)
