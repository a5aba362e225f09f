"""Image intake: receive bytes with bounded memory, recognise images by their bytes, preview them.

Nothing here trusts a file name or a claimed MIME type. A file is an image when Pillow (with
pillow-heif for HEIC) identifies it as one of the allowed formats from its headers, every frame
fits the limits, nothing in its bytes is markup, a script or an archive riding along (a
polyglot), and every frame then decodes. The decode is one pass that also makes the preview,
on the engine that holds least memory for the format (see `decoders`), inside a per-process
memory budget (see `decode_budget`).
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import IO, BinaryIO

import pillow_heif
from PIL import Image, UnidentifiedImageError

from . import decode_costs, decoders, image_bytes, messages
from .decode_budget import DecodeBudget
from .decoders import Renditions
from .errors import Rejected
from .location import positional_reads, seek_reads
from .words import larger_than

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
# Formats most browsers cannot show: their gallery view and shared link use a display rendition.
NEEDS_DISPLAY = frozenset({"HEIF", "TIFF"})
PREVIEW_CONTENT_TYPE = "image/jpeg"  # JPEG: the one preview format Slack, Chat and browsers all show
MAX_FRAMES = 1000
# A progressive JPEG is decoded once per scan: more scans than this, or more pixel-scans (about
# 4 s of CPU), is refused.
MAX_JPEG_SCANS = 100
MAX_JPEG_SCAN_PIXELS = 2_500_000_000
READ_CHUNK = 1024 * 1024
SPOOL_IN_MEMORY = 2 * 1024 * 1024  # small files never touch the disk


@dataclass(frozen=True)
class Received:
    """Bytes received into a seekable spool, with their digest."""

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
    width: int  # of the largest frame
    height: int
    frames: int


@dataclass(frozen=True)
class Examined:
    """What an image's headers say, checked against the limits, before any pixel is decoded."""

    info: ImageInfo
    engine: str  # "vips" or "pillow"
    largest_frame: int  # pixels of the largest frame
    memory: int  # estimated bytes the decode will hold at its peak


def receive(source: BinaryIO | Iterable[bytes], *, max_bytes: int) -> Received:
    """Copy `source` into a spool (memory for small files, disk beyond), hashing as it goes.

    Refuses empty input and stops reading as soon as `max_bytes` is passed.
    """
    digest = hashlib.sha256()
    # The first SPOOL_IN_MEMORY bytes are held as they came until the file proves larger, then
    # written to disk once: SpooledTemporaryFile copies what it holds when it rolls over, which
    # made receiving the bench's 6.4 MB JPEG cost 4.7 ms instead of 1.7 (measured here).
    held: list[bytes] = []
    on_disk: IO[bytes] | None = None
    size = 0
    try:
        for chunk in _chunks(source):
            size += len(chunk)
            if size > max_bytes:
                raise Rejected(larger_than(max_bytes))
            digest.update(chunk)
            if on_disk is None and size > SPOOL_IN_MEMORY:
                on_disk = tempfile.TemporaryFile()
                on_disk.writelines(held)
                held = []
            if on_disk is None:
                held.append(chunk)
            else:
                on_disk.write(chunk)
        if size == 0:
            raise Rejected(messages.EMPTY)
    except BaseException:
        if on_disk is not None:
            on_disk.close()
        raise
    spool = on_disk or _small_spool(b"".join(held))
    spool.seek(0)
    return Received(file=spool, size=size, sha256=digest.hexdigest())


