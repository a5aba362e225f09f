"""Image bytes made by the tests, good and hostile."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

import pillow_heif
from PIL import Image


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (64, 48), color: str = "teal", **kw: object
) -> bytes:
    out = io.BytesIO()
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    Image.new(mode, size, color).save(out, fmt, **kw)
    return out.getvalue()


def png(seed: int = 0, size: tuple[int, int] = (64, 48)) -> bytes:
    """A distinct PNG per seed (distinct bytes, so distinct sha256)."""
    img = Image.new("RGB", size, (seed % 256, (seed // 256) % 256, (seed // 65536) % 256))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def jpeg(seed: int = 0, size: tuple[int, int] = (64, 48)) -> bytes:
    img = Image.new("RGB", size, (seed % 256, 40, 90))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def gif() -> bytes:
    return image_bytes("GIF", color="red")


def heic() -> bytes:
    img = Image.new("RGB", (64, 48), "navy")
    heif = pillow_heif.from_pillow(img)
    out = io.BytesIO()
    heif.save(out, quality=80)
    return out.getvalue()


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def svg_with_script() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def html() -> bytes:
    return b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def png_with_html_appended() -> bytes:
    return png(7) + b"<html><script>alert(document.cookie)</script></html>"


def truncated_jpeg() -> bytes:
    data = jpeg(3, size=(400, 300))
    return data[: len(data) // 2]


def pixel_bomb() -> bytes:
    """A small file that claims 20000x20000 pixels (400 MP): compresses to almost nothing."""
    out = io.BytesIO()
    Image.new("1", (20000, 20000), 0).save(out, "PNG", optimize=True)
    return out.getvalue()


# -- costly and sneaky images (the image-engine penetration test) --------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def flat_png(width: int, height: int, *, extra_chunks: bytes = b"") -> bytes:
    """A flat-colour RGB PNG of any size, made a row at a time (the pixels are never in memory)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x20\x80\xc0" * width
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + extra_chunks
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def noisy_png(size: tuple[int, int], seed: int = 0) -> bytes:
    """Random pixels: compressed data that looks like noise, as a real photo's does."""
    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(out, "PNG", compress_level=1)
    return out.getvalue()


def noisy_jpeg(size: tuple[int, int], seed: int = 0, **kw: object) -> bytes:
    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(out, "JPEG", quality=95, **kw)
    return out.getvalue()


def png_with_script_inside(offset: int = 70 * 1024) -> bytes:
    """A valid PNG with a script in a text chunk `offset` bytes in: past the first 64 KB."""
    text = png_chunk(b"tEXt", b"Comment\x00" + b"." * offset + b"<script>alert(document.domain)</script>")
    return flat_png(64, 48, extra_chunks=text) + png_chunk(b"tEXt", b"Pad\x00" + b"-" * (70 * 1024))


def png_with_zip_appended() -> bytes:
    """A noisy PNG with a ZIP (one stored 100 KB member) after it: its local header sits more
    than 64 KB before the end, the central directory and end record near it."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.writestr("evil.html", random.Random(5).randbytes(100 * 1024))
    return noisy_png((200, 150), seed=5) + archive.getvalue()


def tiff_pages(*pages: tuple[tuple[int, int], str]) -> bytes:
    """A multi-page TIFF: ((width, height), mode) per page, deflate-compressed flat colour."""
    first, *rest = (Image.new(mode, size, 0) for size, mode in pages)
    out = io.BytesIO()
    first.save(out, "TIFF", save_all=True, append_images=rest, compression="tiff_adobe_deflate")
    return out.getvalue()


def heic_images(*sizes: tuple[int, int]) -> bytes:
    """A HEIC file holding several top-level images (the first is the primary one)."""
    first, *rest = sizes
    heif = pillow_heif.from_pillow(Image.new("RGB", first, "navy"))
    for size in rest:
        heif.add_from_pillow(Image.new("RGB", size, "olive"))
    out = io.BytesIO()
    heif.save(out, quality=50)
    return out.getvalue()


def jpeg_with_repeated_scan(size: tuple[int, int], repeats: int) -> bytes:
    """A greyscale progressive JPEG whose last scan is repeated `repeats` times (a CPU bomb:
    every scan is a pass over the whole picture)."""
    out = io.BytesIO()
    Image.new("L", size, 128).save(out, "JPEG", progressive=True, quality=90)
    data = out.getvalue()
    last_scan = data.rindex(b"\xff\xda")
    scan = data[last_scan:-2]  # up to the EOI marker
    return data[:last_scan] + scan * repeats + b"\xff\xd9"
