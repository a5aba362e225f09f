"""Hostile input at POST /gchat/events: forged tokens, malformed events, hostile attachments."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import posixpath
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from storage.accounts import Identity
from tests.gchat.conftest import PROJECT_NUMBER
from tests.gchat.events import ADA, ROOM, attachment, classic_message, classic_slash
from tests.hostile.conftest import Stored
from tests.standins import images
from tests.standins.gchat import CHAT_ISSUER, ChatSigner, GchatStandin

ADA_ID = Identity("gchat", ADA["domainId"], ADA["name"])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest() if key else b""
    return signing_input + "." + b64(signature)


@functools.cache
def _impostor(kid: str) -> ChatSigner:
    return ChatSigner.make(kid)


def forged_tokens(signer: ChatSigner) -> dict[str, str | None]:
    now = int(time.time())
    claims = {"iss": CHAT_ISSUER, "aud": PROJECT_NUMBER, "iat": now, "exp": now + 3600}
    impostor = _impostor(signer.kid)  # same key id, another private key
    good = signer.chat_token(PROJECT_NUMBER)
    head, body, _ = good.split(".")
    return {
        "no header": None,
        "empty bearer": "Bearer ",
        "basic scheme": "Basic " + good,
        "alg none": "Bearer " + hand_made({"alg": "none", "kid": signer.kid}, claims, None),
        "alg none, no signature part": "Bearer "
        + b64(json.dumps({"alg": "none"}).encode())
        + "."
        + b64(json.dumps(claims).encode())
        + ".",
        # The classic confusion: HMAC keyed with the public certificate everyone can download.
        "HS256 keyed with the public certificate": "Bearer "
        + hand_made({"alg": "HS256", "kid": signer.kid}, claims, signer.cert_pem.encode()),
        "wrong audience": "Bearer " + signer.chat_token("999999999999"),
        "audience as a list with ours": "Bearer " + signer.mint({**claims, "aud": ["999", PROJECT_NUMBER]}),
        "wrong issuer": "Bearer " + signer.mint({**claims, "iss": "evil@attacker.example"}),
        "google id token instead of a chat token": "Bearer " + signer.id_token(PROJECT_NUMBER),
        "expired": "Bearer " + signer.mint({**claims, "iat": now - 7200, "exp": now - 3600}),
        "issued in the future": "Bearer " + signer.mint({**claims, "iat": now + 3600, "exp": now + 7200}),
        "unknown kid": "Bearer " + signer.mint(claims, kid="made-up"),
        "kid path traversal": "Bearer " + signer.mint(claims, kid="../../etc/passwd"),
        "bad signature": "Bearer " + impostor.chat_token(PROJECT_NUMBER),
        "signature stripped": f"Bearer {head}.{body}.",
        "claims swapped under a good signature": "Bearer "
        + head
        + "."
        + b64(json.dumps({**claims, "aud": PROJECT_NUMBER, "sub": "admin"}).encode())
        + "."
        + good.split(".")[2],
        "oversized token": "Bearer " + "a" * 5000 + "." + "b" * 5000 + "." + "c" * 100,
        "not base64": "Bearer !!!.???.***",
        "a latin-1 byte in the token": "Bearer " + head + ".\u00ff" + body + "." + good.split(".")[2],
        "a latin-1 byte in the scheme": "B\u00e9arer " + good,
    }


FORGERY_NAMES = list(forged_tokens(_impostor("x")))


@pytest.mark.parametrize("forgery", FORGERY_NAMES)
def test_forged_chat_tokens_are_refused_and_nothing_runs(
    forgery: str,
    chat_signer: ChatSigner,
    chat_post: Callable[..., Any],
    stored: Stored,
    person: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    person("ada", ADA_ID)
    authorization = forged_tokens(chat_signer)[forgery]
    headers = {} if authorization is None else {"Authorization": authorization}
    before = stored.snapshot()

    answer = chat_post(classic_message(attachments=[attachment()]), headers=headers)

    assert answer.status_code == 401
    assert answer.get_json() == {"error": "unauthorized"}
    assert stored.snapshot() == before
    refusals = [r.getMessage() for r in caplog.records if "refused a request" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].split(": ", 1)[1]  # a reason is logged...
    if authorization and len(authorization) > 20:
        assert authorization.split(" ", 1)[1] not in caplog.text  # ...the token never


MALFORMED_BODIES: dict[str, bytes] = {
    "not json": b"{not json",
    "json array": b"[]",
    "json string": b'"MESSAGE"',
    "json null": b"null",
    "empty object": b"{}",
    "type is a number": json.dumps({"type": 5}).encode(),
    "chat is a list": json.dumps({"chat": []}).encode(),
    "message is a list": json.dumps({"type": "MESSAGE", "message": [], "user": ADA}).encode(),
    "user is a string": json.dumps(
        {"type": "MESSAGE", "user": "users/1", "message": {"text": "list"}}
    ).encode(),
    "attachment is a number": json.dumps(
        {"type": "MESSAGE", "user": ADA, "space": ROOM, "message": {"attachment": 5}}
    ).encode(),
    "attachment is a string": json.dumps(
        {"type": "MESSAGE", "user": ADA, "space": ROOM, "message": {"attachment": "x.png"}}
    ).encode(),
    "attachment is an object": json.dumps(
        {"type": "MESSAGE", "user": ADA, "space": ROOM, "message": {"attachment": {"name": "a"}}}
    ).encode(),
    "attachment items are not objects": json.dumps(
        {"type": "MESSAGE", "user": ADA, "space": ROOM, "message": {"attachment": [1, None, "x"]}}
    ).encode(),
    "annotations is a number": json.dumps(
        {"type": "MESSAGE", "user": ADA, "space": ROOM, "message": {"text": "hi", "annotations": 3}}
    ).encode(),
    "action parameters is a number": json.dumps(
        {"type": "CARD_CLICKED", "user": ADA, "space": ROOM, "action": {"parameters": 3}}
    ).encode(),
    "common parameters is a list": json.dumps(
        {"type": "CARD_CLICKED", "user": ADA, "space": ROOM, "common": {"parameters": ["x"]}}
    ).encode(),
    "addon payload is a string": json.dumps({"chat": {"user": ADA, "messagePayload": "x"}}).encode(),
    "deeply nested": b'{"type": "MESSAGE", "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "unicode garbage": b'{"type": "MESSAGE", "user": {"name": "users/\\ud800"}}',
}


def test_malformed_events_are_answered_without_a_crash(
    chat_post: Callable[..., Any], stored: Stored, person: Any, caplog: pytest.LogCaptureFixture
) -> None:
    person("ada", ADA_ID)
    for case, body in MALFORMED_BODIES.items():
        answer = chat_post(data=body)
        assert answer.status_code in (200, 400), (case, answer.status_code)
        if answer.status_code == 400:
            assert answer.get_json() == {"error": "bad event"}, case
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert stored.images() == 0


def test_an_oversized_event_is_refused_before_it_is_read(
    chat_post: Callable[..., Any], stored: Stored
) -> None:
    body = json.dumps({"type": "MESSAGE", "pad": "x" * (3 * 1024 * 1024)}).encode()
    assert chat_post(data=body).status_code == 413
    assert stored.jobs() == 0


def test_events_missing_their_user_or_space_do_nothing(
    chat_post: Callable[..., Any], stored: Stored, person: Any
) -> None:
    person("ada", ADA_ID)
    no_user = classic_message("list", attachments=[attachment()])
    del no_user["user"]
    del no_user["message"]["sender"]
    assert chat_post(no_user).get_json() == {}
    bot_sender = classic_message(attachments=[attachment()], user={**ADA, "type": "BOT"})
    bot_sender["message"]["sender"] = {**ADA, "type": "BOT"}
    assert chat_post(bot_sender).get_json() == {}
    assert stored.jobs() == 0


# -- attachments that point elsewhere ----------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, list[str]]]:
    """Another host on the machine; CloudBox must never send it a request."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return None

        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            data = images.png(77)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_attachment_references_cannot_reach_another_host_or_path(
    elsewhere: tuple[str, list[str]],
    chat_post: Callable[..., Any],
    google_chat: GchatStandin,
    stored: Stored,
    person: Any,
    ingest: Any,
) -> None:
    host, seen = elsewhere
    person("ada", ADA_ID)
    references = [
        "../../certs",
        "resource/../../certs",
        "resource/..",
        f"http://{host}/steal.png",
        f"https://{host}/steal.png",
        f"//{host}/steal.png",
        f"@{host}/steal.png",
        f"\\\\{host}\\steal.png",
        "%2e%2e/%2e%2e/certs",
        "resource?alt=json#",
        "resource/\r\nHost: evil",
        "/" * 5000,
    ]
    google_chat.add_media("resource/real", images.png(5))
    attachments = []
    for ref in references:
        item = attachment("ref.png")
        item["attachmentDataRef"]["resourceName"] = ref
        attachments.append(item)
    assert chat_post(classic_message(attachments=attachments)).status_code == 200
    ingest.drain()

    assert seen == []  # the other host never heard from us
    for request in google_chat.state.requests:
        assert request.path.startswith(("/v1/media/", "/v1/spaces/")), request.path
        # What the stand-in saw, decoded once as a server would: still inside /v1/media/.
        assert posixpath.normpath(unquote(request.path)).startswith(("/v1/media/", "/v1/spaces/"))
    assert stored.images() == 0 and stored.objects() == []
    card = google_chat.wait_for_posts(1)[0]["message"]
    assert "Not saved" in json.dumps(card)


