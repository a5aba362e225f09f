"""`/s/<token>`: expiry, revocation, view counting, and never another owner's object."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from storage.models import utcnow
from storage.services import Services
from storage.sharing import Shares
from tests.standins.gcs import verify_v4_signed_url
from tests.standins.images import png
from tests.standins.keys import ServiceAccountKey

from .conftest import local


def owner_with_image(services: Services, sub: str = "111", seed: int = 1):  # type: ignore[no-untyped-def]
    owner = services.accounts.ensure_account(sub, f"{sub}@example.com")
    image = services.library.upload(owner, [png(seed)], filename=f"photo-{sub}.png").image
    return owner, image


def test_a_share_link_redirects_to_a_short_lived_signed_url_and_counts_views(
    forged_web: tuple[Flask, Services], signing_key: ServiceAccountKey
) -> None:
    app, services = forged_web
    owner, image = owner_with_image(services)
    share = services.shares.share(owner, image.id, ttl=timedelta(hours=2))
    client = app.test_client()

    for _ in range(3):
        response = client.get(local(share.url))  # type: ignore[arg-type]
        assert response.status_code == 303
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    location = response.headers["Location"]
    query = verify_v4_signed_url(location, signing_key.public_key)
    assert int(query["X-Goog-Expires"]) <= 300
    assert f"/{image.object_name}" in location and image.object_name.startswith(owner.prefix)
    assert services.shares.flush_views()  # counted behind the redirects
    assert services.shares.links(owner)[0].views == 3


def test_a_revoked_share_link_stops_working(forged_web: tuple[Flask, Services]) -> None:
    app, services = forged_web
    owner, image = owner_with_image(services)
    share = services.shares.share(owner, image.id)
    client = app.test_client()
    assert client.get(local(share.url)).status_code == 303  # type: ignore[arg-type]
    services.shares.revoke(owner, share.id)
    response = client.get(local(share.url))  # type: ignore[arg-type]
    assert response.status_code == 410
    assert "turned off" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_an_expired_share_link_stops_working(forged_web: tuple[Flask, Services]) -> None:
    app, services = forged_web
    owner, image = owner_with_image(services)
    yesterday = Shares(
        services.catalog, services.blobs, services.library.policy, clock=lambda: utcnow() - timedelta(days=1)
    )
    share = yesterday.share(owner, image.id, ttl=timedelta(hours=1))
    response = app.test_client().get(local(share.url))  # type: ignore[arg-type]
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)


def test_unknown_and_malformed_share_links_are_not_found(forged_web: tuple[Flask, Services]) -> None:
    app, _ = forged_web
    client = app.test_client()
    for path in ("/s/" + "A" * 32, "/s/short", "/s/" + "x" * 500, "/s/%3Cscript%3E"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<script>" not in response.get_data(as_text=True)


def test_a_share_link_of_a_deleted_image_is_gone(forged_web: tuple[Flask, Services]) -> None:
    app, services = forged_web
    owner, image = owner_with_image(services)
    share = services.shares.share(owner, image.id)
    services.library.delete(owner, image.id)
    assert app.test_client().get(local(share.url)).status_code == 404  # type: ignore[arg-type]


def test_a_share_link_never_reaches_another_owners_image(forged_web: tuple[Flask, Services]) -> None:
    app, services = forged_web
    alice, alice_image = owner_with_image(services, "111", 1)
    bob, bob_image = owner_with_image(services, "222", 2)
    alice_share = services.shares.share(alice, alice_image.id)
    bob_share = services.shares.share(bob, bob_image.id)
    client = app.test_client()
    to_alice = client.get(local(alice_share.url)).headers["Location"]  # type: ignore[arg-type]
    to_bob = client.get(local(bob_share.url)).headers["Location"]  # type: ignore[arg-type]
    assert alice.prefix in to_alice and bob.prefix not in to_alice
    assert bob.prefix in to_bob and alice.prefix not in to_bob

    # Bob cannot share, revoke or list Alice's things, by id or by link.
    from storage.errors import NotFound

    for attempt in (
        lambda: services.shares.share(bob, alice_image.id),
        lambda: services.shares.revoke(bob, alice_share.id),
        lambda: services.shares.revoke(bob, alice_share.url),  # type: ignore[arg-type]
    ):
        try:
            attempt()
        except NotFound:
            pass
        else:
            raise AssertionError("another owner's share was reachable")
    assert [s.id for s in services.shares.links(bob)] == [bob_share.id]
    assert client.get(local(alice_share.url)).status_code == 303  # type: ignore[arg-type]


def test_a_chats_link_preview_is_not_counted_as_a_view(forged_web: tuple[Flask, Services]) -> None:
    app, services = forged_web
    owner, image = owner_with_image(services)
    share = services.shares.share(owner, image.id, ttl=timedelta(hours=2))
    client = app.test_client()
    unfurler = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
    preview = client.get(local(share.url), headers={"User-Agent": unfurler})  # type: ignore[arg-type]
    assert preview.status_code == 303  # the preview still shows the image
    assert services.shares.flush_views()
    assert services.shares.links(owner)[0].views == 0
    person = client.get(local(share.url), headers={"User-Agent": "Mozilla/5.0"})  # type: ignore[arg-type]
    assert person.status_code == 303
    assert services.shares.flush_views()
    assert services.shares.links(owner)[0].views == 1
