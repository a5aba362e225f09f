"""A message with up to 100 files is saved whole and answered in one reply Slack accepts.

Every reply is parsed with Slack's own Block Kit models (slack_sdk.models) and held to Slack's
documented limits: 50 blocks a message, 3,000 characters a section.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.models.blocks import Block, SectionBlock

from bot.ingest.worker import IngestWorker
from storage.model import Owner
from storage.services import Services
from tests.slack.helpers import SlackSender, dm_file_event
from tests.standins import images
from tests.standins.slack_api import FakeSlack, Team


def blocks_of(args: dict[str, Any]) -> list[dict[str, Any]]:
    raw = args["blocks"]
    return list(json.loads(raw) if isinstance(raw, str) else raw)


def assert_slack_accepts(args: dict[str, Any]) -> list[Block]:
    raw = blocks_of(args)
    assert len(raw) <= 50
    parsed = [Block.parse(b) for b in raw]
    for block in parsed:
        assert block is not None
        block.validate_json()  # raises SlackObjectFormationError past a documented limit
        if isinstance(block, SectionBlock) and block.text is not None:
            assert len(block.text.text) <= 3000
    assert len(str(args["text"])) <= 4000
    return [b for b in parsed if b is not None]


@pytest.mark.parametrize("count", [1, 10, 26, 40, 100])
def test_a_message_with_many_images_is_saved_whole_and_reported_within_slacks_limits(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
    count: int,
) -> None:
    owner = link("U1")
    refused = 3 if count >= 26 else 0
    files = [
        slack_api.add_file(slack_team, f"img-{i:03}.png", images.png(seed=i)) for i in range(count - refused)
    ]
    files += [
        slack_api.add_file(slack_team, f"doc-{i}.pdf", images.pdf(), mimetype="application/pdf")
        for i in range(refused)
    ]
    assert slack.event(dm_file_event(slack_api, [slack_api.file_object(f) for f in files])).status == 200
    ingest.drain(timeout=120)

    assert services.library.list(owner).total == count - refused
    (reply,) = slack_api.wait_for("chat.postMessage")
    assert_slack_accepts(reply.args)
    everything = str(reply.args["text"]) + json.dumps(blocks_of(reply.args))
    if count > 10:
        assert f"Saved {count - refused} files of {count}; {refused} not saved." in everything
        assert f"and {count - refused - 10} more" in everything  # the rest are counted and linked
        assert services.settings.base_url in everything
    for i in range(min(count - refused, 10)):
        assert f"img-{i:03}.png" in everything
    for i in range(refused):
        assert f"doc-{i}.pdf" in everything


def test_a_reply_slack_refuses_is_followed_by_a_shorter_one(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    link: Callable[..., Owner],
) -> None:
    link("U1")
    slack_api.refuse_blocks = 1
    fake = slack_api.add_file(slack_team, "beach.png", images.png(seed=3))
    assert slack.event(dm_file_event(slack_api, [slack_api.file_object(fake)])).status == 200
    ingest.drain()
    refused, accepted = slack_api.wait_for("chat.postMessage", count=2)
    assert "beach.png" in str(refused.args["text"])
    assert "beach.png" in str(accepted.args["text"]) and len(blocks_of(accepted.args)) <= 1
