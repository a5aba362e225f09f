"""The library use cases every front end calls: upload, list, get, delete, usage, recover.

Every call takes the owner. The catalog never selects rows of other owners, so another
person's id behaves exactly like an id that does not exist. Shares are in storage/sharing.py.
"""

from __future__ import annotations

import io
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from . import images, location, messages
from .blobstore import BlobStore
from .catalog import COUNT_CAP, Catalog, NewImage, Position
from .cursors import ListingCursors
from .decode_budget import DecodeBudget
from .errors import AmbiguousName, NoSuchImage, NotFound, Rejected, StorageError, StorageUnavailable
from .model import (
    IMAGE_ID_RE,
    Image,
    ImageStatus,
    Owner,
    Page,
    Source,
    Upload,
    Usage,
    display_object_name,
    new_id,
)
from .models import utcnow
from .recent import Renditions, SignedUrls

log = logging.getLogger(__name__)
# Threads that upload originals and scan their bytes while previews are made (two tasks per
# upload); more queue for them.
PUT_THREADS = 8


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
    # Signs listing cursors; the instance's SECRET_KEY. Empty: a key of this process only.
    cursor_secret: str = ""


def find_image(catalog: Catalog, owner: Owner, ref: str) -> Image:
    """An image by id or by file name; NoSuchImage for anything the owner does not have."""
    ref = ref.strip()
    if IMAGE_ID_RE.match(ref) and (image := catalog.by_id(owner.id, ref)) is not None:
        return image
    found = catalog.by_name(owner.id, ref, limit=6)
    if not found:
        raise NoSuchImage(ref)
    if len(found) > 1:
        raise AmbiguousName(ref, [i.id for i in found[:5]])
    return found[0]


