"""With CLOUDBOX_SHARE_LINKS=signed_url the posted link is a raw V4 URL that stays valid until it
expires: no page or chat reply may claim it was turned off, and none offers to."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from storage.accounts import Identity
from storage.errors import Rejected
from storage.services import Services
from storage.settings import Settings
from tests.slack.helpers import SlackSender
from tests.standins import images
from tests.web.conftest import sign_in_as

SLACK_ADA = Identity("slack", "T0001", "U1")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(share_links="signed_url")


def _csrf(client: FlaskClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found
    return found.group(1)


def test_the_web_does_not_offer_or_claim_to_turn_off_a_signed_url_link(
    client: FlaskClient, services: Services, person: Any
) -> None:
    ada = person("ada")
    image = services.library.upload(ada, io.BytesIO(images.png(1)), filename="a.png").image
    sign_in_as(client, ada)
    created = client.post(
        f"/images/{image.id}/share", data={"csrf_token": _csrf(client, f"/images/{image.id}"), "hours": "24"}
    ).get_data(as_text=True)
    assert "X-Goog-Signature" in created and "turn it off" not in created
    assert "cannot be turned off" in created
    links = client.get("/links").get_data(as_text=True)
    assert "Turn off" not in links and "cannot be turned off" in links

    share = services.shares.links(ada)[0]
    answer = client.post(f"/links/{share.id}/revoke", data={"csrf_token": _csrf(client, "/links")})
    page = answer.get_data(as_text=True)
    assert "no longer works" not in page and "cannot be turned off" in page
    assert services.shares.links(ada) == [share]  # nothing pretends it was turned off
    with pytest.raises(Rejected):
        services.shares.revoke(ada, share.id)


def test_chat_does_not_claim_to_turn_off_a_signed_url_link(
    slack: SlackSender, services: Services, person: Any
) -> None:
    ada = person("ada", SLACK_ADA)
    image = services.library.upload(ada, io.BytesIO(images.png(2)), filename="b.png").image

    def said(text: str) -> str:
        answer, response_url = slack.command(text, user="U1")
        assert answer.status == 200
        token = response_url.rsplit("/", 1)[-1]
        [call] = slack.fake.wait_for("response_url", lambda c: c.path.endswith(token))
        return str(call.args)

    shared = said(f"share {image.id}")
    assert "cannot be turned off" in shared
    listed = said("links")
    assert "Turn off" not in listed and "cannot be turned off" in listed
    refused = said(f"unshare {image.id}")
    assert "Turned off" not in refused and "cannot be turned off" in refused
