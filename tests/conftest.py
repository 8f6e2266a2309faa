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
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from core.db import UnitOfWork, make_engine
from core.i18n import use_locale
from core.tables import Base, Role, Team
from core.workspace.users import Actor, actor_for, actor_of

REPO = Path(__file__).resolve().parent.parent
SLACK_SPECS = REPO / "tests" / "slack_specs"  # copies with their LICENSEs; see SOURCE.md there
MAVEN_DIR = REPO / "core" / "deals" / "demo_data" / "crm-sales-opportunities"
# X Education's Leads.csv states no licence, so it is not shipped: the tests that measure the lead
# model on it read it from the shared folder beside a checkout, or from SALESBOT_LEADS_CSV (the
# `leads_csv` fixture).
LEADS_CSV = Path(
    os.environ.get("SALESBOT_LEADS_CSV", REPO.parent / "shared" / "datasets" / "x-education-leads" / "Leads.csv")
)

BACKENDS = [b.strip() for b in os.environ.get("SALESBOT_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
PG_SERVER_URL = os.environ.get("SALESBOT_TEST_PG_URL", "postgresql+psycopg://127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Strict skips: no test may skip except those marked `leads_csv` (and under CI not even those).
# .ci/run sets it for the run in a copy of the repository that has no ../shared beside it.
STRICT_SKIPS = IN_CI or os.environ.get("SALESBOT_STRICT_SKIPS", "").lower() in ("1", "true", "yes")

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # a Monday, 14:00 UTC


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def english_outside_requests() -> Iterator[None]:
    """Each test starts in English. The middleware sets the actor's language for the rest of a
    request's context (core.i18n.activate); a test dispatches in its own thread, so a Turkish
    request would otherwise leave the next test in Turkish."""
    with use_locale("en"):
        yield


@dataclass(frozen=True)
class PgDatabase:
    """A PostgreSQL database of a test's own: its `url`, its `name` and an AUTOCOMMIT `admin`
    engine on the server (a test may drop the database itself)."""

    admin: Engine
    name: str
    url: str


@contextmanager
def fresh_pg_database(prefix: str = "salesbot_t", server_url: str = PG_SERVER_URL) -> Iterator[PgDatabase]:
    """Create a database on the PostgreSQL server, drop it afterwards. PostgreSQL not answering
    skips the test, and fails it under CI (a skipped PostgreSQL test is a failure there)."""
    admin_url = make_url(server_url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        _skip_or_fail(f"PostgreSQL not reachable at {server_url}: {exc.__class__.__name__}: {exc}")
    try:
        yield PgDatabase(admin, name, admin_url.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    with fresh_pg_database() as db:
        yield db.url


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


@pytest.fixture(autouse=True)
def _source_language() -> Iterator[None]:
    """Each test starts in English and leaves no language behind: a request handled on the
    test's thread (process_before_response) activates its user's language in this context."""
    with use_locale(None):
        yield


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
        from core.tables import User

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


@pytest.fixture
def leads_csv() -> Path:
    """X Education's Leads.csv, for the tests that measure the lead model on real data.

    It states no licence, so the repository does not ship it: outside CI the test skips and says
    why; under CI (where the shared folder is beside the clone) it must be there.
    """
    if not LEADS_CSV.exists():
        if IN_CI:
            pytest.fail(f"{LEADS_CSV} is required under CI", pytrace=False)
        pytest.skip(
            "Leads.csv (X Education, no licence stated, so not shipped) is not at "
            f"{LEADS_CSV}: put the shared data folder beside the checkout to run this test"
        )
    return LEADS_CSV


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI (or SALESBOT_STRICT_SKIPS) a skip is a failure, but for the documented Leads.csv tests.

    So a PostgreSQL test that cannot reach its database, or a test that lost a file it needs,
    fails the run instead of passing quietly.
    """
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not (STRICT_SKIPS and report.skipped) or hasattr(report, "wasxfail"):
        return
    if item.get_closest_marker("leads_csv") is not None and not IN_CI:
        return
    report.outcome = "failed"
    report.longrepr = f"skipped under strict skips (CI or SALESBOT_STRICT_SKIPS): {report.longrepr}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `one_backend` (wording and parsing, where the database plays no part) and the
    end-to-end process tests not marked `both_backends` run on the first backend only: they are
    not collected twice, which keeps CI inside its time."""
    first = BACKENDS[0] if BACKENDS else None
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        # A process test starts `salesbot` several times (seconds each): it proves the wiring, on
        # the first backend, unless it is about the database itself (marked `both_backends`).
        one = item.get_closest_marker("one_backend") or (
            item.path.parent.name == "e2e" and not item.get_closest_marker("both_backends"))
        if one and backend is not None and backend != first:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
