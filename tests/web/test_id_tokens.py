"""Every check on Google's answer, against a provider whose ID tokens the test spoils.

The provider runs over real HTTP, enforces PKCE S256 and one-time codes like Google, and signs
with a test key served as a JWKS; CloudBox verifies for real.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask

from storage.accounts import ChatProfile
from storage.link_urls import make_link_url
from storage.services import Services
from tests.standins.oidc import ForgedProvider, SigningKey
from web_oauth.oidc import s256

from .conftest import CLIENT_SECRET, SLACK_USER, local


def run_link(app: Flask, services: Services, forged: ForgedProvider, sub: str = "u1"):  # type: ignore[no-untyped-def]
    client = app.test_client()
    profile = ChatProfile(email=f"{sub}@example.com")
    url = make_link_url(services.settings, services.accounts, SLACK_USER, profile=profile)
    authorization = client.get(local(url)).headers["Location"]
    response = client.get(local(forged.authorize(authorization, sub)))
    return response, url, client


def test_a_good_token_links_and_pkce_pair_matches(
    forged_web: tuple[Flask, Services], forged: ForgedProvider
) -> None:
    app, services = forged_web
    response, _, _ = run_link(app, services, forged)
    assert response.status_code == 200, response.get_data(as_text=True)
    sent = forged.token_requests[-1]
    asked = forged.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256"
    assert s256(sent["code_verifier"]) == asked["code_challenge"]
    assert sent["client_secret"] == CLIENT_SECRET and sent["grant_type"] == "authorization_code"
    assert services.accounts.owner_of(SLACK_USER).email == "u1@example.com"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("wrong audience", {"aud": "someone-else"}),
        ("list audience without us", {"aud": ["someone-else", "third"]}),
        ("list audience for us but azp for another", {"aud": ["cloudbox-test-client", "x"], "azp": "x"}),
        ("wrong issuer", {"iss": "https://evil.example"}),
        ("expired", {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}),
        ("issued in the future", {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}),
        ("wrong nonce", {"nonce": "not-the-one"}),
        ("no nonce", {"nonce": None}),
        ("no exp", {"exp": None}),
    ],
)
def test_a_spoiled_id_token_changes_nothing(
    forged_web: tuple[Flask, Services], forged: ForgedProvider, case: str, overrides: dict[str, Any]
) -> None:
    app, services = forged_web
    forged.overrides = overrides
    response, url, _ = run_link(app, services, forged)
    assert response.status_code == 400, case
    assert "could not be verified" in response.get_data(as_text=True)
    assert services.accounts.owner_of(SLACK_USER) is None
    services.accounts.peek_link_request(url.rsplit("/", 1)[1])  # still usable: nothing was consumed


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(
    forged_web: tuple[Flask, Services], forged: ForgedProvider
) -> None:
    app, services = forged_web
    forged.sign_with = SigningKey.new(kid=forged.key.kid)
    response, _, _ = run_link(app, services, forged)
    assert response.status_code == 400
    assert services.accounts.owner_of(SLACK_USER) is None


def test_a_token_with_an_unknown_key_is_refused_after_one_key_refresh(
    forged_web: tuple[Flask, Services], forged: ForgedProvider
) -> None:
    app, services = forged_web
    forged.sign_with = SigningKey.new()
    response, _, _ = run_link(app, services, forged)
    assert response.status_code == 400
    assert services.accounts.owner_of(SLACK_USER) is None


def test_an_unverified_email_is_refused(forged_web: tuple[Flask, Services], forged: ForgedProvider) -> None:
    app, services = forged_web
    forged.overrides = {"email_verified": False}
    response, _, _ = run_link(app, services, forged)
    assert response.status_code == 403
    assert services.accounts.owner_of(SLACK_USER) is None


def test_a_wrong_pkce_verifier_is_refused_by_the_provider_and_reported(
    forged_web: tuple[Flask, Services], forged: ForgedProvider
) -> None:
    app, services = forged_web
    client = app.test_client()
    url = make_link_url(services.settings, services.accounts, SLACK_USER)
    authorization = client.get(local(url)).headers["Location"]
    with client.session_transaction() as session:
        pending = session["oauth_pending"]
        pending["verifier"] = "x" * 64
        session["oauth_pending"] = pending
    response = client.get(local(forged.authorize(authorization, "u1")))
    assert response.status_code == 400
    assert "Please start again" in response.get_data(as_text=True)
    assert services.accounts.owner_of(SLACK_USER) is None


def test_an_unreachable_provider_ends_on_a_clear_page(make_web) -> None:  # type: ignore[no-untyped-def]
    app, services = make_web("http://127.0.0.1:9/.well-known/openid-configuration")
    url = make_link_url(services.settings, services.accounts, SLACK_USER)
    response = app.test_client().get(local(url))
    assert response.status_code == 503
    assert "unavailable right now" in response.get_data(as_text=True)
