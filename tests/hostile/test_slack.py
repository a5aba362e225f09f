"""Hostile input at POST /slack/events: forged, replayed and malformed requests, and hostile files.

Every refused request must change nothing (no job, no image, no object, no reply) and leak
nothing (no signing secret, bot token or signature in the logs).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from storage.accounts import Identity
from storage.model import IMAGE_ID_RE
from tests.hostile.conftest import Stored
from tests.slack.helpers import SIGNING_SECRET, SlackSender, dm_file_event
from tests.standins import images

LIST_FORM = {
    "token": "legacy",
    "team_id": "T0001",
    "channel_id": "C1",
    "user_id": "U1",
    "command": "/cloudbox",
    "text": "list",
    "api_app_id": "A0CLOUDBOX",
    "trigger_id": "1.2.3",
}


def sign(body: str | bytes, timestamp: int | str, secret: str = SIGNING_SECRET) -> str:
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post_raw(client: Any, body: bytes | str, headers: dict[str, str]) -> Any:
    return client.post("/slack/events", data=body, headers=headers)


def markup(message: dict[str, Any]) -> list[str]:
    """Every string Slack parses as mrkdwn (where <!channel> and <url|text> are live): the
    message's `text` and each mrkdwn text object. plain_text and alt_text are shown as typed."""
    raw_blocks = message.get("blocks") or []
    found = [str(message.get("text") or "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(str(node.get("text")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(raw_blocks) if isinstance(raw_blocks, str) else raw_blocks)
    return found


def _secrets_absent(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


# -- signatures and timestamps ------------------------------------------------------------


def _forgeries(form: str, now: int) -> dict[str, dict[str, str]]:
    """Header sets for the same body, each of which Slack would never send."""
    good = sign(form, now)
    return {
        "signed with another secret": {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": sign(form, now, "not-the-secret"),
        },
        "replayed after the 5-minute window": {
            # A real signature over the real body, captured and re-sent 6 minutes later: the
            # attacker cannot re-sign, so the old timestamp travels with it.
            "X-Slack-Request-Timestamp": str(now - 360),
            "X-Slack-Signature": sign(form, now - 360),
        },
        "a day old": {
            "X-Slack-Request-Timestamp": str(now - 86400),
            "X-Slack-Signature": sign(form, now - 86400),
        },
        "from the future": {
            "X-Slack-Request-Timestamp": str(now + 360),
            "X-Slack-Signature": sign(form, now + 360),
        },
        "timestamp swapped under a valid signature": {
            "X-Slack-Request-Timestamp": str(now - 1),
            "X-Slack-Signature": good,
        },
        "no timestamp": {"X-Slack-Signature": good},
        "no signature": {"X-Slack-Request-Timestamp": str(now)},
        "no headers at all": {},
        "timestamp not a number": {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": good},
        "negative timestamp": {"X-Slack-Request-Timestamp": "-1", "X-Slack-Signature": sign(form, -1)},
        "huge timestamp": {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": sign(form, "9" * 40)},
        "empty signature": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": ""},
        "v1 scheme": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v1=" + good[3:]},
        "signature in upper case": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": good.upper()},
        "truncated signature": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": good[:-2]},
        "a latin-1 byte in the signature": {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": "v0=\u00ff" + good[4:],
        },
        "a superscript digit for a timestamp": {
            "X-Slack-Request-Timestamp": "\u00b2",
            "X-Slack-Signature": good,
        },
        "signature of the empty body": {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": sign("", now),
        },
    }


def test_forged_replayed_and_stale_requests_are_refused_and_change_nothing(
    client: Any, slack: SlackSender, stored: Stored, caplog: pytest.LogCaptureFixture
) -> None:
    # One app for the whole table (a table row is a loop turn, not a test: building an app
    # per row would take most of the battery's time budget).
    caplog.set_level(logging.DEBUG)
    response_url = slack.fake.response_url()
    form = urlencode({**LIST_FORM, "response_url": response_url})
    before = stored.snapshot()
    for forgery, forged in _forgeries(form, int(time.time())).items():
        headers = {"Content-Type": "application/x-www-form-urlencoded", **forged}
        answer = post_raw(client, form, headers)
        assert answer.status_code == 401, (forgery, answer.get_data(as_text=True))
        assert "invalid request" in answer.get_data(as_text=True), forgery
    assert stored.snapshot() == before
    assert not slack.fake.matching("response_url")
    _secrets_absent(caplog.text, SIGNING_SECRET, slack.team.bot_token)


def test_a_body_altered_after_signing_is_refused(client: Any, slack: SlackSender, stored: Stored) -> None:
    now = int(time.time())
    response_url = slack.fake.response_url()
    signed = urlencode({**LIST_FORM, "response_url": response_url})
    altered = urlencode({**LIST_FORM, "text": "delete everything", "response_url": response_url})
    for body in (altered, signed + "&user_id=U2", signed + " ", signed.replace("U1", "U2")):
        answer = post_raw(
            client,
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(now),
                "X-Slack-Signature": sign(signed, now),
            },
        )
        assert answer.status_code == 401
    assert not slack.fake.matching("response_url")
    assert stored.jobs() == 0


def test_a_file_share_event_with_a_forged_signature_queues_nothing(
    client: Any, slack: SlackSender, stored: Stored, person: Any
) -> None:
    person("ada", Identity("slack", "T0001", "U1"))
    fake = slack.fake.add_file(slack.team, "cat.png", images.png(1))
    envelope = json.dumps(
        {
            "team_id": "T0001",
            "api_app_id": "A0CLOUDBOX",
            "type": "event_callback",
            "event_id": "EvFORGED",
            "event": dm_file_event(slack.fake, [slack.fake.file_object(fake)]),
        }
    )
    now = int(time.time())
    for ts, secret in ((now, "guessed-secret"), (now - 301, SIGNING_SECRET)):
        answer = post_raw(
            client,
            envelope,
            {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": str(ts),
                "X-Slack-Signature": sign(envelope, ts, secret),
            },
        )
        assert answer.status_code == 401
    assert stored.jobs() == 0
    assert not slack.fake.matching("file")


def test_a_request_just_inside_the_window_is_still_accepted(slack: SlackSender) -> None:
    """The window is not shrunk to zero to pass the tests above: 4 minutes old still works."""
    response_url = slack.fake.response_url()
    form = urlencode({**LIST_FORM, "response_url": response_url})
    answer = slack.post(form, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 240)
    assert answer.status == 200
    slack.fake.wait_for("response_url")


# -- bodies -------------------------------------------------------------------------------


def test_url_verification_echoes_only_a_signed_challenge(client: Any, slack: SlackSender) -> None:
    body = json.dumps({"token": "legacy", "challenge": "c-123<script>", "type": "url_verification"})
    answer = slack.post(body, "application/json")
    assert answer.status == 200
    assert json.loads(answer.text) == {"challenge": "c-123<script>"} or answer.text == "c-123<script>"
    unsigned = post_raw(client, body, {"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert "c-123" not in unsigned.get_data(as_text=True)


def test_an_oversized_signed_body_is_refused_before_it_is_read(
    client: Any, slack: SlackSender, stored: Stored
) -> None:
    body = json.dumps({"type": "event_callback", "team_id": "T0001", "pad": "x" * (3 * 1024 * 1024)})
    answer = slack.post(body, "application/json")
    assert answer.status == 413
    assert stored.jobs() == 0


MALFORMED = {
    "json that is not json": ("{not json", "application/json"),
    "json array": ("[1, 2, 3]", "application/json"),
    "json string": ('"event_callback"', "application/json"),
    "json null": ("null", "application/json"),
    "event that is not an object": (
        json.dumps({"type": "event_callback", "team_id": "T0001", "event": "message"}),
        "application/json",
    ),
    "event with files that are not a list": (
        json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0001",
                "event_id": "EvX",
                "event": {
                    "type": "message",
                    "subtype": "file_share",
                    "channel_type": "im",
                    "user": "U1",
                    "channel": "D1",
                    "ts": "1.1",
                    "files": "cat.png",
                },
            }
        ),
        "application/json",
    ),
    "event with files of the wrong shape": (
        json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0001",
                "event_id": "EvY",
                "event": {
                    "type": "message",
                    "subtype": "file_share",
                    "channel_type": "im",
                    "user": "U1",
                    "channel": "D1",
                    "ts": "1.1",
                    "files": [1, None, "x", {"id": 5}, {"id": ["F1"]}],
                },
            }
        ),
        "application/json",
    ),
    "form payload that is not json": ("payload=%7Bnot+json", "application/x-www-form-urlencoded"),
    "form payload that is a list": ("payload=%5B%5D", "application/x-www-form-urlencoded"),
    "form that is binary": ("\x00\xff\xfe=\x01", "application/x-www-form-urlencoded"),
    "empty body": ("", "application/json"),
    "unknown content type": ("<xml/>", "application/xml"),
}


def test_malformed_signed_bodies_do_not_crash_or_store_anything(
    slack: SlackSender, stored: Stored, caplog: pytest.LogCaptureFixture, person: Any
) -> None:
    person("ada", Identity("slack", "T0001", "U1"))
    for case, (body, content_type) in MALFORMED.items():
        answer = slack.post(body, content_type)
        # Acknowledged (Slack would only retry otherwise) or refused as unreadable: never a crash.
        assert answer.status in (200, 400, 404), (case, answer.status, answer.text)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert stored.images() == 0
    assert SIGNING_SECRET not in caplog.text


def test_unsigned_garbage_is_refused_before_it_is_parsed(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: Bolt parsed the body before checking the signature, so anyone could make
    /slack/events answer 500 and log a traceback."""
    for body in ["{not json", "[1]", "null", "payload=%7Bnope", "payload=%5B%5D", "[" * 100_000]:
        _unsigned_is_refused(client, body)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def _unsigned_is_refused(client: Any, body: str) -> None:
    now = int(time.time())
    answer = post_raw(
        client,
        body,
        {
            "Content-Type": "application/json"
            if not body.startswith("payload")
            else "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": sign(body, now, "guessed"),
        },
    )
    assert answer.status_code == 401, body[:40]


# -- other workspaces ---------------------------------------------------------------------


def test_a_file_event_from_another_workspace_never_reaches_a_same_named_user(
    slack: SlackSender, stored: Stored, person: Any, ingest: Any, services: Any
) -> None:
    ada = person("ada", Identity("slack", "T0001", "U1"))
    other = slack.fake.add_team("T9999")
    fake = slack.fake.add_file(other, "theirs.png", images.png(9))
    envelope = {
        "token": "legacy",
        "team_id": "T9999",
        "api_app_id": "A0OTHER",
        "type": "event_callback",
        "event_id": "EvOTHER",
        "event_time": int(time.time()),
        "event": dm_file_event(slack.fake, [slack.fake.file_object(fake)], user="U1"),
    }
    answer = slack.post(json.dumps(envelope), "application/json")
    assert answer.status == 200
    ingest.drain()
    # U1 of T9999 is not U1 of T0001: Ada's library stays empty, nothing was stored.
    assert services.library.list(ada).total == 0
    assert stored.images() == 0


# -- many files, hostile names ------------------------------------------------------------


@pytest.mark.e2e  # ~15 s: 200 real downloads from the fake file host
def test_two_hundred_files_in_one_message_are_one_bounded_reply(
    slack: SlackSender, stored: Stored, person: Any, ingest: Any
) -> None:
    person("ada", Identity("slack", "T0001", "U1"))
    same = images.png(3)
    files = [slack.fake.add_file(slack.team, f"copy-{n}.png", same) for n in range(200)]
    event = dm_file_event(slack.fake, [slack.fake.file_object(f) for f in files])
    started = time.perf_counter()
    answer = slack.event(event)
    assert answer.status == 200
    assert time.perf_counter() - started < 3.0  # acknowledged within Slack's window
    ingest.drain(timeout=60)

    assert stored.images() == 1  # the same bytes 200 times: one image
    posts = slack.fake.wait_for("chat.postMessage")
    assert len(posts) == 1
    message = posts[0].args
    blocks = message["blocks"] if isinstance(message["blocks"], list) else json.loads(message["blocks"])
    assert len(blocks) <= 50
    assert len(message["text"]) <= 4000
    assert len(json.dumps(blocks)) < 100_000


HOSTILE_NAMES = [
    "../../../../etc/passwd.png",
    "..\\..\\windows\\system32\\cat.png",
    "/absolute/path.png",
    "nul\x00byte.png",
    "\u202egnp.exe",
    "line\nbreak\r\n.png",
    "a" * 1000 + ".png",
    "<!channel> look.png",
    "<!here|here>.png",
    "<@U2> ping.png",
    "*bold* _it_ ~s~ `code`.png",
    "<https://evil.example|click me>.png",
    "&lt;script&gt;.png",
    "<script>alert(1)</script>.png",
    "%2e%2e%2fescape.png",
    "",
    ".",
    "...",
]


def test_hostile_file_names_are_stored_safely_and_rendered_inert(
    slack: SlackSender, stored: Stored, person: Any, ingest: Any, services: Any
) -> None:
    ada = person("ada", Identity("slack", "T0001", "U1"))
    files = [
        slack.fake.add_file(slack.team, f"f{n}.png", images.png(100 + n)) for n in range(len(HOSTILE_NAMES))
    ]
    objects = []
    for fake, name in zip(files, HOSTILE_NAMES, strict=True):
        obj = slack.fake.file_object(fake)
        obj["name"] = obj["title"] = name
        objects.append(obj)
    assert slack.event(dm_file_event(slack.fake, objects)).status == 200
    ingest.drain()

    saved = services.library.list(ada, per_page=100).images
    assert len(saved) == len(HOSTILE_NAMES)
    for image in saved:
        assert "/" not in image.name and "\\" not in image.name
        assert not any(c in image.name for c in "\x00\r\n\u202e")
        assert 0 < len(image.name) <= 200
        assert image.name not in (".", "..")
    assert all(
        IMAGE_ID_RE.match(name.rsplit("/", 1)[-1].split(".")[0]) and name.startswith(ada.prefix)
        for name in stored.objects()
    )

    report = slack.fake.wait_for("chat.postMessage")[0].args
    rendered = "\n".join(markup(report))
    for raw in ("<!channel>", "<!here", "<@U2>", "<https://evil.example|", "<script>"):
        assert raw not in rendered
    assert "&lt;!channel&gt;" in rendered

    # The names come back escaped in every later reply too, including the public `share`.
    channel_image = next(i for i in saved if "channel" in i.name)
    answer, response_url = slack.command(f"share {channel_image.id}")
    assert answer.status == 200
    shared = slack.fake.wait_for("response_url", lambda c: c.path.endswith(response_url.rsplit("/", 1)[-1]))
    posted = "\n".join(markup(shared[0].args))
    assert shared[0].args.get("response_type") == "in_channel"
    assert "<!channel>" not in posted and "&lt;!channel&gt;" in posted
    answer, response_url = slack.command("list 1")
    listed = slack.fake.wait_for("response_url", lambda c: c.path.endswith(response_url.rsplit("/", 1)[-1]))
    assert "<https://evil.example|" not in "\n".join(markup(listed[0].args))


def test_a_body_that_is_not_utf8_is_refused_as_unsigned(client: Any, stored: Stored) -> None:
    """Slack signs UTF-8 text; other bytes are refused with 401, not a crash in the verifier."""
    ts = str(int(time.time()))
    body = b'{"type": "event_callback", "team_id": "T0001", "x": "\xff\xfe"}'
    signature = (
        "v0=" + hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, "sha256").hexdigest()
    )
    answer = post_raw(
        client,
        body,
        {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature},
    )
    assert answer.status_code == 401
    assert stored.jobs() == 0


@pytest.mark.parametrize("field", ["file id", "user", "channel", "team"])
def test_over_long_ids_are_ignored_not_a_500_that_slack_would_send_again(
    slack: SlackSender, stored: Stored, person: Any, field: str
) -> None:
    """Columns hold 255 characters; a longer id must not fail the insert (500, redelivered)."""
    person("ada", Identity("slack", "T0001", "U1"))
    good = slack.fake.file_object(slack.fake.add_file(slack.team, "ok.png", images.png(5)))
    long_id = "F" + "9" * 300
    event = dm_file_event(slack.fake, [good])
    if field == "file id":
        event["files"] = [{**good, "id": long_id}, good]
    elif field == "user":
        event["user"] = "U" + "1" * 300
    elif field == "channel":
        event["channel"] = "D" + "1" * 300
    envelope = slack.envelope(event)
    if field == "team":
        envelope["team_id"] = "T" + "1" * 300
        envelope["authorizations"][0]["team_id"] = envelope["team_id"]
    answer = slack.post(json.dumps(envelope), "application/json")
    assert answer.status == 200
    assert stored.jobs() == (1 if field == "file id" else 0)  # the well-formed file is kept
