"""Fixtures for the web side: OpenID providers on 127.0.0.1 and an app configured for them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storage.accounts import Identity
from storage.model import Owner
from storage.services import Services
from storage.settings import Settings
from tests.standins.oidc import ForgedProvider, MockProvider, forged_provider, mock_provider, provider_tls

CLIENT_ID = "cloudbox-test-client"
CLIENT_SECRET = "cloudbox-test-secret"


@pytest.fixture(scope="session")
def insecure_provider_transport() -> Iterator[None]:
    """oidc-provider-mock (Authlib) refuses plain http unless told; only this test process is."""
    before = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    yield
    if before is None:
        os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
    else:
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = before


@pytest.fixture(scope="session")
def google(insecure_provider_transport: None) -> Iterator[MockProvider]:
    with mock_provider() as provider:
        yield provider


@pytest.fixture(scope="session")
def _forged() -> Iterator[ForgedProvider]:
    with forged_provider() as provider:
        yield provider


@pytest.fixture
def forged(_forged: ForgedProvider) -> ForgedProvider:
    _forged.reset()
    return _forged


def oauth_env(discovery_url: str) -> dict[str, str]:
    return {
        "OAUTH_CLIENT_ID": CLIENT_ID,
        "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_DISCOVERY_URL": discovery_url,
        "OAUTH_CA_BUNDLE": str(provider_tls().ca_bundle),
    }


@pytest.fixture
def make_web(
    make_settings: Callable[..., Settings],
) -> Iterator[Callable[..., tuple[Flask, Services]]]:
    """Build app + services for a provider (or none); everything built is closed afterwards."""
    built: list[Services] = []

    def build(
        discovery_url: str | None = None, test_config: dict[str, Any] | None = None, **env: str
    ) -> tuple[Flask, Services]:
        from web_oauth import create_app

        if discovery_url:
            env = {**oauth_env(discovery_url), **env}
        services = Services.build(make_settings(**env))
        built.append(services)
        app = create_app(services=services, test_config={"TESTING": True, **(test_config or {})})
        return app, services

    yield build
    for services in built:
        services.close()


@pytest.fixture
def web(make_web: Callable[..., tuple[Flask, Services]], google: MockProvider) -> tuple[Flask, Services]:
    """The app signed in through oidc-provider-mock."""
    return make_web(google.discovery_url)


@pytest.fixture
def forged_web(
    make_web: Callable[..., tuple[Flask, Services]], forged: ForgedProvider
) -> tuple[Flask, Services]:
    return make_web(forged.discovery_url)


def local(url: str) -> str:
    """The path and query of one of our own URLs, for the Flask test client."""
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def sign_in_as(client: FlaskClient, owner: Owner) -> None:
    """Put a signed-in account in the session (the sign-in flow itself is tested on its own)."""
    with client.session_transaction() as session:
        session["account"] = {"sub": owner.google_sub, "email": owner.email}


SLACK_USER = Identity("slack", "T0001", "U0001")
GCHAT_USER = Identity("gchat", "example.com", "users/1234")
