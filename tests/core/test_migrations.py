"""The migrations build exactly what the models declare, and go down and up again.

The test works in a database of its own (a scratch file on SQLite, a scratch database on
PostgreSQL), so a failure here can never leave the shared test database without tables.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from core.db import alembic_config, make_engine
from core.tables import Base


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
    server = make_url(request.getfixturevalue("pg_database_url"))
    name = f"{server.database}_mig_{uuid.uuid4().hex[:6]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
