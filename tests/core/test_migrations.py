"""The migrations build exactly what the models declare, and go down and up again.

The test works in a database of its own (a scratch file on SQLite, a scratch database on
PostgreSQL), so a failure here can never leave the shared test database without tables.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from core.db import alembic_config, make_engine
from core.tables import Base
from tests.conftest import fresh_pg_database


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """The same filter migrations/env.py uses: Bolt's OAuth tables (slack_*) are not ours."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (reflected and compare_to is None and str(table).startswith("slack_"))


@pytest.fixture
def scratch_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on the backend under test, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    with fresh_pg_database("salesbot_mig", request.getfixturevalue("pg_database_url")) as db:
        yield db.url


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        return list(compare_metadata(ctx, Base.metadata))


def test_migrations_equal_the_models_and_round_trip(scratch_url: str) -> None:
    engine = make_engine(scratch_url)
    try:
        cfg = alembic_config(scratch_url)
        command.upgrade(cfg, "head")
        assert _diff(engine) == []
        assert set(inspect(engine).get_table_names()) >= {t.name for t in Base.metadata.sorted_tables}
        command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(cfg, "head")
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_0007_oauth_keeps_existing_workspaces_active_and_goes_down_without_losing_set_aside_rows(
    scratch_url: str,
) -> None:
    engine = make_engine(scratch_url)
    cfg = alembic_config(scratch_url)
    try:
        command.upgrade(cfg, "0006_prefs")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO workspaces (id, team_id, name, default_currency, locale, timezone, "
                              "digest_weekday, digest_time, nudge_time, quiet_start, quiet_end, quiet_weekends, "
                              "hot_lead_threshold, claim_window_minutes, stale_escalate_after, alert_burst_size, "
                              "alert_burst_minutes, next_deal_number, next_lead_number, created_at) VALUES "
                              "(1, 'T1', 'Acme', 'USD', 'en', 'UTC', 0, '09:00', '09:00', '20:00', '08:00', "
                              "true, 70, 30, 2, 3, 2, 1, 1, '2026-11-01 00:00:00')"))
            conn.execute(text("INSERT INTO outbox (workspace_id, key, kind, channel, payload, status, attempts, "
                              "next_attempt_at, created_at) VALUES (1, 'k1', 'nudge', 'C1', '{}', 'pending', 0, "
                              "'2026-11-01 00:00:00', '2026-11-01 00:00:00')"))
        command.upgrade(cfg, "0007_oauth")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT status FROM workspaces")).scalar_one() == "active"
            # The workspace's rows are all there (no table copy cascaded them away), and one is set aside.
            assert conn.execute(text("UPDATE outbox SET status = 'set_aside' WHERE key = 'k1'")).rowcount == 1
        command.downgrade(cfg, "0006_prefs")
        with engine.connect() as conn:
            status, reason = conn.execute(text("SELECT status, last_error FROM outbox")).one()
        assert status == "failed" and "uninstalled" in reason  # never sent by the older code
        command.upgrade(cfg, "head")
    finally:
        engine.dispose()


def test_0009_discounts_goes_up_down_and_up_again(scratch_url: str) -> None:
    engine = make_engine(scratch_url)
    cfg = alembic_config(scratch_url)
    try:
        command.upgrade(cfg, "0009_discounts")
        assert "discount_requests" in inspect(engine).get_table_names()
        command.downgrade(cfg, "0007_oauth")
        assert "discount_requests" not in inspect(engine).get_table_names()
        command.upgrade(cfg, "head")
        assert "discount_requests" in inspect(engine).get_table_names() and _diff(engine) == []
    finally:
        engine.dispose()
