"""A per-process memory budget for decoding images.

Decoding is the one step whose memory an outsider chooses (through the pixel count), and chat
ingestion threads and gallery uploads decode at the same time. Each decode reserves its
estimated cost before it starts; one that does not fit waits, in arrival order, until earlier
ones finish. One that could never fit is refused at once rather than left waiting forever.
"""

from __future__ import annotations

import ctypes
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import Gauge

from . import messages
from .errors import Rejected, StorageUnavailable

MIB = 1024 * 1024

# For /metrics: summed over the live processes of a gunicorn service.
IN_USE = Gauge(
    "cloudbox_decode_budget_bytes_in_use",
    "Decode memory reserved by decodes running now.",
    multiprocess_mode="livesum",
)
WAITING = Gauge(
    "cloudbox_decode_budget_waiting",
    "Decodes waiting for room in the decode memory budget.",
    multiprocess_mode="livesum",
)


class DecodeBudget:
    def __init__(self, capacity_bytes: int, *, wait_timeout: float = 300.0):
        if capacity_bytes <= 0:
            raise ValueError("the decode budget must be positive")
        self.capacity = capacity_bytes
        self._wait_timeout = wait_timeout
        self._in_use = 0
        self._queue: deque[object] = deque()  # tickets of waiting reservations, oldest first
        self._changed = threading.Condition()

    @property
    def in_use(self) -> int:
        with self._changed:
            return self._in_use

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._queue)

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold `nbytes` of the budget for the duration of the block."""
        nbytes = max(1, nbytes)
        if nbytes > self.capacity:
            raise Rejected(messages.too_large_to_process(_mib(nbytes), _mib(self.capacity)))
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            WAITING.inc()
            try:
                # First in, first out: a large decode is not starved by a stream of small ones.
                fits = self._changed.wait_for(
                    lambda: self._queue[0] is ticket and self._in_use + nbytes <= self.capacity,
                    timeout=self._wait_timeout,
                )
            finally:
                self._queue.remove(ticket)
                WAITING.dec()
                self._changed.notify_all()
            if not fits:
                raise StorageUnavailable(messages.BUSY_DECODING)
            self._in_use += nbytes
            IN_USE.inc(nbytes)
        try:
            yield
        finally:
            _return_freed_memory()
            with self._changed:
                self._in_use -= nbytes
                IN_USE.dec(nbytes)
                self._changed.notify_all()


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None  # not glibc: its allocator decides by itself


_malloc_trim = _load_malloc_trim()


def _return_freed_memory() -> None:
    """Hand a finished decode's freed memory back to the system before the next one starts.

    glibc keeps freed blocks in per-thread arenas; with several decoding threads, memory one
    decode freed in one arena is not reused by the next decode in another, and the process
    grows past the budget it was keeping (measured: 636 MiB for a 512 MiB budget).
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


def _mib(n: int) -> str:
    return f"{-(-n // MIB)} MB"
