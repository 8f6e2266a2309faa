"""outbox claims on the wall clock: who holds a row, since when, until when

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 22:45:00

`next_attempt_at` stays the time the message is due (business time, what `--at` moves);
`held_until` hides a row from claims on the wall clock (a claim, or a retry's backoff);
`claimed_at` / `claimed_by` say since when a sender may have posted it (the window that
`conversations.history` is searched for its key before a re-send).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.tables

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_until", core.tables.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", core.tables.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("held_until")
