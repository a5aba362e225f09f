"""The library use cases on the real catalog (SQLite and PostgreSQL) and fake-gcs-server."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PIL import Image

from storage.errors import Expired, NotFound, Rejected, Revoked, StorageUnavailable
from storage.library import Library, LibraryPolicy
from storage.model import Owner, Source
from storage.models import ImageRow, ShareRow
from storage.services import Services
from storage.sharing import Shares
from storage.sql_catalog import SqlCatalog
from tests.standins import images as samples
from tests.standins.gcs import verify_v4_signed_url
from tests.standins.keys import ServiceAccountKey

from .conftest import Clock
from .helpers import FlakyBlobs, count, objects, rows, upload

SLACK_FILE = Source("slack", "T0001", "F0001")


# -- upload ---------------------------------------------------------------------------------


def test_upload_stores_original_and_preview_and_lists_it(
    library: Library, catalog_services: Services, alice: Owner
) -> None:
    data = samples.jpeg(1, size=(1200, 800))
    result = upload(library, alice, data, "Holiday.JPG")
    image = result.image
    assert result.created
    assert (image.name, image.content_type, image.width, image.height) == (
        "Holiday.JPG",
        "image/jpeg",
        1200,
        800,
    )
    assert image.object_name == f"{alice.prefix}{image.id}.jpg"
    assert objects(catalog_services.blobs, alice) == sorted([image.object_name, image.preview_object_name])
    assert catalog_services.blobs.read(image.object_name) == data
    preview = Image.open(io.BytesIO(catalog_services.blobs.read(image.preview_object_name)))
    assert preview.format == "JPEG" and preview.size == (512, 341)
    assert [i.id for i in library.list(alice).images] == [image.id]


def test_same_chat_file_twice_is_stored_once(
    library: Library, catalog_services: Services, alice: Owner
) -> None:
    first = upload(library, alice, samples.png(1), "a.png", source=SLACK_FILE)
    again = upload(library, alice, samples.png(1), "a.png", source=SLACK_FILE)
    assert first.created and not again.created
    assert again.image.id == first.image.id
    assert count(catalog_services.sessions, ImageRow) == 1
    assert len(objects(catalog_services.blobs, alice)) == 2


def test_repeat_of_a_chat_file_is_recognised_before_reading_it(library: Library, alice: Owner) -> None:
    first = upload(library, alice, samples.png(1), source=SLACK_FILE)

    def must_not_be_read():  # type: ignore[no-untyped-def]
        raise AssertionError("the file was downloaded again")
        yield b""

    again = library.upload(alice, must_not_be_read(), filename="a.png", source=SLACK_FILE)
    assert again.image.id == first.image.id


def test_duplicate_bytes_return_the_existing_image(
    library: Library, catalog_services: Services, alice: Owner
) -> None:
    first = upload(library, alice, samples.png(2), "first.png")
    again = upload(library, alice, samples.png(2), "second-name.png", source=Source("gchat", "d", "m/1"))
    assert not again.created and again.image.id == first.image.id
    assert again.image.name == "first.png"
    assert count(catalog_services.sessions, ImageRow) == 1


def test_two_owners_keep_their_own_copy_of_the_same_bytes(library: Library, alice: Owner, bob: Owner) -> None:
    a = upload(library, alice, samples.png(3), source=SLACK_FILE)
    b = upload(library, bob, samples.png(3), source=SLACK_FILE)
    assert a.created and b.created and a.image.id != b.image.id
    assert a.image.object_name.startswith(alice.prefix) and b.image.object_name.startswith(bob.prefix)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (samples.pdf(), "PDF"),
        (samples.svg_with_script(), "SVG"),
        (samples.html(), "web page"),
        (samples.png_with_html_appended(), "markup or script"),
        # Found beside the decode, after the original's put began: undone before it is published.
        (samples.png_with_script_inside(), "markup or script"),
        (samples.png_with_zip_appended(), "another file format"),
        (samples.truncated_jpeg(), "truncated"),
        (b"", "empty"),
    ],
    ids=["pdf", "svg", "html", "polyglot", "script inside", "zip", "truncated", "empty"],
)
def test_refused_upload_leaves_nothing_behind(
    library: Library, catalog_services: Services, alice: Owner, data: bytes, reason: str
) -> None:
    with pytest.raises(Rejected, match=reason):
        upload(library, alice, data, "innocent.png", source=SLACK_FILE)
    assert count(catalog_services.sessions, ImageRow) == 0
    assert objects(catalog_services.blobs, alice) == []


def test_upload_over_the_size_limit_is_refused(
    catalog_services: Services, clock: Clock, alice: Owner
) -> None:
    small = Library(
        SqlCatalog(catalog_services.sessions), catalog_services.blobs, LibraryPolicy(max_upload_bytes=1000)
    )
    with pytest.raises(Rejected, match="larger than"):
        upload(small, alice, samples.jpeg(1, size=(300, 300)))
    assert count(catalog_services.sessions, ImageRow) == 0


def test_an_image_whose_decode_could_never_fit_the_memory_budget_is_refused(
    catalog_services: Services, alice: Owner
) -> None:
    tight = LibraryPolicy(decode_memory_bytes=20 * 1024 * 1024)
    library = Library(SqlCatalog(catalog_services.sessions), catalog_services.blobs, tight)
    with pytest.raises(Rejected, match="too large to process.*20 MB this server sets aside"):
        upload(library, alice, samples.png(1, size=(3000, 2000)))
    assert count(catalog_services.sessions, ImageRow) == 0
    assert objects(catalog_services.blobs, alice) == []
    assert library.decode_budget.in_use == 0
    assert upload(library, alice, samples.jpeg(1, size=(300, 200))).created


HOSTILE_NAMES: list[str | bytes] = [
    "../../etc/passwd.png",
    "evil\x00.png",
    "photo\u202egnp.exe",
    "x" * 500 + ".png",
    b"caf\xe9\xff.png",
    "..\\..\\windows\\system32\\a.png",
    "users/other-person/abc.png",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_file_names_are_stored_safely(
    library: Library,
    catalog_services: Services,
    alice: Owner,
    signing_key: ServiceAccountKey,
    name: str | bytes,
) -> None:
    image = upload(library, alice, samples.png(4), name).image
    assert image.object_name == f"{alice.prefix}{image.id}.png"  # never the person's name
    assert image.preview_object_name == f"{alice.prefix}{image.id}.preview.jpg"
    assert "/" not in image.name and "\\" not in image.name and "\x00" not in image.name
    assert "\u202e" not in image.name and len(image.name) <= 200
    assert library.get(alice, image.id).name == image.name
    url = library.original_url(image, download=True)
    disposition = verify_v4_signed_url(url, signing_key.public_key)["response-content-disposition"]
    assert "/" not in disposition.split("filename*=")[0] and "\u202e" not in disposition


def test_owner_with_an_odd_google_sub_gets_a_safe_prefix(
    library: Library, accounts, catalog_services
) -> None:  # type: ignore[no-untyped-def]
    odd = accounts.ensure_account("../../admin", "odd@example.com")
    image = upload(library, odd, samples.png(5)).image
    assert odd.prefix.startswith("users/") and ".." not in odd.prefix
    assert image.object_name.startswith(odd.prefix)


@pytest.mark.parametrize("fail_after", [0, 1], ids=["original-fails", "preview-fails"])
def test_storage_failure_during_upload_leaves_no_row_and_no_object(
    catalog_services: Services, clock: Clock, alice: Owner, fail_after: int
) -> None:
    flaky = FlakyBlobs(catalog_services.blobs, puts_before_failing=fail_after)
    library = Library(SqlCatalog(catalog_services.sessions), flaky, clock=clock)  # type: ignore[arg-type]
    with pytest.raises(StorageUnavailable):
        upload(library, alice, samples.png(6), source=SLACK_FILE)
    assert count(catalog_services.sessions, ImageRow) == 0
    assert objects(catalog_services.blobs, alice) == []
    # Nothing holds the unique keys: the same file can be saved once storage is back.
    healthy = Library(SqlCatalog(catalog_services.sessions), catalog_services.blobs, clock=clock)
    assert upload(healthy, alice, samples.png(6), source=SLACK_FILE).created


# -- list and get ---------------------------------------------------------------------------


def test_list_is_newest_first_and_paginated(library: Library, clock: Clock, alice: Owner) -> None:
    ids = []
    for seed in range(5):
        ids.append(upload(library, alice, samples.png(seed), f"{seed}.png").image.id)
        clock.advance(timedelta(seconds=1))
    newest_first = list(reversed(ids))
    first = library.list(alice, page=1, per_page=2)
    assert [i.id for i in first.images] == newest_first[:2]
    assert (first.total, first.pages, first.has_next) == (5, 3, True)
    assert [i.id for i in library.list(alice, page=2, per_page=2).images] == newest_first[2:4]
    last = library.list(alice, page=3, per_page=2)
    assert [i.id for i in last.images] == newest_first[4:] and not last.has_next
    assert library.list(alice, page=9, per_page=2).images == []
    assert [i.id for i in library.list(alice, page=0, per_page=2).images] == newest_first[:2]


def test_list_filters_by_every_word_and_treats_wildcards_literally(library: Library, alice: Owner) -> None:
    names = ["100%_done.png", "100 done.png", "a_b.png", "ab.png", "Holiday Beach.png", "beach-ball.png"]
    for seed, name in enumerate(names):
        upload(library, alice, samples.png(seed), name)

    def found(words: str) -> set[str]:
        return {i.name for i in library.list(alice, words=words).images}

    assert found("%") == {"100%_done.png"}
    assert found("_") == {"100%_done.png", "a_b.png"}
    assert found("holiday BEACH") == {"Holiday Beach.png"}
    assert found("beach") == {"Holiday Beach.png", "beach-ball.png"}
    assert found("beach zebra") == set()
    assert library.list(alice, words="_").total == 2


def test_get_by_id_and_by_name(library: Library, alice: Owner) -> None:
    image = upload(library, alice, samples.png(1), "Sunset.png").image
    assert library.get(alice, image.id) == image
    assert library.get(alice, f"  {image.id} ") == image
    assert library.get(alice, "sunset.PNG") == image
    with pytest.raises(NotFound, match="no image called"):
        library.get(alice, "moonrise.png")


def test_ambiguous_name_asks_for_an_id(library: Library, alice: Owner) -> None:
    a = upload(library, alice, samples.png(1), "scan.png").image
    b = upload(library, alice, samples.png(2), "scan.png").image
    with pytest.raises(Rejected) as caught:
        library.get(alice, "scan.png")
    assert "Several images" in caught.value.message
    assert a.id in caught.value.message and b.id in caught.value.message
    assert library.get(alice, a.id) == a


# -- delete and recover ---------------------------------------------------------------------


def test_delete_removes_bytes_preview_row_and_shares(
    library: Library, shares: Shares, catalog_services: Services, alice: Owner
) -> None:
    image = upload(library, alice, samples.png(1)).image
    token = shares.share(alice, image.id).url.rsplit("/", 1)[1]  # type: ignore[union-attr]
    assert library.delete(alice, image.id).id == image.id
    assert objects(catalog_services.blobs, alice) == []
    assert count(catalog_services.sessions, ImageRow) == 0
    assert count(catalog_services.sessions, ShareRow) == 0
    with pytest.raises(NotFound):
        library.get(alice, image.id)
    with pytest.raises(NotFound):
        shares.open_share(token)
    with pytest.raises(NotFound):
        library.delete(alice, image.id)


def test_delete_by_name(library: Library, alice: Owner) -> None:
    upload(library, alice, samples.png(1), "old.png")
    library.delete(alice, "OLD.png")
    assert library.list(alice).total == 0


def test_delete_all_empties_the_library(library: Library, catalog_services: Services, alice: Owner) -> None:
    for seed in range(3):
        upload(library, alice, samples.png(seed))
    assert library.delete_all(alice) == 3
    assert objects(catalog_services.blobs, alice) == []


def test_delete_during_an_outage_hides_the_image_and_recover_finishes(
    catalog_services: Services, clock: Clock, alice: Owner
) -> None:
    healthy = Library(SqlCatalog(catalog_services.sessions), catalog_services.blobs, clock=clock)
    image = upload(healthy, alice, samples.png(1)).image
    broken = Library(
        SqlCatalog(catalog_services.sessions),
        FlakyBlobs(catalog_services.blobs, fail_deletes=True),
        clock=clock,
    )  # type: ignore[arg-type]
    with pytest.raises(StorageUnavailable, match="hidden"):
        broken.delete(alice, image.id)
    assert healthy.list(alice).total == 0
    with pytest.raises(NotFound):
        healthy.get(alice, image.id)
    assert [r.status for r in rows(catalog_services.sessions)] == ["deleting"]
    assert healthy.recover() == 1
    assert rows(catalog_services.sessions) == []
    assert objects(catalog_services.blobs, alice) == []


def test_recover_removes_stale_storing_rows_but_not_fresh_ones(
    catalog_services: Services, clock: Clock, alice: Owner
) -> None:
    # Storage fails mid-upload and the undo fails too (as if the process died): rows stay 'storing'.
    down = FlakyBlobs(catalog_services.blobs, puts_before_failing=1, fail_deletes=True)
    broken = Library(SqlCatalog(catalog_services.sessions), down, clock=clock)  # type: ignore[arg-type]
    with pytest.raises(StorageUnavailable):
        upload(broken, alice, samples.png(1))
    assert [r.status for r in rows(catalog_services.sessions)] == ["storing"]
    assert len(objects(catalog_services.blobs, alice)) == 1  # the original got written
    healthy = Library(SqlCatalog(catalog_services.sessions), catalog_services.blobs, clock=clock)
    assert healthy.list(alice).total == 0
    assert healthy.recover() == 0  # an upload in progress is left alone
    clock.advance(timedelta(minutes=16))
    assert healthy.recover() == 1
    assert rows(catalog_services.sessions) == []
    assert objects(catalog_services.blobs, alice) == []


# -- share ----------------------------------------------------------------------------------


def token_of(url: str | None) -> str:
    assert url is not None and url.startswith("http://127.0.0.1:5000/s/")
    return url.rsplit("/", 1)[1]


def test_share_link_opens_to_a_verified_signed_url_and_counts_views(
    library: Library, shares: Shares, alice: Owner, signing_key: ServiceAccountKey
) -> None:
    data = samples.png(1)
    image = upload(library, alice, data).image
    share = shares.share(alice, image.id, created_by="slack:U1")
    opened, url = shares.open_share(token_of(share.url))
    assert opened.id == share.id and opened.image.id == image.id
    query = verify_v4_signed_url(url, signing_key.public_key)
    assert int(query["X-Goog-Expires"]) <= 300
    assert requests.get(url, timeout=5).content == data
    shares.open_share(token_of(share.url))
    assert shares.flush_views()
    [listed] = shares.links(alice)
    assert (listed.id, listed.views, listed.created_by) == (share.id, 2, "slack:U1")
    assert listed.url is None  # the token is kept only as a hash


def test_share_token_is_stored_only_as_a_hash(
    library: Library, shares: Shares, catalog_services: Services, alice: Owner
) -> None:
    image = upload(library, alice, samples.png(1)).image
    token = token_of(shares.share(alice, image.id).url)
    with catalog_services.sessions() as session:
        stored = session.query(ShareRow).one()
    assert token not in (stored.token_hash, stored.id)


def test_revoked_share_stops_working(library: Library, shares: Shares, alice: Owner) -> None:
    image = upload(library, alice, samples.png(1)).image
    share = shares.share(alice, image.id)
    shares.revoke(alice, share.id)
    with pytest.raises(Revoked):
        shares.open_share(token_of(share.url))
    assert shares.links(alice) == []


def test_expired_share_stops_working(library: Library, shares: Shares, clock: Clock, alice: Owner) -> None:
    image = upload(library, alice, samples.png(1)).image
    share = shares.share(alice, image.id, ttl=timedelta(hours=2))
    clock.advance(timedelta(hours=2))
    with pytest.raises(Expired):
        shares.open_share(token_of(share.url))
    assert shares.links(alice) == []


@pytest.mark.parametrize("remaining", [timedelta(seconds=30), timedelta(seconds=1.5)])
def test_signed_url_never_outlives_the_share(
    library: Library,
    shares: Shares,
    clock: Clock,
    alice: Owner,
    signing_key: ServiceAccountKey,
    remaining: timedelta,
) -> None:
    image = upload(library, alice, samples.png(1)).image
    share = shares.share(alice, image.id, ttl=timedelta(hours=1))
    clock.advance(timedelta(hours=1) - remaining)
    _, url = shares.open_share(token_of(share.url))
    query = verify_v4_signed_url(url, signing_key.public_key)
    assert 0 < int(query["X-Goog-Expires"]) <= remaining.total_seconds()


def test_share_with_less_than_a_second_left_is_expired(
    library: Library, shares: Shares, clock: Clock, alice: Owner
) -> None:
    image = upload(library, alice, samples.png(1)).image
    share = shares.share(alice, image.id, ttl=timedelta(hours=1))
    clock.advance(timedelta(hours=1) - timedelta(seconds=0.4))
    with pytest.raises(Expired):
        shares.open_share(token_of(share.url))


def test_share_lifetime_is_bounded(library: Library, shares: Shares, alice: Owner) -> None:
    image = upload(library, alice, samples.png(1)).image
    with pytest.raises(Rejected, match="at most 7 days"):
        shares.share(alice, image.id, ttl=timedelta(days=7, hours=1))
    with pytest.raises(Rejected):
        shares.share(alice, image.id, ttl=timedelta(seconds=-1))
    assert (
        shares.share(alice, image.id, ttl=timedelta(days=7)).expires_at
        > shares.share(alice, image.id).expires_at
    )


def test_share_as_raw_signed_url(
    catalog_services: Services, clock: Clock, alice: Owner, signing_key: ServiceAccountKey
) -> None:
    library = Library(
        SqlCatalog(catalog_services.sessions),
        catalog_services.blobs,
        LibraryPolicy(share_links="signed_url"),
        clock=clock,
    )
    shares = Shares(library.catalog, catalog_services.blobs, library.policy, clock=clock)
    image = upload(library, alice, samples.png(1)).image
    share = shares.share(alice, image.id, ttl=timedelta(hours=3))
    assert share.url is not None
    assert verify_v4_signed_url(share.url, signing_key.public_key)["X-Goog-Expires"] == str(3 * 3600)


def test_links_lists_active_shares_soonest_to_expire_first(
    library: Library, shares: Shares, clock: Clock, alice: Owner
) -> None:
    one = upload(library, alice, samples.png(1)).image
    two = upload(library, alice, samples.png(2)).image
    long = shares.share(alice, one.id, ttl=timedelta(days=2))
    short = shares.share(alice, two.id, ttl=timedelta(hours=1))
    revoked = shares.share(alice, two.id, ttl=timedelta(hours=5))
    shares.revoke(alice, revoked.id)
    assert [s.id for s in shares.links(alice)] == [short.id, long.id]
    clock.advance(timedelta(hours=1, seconds=1))
    assert [s.id for s in shares.links(alice)] == [long.id]


def test_revoke_by_link_id_url_token_or_image(library: Library, shares: Shares, alice: Owner) -> None:
    image = upload(library, alice, samples.png(1), "cat.png").image
    by_id, by_url, by_token, rest_a, rest_b = (shares.share(alice, image.id) for _ in range(5))
    assert [s.id for s in shares.revoke(alice, by_id.id)] == [by_id.id]
    assert [s.id for s in shares.revoke(alice, f" {by_url.url} ")] == [by_url.id]
    assert [s.id for s in shares.revoke(alice, token_of(by_token.url))] == [by_token.id]
    revoked = shares.revoke(alice, "cat.png")
    assert {s.id for s in revoked} == {rest_a.id, rest_b.id}
    assert all(s.revoked_at is not None for s in revoked)
    assert shares.links(alice) == []
    with pytest.raises(NotFound, match="no active links"):
        shares.revoke(alice, image.id)
    with pytest.raises(NotFound):
        shares.revoke(alice, by_id.id)  # already revoked


def test_opening_an_unknown_share_token_is_not_found(library: Library, shares: Shares) -> None:
    with pytest.raises(NotFound):
        shares.open_share("A" * 32)


def test_preview_url_is_signed_and_serves_the_preview(
    library: Library, alice: Owner, signing_key: ServiceAccountKey
) -> None:
    image = upload(library, alice, samples.jpeg(1, size=(900, 900))).image
    url = library.preview_url(image)
    verify_v4_signed_url(url, signing_key.public_key)
    assert parse_qs(urlsplit(url).query)["X-Goog-Expires"] == ["300"]
    assert Image.open(io.BytesIO(requests.get(url, timeout=5).content)).size == (512, 512)


def test_a_byte_quota_counts_what_the_person_already_keeps(catalog_services: Services, alice: Owner) -> None:
    first = samples.png(51, size=(300, 200))
    policy = LibraryPolicy(quota_bytes=len(first) + 100)
    library = Library(SqlCatalog(catalog_services.sessions), catalog_services.blobs, policy)
    assert upload(library, alice, first).created
    with pytest.raises(Rejected, match="past your quota of .* MB"):
        upload(library, alice, samples.png(52, size=(300, 200)))
    assert count(catalog_services.sessions, ImageRow) == 1
    # A repeat of an image already kept costs nothing, so it is not refused.
    assert not upload(library, alice, first).created
    assert library.usage(alice).images == 1
