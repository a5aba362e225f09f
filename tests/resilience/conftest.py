"""Fixtures for the resilience tests: the real composition root on SQLite and PostgreSQL, and a
linked owner whose library the tests damage on purpose."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from storage.model import Owner
from storage.services import Services
from storage.settings import Settings


@pytest.fixture
def resilient_services(make_settings: Callable[..., Settings], any_database_url: str) -> Iterator[Services]:
    built = Services.build(make_settings(DATABASE_URL=any_database_url))
    yield built
    built.close()


@pytest.fixture
def owner(resilient_services: Services) -> Owner:
    return resilient_services.accounts.ensure_account("100000000000000000555", "carol@example.com")
