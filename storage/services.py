"""The composition root for storage: clients, engine and use cases built from one Settings.

Nothing connects at import time. `Services.build(settings)` is called once per process (by the
app factory, a CLI command or a test) and `close()` releases what it started.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.oauth2 import service_account
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import db
from .accounts import Accounts
from .blobstore import BlobStore, GcsBlobStore, UrlSigner
from .embedded import BANNER, EMBEDDED_BUCKET, EmbeddedStore, local_signing_key
from .library import Library, LibraryPolicy
from .settings import Settings
from .sharing import Shares
from .sql_catalog import SqlCatalog

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    catalog: SqlCatalog
    library: Library
    shares: Shares
    accounts: Accounts
    embedded: EmbeddedStore | None = None
    _closed: bool = field(default=False, repr=False)

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool = True) -> Services:
        embedded = None
        if settings.embedded:
            log.warning(BANNER, settings.instance_path)
            embedded = EmbeddedStore.open(settings.instance_path, port=settings.embedded_port)
        try:
            blobs = _blob_store(settings, embedded)
            engine = db.make_engine(settings.database_url, pool_size=settings.db_pool_size)
            if migrate:
                db.upgrade(engine)
        except BaseException:
            if embedded is not None:
                embedded.stop()
            raise
        sessions = db.make_session_factory(engine)
        policy = LibraryPolicy(
            max_upload_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_pixels,
            decode_memory_bytes=settings.decode_memory_bytes,
            keep_location=settings.keep_location,
            quota_images=settings.quota_images,
            audit_retention=settings.audit_retention,
            quota_bytes=settings.quota_bytes,
            share_default_ttl=settings.share_default_ttl,
            share_max_ttl=settings.share_max_ttl,
            signed_url_ttl=settings.signed_url_ttl,
            share_links=settings.share_links,
            base_url=settings.base_url,
            cursor_secret=settings.secret_key,
        )
        catalog = SqlCatalog(sessions)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            blobs=blobs,
            catalog=catalog,
            library=Library(catalog, blobs, policy),
            shares=Shares(catalog, blobs, policy),
            accounts=Accounts(sessions),
            embedded=embedded,
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.shares.close()  # its last views, while the engine still answers
        self.engine.dispose()
        if self.embedded is not None:
            self.embedded.stop()


def _blob_store(settings: Settings, embedded: EmbeddedStore | None) -> GcsBlobStore:
    key_file = settings.google_application_credentials
    if embedded is not None:
        client = storage.Client(
            project="cloudbox-local",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": embedded.url},
        )
        if not client.bucket(EMBEDDED_BUCKET).exists():
            try:
                client.create_bucket(EMBEDDED_BUCKET)
            except gexc.Conflict:
                pass  # another worker of a fresh start made it first: the bucket is there

        key = local_signing_key(settings.instance_path / "embedded-signing-key.json")
        signer = UrlSigner(
            service_account.Credentials.from_service_account_info(key),
            api_access_endpoint=embedded.url,
        )
        return GcsBlobStore(client, EMBEDDED_BUCKET, signer)

    assert settings.bucket is not None
    if settings.storage_emulator_host:
        # A self-hosted or test emulator: anonymous requests, URLs signed with the key file.
        client = storage.Client(
            project="cloudbox",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": settings.storage_emulator_host},
        )
        credentials = service_account.Credentials.from_service_account_file(key_file) if key_file else None
        signer = UrlSigner(credentials, api_access_endpoint=settings.storage_emulator_host)
        return GcsBlobStore(client, settings.bucket, signer)

    if key_file:
        credentials = service_account.Credentials.from_service_account_file(
            key_file, scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
        client = storage.Client(project=credentials.project_id, credentials=credentials)
        return GcsBlobStore(client, settings.bucket, UrlSigner(credentials))
    # Cloud Run / GCE: application default credentials, URLs signed through IAM signBlob.
    signer = UrlSigner.from_default_credentials()
    return GcsBlobStore(storage.Client(), settings.bucket, signer)
