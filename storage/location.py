"""Where a photo was taken stays private: location metadata is cut from the stored original.

Only metadata segments are rewritten; the compressed pixel data is copied byte for byte, so the
picture is exactly the one that was sent. What is removed, by container:

- JPEG: the EXIF GPS directory (APP1 "Exif"); XMP packets (APP1) that name a location.
- PNG: the GPS directory of an eXIf chunk; XMP text chunks that name a location.
- WebP: the GPS directory of the EXIF chunk; an XMP chunk that names a location.
- HEIC and TIFF: the GPS directory emptied where it stands, and (HEIC) an XMP item that names a
  location blanked, at the same length, since their offsets must not move (location_inplace.py).

Everything else in EXIF is kept (orientation above all, so pictures stay upright; camera,
exposure and date), except the embedded EXIF thumbnail of JPEG, PNG and WebP, which the rewrite
does not carry over. AVIF (pillow-heif does not read it here), GIF and BMP originals are stored
as sent.

The result is a list of pieces: new bytes, or (offset, length) spans of the received file, read
through `PiecesReader` so the original is never copied whole into memory.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

import pillow_heif
from PIL import Image

from . import messages
from .errors import Rejected
from .location_inplace import UnreadableGps, emptied, gps_erased, xmp_blanked

Piece = bytes | tuple[int, int]  # new bytes, or (offset, length) of the received file

_GPS_IFD = 0x8825
_ORIENTATION = 0x0112
_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXTENSION_JPEG = b"http://ns.adobe.com/xmp/extension/\x00"
# Words an XMP packet uses for where it was taken (EXIF GPS mirrored, IPTC and Photoshop places).
_XMP_LOCATION = (
    b"exif:GPS",
    b"GPSLatitude",
    b"GPSLongitude",
    b"LocationShown",
    b"LocationCreated",
    b"Iptc4xmpCore:Location",
    b"photoshop:City",
    b"photoshop:State",
    b"photoshop:Country",
)


def _length(piece: Piece) -> int:
    return len(piece) if isinstance(piece, bytes) else piece[1]


@dataclass(frozen=True)
class Rewrite:
    pieces: list[Piece]

    @property
    def size(self) -> int:
        return sum(_length(p) for p in self.pieces)


def without_location(file: IO[bytes], size: int, fmt: str) -> Rewrite | None:
    """The file without its location metadata, or None when it has none (or the format's
    container is not rewritten here)."""
    strip = {"JPEG": _jpeg, "PNG": _png, "WEBP": _webp, "HEIF": _heif, "TIFF": _tiff}.get(fmt)
    if strip is None:
        return None
    pieces = strip(file, size)
    return Rewrite(pieces) if pieces is not None else None


def exif_without_gps(tiff: bytes) -> bytes | None:
    """TIFF-structured EXIF with its GPS directory removed; None when it had none."""
    exif = Image.Exif()
    try:
        exif.load(tiff)
        if _GPS_IFD not in exif:
            return None
        exif.get_ifd(0x8769)  # load the Exif sub-directory so it is written back
        del exif[_GPS_IFD]
        return exif.tobytes()[6:]  # tobytes() starts with the JPEG APP1 "Exif\0\0" header
    except Exception:  # noqa: BLE001 - unreadable EXIF: keep only what shows the picture upright
        return _orientation_only(tiff)


def _orientation_only(tiff: bytes) -> bytes:
    exif = Image.Exif()
    try:
        exif.load(tiff)
        orientation = exif.get(_ORIENTATION)
    except Exception:  # noqa: BLE001
        orientation = None
    minimal = Image.Exif()
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        minimal[_ORIENTATION] = orientation
    return minimal.tobytes()[6:]


def _names_a_place(xmp: bytes) -> bool:
    return any(word in xmp for word in _XMP_LOCATION)


def _read_at(file: IO[bytes], offset: int, length: int) -> bytes:
    file.seek(offset)
    return file.read(length)


# -- JPEG: segments up to the first scan ----------------------------------------------------


# -- HEIF and TIFF: erased in place (storage/location_inplace.py) ---------------------------


def _tiff(file: IO[bytes], size: int) -> list[Piece] | None:
    try:
        return _spliced(size, gps_erased(seek_reads(file), 0, size))
    except UnreadableGps:
        # The directories are the picture itself here: refuse rather than keep a place.
        raise Rejected(messages.LOCATION_UNREADABLE) from None


def _heif(file: IO[bytes], size: int) -> list[Piece] | None:
    """The EXIF and XMP items that pillow-heif reads from the container, found where they lie
    in the file (items are stored as they are read) and erased there."""
    file.seek(0)
    try:
        heif = pillow_heif.open_heif(file)
        exif, xmp = heif.info.get("exif"), heif.info.get("xmp")
    except Exception:  # noqa: BLE001 - intake already read this file; no metadata to erase then
        return None
    replacements: list[tuple[int, int, bytes]] = []
    if exif:
        tiff = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
        at = _find(file, size, tiff)
        if at is not None:
            read = seek_reads(file)
            try:
                replacements += gps_erased(read, at, len(tiff))
            except UnreadableGps:  # EXIF beside the picture: empty it whole
                replacements.append(emptied(read, at, len(tiff)))
    if xmp and _names_a_place(xmp):
        at = _find(file, size, xmp)
        if at is not None:
            replacements.append(xmp_blanked(at, xmp))
    return _spliced(size, sorted(replacements))


def _find(file: IO[bytes], size: int, needle: bytes, chunk: int = 1 << 20) -> int | None:
    """Where `needle` starts in the file, read a chunk at a time (they overlap by its length)."""
    at = 0
    while at < size:
        window = _read_at(file, at, chunk + len(needle))
        found = window.find(needle)
        if found >= 0:
            return at + found
        at += chunk
    return None


def _spliced(size: int, replacements: list[tuple[int, int, bytes]]) -> list[Piece] | None:
    """The file with each (start, end) span replaced by its bytes (empty: removed); None when
    there is nothing to replace. Spans come in file order and do not overlap."""
    if not replacements:
        return None
    pieces: list[Piece] = []
    copied_from = 0
    for start, end, new in replacements:
        pieces += [(copied_from, start - copied_from), new]
        copied_from = end
    pieces.append((copied_from, size - copied_from))
    return [p for p in pieces if _length(p) > 0]


def _jpeg(file: IO[bytes], size: int) -> list[Piece] | None:
    replacements: list[tuple[int, int, bytes]] = []
    at = 2  # after SOI
    drop_extensions = False
    while at + 4 <= size:
        marker, length = struct.unpack(">HH", _read_at(file, at, 4))
        if marker >> 8 != 0xFF or marker in (0xFFDA, 0xFFD9):  # start of scan: data from here
            break
        end = at + 2 + length
        segment = None
        if marker == 0xFFE1:  # APP1: EXIF or XMP
            body = _read_at(file, at + 4, length - 2)
            if body.startswith(b"Exif\x00\x00"):
                cleaned = exif_without_gps(body[6:])
                if cleaned is not None:
                    segment = _jpeg_segment(0xFFE1, b"Exif\x00\x00" + cleaned)
            elif body.startswith(_XMP_JPEG) and _names_a_place(body):
                segment, drop_extensions = b"", True
            elif body.startswith(_XMP_EXTENSION_JPEG) and drop_extensions:
                segment = b""
        if segment is not None:
            replacements.append((at, end, segment))
        at = end
    return _spliced(size, replacements)


def _jpeg_segment(marker: int, body: bytes) -> bytes:
    if len(body) + 2 > 0xFFFF:
        raise ValueError("segment too long")
    return struct.pack(">HH", marker, len(body) + 2) + body


# -- PNG: chunks ------------------------------------------------------------------------------


def _png(file: IO[bytes], size: int) -> list[Piece] | None:
    replacements: list[tuple[int, int, bytes]] = []
    at = 8
    while at + 8 <= size:
        length, kind = struct.unpack(">I4s", _read_at(file, at, 8))
        end = at + 12 + length
        replacement = None
        if kind == b"eXIf":
            cleaned = exif_without_gps(_read_at(file, at + 8, length))
            if cleaned is not None:
                replacement = _png_chunk(b"eXIf", cleaned)
        elif kind == b"iTXt" and length < 16 * 1024 * 1024:
            body = _read_at(file, at + 8, length)
            if body.startswith(b"XML:com.adobe.xmp\x00") and _names_a_place(_itxt_text(body)):
                replacement = b""
        if replacement is not None:
            replacements.append((at, end, replacement))
        if kind in (b"IDAT", b"IEND"):
            break  # metadata before the pixels is what viewers read; past IDAT, copied as is
        at = end
    return _spliced(size, replacements)


def _itxt_text(body: bytes) -> bytes:
    keyword, _, rest = body.partition(b"\x00")
    compressed, _method = rest[0:1], rest[1:2]
    _language, _, rest = rest[2:].partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    if compressed == b"\x01":
        inflater = zlib.decompressobj()
        text = inflater.decompress(text, 16 * 1024 * 1024)
    return text


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# -- WebP: RIFF chunks --------------------------------------------------------------------------


def _webp(file: IO[bytes], size: int) -> list[Piece] | None:
    header = _read_at(file, 0, 12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WEBP":
        return None
    chunks: list[Piece] = []
    at = 12
    changed = False
    vp8x: bytearray | None = None
    vp8x_index = 0
    dropped_xmp = False
    while at + 8 <= size:
        kind, length = struct.unpack("<4sI", _read_at(file, at, 8))
        padded = length + (length & 1)
        end = min(at + 8 + padded, size)
        if kind == b"VP8X":
            vp8x = bytearray(_read_at(file, at, 8 + padded))
            chunks.append(b"")  # placeholder: the flags may change below
            vp8x_index = len(chunks) - 1
        elif kind == b"EXIF" and length < 16 * 1024 * 1024:
            body = _read_at(file, at + 8, length)
            tiff = body[6:] if body.startswith(b"Exif\x00\x00") else body
            cleaned = exif_without_gps(tiff)
            if cleaned is None:
                chunks.append((at, end - at))
            else:
                chunks.append(_riff_chunk(b"EXIF", cleaned))
                changed = True
        elif kind == b"XMP " and length < 16 * 1024 * 1024 and _names_a_place(_read_at(file, at + 8, length)):
            changed = dropped_xmp = True
        else:
            chunks.append((at, end - at))
        at = end
    if not changed:
        return None
    if vp8x is not None:
        if dropped_xmp:
            vp8x[8] &= ~0x04 & 0xFF  # the "has XMP" flag
        chunks[vp8x_index] = bytes(vp8x)
    body_size = 4 + sum(_length(p) for p in chunks)
    return [b"RIFF" + struct.pack("<I", body_size) + b"WEBP", *chunks]


def _riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")


# -- reading the pieces back --------------------------------------------------------------------


def positional_reads(file: IO[bytes]) -> Callable[[int, int], bytes]:
    """read_at(offset, length) that leaves `file`'s position alone (os.pread), so another
    thread may read the same file at the same time; a spool in memory moves to disk for it."""
    try:
        fd = file.fileno()
    except (OSError, io.UnsupportedOperation):
        return seek_reads(file)
    file.flush()
    return lambda offset, length: os.pread(fd, length, offset)


def seek_reads(file: IO[bytes]) -> Callable[[int, int], bytes]:
    """read_at(offset, length) by seek and read: for one thread, while no other reads `file`."""
    return lambda offset, length: _read_at(file, offset, length)


class PiecesReader(io.RawIOBase):
    """A seekable read-only stream over the pieces: spans are read with `read_at` as needed."""

    def __init__(self, read_at: Callable[[int, int], bytes], pieces: list[Piece]):
        self._read_at = read_at
        self._pieces = pieces
        self._size = sum(_length(p) for p in pieces)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        written = 0
        for start, piece in self._located():
            if written == len(view):
                break
            length = _length(piece)
            if self._pos >= start + length:
                continue
            skip = self._pos - start
            take = min(length - skip, len(view) - written)
            if isinstance(piece, bytes):
                data = piece[skip : skip + take]
            else:
                data = self._read_at(piece[0] + skip, take)
            view[written : written + len(data)] = data
            written += len(data)
            self._pos += len(data)
            if len(data) < take:
                break
        return written

    def _located(self) -> Iterator[tuple[int, Piece]]:
        start = 0
        for piece in self._pieces:
            yield start, piece
            start += _length(piece)
