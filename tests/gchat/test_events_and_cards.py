"""Parsing both event formats, and rendering replies in each format's schema (pure units)."""

from __future__ import annotations

import pytest

from bot.core.replies import Button, Confirm, ImageItem, Reply
from bot.gchat import cards
from bot.gchat.events import BadEvent, parse_event
from storage.model import Image
from tests.fakes import an_image

from . import events as ev

ENDPOINT = "https://cloudbox.example.com/gchat/events"


def test_classic_and_addon_messages_parse_to_the_same_event() -> None:
    files = [ev.attachment("cat.png"), ev.attachment("plan.pdf", "application/pdf", drive=True)]
    classic = parse_event(ev.classic_message("hi", attachments=files))
    addon = parse_event(ev.addon_message("hi", attachments=files))
    for event in (classic, addon):
        assert event.kind == "message"
        assert event.user is not None and event.user.name == "users/111111111111"
        assert event.user.domain_id == "c0ffee"
        assert event.space_name == "spaces/DMada" and event.space_is_dm
        assert event.text == "hi"
        assert event.config_complete_url == ev.CONFIG_COMPLETE
        assert [a.content_name for a in event.attachments] == ["cat.png", "plan.pdf"]
        assert event.attachments[0].resource_name.startswith("resource/")
        assert event.attachments[1].from_drive
    assert (classic.format, addon.format) == ("classic", "addon")


def test_slash_commands_in_both_formats_carry_their_id() -> None:
    classic = parse_event(ev.classic_slash("list 2", command_id="7"))
    addon = parse_event(ev.addon_command("list 2", command_id=7))
    for event in (classic, addon):
        assert (event.kind, event.command_id, event.text) == ("command", "7", "list 2")
    newer = ev.classic_message("list")
    newer["appCommandMetadata"] = {"appCommandId": 7, "appCommandType": "SLASH_COMMAND"}
    assert parse_event(newer).command_id == "7"


def test_button_clicks_carry_their_parameters_in_both_formats() -> None:
    for build in (ev.classic_click, ev.addon_click):
        event = parse_event(build({"command": "share abc"}, space=ev.ROOM))
        assert event.kind == "click"
        assert event.parameters == {"command": "share abc"}
        assert not event.space_is_dm


def test_space_membership_events() -> None:
    assert parse_event(ev.classic_added()).kind == "added"
    assert parse_event(ev.addon_added()).kind == "added"
    assert parse_event(ev.classic_removed()).kind == "removed"
    assert parse_event(ev.addon_removed()).kind == "removed"


@pytest.mark.parametrize("body", [None, [], {"hello": 1}, "MESSAGE"])
def test_bodies_that_are_not_chat_events_are_refused(body: object) -> None:
    with pytest.raises(BadEvent):
        parse_event(body)


def _image() -> Image:
    return an_image("<b>cat</b>.png", source_platform="gchat")


def test_a_reply_with_images_renders_previews_and_command_buttons() -> None:
    item = ImageItem(
        _image(),
        "https://storage.example/preview?sig=1",
        "2.0 KB · 64×48",
        [Button("Share", command="share k3m9x2abcd", style="primary")],
    )
    reply = Reply("*Your images*\n`k3m9x2abcd` cat", title="Your images", items=[item])
    for fmt, function in (("classic", cards.CLASSIC_ACTION), ("addon", ENDPOINT)):
        body = cards.message(reply, fmt=fmt, endpoint_url=ENDPOINT, viewer="users/1")  # type: ignore[arg-type]
        assert body["text"] == "Your images"
        assert body["privateMessageViewer"] == {"name": "users/1"}
        card = body["cardsV2"][0]["card"]
        section = card["sections"][0]
        assert section["header"] == "&lt;b&gt;cat&lt;/b&gt;.png"  # names are escaped in cards
        assert section["widgets"][0]["image"]["imageUrl"] == item.preview_url
        button = section["widgets"][-1]["buttonList"]["buttons"][0]
        assert button["onClick"]["action"] == {
            "function": function,
            "parameters": [{"key": "command", "value": "share k3m9x2abcd"}],
        }


def test_link_buttons_open_the_url_and_danger_buttons_carry_their_confirmation() -> None:
    reply = Reply(
        "Connect",
        buttons=[
            Button("Connect Google account", url="https://cloudbox.example.com/link/t"),
            Button(
                "Delete all",
                command="unlink delete",
                style="danger",
                confirm=Confirm("Sure?", "All gone.", "Yes"),
            ),
        ],
    )
    body = cards.message(reply, fmt="classic", endpoint_url=ENDPOINT)
    buttons = body["cardsV2"][0]["card"]["sections"][-1]["widgets"][0]["buttonList"]["buttons"]
    assert buttons[0]["onClick"] == {"openLink": {"url": "https://cloudbox.example.com/link/t"}}
    params = {p["key"]: p["value"] for p in buttons[1]["onClick"]["action"]["parameters"]}
    assert params["command"] == "unlink delete" and params["confirm_title"] == "Sure?"
    assert "color" in buttons[1]
    question = cards.confirmation(params)
    assert question.buttons[0].command == "unlink delete" and question.buttons[0].confirm is None


def test_responses_follow_the_schema_of_the_event() -> None:
    body = {"text": "hi"}
    classic_click = parse_event(ev.classic_click({"command": "list"}))
    assert cards.respond(classic_click, body) == {"actionResponse": {"type": "NEW_MESSAGE"}, "text": "hi"}
    assert cards.respond(parse_event(ev.classic_message("x")), body) == body
    wrapped = cards.respond(parse_event(ev.addon_message("x")), body)
    assert wrapped == {"hostAppDataAction": {"chatDataAction": {"createMessageAction": {"message": body}}}}

    url = "https://cloudbox.example.com/link/t"
    assert cards.request_config(parse_event(ev.classic_message("x")), url) == {
        "actionResponse": {"type": "REQUEST_CONFIG", "url": url}
    }
    prompt = cards.request_config(parse_event(ev.addon_message("x")), url)
    assert prompt["basic_authorization_prompt"]["authorization_url"] == url
