"""Two deliveries of the same chat file at the same moment store it once."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

from storage.library import Library
from storage.model import Owner, Source, Upload
from storage.models import ImageRow
from storage.services import Services
from tests.standins import images as samples

from .helpers import count, objects

WAIT = 10.0  # seconds; generous, only hit when something is broken


class MeetingStream(io.BytesIO):
    """Blocks its first read until the other upload has started reading too.

    Reading starts after the "already have it?" lookup, so both uploads are past that lookup
    and race for the catalog's unique key, which is the case under test.
    """

    def __init__(self, data: bytes, barrier: threading.Barrier):
        super().__init__(data)
        self._barrier = barrier
        self._met = False

    def read(self, size: int | None = -1) -> bytes:
        if not self._met:
            self._met = True
            self._barrier.wait(WAIT)
        return super().read(size)


def race(library: Library, owner: Owner, data: bytes, sources: list[Source | None]) -> list[Upload]:
    barrier = threading.Barrier(len(sources))
    with ThreadPoolExecutor(len(sources)) as pool:
        futures = [
            pool.submit(
                library.upload, owner, MeetingStream(data, barrier), filename=f"{i}.png", source=source
            )
            for i, source in enumerate(sources)
        ]
        return [f.result(timeout=WAIT * 3) for f in futures]


def test_same_chat_file_uploaded_twice_at_once_is_stored_once(
    library: Library, catalog_services: Services, alice: Owner
) -> None:
    source = Source("slack", "T0001", "F0001")
    results = race(library, alice, samples.png(1), [source, source])
    assert sorted(r.created for r in results) == [False, True]
    assert results[0].image.id == results[1].image.id
    assert count(catalog_services.sessions, ImageRow) == 1
    assert len(objects(catalog_services.blobs, alice)) == 2  # one original, one preview
    assert library.list(alice).total == 1


def test_same_bytes_from_two_chats_at_once_are_stored_once(
    library: Library, catalog_services: Services, alice: Owner
) -> None:
    sources = [Source("slack", "T0001", "F0002"), Source("gchat", "example.com", "media/9")]
    results = race(library, alice, samples.png(2), sources)
    assert sorted(r.created for r in results) == [False, True]
    assert count(catalog_services.sessions, ImageRow) == 1
    assert len(objects(catalog_services.blobs, alice)) == 2
