"""What the raw bytes of an upload say, learnt while they are being received.

Two things cannot wait for a decoder: whether a second file format rides along (a polyglot that
a browser or an unzipper would open), and how much work a JPEG's scans will cost. Both are read
from every byte as it arrives, so they cost no extra pass over the file.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import IO

from . import messages

# Markup, script or another format anywhere in the file. Each sign is long enough (seven bytes
# or more, case folded, with what must follow it) that compressed image data, which looks
# random, holds one by chance about once in 10^5 photos of 50 MB (PHP's opening tag, the
# shortest); the others far less often. Every sign costs about 0.4 ms per MB to look for, so
# signs that only work at the start of a document (a doctype, a stylesheet instruction) are
# looked for at the ends only, and those that need a document around them (an iframe, a
# javascript: URL) are covered by the document's own tags.
_ANYWHERE = (b"<script",)
_PDF = b"%pdf-"  # anywhere, when a version follows: "%pdf-1." or "%pdf-2."
# Shorter prefixes count anywhere only with what must follow them in a real document.
_DELIMITERS = frozenset(b" \t\r\n\f>/")
_CONTEXT = 512
# prefix -> words one of which must follow within _CONTEXT bytes (empty: none needed)
_PREFIXED: dict[bytes, tuple[bytes, ...]] = {
    b"<?php": (),
    b"<html": (b"<head", b"<body", b"<script", b"<meta", b"<title", b"xmlns", b"<style"),
    b"<svg": (b"xmlns", b"<script", b"onload", b"href", b"<foreignobject"),
}
# Shorter signs, only where a browser, a PDF reader or an unzipper looks for them first.
_MARKUP_AT_THE_ENDS = (b"<html", b"<svg", b"<!doctype", b"<iframe", b"javascript:", b"<?xml-stylesheet")
_FORMATS_AT_THE_ENDS = (b"%pdf-", b"pk\x03\x04")
ENDS = 64 * 1024
_OVERLAP = _CONTEXT + 8

_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_END = b"PK\x05\x06"
_ZIP_CENTRAL = b"PK\x01\x02"
_JPEG_SCAN = b"\xff\xda"  # start-of-scan marker
_MAX_CANDIDATES = 64  # ZIP signatures to verify; a file with more is refused outright


class ByteScan:
    """Fed every chunk of a file in order; reports what it saw once the file is complete.

    `polyglots=False` only counts JPEG scans (0.9 ms per MB): what must be known before the
    decode. The search for a second format (about 5 ms per MB) can then run beside the decode;
    it does not count scans again.
    """

    def __init__(self, *, polyglots: bool = True) -> None:
        self._polyglots = polyglots
        self.size = 0
        self.jpeg_scans = 0
        self._head = bytearray()
        self._tail = b""
        self._carry = b""  # the previous chunk's last bytes, so markers across chunks are found
        self._markup = False
        self._zip_local: list[int] = []
        self._zip_end: list[int] = []

    def feed(self, chunk: bytes) -> None:
        if len(self._head) < ENDS:
            self._head += chunk[: ENDS - len(self._head)]
        if not self._polyglots:
            # Counting in the window would count a marker twice when it lies in the carried bytes.
            if self._head.startswith(b"\xff\xd8"):  # counted for JPEG only: 0.9 ms per MB
                self.jpeg_scans += (self._carry[-1:] + chunk).count(_JPEG_SCAN)
            self.size += len(chunk)
            self._carry = chunk[-1:]
            return
        window = self._carry + chunk
        start = self.size - len(self._carry)  # file offset of window[0]
        lowered = window.lower()
        if not self._markup:
            self._markup = (
                any(marker in lowered for marker in _ANYWHERE) or _pdf(lowered) or _prefixed_markup(lowered)
            )
        for signature, found in ((_ZIP_LOCAL, self._zip_local), (_ZIP_END, self._zip_end)):
            at = window.find(signature, max(0, len(self._carry) - len(signature) + 1))
            while at != -1 and len(found) <= _MAX_CANDIDATES:
                found.append(start + at)
                at = window.find(signature, at + 1)
        self.size += len(chunk)
        self._carry = window[-_OVERLAP:]
        # Joined only when needed: copying every chunk into the tail was a pass of its own.
        self._tail = chunk[-ENDS:] if len(chunk) >= ENDS else (self._tail + chunk)[-ENDS:]

    def second_format(self, file: IO[bytes]) -> str | None:
        """Why the file is a polyglot, or None. `file` holds the bytes fed, for ZIP records."""
        if not self._polyglots:
            raise RuntimeError("this scan only counted JPEG scans")
        ends = (bytes(self._head).lower(), self._tail.lower())
        if self._markup or _any_in(_MARKUP_AT_THE_ENDS, ends):
            return messages.CARRIES_MARKUP
        if (
            _any_in(_FORMATS_AT_THE_ENDS, ends)
            or len(self._zip_local) > _MAX_CANDIDATES
            or len(self._zip_end) > _MAX_CANDIDATES
        ):
            return messages.CARRIES_FORMAT
        if any(_is_zip_local_header(file, at) for at in self._zip_local) or any(
            _is_zip_end(file, at) for at in self._zip_end
        ):
            return messages.CARRIES_ARCHIVE
        return None


def _pdf(lowered: bytes) -> bool:
    at = lowered.find(_PDF)
    while at != -1:
        if lowered[at + len(_PDF) : at + len(_PDF) + 2] in (b"1.", b"2."):
            return True
        at = lowered.find(_PDF, at + 1)
    return False


def _prefixed_markup(lowered: bytes) -> bool:
    for prefix, words in _PREFIXED.items():
        at = lowered.find(prefix)
        while at != -1:
            after = at + len(prefix)
            if after < len(lowered) and lowered[after] in _DELIMITERS:
                context = lowered[after : after + _CONTEXT]
                if not words or any(word in context for word in words):
                    return True
            at = lowered.find(prefix, after)
    return False


def _any_in(markers: tuple[bytes, ...], parts: tuple[bytes, ...]) -> bool:
    return any(marker in part for marker in markers for part in parts)


def _read_at(file: IO[bytes], offset: int, size: int) -> bytes:
    file.seek(offset)
    return file.read(size)


def _is_zip_local_header(file: IO[bytes], at: int) -> bool:
    """A real local file header: sane version and method, a printable name of sane length."""
    header = _read_at(file, at, 30)
    if len(header) < 30:
        return False
    version, _flags, method = struct.unpack_from("<HHH", header, 4)
    name_length, _extra_length = struct.unpack_from("<HH", header, 26)
    if version > 63 or method not in (0, 8, 9, 12, 14, 93, 95, 98) or not 0 < name_length <= 512:
        return False
    name = file.read(name_length)
    return len(name) == name_length and all(32 <= b < 127 for b in name)


def _is_zip_end(file: IO[bytes], at: int) -> bool:
    """An end-of-central-directory record whose central directory is really there."""
    record = _read_at(file, at, 22)
    if len(record) < 22:
        return False
    entries, directory_size = struct.unpack_from("<HI", record, 10)
    if entries == 0 or not 46 <= directory_size <= at:
        return False
    return _read_at(file, at - directory_size, 4) == _ZIP_CENTRAL


def second_format(read_at: Callable[[int, int], bytes], size: int, *, chunk: int = 1024 * 1024) -> str | None:
    """Scan a whole file through `read_at(offset, length)`: why it is a polyglot, or None.

    Positional reads leave the file's own position alone, so this can run in one thread while
    another decodes the same file.
    """
    scan = ByteScan()
    for offset in range(0, size, chunk):
        scan.feed(read_at(offset, min(chunk, size - offset)))
    return scan.second_format(_Positional(read_at, size))  # type: ignore[arg-type]


class _Positional(io.RawIOBase):
    """seek/read over positional reads, for the ZIP record checks."""

    def __init__(self, read_at: Callable[[int, int], bytes], size: int):
        self._read_at = read_at
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = max(0, offset if whence == io.SEEK_SET else self._pos + offset)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        length = self._size - self._pos if size is None or size < 0 else min(size, self._size - self._pos)
        data = self._read_at(self._pos, max(0, length))
        self._pos += len(data)
        return data
