"""figures indexes: deals by close and by creation instant, for the figures' periods

Revision ID: 0005
Revises: 0004 (0004_outbox_claims)
Create Date: 2026-12-01 00:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deals_ws_closed", "deals", ["workspace_id", "closed_at"])
    op.create_index("ix_deals_ws_created", "deals", ["workspace_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_deals_ws_created", table_name="deals")
    op.drop_index("ix_deals_ws_closed", table_name="deals")
