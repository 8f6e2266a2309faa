"""Drain the outbox to Slack: one worker at a time, paced, retried, each message once.

- One worker: the `outbox-delivery` lease (core.notify.outbox), so replicas never send in
  parallel; claimed rows are hidden from other claims for a while (a visibility timeout),
  both renewed by a heartbeat while the worker lives.
- Paced: a token bucket per channel (Slack allows about one message a second per
  channel, with short bursts) and one per workspace, so we rarely meet a 429.
- Retried: 429 waits exactly `Retry-After` (the channel is paused, not the queue) and does
  not count as an attempt; 5xx, timeouts and dropped connections back off exponentially;
  permanent errors (channel_not_found, user_not_found, not_in_channel, ...) mark the
  message failed with the reason, for the admins, and delivery goes on with the rest.
- Time is injected (`clock`, `sleep`): tests run minutes of backoff in microseconds. Leases,
  claims and retry timers follow the wall clock (`clock`), never the `--at` clock of
  `salesbot jobs run deliver` (`due_clock`, which only says which messages are due).
- Exactly once across crashes: claims are short (20 s) and renewed while sending, so a dead
  sender's rows come back within seconds; a row that comes back unresolved is first looked
  for in Slack (`conversations.history` since its claim, by the outbox key every post
  carries in its metadata) and marked sent when it is there.

The Web API client used here has no retry handlers of its own: a hidden retry inside the
client would sleep on the wall clock and hide 429s from the pacer.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot import rooms_delivery
from bot.clock import utcnow
from bot.metrics import METRICS, Metrics
from bot.views import cards as cards_views
from bot.views import digest as digest_views
from bot.views import discounts as discount_views
from bot.views import leads as leads_views
from bot.views import nudges as nudges_views
from bot.views import prefs as prefs_views
from bot.views import rooms as rooms_views
from core.db import UnitOfWork
from core.deals.cards import CARD_VIEW
from core.deals.rooms import EVENT_VIEW, FAILED_VIEW, NOT_INVITED_VIEW, ROOM_STEP
from core.i18n import use_locale
from core.leads import alerts
from core.notify import cards, outbox
from core.tables import CardSubject
from core.workspace import installations
from core.workspace.locales import recipient_locale

logger = logging.getLogger(__name__)

LEASE = "outbox-delivery"
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found", "user_not_found", "not_in_channel", "is_archived", "account_inactive",
        "user_disabled", "cannot_dm_bot", "invalid_blocks", "invalid_blocks_format", "msg_too_long",
        "no_text", "invalid_auth", "not_authed", "token_revoked", "missing_scope", "team_access_not_granted",
        "restricted_action", "message_not_found", "cant_update_message", "edit_window_closed",
    }
)
# Answers that mean the workspace's token is dead: on a multi-workspace install the workspace is
# paused (its messages wait for a reinstall) rather than each message failing.
TOKEN_ERRORS = frozenset({"invalid_auth", "account_inactive", "token_revoked", "token_expired", "not_authed"})
TEMPORARY_ERRORS = frozenset(
    {"fatal_error", "internal_error", "service_unavailable", "request_timeout", "ratelimited"}
)

Renderer = Callable[[dict[str, Any]], dict[str, Any]]
# How each kind of queued message (`{"view": ..., "data": ...}`) is rendered at send time. A
# static table of the views' functions, so `salesbot jobs run deliver` (no Bolt app built)
# renders every kind, and a view that is renamed or removed fails here at import.
RENDERERS: dict[str, Renderer] = {
    "nudge": nudges_views.nudge_message,
    "morning": nudges_views.morning_message,
    "escalation": nudges_views.escalation_message,
    "digest": digest_views.digest_from_payload,
    "hot_lead": leads_views.hot_lead_message,
    "hot_lead_burst": leads_views.hot_burst_message,
    "lead_assigned": leads_views.lead_assigned_message,
    "away_summary": prefs_views.away_summary_message,
    CARD_VIEW: cards_views.deal_card_message,
    EVENT_VIEW: rooms_views.room_event_message,
    FAILED_VIEW: rooms_views.room_failed_message,
    NOT_INVITED_VIEW: rooms_views.room_not_invited_message,
    cards.SHARE_FAILED_VIEW: cards_views.share_failed_message,
    "discount_ask": discount_views.ask_message,
    "discount_reminder": discount_views.reminder_message,
    "discount_outcome": discount_views.outcome_message,
}


def render(payload: dict[str, Any]) -> dict[str, Any]:
    """The message (text, blocks, optional `files`) for an outbox payload."""
    view = payload.get("view")
    if not view:
        return {k: v for k, v in payload.items() if k in ("text", "blocks", "files", "update")}
    renderer = RENDERERS.get(view)
    if renderer is None:
        raise LookupError(f"no renderer for outbox view {view!r}")
    message = renderer(payload.get("data") or {})
    if payload.get("update"):  # a rendered message that replaces one already posted (chat.update)
        message = {**message, "update": payload["update"]}
    return message


def delivery_client(client: WebClient, timeout: int = 15) -> WebClient:
    """`client` without built-in retries (this module does its own).

    A plain WebClient is copied; a subclass (the console's in-process client) is kept as is.
    """
    if type(client) is not WebClient or not client.retry_handlers:
        return client
    return WebClient(token=client.token, base_url=client.base_url, timeout=timeout, retry_handlers=[])


# -- pacing -----------------------------------------------------------------------------------


@dataclass
class Bucket:
    """A token bucket: `rate` messages a second, up to `burst` at once."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0
    blocked_until: float = 0.0

    def _refill(self, t: float) -> None:
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, t
        elif t > self.stamp:
            self.tokens = min(self.burst, self.tokens + (t - self.stamp) * self.rate)
            self.stamp = t

    def ready_at(self, t: float) -> float:
        self._refill(t)
        at = t if self.tokens >= 1 else t + (1 - self.tokens) / self.rate
        return max(at, self.blocked_until)

    def take(self, t: float) -> None:
        self._refill(t)
        self.tokens -= 1

    def refund(self) -> None:
        self.tokens = min(self.burst, self.tokens + 1)

    def block(self, until: float) -> None:
        self.blocked_until = max(self.blocked_until, until)
        self.tokens = min(self.tokens, 0.0)


@dataclass
class Pacer:
    """Buckets per channel and per workspace (Slack's limits are per workspace and per channel)."""

    channel_rate: float = 1.0
    channel_burst: float = 1.0
    workspace_rate: float = 5.0
    workspace_burst: float = 10.0
    _channels: dict[tuple[int, str], Bucket] = field(default_factory=dict)
    _workspaces: dict[int, Bucket] = field(default_factory=dict)

    def _buckets(self, ws: int, channel: str) -> tuple[Bucket, Bucket]:
        ch = self._channels.setdefault((ws, channel), Bucket(self.channel_rate, self.channel_burst))
        wb = self._workspaces.setdefault(ws, Bucket(self.workspace_rate, self.workspace_burst))
        return ch, wb

    def ready_at(self, ws: int, channel: str, t: float) -> float:
        ch, wb = self._buckets(ws, channel)
        return max(ch.ready_at(t), wb.ready_at(t))

    def take(self, ws: int, channel: str, t: float) -> None:
        for bucket in self._buckets(ws, channel):
            bucket.take(t)

    def refund(self, ws: int, channel: str) -> None:
        """Give back the tokens of a request Slack refused (429, 5xx): no message was posted."""
        for bucket in self._buckets(ws, channel):
            bucket.refund()

    def pause(self, ws: int, channel: str, until: float) -> None:
        self._buckets(ws, channel)[0].block(until)


# -- the worker -------------------------------------------------------------------------------

OUTBOX_EVENT = "salesbot_outbox"  # the metadata event_type of a message about no deal or lead
DEAL_EVENT = "salesbot_deal"  # ... of a message about deals (core.notify.cards: its subjects)
LEAD_EVENT = "salesbot_lead"  # ... of a message about leads only
KEYED_EVENTS = frozenset({OUTBOX_EVENT, DEAL_EVENT, LEAD_EVENT})  # each carries the outbox key
# chat.update answers for a card that can never be updated again (deleted, or its channel
# archived or gone): the card is marked gone.
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "is_archived", "channel_not_found"})


