"""Numbers past any sensible bound are refused with 400, and the documented default is accepted."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from storage.settings import Settings
from tests.standins import images
from tests.web.conftest import sign_in_as

HUGE = "9" * 20


@pytest.mark.parametrize("page", [HUGE, "9" * 400, str(2**63)])
def test_a_gallery_page_past_any_library_is_a_400(client: FlaskClient, person: Any, page: str) -> None:
    sign_in_as(client, person("pat"))
    assert client.get("/?page=" + page).status_code == 400


@pytest.mark.parametrize("hours", [HUGE, str(2**63), "9" * 400])
def test_share_hours_past_any_bound_are_a_400(
    client: FlaskClient, services: Any, person: Any, hours: str
) -> None:
    owner = person("pat")
    image = services.library.upload(owner, io.BytesIO(images.png()), filename="cat.png").image
    sign_in_as(client, owner)
    page = client.get(f"/images/{image.id}")
    token = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(f"/images/{image.id}/share", data={"csrf_token": token, "hours": hours})
    assert answer.status_code == 400
    assert services.shares.links(owner) == []


def test_proxy_hops_zero_the_documented_default_is_accepted(make_settings: Any) -> None:
    settings: Settings = make_settings(CLOUDBOX_PROXY_HOPS="0")
    assert settings.proxy_hops == 0
    assert make_settings(CLOUDBOX_PROXY_HOPS="2").proxy_hops == 2


def test_a_forged_or_borrowed_gallery_cursor_is_a_400_and_shows_nobodys_images(
    client: FlaskClient, services: Any, person: Any
) -> None:
    owner, other = person("pat"), person("sam")
    for n in range(30):  # two gallery pages of the other person's
        services.library.upload(other, io.BytesIO(images.png(500 + n)), filename=f"sam{n}.png")
    borrowed = services.library.list(other, per_page=24).after
    assert borrowed is not None
    sign_in_as(client, owner)
    for cursor in (borrowed, borrowed[:-2] + "xx", "not-a-cursor"):
        answer = client.get("/", query_string={"page": "2", "after": cursor})
        assert answer.status_code == 400 and "sam" not in answer.get_data(as_text=True)
