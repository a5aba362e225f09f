"""Image intake: recognised by bytes, hostile input refused with a reason, names made safe."""

from __future__ import annotations

import functools
import io
import random
import unicodedata
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from storage import decoders, image_bytes, images, location, messages
from storage.errors import Rejected
from tests.standins import images as samples

LIMIT = 50 * 1024 * 1024
pixel_bomb = functools.cache(samples.pixel_bomb)  # slow to make; made once


def encode(fmt: str, size: tuple[int, int] = (64, 48), **kw: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, fmt, **kw)
    return out.getvalue()


def intake(data: bytes, *, max_bytes: int = LIMIT, max_pixels: int = 100_000_000) -> images.ImageInfo:
    received = images.receive(io.BytesIO(data), max_bytes=max_bytes)
    try:
        return images.intake(received, max_pixels=max_pixels)[0]
    finally:
        received.close()


def preview_of(data: bytes) -> Image.Image:
    received = images.receive(io.BytesIO(data), max_bytes=LIMIT)
    try:
        _, preview = images.intake(received, max_pixels=100_000_000)
    finally:
        received.close()
    img = Image.open(io.BytesIO(preview))
    img.load()
    return img


@pytest.mark.parametrize(
    ("data", "content_type", "extension"),
    [
        pytest.param(samples.png(1), "image/png", "png", id="png"),
        pytest.param(samples.jpeg(1), "image/jpeg", "jpg", id="jpeg"),
        pytest.param(samples.gif(), "image/gif", "gif", id="gif"),
        pytest.param(encode("WEBP"), "image/webp", "webp", id="webp"),
        pytest.param(samples.heic(), "image/heic", "heic", id="heic"),
        pytest.param(encode("AVIF"), "image/avif", "avif", id="avif"),
    ],
)
def test_accepted_formats_are_recognised_by_their_bytes(
    data: bytes, content_type: str, extension: str
) -> None:
    info = intake(data)
    assert (info.content_type, info.extension) == (content_type, extension)
    assert (info.width, info.height) == (64, 48)
    preview = preview_of(data)
    assert preview.format == "JPEG"
    assert preview.size == (64, 48)  # small images are not enlarged


def test_receive_hashes_and_counts_what_it_copies() -> None:
    import hashlib

    data = samples.png(3)
    received = images.receive(iter([data[:10], b"", data[10:]]), max_bytes=LIMIT)
    try:
        assert received.size == len(data)
        assert received.sha256 == hashlib.sha256(data).hexdigest()
        assert received.file.read() == data
    finally:
        received.close()


SPOOL = images.SPOOL_IN_MEMORY


@pytest.mark.parametrize("size", [SPOOL, SPOOL + 1, 3 * SPOOL + 7])
def test_receive_keeps_every_byte_in_order_either_side_of_the_spool_s_limit(size: int) -> None:
    import hashlib

    data = random.Random(size).randbytes(size)
    pieces = [data[at : at + 300_001] for at in range(0, size, 300_001)]  # not a divisor of the limit
    received = images.receive(iter(pieces), max_bytes=LIMIT)
    try:
        assert received.sha256 == hashlib.sha256(data).hexdigest()
        assert received.file.read() == data
        read_at = location.positional_reads(received.file)  # a small spool moves to disk for it
        assert read_at(size - 5, 5) == data[-5:] and read_at(0, 3) == data[:3]
    finally:
        received.close()


def test_preview_is_a_jpeg_no_larger_than_512_pixels() -> None:
    preview = preview_of(encode("PNG", size=(2000, 1000)))
    assert preview.format == "JPEG"
    assert preview.size == (512, 256)
    tall = preview_of(encode("JPEG", size=(600, 3000)))
    assert max(tall.size) == 512 and tall.size[1] == 512


def test_preview_applies_exif_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    preview = preview_of(encode("JPEG", size=(200, 100), exif=exif.tobytes()))
    assert preview.size == (100, 200)


