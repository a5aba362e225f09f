"""A Chat message with up to 100 attachments is saved whole and reported in a message Chat takes.

Every report is parsed with the proto types of Google's google-apps-chat package, unknown fields
refused, and held to Chat's limits (32,000 bytes a message, 100 widgets a card), which the Chat
stand-in enforces with a 400 as Chat does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from google.apps.chat_v1.types import Message

from storage.model import Owner
from storage.services import Services
from tests.standins import images
from tests.standins.gchat import MAX_CARD_WIDGETS, MAX_MESSAGE_BYTES, GchatStandin

from . import events as ev
from .test_endpoint import ADA, send_images


def assert_chat_accepts(message: dict[str, Any]) -> Message:
    raw = json.dumps(message)
    assert len(raw.encode()) <= MAX_MESSAGE_BYTES
    for card in message.get("cardsV2", []):
        assert sum(len(s["widgets"]) for s in card["card"]["sections"]) <= MAX_CARD_WIDGETS
    return Message.from_json(raw, ignore_unknown_fields=False)  # raises on a field Chat does not know


@pytest.mark.parametrize("count", [1, 10, 26, 40, 100])
def test_a_message_with_many_attachments_is_saved_whole_and_reported_within_chats_limits(
    post: Callable[..., Any],
    google: GchatStandin,
    ingest: Any,
    services: Services,
    link: Callable[..., Owner],
    count: int,
) -> None:
    owner = link(ADA)
    refused = 3 if count >= 26 else 0
    files = [(f"img-{i:03}.png", "image/png", images.png(seed=i)) for i in range(count - refused)]
    files += [(f"doc-{i}.pdf", "image/png", images.pdf()) for i in range(refused)]
    assert post(send_images(google, ev.classic_message, *files)).status_code == 200
    ingest.drain(timeout=120)

    assert services.library.list(owner).total == count - refused
    [report] = google.wait_for_posts(1)
    parsed = assert_chat_accepts(report["message"])
    everything = json.dumps(report["message"])
    if count > 10:
        assert f"Saved {count - refused} files of {count}; {refused} not saved." in parsed.text
        assert f"and {count - refused - 10} more" in everything
    for i in range(min(count - refused, 10)):
        assert f"img-{i:03}.png" in everything


def test_a_report_chat_refuses_is_followed_by_a_shorter_one(
    post: Callable[..., Any], google: GchatStandin, ingest: Any, link: Callable[..., Owner]
) -> None:
    link(ADA)
    google.state.refuse_cards = 1
    assert (
        post(send_images(google, ev.classic_message, ("cat.png", "image/png", images.png(1)))).status_code
        == 200
    )
    ingest.drain(timeout=30)
    [report] = google.wait_for_posts(1)
    assert "cardsV2" not in report["message"] and "cat.png" in report["message"]["text"]
    assert_chat_accepts(report["message"])
