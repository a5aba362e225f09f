"""How much memory decoding an image will hold at its peak, estimated from its headers.

The figures are upper bounds fitted to measurements on this project's engines (see the image
engine section of the README and `bench/decode.py`); the decode budget reserves them before a
decode starts. They err high: a reservation too large makes an image wait, one too small lets
the process run out of memory.
"""

from __future__ import annotations

from PIL import Image

from .decoders import DECODE_FEED

MIB = 1024 * 1024
_FIXED = 16 * MIB  # decoder state, the preview and its JPEG encoder
_DISPLAY = 2048 * 2048 * 4 * 3  # the display rendition (HEIC, TIFF): resized, flattened, encoded
_VIPS_FIXED = 40 * MIB  # libvips' own start-up and per-pipeline buffers
_VIPS_ROWS = 1100  # rows a sequential shrink holds at once, by measurement
_HEIF_BYTES_PER_PIXEL = 10  # libheif planes plus Pillow RGB(A) copy: 12 MP measured +126 MiB


def estimate(img: Image.Image, engine: str, frames: list[tuple[int, int]], file_size: int) -> int:
    if engine == "vips":
        pages = max(_vips_page(img, index, size) for index, size in enumerate(frames))
        return pages + (_DISPLAY if img.format == "TIFF" else 0)
    width, height = max(frames, key=lambda size: size[0] * size[1])
    if img.format == "JPEG":
        return _jpeg(img, width, height, file_size)
    if img.format in ("HEIF", "AVIF"):
        return _FIXED + width * height * _HEIF_BYTES_PER_PIXEL + (_DISPLAY if img.format == "HEIF" else 0)
    # Pillow holds 4 bytes a pixel for all but greyscale and palette frames; later frames of
    # an animation are RGB(A), and the frame before stays for disposal.
    return _FIXED + width * height * 4 * 2


def _jpeg(img: Image.Image, width: int, height: int, file_size: int) -> int:
    full = (width, height)
    img.draft("RGB", (512, 512))  # what the decoder will really produce: 1/2, 1/4 or 1/8 scale
    scaled_w, scaled_h = img.size
    # Plus the compressed bytes in hand: a feed and its join with what the decoder left over.
    cost = _FIXED + scaled_w * scaled_h * 4 * 2 + 2 * min(DECODE_FEED, file_size)
    if img.info.get("progressive") or img.info.get("progression"):
        # Progressive (and multi-scan) JPEG keeps every DCT coefficient of the full-size image
        # between scans, whatever the output scale: 2 bytes each, per component's sampling.
        layers = getattr(img, "layer", []) or [("Y", 1, 1, 0)]
        h_max = max(layer[1] for layer in layers)
        v_max = max(layer[2] for layer in layers)
        for _id, h, v, _table in layers:
            blocks_w = -(-full[0] * h // (8 * h_max))
            blocks_h = -(-full[1] * v // (8 * v_max))
            cost += blocks_w * blocks_h * 64 * 2
    return cost


def _vips_page(img: Image.Image, index: int, size: tuple[int, int]) -> int:
    width, height = size
    bands = 4  # palette and grey expand to RGB(A) on the way to the preview
    bytes_per_sample = 2  # 16-bit samples are possible in PNG and TIFF
    cost = _VIPS_FIXED + width * bands * bytes_per_sample * min(height, _VIPS_ROWS)
    if img.format == "TIFF":
        img.seek(index)
        tags = getattr(img, "tag_v2", {})
        # libtiff reads a whole strip (or a row of tiles) at a time, however tall it says it is.
        tile_width, tile_height = tags.get(322), tags.get(323)
        samples = int(tags.get(277, 1) or 1)
        bits = tags.get(258, (8,))
        sample_bytes = max(1, -(-max(bits if isinstance(bits, tuple) else (bits,)) // 8))
        if tile_width and tile_height:
            rows = int(tile_height)
            row_width = max(width, int(tile_width))
        else:
            rows = min(int(tags.get(278, height) or height), height)
            row_width = width
        cost += rows * row_width * samples * sample_bytes
        img.seek(0)
    return cost
