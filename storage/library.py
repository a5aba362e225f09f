"""The library use cases every front end calls: upload, list, get, delete, share, revoke, links.

Every call takes the owner. Rows of other owners are never selected, so another person's id
behaves exactly like an id that does not exist.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from . import images, location
from .audit import AuditLog
from .blobstore import BlobStore
from .db import transaction
from .decode_budget import DecodeBudget
from .errors import Expired, NotFound, Rejected, Revoked, StorageError, StorageUnavailable
from .models import ImageRow, ShareRow, utcnow

log = logging.getLogger(__name__)
# Threads that upload originals and scan their bytes while previews are made (two tasks per
# upload); more queue for them.
PUT_THREADS = 8

ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: ids are read and typed by people
IMAGE_ID_RE = re.compile(rf"^[{ID_ALPHABET}]{{10}}$")
_SAFE_SUB_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_SHARE_TOKEN_RE = re.compile(r"(?:/s/)?([A-Za-z0-9_-]{32})/?$")


def new_id(length: int = 10) -> str:
    """A short, URL-safe, random id (about 50 bits)."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


SIGNED_LINKS_STAY = (
    "Links from this CloudBox are signed storage addresses: each keeps working until it expires "
    "and cannot be turned off. Deleting the image stops its links at once."
)


@dataclass(frozen=True)
class Owner:
    """The Google account a call acts for."""

    id: int
    google_sub: str
    email: str
    # The account's opaque folder name (random, stored on the account): object names, and so
    # preview and share URLs, never carry the Google sub. None only for owners built by hand.
    storage_id: str | None = field(default=None, compare=False)
    # Web sessions signed in before the account's last bump are over.
    sessions_generation: int = field(default=0, compare=False)

    @property
    def prefix(self) -> str:
        """Where the owner's new objects go. Objects already stored keep the name in their row
        (older ones sit under `users/<google sub>/`), so both layouts are read alike."""
        if self.storage_id:
            return f"users/{self.storage_id}/"
        sub = self.google_sub
        safe = sub if _SAFE_SUB_RE.match(sub) else hashlib.sha256(sub.encode()).hexdigest()[:40]
        return f"users/{safe}/"


@dataclass(frozen=True)
class Source:
    """Where an image came from in chat; makes saving the same chat file twice a no-op."""

    platform: str
    tenant: str
    file_id: str


@dataclass(frozen=True)
class Image:
    id: str
    name: str
    content_type: str
    size: int
    width: int
    height: int
    sha256: str
    created_at: datetime
    source_platform: str | None
    object_name: str
    preview_object_name: str

    @property
    def display_object_name(self) -> str | None:
        """The 2048 px JPEG for originals browsers cannot show (HEIC, TIFF); None otherwise."""
        return display_object_name(self.object_name)

    @classmethod
    def from_row(cls, row: ImageRow) -> Image:
        return cls(
            id=row.id,
            name=row.original_name,
            content_type=row.content_type,
            size=row.size,
            width=row.width,
            height=row.height,
            sha256=row.sha256,
            created_at=row.created_at,
            source_platform=row.source_platform,
            object_name=row.object_name,
            preview_object_name=row.preview_object_name,
        )


@dataclass(frozen=True)
class Upload:
    image: Image
    created: bool  # False when the owner already had these bytes or this chat file


@dataclass(frozen=True)
class Page:
    images: list[Image]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


@dataclass(frozen=True)
class Share:
    id: str
    image: Image
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    views: int
    created_by: str
    url: str | None = None  # only known when the share is created: the token is kept hashed

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


# The originals that get a display rendition, by the extension their object name carries.
_DISPLAY_EXTENSIONS = tuple(f".{images.ALLOWED_FORMATS[fmt][1]}" for fmt in sorted(images.NEEDS_DISPLAY))


def display_object_name(object_name: str) -> str | None:
    """`<prefix><id>.display.jpg` beside an original that needs one (HEIC, TIFF); else None."""
    if not object_name.endswith(_DISPLAY_EXTENSIONS):
        return None
    return object_name.rsplit(".", 1)[0] + ".display.jpg"


