"""The set-up checklist says nothing to anonymous visitors of a configured CloudBox, and
visits to an unconfigured one cannot turn into a stream of bucket listings and signatures."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from storage.services import Services
from storage.settings import Settings


def test_a_configured_instance_does_not_serve_the_checklist(client, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.google_oauth_enabled and settings.bucket
    answer = client.get("/setup")
    assert answer.status_code == 404
    page = answer.get_data(as_text=True)
    for secret in (settings.bucket, "PostgreSQL", "SQLite", "Slack", "Google Chat"):
        assert secret not in page
    assert settings.bucket not in client.get("/").get_data(as_text=True)


@pytest.fixture
def unconfigured(make_settings: Callable[..., Settings]) -> Iterator[tuple[Flask, Services]]:
    from web_oauth import create_app

    services = Services.build(make_settings())
    try:
        yield create_app(services=services, test_config={"TESTING": True}), services
    finally:
        services.close()


def test_checklist_visits_share_one_probe_and_are_rate_limited(
    unconfigured: tuple[Flask, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, services = unconfigured
    listings: list[int] = []
    check = services.blobs.check

    def counted() -> None:
        listings.append(1)
        check()

    monkeypatch.setattr(services.blobs, "check", counted)
    client = app.test_client()
    statuses = [client.get("/setup").status_code for _ in range(40)] + [client.get("/").status_code]
    assert statuses[0] == 200
    assert len(listings) == 1  # one run of the checks answered every visit
    assert 429 in statuses[:40]  # and /setup itself is rate-limited per visitor
