"""Engines, sessions and migrations for the catalog (SQLite or PostgreSQL)."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision (tests/storage/test_db.py holds it to alembic's own head). A
# catalog already there starts without importing alembic: on a redeploy each worker skips
# alembic's import and its environment (about 0.1 s off the first /readyz on 2 cores).
SCHEMA_HEAD = "0010_keep_location"
# Any fixed number: all CloudBox processes on one PostgreSQL take this lock to migrate in turn.
_MIGRATION_LOCK_ID = 0x0C10_0DB0


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for `url`. On PostgreSQL a process holds up to `pool_size` connections, and as
    many again for a burst: size it so that every process of every instance fits the server's
    max_connections (or put PgBouncer in front)."""
    # hide_parameters: a logged catalog error must not carry the values it was given (emails,
    # token hashes, file names, Slack file URLs); the SQL alone says what failed.
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, hide_parameters=True, connect_args={"timeout": 30, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, hide_parameters=True, pool_size=pool_size, max_overflow=pool_size)
    _ping_connections_left_idle(engine)
    return engine


# A connection back in use within this many seconds is not pinged first. Under load a
# connection is reused within milliseconds, and `pool_pre_ping`'s round trip on every checkout
# was a sixth of a share-link visit; one left idle longer may have been cut by the server, a
# proxy or a failover, and is still tested before anyone uses it.
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_connections_left_idle(engine: Engine) -> None:
    """SQLAlchemy's pessimistic disconnect handling, for connections that sat idle."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error:
            alive = False
        if not alive:
            # The pool discards this connection and checks out another (a new one if need be).
            raise exc.DisconnectionError("the connection was closed while idle")


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL needs the write lock
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the one writer
    cursor.close()


def upsert_insert(dialect: str) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite spell it alike)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe with several processes starting at once."""
    if schema_revision(engine) == SCHEMA_HEAD:
        return
    # Imported here: only a catalog that needs migrating pays for alembic (see SCHEMA_HEAD).
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _sqlite_migration_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def schema_revision(engine: Engine) -> str | None:
    """The catalog's migration revision, or None before the first migration."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    except exc.DBAPIError:  # no alembic_version table yet
        return None


@contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive file lock beside a SQLite catalog while migrating.

    Several gunicorn workers start at once on a fresh file; without it two of them both see no
    `alembic_version` and both create the tables. (PostgreSQL has its advisory lock instead.)
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed, or the process dies
        yield


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