def message_metadata(
    key: str, subjects: list[cards.Subject], ids: cards.WorkspaceIds | None, payload: dict[str, Any]
) -> dict[str, Any]:
    """The Slack message metadata of an outbox message: its key, and what it is about.

    A message about deals or leads says so (`salesbot_deal` / `salesbot_lead`) with the
    workspace's Slack ids and the subjects' ids and refs: never amounts, names or emails.
    The outbox key is always there, so a sender that died after posting is found in history.
    """
    if not subjects or ids is None:
        return {"event_type": OUTBOX_EVENT, "event_payload": {"key": key}}
    deals = [s.id for s in subjects if s.kind == CardSubject.DEAL]
    leads = [s.id for s in subjects if s.kind == CardSubject.LEAD]
    event: dict[str, Any] = {"team_id": ids.team_id, "key": key}
    if ids.enterprise_id:
        event["enterprise_id"] = ids.enterprise_id
    for name, found in (("deal", deals), ("lead", leads)):
        if len(found) == 1:
            event[f"{name}_id"] = found[0]
        elif found:
            event[f"{name}_ids"] = found
    data = payload.get("data") or {}
    ref = (data.get("deal") or {}).get("ref") if isinstance(data.get("deal"), dict) else data.get("ref")
    if isinstance(ref, str) and ref:
        event["ref"] = ref
    return {"event_type": DEAL_EVENT if deals else LEAD_EVENT, "event_payload": event}

