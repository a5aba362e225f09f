"""Object names, and so preview and share URLs, do not carry the owner's Google sub.

New objects go under an opaque per-account folder; images stored before (under
`users/<google sub>/`) keep working: listed, previewed, shared, deleted, and consistent.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import unquote

from flask.testing import FlaskClient

from storage.consistency import ConsistencyCheck
from storage.model import Owner
from storage.services import Services
from tests.standins import images
from tests.web.conftest import sign_in_as


def test_new_objects_and_their_urls_do_not_name_the_google_account(
    client: FlaskClient, services: Services, person: Any
) -> None:
    ada = person("ada")
    image = services.library.upload(ada, io.BytesIO(images.png(1)), filename="a.png").image
    for name in (image.object_name, image.preview_object_name):
        assert ada.google_sub not in name
        assert name.startswith("users/") and name.startswith(ada.prefix)
    assert ada.google_sub not in services.library.preview_url(image)
    share = services.shares.share(ada, image.id)
    sign_in_as(client, ada)
    assert ada.google_sub not in client.get("/").get_data(as_text=True)
    location = client.get("/s/" + share.url.rsplit("/s/", 1)[1]).headers["Location"]
    assert ada.google_sub not in unquote(location)


def test_the_folder_is_stable_and_differs_between_accounts(services: Services, person: Any) -> None:
    ada, bob = person("ada"), person("bob")
    assert ada.prefix != bob.prefix
    assert services.accounts.by_google_sub(ada.google_sub).prefix == ada.prefix  # type: ignore[union-attr]


def test_objects_stored_under_the_old_layout_keep_working(
    client: FlaskClient, services: Services, person: Any
) -> None:
    ada = person("ada")
    # An image stored before opaque folders: under users/<google sub>/.
    before = Owner(ada.id, ada.google_sub, ada.email)
    old = services.library.upload(before, io.BytesIO(images.png(2)), filename="old.png").image
    assert old.object_name.startswith(f"users/{ada.google_sub}/")
    new = services.library.upload(ada, io.BytesIO(images.png(3)), filename="new.png").image

    assert {i.id for i in services.library.list(ada).images} == {old.id, new.id}
    share = services.shares.share(ada, old.id)
    assert client.get("/s/" + share.url.rsplit("/s/", 1)[1]).status_code == 303
    report = ConsistencyCheck(services.sessions, services.blobs, services.library).check()
    assert report.consistent and report.rows == 2 and report.objects == 4
    services.library.delete(ada, old.id)
    assert not list(services.blobs.names(f"users/{ada.google_sub}/"))
