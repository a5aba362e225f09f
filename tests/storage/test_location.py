"""Location metadata leaves the stored original; the pixels and the orientation stay."""

from __future__ import annotations

import hashlib
import io

import pillow_heif
import pytest
from PIL import Image

from storage import location, location_inplace
from storage.accounts import Accounts
from storage.errors import Rejected
from storage.library import Library, LibraryPolicy
from storage.model import Owner
from storage.services import Services
from storage.sql_catalog import SqlCatalog

from .helpers import upload

GPS_IFD = 0x8825
XMP_WITH_PLACE = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
    b'exif:GPSLatitude="52,22.5N" exif:GPSLongitude="13,24.0E" photoshop:City="Berlin"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def photo(fmt: str, *, gps: bool = True, xmp: bytes | None = XMP_WITH_PLACE) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° to show: must survive
    exif[0x010F] = "PhoneMaker"
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 30.0), 3: "E", 4: (13.0, 24.0, 0.0)}
    gradient = Image.linear_gradient("L").resize((120, 80)).convert("RGB")
    out = io.BytesIO()
    extra = {"xmp": xmp} if xmp else {}
    gradient.save(out, fmt, exif=exif, **extra)
    return out.getvalue()


def stripped(data: bytes, fmt: str) -> bytes:
    rewrite = location.without_location(io.BytesIO(data), len(data), fmt)
    assert rewrite is not None
    new = location.PiecesReader(location.positional_reads(io.BytesIO(data)), rewrite.pieces).read()
    assert len(new) == rewrite.size
    return new


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        return img.tobytes()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_gps_and_xmp_places_are_removed_and_nothing_else_changes(fmt: str) -> None:
    original = photo(fmt)
    new = stripped(original, fmt)
    with Image.open(io.BytesIO(new)) as img:
        exif = img.getexif()
        assert exif.get_ifd(GPS_IFD) == {} and GPS_IFD not in exif
        assert exif[0x0112] == 6 and exif[0x010F] == "PhoneMaker"
        assert img.format == fmt
    assert b"GPSLatitude" not in new and b"Berlin" not in new
    assert pixels(new) == pixels(original)  # the compressed image data was copied, not re-encoded


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_photo_without_location_is_stored_as_sent(fmt: str) -> None:
    data = photo(fmt, gps=False, xmp=None)
    assert location.without_location(io.BytesIO(data), len(data), fmt) is None


def test_unreadable_exif_keeps_only_the_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    tiff = exif.tobytes()[6:]
    kept = location.exif_without_gps(tiff[:8] + b"\xff\xff" + tiff[10:])  # an IFD of 65535 entries
    assert kept is not None
    minimal = Image.Exif()
    minimal.load(kept)
    assert dict(minimal) in ({0x0112: 8}, {})
    # A damaged Exif sub-directory: the GPS directory still goes, the orientation still stays.
    exif = Image.Exif()
    exif[0x0112] = 8
    exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 30.0)}
    exif[0x8769] = {0x9003: "2020:01:01 00:00:00"}
    damaged = bytearray(exif.tobytes()[6:])
    entry = damaged.find(bytes.fromhex("8769"))
    damaged[entry + 8 : entry + 12] = (0x7FFFFF00).to_bytes(4, "big")  # points past the end
    with pytest.warns(UserWarning):
        cleaned = location.exif_without_gps(bytes(damaged))
    assert cleaned is not None
    after = Image.Exif()
    after.load(cleaned)
    assert after[0x0112] == 8 and GPS_IFD not in after


def test_the_pieces_reader_seeks_and_reads_across_pieces() -> None:
    source = io.BytesIO(b"0123456789")
    reader = location.PiecesReader(location.positional_reads(source), [(0, 3), b"abc", (7, 3)])
    assert reader.read() == b"012abc789"
    reader.seek(2)
    assert reader.read(3) == b"2ab"
    reader.seek(-2, io.SEEK_END)
    assert reader.read() == b"89"


def test_library_stores_the_original_without_location(catalog_services: Services, alice: Owner) -> None:
    data = photo("JPEG")
    image = upload(catalog_services.library, alice, data, "where.jpg").image
    stored = catalog_services.blobs.read(image.object_name)  # type: ignore[attr-defined]
    assert b"GPSLatitude" not in stored and GPS_IFD not in Image.open(io.BytesIO(stored)).getexif()
    assert pixels(stored) == pixels(data)
    assert image.size == len(stored)
    preview = catalog_services.blobs.read(image.preview_object_name)  # type: ignore[attr-defined]
    assert not Image.open(io.BytesIO(preview)).getexif()  # renditions carry no metadata
    # Duplicates are recognised by the bytes as sent.
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert not upload(catalog_services.library, alice, data, "again.jpg").created


def test_keep_location_stores_the_bytes_as_sent(catalog_services: Services, alice: Owner) -> None:
    keeping = Library(
        SqlCatalog(catalog_services.sessions), catalog_services.blobs, LibraryPolicy(keep_location=True)
    )
    data = photo("JPEG")
    image = upload(keeping, alice, data, "where.jpg").image
    assert catalog_services.blobs.read(image.object_name) == data  # type: ignore[attr-defined]


