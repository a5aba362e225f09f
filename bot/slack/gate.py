"""The gate in front of POST /slack/events: verify first, and acknowledge file messages at once.

Every request to the path is checked here, before Flask or Bolt read it: a bounded body, the
signature over the raw bytes with a fresh timestamp, and a body Bolt can parse (Bolt parses
before it verifies, and a body that is not a JSON object makes it answer 500).

Messages with files to save are the requests that come in bursts (someone drops twenty
photos on the bot), and Slack wants each answered within 3 s or it delivers it again. For
them the gate persists the ingest jobs and answers 200 itself: Flask's request machinery and
Bolt's middleware chain would add about half of the ack's cost and do nothing the gate has not
done. Everything else (slash commands, buttons, shortcuts, other events, url_verification)
goes on to Flask and Bolt, with the body that was read put back.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk.signature import SignatureVerifier
from werkzeug.wrappers import Response
from werkzeug.wsgi import get_input_stream

from storage.ingest_queue import IncomingFile

from .private_apis import parse_body

log = logging.getLogger(__name__)

PATH = "/slack/events"
# Slack's payloads are kilobytes (a message with its ten files, a modal's state); anything
# near this is not from Slack, and is refused before it is read.
MAX_BODY = 2 * 1024 * 1024

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class SlackEventGate:
    """WSGI middleware: verifies POST /slack/events, saves file messages, passes the rest on."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        signing_secret: str,
        files_to_save: Callable[[dict[str, Any]], list[IncomingFile]],
        persist: Callable[[list[IncomingFile]], None],
    ):
        self._app = app
        self._verifier = SignatureVerifier(signing_secret)
        self._files_to_save = files_to_save
        self._persist = persist

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self._app(environ, start_response)
        raw = _read_bounded(environ)
        if raw is None:
            return _answer(environ, start_response, 413, "too large")
        text = self._signed_text(raw, environ)
        if text is None:
            return _answer(environ, start_response, 401, "invalid request")
        body = _parse(text, environ.get("CONTENT_TYPE"))
        if body is None:
            return _answer(environ, start_response, 400, "unreadable body")
        files = self._files_to_save(body)
        if files:
            return self._save(files, environ, start_response)
        _put_back(environ, raw)
        return self._app(environ, start_response)

    def _signed_text(self, raw: bytes, environ: dict[str, Any]) -> str | None:
        """The body as text when Slack signed it, with a fresh timestamp; None otherwise.

        One refusal for every way a request can fail to be Slack's, before anything parses the
        body (Bolt answers 500 to a timestamp that is not a number). ASCII only: "²" is a digit
        to isdigit() but not to int(), and the verifier's compare_digest raises on a non-ASCII
        signature. Slack signs UTF-8 text, so other bytes cannot carry its signature.
        """
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        text = _utf8(raw)
        if (
            timestamp.isascii()
            and timestamp.isdigit()
            and signature.isascii()
            and text is not None
            and self._verifier.is_valid(text, timestamp, signature)
        ):
            return text
        return None

    def _save(
        self, files: list[IncomingFile], environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        try:
            self._persist(files)
        except Exception:
            # Not acknowledged, so Slack delivers the event again (and again, for an hour).
            log.exception("could not persist %d Slack file(s); answering 500", len(files))
            return _answer(environ, start_response, 500, "try again")
        return _answer(environ, start_response, 200, "")


def _read_bounded(environ: dict[str, Any]) -> bytes | None:
    """The whole body, or None when it is (or says it is) larger than MAX_BODY."""
    declared = environ.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    raw = get_input_stream(environ, safe_fallback=True, max_content_length=MAX_BODY).read(MAX_BODY + 1)
    return None if len(raw) > MAX_BODY else raw


def _put_back(environ: dict[str, Any], raw: bytes) -> None:
    """The body was read: hand Flask and Bolt the same bytes (Bolt verifies them again)."""
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = False


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _parse(text: str, content_type: str | None) -> dict[str, Any] | None:
    """The body as Bolt parses it (its own parse_body), when that is an object whose `event`
    (if any) is one too: on anything else Bolt would fail with a 500 instead of a refusal."""
    try:
        body = parse_body(text, content_type)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("event", {}), dict):
        return None
    return body


def _answer(
    environ: dict[str, Any], start_response: StartResponse, status: int, text: str
) -> Iterable[bytes]:
    response = Response(
        text,
        status=status,
        mimetype="text/plain",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
    return response(environ, start_response)
