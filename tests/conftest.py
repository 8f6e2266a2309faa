"""Shared fixtures: real SQLite and real PostgreSQL, a fixed clock, a few users.

Every test that asks for `uow` (or `db_url`) runs once per backend in
SALESBOT_TEST_BACKENDS (default "sqlite,postgresql"). PostgreSQL is reached at
SALESBOT_TEST_PG_URL (default postgresql+psycopg://127.0.0.1:5432/test); each test run
creates a database of its own there, so parallel runs never meet. Under CI=true an
unreachable PostgreSQL fails the run instead of skipping.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from core.db import UnitOfWork, make_engine
from core.models import Base, Role, Team
from core.users import Actor, actor_for, actor_of

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MAVEN_DIR = REPO / "bot" / "demo_data" / "crm-sales-opportunities"
LEADS_CSV = SHARED / "datasets" / "x-education-leads" / "Leads.csv"

BACKENDS = [b.strip() for b in os.environ.get("SALESBOT_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
PG_SERVER_URL = os.environ.get("SALESBOT_TEST_PG_URL", "postgresql+psycopg://127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # a Monday, 14:00 UTC


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    admin_url = make_url(PG_SERVER_URL)
    name = f"salesbot_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        _skip_or_fail(f"PostgreSQL not reachable at {PG_SERVER_URL}: {exc.__class__.__name__}: {exc}")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_database_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A clean database with the models' schema, on the backend under test."""
    if backend == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        Base.metadata.create_all(eng)
        yield eng
        eng.dispose()
    elif backend == "postgresql":
        eng = request.getfixturevalue("pg_engine")
        truncate_all(eng)
        yield eng
    else:  # pragma: no cover
        raise ValueError(f"unknown backend {backend}")


@pytest.fixture
def db_url(engine: Engine) -> str:
    """The URL of the clean test database (for subprocesses and the CLI)."""
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def uow(engine: Engine) -> UnitOfWork:
    return UnitOfWork(engine)


@pytest.fixture
def now() -> datetime:
    return NOW


def make_actor(
    uow: UnitOfWork,
    slack_id: str,
    *,
    name: str | None = None,
    role: Role = Role.REP,
    team: str | None = None,
    manages: str | None = None,
    tz: str = "UTC",
    team_id: str = "T1",
) -> Actor:
    """A Slack user in workspace `team_id`, with a role and a team (created on demand)."""
    from sqlalchemy import select

    with uow.transaction() as s:
        actor = actor_for(s, team_id, slack_id, NOW, name=name or slack_id, tz=tz)
        from core.models import User

        user = s.get(User, actor.user_id)
        assert user is not None
        user.role = role
        for team_name, as_manager in ((team, False), (manages, True)):
            if team_name is None:
                continue
            t = s.scalar(select(Team).where(Team.workspace_id == actor.workspace_id, Team.name == team_name))
            if t is None:
                t = Team(workspace_id=actor.workspace_id, name=team_name, created_at=NOW)
                s.add(t)
                s.flush()
            if as_manager:
                t.manager_id = user.id
            user.team_id = t.id
        s.flush()
        return actor_of(s, user)


@pytest.fixture
def mia(uow: UnitOfWork) -> Actor:
    """Manager of team East."""
    return make_actor(uow, "UMIA", name="Mia", role=Role.MANAGER, manages="East")


@pytest.fixture
def ana(uow: UnitOfWork, mia: Actor) -> Actor:
    """A rep in team East (managed by Mia)."""
    return make_actor(uow, "UANA", name="Ana", team="East")


@pytest.fixture
def bob(uow: UnitOfWork, mia: Actor) -> Actor:
    """A rep in team West."""
    return make_actor(uow, "UBOB", name="Bob", team="West")


@pytest.fixture
def root(uow: UnitOfWork) -> Actor:
    """A workspace admin."""
    return make_actor(uow, "UROOT", name="Root", role=Role.ADMIN)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI a skipped PostgreSQL test is a failure: the PostgreSQL path must really run."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and "postgresql" in item.nodeid:
        report.outcome = "failed"
        report.longrepr = f"PostgreSQL test skipped under CI: {report.longrepr}"
