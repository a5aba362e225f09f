"""The catalog port: what the library and share use cases need from the index of images.

The real one is `SqlCatalog` (storage/sql_catalog.py); tests have an in-memory one. Every
image query is scoped to an owner, so another person's id looks like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .model import Image, ImageStatus, Share, Source

COUNT_CAP = 1000  # a filtered listing counts its matches up to this many


@dataclass(frozen=True)
class Position:
    """Where a page of a listing ended: the next page starts after this image."""

    created_at: datetime
    image_id: str


@dataclass(frozen=True)
class NewImage:
    """An image about to be stored: claimed as 'storing' before any byte is written."""

    owner_id: int
    image: Image
    source: Source | None


@dataclass(frozen=True)
class NewShare:
    id: str
    token_hash: str
    image_id: str
    owner_id: int
    created_by: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Leftover:
    """What an interrupted upload or deletion left: removed by `recover()`."""

    image_id: str
    object_name: str
    preview_object_name: str


class Catalog(Protocol):
    # -- images ---------------------------------------------------------------------------

    def usage(self, owner_id: int) -> tuple[int, int]:
        """How many images the owner has and their bytes, in any status."""
        ...

    def by_source(self, owner_id: int, source: Source, *, any_status: bool = False) -> Image | None: ...

    def by_sha256(self, owner_id: int, sha256: str, *, any_status: bool = False) -> Image | None: ...

    def status(self, image_id: str) -> ImageStatus | None: ...

    def claim(self, new: NewImage) -> bool:
        """Insert the image as 'storing'; False when another holds its bytes or chat file."""
        ...

    def publish(self, image_id: str) -> bool:
        """'storing' → 'ready'; False when the row is no longer 'storing'."""
        ...

    def hide(self, owner_id: int, image_id: str) -> bool:
        """'ready' → 'deleting'; False when the owner has no such ready image."""
        ...

    def forget(self, image_id: str) -> None:
        """Drop the row (and with it its shares)."""
        ...

    def page(
        self, owner_id: int, *, words: list[str], number: int, per_page: int, after: Position | None = None
    ) -> tuple[list[Image], int]:
        """Ready images newest first whose name contains every word (after `after` when given,
        else on page `number`), and how many match (at most COUNT_CAP + 1 with words)."""
        ...

    def by_id(self, owner_id: int, image_id: str) -> Image | None: ...

    def by_name(self, owner_id: int, name: str, *, limit: int) -> list[Image]:
        """Ready images with this name (any case), newest first."""
        ...

    def leftovers(self, stale_before: datetime) -> list[Leftover]:
        """Rows 'deleting', and rows 'storing' created before `stale_before`."""
        ...

    # -- shares ---------------------------------------------------------------------------

    def add_share(self, new: NewShare) -> None: ...

    def active_shares(self, owner_id: int, now: datetime) -> list[Share]:
        """Unrevoked, unexpired shares of ready images, soonest to expire first."""
        ...

    def revoke_every_share(self, owner_id: int, now: datetime) -> int: ...

    def revoke_by_token(self, owner_id: int, token_hash: str, now: datetime) -> list[Share]: ...

    def revoke_by_id(self, owner_id: int, share_id: str, now: datetime) -> list[Share]: ...

    def revoke_of_image(self, owner_id: int, image_id: str, now: datetime) -> list[Share]:
        """Revoke the image's unrevoked shares that have not expired."""
        ...

    def share_by_token(self, token_hash: str) -> Share | None:
        """The share with this token, if its image is ready (revoked or expired alike)."""
        ...

    def count_views(self, views: Mapping[str, int]) -> None:
        """Add these views to these shares (by id), all in one transaction."""
        ...

    # -- audit ----------------------------------------------------------------------------

    def record(self, kind: str, *, account_id: int | None, who: str, detail: str) -> None:
        """Add to the audit trail (never a token)."""
        ...