class Library:
    """One person's images: bytes in the blob store, index in the catalog."""

    def __init__(
        self,
        catalog: Catalog,
        blobs: BlobStore,
        policy: LibraryPolicy | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.catalog = catalog
        self._blobs = blobs
        self.policy = policy or LibraryPolicy()
        # Shared by every decode this Library runs (ingest threads and web requests alike).
        self.decode_budget = DecodeBudget(self.policy.decode_memory_bytes)
        self._puts: ThreadPoolExecutor | None = None
        self._put_pool_lock = threading.Lock()
        self._now = clock
        self._renditions = Renditions(blobs)  # a gallery view asks the bucket once per rendition
        self._urls = SignedUrls(blobs, clock)  # and signs a page's previews once per half-life
        self._cursors = ListingCursors(self.policy.cursor_secret or secrets.token_urlsafe(32))

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
        if source is not None and (existing := self.catalog.by_source(owner.id, source)) is not None:
            return Upload(existing, created=False)
        received = images.receive(stream, max_bytes=self.policy.max_upload_bytes)
        try:
            examined = images.examine(received, max_pixels=self.policy.max_pixels)
            # A repeat of bytes this person already stored was decoded then: not again.
            if (existing := self.catalog.by_sha256(owner.id, received.sha256)) is not None:
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
        count, size = self.catalog.usage(owner.id)
        return Usage(count, size, self.policy.quota_images, self.policy.quota_bytes)

    def _put_pool(self) -> ThreadPoolExecutor:
        with self._put_pool_lock:
            if self._puts is None:
                self._puts = ThreadPoolExecutor(PUT_THREADS, thread_name_prefix="cloudbox-put")
            return self._puts

    def keeps_location(self, owner: Owner) -> bool:
        """Whether `owner`'s new originals keep their location: their own choice, else the default."""
        return self.policy.keep_location if owner.keep_location is None else owner.keep_location

    def _stored_bytes(
        self, owner: Owner, received: images.Received, info: images.ImageInfo
    ) -> location.Rewrite:
        """What goes to the bucket: the bytes as sent, less location metadata unless kept."""
        if not self.keeps_location(owner):
            # libheif reads a whole HEIC into memory to find its metadata items: that is held
            # from the decode budget like a decode, so concurrent HEICs cannot exceed it.
            held = received.size if info.format == "HEIF" else 0
            with self.decode_budget.reserve(held) if held else nullcontext():
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
        """Claim the catalog entry, write the bytes, then publish; undo everything on failure."""
        stored = self._stored_bytes(owner, received, examined.info)
        new = self._new_image(owner, received, examined.info, stored.size, filename, source)
        # Claim the unique keys first: a concurrent upload of the same file loses here,
        # before it writes any bytes.
        existing = self._claim(new, replace_unfinished=replace_unfinished)
        if existing is not None:
            return Upload(existing, created=False)
        try:
            self._write(new.image, received, examined, stored)
        except BaseException:
            self._abandon(new.image)
            raise
        self._publish(new.image)
        return Upload(new.image, created=True)

    def _new_image(
        self,
        owner: Owner,
        received: images.Received,
        info: images.ImageInfo,
        size: int,
        filename: str | bytes | None,
        source: Source | None,
    ) -> NewImage:
        image_id = new_id()
        image = Image(
            id=image_id,
            name=images.display_name(filename, info.extension),
            content_type=info.content_type,
            size=size,
            width=info.width,
            height=info.height,
            sha256=received.sha256,  # of the bytes as sent: a repeat of them is a duplicate
            created_at=self._now(),
            source_platform=source.platform if source else None,
            object_name=f"{owner.prefix}{image_id}.{info.extension}",
            preview_object_name=f"{owner.prefix}{image_id}.preview.jpg",
        )
        return NewImage(owner.id, image, source)

    def _write(
        self, image: Image, received: images.Received, examined: images.Examined, stored: location.Rewrite
    ) -> None:
        """Put the original, check it has no second format and put its renditions."""
        metadata = {"cloudbox-name": image.name, "cloudbox-sha256": received.sha256}
        # The original goes up while the pixels are decoded: an image costs about the
        # longer of the two. The put reads with pread, so it never moves the decoder's place.
        # Made here, before any thread starts: it moves a small spool to disk, which must not
        # happen under a reader.
        read_at = location.positional_reads(received.file)
        original = self._put_pool().submit(
            self._blobs.put,
            image.object_name,
            location.PiecesReader(read_at, stored.pieces),  # type: ignore[arg-type]
            size=stored.size,
            content_type=image.content_type,
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
        self.put_renditions(image.id, image.object_name, image.preview_object_name, renditions)

    def _publish(self, image: Image) -> None:
        """'storing' → 'ready': from now on the image is listed."""
        if not self.catalog.publish(image.id):
            # A retry of this same chat file took the row over while these bytes were being
            # written (this attempt had been given up for dead): ours are now unreachable.
            self._abandon(image)
            raise StorageUnavailable(messages.UPLOAD_TAKEN_OVER)

    def _claim(self, new: NewImage, *, replace_unfinished: bool) -> Image | None:
        """Insert the 'storing' row, or return the image that already holds its unique keys.

        With `replace_unfinished`, a row still 'storing' for the same chat file is taken to be
        what an earlier attempt left when it failed and could not even clean up (storage down,
        process killed): its leftovers are purged and the claim retried. Only a caller that
        knows no other attempt is alive (the ingest worker holding the job's lease) may ask.
        """
        owner_id, source = new.owner_id, new.source
        for _ in range(3):
            if self.catalog.claim(new):
                return None
            existing = (source and self.catalog.by_source(owner_id, source, any_status=True)) or (
                self.catalog.by_sha256(owner_id, new.image.sha256, any_status=True)
            )
            if existing is None:
                continue  # the conflicting row vanished meanwhile: claim again
            if not (replace_unfinished and source is not None):
                return existing
            if (
                self.catalog.status(existing.id) != ImageStatus.STORING
                or self.catalog.by_source(owner_id, source, any_status=True) != existing
            ):
                return existing
            log.info("purging upload %s left by an earlier attempt at the same file", existing.id)
            self._purge(existing.id, existing.object_name, existing.preview_object_name)
        raise StorageUnavailable(messages.COULD_NOT_SAVE)

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

    def _abandon(self, image: Image) -> None:
        """Undo a failed upload. If even that fails the row stays 'storing' for recover()."""
        try:
            self._purge(image.id, image.object_name, image.preview_object_name)
        except Exception:
            log.warning("could not undo upload %s; recover() will finish it", image.id)

    # -- read -----------------------------------------------------------------------------

    def list(
        self, owner: Owner, *, page: int = 1, per_page: int = 20, words: str = "", after: str | None = None
    ) -> Page:
        """Newest first; `words` keeps images whose name contains every word. `after` (a page's
        `after` cursor) opens the next page straight from the index, however deep; without it,
        page `page` is counted from the first. BadCursor for a cursor CloudBox did not make."""
        position = None
        if after is not None:
            page, position = self._cursors.read(after, owner.id)
        page = max(1, page)
        found, total = self.catalog.page(
            owner.id, words=words.split(), number=page, per_page=per_page, after=position
        )
        counted_all = not words or total <= COUNT_CAP
        more = len(found) == per_page and (not counted_all or page * per_page < total)
        last = Position(found[-1].created_at, found[-1].id) if found else None
        cursor = self._cursors.make(owner.id, page + 1, last) if more and last else None
        return Page(found, page, per_page, total, after=cursor, counted_all=counted_all)

    def get(self, owner: Owner, ref: str) -> Image:
        """An image by id or by file name; NoSuchImage for anything the owner does not have."""
        return find_image(self.catalog, owner, ref)

    def preview_url(self, image: Image) -> str:
        return self._urls.url(image.preview_object_name, self.policy.signed_url_ttl)

    def display_url(self, image: Image) -> str:
        """What a browser is shown: the display rendition where the original is HEIC or TIFF
        (and it was made: images stored before it existed get one from `check-consistency
        --repair`), else the original."""
        name = image.display_object_name
        if name is not None and self._renditions.present(name):
            return self._urls.url(name, self.policy.signed_url_ttl, content_type="image/jpeg")
        return self.original_url(image)

    def original_url(self, image: Image, *, download: bool = False) -> str:
        return self._urls.url(
            image.object_name,
            self.policy.signed_url_ttl,
            download_name=image.name if download else None,
            content_type=image.content_type,
        )

    # -- delete ---------------------------------------------------------------------------

    def delete(self, owner: Owner, ref: str) -> Image:
        """Remove the bytes, the preview and the catalog row (and so its shares)."""
        image = self.get(owner, ref)
        if not self.catalog.hide(owner.id, image.id):
            raise NotFound(messages.IMAGE_ALREADY_GONE)
        try:
            self._purge(image.id, image.object_name, image.preview_object_name)
        except (StorageUnavailable, StorageError):
            # The image stays hidden; recover() finishes the deletion when storage is back.
            raise StorageUnavailable(messages.HIDDEN_NOT_REMOVED) from None
        finally:
            self.catalog.record("delete", account_id=owner.id, who=owner.email, detail=f"image {image.id}")
        return image

    def delete_all(self, owner: Owner) -> int:
        """Delete every image of an owner (unlink with "delete my library")."""
        count = 0
        while True:
            page = self.list(owner, per_page=100)
            if not page.images:
                self.catalog.record(
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
        self.catalog.forget(image_id)

    def recover(self, *, older_than: timedelta = timedelta(minutes=15)) -> int:
        """Finish what a crash interrupted: abandoned uploads and half-done deletions."""
        stale = self.catalog.leftovers(self._now() - older_than)
        for leftover in stale:
            self._purge(leftover.image_id, leftover.object_name, leftover.preview_object_name)
        return len(stale)
