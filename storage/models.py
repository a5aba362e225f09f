"""The catalog's tables. GCS holds the bytes; these rows are the index and the bookkeeping.

Unique keys carry the idempotency rules: one image per (source platform, tenant, source file id)
and per (owner, sha256); one ingest job per (platform, tenant, source file id).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_storage_id() -> str:
    """An account's folder in the bucket: random, so a URL says nothing about whose it is."""
    return "o" + secrets.token_hex(12)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the catalog")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    google_sub: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    storage_id: Mapped[str | None] = mapped_column(String(32), unique=True, default=new_storage_id)
    # Bumped on sign-out, unlink and library deletion: every older web session ends.
    sessions_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Whether this person's originals keep their location metadata; None: CLOUDBOX_KEEP_LOCATION.
    keep_location: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class ChatIdentity(Base):
    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("platform", "tenant", "chat_user", name="uq_chat_identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    tenant: Mapped[str] = mapped_column(String(255))
    chat_user: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LibraryCountRow(Base):
    """How many ready images an owner has and their bytes, kept in step with every image that
    becomes ready or stops being ready, in the same transaction: a listing's "N in all" and the
    quota check read one row instead of counting the library."""

    __tablename__ = "library_counts"

    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    images: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class ImageRow(Base):
    __tablename__ = "images"
    __table_args__ = (
        # Per owner: the "Save to CloudBox" shortcut lets two people keep the same chat file.
        UniqueConstraint(
            "owner_id", "source_platform", "source_tenant", "source_file_id", name="uq_image_source"
        ),
        UniqueConstraint("owner_id", "sha256", name="uq_image_owner_sha256"),
        # Ends with id, the listing's tie-breaker, so a page is read straight off the index
        # instead of sorting every image the owner has.
        Index("ix_images_owner_listing", "owner_id", "status", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    object_name: Mapped[str] = mapped_column(String(512))
    preview_object_name: Mapped[str] = mapped_column(String(512))
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # "storing": bytes being written; "ready": listed; "deleting": hidden, bytes being removed.
    status: Mapped[str] = mapped_column(String(16), default="storing")
    source_platform: Mapped[str | None] = mapped_column(String(16))
    source_tenant: Mapped[str | None] = mapped_column(String(255))
    source_file_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShareRow(Base):
    __tablename__ = "shares"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    views: Mapped[int] = mapped_column(Integer, default=0)


class LinkRequestRow(Base):
    __tablename__ = "link_requests"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    tenant: Mapped[str] = mapped_column(String(255))
    chat_user: Mapped[str] = mapped_column(String(255))
    # Where Google Chat wants the browser sent after sign-in (configCompleteRedirectUrl).
    return_url: Mapped[str | None] = mapped_column(Text)
    # Who the chat platform says asked for the link, read when the link was made: the page after
    # Google compares chat_email with the Google account and names this chat account.
    chat_email: Mapped[str | None] = mapped_column(String(320))
    chat_name: Mapped[str | None] = mapped_column(String(255))
    tenant_name: Mapped[str | None] = mapped_column(String(255))
    # Where to tell the person the link was made (a Google Chat space); Slack DMs the user.
    reply_to: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IngestJobRow(Base):
    """A file a chat platform handed us, persisted before the event is acknowledged.

    The unique key makes a retried or duplicated event a no-op, and the row survives a crash
    so that start-up can finish the work.
    """

    __tablename__ = "ingest_jobs"
    __table_args__ = (
        UniqueConstraint("platform", "tenant", "source_file_id", name="uq_ingest_source"),
        Index("ix_ingest_jobs_status", "status", "lease_until"),
        Index("ix_ingest_jobs_batch", "batch"),
        # The straggler sweep looks for replies never sent: only the few unreplied rows are in
        # it, so the sweep does not read every finished job (a million: ~100 ms a sweep).
        Index(
            "ix_ingest_jobs_unreplied",
            "updated_at",
            postgresql_where=text("replied_at IS NULL"),
            sqlite_where=text("replied_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    tenant: Mapped[str] = mapped_column(String(255))
    chat_user: Mapped[str] = mapped_column(String(255))
    source_file_id: Mapped[str] = mapped_column(String(255))
    file_name: Mapped[str] = mapped_column(String(255), default="")
    # The files of one chat message share a batch and get one reply between them.
    batch: Mapped[str] = mapped_column(String(255))
    # Platform-specific: how to download the file and where to reply.
    payload: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # "queued" -> "running" -> "done" | "failed"; "waiting_link" until the person links.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(Text)
    image_id: Mapped[str | None] = mapped_column(String(16))
    # Set once the message's reply was sent. While a worker is sending it, the batch is claimed
    # until `reply_claimed_until`; a claim that runs out unsent (the process died) is taken again.
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the sender was not linked yet: the reply then says "saved after linking".
    waited_for_link: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AuditRow(Base):
    """What happened to whose library, for the admin: no tokens, no image bytes, no secrets."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    # No foreign key: the trail outlives a deleted account.
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    who: Mapped[str] = mapped_column(String(320), default="")  # an email or a chat identity
    detail: Mapped[str] = mapped_column(String(500), default="")
