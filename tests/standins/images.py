"""Image bytes made by the tests, good and hostile."""

from __future__ import annotations

import io

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
