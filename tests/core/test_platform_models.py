"""Every reply the core makes, rendered for Slack and for Chat, passes the platforms' own models.

Slack: each block through `slack_sdk.models.blocks.Block.parse` + `validate_json`, App Home
through `slack_sdk.models.views.View`, 50 blocks a message (100 a view). Chat: each message
through `google.apps.chat_v1.types.Message` with unknown fields refused, 32,000 bytes and 100
widgets a card.
"""

import io
import json

import pytest
from google.apps.chat_v1.types import Message
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.core.commands import Actor
from bot.gchat import cards
from bot.slack import blocks
from bot.slack.home import HomeView
from storage.accounts import Identity
from tests.standins import images

ALICE = Identity("slack", "T1", "U1")
COMMANDS = [
    "help",
    "link",
    "whoami",
    "list",
    "list 2",
    "list cat",
    "share img-000.png for 2 hours",
    "links",
    "delete img-001.png",
    "unlink",
    "frobnicate",
    "share nothing-like-this",
]


@pytest.fixture
def linked(services):
    owner = services.accounts.ensure_account("2001", "alice@example.com")
    services.accounts.link(ALICE, owner)
    for i in range(23):
        services.library.upload(owner, io.BytesIO(images.png(i)), filename=f"img-{i:03}.png")
    return owner


def assert_slack_accepts(message: dict) -> None:
    assert len(message["blocks"]) <= 50 and len(message["text"]) <= 4000
    for raw in message["blocks"]:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()


def assert_chat_accepts(message: dict) -> None:
    raw = json.dumps(message)
    assert len(raw.encode()) <= 32_000
    for card in message.get("cardsV2", []):
        assert sum(len(s["widgets"]) for s in card["card"]["sections"]) <= 100
    Message.from_json(raw, ignore_unknown_fields=False)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_reply_passes_slacks_and_chats_own_models(chat, linked, command):
    reply = chat.core.handle(Actor(ALICE, "Alice"), command)
    assert_slack_accepts(blocks.message(reply))
    for fmt in ("classic", "addon"):
        assert_chat_accepts(
            cards.message(reply, fmt=fmt, endpoint_url="https://cloudbox.example/gchat/events")
        )
    assert_chat_accepts(cards.message(reply, fmt="classic", endpoint_url="", viewer="users/123"))


def test_not_linked_and_the_app_home_pass_slacks_own_models(chat, services, linked):
    stranger = Actor(Identity("slack", "T1", "U9"))
    assert_slack_accepts(blocks.message(chat.core.not_linked(stranger)))
    home = HomeView(chat.core)
    for who in (ALICE, stranger.identity):
        view = home.view(who)
        assert len(view["blocks"]) <= 100
        View(**view).validate_json()
        for raw in view["blocks"]:
            parsed = Block.parse(raw)
            assert parsed is not None
            parsed.validate_json()