def test_transparent_preview_is_flattened_on_white() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (32, 32), (255, 0, 0, 0)).save(out, "PNG")
    preview = preview_of(out.getvalue())
    assert preview.mode == "RGB"
    r, g, b = preview.getpixel((16, 16))  # type: ignore[misc]
    assert min(r, g, b) > 240


def many_frames_gif(frames: int) -> bytes:
    # Alternating colours: identical neighbours would be merged into one frame by Pillow.
    first, *rest = [Image.new("P", (2, 2), i % 2) for i in range(frames)]
    out = io.BytesIO()
    first.save(out, "GIF", save_all=True, append_images=rest, optimize=False)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(samples.pdf(), "is a PDF", id="pdf"),
        pytest.param(samples.svg_with_script(), "SVG", id="svg-with-script"),
        pytest.param(b'<?xml version="1.0"?>\n' + samples.svg_with_script(), "SVG", id="svg-xml-prolog"),
        pytest.param(samples.html(), "web page", id="html"),
        pytest.param(samples.png_with_html_appended(), "markup or script", id="png-html-polyglot"),
        pytest.param(b"<html><body>" + b"x" * 100 + b"</body></html>", "web page", id="html-no-doctype"),
        pytest.param(samples.truncated_jpeg(), "damaged or truncated", id="truncated-jpeg"),
        pytest.param(b"", "is empty", id="zero-bytes"),
        pytest.param(pixel_bomb(), "megapixel", id="pixel-bomb"),
        pytest.param(many_frames_gif(images.MAX_FRAMES + 1), "frames", id="too-many-frames"),
        pytest.param(b"GIF89a" + b"\x00" * 30, "", id="gif-header-only"),
        pytest.param(b"hello, I am text pretending to be image.png", "not an image", id="text"),
    ],
)
def test_hostile_or_broken_input_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        intake(data)
    assert reason in caught.value.message


def test_zip_riding_on_a_jpeg_is_refused() -> None:
    with pytest.raises(Rejected, match="another file format"):
        intake(samples.jpeg(5) + b"PK\x03\x04" + b"\x00" * 64)


def test_many_frames_count_against_the_pixel_budget() -> None:
    data = many_frames_gif(20)  # 20 frames of 2×2 = 80 pixels
    assert intake(data, max_pixels=100).frames == 20
    with pytest.raises(Rejected, match="frames"):
        intake(data, max_pixels=10)


def test_oversize_input_is_refused_without_reading_it_all() -> None:
    reads = 0

    def endless():  # type: ignore[no-untyped-def]
        nonlocal reads
        while True:
            reads += 1
            yield b"\xff" * 65536

    with pytest.raises(Rejected, match="larger than the 1 MB limit"):
        images.receive(endless(), max_bytes=1024 * 1024)
    assert reads <= 17


def bitmap_png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("1", size, 0).save(out, "PNG")
    return out.getvalue()


def test_image_between_pillows_threshold_and_the_limit_is_accepted() -> None:
    # 95 MP: above Pillow's 89 MP warning, below CloudBox's 100 MP default.
    assert intake(bitmap_png((10_000, 9_500))).height == 9_500


def test_pixel_bomb_reason_names_the_limit() -> None:
    with pytest.raises(Rejected, match="more pixels than the 100-megapixel limit"):
        intake(pixel_bomb())


def test_pixel_limit_is_configurable() -> None:
    data = encode("PNG", size=(100, 100))
    assert intake(data, max_pixels=10_000).width == 100
    with pytest.raises(Rejected, match="megapixel"):
        intake(data, max_pixels=9_999)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\Users\\eve\\secret.png", "secret.png"),
        ("a\x00b.png", "ab.png"),
        ("photo\u202egnp.exe", "photognp.exe"),
        ("  .hidden.png. ", "hidden.png"),
        ("", "image.png"),
        (None, "image.png"),
        ("../..", "image.png"),
        ("tab\tand\nnewline.png", "tabandnewline.png"),
        (b"caf\xe9.png", "caf\ufffd.png"),
        ("café 写真.png".encode(), "café 写真.png"),
    ],
)
def test_display_name_is_safe_to_show_and_store(raw: str | bytes | None, expected: str) -> None:
    assert images.display_name(raw, "png") == expected


