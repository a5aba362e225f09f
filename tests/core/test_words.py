"""Words people read: help renders cleanly on both platforms, links name images as list does."""

import io
import re

import pytest

from bot.core.commands import Actor
from bot.gchat import cards
from bot.slack import blocks
from storage.accounts import Identity
from storage.errors import NoSuchImage
from tests.standins import images

ALICE = Identity("slack", "T1", "U1")
CODE = re.compile(r"`[^`\n]*`")


@pytest.fixture
def linked(services):
    owner = services.accounts.ensure_account("2001", "alice@example.com")
    services.accounts.link(ALICE, owner)
    return owner


def test_help_never_puts_code_inside_code(chat):
    reply = chat.core.handle(Actor(ALICE), "help")
    for line in reply.text.splitlines():
        outside = CODE.sub("", line)
        assert "`" not in outside, f"unbalanced code marks in {line!r}"
        for span in CODE.findall(line):
            assert " — " not in span, f"the description sits inside code in {line!r}"
    # Both renderers turn every pair into code and leave no stray marks behind.
    assert "`" not in cards._card_text(reply.text).replace("<font", "")
    slack_text = "".join(b["text"]["text"] for b in blocks.blocks(reply) if b["type"] == "section")
    assert "/cloudbox list [page] [words]" in slack_text


def test_links_name_each_image_by_the_id_list_shows(chat, services, linked):
    image = services.library.upload(linked, io.BytesIO(images.png(5)), filename="cat.png").image
    share = services.shares.share(linked, image.id)
    reply = chat.core.handle(Actor(ALICE), "links")
    assert f"`{image.id}` *cat.png*" in reply.text
    assert share.id not in reply.text
    assert [b.label for b in reply.buttons] == ["Turn off: cat.png"]
    done = chat.core.handle(Actor(ALICE), reply.buttons[0].command)
    assert "Turned off 1 link" in done.text and services.shares.links(linked) == []


def test_a_missing_image_or_link_says_which_command_helps_in_chat_only(chat, services, linked):
    missing = chat.core.handle(Actor(ALICE), "share nosuchimage")
    assert "no image called" in missing.text and "`list` shows your images" in blocks.message(missing)["text"]
    no_link = chat.core.handle(Actor(ALICE), "unshare https://cloudbox.example/s/" + "x" * 32)
    assert "`links` shows them" in blocks.message(no_link)["text"]
    # The library's own sentence, which the gallery shows on the web, names no chat command.
    with pytest.raises(NoSuchImage) as raised:
        services.library.get(linked, "nosuchimage")
    assert "`" not in str(raised.value) and "list" not in str(raised.value)


def test_settings_show_and_change_where_photos_location_goes(chat, services, linked):
    shown = chat.core.handle(Actor(ALICE), "settings")
    assert "removed" in shown.text and "default" in shown.text
    kept = chat.core.handle(Actor(ALICE), "settings location keep")
    assert "keep the place" in kept.text and "your choice" in kept.text
    assert services.accounts.by_email(linked.email).keep_location is True
    assert "keep the place" in chat.core.handle(Actor(ALICE), "settings").text
    chat.core.handle(Actor(ALICE), "settings location default")
    assert services.accounts.by_email(linked.email).keep_location is None
    wrong = chat.core.handle(Actor(ALICE), "settings location sometimes")
    assert "settings location keep" in blocks.message(wrong)["text"]
    assert services.accounts.by_email(linked.email).keep_location is None
