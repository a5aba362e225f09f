"""Listings that do not grow with the library: per-owner counts kept in step with every change,
keyset pages straight off the index, and cursors nobody can forge (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from bench.storage_bench import ready_image_rows
from storage.cursors import BadCursor
from storage.library import Library
from storage.model import Owner
from storage.models import ImageRow, utcnow
from storage.services import Services
from tests.standins import images
from tests.storage.conftest import Clock


def counted_by_hand(services: Services, owner: Owner) -> tuple[int, int]:
    with services.sessions() as session:
        count, size = session.execute(
            select(func.count(), func.coalesce(func.sum(ImageRow.size), 0)).where(
                ImageRow.owner_id == owner.id, ImageRow.status == "ready"
            )
        ).one()
    return int(count), int(size)


def test_counts_stay_right_under_concurrent_uploads_and_deletions(
    library: Library, catalog_services: Services, alice: Owner
) -> None:
    kept = [
        library.upload(alice, io.BytesIO(images.png(100 + n)), filename=f"k{n}.png").image for n in range(6)
    ]

    def upload(n: int) -> None:
        library.upload(alice, io.BytesIO(images.png(200 + n)), filename=f"new{n}.png")

    def delete(image_id: str) -> None:
        library.delete(alice, image_id)

    with ThreadPoolExecutor(8) as pool:
        work = [pool.submit(upload, n) for n in range(12)] + [pool.submit(delete, i.id) for i in kept[:4]]
        for done in work:
            done.result()
    count, size = counted_by_hand(catalog_services, alice)
    assert count == 6 + 12 - 4 and library.list(alice).total == count
    assert library.usage(alice).images == count and library.usage(alice).bytes == size


def test_keyset_pages_walk_the_library_newest_first_without_repeats(
    library: Library, clock: Clock, alice: Owner
) -> None:
    uploaded = []
    for n in range(7):
        uploaded.append(library.upload(alice, io.BytesIO(images.png(300 + n)), filename=f"p{n}.png").image)
        if n % 3:  # some share a timestamp: the id breaks the tie, as the index does
            clock.advance(timedelta(seconds=1))
    seen, page = [], library.list(alice, per_page=3)
    while True:
        seen += [i.id for i in page.images]
        if page.after is None:
            break
        page = library.list(alice, per_page=3, after=page.after)
    assert page.number == 3 and page.total == 7
    newest_first = sorted(uploaded, key=lambda i: (i.created_at, i.id), reverse=True)
    assert seen == [i.id for i in newest_first]


def test_a_cursor_that_was_altered_invented_or_made_for_another_owner_is_refused(
    library: Library, alice: Owner, bob: Owner
) -> None:
    for n in range(3):
        library.upload(alice, io.BytesIO(images.png(400 + n)), filename=f"a{n}.png")
    cursor = library.list(alice, per_page=1).after
    assert cursor is not None
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    for forged in (tampered, "eyJub3QiOiJtaW5lIn0", "", cursor + "x"):
        with pytest.raises(BadCursor):
            library.list(alice, per_page=1, after=forged)
    with pytest.raises(BadCursor):
        library.list(bob, per_page=1, after=cursor)


def test_a_filter_that_matches_more_than_it_counts_says_so(
    library: Library, catalog_services: Services, alice: Owner
) -> None:
    rows = ready_image_rows(alice, range(1005), utcnow() - timedelta(days=30))
    with catalog_services.engine.begin() as connection:
        connection.execute(insert(ImageRow), rows)
    page = library.list(alice, per_page=10, words="IMG")
    assert not page.counted_all and page.total == 1001 and page.after is not None
    deeper = library.list(alice, per_page=10, words="IMG", after=page.after)
    assert deeper.number == 2 and len(deeper.images) == 10
