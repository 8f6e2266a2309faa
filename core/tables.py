"""SQLAlchemy 2 models: every row belongs to a workspace (Slack team_id).

Conventions (read before adding a table):
- Times are stored as UTC (`UTCDateTime`: aware in Python, naive UTC on SQLite).
- Money is integer hundredths (`*_minor` columns, see core.money.to_minor) plus an
  ISO 4217 currency: exact sums on SQLite and PostgreSQL alike, never float.
- Every schema change is an Alembic migration in migrations/versions.
"""
from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Update,
    event,
    text,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import update as sa_update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names keep Alembic autogenerate stable across backends.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store naive UTC there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _from_minor(minor: int | None) -> Decimal | None:
    return None if minor is None else (Decimal(minor) / 100).quantize(Decimal("0.01"))


def _to_minor(amount: Decimal | None) -> int | None:
    return None if amount is None else int((Decimal(amount) * 100).to_integral_value())


class Role(enum.StrEnum):
    REP = "rep"
    MANAGER = "manager"
    ADMIN = "admin"


class DealStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ActivityKind(enum.StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    DEMO = "demo"
    PROPOSAL = "proposal"
    NOTE = "note"


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DONE = "done"
    SNOOZED = "snoozed"
    CANCELLED = "cancelled"


class LeadStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    WORKING = "working"
    CONVERTED = "converted"
    DISQUALIFIED = "disqualified"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SET_ASIDE = "set_aside"  # its workspace uninstalled the app: kept for the operator, never sent


class WorkspaceStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # its token failed (invalid_auth, token_revoked, ...): nothing is sent until it works again
    UNINSTALLED = "uninstalled"  # app_uninstalled / tokens_revoked: tokens deleted, queued messages set aside


def _enum(e: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings (no native PG enum): cheaper migrations, same checks in Python.
    return Enum(e, name=name, native_enum=False, length=20, values_callable=lambda x: [m.value for m in x])


class Workspace(Base):
    """A Slack workspace (team_id) and its settings."""

    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    default_currency: Mapped[str] = mapped_column(String(3), default="USD")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    digest_weekday: Mapped[int] = mapped_column(Integer, default=0)  # 0 = Monday
    digest_time: Mapped[str] = mapped_column(String(5), default="09:00")
    nudge_time: Mapped[str] = mapped_column(String(5), default="09:00")
    quiet_start: Mapped[str] = mapped_column(String(5), default="20:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    quiet_weekends: Mapped[bool] = mapped_column(Boolean, default=True)
    hot_lead_threshold: Mapped[int] = mapped_column(Integer, default=70)
    claim_window_minutes: Mapped[int] = mapped_column(Integer, default=30)
    stale_escalate_after: Mapped[int] = mapped_column(Integer, default=2)
    alert_burst_size: Mapped[int] = mapped_column(Integer, default=3)
    alert_burst_minutes: Mapped[int] = mapped_column(Integer, default=2)
    next_deal_number: Mapped[int] = mapped_column(Integer, default=1)
    next_lead_number: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Whether Slack messages go out to it (core.workspace.installations): why and since when.
    status: Mapped[WorkspaceStatus] = mapped_column(
        _enum(WorkspaceStatus, "workspace_status"), default=WorkspaceStatus.ACTIVE, server_default="active"
    )
    status_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Installation(Base):
    """The Slack OAuth installation of a workspace: its tokens, encrypted (Fernet) by the bot.

    core never sees a token in clear: the `*_token` columns hold ciphertext only.
    """

    __tablename__ = "installations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[str] = mapped_column(String(32), unique=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    app_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_scopes: Mapped[str] = mapped_column(Text, default="")
    bot_token: Mapped[str] = mapped_column(Text)
    bot_refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    bot_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    installer_user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    user_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    user_scopes: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OAuthState(Base):
    """An OAuth `state` handed out by /slack/install: used once, before it expires."""

    __tablename__ = "oauth_states"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL", use_alter=True), nullable=True
    )
    channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id], post_update=True)