@dataclass(frozen=True)
class Usage:
    """What one person keeps, against the admin's quota (None: no limit)."""

    images: int
    bytes: int
    max_images: int | None
    max_bytes: int | None

    def describe(self) -> str:
        used = f"{self.images} image{'' if self.images == 1 else 's'}"
        if self.max_images is not None:
            used += f" of {self.max_images}"
        used += f", {_mb(self.bytes)}"
        if self.max_bytes is not None:
            used += f" of {_mb(self.max_bytes)}"
        return used

    def refusal(self, incoming: int) -> str | None:
        if self.max_images is not None and self.images + 1 > self.max_images:
            return f"would take you past your quota of {self.max_images} images (you keep {self.describe()})"
        if self.max_bytes is not None and self.bytes + incoming > self.max_bytes:
            return f"would take you past your quota of {_mb(self.max_bytes)} (you keep {self.describe()})"
        return None


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class LibraryPolicy:
    max_upload_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 100_000_000
    decode_memory_bytes: int = 512 * 1024 * 1024
    # False: stored originals lose their GPS/location metadata (storage/location.py).
    keep_location: bool = False
    audit_retention: timedelta = timedelta(days=365)
    quota_images: int | None = None  # per person; None: no limit
    quota_bytes: int | None = None
    share_default_ttl: timedelta = timedelta(hours=24)
    share_max_ttl: timedelta = timedelta(days=7)
    signed_url_ttl: timedelta = timedelta(minutes=5)
    share_links: str = "redirect"  # or "signed_url"
    base_url: str = "http://127.0.0.1:5000"


