"""Location erased in place, for containers whose metadata offsets must not move (HEIF, TIFF).

A HEIF file points at its EXIF item by offset and length (`iloc`), and a TIFF file's directories
point at each other: cutting bytes out would break them. So the GPS directory is emptied where
it stands, at the same length: its entry count becomes 0 and its entries and their values
become zeros, and the directory that points at it keeps a valid pointer to an empty directory.
An XMP packet that names a place becomes spaces, which XMP readers skip. Nothing moves, so the
pixels and every other box are copied byte for byte.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

ReadAt = Callable[[int, int], bytes]
Replacement = tuple[int, int, bytes]  # (start, end, bytes of the same length)

GPS_IFD = 0x8825
# Sizes of the TIFF field types, by type number (1 BYTE ... 13 IFD); unknown types are 1.
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_MAX_ENTRIES = 1000
_EMPTY_TIFF = {
    b"II": b"II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    b"MM": b"MM\x00*\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00",
}


class UnreadableGps(Exception):
    """The TIFF structure's directories cannot be followed to the GPS directory."""


def gps_erased(read_at: ReadAt, base: int, length: int) -> list[Replacement]:
    """Same-length replacements that empty the GPS directory of the TIFF structure at `base`
    (offsets inside it count from `base`); none when it has no GPS directory. UnreadableGps
    when its directories cannot be followed."""
    try:
        return _gps_replacements(read_at, base, length)
    except (_Malformed, struct.error) as exc:
        raise UnreadableGps(str(exc)) from None


def emptied(read_at: ReadAt, base: int, length: int) -> Replacement:
    """The whole TIFF structure at `base` as an empty one padded with zeros (for EXIF carried
    beside the picture, as in HEIF, whose place could not be found otherwise)."""
    empty = _EMPTY_TIFF.get(read_at(base, 2), _EMPTY_TIFF[b"MM"])
    filler = empty + bytes(length - len(empty)) if length >= len(empty) else bytes(length)
    return (base, base + length, filler)


class _Malformed(Exception):
    pass


def xmp_blanked(start: int, packet: bytes) -> Replacement:
    """The packet at `start` as spaces of the same length."""
    return (start, start + len(packet), b" " * len(packet))


def _gps_replacements(read_at: ReadAt, base: int, length: int) -> list[Replacement]:
    header = read_at(base, 8)
    if len(header) < 8 or header[:2] not in (b"II", b"MM"):
        raise _Malformed("not a TIFF header")
    endian = "<" if header[:2] == b"II" else ">"
    if struct.unpack(endian + "H", header[2:4])[0] != 42:
        return []  # BigTIFF (43): 8-byte offsets, not read here; stored as sent, as before
    ifd0 = struct.unpack(endian + "I", header[4:8])[0]
    gps_offset = None
    for tag, _type, _count, value in _entries(read_at, base, length, endian, ifd0):
        if tag == GPS_IFD:
            gps_offset = struct.unpack(endian + "I", value)[0]
    if gps_offset is None:
        return []
    replacements = []
    entries = list(_entries(read_at, base, length, endian, gps_offset))
    for _tag, kind, count, value in entries:
        size = _TYPE_SIZES.get(kind, 1) * count
        if size > 4:  # the value lives elsewhere: zero it where it is
            at = struct.unpack(endian + "I", value)[0]
            if at + size > length:
                raise _Malformed("a GPS value past the end")
            replacements.append((base + at, base + at + size, bytes(size)))
    directory = 2 + 12 * len(entries) + 4
    replacements.append((base + gps_offset, base + gps_offset + directory, bytes(directory)))
    return _in_order(replacements)


def _entries(
    read_at: ReadAt, base: int, length: int, endian: str, offset: int
) -> list[tuple[int, int, int, bytes]]:
    if offset + 2 > length:
        raise _Malformed("a directory past the end")
    (count,) = struct.unpack(endian + "H", read_at(base + offset, 2))
    if count > _MAX_ENTRIES or offset + 2 + 12 * count + 4 > length:
        raise _Malformed("a directory past the end")
    raw = read_at(base + offset + 2, 12 * count)
    out = []
    for n in range(count):
        tag, kind, number = struct.unpack(endian + "HHI", raw[12 * n : 12 * n + 8])
        out.append((tag, kind, number, raw[12 * n + 8 : 12 * n + 12]))
    return out


def _in_order(replacements: list[Replacement]) -> list[Replacement]:
    """Sorted by start; overlapping spans (values shared by two entries) merged into one."""
    merged: list[Replacement] = []
    for start, end, _ in sorted(replacements):
        if merged and start < merged[-1][1]:
            first, last, _ = merged[-1]
            end = max(end, last)
            merged[-1] = (first, end, bytes(end - first))
        else:
            merged.append((start, end, bytes(end - start)))
    return merged
