"""Health endpoints, the `doctor` command and the set-up checklist at `/`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from storage.embedded import FakeGcsProcess, free_port
from storage.services import Services
from storage.settings import Settings
from web_oauth import create_app
from web_oauth.doctor import FAILED, MISSING, OK, run_checks


def make_app(services: Services) -> Flask:
    return create_app(services=services, test_config={"TESTING": True})


@pytest.fixture
def own_gcs() -> Iterator[FakeGcsProcess]:
    """A fake-gcs-server of this test's own, so it can be stopped mid-test."""
    process = FakeGcsProcess().start()
    yield process
    process.stop()


@pytest.fixture
def services_on_own_gcs(
    make_settings: Callable[..., Settings], own_gcs: FakeGcsProcess
) -> Iterator[Services]:
    client = storage.Client(
        project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": own_gcs.url}
    )
    client.create_bucket("own-bucket")
    services = Services.build(make_settings(STORAGE_EMULATOR_HOST=own_gcs.url, CLOUDBOX_BUCKET="own-bucket"))
    yield services
    services.close()


def doctor(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["doctor", *args])


def test_healthz_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ready_when_database_and_bucket_answer(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {
        "status": "ok",
        "checks": {"database": "ok", "bucket": "ok"},
        "backlog": {"queued": 0, "running": 0, "waiting_link": 0, "oldest_seconds": 0.0},
    }


def test_readyz_names_the_bucket_when_it_stops_answering(
    services_on_own_gcs: Services, own_gcs: FakeGcsProcess
) -> None:
    client = make_app(services_on_own_gcs).test_client()
    assert client.get("/readyz").status_code == 200
    own_gcs.stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"] == {"database": "ok", "bucket": "unavailable"}
    assert client.get("/healthz").status_code == 200  # liveness does not depend on the bucket


def test_readyz_names_the_database_when_it_is_unreachable(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(DATABASE_URL=f"postgresql://cloudbox@127.0.0.1:{free_port()}/cloudbox")
    services = Services.build(settings, migrate=False)
    try:
        response = make_app(services).test_client().get("/readyz")
    finally:
        services.close()
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "unavailable", "bucket": "ok"}
    assert "127.0.0.1" not in response.get_data(as_text=True)  # no connection details leak


def test_doctor_prints_the_checklist_and_succeeds_when_nothing_failed(app: Flask) -> None:
    result = doctor(app, "--offline")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for expected in (
        "• Storage mode",
        "✔ Database",
        "✔ Bucket",
        "✔ Link signing",
        "… Google sign-in",
        "… Slack",
        "… Google Chat",
    ):
        assert any(line.startswith(expected) for line in lines), (expected, result.output)
    assert "OAUTH_CLIENT_ID" in result.output and "SLACK_SIGNING_SECRET" in result.output


def test_doctor_exits_with_failure_when_the_bucket_is_unreachable(
    services_on_own_gcs: Services, own_gcs: FakeGcsProcess
) -> None:
    app = make_app(services_on_own_gcs)
    own_gcs.stop()
    result = doctor(app, "--offline")
    assert result.exit_code == 1
    assert any(
        line.startswith("✘ Bucket") and "StorageUnavailable" in line for line in result.output.splitlines()
    )
    assert any(line.startswith("✔ Database") for line in result.output.splitlines())


def test_doctor_reports_links_cannot_be_signed_without_a_key(make_settings: Callable[..., Settings]) -> None:
    services = Services.build(make_settings(GOOGLE_APPLICATION_CREDENTIALS=""))
    try:
        checks = {c.name: c for c in run_checks(services, network=False)}
    finally:
        services.close()
    assert checks["Link signing"].status == FAILED
    assert "No credentials" in checks["Link signing"].detail


def test_doctor_checks_the_google_discovery_document(make_settings: Callable[..., Settings]) -> None:
    dead = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    services = Services.build(
        make_settings(OAUTH_CLIENT_ID="id", OAUTH_CLIENT_SECRET="secret", OAUTH_DISCOVERY_URL=dead)
    )
    try:
        online = {c.name: c.status for c in run_checks(services, network=True)}
        offline = {c.name: c.status for c in run_checks(services, network=False)}
    finally:
        services.close()
    assert online["Google sign-in"] == FAILED
    assert offline["Google sign-in"] == OK
    assert online["Slack"] == MISSING


def test_doctor_flags_a_public_url_without_https(make_settings: Callable[..., Settings]) -> None:
    services = Services.build(make_settings(CLOUDBOX_BASE_URL="http://cloudbox.example.com"))
    try:
        checks = {c.name: c for c in run_checks(services, network=False)}
    finally:
        services.close()
    assert checks["Public URL"].status == FAILED and "https://" in checks["Public URL"].detail


def test_start_page_shows_the_checklist_while_unconfigured(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name in ("Database", "Bucket", "Link signing", "Google sign-in", "Slack", "Google Chat"):
        assert name in page, name
    assert "OAUTH_CLIENT_ID" in page
    assert "Embedded mode" not in page  # a bucket is configured here
    setup = client.get("/setup")
    assert setup.status_code == 200 and "Google sign-in" in setup.get_data(as_text=True)