def _small_spool(data: bytes) -> IO[bytes]:
    """A file in memory that moves to disk if a reader asks for its descriptor (positional reads)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    spool.write(data)
    return spool  # type: ignore[return-value]


def examine(received: Received, *, max_pixels: int) -> Examined:
    """Identify the image from its headers and refuse what is not acceptable, cheaply.

    Every frame's geometry is checked (a small first page does not vouch for the rest), and
    the work a JPEG's scans would cost. A second format riding along is `second_format`'s job:
    it reads every byte, so `Library` runs it beside the decode.
    """
    try:
        with warnings.catch_warnings(), _open(received, max_pixels) as img:
            # Pillow only warns when a TIFF's chain of pages is cut short: that is damage.
            warnings.simplefilter("error", UserWarning)
            fmt = img.format or ""
            if fmt not in ALLOWED_FORMATS:
                raise Rejected(messages.not_stored_format(fmt))
            frames = _frame_geometry(img, fmt)
            largest = max(frames, key=lambda size: size[0] * size[1])
            _check_geometry(frames, largest, max_pixels)
            if fmt == "JPEG":
                _check_jpeg_work(image_bytes.jpeg_scans(seek_reads(received.file), received.size), largest)
            engine = "vips" if fmt == "TIFF" or (fmt == "PNG" and len(frames) == 1) else "pillow"
            memory = decode_costs.estimate(img, engine, frames, received.size)
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, UserWarning) as exc:
        raise Rejected(messages.DAMAGED) from exc
    finally:
        received.file.seek(0)
    content_type, extension = ALLOWED_FORMATS[fmt]
    info = ImageInfo(fmt, content_type, extension, largest[0], largest[1], len(frames))
    return Examined(info, engine, largest[0] * largest[1], memory)


def render(received: Received, examined: Examined, *, budget: DecodeBudget | None = None) -> Renditions:
    """Decode every frame and return the renditions: the preview JPEG (longest side 512 px,
    upright, on white) and, for originals browsers cannot show, a 2048 px display JPEG.

    The decode first reserves its estimated memory from `budget`, waiting its turn while the
    process is busy with other images.
    """
    with budget.reserve(examined.memory) if budget is not None else nullcontext():
        received.file.seek(0)
        try:
            display = examined.info.format in NEEDS_DISPLAY
            if examined.engine == "vips":
                loader = "tiffload_source" if examined.info.format == "TIFF" else "pngload_source"
                vips = decoders.VipsDecoder(received.file, loader, examined.info.frames, display=display)
                return vips.renditions()
            with _open(received, examined.largest_frame) as img:
                pillow = decoders.PillowDecoder(img, examined.largest_frame, display=display)
                return pillow.renditions(examined.info.frames)
        except decoders.FrameTooLarge as exc:
            raise Rejected(messages.frame_larger_than_canvas(exc.width, exc.height)) from None
        except (decoders.Undecodable, OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            raise Rejected(messages.DAMAGED) from exc
        finally:
            received.file.seek(0)


def second_format(received: Received, read_at: image_bytes.ReadAt | None = None) -> str | None:
    """Why the file carries a second format (markup, a script, an archive), or None.

    With `read_at` (from `location.positional_reads`, made before any thread starts: making it
    moves a small spool to disk) it may run in another thread while `render` decodes.
    """
    return image_bytes.second_format(read_at or positional_reads(received.file), received.size)


def intake(
    received: Received, *, max_pixels: int, budget: DecodeBudget | None = None
) -> tuple[ImageInfo, bytes]:
    """`examine`, then `render`: the image's description and its preview."""
    examined = examine(received, max_pixels=max_pixels)
    if reason := second_format(received):
        raise Rejected(reason)
    return examined.info, render(received, examined, budget=budget).preview


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


@contextmanager
def _open(received: Received, max_pixels: int) -> Iterator[Image.Image]:
    received.file.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow's own warning threshold (89 MP) is below CloudBox's default limit; ours is
            # enforced from the headers before anything is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(received.file, formats=list(ALLOWED_FORMATS))
    except Image.DecompressionBombError:
        # Pillow refuses at open beyond twice its own limit: far past ours too.
        raise Rejected(messages.more_pixels_than(max_pixels)) from None
    except UnidentifiedImageError:
        raise Rejected(_unidentified_reason(received)) from None
    with img:
        yield img


def _frame_geometry(img: Image.Image, fmt: str) -> list[tuple[int, int]]:
    """(width, height) of every frame, read from headers only."""
    if fmt not in ("TIFF", "HEIF"):
        # One canvas for every frame (GIF, WebP, AVIF, APNG); a GIF frame that would grow it
        # is refused when it is reached.
        return [img.size] * getattr(img, "n_frames", 1)
    # TIFF pages and HEIF top-level images each have a size of their own.
    sizes = []
    for index in range(MAX_FRAMES + 1):
        try:
            img.seek(index)
        except EOFError:
            break
        sizes.append(img.size)
    img.seek(0)
    return sizes


def _check_geometry(frames: list[tuple[int, int]], largest: tuple[int, int], max_pixels: int) -> None:
    width, height = largest
    if any(w <= 0 or h <= 0 for w, h in frames):
        raise Rejected(messages.NO_PIXELS)
    if width * height > max_pixels:
        raise Rejected(messages.too_many_pixels(width, height, max_pixels, first_frame=frames[0] == largest))
    if len(frames) > MAX_FRAMES or sum(w * h for w, h in frames) > max_pixels * 4:
        raise Rejected(messages.too_many_frames(len(frames), MAX_FRAMES))


def _check_jpeg_work(scans: int, size: tuple[int, int]) -> None:
    """Bound the scans of a JPEG: each one is a pass over the whole picture.

    Photos have 1 to about 12 (a few more with embedded thumbnails and MPF pictures); a crafted
    file repeats one scan hundreds of times to cost minutes of CPU per megabyte.
    """
    pixels = size[0] * size[1]
    if scans > MAX_JPEG_SCANS or scans * pixels > MAX_JPEG_SCAN_PIXELS:
        raise Rejected(messages.too_much_jpeg_work(scans, pixels))


def _unidentified_reason(received: Received) -> str:
    received.file.seek(0)
    head = received.file.read(512).lstrip().lower()
    if head.startswith(b"%pdf"):
        return messages.PDF
    if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
        return messages.SVG
    if head.startswith((b"<!doctype", b"<html")):
        return messages.WEB_PAGE
    return messages.NOT_AN_IMAGE
