"""/cloudbox commands and interactive buttons, over real signed requests and the fake Slack API."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from storage.model import Owner
from storage.services import Services
from tests.slack.helpers import SlackSender
from tests.standins import images
from tests.standins.slack_api import Call, FakeSlack


def answer_to(fake: FakeSlack, response_url: str) -> dict[str, Any]:
    path = response_url.split("127.0.0.1", 1)[1].split("/", 1)[1]
    call: Call = fake.wait_for("response_url", lambda c: c.path == "/" + path)[0]
    return call.args


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    for element in buttons(message):
        if element["text"]["text"].startswith(label):
            return element
    raise AssertionError(f"no button {label!r} in {[e['text']['text'] for e in buttons(message)]}")


def store(services: Services, owner: Owner, n: int, name: str = "cat") -> list[str]:
    return [
        services.library.upload(owner, io.BytesIO(images.png(1000 + i)), filename=f"{name}-{i}.png").image.id
        for i in range(n)
    ]


def test_help_is_answered_privately_after_an_empty_ack(slack: SlackSender, slack_api: FakeSlack) -> None:
    answer, url = slack.command("help")
    assert answer.status == 200 and answer.text == ""
    reply = answer_to(slack_api, url)
    assert reply["response_type"] == "ephemeral"
    assert "/cloudbox list" in reply["text"]
    assert reply["blocks"][0]["type"] == "header"


def test_unknown_command_gets_usage(slack: SlackSender, slack_api: FakeSlack) -> None:
    _, url = slack.command("frobnicate now")
    reply = answer_to(slack_api, url)
    assert reply["response_type"] == "ephemeral"
    assert "help" in reply["text"]


def test_commands_before_linking_offer_the_link_button(slack: SlackSender, slack_api: FakeSlack) -> None:
    _, url = slack.command("list")
    reply = answer_to(slack_api, url)
    link = button(reply, "Connect Google account")
    assert link["url"].startswith("http://127.0.0.1:5000/link/")
    assert link["style"] == "primary"
    assert link["action_id"].startswith("cloudbox_url_")


def test_link_button_click_is_acknowledged(slack: SlackSender) -> None:
    element = {"action_id": "cloudbox_url_1", "text": {"type": "plain_text", "text": "Connect"}}
    answer, _ = slack.click(element)
    assert answer.status == 200


def test_link_and_whoami_when_linked(
    slack: SlackSender, slack_api: FakeSlack, link: Callable[..., Owner]
) -> None:
    link("U1")
    _, url = slack.command("whoami")
    whoami = answer_to(slack_api, url)["text"]
    assert "sub-U1@example.com" in whoami and "You keep 0 images, 0.0 MB." in whoami
    _, url = slack.command("link")
    reply = answer_to(slack_api, url)
    assert "sub-U1@example.com" in reply["text"]
    assert button(reply, "Link another")["url"].startswith("http://127.0.0.1:5000/link/")


def test_list_shows_previews_and_pages_in_place(
    slack: SlackSender, slack_api: FakeSlack, services: Services, link: Callable[..., Owner]
) -> None:
    owner = link("U1")
    ids = store(services, owner, 12)
    _, url = slack.command("list")
    reply = answer_to(slack_api, url)
    assert reply["response_type"] == "ephemeral"
    sections = [b for b in reply["blocks"] if b["type"] == "section" and "accessory" in b]
    assert len(sections) == 10
    accessory = sections[0]["accessory"]
    assert accessory["type"] == "image" and len(accessory["image_url"]) <= 3000
    assert accessory["image_url"].startswith(services.settings.storage_emulator_host or "")
    assert ids[-1] in sections[0]["text"]["text"]  # newest first
    delete = button(reply, "Delete")
    assert delete["style"] == "danger" and delete["value"].startswith("delete ")
    assert button(reply, "Share")["value"].startswith("share ")

    _, page_url = slack.click(button(reply, "Next page"))
    assert page_url is not None
    page2 = answer_to(slack_api, page_url)
    assert page2["replace_original"] is True
    assert ids[0] in str(page2["blocks"])
    assert button(page2, "Previous page")["value"] == "list 1"


def test_list_with_words_filters(
    slack: SlackSender, slack_api: FakeSlack, services: Services, link: Callable[..., Owner]
) -> None:
    owner = link("U1")
    store(services, owner, 2, name="beach")
    store(services, owner, 2, name="dog")
    _, url = slack.command("list beach")
    text = answer_to(slack_api, url)["text"]
    assert "beach-0.png" in text and "dog" not in text


def test_share_posts_the_link_in_channel_and_unshare_turns_it_off(
    slack: SlackSender, slack_api: FakeSlack, services: Services, link: Callable[..., Owner]
) -> None:
    owner = link("U1")
    (image_id,) = store(services, owner, 1)
    _, url = slack.command(f"share {image_id} for 2 hours")
    reply = answer_to(slack_api, url)
    assert reply["response_type"] == "in_channel"
    assert "user-u1" in reply["text"] and "/s/" in reply["text"]
    assert len(services.shares.links(owner)) == 1

    _, url = slack.command("links")
    links = answer_to(slack_api, url)
    _, off_url = slack.click(button(links, "Turn off"))
    assert off_url is not None
    assert "Turned off" in answer_to(slack_api, off_url)["text"]
    assert services.shares.links(owner) == []

    _, url = slack.command(f"unshare {image_id}")
    assert "no active links" in answer_to(slack_api, url)["text"]


def test_share_button_from_the_list_posts_in_channel(
    slack: SlackSender, slack_api: FakeSlack, services: Services, link: Callable[..., Owner]
) -> None:
    owner = link("U1")
    store(services, owner, 1)
    _, url = slack.command("list")
    _, share_url = slack.click(button(answer_to(slack_api, url), "Share"))
    assert share_url is not None
    shared = answer_to(slack_api, share_url)
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False


def test_delete_asks_with_a_danger_confirm_then_deletes(
    slack: SlackSender, slack_api: FakeSlack, services: Services, link: Callable[..., Owner]
) -> None:
    owner = link("U1")
    (image_id,) = store(services, owner, 1)
    _, url = slack.command(f"delete {image_id}")
    ask = answer_to(slack_api, url)
    confirm_button = button(ask, "Delete")
    assert confirm_button["style"] == "danger"
    assert confirm_button["confirm"]["style"] == "danger"
    assert confirm_button["confirm"]["title"]["text"]
    assert services.library.list(owner).total == 1

    _, done_url = slack.click(confirm_button)
    assert done_url is not None
    assert "Deleted" in answer_to(slack_api, done_url)["text"]
    assert services.library.list(owner).total == 0


def test_unlink_buttons(
    slack: SlackSender, slack_api: FakeSlack, services: Services, link: Callable[..., Owner]
) -> None:
    owner = link("U1")
    store(services, owner, 1)
    _, url = slack.command("unlink")
    ask = answer_to(slack_api, url)
    assert button(ask, "Unlink and delete")["confirm"]["style"] == "danger"
    _, done_url = slack.click(button(ask, "Unlink, keep"))
    assert done_url is not None
    assert "Unlinked" in answer_to(slack_api, done_url)["text"]
    assert services.library.list(owner).total == 1  # kept


def test_unlink_and_delete_button(
    slack: SlackSender, slack_api: FakeSlack, services: Services, link: Callable[..., Owner]
) -> None:
    owner = link("U1")
    store(services, owner, 2)
    _, url = slack.command("unlink")
    _, done_url = slack.click(button(answer_to(slack_api, url), "Unlink and delete"))
    assert done_url is not None
    assert "Deleted 2 images" in answer_to(slack_api, done_url)["text"]
    assert services.library.list(owner).total == 0


def test_file_names_cannot_ping_the_channel(
    slack: SlackSender, slack_api: FakeSlack, services: Services, link: Callable[..., Owner]
) -> None:
    owner = link("U1")
    services.library.upload(owner, io.BytesIO(images.png(5)), filename="<!channel> hi.png")
    _, url = slack.command("list")
    reply = answer_to(slack_api, url)
    marked_up = [reply["text"]] + [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]
    assert not any("<!channel>" in text for text in marked_up)
    assert "&lt;!channel&gt;" in reply["text"]


def test_dm_text_is_a_command(slack: SlackSender, slack_api: FakeSlack) -> None:
    slack.event(
        {
            "type": "message",
            "user": "U1",
            "channel": "D0001",
            "channel_type": "im",
            "text": "help",
            "ts": "1.2",
        }
    )
    posted = slack_api.wait_for("chat.postMessage")[0]
    assert posted.args["channel"] == "D0001" and "/cloudbox list" in posted.args["text"]
