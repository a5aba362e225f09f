"""What the raw bytes of an upload say beyond its image format.

Two things no decoder reports: whether a second file format rides along (a polyglot that a
browser or an unzipper would open), and how many scans a JPEG will make its decoder run. Both
are read from the bytes themselves, through positional reads (`read_at(offset, length)`), so
they can run in one thread while another decodes the same file.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable

import ahocorasick_rs

from . import messages

ReadAt = Callable[[int, int], bytes]

# Markup, script or another format anywhere in the file. Each sign is long enough, with what
# must follow it, that compressed image data, which looks random, holds one by chance about once
# in 10^5 photos of 50 MB (PHP's opening tag, the shortest); the others far less often. Signs
# that only work at the start of a document (a doctype, a stylesheet instruction) are looked for
# at the ends only, and those that need a document around them (an iframe, a javascript: URL)
# are covered by the document's own tags.
_SCRIPT, _PDF, _PHP, _HTML, _SVG = b"<script", b"%pdf-", b"<?php", b"<html", b"<svg"
_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_END = b"PK\x05\x06"
_ZIP_CENTRAL = b"PK\x01\x02"
# The shorter prefixes count only with what must follow them in a real document: a delimiter,
# then within _CONTEXT bytes one of these words (none needed for PHP).
_DELIMITERS = frozenset(b" \t\r\n\f>/")
_CONTEXT = 512
_CONTEXT_WORDS: dict[bytes, tuple[bytes, ...]] = {
    _PHP: (),
    _HTML: (b"<head", b"<body", b"<script", b"<meta", b"<title", b"xmlns", b"<style"),
    _SVG: (b"xmlns", b"<script", b"onload", b"href", b"<foreignobject"),
}
# Shorter signs, only where a browser, a PDF reader or an unzipper looks for them first.
_MARKUP_AT_THE_ENDS = (b"<html", b"<svg", b"<!doctype", b"<iframe", b"javascript:", b"<?xml-stylesheet")
_FORMATS_AT_THE_ENDS = (b"%pdf-", b"pk\x03\x04")
ENDS = 64 * 1024
# A photo holds none of these signs but by rare chance: a file with more near-misses than this
# (a sign without what must follow it, or ZIP signatures to verify) was made to hold them, and
# is refused rather than checked one by one.
_MAX_CANDIDATES = 64


def _every_case(sign: bytes) -> list[bytes]:
    letters = [sorted({bytes([c]).lower(), bytes([c]).upper()}) for c in sign]
    return [b"".join(spelling) for spelling in itertools.product(*letters)]


# Markup signs in every spelling of their case (104 in all; ZIP's are exact): one automaton
# finds them all in one pass, in native code that lets go of the GIL. The pass over 6 MB takes
# 2 ms; the seven bytes.find passes it replaced took 23 ms, holding the GIL from the put beside
# it (measured here on the bench's 12 MP JPEG).
_SIGNS = [
    (spelling, sign.lower()) for sign in (_SCRIPT, _PDF, _PHP, _HTML, _SVG) for spelling in _every_case(sign)
]
_SIGNS += [(_ZIP_LOCAL, _ZIP_LOCAL), (_ZIP_END, _ZIP_END)]
_SIGN_OF = [sign for _spelling, sign in _SIGNS]
_SEARCH = ahocorasick_rs.BytesAhoCorasick([spelling for spelling, _sign in _SIGNS])
# Bytes searched at once. Small, because the automaton returns every match of a window as one
# list: a window crafted to be all signs costs a few MB of tuples at most, then it is refused.
SCAN_WINDOW = 64 * 1024
# Each window reaches this far into the next, so a sign across the boundary is whole in the
# first, with the context that must follow it.
_OVERLAP = _CONTEXT + 16


def second_format(read_at: ReadAt, size: int) -> str | None:
    """Why the file is a polyglot (the reason to give its owner), or None."""
    ends = (read_at(0, min(ENDS, size)).lower(), read_at(max(0, size - ENDS), min(ENDS, size)).lower())
    if _any_in(_MARKUP_AT_THE_ENDS, ends):
        return messages.CARRIES_MARKUP
    if _any_in(_FORMATS_AT_THE_ENDS, ends):
        return messages.CARRIES_FORMAT
    near_misses = 0
    zip_local: list[int] = []
    zip_end: list[int] = []
    for offset in range(0, size, SCAN_WINDOW):
        window = read_at(offset, min(SCAN_WINDOW + _OVERLAP, size - offset))
        for index, start, _end in _SEARCH.find_matches_as_indexes(window, overlapping=True):
            if start >= SCAN_WINDOW:
                continue  # the next window holds it whole
            sign = _SIGN_OF[index]
            if sign == _ZIP_LOCAL or sign == _ZIP_END:
                (zip_local if sign == _ZIP_LOCAL else zip_end).append(offset + start)
                if len(zip_local) + len(zip_end) > _MAX_CANDIDATES:
                    return messages.CARRIES_FORMAT
            elif _is_markup(sign, window, start + len(sign)):
                return messages.CARRIES_MARKUP
            else:
                near_misses += 1
                if near_misses > _MAX_CANDIDATES:
                    return messages.CARRIES_MARKUP
    if any(_is_zip_local_header(read_at, at) for at in zip_local):
        return messages.CARRIES_ARCHIVE
    if any(_is_zip_end(read_at, at) for at in zip_end):
        return messages.CARRIES_ARCHIVE
    return None


def _is_markup(sign: bytes, window: bytes, after: int) -> bool:
    """Whether the sign ending at `after` is followed by what a real document has there."""
    if sign == _SCRIPT:
        return True
    if sign == _PDF:
        return window[after : after + 2] in (b"1.", b"2.")  # "%PDF-1.7"
    if after >= len(window) or window[after] not in _DELIMITERS:
        return False
    words = _CONTEXT_WORDS[sign]
    context = window[after : after + _CONTEXT].lower()
    return not words or any(word in context for word in words)


def _any_in(markers: tuple[bytes, ...], parts: tuple[bytes, ...]) -> bool:
    return any(marker in part for marker in markers for part in parts)


def _is_zip_local_header(read_at: ReadAt, at: int) -> bool:
    """A real local file header: sane version and method, a printable name of sane length."""
    header = read_at(at, 30)
    if len(header) < 30:
        return False
    version, _flags, method = struct.unpack_from("<HHH", header, 4)
    name_length, _extra_length = struct.unpack_from("<HH", header, 26)
    if version > 63 or method not in (0, 8, 9, 12, 14, 93, 95, 98) or not 0 < name_length <= 512:
        return False
    name = read_at(at + 30, name_length)
    return len(name) == name_length and all(32 <= b < 127 for b in name)


def _is_zip_end(read_at: ReadAt, at: int) -> bool:
    """An end-of-central-directory record whose central directory is really there."""
    record = read_at(at, 22)
    if len(record) < 22:
        return False
    entries, directory_size = struct.unpack_from("<HI", record, 10)
    if entries == 0 or not 46 <= directory_size <= at:
        return False
    return read_at(at - directory_size, 4) == _ZIP_CENTRAL


# -- JPEG scans ---------------------------------------------------------------------------

_JPEG_SCAN = b"\xff\xda"  # start-of-scan marker
# Frames whose decoder runs one scan when that scan carries every component: baseline, extended
# sequential (Huffman), extended sequential (arithmetic).
_SEQUENTIAL_FRAMES = frozenset({0xC0, 0xC1, 0xC9})
_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG and DAC share the range
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # markers without a length
_HEADER_WINDOW = 256 * 1024  # where a photo's first scan begins (APP segments come first)
_COUNT_CHUNK = 1024 * 1024


def jpeg_scans(read_at: ReadAt, size: int) -> int:
    """How many scans a JPEG's decoder will run: each is a pass over the whole picture.

    A sequential JPEG whose first scan carries every component (what cameras and phones write)
    is decoded from that one scan: libjpeg decides so from the first scan's header
    (`has_multiple_scans` in jdinput.c) and stops at any further start of scan, so its file need
    not be read for more. Anything else (progressive, one component per scan, a header longer
    than `_HEADER_WINDOW`) counts every start-of-scan marker in the file; inside entropy-coded
    data a 0xFF byte is always stuffed, so none is counted by chance.
    """
    if _single_interleaved_scan(read_at(0, min(size, _HEADER_WINDOW))):
        return 1
    scans = 0
    carry = b""  # a marker split across two chunks
    for offset in range(0, size, _COUNT_CHUNK):
        chunk = read_at(offset, min(_COUNT_CHUNK, size - offset))
        scans += (carry + chunk).count(_JPEG_SCAN)
        carry = chunk[-1:]
    return scans


def _single_interleaved_scan(head: bytes) -> bool:
    """Whether the markers up to the first scan show a sequential frame whose first scan carries
    all its components. False whenever the head does not show it plainly."""
    at = 2  # after the start-of-image marker
    components = 0
    sequential = False
    while at + 4 <= len(head):
        if head[at] != 0xFF:
            return False
        marker = head[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        if marker in _FRAMES and at + 10 <= len(head):
            sequential, components = marker in _SEQUENTIAL_FRAMES, head[at + 9]
        elif marker == 0xDA:
            return sequential and at + 5 <= len(head) and head[at + 4] == components
        at += 2 + int.from_bytes(head[at + 2 : at + 4], "big")
    return False
