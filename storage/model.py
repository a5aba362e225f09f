"""What CloudBox keeps, as plain values: owners, images, shares, pages, usage, and their ids.

No database and no bucket here: the catalog and the blob store turn these into rows and
objects, and the use cases pass them around.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from . import images, messages

ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: ids are read and typed by people
IMAGE_ID_RE = re.compile(rf"^[{ID_ALPHABET}]{{10}}$")
_SAFE_SUB_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def new_id(length: int = 10) -> str:
    """A short, URL-safe, random id (about 50 bits)."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def hash_token(token: str) -> str:
    """What the catalog keeps of a secret token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


class ImageStatus(StrEnum):
    """Where an image is in its life; the values are the strings the catalog stores."""

    STORING = "storing"  # bytes being written; not listed yet
    READY = "ready"  # listed, shown and shared
    DELETING = "deleting"  # hidden, bytes being removed


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
    # The person's own choice on location metadata; None: the instance's default.
    keep_location: bool | None = field(default=None, compare=False)

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
    after: str | None = None  # the next page's cursor (see storage/cursors.py), when there is one
    counted_all: bool = True  # False: `total` is a lower bound (a filter matched more than it counts)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.after is not None


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
        return messages.usage(self.images, self.max_images, self.bytes, self.max_bytes)

    def refusal(self, incoming: int) -> str | None:
        if self.max_images is not None and self.images + 1 > self.max_images:
            return messages.past_image_quota(self.max_images, self.describe())
        if self.max_bytes is not None and self.bytes + incoming > self.max_bytes:
            return messages.past_size_quota(self.max_bytes, self.describe())
        return None
