"""The library and share use cases on the in-memory catalog and blob store: no emulator, no
database, so these run in milliseconds. tests/storage runs the same promises on the real ones."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from storage.errors import (
    AmbiguousName,
    Expired,
    NoActiveLinks,
    NoSuchImage,
    NoSuchLink,
    NotFound,
    Rejected,
    Revoked,
    StorageUnavailable,
)
from storage.library import Library, LibraryPolicy
from storage.messages import SIGNED_LINKS_STAY
from storage.model import ImageStatus, Owner, Source, Upload
from storage.models import utcnow
from storage.sharing import Shares
from tests.fakes import FakeBlobStore, FakeCatalog
from tests.standins import images as samples

ALICE = Owner(1, "100000000000000000001", "alice@example.com", storage_id="alice-folder")
BOB = Owner(2, "100000000000000000002", "bob@example.com", storage_id="bob-folder")
SLACK_FILE = Source("slack", "T1", "F1")


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Box:
    catalog: FakeCatalog
    blobs: FakeBlobStore
    library: Library
    shares: Shares
    clock: Clock

    def upload(
        self, owner: Owner, data: bytes, name: str = "image.png", source: Source | None = None
    ) -> Upload:
        return self.library.upload(owner, io.BytesIO(data), filename=name, source=source)


def make_box(**policy: object) -> Box:
    clock = Clock()
    catalog, blobs = FakeCatalog(), FakeBlobStore(clock=clock)
    rules = LibraryPolicy(**policy)  # type: ignore[arg-type]
    return Box(
        catalog,
        blobs,
        Library(catalog, blobs, rules, clock=clock),
        Shares(catalog, blobs, rules, clock=clock),
        clock,
    )


@pytest.fixture
def box() -> Box:
    return make_box()


def token_of(url: str | None) -> str:
    assert url is not None
    return url.rsplit("/s/", 1)[1]


# -- upload, list, get, delete ----------------------------------------------------------------


def test_an_uploaded_image_is_listed_found_and_its_bytes_stored(box: Box) -> None:
    data = samples.png(1)
    saved = box.upload(ALICE, data, "cat.png")
    assert saved.created and saved.image.name == "cat.png"
    assert (saved.image.width, saved.image.height) == (64, 48)
    assert box.blobs.read(saved.image.object_name) == data
    assert box.blobs.exists(saved.image.preview_object_name)
    assert saved.image.object_name.startswith("users/alice-folder/")
    assert [i.id for i in box.library.list(ALICE).images] == [saved.image.id]
    assert box.library.get(ALICE, saved.image.id) == saved.image
    assert box.library.get(ALICE, " CAT.png ") == saved.image
    assert box.catalog.status(saved.image.id) == ImageStatus.READY


def test_the_same_bytes_twice_are_one_image(box: Box) -> None:
    first = box.upload(ALICE, samples.png(2), "one.png")
    again = box.upload(ALICE, samples.png(2), "other-name.png")
    assert not again.created and again.image == first.image
    assert box.library.list(ALICE).total == 1


def test_the_same_chat_file_twice_is_one_image_without_reading_it_again(box: Box) -> None:
    first = box.upload(ALICE, samples.png(3), source=SLACK_FILE)
    # The second time the stream is not even read: the chat file is known.
    again = box.library.upload(ALICE, iter([b"not an image"]), filename="x", source=SLACK_FILE)
    assert not again.created and again.image == first.image


def test_anything_that_is_not_an_image_is_refused_and_leaves_nothing(box: Box) -> None:
    with pytest.raises(Rejected):
        box.upload(ALICE, samples.pdf(), "doc.pdf")
    assert box.catalog.images == {} and box.blobs.objects_by_name == {}


def test_a_polyglot_is_refused_and_its_original_undone(box: Box) -> None:
    with pytest.raises(Rejected):
        box.upload(ALICE, samples.png_with_html_appended(), "sneaky.png")
    assert box.catalog.images == {} and box.blobs.objects_by_name == {}


def test_list_is_newest_first_paginated_and_filtered_by_every_word(box: Box) -> None:
    for n, name in enumerate(["red fox.png", "blue fox.png", "red hen.png"]):
        box.upload(ALICE, samples.png(10 + n), name)
        box.clock.now += timedelta(seconds=1)
    assert [i.name for i in box.library.list(ALICE).images] == ["red hen.png", "blue fox.png", "red fox.png"]
    second = box.library.list(ALICE, page=2, per_page=2)
    assert [i.name for i in second.images] == ["red fox.png"] and second.pages == 2 and not second.has_next
    assert [i.name for i in box.library.list(ALICE, words="FOX red").images] == ["red fox.png"]


def test_an_unknown_name_is_no_such_image_carrying_the_reference(box: Box) -> None:
    with pytest.raises(NoSuchImage) as caught:
        box.library.get(ALICE, "missing.png")
    assert caught.value.ref == "missing.png"
    assert "no image called" in caught.value.message


def test_a_name_two_images_share_asks_for_an_id(box: Box) -> None:
    ids = {box.upload(ALICE, samples.png(n), "same.png").image.id for n in (20, 21)}
    with pytest.raises(AmbiguousName) as caught:
        box.library.get(ALICE, "same.png")
    assert set(caught.value.ids) == ids


def test_delete_removes_the_bytes_the_entry_and_its_links(box: Box) -> None:
    image = box.upload(ALICE, samples.png(4)).image
    share = box.shares.share(ALICE, image.id)
    assert box.library.delete(ALICE, image.id) == image
    assert box.blobs.objects_by_name == {} and box.catalog.images == {}
    with pytest.raises(NotFound):
        box.shares.open_share(token_of(share.url))
    with pytest.raises(NotFound):
        box.library.delete(ALICE, image.id)
    assert [r.kind for r in box.catalog.audit] == ["share", "delete"]


def test_delete_all_empties_one_library_only(box: Box) -> None:
    for n in range(3):
        box.upload(ALICE, samples.png(30 + n), f"a{n}.png")
    box.upload(BOB, samples.png(40), "b.png")
    assert box.library.delete_all(ALICE) == 3
    assert box.library.list(ALICE).total == 0 and box.library.list(BOB).total == 1


def test_recover_removes_uploads_left_storing_after_the_grace_period(box: Box) -> None:
    image = box.upload(ALICE, samples.png(5)).image
    entry = box.catalog.images[image.id]
    entry.status = ImageStatus.STORING  # as if the process died before publishing
    assert box.library.recover() == 0  # still in its grace period
    box.clock.now += timedelta(minutes=16)
    assert box.library.recover() == 1
    assert box.catalog.images == {} and box.blobs.objects_by_name == {}


def test_an_upload_taken_over_by_a_newer_attempt_is_undone(box: Box) -> None:
    published = box.catalog.publish

    def taken_over(image_id: str) -> bool:
        box.catalog.images[image_id].status = ImageStatus.DELETING
        return published(image_id)

    box.catalog.publish = taken_over  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable, match="newer attempt"):
        box.upload(ALICE, samples.png(6))
    assert box.catalog.images == {} and box.blobs.objects_by_name == {}


# -- quota ------------------------------------------------------------------------------------


def test_a_quota_of_images_refuses_the_one_too_many() -> None:
    box = make_box(quota_images=1)
    box.upload(ALICE, samples.png(7))
    with pytest.raises(Rejected, match="quota of 1 images"):
        box.upload(ALICE, samples.png(8))
    box.upload(BOB, samples.png(8))  # Bob's quota is his own
    assert box.library.usage(ALICE).describe().startswith("1 image of 1")


def test_a_byte_quota_counts_what_the_person_already_keeps() -> None:
    data = samples.png(9)
    box = make_box(quota_bytes=len(data) + 10)
    box.upload(ALICE, data)
    with pytest.raises(Rejected, match="past your quota"):
        box.upload(ALICE, samples.png(11))


def test_a_repeat_is_not_refused_by_a_full_quota() -> None:
    box = make_box(quota_images=1)
    first = box.upload(ALICE, samples.png(12))
    assert box.upload(ALICE, samples.png(12)).image == first.image


# -- shares -----------------------------------------------------------------------------------


def test_a_share_link_opens_counts_views_and_is_listed(box: Box) -> None:
    image = box.upload(ALICE, samples.png(13), "fox.png").image
    share = box.shares.share(ALICE, "fox.png", created_by="slack:U1")
    assert share.url is not None and share.url.startswith("http://127.0.0.1:5000/s/")
    opened, url = box.shares.open_share(token_of(share.url))
    assert opened.id == share.id and opened.image == image and opened.views == 1
    assert url.startswith(FakeBlobStore.BASE) and "ttl=300" in url
    box.shares.open_share(token_of(share.url), count_view=False)  # a chat's link preview
    assert box.shares.flush_views()
    [listed] = box.shares.links(ALICE)
    assert (listed.id, listed.views, listed.created_by, listed.url) == (share.id, 1, "slack:U1", None)


def test_a_share_link_stops_working_after_revoke(box: Box) -> None:
    image = box.upload(ALICE, samples.png(14)).image
    share = box.shares.share(ALICE, image.id)
    assert [s.id for s in box.shares.revoke(ALICE, share.id)] == [share.id]
    with pytest.raises(Revoked):
        box.shares.open_share(token_of(share.url))
    assert box.shares.links(ALICE) == []
    with pytest.raises(NotFound):  # an id no active link has is then tried as an image's
        box.shares.revoke(ALICE, share.id)
    with pytest.raises(NoSuchLink):  # a URL is only ever a link's
        box.shares.revoke(ALICE, share.url or "")


def test_revoke_by_url_token_or_image(box: Box) -> None:
    image = box.upload(ALICE, samples.png(15), "cat.png").image
    by_url, by_token, rest_a, rest_b = (box.shares.share(ALICE, image.id) for _ in range(4))
    assert [s.id for s in box.shares.revoke(ALICE, f" {by_url.url} ")] == [by_url.id]
    assert [s.id for s in box.shares.revoke(ALICE, token_of(by_token.url))] == [by_token.id]
    assert {s.id for s in box.shares.revoke(ALICE, "cat.png")} == {rest_a.id, rest_b.id}
    with pytest.raises(NoActiveLinks) as caught:
        box.shares.revoke(ALICE, image.id)
    assert caught.value.image_name == "cat.png"


def test_a_share_link_expires(box: Box) -> None:
    image = box.upload(ALICE, samples.png(16)).image
    share = box.shares.share(ALICE, image.id, ttl=timedelta(hours=1))
    box.clock.now += timedelta(hours=1) - timedelta(milliseconds=500)  # under a second left
    with pytest.raises(Expired):
        box.shares.open_share(token_of(share.url))
    assert box.shares.links(ALICE) != []  # still active for a moment, but no URL is born dead


def test_share_lifetimes_are_bounded(box: Box) -> None:
    image = box.upload(ALICE, samples.png(17)).image
    with pytest.raises(Rejected, match="at most 7 days"):
        box.shares.share(ALICE, image.id, ttl=timedelta(days=7, hours=1))
    with pytest.raises(Rejected):
        box.shares.share(ALICE, image.id, ttl=timedelta(seconds=-1))


def test_signed_url_links_cannot_be_revoked() -> None:
    box = make_box(share_links="signed_url")
    image = box.upload(ALICE, samples.png(18)).image
    share = box.shares.share(ALICE, image.id, ttl=timedelta(hours=3))
    assert share.url is not None and share.url.startswith(FakeBlobStore.BASE) and "ttl=10800" in share.url
    with pytest.raises(Rejected) as caught:
        box.shares.revoke(ALICE, share.id)
    assert caught.value.message == SIGNED_LINKS_STAY


def test_revoke_all_turns_off_every_link_of_one_owner(box: Box) -> None:
    mine = box.upload(ALICE, samples.png(19)).image
    theirs = box.upload(BOB, samples.png(19)).image
    for _ in range(2):
        box.shares.share(ALICE, mine.id)
    bobs = box.shares.share(BOB, theirs.id)
    assert box.shares.revoke_all(ALICE) == 2
    assert box.shares.links(ALICE) == [] and [s.id for s in box.shares.links(BOB)] == [bobs.id]


# -- isolation --------------------------------------------------------------------------------


def test_another_owners_image_behaves_like_one_that_does_not_exist(box: Box) -> None:
    image = box.upload(ALICE, samples.png(22), "alice-private.png").image
    share = box.shares.share(ALICE, image.id)
    for attempt in (
        lambda: box.library.get(BOB, image.id),
        lambda: box.library.get(BOB, "alice-private.png"),
        lambda: box.library.delete(BOB, image.id),
        lambda: box.shares.share(BOB, image.id),
        lambda: box.shares.revoke(BOB, share.id),
        lambda: box.shares.revoke(BOB, share.url or ""),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert box.library.list(BOB).total == 0 and box.shares.links(BOB) == []
    assert box.library.get(ALICE, image.id) == image and box.shares.links(ALICE) != []


def test_the_same_bytes_are_each_owners_own_copy(box: Box) -> None:
    alices = box.upload(ALICE, samples.png(23)).image
    bobs = box.upload(BOB, samples.png(23)).image
    assert bobs.id != alices.id and bobs.object_name.startswith("users/bob-folder/")
    box.library.delete(ALICE, alices.id)
    assert box.blobs.read(bobs.object_name) == samples.png(23)