class User(Base):
    """A Slack user, or an owner known only by name from an import (slack_id is None)."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("workspace_id", "slack_id"),
        UniqueConstraint("workspace_id", "import_name"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    slack_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    import_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str | None] = mapped_column(String(10), nullable=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.REP)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True, index=True
    )
    is_slack_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_away: Mapped[bool] = mapped_column(Boolean, default=False)
    max_open_leads: Mapped[int | None] = mapped_column(Integer, nullable=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])


class Pipeline(Base):
    __tablename__ = "pipelines"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    stages: Mapped[list[Stage]] = relationship(order_by="Stage.position", back_populates="pipeline")


class Stage(Base):
    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("pipeline_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int] = mapped_column(Integer)  # win probability, 0-100
    rotting_days: Mapped[int] = mapped_column(Integer, default=14)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)
    is_lost: Mapped[bool] = mapped_column(Boolean, default=False)

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")

    @property
    def is_terminal(self) -> bool:
        return self.is_won or self.is_lost


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        UniqueConstraint("workspace_id", "number"),
        UniqueConstraint("workspace_id", "external_id"),
        # A rep's deals by status, in listing order (expected close, then number): the list
        # reads its first rows straight off the index, no sort.
        Index("ix_deals_owner_status", "workspace_id", "owner_id", "status", "expected_close", "number"),
        Index("ix_deals_status_close", "workspace_id", "status", "expected_close"),
        # The figures' periods (closed in a week or a quarter) and "anything after now?" (a
        # replay of the past) read a range of close or creation instants, not every deal.
        Index("ix_deals_ws_closed", "workspace_id", "closed_at"),
        Index("ix_deals_ws_created", "workspace_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    account: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    product: Mapped[str | None] = mapped_column(String(100), nullable=True)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"), index=True)
    status: Mapped[DealStatus] = mapped_column(_enum(DealStatus, "deal_status"), default=DealStatus.OPEN)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    expected_close: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_step: Mapped[str | None] = mapped_column(String(500), nullable=True)
    source: Mapped[str | None] = mapped_column(String(100), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True)  # import key
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL", use_alter=True), nullable=True
    )
    lost_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    engaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Last real touch by a person (activity, note, stage or amount change): drives stale nudges.
    last_touch_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stale_nudges: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped on every change a posted card shows (core.revisions): cards older than it are refreshed.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    stage: Mapped[Stage] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    @property
    def ref(self) -> str:
        return f"D-{self.number}"

    @property
    def amount(self) -> Decimal | None:
        return _from_minor(self.amount_minor)

    @amount.setter
    def amount(self, value: Decimal | None) -> None:
        self.amount_minor = _to_minor(value)


class DealChange(Base):
    """One field of one deal changed: who, what from, what to, when (the history)."""

    __tablename__ = "deal_changes"
    __table_args__ = (
        Index("ix_deal_changes_deal", "deal_id", "changed_at"),
        Index("ix_deal_changes_ws_time", "workspace_id", "changed_at"),
        # Stage flow and the forecast history read every stage change of a workspace in
        # (deal, time) order: with the values included, PostgreSQL answers from the index alone.
        Index(
            "ix_deal_changes_ws_field_deal", "workspace_id", "field", "deal_id", "changed_at",
            postgresql_include=["old_value", "new_value"],
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20), default="slack")  # slack | import | system


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_deal", "deal_id", "at"),
        Index("ix_activities_ws_time", "workspace_id", "at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), nullable=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), nullable=True)
    kind: Mapped[ActivityKind] = mapped_column(_enum(ActivityKind, "activity_kind"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Reminder(Base):
    """A follow-up due at a UTC instant: a row, not a scheduler job."""

    __tablename__ = "reminders"
    __table_args__ = (
        # The due sweep reads only live reminders; a partial index keeps it small at 1M rows.
        Index(
            "ix_reminders_due",
            "due_at",
            postgresql_where=text("status IN ('pending', 'snoozed')"),
            sqlite_where=text("status IN ('pending', 'snoozed')"),
        ),
        Index("ix_reminders_user", "workspace_id", "user_id", "status"),
        Index("ix_reminders_deal", "deal_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), nullable=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), nullable=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ReminderStatus] = mapped_column(
        _enum(ReminderStatus, "reminder_status"), default=ReminderStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @staticmethod
    def nudge_key(reminder_id: int, due_at: datetime) -> str:
        """The outbox key of the nudge for one due time of one reminder (the PG sweep builds the same)."""
        return f"nudge:r{reminder_id}:{due_at.strftime('%Y%m%dT%H%M')}"


class Quota(Base):
    """A quota for a rep (user_id) or a team (team_id) for one quarter, e.g. period '2026-Q4'."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("workspace_id", "period", "user_id", "team_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), nullable=True)
    period: Mapped[str] = mapped_column(String(7))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")

    @property
    def amount(self) -> Decimal:
        value = _from_minor(self.amount_minor)
        assert value is not None
        return value


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("workspace_id", "number"),
        UniqueConstraint("workspace_id", "email_key"),
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_leads_owner_status", "workspace_id", "owner_id", "status"),
        Index("ix_leads_hot", "workspace_id", "hot", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    email_key: Mapped[str | None] = mapped_column(String(254), nullable=True)  # lower-cased email
    company: Mapped[str | None] = mapped_column(String(200), nullable=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    source: Mapped[str | None] = mapped_column(String(100), nullable=True)
    country: Mapped[str | None] = mapped_column(String(100), nullable=True)
    industry: Mapped[str | None] = mapped_column(String(100), nullable=True)
    employees: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[LeadStatus] = mapped_column(_enum(LeadStatus, "lead_status"), default=LeadStatus.NEW)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    score: Mapped[int] = mapped_column(Integer, default=0)
    score_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    predicted: Mapped[int | None] = mapped_column(Integer, nullable=True)  # win probability 0-100
    hot: Mapped[bool] = mapped_column(Boolean, default=False)
    hot_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disqualify_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Set by "Not a fit": when, by whom, and the lead as it was, so Undo can restore it for a minute.
    disqualify_undo: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped on every change a posted card shows (core.revisions): cards older than it are refreshed.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    @property
    def ref(self) -> str:
        return f"L-{self.number}"


class LeadEvent(Base):
    """An engagement event (email_open, demo_request, ...) that feeds the points score."""

    __tablename__ = "lead_events"
    __table_args__ = (
        Index("ix_lead_events_lead", "lead_id", "at"),
        UniqueConstraint("workspace_id", "dedupe_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(128), nullable=True)


class WorkspaceConfig(Base):
    """A named JSON document per workspace: scoring rules, routing rules, a trained lead model."""

    __tablename__ = "workspace_configs"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """Remembers a request already handled (double modal submit, repeated webhook, Slack retry)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message decided in a transaction, delivered to Slack later, exactly once per key."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))  # what it is about + period
    kind: Mapped[str] = mapped_column(String(50))  # nudge, stale, slipped, digest, hot_lead, ...
    channel: Mapped[str] = mapped_column(String(32))  # Slack user id (DM) or channel id
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # text, blocks, files
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    slack_channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    slack_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Delivery bookkeeping on the wall clock (never the `--at` clock): hidden from claims until
    # `held_until` (a claim's visibility timeout, or a retry's backoff); `claimed_at` is when a
    # sender first took the row without knowing whether it landed (the window searched in
    # `conversations.history` before a re-send), `claimed_by` the sender that renews the claim.
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class CardSubject(enum.StrEnum):
    DEAL = "deal"
    LEAD = "lead"


class Card(Base):
    """A posted message kept current about one deal or lead (core.notify.cards): one row a subject.

    `outbox_id` is the message that posted it (its payload is re-rendered for an update);
    `shown_revision` the subject's revision the message shows now; `gone_at` set when Slack
    no longer has the message (deleted): it is never tried again.
    """

    __tablename__ = "cards"
    __table_args__ = (
        UniqueConstraint("outbox_id", "subject", "subject_id"),
        # The refresh sweep: live cards of one kind of subject, posted since a cutoff.
        Index(
            "ix_cards_live", "subject", "posted_at",
            postgresql_where=text("gone_at IS NULL"), sqlite_where=text("gone_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    subject: Mapped[CardSubject] = mapped_column(_enum(CardSubject, "card_subject"))
    subject_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shown_revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Lease(Base):
    """A named lease (scheduler, outbox worker): one holder at a time, on SQLite and PostgreSQL."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExchangeRate(Base):
    """1 unit of `currency` = `rate` units of the workspace's base currency, from `valid_from` on.

    Dated: a figure converts each deal at the rate in force on its relevant date (SPEC section 9).
    """

    __tablename__ = "exchange_rates"
    __table_args__ = (UniqueConstraint("workspace_id", "currency", "valid_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserPrefs(Base):
    """One user's notification preferences (core.notify.preferences); no row: the workspace's defaults.

    `muted` lists the kinds they do not get; `channel_id` None means by DM; the working days
    ("0,1,2,3,4", Monday = 0) and hours (HH:MM) are None where the workspace's quiet hours and
    weekends apply; `away_until` is the last day away (inclusive, in the user's zone).
    `custom_delivery` is True when the row changes how follow-ups reach them (muted, channel,
    hours, away): the bulk PostgreSQL follow-up sweep leaves those users to the per-user one.
    `backoff` keeps, per nudge kind, the ignored streak and whether it went weekly.
    """

    __tablename__ = "user_prefs"
    __table_args__ = (UniqueConstraint("user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    muted: Mapped[list[Any]] = mapped_column(JSON, default=list)
    channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    work_days: Mapped[str | None] = mapped_column(String(20), nullable=True)
    work_start: Mapped[str | None] = mapped_column(String(5), nullable=True)
    work_end: Mapped[str | None] = mapped_column(String(5), nullable=True)
    digest_weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)
    away_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    custom_delivery: Mapped[bool] = mapped_column(Boolean, default=False)
    backoff: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DiscountStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # its deal closed (won or lost) before anyone decided


class DiscountStep(enum.StrEnum):
    MANAGER = "manager"
    ADMIN = "admin"


class DiscountRequest(Base):
    """A discount asked for on a deal, and where its approval stands (core.deals.discounts).

    The chain is the requester's manager (`manager_id`; none: straight to the admins), then an
    admin when `needs_admin`. `step` is whose turn it is; a decision is a conditional UPDATE on
    (status, step), so two clicks apply once. The deal's amount changes only on the last approval.
    """

    __tablename__ = "discount_requests"
    __table_args__ = (
        Index("ix_discount_requests_deal", "deal_id", "status"),
        Index("ix_discount_requests_due", "status", "expires_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # what was asked: a percentage (percent set) or an amount off; both kept in the deal's currency
    percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 4), nullable=True)
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    old_amount_minor: Mapped[int] = mapped_column(BigInteger)
    new_amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[DiscountStatus] = mapped_column(
        _enum(DiscountStatus, "discount_status"), default=DiscountStatus.PENDING
    )
    step: Mapped[DiscountStep] = mapped_column(_enum(DiscountStep, "discount_step"))
    needs_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    manager_approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # when the approver whose turn it is gets their one reminder; None once reminded
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# -- revisions: what makes posted cards refresh (core.notify.cards) ---------------------------
#
# A deal's or lead's `revision` goes up by one on every change a card could show, in one place:
# here, for every way the code writes (ORM changes, ORM UPDATE statements, activities added to
# a deal, a discount step, a stage renamed). `revision + 1` is computed in SQL, so concurrent writers never lose
# a bump. Columns that no card shows do not count.
_NOT_SHOWN = {"deals": frozenset({"revision", "stale_nudges", "engaged_at"}), "leads": frozenset({"revision"})}


def _bump_on_change(mapper: Any, connection: Any, target: Deal | Lead) -> None:
    state: Any = sa_inspect(target)
    hidden = _NOT_SHOWN[mapper.local_table.name]
    if any(attr.history.has_changes() for attr in state.attrs if attr.key not in hidden
           and attr.key in mapper.columns):
        target.revision = type(target).revision + 1


def _bump_rows(connection: Any, table: Any, where: Any) -> None:
    connection.execute(sa_update(table).where(where).values(revision=table.c.revision + 1))


def _bump_for_activity(mapper: Any, connection: Any, target: Activity) -> None:
    if target.deal_id is not None:
        _bump_rows(connection, Deal.__table__, Deal.__table__.c.id == target.deal_id)
    if target.lead_id is not None:
        _bump_rows(connection, Lead.__table__, Lead.__table__.c.id == target.lead_id)


def _bump_for_discount(mapper: Any, connection: Any, target: DealChange) -> None:
    """A discount asked for, decided or expired shows on the deal's cards (core.notify.discounts
    records each step as a `discount` change of the deal, without touching the deal's row)."""
    if target.field == "discount":
        _bump_rows(connection, Deal.__table__, Deal.__table__.c.id == target.deal_id)


def _bump_for_stage(mapper: Any, connection: Any, target: Stage) -> None:
    state: Any = sa_inspect(target)
    if state.attrs.name.history.has_changes():
        _bump_rows(connection, Deal.__table__, Deal.__table__.c.stage_id == target.id)


def _bump_in_update_statements(state: ORMExecuteState) -> None:
    """An ORM `update(Deal)` / `update(Lead)` (a claim, a routing job, a link) bumps what it updates."""
    if not state.is_update or not isinstance(state.statement, Update) or isinstance(state.parameters, list):
        return  # bulk UPDATE by primary key (an import) bumps itself: see core.deals.import_writer
    statement = state.statement
    models: dict[str, type[Deal] | type[Lead]] = {"deals": Deal, "leads": Lead}
    model = models.get(getattr(statement.table, "name", ""))
    if model is None:
        return
    written = {getattr(k, "key", str(k)) for k in (statement._values or {})}
    if written and not written <= _NOT_SHOWN[model.__tablename__]:
        state.statement = statement.values(revision=model.revision + 1)


for _model in (Deal, Lead):
    event.listen(_model, "before_update", _bump_on_change)
event.listen(Activity, "after_insert", _bump_for_activity)
event.listen(Activity, "after_delete", _bump_for_activity)
event.listen(Stage, "before_update", _bump_for_stage)
event.listen(DealChange, "after_insert", _bump_for_discount)
event.listen(Session, "do_orm_execute", _bump_in_update_statements)


# -- deal rooms (issue 15 point 3) ------------------------------------------------------------


class RoomState(enum.StrEnum):
    CREATING = "creating"  # asked for; the outbox creates the Slack channel
    OPEN = "open"
    ARCHIVED = "archived"  # the deal closed: renamed -won / -lost and archived
    FAILED = "failed"  # Slack refused to create it (reason kept); `/deal room` again retries


class DealRoom(Base):
    """A deal's private Slack channel (core.deals.rooms): at most one per deal.

    `name` is the channel's name as created (a taken name gets a suffix), `base_name` the name
    made from the deal; `slack_name` / `slack_archived` are what Slack holds now, written back by
    delivery after each step, so a retried step never repeats one that landed.
    """

    __tablename__ = "deal_rooms"
    __table_args__ = (UniqueConstraint("deal_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    base_name: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(80))
    slack_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    slack_archived: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[RoomState] = mapped_column(_enum(RoomState, "room_state"), default=RoomState.CREATING)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # create attempts: part of the outbox key
    events: Mapped[int] = mapped_column(Integer, default=0)  # a sequence for the keys of later steps
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    members: Mapped[list[Any]] = mapped_column(JSON, default=list)  # Slack ids asked to join
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
