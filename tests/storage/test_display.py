"""Originals browsers cannot show (HEIC, TIFF) get a 2048 px JPEG that the gallery and shares use."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from PIL import Image

from storage.consistency import ConsistencyCheck
from storage.model import Owner
from storage.services import Services
from tests.standins import images as samples

from .helpers import upload


def tiff(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("CMYK").save(
        out, "TIFF", compression="tiff_adobe_deflate"
    )
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "size"),
    [
        pytest.param(samples.heic_images((3000, 2000)), (2048, 1365), id="heic"),
        pytest.param(tiff((2500, 1000)), (2048, 819), id="cmyk tiff"),
        pytest.param(samples.heic_images((640, 480)), (640, 480), id="small heic: not enlarged"),
    ],
)
def test_a_display_jpeg_is_stored_and_used_by_the_gallery_and_shares(
    catalog_services: Services, alice: Owner, data: bytes, size: tuple[int, int]
) -> None:
    library, blobs = catalog_services.library, catalog_services.blobs
    image = upload(library, alice, data, "photo").image
    assert image.display_object_name is not None
    display = Image.open(io.BytesIO(blobs.read(image.display_object_name)))  # type: ignore[attr-defined]
    assert display.format == "JPEG" and display.size == size and display.mode == "RGB"
    assert not display.getexif()
    preview = Image.open(io.BytesIO(blobs.read(image.preview_object_name)))  # type: ignore[attr-defined]
    assert max(preview.size) == min(512, max(size))
    assert urlsplit(library.display_url(image)).path.endswith(".display.jpg")
    share = catalog_services.shares.share(alice, image.id)
    _, url = catalog_services.shares.open_share(share.url.rsplit("/", 1)[-1])
    assert urlsplit(url).path.endswith(".display.jpg")
    # The original is still the download.
    assert urlsplit(library.original_url(image, download=True)).path.endswith(
        image.object_name.rsplit("/", 1)[-1]
    )
    library.delete(alice, image.id)
    assert not blobs.exists(image.display_object_name)


def test_a_jpeg_has_no_display_rendition(catalog_services: Services, alice: Owner) -> None:
    image = upload(catalog_services.library, alice, samples.jpeg(71)).image
    assert image.display_object_name is None
    assert catalog_services.library.display_url(image) == catalog_services.library.original_url(image)


def test_repair_makes_the_display_rendition_of_an_older_heic(
    catalog_services: Services, alice: Owner
) -> None:
    library, blobs = catalog_services.library, catalog_services.blobs
    image = upload(library, alice, samples.heic_images((900, 600)), "old.heic").image
    assert image.display_object_name is not None
    blobs.delete(image.display_object_name)  # as stored before display renditions existed
    check = ConsistencyCheck(catalog_services.sessions, blobs, library, grace=timedelta(minutes=15))  # type: ignore[arg-type]
    report = check.check()
    assert [r.image_id for r in report.missing_previews] == [image.id] and not report.orphan_objects
    assert check.repair(report).previews_remade == 1
    assert check.check().consistent
    assert Image.open(io.BytesIO(blobs.read(image.display_object_name))).size == (900, 600)  # type: ignore[attr-defined]
