"""The rate limiter's counters in this process's memory, when no shared store is configured.

limits' own `memory://` storage starts a timer thread every 10 ms while requests come in, and
each timer walks every counter it holds: 0.2 ms at 1,000 counters, 78 ms at 100,000 (one per
visitor address and limit, kept for the limit's window). A visitor with many addresses (an IPv6
block is plenty) could keep a core busy with that walk alone, and even at a few hundred
addresses starting the threads was a sixth of a share-link visit.

Here a counter expires when its window is over, and expired counters are dropped as new ones
arrive, oldest first, so no operation walks the whole store; and the store holds at most
`MAX_COUNTERS`. Flask-Limiter's default strategy (fixed window) is all CloudBox uses.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from limits.storage import Storage

SCHEME = "cloudbox-memory"
# About 25 MB when full. Past it the counter closest to its end is dropped to make room: a
# visitor needs this many addresses at once to lose one limit, and gains one more request.
MAX_COUNTERS = 100_000


@dataclass(slots=True)
class _Window:
    count: int
    ends_at: float


class ProcessCounters(Storage):
    """Fixed-window counters for Flask-Limiter, in memory, with no background thread."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        clock: Callable[[], float] = time.time,
        **options: float | str | bool,
    ):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._now = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        # Per window length, the keys in the order their windows end (a new window of a given
        # length always ends after every open one of that length).
        self._by_end: dict[float, OrderedDict[str, None]] = {}
        self.max_counters = MAX_COUNTERS

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = self._now()
        with self._lock:
            window = self._windows.get(key)
            if window is None or window.ends_at <= now:
                self._drop_ended(now)
                if window is None and len(self._windows) >= self.max_counters:
                    self._drop_soonest_to_end()
                window = self._windows[key] = _Window(0, now + expiry)
                order = self._by_end.setdefault(expiry, OrderedDict())
                order[key] = None
                order.move_to_end(key)
            window.count += amount
            return window.count

    def get(self, key: str) -> int:
        window = self._windows.get(key)
        return window.count if window is not None and window.ends_at > self._now() else 0

    def get_expiry(self, key: str) -> float:
        window = self._windows.get(key)
        now = self._now()
        return window.ends_at if window is not None and window.ends_at > now else now

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count = len(self._windows)
            self._windows.clear()
            self._by_end.clear()
        return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)
            for order in self._by_end.values():
                order.pop(key, None)

    def __len__(self) -> int:
        return len(self._windows)

    def _drop_ended(self, now: float) -> None:
        """Drop the windows that are over; each is looked at once, when it is first in line."""
        for order in self._by_end.values():
            while order:
                key = next(iter(order))
                window = self._windows.get(key)
                if window is not None and window.ends_at > now:
                    break
                order.popitem(last=False)
                if window is not None:
                    del self._windows[key]

    def _drop_soonest_to_end(self) -> None:
        def first_end(order: OrderedDict[str, None]) -> float:
            window = self._windows.get(next(iter(order)))
            return window.ends_at if window is not None else 0.0  # already gone: first to drop

        soonest = min((order for order in self._by_end.values() if order), key=first_end)
        key, _ = soonest.popitem(last=False)
        self._windows.pop(key, None)
