"""The running service: a real HTTP server with the ingest worker threads started, an add-on
app whose audience is the endpoint URL, and Chat's stand-in receiving the posted card."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from bot.gchat.events import ChatUser
from bot.gchat.handler import identity_of
from storage.services import Services
from tests.standins import images
from tests.standins.gchat import ChatSigner, GchatStandin
from web_oauth.extensions import components_of

from . import events as ev

ENDPOINT = "https://cloudbox.example.com/gchat/events"
ADDON_ACCOUNT = "service-123456789012@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"


@pytest.fixture
def served(make_settings: Callable[..., Any], gchat_env: dict[str, str]) -> Iterator[tuple[str, Services]]:
    from web_oauth import create_app

    services = Services.build(make_settings(**{**gchat_env, "GCHAT_AUDIENCE": ENDPOINT}))
    app = create_app(services=services)  # not TESTING: the worker threads run
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", services
    finally:
        server.shutdown()
        thread.join(5)
        components_of(app).worker.stop()
        services.close()


@pytest.mark.e2e
def test_an_addon_event_over_http_is_saved_and_reported_by_the_worker(
    served: tuple[str, Services], google: GchatStandin, chat_signer: ChatSigner
) -> None:
    base, services = served
    owner = services.accounts.ensure_account("5555", "ada@example.com")
    services.accounts.link(identity_of(ChatUser(name=ev.ADA["name"], domain_id=ev.ADA["domainId"])), owner)
    item = ev.attachment("sunset.png")
    google.add_media(item["attachmentDataRef"]["resourceName"], images.png(21))
    body = ev.addon_message(attachments=[item], space=ev.ROOM)

    hostile = requests.post(
        f"{base}/gchat/events",
        json=body,
        timeout=10,
        headers={"Authorization": "Bearer " + chat_signer.id_token(ENDPOINT, email="x@gmail.com")},
    )
    assert hostile.status_code == 401

    token = chat_signer.id_token(ENDPOINT, email=ADDON_ACCOUNT)
    response = requests.post(
        f"{base}/gchat/events", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200
    action = response.json()["hostAppDataAction"]["chatDataAction"]["createMessageAction"]["message"]
    assert "Saving 1 image" in action["text"]
    assert action["privateMessageViewer"] == {"name": ev.ADA["name"]}

    [posted] = google.wait_for_posts(1, timeout=30)
    assert posted["path"] == "/v1/spaces/ROOMx/messages"
    assert posted["message"]["privateMessageViewer"] == {"name": ev.ADA["name"]}
    share = posted["message"]["cardsV2"][0]["card"]["sections"][0]["widgets"][-1]["buttonList"]["buttons"][0]
    assert share["onClick"]["action"]["function"] == ENDPOINT  # add-on buttons name the endpoint
    assert [i.name for i in services.library.list(owner).images] == ["sunset.png"]
