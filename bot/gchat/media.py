"""The Chat API as the bot uses it: download an attachment's bytes, post a message.

Both calls authenticate as the app (service-account credentials with the chat.bot scope, from
GCHAT_CREDENTIALS or the application default credentials). Downloads are streamed: the library
reads the response in bounded chunks and enforces the size limit while it reads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO
from urllib.parse import quote

import google.auth
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

from bot.core import messages
from storage.errors import Rejected
from storage.ingest_queue import Job
from storage.settings import Settings
from storage.words import larger_than

from .file_ref import ChatFileRef

log = logging.getLogger(__name__)

CHAT_BOT_SCOPE = "https://www.googleapis.com/auth/chat.bot"
TIMEOUT = (5.0, 60.0)  # connect, read (between chunks)
_RESERVED = "/:@!$&'()*+,;="  # the media path is {+resourceName}: reserved characters stay


class ChatApiUnavailable(Exception):
    """A transient Chat API failure (5xx, 429, network): the ingest worker retries later."""


class ChatApiRefused(RuntimeError):
    """Chat refused the message itself (a 4xx: too large, a malformed card): sending it again
    would fail again."""


def chat_credentials(settings: Settings) -> Credentials:
    """The app's own credentials for the Chat API."""
    if settings.gchat_credentials:
        return service_account.Credentials.from_service_account_file(  # type: ignore[no-any-return]
            settings.gchat_credentials, scopes=[CHAT_BOT_SCOPE]
        )
    credentials, _project = google.auth.default(scopes=[CHAT_BOT_SCOPE])  # type: ignore[no-untyped-call]
    return credentials  # type: ignore[no-any-return]


class ChatApi:
    """Chat API calls as the app. Credentials are built on first use, so a missing key shows
    up as a failed download or post (retried, logged) rather than a service that will not start."""

    def __init__(self, base_url: str, credentials: Callable[[], Credentials], *, max_bytes: int):
        self._base = base_url.rstrip("/")
        self._credentials = credentials
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._authorized: AuthorizedSession | None = None

    @property
    def _session(self) -> AuthorizedSession:
        with self._lock:
            if self._authorized is None:
                self._authorized = AuthorizedSession(self._credentials())
            return self._authorized

    def close(self) -> None:
        if self._authorized is not None:
            self._authorized.close()

    @contextmanager
    def download(self, resource_name: str) -> Iterator[BinaryIO]:
        """Stream one uploaded attachment. Rejected for permanent refusals."""
        url = f"{self._base}/v1/media/{_media_path(resource_name)}"
        try:
            response = self._session.get(
                url, params={"alt": "media"}, stream=True, allow_redirects=False, timeout=TIMEOUT
            )
        except OSError as exc:  # requests' ConnectionError and Timeout are OSErrors
            raise ChatApiUnavailable(f"media download failed: {type(exc).__name__}") from None
        try:
            _check_download(response, self._max_bytes)
            response.raw.decode_content = True
            yield response.raw
        finally:
            response.close()

    def create_message(
        self, space: str, body: dict[str, Any], *, thread_name: str = "", request_id: str = ""
    ) -> dict[str, Any]:
        """spaces.messages.create as the app; replies in the thread when there is one.

        With `request_id`, Chat creates the message once: a repeat returns the first one.
        """
        if not space.startswith("spaces/") or ".." in space:
            raise ValueError("not a space resource name")
        params = {"requestId": request_id} if request_id else {}
        if thread_name:
            body = {**body, "thread": {"name": thread_name}}
            params["messageReplyOption"] = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
        try:
            response = self._session.post(
                f"{self._base}/v1/{quote(space, safe='/')}/messages",
                params=params,
                json=body,
                timeout=TIMEOUT,
            )
        except OSError as exc:
            raise ChatApiUnavailable(f"posting the message failed: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise ChatApiUnavailable(f"Chat API answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise ChatApiRefused(f"Chat API refused the message: HTTP {response.status_code}")
        return response.json()  # type: ignore[no-any-return]


class ChatMediaFetcher:
    """A Google Chat job's attachment as a stream (the Chat platform's `fetch`)."""

    def __init__(self, api: ChatApi):
        self._api = api

    def __call__(self, job: Job) -> Any:
        ref = ChatFileRef.from_json(job.ref)
        if ref.source == "DRIVE_FILE" or not ref.resource_name:
            raise Rejected(messages.GCHAT_DRIVE_FILE)
        claimed = ref.content_type
        if claimed and not claimed.startswith("image/") and claimed != "application/octet-stream":
            raise Rejected(messages.gchat_not_an_image(claimed))
        return self._api.download(ref.resource_name)


def _media_path(resource_name: str) -> str:
    if not resource_name or len(resource_name) > 4096 or ".." in resource_name.split("/"):
        raise Rejected(messages.GCHAT_BAD_REFERENCE)
    return quote(resource_name, safe=_RESERVED)


def _check_download(response: Any, max_bytes: int) -> None:
    status = response.status_code
    if status in (429,) or status >= 500:
        raise ChatApiUnavailable(f"Chat media answered HTTP {status}")
    if status in (401, 403):
        raise Rejected(messages.GCHAT_REFUSED)
    if status == 404:
        raise Rejected(messages.GCHAT_GONE)
    if status != 200:
        raise Rejected(messages.gchat_http_error(status))
    content_type = response.headers.get("Content-Type", "").lower()
    if content_type.startswith("text/html"):
        raise Rejected(messages.GCHAT_WEB_PAGE)
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise Rejected(larger_than(max_bytes))
