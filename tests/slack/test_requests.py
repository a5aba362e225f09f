"""Inbound verification, retries and concurrency, App Home."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_bolt.request import BoltRequest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.ingest.worker import IngestWorker
from storage.model import Owner
from storage.models import ImageRow, IngestJobRow
from storage.services import Services
from tests.slack.helpers import SlackSender, dm_file_event
from tests.standins import images
from tests.standins.slack_api import FakeSlack, Team
from web_oauth.extensions import components_of


@pytest.fixture
def database_url(any_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_database_url


def _file_event(slack_api: FakeSlack, slack_team: Team) -> dict[str, Any]:
    fake = slack_api.add_file(slack_team, "once.png", images.png(99))
    return dm_file_event(slack_api, [slack_api.file_object(fake)])


@pytest.mark.parametrize(
    "tamper",
    ["bad_signature", "stale", "no_signature", "no_timestamp", "garbage_timestamp", "other_secret"],
)
def test_unverified_requests_are_refused_and_nothing_happens(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
    tamper: str,
) -> None:
    link("U1")
    body = json.dumps(
        {"type": "event_callback", "team_id": slack_team.team_id, "event": _file_event(slack_api, slack_team)}
    )
    now = int(time.time())
    if tamper == "bad_signature":
        answer = slack.post(body, "application/json", signature="v0=" + "0" * 64)
    elif tamper == "stale":
        answer = slack.post(body, "application/json", timestamp=now - 6 * 60)
    elif tamper == "other_secret":
        from slack_sdk.signature import SignatureVerifier

        forged = SignatureVerifier("not-the-secret").generate_signature(timestamp=str(now), body=body)
        answer = slack.post(body, "application/json", timestamp=now, signature=forged)
    elif tamper == "garbage_timestamp":
        answer = slack.post(body, "application/json", headers={"X-Slack-Request-Timestamp": "soon"})
    else:
        header = "X-Slack-Signature" if tamper == "no_signature" else "X-Slack-Request-Timestamp"
        answer = slack.post(body, "application/json", headers={header: None})
    assert answer.status == 401
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(IngestJobRow)) == 0
    ingest.drain()
    assert [c.method for c in slack_api.calls] == ["auth.test"]  # only Bolt's start-up check


@pytest.mark.e2e
def test_one_event_four_times_concurrently_saves_once_and_replies_once(
    live_slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    owner = link("U1")
    event = _file_event(slack_api, slack_team)
    # The first delivery and three retries (as Slack sends them), all at once, plus the same
    # file arriving through a second event (an app_mention of the same message).
    mention = {**event, "type": "app_mention"}
    mention.pop("subtype")
    with ThreadPoolExecutor(5) as pool:
        answers = list(
            pool.map(
                lambda n: (
                    live_slack.event(event, event_id="Ev0SAME", retry=n or None)
                    if n < 4
                    else live_slack.event(mention)
                ),
                range(5),
            )
        )
    assert [a.status for a in answers] == [200] * 5
    ingest.drain()

    assert services.library.list(owner).total == 1
    names = list(services.blobs.names(owner.prefix))
    assert len(names) == 2  # the original and its preview
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ImageRow)) == 1
        assert session.scalar(select(func.count()).select_from(IngestJobRow)) == 1
    assert len(slack_api.matching("file")) == 1
    replies = slack_api.matching("chat.postMessage") + slack_api.matching("chat.postEphemeral")
    assert len(replies) == 1


def test_app_home_shows_link_status_images_and_links(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    home_opened = {"type": "app_home_opened", "user": "U1", "channel": "D0001", "tab": "home"}
    slack.event(home_opened)
    (first,) = slack_api.wait_for("views.publish")
    view = first.args["view"]
    assert first.args["user_id"] == "U1" and view["type"] == "home"
    assert "not linked" in json.dumps(view)
    link_button = view["blocks"][-1]["elements"][0]
    assert link_button["url"].startswith("http://127.0.0.1:5000/link/")

    owner = link("U1")
    import io

    image = services.library.upload(owner, io.BytesIO(images.png(77)), filename="home.png").image
    services.shares.share(owner, image.id)
    slack.event(home_opened)
    second = slack_api.wait_for("views.publish", count=2)[1].args["view"]
    text = json.dumps(second)
    assert "sub-U1@example.com" in text and "home.png" in text
    assert any(b.get("accessory", {}).get("type") == "image" for b in second["blocks"])
    turn_off = [
        e
        for b in second["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "Turn off" in e["text"]["text"]
    ]
    assert turn_off

    # A click in Home has no response_url: the answer goes to the DM and Home is refreshed.
    slack.click(turn_off[0], in_home=True)
    dm = slack_api.wait_for("chat.postMessage")[0]
    assert dm.args["channel"] == "U1" and "Turned off" in dm.args["text"]
    slack_api.wait_for("views.publish", count=3)
    assert services.shares.links(owner) == []


def test_when_the_files_cannot_be_persisted_the_event_is_not_acknowledged(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    chat: Any,
    services: Services,
    link: Callable[..., Owner],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 500 makes Slack deliver the event again; a 200 would have promised work nobody kept."""
    owner = link("U1")
    event = _file_event(slack_api, slack_team)

    def catalog_down(files: Any) -> int:
        raise OperationalError("INSERT", {}, ConnectionRefusedError("catalog down"))

    with monkeypatch.context() as patch:
        patch.setattr(chat.queue, "enqueue", catalog_down)
        assert slack.event(event, event_id="EvDOWN").status == 500

    assert slack.event(event, event_id="EvDOWN", retry=1).status == 200  # Slack's redelivery
    chat.worker.drain()
    assert services.library.list(owner).total == 1


def test_over_socket_mode_bolt_saves_the_files_the_gate_saves_over_http(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    app: Any,
    chat: Any,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    """Socket Mode delivers events to Bolt directly; its listeners apply the same rule."""
    owner = link("U1")
    in_dm = slack_api.add_file(slack_team, "in-dm.png", images.png(97))
    in_channel = slack_api.add_file(slack_team, "in-channel.png", images.png(98))
    events = [
        dm_file_event(slack_api, [slack_api.file_object(in_dm)]),
        dm_file_event(slack_api, [slack_api.file_object(in_channel)], channel="C1", channel_type="channel"),
    ]
    front_end = components_of(app).front_ends["slack"]
    for event in events:
        request = BoltRequest(body=slack.envelope(event), mode="socket_mode")
        assert front_end.app.dispatch(request).status == 200

    chat.worker.drain()
    (image,) = services.library.list(owner).images
    assert image.name == "in-dm.png"  # the channel message did not mention the bot


def test_a_message_with_a_thousand_files_is_a_thousand_jobs_once(
    slack: SlackSender, slack_api: FakeSlack, slack_team: Team, services: Services, link: Callable[..., Owner]
) -> None:
    """Persisted in one executemany; Slack's redelivery of the same event adds nothing."""
    link("U1")
    one = slack_api.file_object(slack_api.add_file(slack_team, "same.png", b""))
    objects = [{**one, "id": f"F{n:05d}"} for n in range(1000)]  # never downloaded here
    event = dm_file_event(slack_api, objects)

    def jobs() -> int:
        with services.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(IngestJobRow)) or 0)

    assert slack.event(event, event_id="EvMANY").status == 200
    assert jobs() == 1000
    assert slack.event(event, event_id="EvMANY", retry=1).status == 200
    assert jobs() == 1000