class Library:
    """One person's images: bytes in the blob store, index in the catalog."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        blobs: BlobStore,
        policy: LibraryPolicy | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._sessions = sessions
        self._blobs = blobs
        self.policy = policy or LibraryPolicy()
        # Shared by every decode this Library runs (ingest threads and web requests alike).
        self.decode_budget = DecodeBudget(self.policy.decode_memory_bytes)
        self.audit = AuditLog(sessions, clock=clock)
        self._puts: ThreadPoolExecutor | None = None
        self._put_pool_lock = threading.Lock()
        self._now = clock

    # -- upload ---------------------------------------------------------------------------

    def upload(
        self,
        owner: Owner,
        stream: BinaryIO | Iterable[bytes],
        *,
        filename: str | bytes | None,
        source: Source | None = None,
        replace_unfinished: bool = False,
    ) -> Upload:
        """Validate and store an image; return the existing one for a repeat.

        Raises Rejected (with the reason) for anything that is not an acceptable image, and
        StorageUnavailable/StorageError when the bucket fails; nothing half-written remains.
        `replace_unfinished`: this call retries the same chat file after an attempt that died
        (see `_claim`); the existing image returned for a repeat may otherwise still be storing.
        """
        if source is not None and (existing := self._by_source(owner, source)) is not None:
            return Upload(existing, created=False)
        received = images.receive(stream, max_bytes=self.policy.max_upload_bytes)
        try:
            examined = images.examine(received, max_pixels=self.policy.max_pixels)
            # A repeat of bytes this person already stored was decoded then: not again.
            if (existing := self._by_sha256(owner, received.sha256)) is not None:
                return Upload(existing, created=False)
            quota = self.policy.quota_images is not None or self.policy.quota_bytes is not None
            # Only with a quota: the sum runs over every image the person keeps.
            if quota and (reason := self.usage(owner).refusal(received.size)):
                raise Rejected(reason)
            return self._store(owner, received, examined, filename, source, replace_unfinished)
        finally:
            received.close()

    def usage(self, owner: Owner) -> Usage:
        """Images and bytes this person keeps (unfinished uploads count: they are on their way)."""
        with self._sessions() as session:
            images, size = session.execute(
                select(func.count(), func.coalesce(func.sum(ImageRow.size), 0)).where(
                    ImageRow.owner_id == owner.id
                )
            ).one()
        return Usage(int(images), int(size), self.policy.quota_images, self.policy.quota_bytes)

    def _put_pool(self) -> ThreadPoolExecutor:
        with self._put_pool_lock:
            if self._puts is None:
                self._puts = ThreadPoolExecutor(PUT_THREADS, thread_name_prefix="cloudbox-put")
            return self._puts

    def _stored_bytes(self, received: images.Received, info: images.ImageInfo) -> location.Rewrite:
        """What goes to the bucket: the bytes as sent, less location metadata unless kept."""
        if not self.policy.keep_location:
            rewrite = location.without_location(received.file, received.size, info.format)
            if rewrite is not None:
                return rewrite
        return location.Rewrite([(0, received.size)])

    def _store(
        self,
        owner: Owner,
        received: images.Received,
        examined: images.Examined,
        filename: str | bytes | None,
        source: Source | None,
        replace_unfinished: bool = False,
    ) -> Upload:
        info = examined.info
        image_id = new_id()
        stored = self._stored_bytes(received, info)
        row = ImageRow(
            id=image_id,
            owner_id=owner.id,
            object_name=f"{owner.prefix}{image_id}.{info.extension}",
            preview_object_name=f"{owner.prefix}{image_id}.preview.jpg",
            original_name=images.display_name(filename, info.extension),
            content_type=info.content_type,
            size=stored.size,
            sha256=received.sha256,  # of the bytes as sent: a repeat of them is a duplicate
            width=info.width,
            height=info.height,
            status="storing",
            source_platform=source.platform if source else None,
            source_tenant=source.tenant if source else None,
            source_file_id=source.file_id if source else None,
            created_at=self._now(),
        )
        # Claim the unique keys first: a concurrent upload of the same file loses here,
        # before it writes any bytes.
        existing = self._claim(row, owner, received.sha256, source, replace_unfinished=replace_unfinished)
        if existing is not None:
            return Upload(existing, created=False)
        metadata = {"cloudbox-name": row.original_name, "cloudbox-sha256": received.sha256}
        try:
            # The original goes up while the pixels are decoded: an image costs about the
            # longer of the two. The put reads with pread, so it never moves the decoder's place.
            # Made here, before any thread starts: it moves a small spool to disk, which must not
            # happen under a reader.
            read_at = location.positional_reads(received.file)
            original = self._put_pool().submit(
                self._blobs.put,
                row.object_name,
                location.PiecesReader(read_at, stored.pieces),  # type: ignore[arg-type]
                size=stored.size,
                content_type=info.content_type,
                metadata=metadata,
            )
            # The search for a second format (markup, an archive) reads every byte: it runs
            # beside the decode too, and its verdict is in before anything is published.
            polyglot = self._put_pool().submit(images.second_format, received, read_at)
            try:
                renditions = images.render(received, examined, budget=self.decode_budget)
            finally:
                wait([original])  # the put must be over before an undo can delete its object
                wait([polyglot])
            original.result()
            if reason := polyglot.result():
                raise Rejected(reason)
            self.put_renditions(image_id, row.object_name, row.preview_object_name, renditions)
        except BaseException:
            self._abandon(row)
            raise
        with transaction(self._sessions) as session:
            published = session.execute(
                update(ImageRow)
                .where(ImageRow.id == image_id, ImageRow.status == "storing")
                .values(status="ready")
            ).rowcount  # type: ignore[attr-defined]
        if not published:
            # A retry of this same chat file took the row over while these bytes were being
            # written (this attempt had been given up for dead): ours are now unreachable.
            self._abandon(row)
            raise StorageUnavailable("This upload was taken over by a newer attempt; please try again.")
        row.status = "ready"
        return Upload(Image.from_row(row), created=True)

    def _claim(
        self, row: ImageRow, owner: Owner, sha256: str, source: Source | None, *, replace_unfinished: bool
    ) -> Image | None:
        """Insert the 'storing' row, or return the image that already holds its unique keys.

        With `replace_unfinished`, a row still 'storing' for the same chat file is taken to be
        what an earlier attempt left when it failed and could not even clean up (storage down,
        process killed): its leftovers are purged and the claim retried. Only a caller that
        knows no other attempt is alive (the ingest worker holding the job's lease) may ask.
        """
        for _ in range(3):
            try:
                with transaction(self._sessions) as session:
                    session.add(row)
                return None
            except IntegrityError:
                existing = (source and self._by_source(owner, source, any_status=True)) or (
                    self._by_sha256(owner, sha256, any_status=True)
                )
                if existing is None:
                    continue  # the conflicting row vanished meanwhile: claim again
                if not (replace_unfinished and source is not None):
                    return existing
                with self._sessions() as session:
                    status = session.scalar(select(ImageRow.status).where(ImageRow.id == existing.id))
                if status != "storing" or self._by_source(owner, source, any_status=True) != existing:
                    return existing
                log.info("purging upload %s left by an earlier attempt at the same file", existing.id)
                self._purge(existing.id, existing.object_name, existing.preview_object_name)
        raise StorageUnavailable("The image could not be saved right now; please try again.")

    def put_renditions(
        self, image_id: str, object_name: str, preview_name: str, renditions: images.Renditions
    ) -> None:
        """Write the preview and, where there is one, the display rendition (new objects)."""
        parts = [(preview_name, renditions.preview)] if renditions.preview else []
        display_name = display_object_name(object_name)
        if display_name is not None and renditions.display is not None:
            parts.append((display_name, renditions.display))
        for name, data in parts:
            self._blobs.put(
                name,
                io.BytesIO(data),
                size=len(data),
                content_type=images.PREVIEW_CONTENT_TYPE,
                metadata={"cloudbox-preview-of": image_id},
            )

    def _abandon(self, row: ImageRow) -> None:
        """Undo a failed upload. If even that fails the row stays 'storing' for recover()."""
        try:
            if (display := display_object_name(row.object_name)) is not None:
                self._blobs.delete(display)
            self._blobs.delete(row.preview_object_name)
            self._blobs.delete(row.object_name)
            with transaction(self._sessions) as session:
                session.execute(delete(ImageRow).where(ImageRow.id == row.id))
        except Exception:
            log.warning("could not undo upload %s; recover() will finish it", row.id)

    # -- read -----------------------------------------------------------------------------

    def list(self, owner: Owner, *, page: int = 1, per_page: int = 20, words: str = "") -> Page:
        """Newest first; `words` keeps images whose name contains every word."""
        page = max(1, page)
        where = [ImageRow.owner_id == owner.id, ImageRow.status == "ready"]
        for word in words.split():
            where.append(func.lower(ImageRow.original_name).contains(word.lower(), autoescape=True))
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(ImageRow).where(*where)) or 0
            rows = session.scalars(
                select(ImageRow)
                .where(*where)
                .order_by(ImageRow.created_at.desc(), ImageRow.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).all()
        return Page([Image.from_row(r) for r in rows], page, per_page, total)

    def get(self, owner: Owner, ref: str) -> Image:
        """An image by id or by file name; NotFound for anything the owner does not have."""
        ref = ref.strip()
        with self._sessions() as session:
            if IMAGE_ID_RE.match(ref):
                row = session.scalar(select(ImageRow).where(*self._mine(owner), ImageRow.id == ref))
                if row is not None:
                    return Image.from_row(row)
            rows = session.scalars(
                select(ImageRow)
                .where(*self._mine(owner), func.lower(ImageRow.original_name) == ref.lower())
                .order_by(ImageRow.created_at.desc())
                .limit(6)
            ).all()
        if not rows:
            raise NotFound(f"You have no image called “{_clip(ref)}”. `list` shows your images.")
        if len(rows) > 1:
            ids = ", ".join(r.id for r in rows[:5])
            raise Rejected(f"Several images are called “{_clip(ref)}”; name one by its id: {ids}.")
        return Image.from_row(rows[0])

    def preview_url(self, image: Image) -> str:
        return self._blobs.signed_url(image.preview_object_name, self.policy.signed_url_ttl)

    def display_url(self, image: Image) -> str:
        """What a browser is shown: the display rendition where the original is HEIC or TIFF
        (and it was made: images stored before it existed get one from `check-consistency
        --repair`), else the original."""
        name = image.display_object_name
        if name is not None and self._blobs.exists(name):
            return self._blobs.signed_url(name, self.policy.signed_url_ttl, content_type="image/jpeg")
        return self.original_url(image)

    def original_url(self, image: Image, *, download: bool = False) -> str:
        return self._blobs.signed_url(
            image.object_name,
            self.policy.signed_url_ttl,
            download_name=image.name if download else None,
            content_type=image.content_type,
        )

    # -- delete ---------------------------------------------------------------------------

    def delete(self, owner: Owner, ref: str) -> Image:
        """Remove the bytes, the preview and the catalog row (and so its shares)."""
        image = self.get(owner, ref)
        with transaction(self._sessions) as session:
            hidden = session.execute(
                update(ImageRow).where(*self._mine(owner), ImageRow.id == image.id).values(status="deleting")
            ).rowcount  # type: ignore[attr-defined]
        if not hidden:
            raise NotFound("That image is already gone.")
        try:
            self._purge(image.id, image.object_name, image.preview_object_name)
        except (StorageUnavailable, StorageError):
            # The image stays hidden; recover() finishes the deletion when storage is back.
            raise StorageUnavailable(
                "The image is hidden, but storage did not answer; it will be removed shortly."
            ) from None
        finally:
            self.audit.record("delete", account_id=owner.id, who=owner.email, detail=f"image {image.id}")
        return image

    def delete_all(self, owner: Owner) -> int:
        """Delete every image of an owner (unlink with "delete my library")."""
        count = 0
        while True:
            page = self.list(owner, per_page=100)
            if not page.images:
                self.audit.record(
                    "delete library", account_id=owner.id, who=owner.email, detail=f"{count} images"
                )
                return count
            for image in page.images:
                self.delete(owner, image.id)
                count += 1

    def _purge(self, image_id: str, object_name: str, preview_object_name: str) -> None:
        if (display := display_object_name(object_name)) is not None:
            self._blobs.delete(display)
        self._blobs.delete(preview_object_name)
        self._blobs.delete(object_name)
        with transaction(self._sessions) as session:
            session.execute(delete(ImageRow).where(ImageRow.id == image_id))

    def recover(self, *, older_than: timedelta = timedelta(minutes=15)) -> int:
        """Finish what a crash interrupted: abandoned uploads and half-done deletions."""
        cutoff = self._now() - older_than
        with self._sessions() as session:
            stale = session.execute(
                select(ImageRow.id, ImageRow.object_name, ImageRow.preview_object_name).where(
                    or_(
                        ImageRow.status == "deleting",
                        (ImageRow.status == "storing") & (ImageRow.created_at < cutoff),
                    )
                )
            ).all()
        for image_id, object_name, preview_name in stale:
            self._purge(image_id, object_name, preview_name)
        return len(stale)

    # -- share ----------------------------------------------------------------------------

    def share(self, owner: Owner, ref: str, *, ttl: timedelta | None = None, created_by: str = "") -> Share:
        """A new expiring link to one image. Its URL is only returned here."""
        ttl = ttl or self.policy.share_default_ttl
        if ttl <= timedelta(0):
            raise Rejected("A link has to last at least a minute.")
        if ttl > self.policy.share_max_ttl:
            raise Rejected(f"Links can last at most {_duration(self.policy.share_max_ttl)}.")
        image = self.get(owner, ref)
        token = secrets.token_urlsafe(24)
        now = self._now()
        row = ShareRow(
            id=new_id(),
            token_hash=hash_token(token),
            image_id=image.id,
            owner_id=owner.id,
            created_by=created_by[:255],
            created_at=now,
            expires_at=now + ttl,
            views=0,
        )
        with transaction(self._sessions) as session:
            session.add(row)
        self.audit.record(
            "share",
            account_id=owner.id,
            who=created_by or owner.email,
            detail=f"link {row.id} to image {image.id}, until {row.expires_at:%Y-%m-%d %H:%M} UTC",
        )
        if self.policy.share_links == "signed_url":
            url = self._blobs.signed_url(image.object_name, ttl, content_type=image.content_type)
        else:
            url = f"{self.policy.base_url.rstrip('/')}/s/{token}"
        return _share(row, image, url)

    def revoke_all(self, owner: Owner) -> int:
        """Turn off every active link of an owner (the admin's `revoke-shares`)."""
        now = self._now()
        with transaction(self._sessions) as session:
            ids = session.scalars(
                select(ShareRow.id).where(ShareRow.owner_id == owner.id, ShareRow.revoked_at.is_(None))
            ).all()
            session.execute(update(ShareRow).where(ShareRow.id.in_(ids)).values(revoked_at=now))
        self.audit.record("revoke", account_id=owner.id, who="admin", detail=f"all {len(ids)} links")
        return len(ids)

    def links(self, owner: Owner) -> builtins.list[Share]:
        """The owner's active links, soonest to expire first."""
        with self._sessions() as session:
            pairs = session.execute(
                select(ShareRow, ImageRow)
                .join(ImageRow, ImageRow.id == ShareRow.image_id)
                .where(
                    ShareRow.owner_id == owner.id,
                    ShareRow.revoked_at.is_(None),
                    ShareRow.expires_at > self._now(),
                    ImageRow.status == "ready",
                )
                .order_by(ShareRow.expires_at)
            ).all()
        return [_share(s, Image.from_row(i)) for s, i in pairs]

    def revoke(self, owner: Owner, ref: str) -> builtins.list[Share]:
        """Revoke a link (by its id, URL or token) or every active link of an image."""
        if self.policy.share_links == "signed_url":
            # The link is the signed URL itself, valid for its whole lifetime: turning it off
            # here would claim something storage does not do.
            raise Rejected(SIGNED_LINKS_STAY)
        now = self._now()
        ref = ref.strip()
        with transaction(self._sessions) as session:
            match = _SHARE_TOKEN_RE.search(ref)
            by = ShareRow.token_hash == hash_token(match.group(1)) if match else ShareRow.id == ref
            rows = session.scalars(
                select(ShareRow).where(ShareRow.owner_id == owner.id, by, ShareRow.revoked_at.is_(None))
            ).all()
            if not rows and not match:
                image = self.get(owner, ref)
                rows = session.scalars(
                    select(ShareRow).where(
                        ShareRow.owner_id == owner.id,
                        ShareRow.image_id == image.id,
                        ShareRow.revoked_at.is_(None),
                        ShareRow.expires_at > now,
                    )
                ).all()
                if not rows:
                    raise NotFound(f"“{_clip(image.name)}” has no active links.")
            if not rows:
                raise NotFound("You have no active link like that. `links` shows them.")
            for row in rows:
                row.revoked_at = now
            images_by_id = {
                r.id: Image.from_row(r)
                for r in session.scalars(
                    select(ImageRow).where(ImageRow.id.in_({row.image_id for row in rows}))
                )
            }
            revoked = [_share(row, images_by_id[row.image_id]) for row in rows]
        for share in revoked:
            self.audit.record("revoke", account_id=owner.id, who=owner.email, detail=f"link {share.id}")
        return revoked

    def open_share(self, token: str, *, count_view: bool = True) -> tuple[Share, str]:
        """Resolve a share token for a visitor: count the view and sign a short-lived URL.

        `count_view=False` for a chat's link preview fetching the image, which nobody saw yet.
        """
        now = self._now()
        with transaction(self._sessions) as session:
            found = session.execute(
                select(ShareRow, ImageRow)
                .join(ImageRow, ImageRow.id == ShareRow.image_id)
                .where(ShareRow.token_hash == hash_token(token), ImageRow.status == "ready")
            ).first()
            if found is None:
                raise NotFound("This link does not exist.")
            share, image_row = found
            if share.revoked_at is not None:
                raise Revoked("This link has been turned off by the person who shared it.")
            # Under a second left is expired too: a V4 URL counts whole seconds, so it would be
            # born dead and the visitor would see a storage error instead of this message.
            if share.expires_at - now < timedelta(seconds=1):
                raise Expired("This link has expired.")
            if count_view:
                session.execute(
                    update(ShareRow).where(ShareRow.id == share.id).values(views=ShareRow.views + 1)
                )
        image = Image.from_row(image_row)
        # The signed URL never outlives the share itself.
        ttl = min(self.policy.signed_url_ttl, share.expires_at - now)
        display = image.display_object_name
        if display is not None and self._blobs.exists(display):
            # A shared HEIC or TIFF opens as a picture in any browser.
            url = self._blobs.signed_url(display, ttl, content_type="image/jpeg")
        else:
            url = self._blobs.signed_url(image.object_name, ttl, content_type=image.content_type)
        return _share(share, image), url

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _mine(owner: Owner) -> tuple[ColumnElement[bool], ...]:
        return (ImageRow.owner_id == owner.id, ImageRow.status == "ready")

    def _by_source(self, owner: Owner, source: Source, *, any_status: bool = False) -> Image | None:
        with self._sessions() as session:
            query = select(ImageRow).where(
                ImageRow.owner_id == owner.id,
                ImageRow.source_platform == source.platform,
                ImageRow.source_tenant == source.tenant,
                ImageRow.source_file_id == source.file_id,
            )
            if not any_status:
                query = query.where(ImageRow.status == "ready")
            row = session.scalar(query)
        return Image.from_row(row) if row else None

    def _by_sha256(self, owner: Owner, sha256: str, *, any_status: bool = False) -> Image | None:
        with self._sessions() as session:
            query = select(ImageRow).where(ImageRow.owner_id == owner.id, ImageRow.sha256 == sha256)
            if not any_status:
                query = query.where(ImageRow.status == "ready")
            row = session.scalar(query)
        return Image.from_row(row) if row else None


def _share(row: ShareRow, image: Image, url: str | None = None) -> Share:
    return Share(
        id=row.id,
        image=image,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        views=row.views,
        created_by=row.created_by,
        url=url,
    )


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _duration(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours % 24 == 0 and hours >= 48 else f"{hours} hours"
