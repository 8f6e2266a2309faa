"""Engine, sessions and the unit of work: one transaction around each change."""
from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///salesbot.db"
READ_ONLY_OPTION = "salesbot_read_only"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgres URLs (Heroku-style `postgres://` too)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str = DEFAULT_DATABASE_URL, **kwargs: Any) -> Engine:
    """An engine with SQLite set up for a bot: foreign keys on, WAL, a busy timeout."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy own transactions (pysqlite's legacy autobegin breaks SAVEPOINT).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock up front (IMMEDIATE), so two writers queue instead of
            # deadlocking; read scopes begin plainly and never wait behind a writer (WAL).
            read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # One connection kept open per web server thread (8) and a few for the scheduler and Bolt:
    # with SQLAlchemy's default of 5, busy moments opened and closed a connection per request
    # (a new PostgreSQL backend costs more than the request).
    kwargs.setdefault("pool_size", 12)
    return create_engine(url, **kwargs)


# Counters taken outside the caller's transaction (PostgreSQL): see `counter_engine`.
COUNTER_LOCK_TIMEOUT_MS = 200
_COUNTER_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_COUNTER_ENGINES_LOCK = threading.Lock()


def counter_engine(engine: Engine) -> Engine | None:
    """PostgreSQL: an engine beside `engine` for taking a counter in a transaction of its own
    (autocommit), so the counter's row is locked for the one statement instead of until the
    caller commits; None on SQLite (one writer at a time: nothing to gain).

    Its commits do not wait for the WAL flush (synchronous_commit off, for these connections
    only), which loses nothing: whatever uses a value taken here is written by a later
    transaction that does wait for the flush, and flushing the WAL up to that commit flushes
    the counter's update before it. A crash can only forget values that nothing durable used
    (as a sequence does). A lock wait over COUNTER_LOCK_TIMEOUT_MS fails (the caller then takes
    the counter in its own transaction): the caller's transaction may itself hold the row.
    """
    if engine.dialect.name != "postgresql":
        return None
    with _COUNTER_ENGINES_LOCK:
        found = _COUNTER_ENGINES.get(engine)
        if found is None:
            found = side = create_engine(
                engine.url,
                isolation_level="AUTOCOMMIT",
                # Each statement is short, but a thread may be paused holding a connection:
                # one kept open for each web thread (8), so none is opened per request.
                pool_size=8,
                max_overflow=8,
                connect_args={
                    "options": f"-c synchronous_commit=off -c lock_timeout={COUNTER_LOCK_TIMEOUT_MS}"
                },
            )
            _COUNTER_ENGINES[engine] = found
            event.listen(engine, "engine_disposed", lambda _engine: side.dispose())
        return found


class UnitOfWork:
    """A transaction scope for service functions.

    `with uow.transaction() as session:` commits when the outermost block ends without an
    error and rolls back otherwise; nested blocks join the outer transaction, so one service
    can call another and the whole change still commits or fails as one.
    """

    def __init__(self, engine_or_factory: Engine | sessionmaker[Session]) -> None:
        if isinstance(engine_or_factory, Engine):
            self.engine = engine_or_factory
            self.session_factory = sessionmaker(engine_or_factory, expire_on_commit=False)
        else:
            self.session_factory = engine_or_factory
            bind = engine_or_factory.kw.get("bind")
            assert isinstance(bind, Engine)
            self.engine = bind
        # One UnitOfWork is shared by Bolt's worker threads and the scheduler: keep the
        # open session per thread.
        self._local = threading.local()

    def __deepcopy__(self, memo: dict[int, Any]) -> UnitOfWork:
        # Bolt deep-copies the context for lazy listeners; the unit of work is shared, not copied.
        return self

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        current: Session | None = getattr(self._local, "session", None)
        if current is not None:
            yield current
            return
        session = self.session_factory()
        self._local.session = session
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self._local.session = None
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only scope (nothing is committed; joins an open transaction)."""
        current: Session | None = getattr(self._local, "session", None)
        if current is not None:
            yield current
            return
        session = self.session_factory()
        session.connection(execution_options={READ_ONLY_OPTION: True})
        try:
            yield session
        finally:
            # close() ends the transaction without expiring what was loaded.
            session.close()


def ping(engine: Engine) -> bool:
    """True when the database answers (for /healthz)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def migration_state(engine: Engine) -> tuple[set[str], set[str]]:
    """(the database's current Alembic revisions, the migrations' heads): equal when the
    database is at head (for /readyz). Raises when the database cannot be reached."""
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current, set(migration_heads())


_HEADS: list[tuple[str, ...]] = []


def migration_heads() -> tuple[str, ...]:
    """The head revision(s) of migrations/ (read once: the files do not change while running)."""
    if not _HEADS:
        from alembic.script import ScriptDirectory

        _HEADS.append(tuple(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads()))
    return _HEADS[0]


def alembic_config(url: str) -> Any:
    """An Alembic Config pointing at migrations/ for the given database URL."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision` (what `salesbot migrate` runs)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
