"""Image intake: receive bytes with bounded memory, recognise images by their bytes, preview them.

Nothing here trusts a file name or a claimed MIME type. A file is an image when Pillow (with
pillow-heif for HEIC) parses it as one of the allowed formats, fully decodes it, and nothing in
its first or last bytes looks like markup, a script or an archive riding along (a polyglot).
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, BinaryIO

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import Rejected

pillow_heif.register_heif_opener()

# Pillow format name -> (MIME type, extension used in object names)
ALLOWED_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
    "HEIF": ("image/heic", "heic"),
    "AVIF": ("image/avif", "avif"),
    "BMP": ("image/bmp", "bmp"),
    "TIFF": ("image/tiff", "tiff"),
}
PREVIEW_MAX_SIDE = 512
PREVIEW_CONTENT_TYPE = "image/jpeg"  # JPEG: the one preview format Slack, Chat and browsers all show
MAX_FRAMES = 1000
READ_CHUNK = 1024 * 1024
SPOOL_IN_MEMORY = 2 * 1024 * 1024  # small files never touch the disk

# Signs of active content or a second file format. Looked for in the head and the tail only:
# that is where a polyglot must put them for a browser or an unzipper to find them.
_ACTIVE_MARKERS = (
    b"<script",
    b"<html",
    b"<!doctype",
    b"<svg",
    b"<?xml-stylesheet",
    b"<iframe",
    b"<?php",
    b"javascript:",
    b"pk\x03\x04",
    b"%pdf-",
)
_SCAN_BYTES = 64 * 1024


@dataclass(frozen=True)
class Received:
    """Bytes received into a seekable spool, with what was learnt while copying them."""

    file: IO[bytes]
    size: int
    sha256: str

    def close(self) -> None:
        self.file.close()


@dataclass(frozen=True)
class ImageInfo:
    format: str
    content_type: str
    extension: str
    width: int
    height: int
    frames: int


def receive(source: BinaryIO | Iterable[bytes], *, max_bytes: int) -> Received:
    """Copy `source` into a spool (memory for small files, disk beyond), hashing as it goes.

    Refuses empty input and stops reading as soon as `max_bytes` is passed.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in _chunks(source):
            size += len(chunk)
            if size > max_bytes:
                raise Rejected(f"is larger than the {_megabytes(max_bytes)} limit")
            digest.update(chunk)
            spool.write(chunk)
        if size == 0:
            raise Rejected("is empty")
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Received(file=spool, size=size, sha256=digest.hexdigest())


def inspect(received: Received, *, max_pixels: int) -> ImageInfo:
    """Identify and fully decode the image; raise Rejected with the reason it is not acceptable."""
    active_content = _active_content(received)
    received.file.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow's own warning threshold (89 MP) is below CloudBox's default limit; our
            # limit is enforced by _describe before anything is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(received.file, formats=list(ALLOWED_FORMATS)) as img:
                info = _describe(img, max_pixels)
                if active_content:
                    raise Rejected(active_content)
                _decode_every_frame(img)
    except Rejected:
        raise
    except Image.DecompressionBombError:
        # Pillow refuses at open beyond twice its own limit: far past ours too.
        raise Rejected(f"has more pixels than the {max_pixels / 1e6:.0f}-megapixel limit") from None
    except UnidentifiedImageError:
        raise Rejected(_unidentified_reason(received)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Rejected("is damaged or truncated and cannot be read as an image") from exc
    finally:
        received.file.seek(0)
    return info


def make_preview(received: Received) -> bytes:
    """A JPEG whose longest side is at most 512 px, upright, transparency on white."""
    received.file.seek(0)
    with Image.open(received.file, formats=list(ALLOWED_FORMATS)) as img:
        if img.format == "JPEG":
            img.draft("RGB", (PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))  # decode at reduced scale
        img.seek(0)
        frame = ImageOps.exif_transpose(img)
        frame.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.Resampling.LANCZOS)
        if frame.mode in ("RGBA", "LA", "P", "PA"):
            rgba = frame.convert("RGBA")
            frame = Image.new("RGB", rgba.size, "white")
            frame.paste(rgba, mask=rgba.getchannel("A"))
        else:
            frame = frame.convert("RGB")
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=82, optimize=True)
    received.file.seek(0)
    return out.getvalue()


def display_name(raw: str | bytes | None, extension: str) -> str:
    """A file name safe to show and store: no paths, no control or direction characters."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control characters (NUL included); Cf: format characters such as the RTL override
    # that makes "gpj.exe" read as "exe.jpg".
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    name = " ".join(name.split()).strip(" .")
    if not name:
        return f"image.{extension}"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        name = (stem if keep else name)[: 200 - len(keep) - 1].rstrip() + ("." + keep if keep else "")
    return name


def _chunks(source: BinaryIO | Iterable[bytes]) -> Iterable[bytes]:
    read = getattr(source, "read", None)
    if read is None:
        yield from (c for c in source if c)  # type: ignore[union-attr]
        return
    while chunk := read(READ_CHUNK):
        yield chunk


def _describe(img: Image.Image, max_pixels: int) -> ImageInfo:
    fmt = img.format or ""
    if fmt not in ALLOWED_FORMATS:
        raise Rejected(f"is a {fmt or 'unknown'} file, which CloudBox does not store")
    width, height = img.size
    frames = getattr(img, "n_frames", 1)
    if width <= 0 or height <= 0:
        raise Rejected("has no pixels")
    if width * height > max_pixels:
        raise Rejected(f"is {width}×{height} pixels, more than the {max_pixels / 1e6:.0f}-megapixel limit")
    if frames > MAX_FRAMES or width * height * frames > max_pixels * 4:
        raise Rejected(f"has {frames} frames, too many to store")
    content_type, extension = ALLOWED_FORMATS[fmt]
    return ImageInfo(fmt, content_type, extension, width, height, frames)


def _decode_every_frame(img: Image.Image) -> None:
    """Decoding is the only way to know the pixel data is whole; frames are decoded one by one."""
    for index in range(getattr(img, "n_frames", 1)):
        img.seek(index)
        img.load()


def _active_content(received: Received) -> str | None:
    f = received.file
    f.seek(0)
    head = f.read(_SCAN_BYTES)
    tail = b""
    if received.size > _SCAN_BYTES:
        f.seek(max(_SCAN_BYTES, received.size - _SCAN_BYTES))
        tail = f.read()
    for part in (head, tail):
        lowered = part.lower()
        for marker in _ACTIVE_MARKERS:
            if marker in lowered:
                kind = "markup or script" if marker.startswith(b"<") else "another file format"
                return f"contains {kind} as well as image data, which is not allowed"
    return None


def _unidentified_reason(received: Received) -> str:
    received.file.seek(0)
    head = received.file.read(512).lstrip().lower()
    if head.startswith(b"%pdf"):
        return "is a PDF, not an image"
    if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
        return "is an SVG drawing; SVG can carry scripts, so CloudBox does not store it"
    if head.startswith((b"<!doctype", b"<html")):
        return "is a web page, not an image"
    return "is not an image CloudBox can read (JPEG, PNG, GIF, WebP, HEIC, AVIF, BMP, TIFF)"


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"
