"""The two decoders behind image intake, each used where it is strongest.

libvips streams PNG and TIFF a band of rows at a time, so a 100-megapixel PNG (a few hundred
KB when it is flat colour) costs tens of MB instead of most of a GB. Pillow decodes everything
else: JPEG at reduced scale (the DCT does the shrinking), HEIC/AVIF (libheif), WebP, GIF, BMP
and animated PNG. Both decode every frame: decoding is the only proof the pixel data is whole.

libvips carries loaders that must never see untrusted bytes (SVG, PDF, ImageMagick...): every
loader is blocked but the two used here, before the first image is read.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from typing import IO, Any

from PIL import ExifTags, Image, ImageFile

PREVIEW_MAX_SIDE = 512
DECODE_FEED = 4 * 1024 * 1024  # bytes handed to a JPEG decoder at once (Pillow: 64 KiB)
PREVIEW_QUALITY = 82
DISPLAY_MAX_SIDE = 2048  # the rendition browsers show for originals they cannot (HEIC, TIFF)
DISPLAY_QUALITY = 85


@dataclass(frozen=True)
class Renditions:
    preview: bytes
    display: bytes | None = None


_VIPS_LOADERS = ("VipsForeignLoadPngSource", "VipsForeignLoadTiffSource")

_vips_lock = threading.Lock()
_vips: Any = None


def vips() -> Any:
    """pyvips, configured once for untrusted input: allow-listed loaders, no cache, one thread."""
    global _vips
    with _vips_lock:
        if _vips is None:
            import pyvips  # imported on first use: nothing slow at start-up

            pyvips.block_untrusted_set(True)
            pyvips.operation_block_set("VipsForeignLoad", True)
            for loader in _VIPS_LOADERS:
                pyvips.operation_block_set(loader, False)
            pyvips.cache_set_max(0)  # an operation cache would keep decoded pixels alive
            # Threads per image: parallelism comes from decoding several images at once, and
            # each extra libvips worker adds buffers the decode budget would have to cover.
            pyvips.concurrency_set(1)
            _vips = pyvips
        return _vips


class VipsDecoder:
    """PNG (one frame) and TIFF (every page) through libvips, read sequentially from the spool."""

    def __init__(self, file: IO[bytes], loader: str, pages: int, *, display: bool = False):
        self._display = display
        self._file = file
        self._loader = loader  # "pngload_source" or "tiffload_source"
        self._pages = pages
        # libvips calls back into these while the pipeline runs: they must outlive it.
        self._sources: list[Any] = []

    def renditions(self) -> Renditions:
        pyvips = vips()
        try:
            return self._renditions(pyvips)
        except pyvips.Error as exc:
            raise Undecodable(str(exc)) from exc

    def _renditions(self, pyvips: Any) -> Renditions:
        first = self._load(0)
        side = DISPLAY_MAX_SIDE if self._display else PREVIEW_MAX_SIDE
        thumb = pyvips.Image.thumbnail_image(first, side, height=side, size="down")
        if thumb.interpretation != "srgb":
            thumb = thumb.colourspace("srgb")  # CMYK, greyscale, 16-bit, Lab: all to 8-bit sRGB
        if thumb.hasalpha():
            thumb = thumb.flatten(background=[255, 255, 255])
        quality = DISPLAY_QUALITY if self._display else PREVIEW_QUALITY
        jpeg: bytes = thumb.cast("uchar").jpegsave_buffer(Q=quality, keep="none")
        for page in range(1, self._pages):
            self._load(page).avg()  # decodes the page to the last row, a band at a time
        if not self._display:
            return Renditions(jpeg)
        # The preview from the display rendition: our own JPEG, so Pillow may read it.
        with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as display:
            return Renditions(_jpeg(_shrink(display, PREVIEW_MAX_SIDE), PREVIEW_QUALITY), jpeg)

    def _load(self, page: int) -> Any:
        pyvips = vips()
        self._file.seek(0)
        options: dict[str, Any] = {"access": "sequential", "fail_on": "error"}
        if self._loader == "tiffload_source":
            options["page"] = page
        source = _source(pyvips, self._file)
        self._sources.append(source)
        return getattr(pyvips.Image, self._loader)(source, **options)


def _source(pyvips: Any, file: IO[bytes]) -> Any:
    """libvips reads the spool's file itself where it can: through Python callbacks every read
    takes the GIL, and beside the put and the polyglot scan that made a 24 MP PNG decode take
    twice as long as alone. The file is opened again (Linux: /proc/self/fd), so libvips moves
    its own offset, never the one under Python's buffered reader; the put and the scan use
    pread and move none."""
    try:
        file.flush()
        reopened = os.open(f"/proc/self/fd/{file.fileno()}", os.O_RDONLY)
    except (OSError, io.UnsupportedOperation):
        pass
    else:
        try:
            return pyvips.Source.new_from_descriptor(reopened)  # libvips keeps a dup() of it
        finally:
            os.close(reopened)
    source = pyvips.SourceCustom()
    source.on_read(file.read)
    source.on_seek(lambda offset, whence: file.seek(offset, whence))
    return source


class PillowDecoder:
    """Everything else: frame 0 becomes the preview, then every later frame is decoded.

    `frame_pixels` is the largest frame the memory reservation was made for; a frame that
    turns out larger (GIF frames may grow the canvas) is refused before it is decoded.
    """

    def __init__(self, img: Image.Image, frame_pixels: int, *, display: bool = False):
        self._img = img
        self._frame_pixels = frame_pixels
        self._display = display

    def renditions(self, frames: int) -> Renditions:
        img = self._img
        if img.format == "JPEG":
            img.draft("RGB", (PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))  # the DCT scales down for free
            # Pillow feeds the decoder 64 KiB at a time and takes the GIL back between feeds;
            # beside the put and the polyglot scan, each of those waits its turn for the GIL,
            # which made the decode 2.3 x slower than alone. In larger feeds it waits seldom.
            if isinstance(img, ImageFile.ImageFile):
                img.decodermaxblock = DECODE_FEED
        img.seek(0)
        self._load_frame()
        orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
        display = None
        if self._display:
            large = _on_white(_upright(_shrink(img, DISPLAY_MAX_SIDE), orientation))
            display = _jpeg(large, DISPLAY_QUALITY)
            preview = _jpeg(_shrink(large, PREVIEW_MAX_SIDE), PREVIEW_QUALITY)
        else:
            preview = _jpeg(_on_white(_upright(_shrink(img, PREVIEW_MAX_SIDE), orientation)), PREVIEW_QUALITY)
        for index in range(1, frames):
            img.seek(index)
            self._load_frame()
        return Renditions(preview, display)

    def _load_frame(self) -> None:
        width, height = self._img.size
        if width * height > self._frame_pixels:
            raise FrameTooLarge(width, height)
        self._img.load()


class Undecodable(Exception):
    """libvips could not decode the bytes (damaged, truncated, or not what the header said)."""


class FrameTooLarge(Exception):
    def __init__(self, width: int, height: int):
        super().__init__(f"{width}×{height}")
        self.width = width
        self.height = height


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _shrink(img: Image.Image, max_side: int) -> Image.Image:
    """A new image that fits the preview box; the decoded frame itself is left as it is."""
    frame = img
    if frame.mode not in ("RGB", "RGBA", "L", "LA", "CMYK"):
        frame = frame.convert("L" if frame.mode in ("I;16", "I", "F", "1") else "RGBA")
    width, height = frame.size
    scale = min(1.0, max_side / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == frame.size:
        return frame.copy() if frame is img else frame
    # reducing_gap: a cheap box reduction first, then Hamming over the last factor of three.
    # Hamming rather than Lanczos: half the time (5.4 vs 11 ms from the bench's 12 MP JPEG at
    # 1/4 scale to 512 px, a fifth of its whole decode) and, at a reduction of three or less,
    # the same picture to the eye at these sizes.
    return frame.resize(size, Image.Resampling.HAMMING, reducing_gap=3.0)


# EXIF orientation -> the transpose that makes the picture upright (as ImageOps.exif_transpose)
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(img: Image.Image, orientation: int) -> Image.Image:
    method = _UPRIGHT.get(orientation)
    return img.transpose(method) if method is not None else img


def _on_white(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")
