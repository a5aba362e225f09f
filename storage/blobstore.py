"""The bytes of CloudBox: a Google Cloud Storage bucket behind a small interface."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, Protocol
from urllib.parse import quote

import google.auth
import google.auth.transport.requests
import requests
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.auth.credentials import Credentials
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from .errors import StorageError, StorageUnavailable
from .settings import MAX_SIGNED_URL_TTL

log = logging.getLogger(__name__)

# Resumable uploads send the body in chunks of this size, so memory stays bounded whatever the
# file's size (the library's default chunk is 100 MiB). Must be a multiple of 256 KiB.
UPLOAD_CHUNK_SIZE = 8 * 1024 * 1024

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
    """What the library needs from a bucket."""

    def put(
        self,
        name: str,
        stream: BinaryIO,
        *,
        size: int,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> None: ...

    def delete(self, name: str) -> None: ...

    def exists(self, name: str) -> bool: ...

    def names(self, prefix: str, *, page_size: int = 1000) -> Iterator[str]: ...

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
            raise StorageError("No credentials are configured to sign links.")
        if self.can_sign_locally:
            return {"credentials": self._credentials}
        with self._lock:  # one refresh for many concurrent signers
            if not self._credentials.valid:
                self._credentials.refresh(google.auth.transport.requests.Request())
        email = getattr(self._credentials, "service_account_email", None)
        if not email:
            raise StorageError("The default credentials name no service account to sign links.")
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
        stream: BinaryIO,
        *,
        size: int,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Write a new object from `stream`; never overwrites an existing one."""
        blob = self._bucket.blob(name, chunk_size=self._chunk_size)
        blob.metadata = dict(metadata or {})
        with _translated(name):
            try:
                blob.upload_from_file(
                    stream,
                    size=size,
                    content_type=content_type,
                    if_generation_match=0,
                    checksum="auto",
                    retry=self._retry,
                )
            except gexc.PreconditionFailed:
                # Names are random per upload, so an existing object is our own earlier
                # attempt whose response was lost before a retry: the write is done.
                log.info("object %s already written by an earlier attempt", name)

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
        return self._bucket.blob(name).generate_signed_url(
            version="v4",
            expiration=ttl,
            method="GET",
            response_disposition=disposition,
            response_type=content_type,
            api_access_endpoint=self._signer.api_access_endpoint,
            **self._signer.signing_kwargs(),  # type: ignore[arg-type]
        )

    def check(self) -> None:
        """Raise unless the bucket answers a listing (needs only storage.objects.list)."""
        with _translated(self.bucket_name):
            list(
                self._bucket.client.list_blobs(self._bucket, max_results=1, retry=None, timeout=PROBE_TIMEOUT)
            )


def content_disposition(filename: str) -> str:
    """An attachment header that survives any file name (RFC 6266 with an ASCII fallback)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


class _translated:
    """Turn google-cloud errors into CloudBox's typed errors, without leaking URLs."""

    def __init__(self, what: str):
        self._what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, gexc.PreconditionFailed):
            return False
        if isinstance(exc, _TRANSIENT) or isinstance(exc, gexc.RetryError):
            log.warning("storage unavailable for %s: %s", self._what, type(exc).__name__)
            raise StorageUnavailable(
                "Storage is not answering right now; nothing was saved. Please try again shortly."
            ) from exc
        if isinstance(exc, gexc.GoogleAPICallError):
            log.error("storage refused %s: %s %s", self._what, exc.code, exc.message)
            raise StorageError("Storage refused the request; the administrator has been told.") from exc
        return False
