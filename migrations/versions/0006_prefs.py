"""user_prefs: each user's notification preferences (issue 13, points 5 and 6)

Revision ID: 0006_prefs
Revises: 0005
Create Date: 2026-12-01 01:30:00

Muted kinds, DM or a channel, working days and hours, the digest's day, away until a date,
and the back-off state of ignored nudges. No row means the workspace's defaults.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.tables

revision: str = "0006_prefs"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_prefs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("muted", sa.JSON(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("work_days", sa.String(length=20), nullable=True),
        sa.Column("work_start", sa.String(length=5), nullable=True),
        sa.Column("work_end", sa.String(length=5), nullable=True),
        sa.Column("digest_weekday", sa.Integer(), nullable=True),
        sa.Column("away_until", sa.Date(), nullable=True),
        sa.Column("custom_delivery", sa.Boolean(), nullable=False),
        sa.Column("backoff", sa.JSON(), nullable=False),
        sa.Column("updated_at", core.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_prefs_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"],
                                name=op.f("fk_user_prefs_workspace_id_workspaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_prefs")),
        sa.UniqueConstraint("user_id", name=op.f("uq_user_prefs_user_id")),
    )
    with op.batch_alter_table("user_prefs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_prefs_workspace_id"), ["workspace_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_prefs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_prefs_workspace_id"))
    op.drop_table("user_prefs")
