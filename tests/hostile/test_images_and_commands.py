"""Hostile files through the web upload, and another owner's ids through every chat command."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image

from bot.core.commands import Actor
from storage.accounts import Identity
from tests.hostile.conftest import Stored
from tests.standins import images
from tests.web.conftest import sign_in_as

LIMIT = 1024 * 1024  # CLOUDBOX_MAX_UPLOAD_MB=1 in this folder's settings


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height and whose data inflates to a huge stream."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = zlib.compress(b"\x00" * (1024 * 1024), 9)  # 1 MB of zeros in ~1 KB
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", raw) + _chunk(b"IEND", b"")


def gif_with_huge_screen() -> bytes:
    data = bytearray(images.gif())
    data[6:10] = struct.pack("<HH", 65535, 65535)  # logical screen 65535×65535
    return bytes(data)


def webp_bomb() -> bytes:
    out = io.BytesIO()
    Image.new("L", (16383, 16383), 0).save(out, "WEBP", lossless=True, quality=0, method=0)
    return out.getvalue()


def jpeg_with_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.txt", "hello")
    return images.jpeg(4) + archive.getvalue()


def gifar() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    return images.gif() + archive.getvalue()


def exactly(size: int) -> bytes:
    """A valid PNG padded (with an ancillary chunk) to exactly `size` bytes."""
    base = images.png(9)
    head, tail = base[:-12], base[-12:]  # before IEND
    pad = size - len(base) - 12
    return head + _chunk(b"tEXt", b"c\x00" + b"x" * (pad - 2)) + tail


HOSTILE_FILES: dict[str, tuple[str, bytes, str]] = {
    # name: (file name sent, bytes, words the refusal must contain)
    "png decompression bomb": ("bomb.png", images.pixel_bomb(), "megapixel"),
    "png claiming 100000x100000": ("claim.png", png_claiming(100_000, 100_000), "megapixel"),
    "gif with a huge logical screen": ("screen.gif", gif_with_huge_screen(), ""),
    "webp bomb": ("bomb.webp", webp_bomb(), "megapixel"),
    "png with html appended": ("poly.png", images.png_with_html_appended(), "markup or script"),
    "jpeg with zip appended": ("poly.jpg", jpeg_with_zip(), "another file format"),
    "gifar": ("gifar.gif", gifar(), "another file format"),
    "svg with script named png": ("cat.png", images.svg_with_script(), "SVG"),
    "html named jpg": ("cat.jpg", images.html(), "web page"),
    "pdf named png": ("doc.png", images.pdf(), "PDF"),
    "truncated jpeg": ("half.jpg", images.truncated_jpeg(), "truncated"),
    "zero bytes": ("empty.png", b"", "empty"),
    "one byte": ("one.png", b"\x89", "not an image"),
    "one byte over the limit": ("big.png", exactly(LIMIT + 1), "limit"),
    # The image-engine penetration test (each was accepted, and decoded in full, before).
    "tiff with a 144 MP second page": (
        "pages.tiff",
        images.tiff_pages(((16, 16), "1"), ((12_000, 12_000), "1")),
        "12000×12000 pixels, more than the 100-megapixel limit",
    ),
    "jpeg with one scan repeated 200 times": (
        "scans.jpg",
        images.jpeg_with_repeated_scan((2000, 2000), repeats=200),
        "scans",
    ),
    "png with a script 70 KB in": ("inside.png", images.png_with_script_inside(), "markup or script"),
    "png with a zip far from both ends": ("zip.png", images.png_with_zip_appended(), "another file format"),
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES))
def test_hostile_files_are_refused_with_a_reason_and_nothing_is_stored(
    case: str, client: FlaskClient, person: Any, stored: Stored, caplog: pytest.LogCaptureFixture
) -> None:
    name, data, reason = HOSTILE_FILES[case]
    sign_in_as(client, person("ada"))
    answer = upload(client, name, data)
    body = answer.get_json()
    assert answer.status_code == 422, body
    assert body["ok"] is False and reason in body["error"], body
    assert stored.images() == 0 and stored.objects() == []
    if len(data) > 16:
        assert data[-16:].decode("latin-1") not in caplog.text  # no file bytes in the logs


def test_a_file_exactly_at_the_limit_is_accepted(client: FlaskClient, person: Any, stored: Stored) -> None:
    data = exactly(LIMIT)
    assert len(data) == LIMIT
    sign_in_as(client, person("ada"))
    answer = upload(client, "at-limit.png", data)
    assert answer.status_code == 201, answer.get_json()
    assert stored.images() == 1


def upload(client: FlaskClient, name: str, data: bytes) -> Any:
    """What gallery.js sends: one file, JSON answer. The multipart body is built here, in
    memory: Werkzeug's test client spools bodies over 500 KB to a file it never closes."""
    boundary = "hostile-boundary-7d1c"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="images"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        "/upload",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Accept": "application/json", "X-CSRFToken": _csrf(client)},
    )


def _csrf(client: FlaskClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/account").get_data(as_text=True))
    assert match
    return match.group(1)


# -- another owner's ids through every chat command -----------------------------------------

COMMANDS = [
    "share {}",
    "share {} for 2 hours",
    "unshare {}",
    "delete {}",
    "delete {} confirm",
]


@pytest.mark.parametrize("platform", ["slack", "gchat"])
def test_every_chat_command_treats_another_owners_ids_as_nonexistent(
    platform: str, chat: Any, services: Any, person: Any, stored: Stored
) -> None:
    me = Identity(
        platform, "T0001" if platform == "slack" else "c0ffee", "U1" if platform == "slack" else "users/1"
    )
    person("ada", me)
    bob = person("bob")
    bobs = services.library.upload(bob, io.BytesIO(images.png(5)), filename="bob-secret.png").image
    bobs_share = services.shares.share(bob, bobs.id)
    ghost_image, ghost_share = "abcdefghij", "bcdefghijk"
    actor = Actor(me, "ada")
    before = stored.snapshot()

    refs = [
        (bobs.id, ghost_image),
        (bobs_share.id, ghost_share),
        (bobs_share.url, bobs_share.url[:-6] + "AAAAAA"),
        ("bob-secret.png", "nobody-has-this.png"),
    ]
    for pattern in COMMANDS:
        for real_ref, ghost_ref in refs:
            real = chat.core.handle(actor, pattern.format(real_ref))
            ghost = chat.core.handle(actor, pattern.format(ghost_ref))
            assert real.text.replace(real_ref, "REF") == ghost.text.replace(ghost_ref, "REF"), pattern
            assert real.items == ghost.items == [] and real.buttons == ghost.buttons
            assert "bob-secret" not in real.text.replace(real_ref, "REF")
    for listing in ("list", "links", "list bob"):
        assert "bob-secret" not in chat.core.handle(actor, listing).text
    assert stored.snapshot() == before
    assert services.shares.links(bob)[0].revoked_at is None
