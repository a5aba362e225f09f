"""The share use cases: expiring links to one image, listing and revoking them, opening one.

A link is either a CloudBox address (`/s/<token>`, counted and revocable; only the token's hash
is kept) or, with `share_links = "signed_url"`, the signed storage URL itself.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from prometheus_client import Gauge

from . import messages
from .blobstore import BlobStore
from .catalog import Catalog, NewShare
from .errors import Expired, NoActiveLinks, NoSuchLink, NotFound, Rejected, Revoked
from .library import LibraryPolicy, find_image
from .model import Owner, Share, hash_token, new_id
from .models import utcnow
from .recent import Renditions, SignedUrls
from .write_behind import WriteBehind

UNWRITTEN_VIEWS = Gauge(
    "cloudbox_share_views_unwritten",
    "Share link views counted but not yet written to the catalog.",
    multiprocess_mode="livesum",
)
_SHARE_TOKEN_RE = re.compile(r"(?:/s/)?([A-Za-z0-9_-]{32})/?$")


class Shares:
    """One person's links to their images."""

    def __init__(
        self,
        catalog: Catalog,
        blobs: BlobStore,
        policy: LibraryPolicy | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._catalog = catalog
        self._blobs = blobs
        self.policy = policy or LibraryPolicy()
        self._now = clock
        # Views are counted behind the visit: the redirect does not wait for a commit, and the
        # views of many visits (of one link or many) go to the database in one transaction.
        self._views: WriteBehind[str] = WriteBehind(
            self._catalog.count_views, name="cloudbox-share-views", unwritten=UNWRITTEN_VIEWS
        )
        self._urls = SignedUrls(blobs, clock)
        self._renditions = Renditions(blobs)

    def share(self, owner: Owner, ref: str, *, ttl: timedelta | None = None, created_by: str = "") -> Share:
        """A new expiring link to one image. Its URL is only returned here."""
        ttl = ttl or self.policy.share_default_ttl
        if ttl <= timedelta(0):
            raise Rejected(messages.LINK_TOO_SHORT)
        if ttl > self.policy.share_max_ttl:
            raise Rejected(messages.links_last_at_most(self.policy.share_max_ttl))
        image = find_image(self._catalog, owner, ref)
        token = secrets.token_urlsafe(24)
        now = self._now()
        new = NewShare(
            id=new_id(),
            token_hash=hash_token(token),
            image_id=image.id,
            owner_id=owner.id,
            created_by=created_by[:255],
            created_at=now,
            expires_at=now + ttl,
        )
        self._catalog.add_share(new)
        self._catalog.record(
            "share",
            account_id=owner.id,
            who=created_by or owner.email,
            detail=f"link {new.id} to image {image.id}, until {new.expires_at:%Y-%m-%d %H:%M} UTC",
        )
        if self.policy.share_links == "signed_url":
            url = self._blobs.signed_url(image.object_name, ttl, content_type=image.content_type)
        else:
            url = f"{self.policy.base_url.rstrip('/')}/s/{token}"
        return Share(new.id, image, new.created_at, new.expires_at, None, 0, new.created_by, url)

    def revoke_all(self, owner: Owner) -> int:
        """Turn off every active link of an owner (the admin's `revoke-shares`)."""
        count = self._catalog.revoke_every_share(owner.id, self._now())
        self._catalog.record("revoke", account_id=owner.id, who="admin", detail=f"all {count} links")
        return count

    def links(self, owner: Owner) -> list[Share]:
        """The owner's active links, soonest to expire first."""
        return self._catalog.active_shares(owner.id, self._now())

    def revoke(self, owner: Owner, ref: str) -> list[Share]:
        """Revoke a link (by its id, URL or token) or every active link of an image."""
        if self.policy.share_links == "signed_url":
            # The link is the signed URL itself, valid for its whole lifetime: turning it off
            # here would claim something storage does not do.
            raise Rejected(messages.SIGNED_LINKS_STAY)
        now = self._now()
        ref = ref.strip()
        if match := _SHARE_TOKEN_RE.search(ref):
            revoked = self._catalog.revoke_by_token(owner.id, hash_token(match.group(1)), now)
        else:
            revoked = self._catalog.revoke_by_id(owner.id, ref, now) or self._revoke_image(owner, ref, now)
        if not revoked:
            raise NoSuchLink()
        for share in revoked:
            self._catalog.record("revoke", account_id=owner.id, who=owner.email, detail=f"link {share.id}")
        return revoked

    def _revoke_image(self, owner: Owner, ref: str, now: datetime) -> list[Share]:
        image = find_image(self._catalog, owner, ref)
        revoked = self._catalog.revoke_of_image(owner.id, image.id, now)
        if not revoked:
            raise NoActiveLinks(image.name)
        return revoked

    def open_share(self, token: str, *, count_view: bool = True) -> tuple[Share, str]:
        """Resolve a share token for a visitor: count the view and sign a short-lived URL.

        `count_view=False` for a chat's link preview fetching the image, which nobody saw yet.
        """
        now = self._now()
        share = self._catalog.share_by_token(hash_token(token))
        if share is None:
            raise NotFound(messages.LINK_DOES_NOT_EXIST)
        if share.revoked_at is not None:
            raise Revoked(messages.LINK_TURNED_OFF)
        # Under a second left is expired too: a V4 URL counts whole seconds, so it would be
        # born dead and the visitor would see a storage error instead of this message.
        if share.expires_at - now < timedelta(seconds=1):
            raise Expired(messages.LINK_EXPIRED)
        if count_view:
            self._views.add(share.id)
            share = replace(share, views=share.views + 1)
        return share, self._signed_url(share, now)

    def flush_views(self, timeout: float = 10.0) -> bool:
        """Wait until every view counted so far is in the catalog (False on timeout)."""
        return self._views.flush(timeout)

    def close(self) -> None:
        """Write the views not yet written (at shutdown)."""
        self._views.close()

    def _signed_url(self, share: Share, now: datetime) -> str:
        # The signed URL never outlives the share itself.
        ttl = min(self.policy.signed_url_ttl, share.expires_at - now)
        image = share.image
        display = image.display_object_name
        if display is not None and self._renditions.present(display):
            # A shared HEIC or TIFF opens as a picture in any browser.
            return self._urls.url(display, ttl, content_type="image/jpeg")
        # A signed URL made lately is reused (SignedUrls): the next visitors get it at once.
        return self._urls.url(image.object_name, ttl, content_type=image.content_type)
