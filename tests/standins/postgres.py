"""Throw-away catalogs on the machine's PostgreSQL (or a SQLite file) for tests and benchmarks."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text


@contextmanager
def throwaway_database(admin_url: str, prefix: str = "cloudbox") -> Iterator[str]:
    """A new, empty database on the server of `admin_url`; dropped (connections and all) after."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def catalog_url(admin_url: str | None, sqlite_file: Path, prefix: str = "cloudbox") -> Iterator[str]:
    """A fresh PostgreSQL database when `admin_url` is given, else a SQLite file."""
    if admin_url is None:
        yield f"sqlite:///{sqlite_file}"
        return
    with throwaway_database(admin_url, prefix) as url:
        yield url
