"""The catalog engine: what its errors may say."""

from __future__ import annotations

import pytest
from sqlalchemy import text
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
