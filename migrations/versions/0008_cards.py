"""Cards kept current: deals' and leads' revision counters, and the posted cards

Revision ID: 0008_cards
Revises: 0007_oauth
Create Date: 2026-12-01 05:00:00

`deals.revision` and `leads.revision` go up on every change a posted card shows
(core/tables.py, revisions). `cards` records each message posted about a deal or lead (one row
per subject), where it landed and the revision it shows; the refresh job updates the cards
whose subject moved on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.tables

revision: str = "0008_cards"
down_revision: str | None = "0007_oauth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("deals", "leads"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Enum("deal", "lead", name="card_subject", native_enum=False, length=20),
                  nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("posted_at", core.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shown_revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", core.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("gone_at", core.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_cards_outbox_id_outbox"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_cards_workspace_id_workspaces"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
        sa.UniqueConstraint("outbox_id", "subject", "subject_id", name=op.f("uq_cards_outbox_id_subject_subject_id")),
    )
    op.create_index(
        "ix_cards_live", "cards", ["subject", "posted_at"], unique=False,
        postgresql_where=sa.text("gone_at IS NULL"), sqlite_where=sa.text("gone_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_cards_live", table_name="cards", postgresql_where=sa.text("gone_at IS NULL"),
                  sqlite_where=sa.text("gone_at IS NULL"))
    op.drop_table("cards")
    for table in ("leads", "deals"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("revision")
