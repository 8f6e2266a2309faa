"""OAuth on our own tables: installations (encrypted tokens), OAuth states, workspace status

Revision ID: 0007_oauth
Revises: 0006_prefs
Create Date: 2026-12-01 01:40:00

`installations` replaces the tables Bolt's SQLAlchemy stores made for themselves (slack_*,
outside the migrations, tokens in clear); those are left alone, not read. `workspaces.status`
says whether messages go out to a workspace (active / paused / uninstalled), with why and
since when. Outbox rows of an uninstalled workspace get status `set_aside` (a plain string
column: no schema change for that).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.tables

revision: str = "0007_oauth"
down_revision: str | None = "0006_prefs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum("active", "paused", "uninstalled", name="workspace_status", native_enum=False, length=20),
                nullable=False,
                server_default="active",
            )
        )
        batch_op.add_column(sa.Column("status_reason", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("status_changed_at", core.tables.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "installations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("app_id", sa.String(length=32), nullable=True),
        sa.Column("bot_id", sa.String(length=32), nullable=True),
        sa.Column("bot_user_id", sa.String(length=32), nullable=True),
        sa.Column("bot_scopes", sa.Text(), nullable=False),
        sa.Column("bot_token", sa.Text(), nullable=False),
        sa.Column("bot_refresh_token", sa.Text(), nullable=True),
        sa.Column("bot_token_expires_at", core.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("installer_user_id", sa.String(length=32), nullable=True),
        sa.Column("user_token", sa.Text(), nullable=True),
        sa.Column("user_refresh_token", sa.Text(), nullable=True),
        sa.Column("user_token_expires_at", core.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("user_scopes", sa.Text(), nullable=True),
        sa.Column("token_type", sa.String(length=20), nullable=True),
        sa.Column("installed_at", core.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_installations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installations")),
        sa.UniqueConstraint("team_id", name=op.f("uq_installations_team_id")),
        sa.UniqueConstraint("workspace_id", name=op.f("uq_installations_workspace_id")),
    )
    op.create_table(
        "oauth_states",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", core.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_oauth_states")),
    )
    op.create_index(op.f("ix_oauth_states_expires_at"), "oauth_states", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_oauth_states_expires_at"), table_name="oauth_states")
    op.drop_table("oauth_states")
    op.drop_table("installations")
    # The older code knows no `set_aside`: such rows become failed (never sent), with the reason.
    op.execute(
        "UPDATE outbox SET status = 'failed', last_error = 'set aside: the workspace uninstalled the app' "
        "WHERE status = 'set_aside'"
    )
    # Plain ALTER TABLE ... DROP COLUMN on both backends (SQLite 3.35+): a batch copy of
    # `workspaces` on SQLite would drop the old table, and with foreign keys on, that deletes
    # every row that cascades from a workspace.
    for column in ("status_changed_at", "status_reason", "status"):
        op.drop_column("workspaces", column)
