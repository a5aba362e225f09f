"""The local sign-in of embedded mode: the gallery works with nothing configured, for this
computer only, and never exists with a bucket, a Google client, another address or a proxy."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import werkzeug.serving

from storage.services import Services
from storage.settings import Settings
from tests.standins.images import png
from web_oauth import create_app
from web_oauth.local_signin import LOCAL_EMAIL, LOCAL_SUB

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NOTHING_CONFIGURED = {
    "CLOUDBOX_BUCKET": None,
    "STORAGE_EMULATOR_HOST": None,
    "GOOGLE_APPLICATION_CREDENTIALS": None,
}


@pytest.fixture
def embedded(make_settings: Callable[..., Settings]) -> Iterator[Services]:
    services = Services.build(make_settings(**NOTHING_CONFIGURED))
    yield services
    services.close()


def client_of(services: Services) -> Any:
    return create_app(services=services, test_config={"TESTING": True}).test_client()


def sign_in_locally(client: Any, **request: Any) -> Any:
    page = client.get("/local-sign-in", **request)
    if page.status_code != 200:
        return page
    token = CSRF.search(page.get_data(as_text=True))
    assert token is not None
    return client.post("/local-sign-in", data={"csrf_token": token.group(1)}, **request)


def test_with_nothing_configured_the_person_at_the_keyboard_signs_in_and_uses_the_gallery(
    embedded: Services,
) -> None:
    client = client_of(embedded)
    welcome = client.get("/").get_data(as_text=True)
    assert "Sign in on this computer" in welcome and "Embedded mode" in welcome
    assert client.get("/login").headers["Location"].startswith("/local-sign-in")

    answer = sign_in_locally(client)
    assert answer.status_code == 303
    gallery = client.get("/").get_data(as_text=True)
    assert LOCAL_EMAIL in gallery
    token = CSRF.search(gallery)
    assert token is not None
    uploaded = client.post(
        "/upload",
        data={"csrf_token": token.group(1), "images": (io.BytesIO(png(3)), "cat.png")},
        headers={"Accept": "application/json"},
    )
    assert uploaded.status_code in (200, 201), uploaded.get_data(as_text=True)
    owner = embedded.accounts.by_google_sub(LOCAL_SUB)
    assert owner is not None and embedded.library.list(owner).total == 1


def test_a_post_without_the_csrf_token_signs_nobody_in(embedded: Services) -> None:
    client = client_of(embedded)
    assert client.post("/local-sign-in").status_code == 400
    assert embedded.accounts.by_google_sub(LOCAL_SUB) is None


def test_there_is_no_local_sign_in_with_a_bucket_configured(make_settings: Callable[..., Settings]) -> None:
    services = Services.build(make_settings())
    try:
        client = client_of(services)
        assert client.get("/local-sign-in").status_code == 404
        assert client.post("/local-sign-in").status_code in (400, 404)
        assert "Sign in on this computer" not in client.get("/").get_data(as_text=True)
        assert services.accounts.by_google_sub(LOCAL_SUB) is None
    finally:
        services.close()


def test_there_is_no_local_sign_in_with_a_google_client_configured(
    make_settings: Callable[..., Settings],
) -> None:
    services = Services.build(
        make_settings(
            **NOTHING_CONFIGURED, OAUTH_CLIENT_ID="id.apps.googleusercontent.com", OAUTH_CLIENT_SECRET="s"
        )
    )
    try:
        assert client_of(services).get("/local-sign-in").status_code == 404
    finally:
        services.close()


@pytest.mark.parametrize(
    "request_",
    [
        {"environ_base": {"REMOTE_ADDR": "192.0.2.7"}},  # a browser on another machine
        {"headers": {"Host": "cloudbox.attacker.example"}},  # a DNS name rebound onto 127.0.0.1
        {"headers": {"X-Forwarded-For": "192.0.2.7"}},  # through a proxy on this machine
    ],
    ids=["remote-browser", "rebound-host", "proxied"],
)
def test_the_local_sign_in_is_refused_off_this_computer(embedded: Services, request_: dict[str, Any]) -> None:
    client = client_of(embedded)
    assert sign_in_locally(client, **request_).status_code == 404
    assert embedded.accounts.by_google_sub(LOCAL_SUB) is None


def test_a_service_listening_on_every_address_offers_no_local_sign_in(embedded: Services) -> None:
    app = create_app(services=embedded, test_config={"TESTING": True})
    server = werkzeug.serving.make_server("0.0.0.0", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        assert requests.get(base + "/local-sign-in", timeout=10).status_code == 404
        assert "Sign in on this computer" not in requests.get(base + "/", timeout=10).text
    finally:
        server.shutdown()
        server.server_close()