# How far before a claim the history is searched: our clock against Slack's, with room to spare.
HISTORY_MARGIN = timedelta(seconds=60)
HISTORY_PAGES = 5  # at most 1,000 messages since the claim
DM_PREFIXES = ("U", "W")  # a user id as channel: the message goes to the DM with that user


@dataclass
class DeliveryStats:
    """What one drain did."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    found: int = 0  # of `sent`: already in Slack (a sender died between the post and the mark)
    skipped: bool = False  # another worker holds the lease

    def __str__(self) -> str:
        if self.skipped:
            return "deliver: another worker is delivering"
        found = f" ({self.found} found already posted)" if self.found else ""
        return (
            f"deliver: {self.sent} sent{found}, {self.failed} failed, {self.retried} to retry, "
            f"{self.rate_limited} rate-limited"
        )


class _Temporary(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Permanent(Exception):
    pass


class _Paused(Exception):
    """The workspace's token fails (or it is not active): its messages wait, the others go on."""


def _classify(exc: Exception) -> Exception:
    if isinstance(exc, SlackApiError):
        resp = exc.response
        status = getattr(resp, "status_code", 200)
        error = str((resp.data or {}).get("error", "")) if isinstance(resp.data, dict) else ""
        if status == 429 or error == "ratelimited":
            headers = {k.lower(): v for k, v in (resp.headers or {}).items()}
            raw = headers.get("retry-after")
            value = raw[0] if isinstance(raw, list) else raw
            try:
                wait = float(value) if value is not None else 1.0
            except ValueError:
                wait = 1.0
            return _Temporary("ratelimited", retry_after=max(wait, 0.0))
        if status >= 500 or error in TEMPORARY_ERRORS:
            return _Temporary(f"HTTP {status} {error}".strip())
        return _Permanent(error or f"HTTP {status}")
    if isinstance(exc, (TimeoutError, socket.timeout, ConnectionError, URLError, SlackRequestError)):
        return _Temporary(f"{exc.__class__.__name__}: {exc}")
    return exc


