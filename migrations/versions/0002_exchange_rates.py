"""exchange rates: dated rates into each workspace's base currency

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("created_at", core.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_exchange_rates_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_rates")),
        sa.UniqueConstraint("workspace_id", "currency", "valid_from", name=op.f("uq_exchange_rates_workspace_id_currency_valid_from")),
    )


def downgrade() -> None:
    op.drop_table("exchange_rates")
