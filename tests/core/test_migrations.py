"""The migrations build exactly what the models declare, and go down and up again."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from core.db import alembic_config, make_engine
from core.models import Base


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """The same filter migrations/env.py uses: Bolt's OAuth tables (slack_*) are not ours."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (reflected and compare_to is None and str(table).startswith("slack_"))


def _fresh(engine: Engine) -> Engine:
    """An empty database on the same backend (the `engine` fixture has the models' tables)."""
    Base.metadata.drop_all(engine)
    return engine


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        return list(compare_metadata(ctx, Base.metadata))


def test_migrations_equal_the_models_and_round_trip(engine: Engine, db_url: str) -> None:
    engine = _fresh(engine)
    cfg = alembic_config(db_url)
    command.upgrade(cfg, "head")
    assert _diff(engine) == []
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert _diff(engine) == []
    # leave the database as the other tests expect it
    command.downgrade(cfg, "base")
    Base.metadata.create_all(make_engine(db_url))
