"""In-memory stand-ins for the catalog and the blob store, for fast unit tests of the use cases.

They keep the promises the real ones make (storage/catalog.py, storage/blobstore.py): claims
lose on the same unique keys as the SQL catalog, status changes are compare-and-set, every image
query is scoped to its owner, and the blob store only creates objects, never overwrites them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, BinaryIO
from urllib.parse import quote, urlencode

from storage.blobstore import StoredObject
from storage.catalog import COUNT_CAP, Leftover, NewImage, NewShare, Position
from storage.model import Image, ImageStatus, Share, Source
from storage.models import utcnow


@dataclass
class _ImageEntry:
    owner_id: int
    image: Image
    source: Source | None
    status: ImageStatus


@dataclass
class _ShareEntry:
    new: NewShare
    revoked_at: datetime | None = None
    views: int = 0


@dataclass(frozen=True)
class AuditRecord:
    kind: str
    account_id: int | None
    who: str
    detail: str


@dataclass
class FakeCatalog:
    """The catalog in a few dictionaries; `audit` is what was recorded, in order."""

    images: dict[str, _ImageEntry] = field(default_factory=dict)
    shares: dict[str, _ShareEntry] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)
    # The use cases call the catalog from one thread, but uploads put bytes from a pool: cheap
    # insurance that a future caller from several threads still sees whole updates.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- images ---------------------------------------------------------------------------

    def usage(self, owner_id: int) -> tuple[int, int]:
        mine = [e.image.size for e in self.images.values() if e.owner_id == owner_id]
        return len(mine), sum(mine)

    def by_source(self, owner_id: int, source: Source, *, any_status: bool = False) -> Image | None:
        return self._first(lambda e: e.owner_id == owner_id and e.source == source, any_status)

    def by_sha256(self, owner_id: int, sha256: str, *, any_status: bool = False) -> Image | None:
        return self._first(lambda e: e.owner_id == owner_id and e.image.sha256 == sha256, any_status)

    def status(self, image_id: str) -> ImageStatus | None:
        entry = self.images.get(image_id)
        return entry.status if entry else None

    def claim(self, new: NewImage) -> bool:
        with self._lock:
            for e in self.images.values():
                same_bytes = e.owner_id == new.owner_id and e.image.sha256 == new.image.sha256
                same_file = e.owner_id == new.owner_id and new.source is not None and e.source == new.source
                if same_bytes or same_file or e.image.id == new.image.id:
                    return False
            self.images[new.image.id] = _ImageEntry(new.owner_id, new.image, new.source, ImageStatus.STORING)
            return True

    def publish(self, image_id: str) -> bool:
        return self._move(image_id, ImageStatus.STORING, ImageStatus.READY)

    def hide(self, owner_id: int, image_id: str) -> bool:
        entry = self.images.get(image_id)
        if entry is None or entry.owner_id != owner_id:
            return False
        return self._move(image_id, ImageStatus.READY, ImageStatus.DELETING)

    def forget(self, image_id: str) -> None:
        with self._lock:
            self.images.pop(image_id, None)
            # As the foreign key's ON DELETE CASCADE does.
            for share_id in [i for i, s in self.shares.items() if s.new.image_id == image_id]:
                del self.shares[share_id]

    def page(
        self, owner_id: int, *, words: list[str], number: int, per_page: int, after: Position | None = None
    ) -> tuple[list[Image], int]:
        found = [
            e.image
            for e in self._ready(owner_id)
            if all(word.lower() in e.image.name.lower() for word in words)
        ]
        found.sort(key=lambda i: (i.created_at, i.id), reverse=True)
        total = min(len(found), COUNT_CAP + 1) if words else len(found)
        if after is not None:
            found = [i for i in found if (i.created_at, i.id) < (after.created_at, after.image_id)]
            return found[:per_page], total
        start = (number - 1) * per_page
        return found[start : start + per_page], total

    def by_id(self, owner_id: int, image_id: str) -> Image | None:
        return next((e.image for e in self._ready(owner_id) if e.image.id == image_id), None)

    def by_name(self, owner_id: int, name: str, *, limit: int) -> list[Image]:
        found = [e.image for e in self._ready(owner_id) if e.image.name.lower() == name.lower()]
        found.sort(key=lambda i: i.created_at, reverse=True)
        return found[:limit]

    def leftovers(self, stale_before: datetime) -> list[Leftover]:
        return [
            Leftover(e.image.id, e.image.object_name, e.image.preview_object_name)
            for e in self.images.values()
            if e.status == ImageStatus.DELETING
            or (e.status == ImageStatus.STORING and e.image.created_at < stale_before)
        ]

    # -- shares ---------------------------------------------------------------------------

    def add_share(self, new: NewShare) -> None:
        with self._lock:
            if new.id in self.shares or any(s.new.token_hash == new.token_hash for s in self.shares.values()):
                raise ValueError("share id or token hash already taken")
            self.shares[new.id] = _ShareEntry(new)

    def active_shares(self, owner_id: int, now: datetime) -> list[Share]:
        active = [
            s
            for s in self.shares.values()
            if s.new.owner_id == owner_id
            and s.revoked_at is None
            and s.new.expires_at > now
            and self.status(s.new.image_id) == ImageStatus.READY
        ]
        return [self._share(s) for s in sorted(active, key=lambda s: s.new.expires_at)]

    def revoke_every_share(self, owner_id: int, now: datetime) -> int:
        return len(self._revoke(now, lambda s: s.new.owner_id == owner_id))

    def revoke_by_token(self, owner_id: int, token_hash: str, now: datetime) -> list[Share]:
        return self._revoke(now, lambda s: s.new.owner_id == owner_id and s.new.token_hash == token_hash)

    def revoke_by_id(self, owner_id: int, share_id: str, now: datetime) -> list[Share]:
        return self._revoke(now, lambda s: s.new.owner_id == owner_id and s.new.id == share_id)

    def revoke_of_image(self, owner_id: int, image_id: str, now: datetime) -> list[Share]:
        return self._revoke(
            now,
            lambda s: s.new.owner_id == owner_id and s.new.image_id == image_id and s.new.expires_at > now,
        )

    def share_by_token(self, token_hash: str) -> Share | None:
        for s in self.shares.values():
            if s.new.token_hash == token_hash and self.status(s.new.image_id) == ImageStatus.READY:
                return self._share(s)
        return None

    def count_views(self, views: Mapping[str, int]) -> None:
        with self._lock:
            for share_id, more in views.items():
                if share_id in self.shares:
                    self.shares[share_id].views += more

    # -- audit ----------------------------------------------------------------------------

    def record(self, kind: str, *, account_id: int | None, who: str, detail: str) -> None:
        self.audit.append(AuditRecord(kind, account_id, who, detail))

    # -- helpers --------------------------------------------------------------------------

    def _ready(self, owner_id: int) -> list[_ImageEntry]:
        return [e for e in self.images.values() if e.owner_id == owner_id and e.status == ImageStatus.READY]

    def _first(self, match: Callable[[_ImageEntry], bool], any_status: bool) -> Image | None:
        for e in self.images.values():
            if match(e) and (any_status or e.status == ImageStatus.READY):
                return e.image
        return None

    def _move(self, image_id: str, before: ImageStatus, after: ImageStatus) -> bool:
        with self._lock:
            entry = self.images.get(image_id)
            if entry is None or entry.status != before:
                return False
            entry.status = after
            return True

    def _revoke(self, now: datetime, match: Callable[[_ShareEntry], bool]) -> list[Share]:
        with self._lock:
            chosen = [s for s in self.shares.values() if s.revoked_at is None and match(s)]
            for s in chosen:
                s.revoked_at = now
        return [self._share(s) for s in chosen]

    def _share(self, s: _ShareEntry) -> Share:
        new = s.new
        image = self.images[new.image_id].image
        return Share(new.id, image, new.created_at, new.expires_at, s.revoked_at, s.views, new.created_by)


@dataclass(frozen=True)
class FakeObject:
    data: bytes
    content_type: str
    metadata: Mapping[str, str]
    created: datetime


class FakeBlobStore:
    """A bucket in a dictionary. Signed URLs are fake addresses that name the object and TTL."""

    BASE = "https://blobs.test/"

    def __init__(self, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.objects_by_name: dict[str, FakeObject] = {}
        self._lock = threading.Lock()  # puts arrive from the library's thread pool
        self._now = clock

    def put(
        self,
        name: str,
        stream: IO[bytes],
        *,
        size: int,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        data = _read_exactly(stream, size)
        with self._lock:
            # Create-only, like the real store's if_generation_match=0.
            self.objects_by_name.setdefault(
                name, FakeObject(data, content_type, dict(metadata or {}), self._now())
            )

    def delete(self, name: str) -> None:
        with self._lock:
            self.objects_by_name.pop(name, None)

    def exists(self, name: str) -> bool:
        return name in self.objects_by_name

    def names(self, prefix: str, *, page_size: int = 1000) -> Iterator[str]:
        yield from sorted(n for n in list(self.objects_by_name) if n.startswith(prefix))

    def objects(self, prefix: str, *, page_size: int = 1000) -> Iterator[StoredObject]:
        for name in self.names(prefix):
            o = self.objects_by_name[name]
            yield StoredObject(name, len(o.data), o.created)

    def download_to(self, name: str, file: BinaryIO) -> None:
        file.write(self.read(name))

    def read(self, name: str) -> bytes:
        return self.objects_by_name[name].data

    def signed_url(
        self,
        name: str,
        ttl: timedelta,
        *,
        download_name: str | None = None,
        content_type: str | None = None,
    ) -> str:
        if ttl <= timedelta(0):
            raise ValueError("a signed URL must live between 1 second and 7 days")
        query = {"ttl": str(int(ttl.total_seconds()))}
        if content_type:
            query["type"] = content_type
        if download_name:
            query["download"] = download_name
        return f"{self.BASE}{quote(name)}?{urlencode(query)}"

    def check(self) -> None:
        return None


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    parts, left = [], size
    while left > 0:
        block = stream.read(min(left, 1024 * 1024))
        if not block:
            raise ValueError("the stream ended before its announced size")
        parts.append(block)
        left -= len(block)
    return b"".join(parts)


def an_image(name: str = "cat.png", *, source_platform: str = "slack") -> Image:
    """A catalogued image as the renderers see it (no bytes behind it)."""
    return Image(
        id="k3m9x2abcd",
        name=name,
        content_type="image/png",
        size=2048,
        width=64,
        height=48,
        sha256="0" * 64,
        created_at=datetime(2026, 11, 26, tzinfo=UTC),
        source_platform=source_platform,
        object_name="users/1/k3m9x2abcd.png",
        preview_object_name="users/1/k3m9x2abcd.preview.jpg",
    )
