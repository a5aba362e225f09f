"""The Account page's choice on location metadata: one form, CSRF-protected, three answers."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.web.conftest import sign_in_as


def csrf_of(client: FlaskClient) -> str:
    page = client.get("/account").get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_a_person_keeps_or_removes_the_location_of_their_photos_from_the_account_page(
    client: FlaskClient, services: Any, person: Any
) -> None:
    owner = person("pat")
    sign_in_as(client, owner)
    page = client.get("/account").get_data(as_text=True)
    assert 'value="default" checked' in page
    answer = client.post("/account/location", data={"csrf_token": csrf_of(client), "location": "keep"})
    assert answer.status_code == 303
    assert services.accounts.by_email(owner.email).keep_location is True
    assert 'value="keep" checked' in client.get("/account").get_data(as_text=True)


def test_the_location_form_needs_its_csrf_token_and_a_known_choice(
    client: FlaskClient, services: Any, person: Any
) -> None:
    owner = person("pat")
    sign_in_as(client, owner)
    assert client.post("/account/location", data={"location": "keep"}).status_code == 400
    bad = client.post("/account/location", data={"csrf_token": csrf_of(client), "location": "always"})
    assert bad.status_code == 400
    assert services.accounts.by_email(owner.email).keep_location is None
