"""Opening share links under load: every view counted once, signatures reused,
and nothing reused past what the link allows (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from storage.blobstore import BlobStore
from storage.errors import Revoked
from storage.library import Library
from storage.model import Owner
from storage.services import Services
from storage.sharing import Shares
from tests.standins import images
from tests.storage.conftest import Clock

VISITORS = 16
VISITS_EACH = 10


def token_of(url: str | None) -> str:
    assert url is not None
    return url.rsplit("/s/", 1)[1]


def expires_in(signed_url: str) -> int:
    return int(parse_qs(urlsplit(signed_url).query)["X-Goog-Expires"][0])


def test_sixteen_concurrent_visitors_of_one_link_are_each_counted_once(
    library: Library, shares: Shares, alice: Owner
) -> None:
    image = library.upload(alice, io.BytesIO(images.png(41)), filename="hot.png").image
    token = token_of(shares.share(alice, image.id).url)
    start = threading.Barrier(VISITORS)

    def visitor(_: int) -> None:
        start.wait()
        for _ in range(VISITS_EACH):
            shares.open_share(token)

    with ThreadPoolExecutor(VISITORS) as pool:
        list(pool.map(visitor, range(VISITORS)))
    assert shares.flush_views()
    (listed,) = shares.links(alice)
    assert listed.views == VISITORS * VISITS_EACH


class CountingSigner:
    """The real blob store, counting the URLs it signs."""

    def __init__(self, blobs: BlobStore):
        self._blobs = blobs
        self.signed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._blobs, name)

    def signed_url(self, *args: Any, **kwargs: Any) -> str:
        self.signed += 1
        return self._blobs.signed_url(*args, **kwargs)


def test_a_signed_url_is_reused_within_its_life_and_never_outlives_the_link(
    library: Library, catalog_services: Services, clock: Clock, alice: Owner
) -> None:
    signer = CountingSigner(catalog_services.blobs)
    shares = Shares(library.catalog, signer, library.policy, clock=clock)  # type: ignore[arg-type]
    image = library.upload(alice, io.BytesIO(images.png(42)), filename="cat.png").image
    token = token_of(shares.share(alice, image.id, ttl=timedelta(hours=1)).url)
    _, first = shares.open_share(token)
    _, again = shares.open_share(token)
    assert again == first and signer.signed == 1  # one signature for visits close together

    clock.advance(shares.policy.signed_url_ttl * 0.6)  # less than half of its life left
    _, later = shares.open_share(token)
    assert signer.signed == 2 and expires_in(later) == int(shares.policy.signed_url_ttl.total_seconds())

    clock.advance(timedelta(hours=1) - shares.policy.signed_url_ttl * 0.6 - timedelta(minutes=2))
    _, last = shares.open_share(token)  # two minutes of the link left: a URL for two minutes
    assert signer.signed == 3 and expires_in(last) == 120
    shares.close()


def test_a_revoked_link_is_refused_on_the_next_visit_even_with_a_signature_at_hand(
    library: Library, shares: Shares, alice: Owner
) -> None:
    image = library.upload(alice, io.BytesIO(images.png(43)), filename="dog.png").image
    share = shares.share(alice, image.id)
    shares.open_share(token_of(share.url))
    shares.revoke(alice, share.id)
    with pytest.raises(Revoked):
        shares.open_share(token_of(share.url))


def test_a_gallery_page_signs_its_previews_once_per_half_life(
    library: Library, catalog_services: Services, clock: Clock, alice: Owner
) -> None:
    signer = CountingSigner(catalog_services.blobs)
    pages = Library(library.catalog, signer, library.policy, clock=clock)  # type: ignore[arg-type]
    shown = [pages.upload(alice, io.BytesIO(images.png(50 + n)), filename=f"{n}.png").image for n in range(3)]
    first = [pages.preview_url(image) for image in shown]
    again = [pages.preview_url(image) for image in shown]
    assert again == first and signer.signed == 3  # the browser's cached previews stay valid
    assert len(set(first)) == 3  # one URL per object, never another's
    clock.advance(pages.policy.signed_url_ttl * 0.6)
    later = [pages.preview_url(image) for image in shown]
    assert signer.signed == 6 and all(expires_in(url) == 300 for url in later)
