"""Images sent to the bot are saved: DMs, mentions, the shortcut, Slack Connect; hostile files refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.ingest.worker import IngestWorker
from storage.model import Owner
from storage.services import Services
from tests.slack.helpers import SlackSender, dm_file_event
from tests.standins import images
from tests.standins.slack_api import Call, FakeSlack, Team
from web_oauth.extensions import components_of


def reply_text(call: Call) -> str:
    return str(call.args["text"]) + str(call.args.get("blocks"))


@pytest.mark.parametrize(
    ("name", "data", "mimetype", "content_type"),
    [
        ("photo.png", images.png(1), "image/png", "image/png"),
        ("photo.jpg", images.jpeg(2), "image/jpeg", "image/jpeg"),
        ("IMG_0001.HEIC", images.heic(), "image/heic", "image/heic"),
        ("anim.gif", images.gif(), "image/gif", "image/gif"),
    ],
)
def test_image_in_a_dm_is_saved_and_the_thread_gets_one_reply(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
    name: str,
    data: bytes,
    mimetype: str,
    content_type: str,
) -> None:
    owner = link("U1")
    fake = slack_api.add_file(slack_team, name, data, mimetype=mimetype)
    event = dm_file_event(slack_api, [slack_api.file_object(fake)])
    assert slack.event(event).status == 200
    ingest.drain()

    page = services.library.list(owner)
    assert page.total == 1
    image = page.images[0]
    assert image.content_type == content_type and image.name == name
    downloads = slack_api.matching("file")
    assert downloads and all(c.token == slack_team.bot_token for c in downloads)
    (reply,) = slack_api.wait_for("chat.postMessage")
    assert reply.args["channel"] == "D0001" and reply.args["thread_ts"] == event["ts"]
    assert image.id in reply.args["text"] and name in reply.args["text"]


def test_several_files_in_a_thread_get_one_reply_with_each_outcome(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    owner = link("U1")
    good = slack_api.add_file(slack_team, "a.png", images.png(11))
    pdf = slack_api.add_file(slack_team, "report.png", images.pdf(), mimetype="image/png")
    big = slack_api.add_file(slack_team, "huge.png", images.png(12))
    big_object = {**slack_api.file_object(big), "size": 3 * 1024 * 1024}  # over the 2 MB test limit
    event = dm_file_event(
        slack_api,
        [slack_api.file_object(good), slack_api.file_object(pdf), big_object],
        thread_ts="1700000000.000100",
    )
    slack.event(event)
    ingest.drain()

    assert services.library.list(owner).total == 1
    (reply,) = slack_api.wait_for("chat.postMessage")
    assert reply.args["thread_ts"] == "1700000000.000100"
    text = reply_text(reply)
    assert "a.png" in text
    assert "report.png" in text and "PDF" in text
    assert "huge.png" in text and "2 MB limit" in text
    # The oversize file was refused from its declared size: never downloaded.
    assert not slack_api.matching("file", lambda c: big.id in c.path)


def test_over_the_limit_by_bytes_is_refused(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    owner = link("U1")
    payload = images.png(3) + b"\0" * (2 * 1024 * 1024 + 10)
    fake = slack_api.add_file(slack_team, "lies.png", payload)
    small_claim = {**slack_api.file_object(fake), "size": 100}  # the event understates the size
    slack.event(dm_file_event(slack_api, [small_claim]))
    ingest.drain()
    assert services.library.list(owner).total == 0
    assert "limit" in reply_text(slack_api.wait_for("chat.postMessage")[0])


@pytest.mark.parametrize("answer", ["html", "wrong_token"])
def test_login_page_answer_is_a_refusal(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
    answer: str,
) -> None:
    owner = link("U1")
    other = slack_api.add_team("T0999")  # a file of another workspace: our token gets a 302
    fake = slack_api.add_file(
        other if answer == "wrong_token" else slack_team,
        "p.png",
        images.png(4),
        answer="html" if answer == "html" else "file",
    )
    slack.event(dm_file_event(slack_api, [slack_api.file_object(fake)]))
    ingest.drain()
    assert services.library.list(owner).total == 0
    assert "sign-in page" in reply_text(slack_api.wait_for("chat.postMessage")[0])
    assert not slack_api.matching("login")  # the redirect was not followed


def test_file_on_a_host_that_is_not_allowed_is_never_fetched(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    owner = link("U1")
    fake = slack_api.add_file(slack_team, "evil.png", images.png(5))
    # Same fake server, but named "localhost": not in SLACK_FILE_HOSTS (127.0.0.1).
    slack.event(dm_file_event(slack_api, [slack_api.file_object(fake, host="localhost")]))
    ingest.drain()
    assert services.library.list(owner).total == 0
    assert "not on a Slack file host" in reply_text(slack_api.wait_for("chat.postMessage")[0])
    assert slack_api.matching("file") == []
    assert not [c for c in slack_api.calls if c.host.startswith("localhost")]


def test_redirect_to_another_host_is_not_followed(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    link("U1")
    fake = slack_api.add_file(slack_team, "hop.png", images.png(6), answer="redirect_away")
    slack.event(dm_file_event(slack_api, [slack_api.file_object(fake)]))
    ingest.drain()
    slack_api.wait_for("chat.postMessage")
    assert len(slack_api.matching("file")) == 1
    assert not [c for c in slack_api.calls if c.host.startswith("localhost")]


def test_slack_connect_files_are_looked_up_with_files_info(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    owner = link("U1")
    fake = slack_api.add_file(slack_team, "connect.png", images.png(7))
    stub = {
        "id": fake.id,
        "mode": "file_access",
        "file_access": "check_file_info",
        "created": 1,
        "user": "U1",
    }
    slack.event(dm_file_event(slack_api, [stub]))
    ingest.drain()
    (info,) = slack_api.matching("files.info")
    assert info.args["file"] == fake.id and info.token == slack_team.bot_token
    assert services.library.list(owner).total == 1


def test_files_in_a_channel_are_saved_only_when_the_bot_is_mentioned(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    owner = link("U1")
    plain = slack_api.add_file(slack_team, "chatter.png", images.png(8))
    channel_share = dm_file_event(
        slack_api, [slack_api.file_object(plain)], channel="C0001", channel_type="channel"
    )
    slack.event(channel_share)
    ingest.drain()
    assert services.library.list(owner).total == 0

    mentioned = slack_api.add_file(slack_team, "keep.png", images.png(9))
    slack.event(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C0001",
            "text": f"<@{slack_team.bot_user_id}> keep this",
            "ts": "1700000001.000200",
            "files": [slack_api.file_object(mentioned)],
        }
    )
    ingest.drain()
    assert [i.name for i in services.library.list(owner).images] == ["keep.png"]
    (reply,) = slack_api.wait_for("chat.postEphemeral")
    assert reply.args["user"] == "U1" and reply.args["thread_ts"] == "1700000001.000200"


def test_shortcut_saves_the_files_of_someone_elses_message(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    author = link("U1")
    saver = link("U2")
    fake = slack_api.add_file(slack_team, "team-photo.jpg", images.jpeg(5), mimetype="image/jpeg")
    message: dict[str, Any] = {
        "type": "message",
        "user": "U1",
        "ts": "1700000002.000300",
        "files": [slack_api.file_object(fake)],
    }
    answer, _ = slack.shortcut(message, user="U2", channel="CNOTIN1")
    assert answer.status == 200
    ingest.drain()
    assert services.library.list(saver).total == 1
    assert services.library.list(author).total == 0
    # Not a member of that channel: the private reply falls back to the app's DM.
    slack_api.wait_for("chat.postEphemeral")
    (dm,) = slack_api.wait_for("chat.postMessage")
    assert dm.args["channel"] == "U2" and "team-photo.jpg" in dm.args["text"]

    # Running it again is harmless and says so.
    _, again_url = slack.shortcut(message, user="U2", channel="CNOTIN1")
    again = slack_api.wait_for("response_url", lambda c: again_url.endswith(c.path))[0]
    assert "already saved" in again.args["text"]
    ingest.drain()
    assert services.library.list(saver).total == 1


def test_shortcut_on_a_message_without_files(slack: SlackSender, slack_api: FakeSlack) -> None:
    _, url = slack.shortcut({"type": "message", "user": "U1", "ts": "1.1", "text": "hi"})
    assert "no files" in slack_api.wait_for("response_url", lambda c: url.endswith(c.path))[0].args["text"]


def test_not_linked_sender_is_asked_privately_and_files_are_saved_after_linking(
    app: Any,
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    services: Services,
    link: Callable[..., Owner],
) -> None:
    files = [slack_api.add_file(slack_team, f"early-{i}.png", images.png(20 + i)) for i in range(2)]
    slack.event(dm_file_event(slack_api, [slack_api.file_object(f) for f in files]))
    ingest.drain()
    (ask,) = slack_api.wait_for("chat.postMessage")
    text = reply_text(ask)
    assert "/link/" in text and "2 files" in text and "an hour" in text
    assert slack_api.matching("file") == []

    owner = link("U1")
    from storage.accounts import Identity, LinkMade

    for hook in components_of(app).on_linked:
        hook(LinkMade(Identity("slack", slack_team.team_id, "U1"), owner.email))
    ingest.drain()
    assert services.library.list(owner).total == 2
    told, done = slack_api.wait_for("chat.postMessage", count=3)[1:]
    assert told.args["channel"] == "U1" and owner.email in told.args["text"]
    assert "linked" in done.args["text"] and "early-0.png" in done.args["text"]


def test_a_429_is_waited_out(
    slack: SlackSender,
    slack_api: FakeSlack,
    slack_team: Team,
    ingest: IngestWorker,
    link: Callable[..., Owner],
) -> None:
    link("U1")
    slack_api.rate_limit("chat.postMessage")
    fake = slack_api.add_file(slack_team, "a.png", images.png(30))
    slack.event(dm_file_event(slack_api, [slack_api.file_object(fake)]))
    ingest.drain()
    posts = slack_api.wait_for("chat.postMessage", count=2)
    assert len(posts) == 2  # the 429, then the retry that went through