class _Heartbeat:
    """Calls `beat` every `every` seconds (real time) in a daemon thread until stopped.

    The deliverer renews its lease and claims from here, so a long Slack call (a file upload,
    a paced burst, a Retry-After) never lets them lapse while the sender is alive.
    """

    def __init__(self, every: float, beat: Callable[[], None]) -> None:
        self._every = every
        self._beat = beat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._beat()

    def start(self) -> _Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


@dataclass
class Deliverer:
    """Sends what the outbox holds. `drain()` is what the `deliver` job runs.

    Two clocks: `clock` is the wall clock (leases, claims, retry timers, pacing), `due_clock`
    the time messages are due by (`salesbot jobs run deliver --at`; the wall clock by default).
    `stop` ends a drain early and cleanly: claimed messages not tried yet go back at once.
    """

    uow: UnitOfWork
    client: WebClient
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] | None = None  # None: wait on `stop` (a stop cuts the wait short)
    due_clock: Callable[[], datetime] | None = None
    pacer: Pacer = field(default_factory=Pacer)
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    batch: int = 50
    hold: timedelta = outbox.CLAIM_HOLD
    lease_ttl: timedelta = timedelta(seconds=20)
    renew_every: float | None = None  # seconds between renewals; default a quarter of the shorter hold
    base_backoff: float = 2.0
    max_backoff: float = 600.0
    max_attempts: int = outbox.MAX_ATTEMPTS
    rng: random.Random = field(default_factory=random.Random)
    # Multi-workspace (OAuth) installs: the client holding each workspace's bot token, and what
    # pauses a workspace whose token Slack refuses (invalid_auth, token_revoked, ...).
    client_for: Callable[[int], WebClient | None] | None = None
    pause: Callable[[int, str], None] | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    metrics: Metrics = field(default_factory=lambda: METRICS)  # deliveries by workspace and outcome
    # Where a message already landed when a later step (a file upload) must be retried.
    _landed: dict[int, tuple[str, str]] = field(default_factory=dict)
    # The claimed rows not resolved yet (renewed by the heartbeat), and whether the lease was lost.
    _held: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _lost: threading.Event = field(default_factory=threading.Event)
    # Per drain: DM channel of each user id, outbox keys seen in a channel's history since a time.
    _dm: dict[tuple[int, str], str] = field(default_factory=dict)
    _history: dict[tuple[int, str], tuple[datetime, dict[str, tuple[str, str]]]] = field(default_factory=dict)
    # Workspaces paused during this drain: their claimed messages go back untried.
    _paused: set[int] = field(default_factory=set)

    def _t(self) -> float:
        return self.clock().timestamp()

    def _due(self) -> datetime:
        return (self.due_clock or self.clock)()

    def _sleep(self, seconds: float) -> None:
        if self.sleep is not None:
            self.sleep(seconds)
        else:
            self.stop.wait(seconds)

    def _stopping(self) -> bool:
        return self.stop.is_set() or self._lost.is_set()

    def drain(self, max_wait: float = 0.0, max_seconds: float = 300.0) -> DeliveryStats:
        """Send every due message; wait up to `max_wait` seconds for retries coming due.

        Returns when nothing is due (and no retry is due within `max_wait`), after
        `max_seconds`, when `stop` is set, or at once when another worker holds the lease.
        """
        stats = DeliveryStats()
        started = self._t()
        if self.stop.is_set():
            return stats
        if not self._lease():
            stats.skipped = True
            return stats
        self._lost.clear()
        every = self.renew_every
        if every is None:
            every = min(self.hold, self.lease_ttl).total_seconds() / 4
        heartbeat = _Heartbeat(max(every, 0.01), self._renew).start()
        try:
            while self._t() - started < max_seconds and not self._stopping():
                with self.uow.transaction() as session:
                    items = outbox.claim(
                        session, self.clock(), self.batch, self.hold, due_by=self._due(), holder=self.holder
                    )
                if items:
                    self._send_batch(items, stats, started + max_seconds)
                    if self._stopping() or not self._lease():
                        break
                    continue
                with self.uow.read() as session:
                    due = outbox.next_due_at(session, self.clock(), self._due())
                if due is None:
                    break
                wait = due.timestamp() - self._t()
                if wait > max_wait:
                    break
                self._sleep(max(wait, 0.0))
        finally:
            heartbeat.stop()
            with self.uow.transaction() as session:
                outbox.release_lease(session, LEASE, self.holder, self.clock())
        return stats

    def _lease(self) -> bool:
        with self.uow.transaction() as session:
            return outbox.acquire_lease(session, LEASE, self.holder, self.clock(), self.lease_ttl)

    def _renew(self) -> None:
        """Extend the lease and the claims still being worked on (the heartbeat's beat)."""
        with self._lock:
            ids = sorted(self._held)
        try:
            now = self.clock()
            with self.uow.transaction() as session:
                if not outbox.acquire_lease(session, LEASE, self.holder, now, self.lease_ttl):
                    logger.warning("delivery lease lost to another worker: stopping after this message")
                    self._lost.set()
                    return
                outbox.renew_claims(session, ids, self.holder, now + self.hold)
        except Exception:  # the database may be away for a moment: the next beat tries again
            logger.exception("could not renew the delivery lease and claims")

    def _send_batch(self, items: list[outbox.OutboxItem], stats: DeliveryStats, deadline: float) -> None:
        queue = list(items)
        with self._lock:
            self._held = {i.id for i in queue}
        try:
            while queue:
                t = self._t()
                if t >= deadline or self._stopping():
                    with self.uow.transaction() as session:
                        outbox.release(session, queue, self.clock())
                    return
                # The first message of each channel keeps that channel's order; take whichever is ready first.
                heads: dict[tuple[int, str], int] = {}
                for index, item in enumerate(queue):
                    heads.setdefault((item.workspace_id, item.channel), index)
                ready, index = min(
                    (self.pacer.ready_at(queue[i].workspace_id, queue[i].channel, t), i) for i in heads.values()
                )
                item = queue[index]
                if item.workspace_id in self._paused:
                    self._hand_back(item, queue, index)
                    continue
                if ready > t:
                    self._sleep(ready - t)
                    continue
                self.pacer.take(item.workspace_id, item.channel, self._t())
                if self.metrics.observe_send(self._send, item, stats):
                    queue.pop(index)
                    with self._lock:
                        self._held.discard(item.id)
        finally:
            with self._lock:
                self._held = set()

    def _hand_back(self, item: outbox.OutboxItem, queue: list[outbox.OutboxItem], index: int) -> None:
        """Return an untried message of a paused workspace: it waits, pending, for its token."""
        with self.uow.transaction() as session:
            outbox.release(session, [item], self.clock())
        queue.pop(index)
        with self._lock:
            self._held.discard(item.id)

    def _send(self, item: outbox.OutboxItem, stats: DeliveryStats) -> bool:
        """Try one message; False means "keep it queued" (paused by a 429)."""
        try:
            found = self._post(item)
        except _Paused:
            self._paused.add(item.workspace_id)
            self.pacer.refund(item.workspace_id, item.channel)
            return False  # handed back by _send_batch on its next turn
        except Exception as raw:  # classified below; anything unknown is a bug: fail the message
            exc = _classify(raw)
            if isinstance(exc, _Permanent) and self.pause is not None and str(exc) in TOKEN_ERRORS:
                # Multi-workspace: this workspace's token is dead. Pause it (logged without the
                # token), keep its messages for a reinstall, and go on with the others.
                self.pause(item.workspace_id, str(exc))
                self._paused.add(item.workspace_id)
                self.pacer.refund(item.workspace_id, item.channel)
                return False
            if isinstance(exc, _Temporary) and exc.retry_after is None:
                # A 5xx or a dropped connection posted nothing; a 429 keeps its token, since
                # we were over some limit and refunding it would only invite more 429s.
                self.pacer.refund(item.workspace_id, item.channel)
            if isinstance(exc, _Temporary) and exc.retry_after is not None:
                stats.rate_limited += 1
                self.pacer.pause(item.workspace_id, item.channel, self._t() + exc.retry_after)
                return False
            with self.uow.transaction() as session:
                if isinstance(exc, _Temporary) and item.attempts + 1 < self.max_attempts:
                    delay = min(self.max_backoff, self.base_backoff * 2**item.attempts)
                    delay *= 0.5 + self.rng.random() / 2  # jitter: replicas and channels spread out
                    outbox.retry_later(session, item.id, self.clock() + timedelta(seconds=delay), exc.reason)
                    stats.retried += 1
                else:
                    reason = str(exc) if isinstance(exc, (_Permanent, _Temporary)) else repr(exc)
                    if not isinstance(exc, (_Permanent, _Temporary)):
                        logger.exception("outbox message %s (%s) could not be rendered or sent", item.id, item.key)
                    outbox.mark_failed(session, item.id, self.clock(), reason)
                    cards.failure_notice(session, item.workspace_id, item.payload, reason, self.clock())
                    stats.failed += 1
            return True
        stats.sent += 1
        stats.found += found
        return True

    def _client(self, workspace_id: int) -> WebClient:
        client = self.client_for(workspace_id) if self.client_for is not None else self.client
        if client is None:
            with self.uow.read() as session:
                active = installations.is_active(session, workspace_id)
            if not active:  # paused meanwhile (its token could not be refreshed) or uninstalled
                raise _Paused()
            raise _Permanent("no bot token for this workspace (not installed, or uninstalled)")
        return client

    def _post(self, item: outbox.OutboxItem) -> bool:
        """Send one message (and its files); True when it was found already posted."""
        client = self._client(item.workspace_id)
        if item.kind == ROOM_STEP:
            return self._room_step(client, item)
        payload = item.payload
        subjects = cards.subjects_of(payload)
        shown: dict[cards.Subject, int] = {}
        with self.uow.read() as session:
            if cards.is_live(payload):  # the revisions first: a change landing meanwhile is caught next run
                shown = cards.revisions(session, item.workspace_id, subjects)
            # A live card shows its deal or lead as it is now, not as queued.
            if payload.get("view") in alerts.LEAD_VIEWS:
                payload = alerts.current_payload(session, item.workspace_id, payload)
            else:
                payload = cards.current_payload(session, item.workspace_id, payload)
            ids = cards.workspace_ids(session, item.workspace_id) if subjects else None
            language = recipient_locale(session, item.workspace_id, item.channel)  # the recipient's, not the job's
        with use_locale(language):
            message = render(payload)
        files = message.pop("files", None) or []
        update = message.pop("update", None) or payload.get("update")
        card_of = cards.card_message_id(payload)
        metadata = message_metadata(item.key, subjects, ids, payload)
        channel, ts = self._landed.get(item.id, (item.slack_channel or "", item.slack_ts or ""))
        found = False
        if update:
            try:
                # A card's update says again what it is about; other updates keep their metadata.
                extra: dict[str, Any] = {"metadata": metadata} if subjects else {}
                client.chat_update(channel=update["channel"], ts=update["ts"], **extra, **message)
            except SlackApiError as raw:
                if card_of is not None and str((raw.response.data or {}).get("error", "")) in GONE_ERRORS:
                    with self.uow.transaction() as session:  # deleted in Slack: never tried again
                        cards.mark_gone(session, card_of, self.clock())
                raise
            channel, ts = update["channel"], update["ts"]
        elif not ts:
            landed = self._already_posted(client, item) if item.unsure_since is not None else None
            if landed is not None:
                (channel, ts), found = landed, True
                logger.info("outbox message %s (%s) was already in Slack: marked sent", item.id, item.key)
            else:
                self._history.pop((item.workspace_id, item.channel), None)  # it is about to change
                resp = client.chat_postMessage(channel=item.channel, metadata=metadata, **message)
                channel, ts = str(resp["channel"]), str(resp["ts"])
            if files or item.payload.get("pin"):
                # Remember the post before the upload (or pin): a retry then only re-uploads the file.
                self._landed[item.id] = (channel, ts)
                with self.uow.transaction() as session:
                    outbox.record_progress(session, item.id, channel, ts)
        if item.payload.get("pin"):
            rooms_delivery.pin(client, channel, ts)
        for upload in files:
            client.files_upload_v2(
                channel=channel,
                thread_ts=ts,
                content=upload["content"],
                filename=upload["filename"],
                title=upload.get("title") or upload["filename"],
            )
        with self.uow.transaction() as session:
            outbox.mark_sent(session, item.id, self.clock(), channel or None, ts or None)
            if card_of is not None:
                cards.record_updated(session, card_of, shown, self.clock())
            elif shown and channel and ts and not update:
                cards.record_posted(session, item.id, item.workspace_id, channel, ts, self._due(), shown)
        self._landed.pop(item.id, None)
        return found

    # -- deal rooms (issue 15 point 3): the Slack steps of a room, kept apart in bot/rooms_delivery.py

    def _room_step(self, client: WebClient, item: outbox.OutboxItem) -> bool:
        """One step of a deal room (create, invite, follow the deal); never "found already posted"."""
        rooms_delivery.run_room_step(self.uow, client, item, self.clock,
                                     lambda exc: isinstance(_classify(exc), _Temporary))
        with self.uow.transaction() as session:
            outbox.mark_sent(session, item.id, self.clock())
        return False

    def _already_posted(self, client: WebClient, item: outbox.OutboxItem) -> tuple[str, str] | None:
        """Where Slack already holds this message (its key in a message's metadata), if it does.

        A sender claimed it at `unsure_since` and never marked it: it may have died after Slack
        accepted the post. The channel's history from that time tells. When the history cannot
        be read for good (a missing scope after an upgrade, a channel the bot cannot read), the
        message is sent again: at least once rather than never.
        """
        assert item.unsure_since is not None
        oldest = item.unsure_since - HISTORY_MARGIN
        cache_key = (item.workspace_id, item.channel)
        cached = self._history.get(cache_key)
        if cached is None or cached[0] > oldest:
            try:
                cached = (oldest, self._keys_in_history(client, item.workspace_id, item.channel, oldest))
            except SlackApiError as raw:
                exc = _classify(raw)
                if isinstance(exc, _Temporary):
                    raise
                logger.warning(
                    "outbox message %s (%s): cannot read the history of %s (%s); sending it without looking",
                    item.id, item.key, item.channel, exc,
                )
                return None
            self._history[cache_key] = cached
        return cached[1].get(item.key)

    def _keys_in_history(
        self, client: WebClient, workspace_id: int, channel: str, oldest: datetime
    ) -> dict[str, tuple[str, str]]:
        conversation = channel
        if channel.startswith(DM_PREFIXES):
            conversation = self._dm.get((workspace_id, channel)) or str(
                client.conversations_open(users=channel)["channel"]["id"]
            )
            self._dm[(workspace_id, channel)] = conversation
        keys: dict[str, tuple[str, str]] = {}
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            page = client.conversations_history(
                channel=conversation, oldest=f"{oldest.timestamp():.6f}", include_all_metadata=True, limit=200,
                cursor=cursor,
            )
            for message in page.get("messages") or []:
                meta = message.get("metadata") or {}
                key = (meta.get("event_payload") or {}).get("key")
                if meta.get("event_type") in KEYED_EVENTS and key:
                    keys.setdefault(str(key), (conversation, str(message.get("ts"))))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return keys
