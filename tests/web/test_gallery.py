"""The web gallery through Flask's test client: forms, CSRF, headers, owners, limits, errors."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storage.accounts import Identity
from storage.services import Services
from tests.standins.images import pdf, png
from tests.standins.oidc import ForgedProvider

from .conftest import SLACK_USER, sign_in_as


def csrf(client: FlaskClient, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


@pytest.fixture
def signed_in(forged_web: tuple[Flask, Services]):  # type: ignore[no-untyped-def]
    app, services = forged_web
    owner = services.accounts.ensure_account("1001", "pat@example.com")
    client = app.test_client()
    sign_in_as(client, owner)
    return client, services, owner


def test_every_page_has_a_strict_policy_and_no_inline_script(signed_in) -> None:  # type: ignore[no-untyped-def]
    client, services, owner = signed_in
    image = services.library.upload(owner, [png(1)], filename="a.png").image
    for path in ("/", f"/images/{image.id}", f"/images/{image.id}/delete", "/links", "/account", "/nope"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert services.settings.storage_emulator_host.rstrip("/") in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
        assert " style=" not in html, path


def test_the_session_cookie_is_httponly_lax_and_secure_on_https(make_web, forged: ForgedProvider) -> None:  # type: ignore[no-untyped-def]
    for base, secure in (("http://127.0.0.1:5000", False), ("https://cloudbox.example.com", True)):
        app, services = make_web(forged.discovery_url, CLOUDBOX_BASE_URL=base)
        client = app.test_client()
        client.get("/login")
        cookie = client.get_cookie("session")
        assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
        assert cookie.secure is secure


def test_the_gallery_asks_strangers_to_sign_in(forged_web: tuple[Flask, Services]) -> None:
    app, _ = forged_web
    client = app.test_client()
    assert "Sign in with Google" in client.get("/").get_data(as_text=True)
    for path in ("/links", "/account", "/images/abcdefghij"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert client.post("/upload").status_code == 400  # no CSRF token: refused before anything


def test_uploading_several_files_without_javascript_reports_each_file(signed_in) -> None:  # type: ignore[no-untyped-def]
    client, services, owner = signed_in
    token = csrf(client)
    response = client.post(
        "/upload",
        data={
            "csrf_token": token,
            "images": [
                (io.BytesIO(png(1)), "one.png"),
                (io.BytesIO(png(2)), "two.png"),
                (io.BytesIO(pdf()), "notes.pdf"),
            ],
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "one.png uploaded" in page and "two.png uploaded" in page and "notes.pdf:" in page
    assert sorted(i.name for i in services.library.list(owner).images) == ["one.png", "two.png"]
    assert page.count('class="tile"') == 2 and 'alt="one.png"' in page


def test_upload_without_csrf_token_is_refused(signed_in) -> None:  # type: ignore[no-untyped-def]
    client, services, owner = signed_in
    response = client.post(
        "/upload", data={"images": (io.BytesIO(png(1)), "one.png")}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "did not come from CloudBox" in response.get_data(as_text=True)
    assert services.library.list(owner).total == 0


def test_the_javascript_upload_answers_per_file_in_json(signed_in) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = signed_in
    token = csrf(client)
    headers = {"Accept": "application/json", "X-CSRFToken": token}
    ok = client.post(
        "/upload",
        data={"images": (io.BytesIO(png(3)), "x.png")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert ok.status_code == 201 and ok.json["ok"] and ok.json["created"]  # type: ignore[index]
    bad = client.post(
        "/upload",
        data={"images": (io.BytesIO(pdf()), "x.pdf")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and not bad.json["ok"] and bad.json["error"]  # type: ignore[index]


def test_viewing_sharing_and_revoking_from_the_gallery(signed_in) -> None:  # type: ignore[no-untyped-def]
    client, services, owner = signed_in
    image = services.library.upload(owner, [png(4)], filename="cat.png").image
    page = client.get(f"/images/{image.id}").get_data(as_text=True)
    assert 'alt="cat.png"' in page and "X-Goog-Signature" in page
    token = csrf(client, f"/images/{image.id}")

    shared = client.post(f"/images/{image.id}/share", data={"csrf_token": token, "hours": "72"})
    link = re.search(r'id="share-url" type="text" readonly value="([^"]+)"', shared.get_data(as_text=True))
    assert link and "/s/" in link.group(1)
    assert (
        client.post(f"/images/{image.id}/share", data={"csrf_token": token, "hours": "999"}).status_code
        == 422
    )

    links_page = client.get("/links").get_data(as_text=True)
    share = services.shares.links(owner)[0]
    assert share.id in links_page and "cat.png" in links_page
    client.post(f"/links/{share.id}/revoke", data={"csrf_token": token})
    assert services.shares.links(owner) == []


def test_deleting_asks_first_and_never_touches_another_owners_image(signed_in) -> None:  # type: ignore[no-untyped-def]
    client, services, owner = signed_in
    mine = services.library.upload(owner, [png(5)], filename="mine.png").image
    other = services.accounts.ensure_account("2002", "sam@example.com")
    theirs = services.library.upload(other, [png(6)], filename="theirs.png").image
    token = csrf(client)

    assert "Delete “mine.png”?" in client.get(f"/images/{mine.id}/delete").get_data(as_text=True)
    for path in (f"/images/{theirs.id}", f"/images/{theirs.id}/delete"):
        assert client.get(path).status_code == 404
    assert client.post(f"/images/{theirs.id}/delete", data={"csrf_token": token}).status_code == 404
    assert (
        client.post(f"/images/{theirs.id}/share", data={"csrf_token": token, "hours": "1"}).status_code == 404
    )
    assert services.library.list(other).total == 1

    client.post(f"/images/{mine.id}/delete", data={"csrf_token": token})
    assert services.library.list(owner).total == 0


def test_account_page_unlinks_only_my_identities_and_deletes_my_library(signed_in) -> None:  # type: ignore[no-untyped-def]
    client, services, owner = signed_in
    services.accounts.link(SLACK_USER, owner)
    stranger = services.accounts.ensure_account("3003", "zoe@example.com")
    theirs = Identity("slack", "T0001", "U0999")
    services.accounts.link(theirs, stranger)
    services.library.upload(owner, [png(7)], filename="keep.png")
    token = csrf(client, "/account")
    assert "Slack user U0001" in client.get("/account").get_data(as_text=True)

    refused = client.post(
        "/account/unlink",
        data={"csrf_token": token, "platform": "slack", "tenant": "T0001", "chat_user": "U0999"},
    )
    assert refused.status_code == 404 and services.accounts.owner_of(theirs) == stranger

    client.post(
        "/account/unlink",
        data={"csrf_token": token, "platform": "slack", "tenant": "T0001", "chat_user": "U0001"},
    )
    assert services.accounts.owner_of(SLACK_USER) is None
    assert services.library.list(owner).total == 1  # unlinking keeps the library

    client.post("/account/delete-library", data={"csrf_token": token})  # not confirmed
    assert services.library.list(owner).total == 1
    client.post("/account/delete-library", data={"csrf_token": token, "confirm": "delete-everything"})
    assert services.library.list(owner).total == 0


def test_signing_out_ends_the_session(signed_in) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = signed_in
    token = csrf(client)
    assert client.post("/logout").status_code == 400  # CSRF
    client.post("/logout", data={"csrf_token": token})
    assert "Sign in with Google" in client.get("/").get_data(as_text=True)


def test_share_links_and_sign_in_are_rate_limited(make_web, forged: ForgedProvider) -> None:  # type: ignore[no-untyped-def]
    app, _ = make_web(
        forged.discovery_url,
        test_config={
            "CLOUDBOX_RATE_LIMITS": {"shares.open_share": "3 per minute", "signin.login": "2 per minute"}
        },
    )
    client = app.test_client()
    assert [client.get("/s/" + "A" * 32).status_code for _ in range(4)] == [404, 404, 404, 429]
    assert [app.test_client().get("/login").status_code for _ in range(3)] == [302, 302, 429]
    page = client.get("/s/" + "A" * 32).get_data(as_text=True)
    assert "Too many requests" in page
    # Share links count straight against the limiter's storage: per visitor, like every limit.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert [other.get("/s/" + "A" * 32).status_code for _ in range(4)] == [404, 404, 404, 429]


def test_an_unexpected_failure_ends_on_a_page_with_a_reference_not_a_trace(
    signed_in, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    client, services, _ = signed_in

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr(services.library, "list", broken)
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "reference" in page
    assert "Traceback" not in page and "secret detail" not in page


def test_an_upload_over_quota_is_refused_with_the_usage_and_the_account_page_shows_it(  # type: ignore[no-untyped-def]
    make_web, forged: ForgedProvider
) -> None:
    app, services = make_web(forged.discovery_url, CLOUDBOX_QUOTA_IMAGES="2", CLOUDBOX_QUOTA_MB="5")
    owner = services.accounts.ensure_account("1002", "quota@example.com")
    client = app.test_client()
    sign_in_as(client, owner)
    token = csrf(client)
    headers = {"Accept": "application/json", "X-CSRFToken": token}

    def send(data: bytes, name: str):  # type: ignore[no-untyped-def]
        return client.post(
            "/upload",
            data={"images": (io.BytesIO(data), name)},
            headers=headers,
            content_type="multipart/form-data",
        )

    assert send(png(41), "a.png").status_code == 201
    assert send(png(42), "b.png").status_code == 201
    refused = send(png(43), "c.png")
    assert refused.status_code == 422
    assert "quota of 2 images" in refused.json["error"] and "2 images of 2" in refused.json["error"]  # type: ignore[index]
    assert services.library.list(owner).total == 2
    account = client.get("/account").get_data(as_text=True)
    assert "You keep 2 images of 2" in account and "of 5.0 MB" in account