def test_each_person_chooses_for_their_own_uploads_over_the_default(
    catalog_services: Services, accounts: Accounts, alice: Owner, bob: Owner
) -> None:
    library = catalog_services.library  # the instance default: remove
    accounts.set_keep_location(alice, True)
    alice_now, bob_now = accounts.by_email(alice.email), accounts.by_email(bob.email)
    assert alice_now is not None and bob_now is not None
    assert alice_now.keep_location is True and bob_now.keep_location is None
    kept = upload(library, alice_now, photo("JPEG"), "alice.jpg").image
    removed = upload(library, bob_now, photo("JPEG"), "bob.jpg").image
    assert b"GPSLatitude" in catalog_services.blobs.read(kept.object_name)  # type: ignore[attr-defined]
    assert b"GPSLatitude" not in catalog_services.blobs.read(removed.object_name)  # type: ignore[attr-defined]

    keeping = Library(
        SqlCatalog(catalog_services.sessions), catalog_services.blobs, LibraryPolicy(keep_location=True)
    )
    accounts.set_keep_location(bob, False)  # a default of keep, and a person who says remove
    bob_now = accounts.by_email(bob.email)
    assert bob_now is not None
    stripped = upload(keeping, bob_now, photo("JPEG", xmp=None), "bob2.jpg").image
    stored = catalog_services.blobs.read(stripped.object_name)  # type: ignore[attr-defined]
    assert GPS_IFD not in Image.open(io.BytesIO(stored)).getexif()


def in_place_photo(fmt: str) -> bytes:
    """A HEIC or TIFF with GPS (and, for HEIC, a place in XMP): both keep offsets, not bytes."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 30.0), 3: "E", 4: (13.0, 24.0, 0.0)}
    gradient = Image.linear_gradient("L").resize((120, 80)).convert("RGB")
    out = io.BytesIO()
    extra = {"xmp": XMP_WITH_PLACE} if fmt == "HEIF" else {}
    gradient.save(out, fmt, exif=exif.tobytes(), **extra)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["HEIF", "TIFF"])
def test_heic_and_tiff_lose_their_gps_in_place_and_nothing_moves(fmt: str) -> None:
    pillow_heif.register_heif_opener()
    data = in_place_photo(fmt)
    with Image.open(io.BytesIO(data)) as before:
        assert before.getexif().get_ifd(GPS_IFD)  # the test photo does carry a place
    new = stripped(data, fmt)
    assert len(new) == len(data)  # erased where it stood: every offset still points right
    with Image.open(io.BytesIO(new)) as after:
        exif = after.getexif()
        assert exif.get_ifd(GPS_IFD) == {} and exif[0x010F] == "PhoneMaker"
        assert b"GPSLatitude" not in new and b"Berlin" not in new
    assert pixels(new) == pixels(data)


def test_a_tiff_whose_gps_directory_cannot_be_followed_is_refused_not_stored_with_its_place() -> None:
    data = bytearray(in_place_photo("TIFF"))
    with Image.open(io.BytesIO(bytes(data))) as img:
        gps_at = img.getexif()[GPS_IFD]
    data[gps_at : gps_at + 2] = b"\xff\xff"  # a GPS directory of 65535 entries
    with pytest.raises(Rejected, match="location metadata"):
        location.without_location(io.BytesIO(bytes(data)), len(data), "TIFF")
    # EXIF carried beside a picture (HEIF) is emptied whole instead: a valid, empty TIFF.
    start, end, new = location_inplace.emptied(lambda at, n: bytes(data[at : at + n]), 0, 64)
    emptied = Image.Exif()
    emptied.load(new)
    assert (start, end, len(new)) == (0, 64, 64) and new[:4] == b"II*\x00" and dict(emptied) == {}


def test_a_bigtiff_is_left_as_sent_rather_than_misread() -> None:
    # Header, then the first directory's 8-byte offset (16): read as a classic TIFF, the bytes at
    # 8 would be a directory of 16 entries running past the end, and the file refused.
    bigtiff = b"II+\x00\x08\x00\x00\x00" + (16).to_bytes(8, "little") + bytes(48)
    assert location_inplace.gps_erased(lambda at, n: bigtiff[at : at + n], 0, len(bigtiff)) == []


def test_erasing_a_heic_s_location_holds_the_file_s_size_of_the_decode_budget(
    library: Library, alice: Owner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # libheif reads the whole file to find its metadata: concurrent HEICs must not hold more
    # than the budget between them.
    held: dict[str, int] = {}
    erase = location.without_location

    def watched(file: io.BytesIO, size: int, fmt: str) -> location.Rewrite | None:
        held[fmt] = library.decode_budget.in_use
        return erase(file, size, fmt)

    monkeypatch.setattr(location, "without_location", watched)
    pillow_heif.register_heif_opener()
    heic = in_place_photo("HEIF")
    upload(library, alice, heic, "phone.heic")
    upload(library, alice, photo("JPEG"), "camera.jpg")
    assert held == {"HEIF": len(heic), "JPEG": 0}
