"""Discount approvals: one row per discount asked for on a deal

Revision ID: 0009_discounts
Revises: 0008_cards
Create Date: 2026-12-01 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.tables

revision: str = "0009_discounts"
down_revision: str | None = "0008_cards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "discount_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("percent", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("old_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("new_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Enum("pending", "approved", "rejected", "expired", "withdrawn", name="discount_status",
                                    native_enum=False, length=20), nullable=False),
        sa.Column("step", sa.Enum("manager", "admin", name="discount_step", native_enum=False, length=20),
                  nullable=False),
        sa.Column("needs_admin", sa.Boolean(), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("manager_approved_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", core.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("step_started_at", core.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("remind_at", core.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", core.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", core.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_discount_requests_deal_id_deals"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_discount_requests_decided_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["manager_approved_by_id"], ["users.id"],
                                name=op.f("fk_discount_requests_manager_approved_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["manager_id"], ["users.id"], name=op.f("fk_discount_requests_manager_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_discount_requests_requested_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"],
                                name=op.f("fk_discount_requests_workspace_id_workspaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_requests")),
    )
    with op.batch_alter_table("discount_requests", schema=None) as batch_op:
        batch_op.create_index("ix_discount_requests_deal", ["deal_id", "status"], unique=False)
        batch_op.create_index("ix_discount_requests_due", ["status", "expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_discount_requests_workspace_id"), ["workspace_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("discount_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discount_requests_workspace_id"))
        batch_op.drop_index("ix_discount_requests_due")
        batch_op.drop_index("ix_discount_requests_deal")
    op.drop_table("discount_requests")
