"""The catalog engine: what its errors may say, and connections the server cut while idle."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from storage import db


def test_a_catalog_error_names_the_sql_but_not_the_values(any_database_url: str) -> None:
    engine = db.make_engine(any_database_url)
    try:
        with pytest.raises(DBAPIError) as raised, engine.begin() as connection:
            connection.execute(text("SELECT * FROM no_such_table WHERE name = :name"), {"name": "secret-xyz"})
    finally:
        engine.dispose()
    message = str(raised.value)
    assert "no_such_table" in message
    assert "secret-xyz" not in message


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


class CountingPings:
    def __init__(self, engine: Engine):
        self.count = 0
        self._ping = engine.dialect.do_ping

    def __call__(self, dbapi_connection: object) -> bool:
        self.count += 1
        return self._ping(dbapi_connection)


@pytest.mark.postgres
def test_a_connection_cut_while_idle_is_replaced_before_anyone_uses_it(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.make_engine(postgres_url, pool_size=1)
    admin = create_engine(postgres_url)
    pings = CountingPings(engine)
    monkeypatch.setattr(engine.dialect, "do_ping", pings)
    try:
        first = _backend_pid(engine)
        assert _backend_pid(engine) == first and pings.count == 0  # back in use at once: no ping
        with admin.begin() as connection:  # the server (or a proxy, or a failover) cuts it
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if it sat idle
        second = _backend_pid(engine)  # no error reaches the caller: a new connection serves it
        assert second != first and pings.count == 1
    finally:
        engine.dispose()
        admin.dispose()


def test_the_schema_head_named_in_code_is_alembic_s_own() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == db.SCHEMA_HEAD


def test_a_catalog_at_the_head_starts_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    engine = db.make_engine(url)
    try:
        assert db.schema_revision(engine) is None
        db.upgrade(engine)  # a fresh catalog is migrated (alembic is imported for it)
        assert db.schema_revision(engine) == db.SCHEMA_HEAD
    finally:
        engine.dispose()
    restart = textwrap.dedent(
        f"""
        import sys
        import web_oauth.app
        from storage import db
        engine = db.make_engine({url!r})
        db.upgrade(engine)
        print("alembic" in sys.modules)
        """
    )
    started = subprocess.run(
        [sys.executable, "-c", restart], capture_output=True, text=True, timeout=60, check=True
    )
    assert started.stdout.strip() == "False"
