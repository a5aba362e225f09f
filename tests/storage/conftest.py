"""Fixtures for the storage tests: a blob store on the session's emulator, and the library
and accounts over SQLite and PostgreSQL with a clock the test controls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.oauth2 import service_account

from storage.accounts import Accounts
from storage.blobstore import GcsBlobStore, UrlSigner
from storage.embedded import FakeGcsProcess
from storage.library import Library
from storage.model import Owner
from storage.models import utcnow
from storage.services import Services
from storage.settings import Settings
from storage.sharing import Shares
from storage.sql_catalog import SqlCatalog
from tests.standins.keys import ServiceAccountKey


class Clock:
    """A clock the test moves by hand; starts at the real time so signed URLs stay valid."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def gcs_client(url: str) -> storage.Client:
    return storage.Client(
        project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": url}
    )


@pytest.fixture
def gcs(fake_gcs: FakeGcsProcess) -> storage.Client:
    return gcs_client(fake_gcs.url)


@pytest.fixture
def blobs(fake_gcs: FakeGcsProcess, bucket: str, signing_key: ServiceAccountKey) -> GcsBlobStore:
    signer = UrlSigner(
        service_account.Credentials.from_service_account_info(signing_key.info),
        api_access_endpoint=fake_gcs.url,
    )
    return GcsBlobStore(gcs_client(fake_gcs.url), bucket, signer)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def catalog_settings(make_settings: Callable[..., Settings], any_database_url: str) -> Settings:
    return make_settings(DATABASE_URL=any_database_url)


@pytest.fixture
def catalog_services(catalog_settings: Settings) -> Iterator[Services]:
    """The real composition root on SQLite and on PostgreSQL."""
    built = Services.build(catalog_settings)
    yield built
    built.close()


@pytest.fixture
def library(catalog_services: Services, clock: Clock) -> Library:
    return Library(
        SqlCatalog(catalog_services.sessions),
        catalog_services.blobs,
        catalog_services.library.policy,
        clock=clock,
    )


@pytest.fixture
def shares(library: Library, catalog_services: Services, clock: Clock) -> Iterator[Shares]:
    built = Shares(library.catalog, catalog_services.blobs, library.policy, clock=clock)
    yield built
    built.close()  # its views are written before the catalog goes


@pytest.fixture
def accounts(catalog_services: Services, clock: Clock) -> Accounts:
    return Accounts(catalog_services.sessions, clock=clock)


@pytest.fixture
def alice(accounts: Accounts) -> Owner:
    return accounts.ensure_account("100000000000000000001", "alice@example.com")


@pytest.fixture
def bob(accounts: Accounts) -> Owner:
    return accounts.ensure_account("100000000000000000002", "bob@example.com")
