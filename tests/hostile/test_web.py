"""Hostile input on the web side: open redirects, CSRF, cross-owner ids, share-token fuzz."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask.testing import FlaskClient

from storage.accounts import ChatProfile, Identity
from storage.model import Owner
from tests.hostile.conftest import Stored
from tests.standins import images
from tests.standins.oidc import ForgedProvider
from tests.web.conftest import local, sign_in_as

EVIL_NEXT = [
    "//evil.example/",
    "https://evil.example/",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/ /evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "///evil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "\x00//evil.example",
    " //evil.example",
]


def lands_off_site(location: str | None) -> bool:
    """Where a browser would go: it drops tabs and newlines and reads \\ as / (WHATWG URL)."""
    if not location:
        return False
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("\x00 ").replace("\\", "/")
    parts = urlsplit(cleaned)
    return bool(parts.scheme or parts.netloc or cleaned.startswith("//"))


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_login_next_never_leaves_the_site(
    target: str, client: FlaskClient, provider: ForgedProvider, person: Any
) -> None:
    # Signed out: the target waits in the session through Google and back.
    start = client.get("/login?next=" + quote(target, safe=""))
    assert start.status_code == 302
    callback = provider.authorize(start.headers["Location"], "1" + "2" * 11)
    done = client.get(local(callback))
    assert done.status_code == 303
    assert not lands_off_site(done.headers.get("Location")), done.headers.get("Location")
    # Signed in: /login redirects at once.
    again = client.get("/login?next=" + quote(target, safe=""))
    assert again.status_code in (302, 303)
    assert not lands_off_site(again.headers.get("Location")), again.headers.get("Location")


CHAT_RETURN_URLS = [
    "https://chat.google.com.evil.example/",
    "https://evil.example/chat.google.com",
    "https://evil.example/?u=https://chat.google.com/",
    "http://chat.google.com/api/bot_config_complete",
    "https://chat.google.com@evil.example/",
    "https://evil.example\\@chat.google.com/",
    "https://chat.google.com\\@evil.example/",
    "https://chat.google.com:8443/",
    "https://chat.google.com./",
    "https://evil.example#chat.google.com",
    "//chat.google.com/",
    "javascript://chat.google.com/%0aalert(1)",
    "https://chat.google.com\t.evil.example/",
    "https://xn--chat-google-com.evil.example/",
]


@pytest.mark.parametrize("return_url", CHAT_RETURN_URLS)
def test_a_chat_return_url_that_is_not_google_chat_is_never_followed(
    return_url: str, client: FlaskClient, provider: ForgedProvider, services: Any
) -> None:
    identity = Identity("gchat", "c0ffee", "users/42")
    sub = "1" + "3" * 11
    profile = ChatProfile(email=f"{sub}@example.com")  # the chat user is the one signing in
    token = services.accounts.create_link_request(identity, return_url=return_url, profile=profile)
    start = client.get(f"/link/{token}")
    assert start.status_code == 302
    done = client.get(local(provider.authorize(start.headers["Location"], sub)))
    assert done.status_code == 200, done.headers.get("Location")
    assert "linked" in done.get_data(as_text=True).lower()
    assert services.accounts.owner_of(identity) is not None  # linked: only the redirect is refused


def test_state_and_nonce_tampering_change_nothing(
    client: FlaskClient, provider: ForgedProvider, services: Any
) -> None:
    identity = Identity("slack", "T0001", "U77")
    for spoil in ("state", "nonce"):
        token = services.accounts.create_link_request(identity)
        start = client.get(f"/link/{token}")
        callback = provider.authorize(start.headers["Location"], "1" + "4" * 11)
        if spoil == "state":
            callback = re.sub(r"state=[^&]+", "state=forged", callback)
        else:
            provider.overrides = {"nonce": "forged-nonce"}
        answer = client.get(local(callback))
        assert answer.status_code == 400
        assert "nothing was changed" in answer.get_data(as_text=True).lower()
        assert services.accounts.owner_of(identity) is None
        provider.overrides = {}


# -- CSRF -----------------------------------------------------------------------------------


def csrf(client: FlaskClient, path: str = "/account") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match, f"no form token on {path}"
    return match.group(1)


@pytest.fixture
def ada_with_image(client: FlaskClient, services: Any, person: Any) -> tuple[Owner, Any, Any]:
    ada = person("ada", Identity("slack", "T0001", "U1"))
    import io

    image = services.library.upload(ada, io.BytesIO(images.png(1)), filename="ada.png").image
    share = services.shares.share(ada, image.id)
    sign_in_as(client, ada)
    return ada, image, share


def _forms(image_id: str, share_id: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/logout", {}),
        ("/upload", {}),
        (f"/images/{image_id}/delete", {}),
        (f"/images/{image_id}/share", {"hours": "24"}),
        (f"/links/{share_id}/revoke", {}),
        ("/account/unlink", {"platform": "slack", "tenant": "T0001", "chat_user": "U1"}),
        ("/account/delete-library", {"confirm": "delete-everything"}),
        ("/link/confirm", {"decision": "link"}),
    ]


@pytest.mark.parametrize("token", ["missing", "forged", "from another session"])
def test_every_form_refuses_a_missing_or_forged_csrf_token(
    token: str,
    app: Any,
    client: FlaskClient,
    ada_with_image: tuple[Owner, Any, Any],
    stored: Stored,
    services: Any,
) -> None:
    ada, image, share = ada_with_image
    other = app.test_client()
    sign_in_as(other, ada)
    value = {"missing": None, "forged": "IjEyMyI.forged.token", "from another session": csrf(other)}[token]
    before = stored.snapshot()
    for path, form in _forms(image.id, share.id):
        data = dict(form) if value is None else {**form, "csrf_token": value}
        if path == "/upload":
            import io

            data["images"] = (io.BytesIO(images.png(2)), "new.png")  # type: ignore[assignment]
        answer = client.post(path, data=data)
        assert answer.status_code == 400, path
        assert "did not come from CloudBox" in answer.get_data(as_text=True), path
    assert stored.snapshot() == before
    assert services.accounts.owner_of(Identity("slack", "T0001", "U1")) == ada
    assert client.get("/account").status_code == 200  # still signed in: /logout was refused too


# -- another owner's ids --------------------------------------------------------------------


def _same_answer(a: Any, b: Any, *refs: str) -> None:
    assert a.status_code == b.status_code
    body_a, body_b = a.get_data(as_text=True), b.get_data(as_text=True)
    for ref in refs:
        body_a, body_b = body_a.replace(ref, "REF"), body_b.replace(ref, "REF")
    body_a = re.sub(r'name="csrf_token" value="[^"]+"', "", body_a)
    body_b = re.sub(r'name="csrf_token" value="[^"]+"', "", body_b)
    assert body_a == body_b


def test_every_gallery_route_treats_another_owners_ids_as_nonexistent(
    client: FlaskClient, services: Any, person: Any, stored: Stored
) -> None:
    import io

    ada = person("ada")
    bob = person("bob")
    bobs = services.library.upload(bob, io.BytesIO(images.png(3)), filename="bob-secret.png").image
    bobs_share = services.shares.share(bob, bobs.id)
    sign_in_as(client, ada)
    token = csrf(client)
    ghost, ghost_share = "abcdefghij", "bcdefghijk"
    before = stored.snapshot()
    routes = [
        ("GET", "/images/{}", {}),
        ("GET", "/images/{}/delete", {}),
        ("POST", "/images/{}/delete", {"csrf_token": token}),
        ("POST", "/images/{}/share", {"csrf_token": token, "hours": "24"}),
    ]
    for method, pattern, form in routes:
        real = client.open(pattern.format(bobs.id), method=method, data=form)
        fake = client.open(pattern.format(ghost), method=method, data=form)
        assert real.status_code == 404, pattern
        _same_answer(real, fake, bobs.id, ghost)
        assert "bob-secret" not in real.get_data(as_text=True)
    for ref in (bobs_share.id, bobs.id):
        real = client.post(f"/links/{ref}/revoke", data={"csrf_token": token})
        fake = client.post(f"/links/{ghost_share}/revoke", data={"csrf_token": token})
        _same_answer(real, fake, ref, ghost_share)
    assert stored.snapshot() == before
    assert services.shares.links(bob)[0].revoked_at is None
    assert "bob-secret" not in client.get("/").get_data(as_text=True)
    assert "bob-secret" not in client.get("/links").get_data(as_text=True)


# -- share tokens ---------------------------------------------------------------------------

SHARE_FUZZ = [
    "..%2F..%2Fetc%2Fpasswd",
    "../../etc/passwd",
    "%2e%2e%2f%2e%2e%2f",
    "a" * 5000,
    "A" * 129,
    "é" * 32,
    "%00" * 32,
    "%F0%9F%92%A9" * 10,
    "%E2%80%AE" + "a" * 31,
    "<script>alert(1)</script>",
    "' OR '1'='1' --________________",
    "%25%32%65%25%32%65%25%32%66" * 2,
]


def test_share_token_fuzz_is_not_found(client: FlaskClient, ada_with_image: Any) -> None:
    for token in SHARE_FUZZ:
        answer = client.get("/s/" + token)
        assert answer.status_code == 404, token
        body = answer.get_data(as_text=True)
        assert "This link does not exist" in body or "nothing at this address" in body, token
        assert "<script>alert" not in body
        assert "X-Goog-Signature" not in body
        assert answer.headers.get("Cache-Control") == "no-store"