def test_long_names_are_cut_keeping_the_extension() -> None:
    name = images.display_name("x" * 500 + ".jpeg", "jpg")
    assert len(name) <= 200 and name.endswith(".jpeg")
    assert images.display_name("y" * 500, "png").startswith("y" * 190)
    assert len(images.display_name("y" * 500, "png")) <= 200


def test_display_name_never_contains_control_or_direction_characters() -> None:
    hostile = "".join(chr(c) for c in range(0, 0x20)) + "\u202e\u200f\u2066\u2028name\u2029.png\x7f"
    name = images.display_name(hostile, "png")
    assert name == "name.png"
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name)


class CountingReads(io.BufferedRandom):
    """A file on disk that counts the reads made through Python."""

    reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(size)


def test_libvips_reads_a_spooled_png_by_its_descriptor_not_through_python(tmp_path: Path) -> None:
    # Python read callbacks take the GIL for every read: beside the put and the polyglot scan
    # they made a 24 MP PNG decode twice as slow as alone.
    path = tmp_path / "spool"
    data = samples.png(7, size=(1200, 800))
    path.write_bytes(data)
    with CountingReads(io.FileIO(path, "r+")) as file:
        file.seek(100)
        renditions = decoders.VipsDecoder(file, "pngload_source", 1).renditions()
        assert file.reads == 0
        # libvips read a file of its own: where Python's reader stood is where it still stands.
        assert file.tell() == 0 and file.read(8) == data[:8]
    assert Image.open(io.BytesIO(renditions.preview)).size == (512, 341)


def zip_archive() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("evil.html", "<b>hi</b>")
    return archive.getvalue()


WINDOW = image_bytes.SCAN_WINDOW


@pytest.mark.parametrize(
    ("sign", "at", "reason"),
    [
        (b"%PDF-1.7\n", WINDOW - 4, messages.CARRIES_MARKUP),  # the version starts the next window
        (b"<script>", WINDOW - 3, messages.CARRIES_MARKUP),
        (b"<script>", WINDOW, messages.CARRIES_MARKUP),  # first byte of a window
        (b"<svg " + b"x" * 300 + b"xmlns", WINDOW - 2, messages.CARRIES_MARKUP),
        (b"<SvG " + b"x" * 300 + b"xmlns", 3 * WINDOW - 200, messages.CARRIES_MARKUP),  # its context across
        (b"<?php ", 5 * WINDOW - 1, messages.CARRIES_MARKUP),
        (zip_archive(), 2 * WINDOW - 2, messages.CARRIES_ARCHIVE),  # the local header across
        (zip_archive(), 2 * WINDOW - 100, messages.CARRIES_ARCHIVE),  # the end record in the next
    ],
)
def test_a_sign_across_the_scan_s_windows_is_found(sign: bytes, at: int, reason: str) -> None:
    noise = random.Random(5).randbytes(3 * 1024 * 1024)
    assert scan(noise) is None
    assert scan(noise[:at] + sign + noise[at:]) == reason


def test_a_sign_without_its_context_is_not_markup() -> None:
    noise = random.Random(5).randbytes(3 * 1024 * 1024)
    at = WINDOW - 4
    assert scan(noise[:at] + b"%PDF-x" + noise[at:]) is None  # a version must follow, past the ends
    at = 3 * WINDOW - 4  # past the first 64 KB, where "<svg" alone counts
    assert scan(noise[:at] + b"<svg " + b"x" * 600 + b"xmlns" + noise[at:]) is None  # too far


def scan(data: bytes) -> str | None:
    return image_bytes.second_format(lambda offset, n: data[offset : offset + n], len(data))
