"""Shared fixtures: real stand-ins started once per session, fresh state per test.

- `fake_gcs`: one fake-gcs-server process; every test gets its own bucket.
- `signing_key`: a service-account key file made by the tests; URLs it signs are verified.
- `database_url`: a fresh SQLite file per test; `any_database_url` runs a test on SQLite and
  on the machine's PostgreSQL (a database made for this session, emptied after each test).
- `make_settings(**env)`, `services`, `app`, `client`: the real composition root over these.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from sqlalchemy import create_engine, text

from storage.embedded import FakeGcsProcess
from storage.services import Services
from storage.settings import Settings
from tests.standins.keys import ServiceAccountKey, make_service_account_key
from tests.standins.postgres import throwaway_database

POSTGRES_ADMIN_URL = os.environ.get(
    "CLOUDBOX_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[FakeGcsProcess]:
    process = FakeGcsProcess().start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> ServiceAccountKey:
    return make_service_account_key(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def bucket(fake_gcs: FakeGcsProcess) -> str:
    name = f"test-{secrets.token_hex(6)}"
    client = storage.Client(
        project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": fake_gcs.url}
    )
    client.create_bucket(name)
    return name


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own on the machine's PostgreSQL for this test session."""
    with throwaway_database(POSTGRES_ADMIN_URL, "cloudbox_test") as url:
        yield url


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = (
            connection.execute(
                text(
                    "SELECT tablename FROM pg_tables"
                    " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    engine.dispose()


@pytest.fixture
def base_env(
    tmp_path: Path, fake_gcs: FakeGcsProcess, bucket: str, signing_key: ServiceAccountKey, database_url: str
) -> dict[str, str]:
    """The environment of a configured CloudBox on the local stand-ins (no chat, no OAuth)."""
    return {
        "CLOUDBOX_BUCKET": bucket,
        "STORAGE_EMULATOR_HOST": fake_gcs.url,
        "GOOGLE_APPLICATION_CREDENTIALS": str(signing_key.path),
        "SECRET_KEY": "test-secret-key-" + secrets.token_hex(8),
        "DATABASE_URL": database_url,
        "CLOUDBOX_BASE_URL": "http://127.0.0.1:5000",
    }


@pytest.fixture
def make_settings(base_env: dict[str, str], tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides: str) -> Settings:
        env = {**base_env, **overrides}
        env = {k: v for k, v in env.items() if v is not None}
        return Settings.from_env(env, dotenv_path=None, instance_path=tmp_path / "instance")

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = Services.build(settings)
    yield built
    built.close()


@pytest.fixture
def app(services: Services):  # type: ignore[no-untyped-def]
    from web_oauth import create_app

    return create_app(services=services, test_config={"TESTING": True})


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def chat(app):  # type: ignore[no-untyped-def]
    """The app's chat side: `core`, `queue`, `worker`, and the web side's `foreground`. The
    worker is not started in tests: call `chat.worker.drain()` to work off what was enqueued."""
    from web_oauth.extensions import components_of

    built = components_of(app)
    return SimpleNamespace(
        core=built.chat.core, queue=built.chat.queue, worker=built.worker, foreground=built.foreground
    )


@pytest.fixture
def ingest(chat):  # type: ignore[no-untyped-def]
    """The app's IngestWorker (queue at `ingest.queue`); drive it with `ingest.drain()`."""
    return chat.worker
