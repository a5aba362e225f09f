"""The bytes of CloudBox: a Google Cloud Storage bucket behind a small interface."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, BinaryIO, Protocol
from urllib.parse import quote

import google.auth
import google.auth.exceptions
import google.auth.transport.requests
import google_crc32c
import requests
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.auth.credentials import Credentials
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from . import messages, private_apis
from .errors import StorageError, StorageUnavailable
from .settings import MAX_SIGNED_URL_TTL

log = logging.getLogger(__name__)

# Files up to this size (previews, small images) go through google-cloud-storage's own multipart
# upload, which reads them into memory (twice, measured). Larger files are streamed,
# UPLOAD_CHUNK_SIZE bytes at a time: at 5 MiB the library's path ran at 0.58 of a plain upload
# and held 15 MiB.
MULTIPART_MAX_SIZE = 1024 * 1024
# A larger file is sent as ONE multipart request whose body is read from the stream in blocks of
# this size: memory stays at one block whatever the file's size. (The library's chunked resumable
# upload holds a whole chunk -- twice -- and costs a round trip per chunk; against
# fake-gcs-server it ran at a seventh of a plain upload's speed.)
UPLOAD_CHUNK_SIZE = 1024 * 1024

_TRANSIENT = (
    gexc.TooManyRequests,
    gexc.InternalServerError,
    gexc.BadGateway,
    gexc.ServiceUnavailable,
    gexc.GatewayTimeout,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    ConnectionError,
)


def retry_policy(*, initial: float = 0.2, maximum: float = 5.0, timeout: float = 60.0) -> Retry:
    """Retry transient errors with exponential backoff for at most `timeout` seconds.

    The predicate must be google-cloud-storage's own: uploads and downloads fail with the media
    layer's InvalidResponse (not api_core's TooManyRequests/ServiceUnavailable), which
    api_core's `if_transient_error` does not recognise, so a 429 or 503 on an upload would
    not be retried at all.
    """
    return DEFAULT_RETRY.with_delay(initial=initial, maximum=maximum, multiplier=2.0).with_timeout(timeout)


# Every call is retried on transient errors with backoff; a create-only precondition makes
# retried uploads safe (a retry can never overwrite).
RETRY = retry_policy()
# Health probes ask once and answer fast: the orchestrator (or the admin running `doctor`) asks
# again, and a probe stuck in a minute of retries looks like a hung process.
PROBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class StoredObject:
    name: str
    size: int
    created: datetime


class BlobStore(Protocol):
    """What the library, the share links and the consistency check need from a bucket.

    Object names are never reused, so `put` only creates; `delete` of a missing object is not
    an error. Failures are StorageUnavailable (try again) or StorageError (configuration).
    """

    def put(
        self,
        name: str,
        stream: IO[bytes],
        *,
        size: int,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> None: ...

    def delete(self, name: str) -> None: ...

    def exists(self, name: str) -> bool: ...

    def names(self, prefix: str, *, page_size: int = 1000) -> Iterator[str]: ...

    def objects(self, prefix: str, *, page_size: int = 1000) -> Iterator[StoredObject]: ...

    def download_to(self, name: str, file: BinaryIO) -> None: ...

    def read(self, name: str) -> bytes: ...

    def signed_url(
        self,
        name: str,
        ttl: timedelta,
        *,
        download_name: str | None = None,
        content_type: str | None = None,
    ) -> str: ...

    def check(self) -> None: ...


class UrlSigner:
    """Holds the credentials that sign V4 URLs.

    With a service-account key the signature is computed locally. Without one (Cloud Run,
    GCE) the default credentials are refreshed and the IAM signBlob API signs for the
    service account, which needs roles/iam.serviceAccountTokenCreator on itself.
    """

    def __init__(self, credentials: Credentials | None, *, api_access_endpoint: str | None = None):
        self._credentials = credentials
        self.api_access_endpoint = api_access_endpoint
        self._lock = threading.Lock()

    @classmethod
    def from_default_credentials(cls) -> UrlSigner:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        return cls(credentials)

    @property
    def can_sign_locally(self) -> bool:
        return (
            self._credentials is not None
            and hasattr(self._credentials, "sign_bytes")
            and (getattr(self._credentials, "signer", None) is not None)
        )

    def signing_kwargs(self) -> dict[str, object]:
        if self._credentials is None:
            raise StorageError(messages.NO_SIGNING_CREDENTIALS)
        if self.can_sign_locally:
            return {"credentials": self._credentials}
        with self._lock:  # one refresh for many concurrent signers
            if not self._credentials.valid:
                self._credentials.refresh(google.auth.transport.requests.Request())
        email = getattr(self._credentials, "service_account_email", None)
        if not email:
            raise StorageError(messages.NO_SIGNING_ACCOUNT)
        return {"service_account_email": email, "access_token": self._credentials.token}


class GcsBlobStore:
    """A bucket, through google-cloud-storage; the emulator is the same code path."""

    def __init__(
        self,
        client: storage.Client,
        bucket_name: str,
        signer: UrlSigner,
        *,
        chunk_size: int = UPLOAD_CHUNK_SIZE,
        retry: Retry = RETRY,
    ):
        self._bucket = client.bucket(bucket_name)
        self._signer = signer
        self._chunk_size = chunk_size
        self._retry = retry
        self.bucket_name = bucket_name

    def put(
        self,
        name: str,
        stream: IO[bytes],
        *,
        size: int,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Write a new object from `stream`; never overwrites an existing one."""
        with _translated(name):
            try:
                if size <= MULTIPART_MAX_SIZE:
                    blob = self._bucket.blob(name)
                    blob.metadata = dict(metadata or {})
                    blob.upload_from_file(
                        stream,
                        size=size,
                        content_type=content_type,
                        if_generation_match=0,
                        checksum="auto",
                        retry=self._retry,
                    )
                else:
                    start = stream.tell()
                    self._retry(self._put_streamed)(name, stream, start, size, content_type, metadata)
            except gexc.PreconditionFailed:
                # Names are random per upload, so an existing object is our own earlier
                # attempt whose response was lost before a retry: the write is done.
                log.info("object %s already written by an earlier attempt", name)

    def _put_streamed(
        self,
        name: str,
        stream: IO[bytes],
        start: int,
        size: int,
        content_type: str,
        metadata: Mapping[str, str] | None,
    ) -> None:
        """One attempt: a create-only multipart upload whose body is streamed from `stream`.

        A retried attempt starts over from `start`; if an earlier attempt did complete, the
        precondition fails and put() counts the write as done.
        """
        if stream.tell() != start:
            stream.seek(start)
        resource = {"name": name, "contentType": content_type, "metadata": dict(metadata or {})}
        body = _MultipartBody(json.dumps(resource), stream, size, content_type, self._chunk_size)
        client = self._bucket.client
        # The client's own endpoint and authorised session (it has no public accessor for them),
        # so emulator, key-file and default credentials all apply as for every other call.
        base_url = private_apis.gcs_api_base_url(client)
        response = private_apis.gcs_authorized_session(client).post(
            f"{base_url}/upload/storage/v1/b/{quote(self.bucket_name, safe='')}/o",
            params={"uploadType": "multipart", "ifGenerationMatch": "0"},
            data=body,
            headers={"Content-Type": f"multipart/related; boundary={body.boundary}"},
            timeout=(10, 300),
        )
        if response.status_code >= 400:
            raise gexc.from_http_response(response)
        if response.json().get("crc32c") != body.crc32c():
            # The bucket kept something other than what was read: it must not stand.
            self._bucket.blob(name).delete(retry=self._retry)
            raise StorageError(messages.UPLOAD_DAMAGED)

    def delete(self, name: str) -> None:
        """Remove an object; an object that is already gone counts as deleted."""
        with _translated(name):
            try:
                self._bucket.blob(name).delete(retry=self._retry)
            except gexc.NotFound:
                pass

    def exists(self, name: str) -> bool:
        with _translated(name):
            return bool(self._bucket.blob(name).exists(retry=self._retry))

    def names(self, prefix: str, *, page_size: int = 1000) -> Iterator[str]:
        """Every object name under `prefix`, fetched a page at a time."""
        with _translated(prefix):
            for blob in self._bucket.client.list_blobs(
                self._bucket, prefix=prefix, page_size=page_size, retry=self._retry
            ):
                yield blob.name

    def objects(self, prefix: str, *, page_size: int = 1000) -> Iterator[StoredObject]:
        """Every object under `prefix` with its size and creation time, a page at a time."""
        with _translated(prefix):
            for blob in self._bucket.client.list_blobs(
                self._bucket, prefix=prefix, page_size=page_size, retry=self._retry
            ):
                yield StoredObject(blob.name, int(blob.size or 0), blob.time_created)

    def download_to(self, name: str, file: BinaryIO) -> None:
        """Stream an object into `file` (for checks and repairs of large originals)."""
        with _translated(name):
            self._bucket.blob(name).download_to_file(file, retry=self._retry)

    def read(self, name: str) -> bytes:
        """The whole object; for small objects (previews) and checks only."""
        with _translated(name):
            return self._bucket.blob(name).download_as_bytes(retry=self._retry)

    def signed_url(
        self,
        name: str,
        ttl: timedelta,
        *,
        download_name: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """A V4 signed GET URL valid for `ttl` (at most 7 days)."""
        if ttl > MAX_SIGNED_URL_TTL or ttl <= timedelta(0):
            raise ValueError("a signed URL must live between 1 second and 7 days")
        disposition = None
        if download_name is not None:
            disposition = content_disposition(download_name)
        try:
            return self._bucket.blob(name).generate_signed_url(
                version="v4",
                expiration=ttl,
                method="GET",
                response_disposition=disposition,
                response_type=content_type,
                api_access_endpoint=self._signer.api_access_endpoint,
                **self._signer.signing_kwargs(),  # type: ignore[arg-type]
            )
        except google.auth.exceptions.GoogleAuthError as exc:
            # Without a key file the metadata server and IAM signBlob sign (with their own
            # retries); what is left is configuration. The message is IAM's (no token in it).
            log.error(
                "could not sign a URL (%s): %s. Without a key file the service account needs "
                "roles/iam.serviceAccountTokenCreator on itself.",
                type(exc).__name__,
                str(exc)[:300],
            )
            raise StorageError(messages.CANNOT_SIGN) from exc

    def check(self) -> None:
        """Raise unless the bucket answers a listing (needs only storage.objects.list)."""
        with _translated(self.bucket_name):
            list(
                self._bucket.client.list_blobs(self._bucket, max_results=1, retry=None, timeout=PROBE_TIMEOUT)
            )


class _MultipartBody:
    """A multipart/related upload body (JSON resource, then the bytes) read block by block.

    Iterable with a length, so requests sends it with a Content-Length and no chunked framing;
    the bytes are checksummed (CRC32C) on the way for comparison with what the bucket stored.
    """

    def __init__(self, resource: str, stream: IO[bytes], size: int, content_type: str, block: int):
        self.boundary = "cloudbox-" + secrets.token_hex(16)
        self._head = (
            f"--{self.boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{resource}\r\n"
            f"--{self.boundary}\r\nContent-Type: {content_type}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._stream = stream
        self._size = size
        self._block = block
        self._crc = google_crc32c.Checksum()

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        sent = 0
        while sent < self._size:
            data = self._stream.read(min(self._block, self._size - sent))
            if not data:
                raise StorageError(messages.FILE_ENDED_EARLY)
            self._crc.update(data)
            sent += len(data)
            yield data
        yield self._tail

    def crc32c(self) -> str:
        return base64.b64encode(self._crc.digest()).decode()


def content_disposition(filename: str) -> str:
    """An attachment header that survives any file name (RFC 6266 with an ASCII fallback)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn google-cloud errors into CloudBox's typed errors, without leaking URLs."""
    try:
        yield
    except gexc.PreconditionFailed:
        raise
    except (*_TRANSIENT, gexc.RetryError) as exc:
        log.warning("storage unavailable for %s: %s", what, type(exc).__name__)
        raise StorageUnavailable(messages.STORAGE_NOT_ANSWERING) from exc
    except gexc.GoogleAPICallError as exc:
        log.error("storage refused %s: %s %s", what, exc.code, exc.message)
        raise StorageError(messages.STORAGE_REFUSED) from exc
