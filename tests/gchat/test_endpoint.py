"""POST /gchat/events end to end: verified requests, both event formats, the real library,
fake-gcs-server, the catalog on SQLite and PostgreSQL, and the local Chat API stand-in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.gchat.events import ChatUser
from bot.gchat.handler import identity_of
from storage.accounts import Identity, LinkMade
from storage.model import Owner
from storage.models import IngestJobRow, utcnow
from storage.services import Services
from tests.standins import images
from tests.standins.gchat import ChatSigner, GchatStandin
from web_oauth.extensions import components_of

from . import events as ev
from .conftest import PROJECT_NUMBER

ADA = identity_of(ChatUser(name=ev.ADA["name"], domain_id=ev.ADA["domainId"]))


@pytest.fixture
def database_url(any_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_database_url


def message_of(response: Any) -> dict[str, Any]:
    """The Chat message in a response, whichever schema it came in."""
    body = response.get_json()
    if "hostAppDataAction" in body:
        return body["hostAppDataAction"]["chatDataAction"]["createMessageAction"]["message"]
    return body


def card_names(message: dict[str, Any]) -> list[str]:
    return [s["header"] for s in message["cardsV2"][0]["card"]["sections"] if "header" in s]


def send_images(
    google: GchatStandin, build: Callable[..., dict[str, Any]], *files: tuple[str, str, bytes], **kw: Any
) -> dict[str, Any]:
    attachments = []
    for name, content_type, data in files:
        item = ev.attachment(name, content_type)
        google.add_media(item["attachmentDataRef"]["resourceName"], data, content_type)
        attachments.append(item)
    return build(attachments=attachments, **kw)


# -- verification first ------------------------------------------------------------------


def test_unverified_requests_get_401_and_nothing_is_processed(
    client: Any, google: GchatStandin, chat_signer: ChatSigner, ingest: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body = send_images(google, ev.classic_message, ("cat.png", "image/png", images.png(1)))
    impostor = ChatSigner.make(chat_signer.kid)
    tokens = {
        "wrong audience": chat_signer.chat_token("42"),
        "wrong issuer": chat_signer.mint({"iss": "eve@example.com", "aud": PROJECT_NUMBER}),
        "expired": chat_signer.chat_token(PROJECT_NUMBER, iat=1, exp=2),
        "unknown kid": chat_signer.mint(
            {"iss": "chat@system.gserviceaccount.com", "aud": PROJECT_NUMBER}, kid="k9"
        ),
        "bad signature": impostor.chat_token(PROJECT_NUMBER),
    }
    caplog.set_level(logging.WARNING, logger="bot.gchat")
    for token in tokens.values():
        response = client.post("/gchat/events", json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert token not in caplog.text
    assert client.post("/gchat/events", json=body).status_code == 401
    assert "no Authorization header" in caplog.text
    assert "audience" in caplog.text and "issuer" in caplog.text and "expired" in caplog.text.lower()
    assert ingest.queue.jobs() == []
    assert google.media_requests() == []


# -- images ------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [ev.classic_message, ev.addon_message], ids=["classic", "addon"])
def test_images_sent_in_a_dm_are_saved_and_reported_with_a_card(
    post: Callable[..., Any],
    google: GchatStandin,
    ingest: Any,
    services: Services,
    link: Callable[..., Owner],
    build: Any,
) -> None:
    owner = link(ADA)
    body = send_images(
        google, build, ("cat.png", "image/png", images.png(1)), ("dog.jpg", "image/jpeg", images.jpeg(2))
    )
    response = post(body)
    assert response.status_code == 200
    assert "Saving 2 images" in message_of(response)["text"]
    assert len(ingest.queue.jobs()) == 2  # persisted before the answer

    ingest.drain(timeout=30)

    names = sorted(i.name for i in services.library.list(owner).images)
    assert names == ["cat.png", "dog.jpg"]
    assert all(r.authorized for r in google.media_requests())
    [post_] = google.wait_for_posts(1)
    assert post_["path"] == "/v1/spaces/DMada/messages"
    card_message = post_["message"]
    assert card_message["thread"] == {"name": "spaces/DMada/threads/t1"}
    assert "privateMessageViewer" not in card_message  # a DM is already private
    sections = card_message["cardsV2"][0]["card"]["sections"]
    assert {s["header"] for s in sections} == {"cat.png", "dog.jpg"}
    assert all(s["widgets"][0]["image"]["imageUrl"].startswith("http") for s in sections)


def test_the_same_message_delivered_twice_is_one_image(
    post: Callable[..., Any],
    google: GchatStandin,
    ingest: Any,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    owner = link(ADA)
    body = send_images(google, ev.classic_message, ("cat.png", "image/png", images.png(3)))
    assert "Saving 1 image" in message_of(post(body))["text"]
    assert "already have" in message_of(post(body))["text"]
    ingest.drain(timeout=30)
    post(body)
    ingest.drain(timeout=30)
    assert services.library.list(owner).total == 1
    assert len(google.media_requests()) == 1
    assert len(google.state.posted) == 1


def test_drive_files_fake_images_and_oversize_files_are_refused_with_reasons(
    make_settings: Callable[..., Any],
    gchat_env: dict[str, str],
    google: GchatStandin,
    chat_signer: ChatSigner,
) -> None:
    from web_oauth import create_app

    services = Services.build(make_settings(**gchat_env, CLOUDBOX_MAX_UPLOAD_MB="1"))
    try:
        app = create_app(services=services, test_config={"TESTING": True})
        owner = services.accounts.ensure_account("1234", "ada@example.com")
        services.accounts.link(ADA, owner)
        body = send_images(
            google,
            ev.addon_message,
            ("fake.png", "image/png", images.pdf()),
            ("huge.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024 + 10)),
            ("ok.png", "image/png", images.png(4)),
        )
        body["chat"]["messagePayload"]["message"]["attachment"].append(ev.attachment("plan.png", drive=True))
        response = app.test_client().post(
            "/gchat/events",
            json=body,
            headers={"Authorization": "Bearer " + chat_signer.chat_token(PROJECT_NUMBER)},
        )
        assert "Saving 4 images" in message_of(response)["text"]
        components_of(app).worker.drain(timeout=30)

        assert [i.name for i in services.library.list(owner).images] == ["ok.png"]
        [post_] = google.wait_for_posts(1)
        card = post_["message"]["cardsV2"][0]["card"]
        refused = next(s for s in card["sections"] if s.get("header") == "Not saved")
        text = refused["widgets"][0]["textParagraph"]["text"]
        assert "fake.png" in text and "PDF" in text
        assert "huge.png" in text and "1 MB limit" in text
        assert "plan.png" in text and "Google Drive" in text
        # The Drive file was never fetched, the oversize one refused on its Content-Length.
        fetched = {r.path for r in google.media_requests()}
        assert len(fetched) == 3
    finally:
        services.close()


# -- linking -----------------------------------------------------------------------------


@pytest.mark.parametrize("build", [ev.classic_message, ev.addon_message], ids=["classic", "addon"])
def test_images_from_someone_not_linked_wait_for_linking_then_are_saved(
    post: Callable[..., Any],
    google: GchatStandin,
    ingest: Any,
    services: Services,
    app: Any,
    build: Any,
) -> None:
    body = send_images(google, build, ("cat.png", "image/png", images.png(5)))
    answer = post(body).get_json()
    if "actionResponse" in answer:
        assert answer["actionResponse"]["type"] == "REQUEST_CONFIG"
        url = answer["actionResponse"]["url"]
    else:
        url = answer["basic_authorization_prompt"]["authorization_url"]
    assert url.startswith(services.settings.base_url + "/link/")
    request = services.accounts.peek_link_request(url.rsplit("/", 1)[1])
    assert request.identity == ADA
    assert request.return_url == ev.CONFIG_COMPLETE

    ingest.drain(timeout=30)
    [waiting] = google.wait_for_posts(1)
    assert "keeping 1 file for an hour" in waiting["message"]["text"]
    assert google.media_requests() == []

    # The web link flow links the identity and calls the on-linked hooks.
    owner = services.accounts.ensure_account("98765", "ada@example.com")
    services.accounts.link(ADA, owner)
    for hook in components_of(app).on_linked:
        hook(LinkMade(ADA, owner.email))
    ingest.drain(timeout=30)

    assert [i.name for i in services.library.list(owner).images] == ["cat.png"]
    report = google.wait_for_posts(2)[1]["message"]
    assert "linked" in report["text"]


# -- commands and buttons ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        ev.classic_slash("list"),
        ev.addon_command("list"),
        ev.classic_message("list"),
        ev.addon_message("list"),
    ],
    ids=["classic-slash", "addon-slash", "classic-dm-text", "addon-dm-text"],
)
def test_list_through_slash_command_and_dm_text(
    post: Callable[..., Any], services: Services, link: Callable[..., Owner], body: dict[str, Any]
) -> None:
    owner = link(ADA)
    services.library.upload(owner, [images.png(6)], filename="beach.png")
    message = message_of(post(body))
    assert message["text"] == "Your images — page 1 of 1 (1 in all)"
    assert card_names(message) == ["beach.png"]
    section = message["cardsV2"][0]["card"]["sections"][0]
    buttons = section["widgets"][-1]["buttonList"]["buttons"]
    assert [b["text"] for b in buttons] == ["Share", "Delete"]


def test_an_unknown_slash_command_id_is_answered(
    post: Callable[..., Any], link: Callable[..., Owner]
) -> None:
    link(ADA)
    assert "don't know that command" in message_of(post(ev.classic_slash("list", command_id="99")))["text"]


def test_replies_in_a_space_are_private_except_share(
    post: Callable[..., Any], services: Services, link: Callable[..., Owner]
) -> None:
    owner = link(ADA)
    image = services.library.upload(owner, [images.png(7)], filename="team.png").image
    listed = message_of(post(ev.classic_slash("list", space=ev.ROOM)))
    assert listed["privateMessageViewer"] == {"name": ev.ADA["name"]}
    shared = message_of(post(ev.classic_slash(f"share {image.id}", space=ev.ROOM)))
    assert "privateMessageViewer" not in shared
    assert "/s/" in shared["text"]


@pytest.mark.parametrize("click", [ev.classic_click, ev.addon_click], ids=["classic", "addon"])
def test_delete_button_asks_then_deletes(
    post: Callable[..., Any], services: Services, link: Callable[..., Owner], click: Any
) -> None:
    owner = link(ADA)
    image = services.library.upload(owner, [images.png(8)], filename="old.png").image
    listed = message_of(post(ev.classic_message("list")))
    delete = listed["cardsV2"][0]["card"]["sections"][0]["widgets"][-1]["buttonList"]["buttons"][1]
    params = {p["key"]: p["value"] for p in delete["onClick"]["action"]["parameters"]}
    assert params == {"command": f"delete {image.id}"}

    asked = post(click(params))
    if click is ev.classic_click:
        assert asked.get_json()["actionResponse"] == {"type": "NEW_MESSAGE"}
    question = message_of(asked)
    buttons = question["cardsV2"][0]["card"]["sections"][-1]["widgets"][0]["buttonList"]["buttons"]
    confirm_params = {p["key"]: p["value"] for p in buttons[0]["onClick"]["action"]["parameters"]}
    assert confirm_params["command"] == f"delete {image.id} confirm"
    assert services.library.list(owner).total == 1

    confirmed = message_of(post(click(confirm_params)))  # the "Delete" button of the question
    assert "confirm_title" in confirm_params
    assert "Delete this image?" in confirmed["text"]
    ok = confirmed["cardsV2"][0]["card"]["sections"][-1]["widgets"][0]["buttonList"]["buttons"][0]
    ok_params = {p["key"]: p["value"] for p in ok["onClick"]["action"]["parameters"]}
    assert message_of(post(click(ok_params)))["text"] == "Deleted *old.png*."
    assert services.library.list(owner).total == 0


# -- space membership --------------------------------------------------------------------


@pytest.mark.parametrize(
    "added,removed",
    [(ev.classic_added(), ev.classic_removed()), (ev.addon_added(), ev.addon_removed())],
    ids=["classic", "addon"],
)
def test_added_to_space_greets_and_removed_is_acknowledged(
    post: Callable[..., Any], added: dict[str, Any], removed: dict[str, Any]
) -> None:
    greeting = message_of(post(added))
    assert "CloudBox" in greeting["text"] and "/cloudbox help" in greeting["text"]
    assert "privateMessageViewer" not in greeting
    response = post(removed)
    assert response.status_code == 200
    assert response.get_json() == {}


# -- one library across chats ------------------------------------------------------------


def test_the_same_google_account_linked_from_slack_and_chat_sees_one_library(
    post: Callable[..., Any], services: Services
) -> None:
    accounts = services.accounts
    owner = accounts.ensure_account("424242", "ada@example.com")
    accounts.link(Identity("slack", "T0001", "U0001"), owner)
    accounts.link(ADA, owner)
    via_slack = accounts.owner_of(Identity("slack", "T0001", "U0001"))
    assert via_slack == owner
    services.library.upload(via_slack, [images.png(9)], filename="from-slack.png")

    listed = message_of(post(ev.classic_message("list")))
    assert card_names(listed) == ["from-slack.png"]
    who = message_of(post(ev.classic_message("whoami")))
    assert "ada@example.com" in who["text"] and "Slack" in who["text"]


# -- more of the linking and verification edges ------------------------------------------


@pytest.mark.parametrize(
    "body", [ev.classic_slash("list"), ev.addon_command("list")], ids=["classic", "addon"]
)
def test_a_command_from_someone_not_linked_asks_them_to_link(
    post: Callable[..., Any], body: dict[str, Any]
) -> None:
    answer = post(body).get_json()
    assert (
        answer.get("actionResponse", {}).get("type") == "REQUEST_CONFIG"
        or "basic_authorization_prompt" in answer
    )


def test_help_works_before_linking(post: Callable[..., Any]) -> None:
    assert "CloudBox" in message_of(post(ev.classic_message("help")))["text"]


def test_the_token_is_checked_before_the_body_is_read(client: Any, post: Callable[..., Any]) -> None:
    assert client.post("/gchat/events", data=b"not json", content_type="application/json").status_code == 401
    assert post({"no": "event"}).status_code == 400


def test_a_report_sent_again_after_a_dead_claim_is_posted_once(
    post: Callable[..., Any],
    google: GchatStandin,
    ingest: Any,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    """A process that died after Chat took the report but before marking it sent: the next
    worker sends it again with the same requestId, and Chat keeps one message."""
    link(ADA)
    post(send_images(google, ev.classic_message, ("cat.png", "image/png", images.png(4))))
    ingest.drain(timeout=30)
    [first] = google.wait_for_posts(1)
    (job,) = ingest.queue.jobs()

    an_hour_ago = utcnow() - timedelta(hours=1)
    with services.sessions.begin() as session:  # as the dead process left it: claimed, unmarked
        session.execute(
            update(IngestJobRow)
            .where(IngestJobRow.id == job.id)
            .values(replied_at=None, reply_claimed_until=an_hour_ago, updated_at=an_hour_ago)
        )
    assert ingest.report_stragglers() == 1

    sends = [r for r in google.state.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert len(sends) == 2  # sent again...
    assert google.state.posted == [first]  # ...and Chat kept one message
    assert ingest.queue.jobs()[0].status == "done"
