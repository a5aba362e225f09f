"""Downloads a Slack file for the ingest worker, with the bot token, from allowed hosts only.

Slack answers a download it will not serve (wrong token, missing `files:read`) with a redirect
to an HTML sign-in page rather than an error, so any redirect or HTML body is a refusal. The bot
token is sent to no host outside SLACK_FILE_HOSTS, and plain http only to loopback test hosts.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core import messages
from storage.errors import Rejected
from storage.ingest_queue import Job
from storage.words import larger_than

from .file_ref import SlackFileRef
from .tokens import TokenSource

log = logging.getLogger(__name__)

LOGIN_PAGE = messages.SLACK_LOGIN_PAGE
GONE = messages.SLACK_GONE


class SlackFetcher:
    """A Slack job's file as a stream (the `fetch` of the Slack `ChatPlatform`)."""

    def __init__(
        self,
        client: WebClient,
        tokens: TokenSource,
        *,
        allowed_hosts: tuple[str, ...],
        max_bytes: int,
        timeout: tuple[float, float] = (5.0, 60.0),
    ):
        self._client = client
        self._tokens = tokens
        self._hosts = tuple(h.lower() for h in allowed_hosts)
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._session = requests.Session()
        # No proxies or .netrc from the environment: .netrc could replace the Authorization
        # header, and an http proxy would see the token.
        self._session.trust_env = False

    @contextmanager
    def __call__(self, job: Job) -> Iterator[BinaryIO]:
        ref = SlackFileRef.from_json(job.ref)
        token = self._tokens.for_team(ref.team, ref.enterprise)
        url, size = ref.url, ref.size
        if not url:  # Slack Connect files arrive as ids ("file_access"): ask files.info
            url, size = self._file_info(token, ref.file or job.file_id)
        if isinstance(size, int) and size > self._max_bytes:
            raise Rejected(larger_than(self._max_bytes))
        self.check_url(url)
        response = self._session.get(
            url,
            headers={"Authorization": f"Bearer {token}"},
            stream=True,
            allow_redirects=False,
            timeout=self._timeout,
        )
        try:
            self._check_response(response, job)
            response.raw.decode_content = True
            yield response.raw
        finally:
            response.close()

    def check_url(self, url: str) -> None:
        """Refuse (before any request) a URL the bot token must not be sent to."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        allowed = host in self._hosts or parts.netloc.lower() in self._hosts
        secure = parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host))
        if not host or not allowed or not secure or parts.username or parts.password:
            raise Rejected(messages.SLACK_NOT_A_FILE_HOST)

    def _file_info(self, token: str, file_id: str) -> tuple[str, Any]:
        try:
            info = self._client.files_info(token=token, file=file_id)["file"]
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error in ("file_not_found", "file_deleted", "access_denied"):
                raise Rejected(GONE) from None
            log.warning("files.info failed for file %s: %s", file_id, error)
            raise
        url = info.get("url_private_download") or info.get("url_private")
        if not url:
            raise Rejected(GONE)
        return url, info.get("size")

    def _check_response(self, response: requests.Response, job: Job) -> None:
        if 300 <= response.status_code < 400:
            raise Rejected(LOGIN_PAGE)
        if response.status_code in (401, 403, 404, 410):
            raise Rejected(GONE)
        if response.status_code != 200:
            # 429 and 5xx: transient, the worker retries with backoff.
            log.warning("download of file %s answered HTTP %s", job.file_id, response.status_code)
            raise ConnectionError(f"Slack file host answered HTTP {response.status_code}")
        if "text/html" in response.headers.get("Content-Type", "").lower():
            raise Rejected(LOGIN_PAGE)
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self._max_bytes:
            raise Rejected(larger_than(self._max_bytes))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
