"""Deal rooms: a private Slack channel per deal (issue 15 point 3)

Revision ID: 0010_deal_rooms
Revises: 0009_discounts
Create Date: 2026-12-01 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.tables

revision: str = "0010_deal_rooms"
down_revision: str | None = "0009_discounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deal_rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("base_name", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("slack_name", sa.String(length=80), nullable=True),
        sa.Column("slack_archived", sa.Boolean(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("creating", "open", "archived", "failed", name="room_state", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("created_at", core.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_rooms_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_deal_rooms_requested_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_deal_rooms_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_rooms")),
        sa.UniqueConstraint("deal_id", name=op.f("uq_deal_rooms_deal_id")),
    )
    op.create_index(op.f("ix_deal_rooms_workspace_id"), "deal_rooms", ["workspace_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_deal_rooms_workspace_id"), table_name="deal_rooms")
    op.drop_table("deal_rooms")