def test_a_message_with_two_hundred_attachments_is_one_answer_and_one_card(
    chat_post: Callable[..., Any], google_chat: GchatStandin, stored: Stored, person: Any, ingest: Any
) -> None:
    person("ada", ADA_ID)
    attachments = [attachment(f"d{n}.png", drive=True) for n in range(200)]
    started = time.perf_counter()
    answer = chat_post(classic_message(attachments=attachments))
    assert time.perf_counter() - started < 5
    assert "200" in answer.get_json()["text"]
    ingest.drain()
    posts = google_chat.wait_for_posts(1)
    assert len(posts) == 1
    assert len(posts[0]["message"]["text"]) <= 4096
    assert stored.images() == 0
    assert google_chat.media_requests() == []  # Drive files are refused without a download


# -- names rendered in Chat ---------------------------------------------------------------


def test_file_names_cannot_mention_everyone_or_plant_links_in_chat(
    chat_post: Callable[..., Any], google_chat: GchatStandin, person: Any, ingest: Any, services: Any
) -> None:
    ada = person("ada", ADA_ID)
    # Names lose everything up to their last slash, so `<users/all>` arrives as `all>`; a link
    # needs no slash, though: `<mailto:…|label>` is live markup in Chat message text.
    names = ["<users/all> urgent.png", "<mailto:ceo@evil.example|Payroll>.png", "<users/123>.png"]
    attachments = []
    for n, name in enumerate(names):
        item = attachment(name)
        google_chat.add_media(item["attachmentDataRef"]["resourceName"], images.png(200 + n))
        attachments.append(item)
    chat_post(classic_message(attachments=attachments, space=ROOM))
    ingest.drain()
    report = google_chat.wait_for_posts(1)[0]["message"]
    for image in services.library.list(ada).images:
        shared = chat_post(classic_slash(f"share {image.id}", space=ROOM)).get_json()
        assert "privateMessageViewer" not in shared  # public, in the space
        for text in (shared["text"], report["text"]):
            assert "<" not in text and ">" not in text
