"""Web requests in flight in this process, so background ingestion can step aside for them.

`CountingRequests` (WSGI middleware) marks each request as foreground work while the app
handles it; the ingest worker calls `Foreground.wait_idle` before it takes a job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Foreground:
    """Counts requests in flight in this process, so background work can step aside for them.

    Background work waits until no request is in flight *and* none has ended for `quiet`
    seconds: between two requests of a burst (the next one is still being accepted) the count
    touches zero, and a job started then would hold the GIL while the burst goes on.
    """

    def __init__(self, *, quiet: float = 0.05, clock: Callable[[], float] = time.monotonic) -> None:
        self._in_flight = 0
        self._last_ended = float("-inf")
        self._quiet = quiet
        self._clock = clock
        self._changed = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._changed:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._last_ended = self._clock()
                if self._in_flight == 0:
                    self._changed.notify_all()

    def wait_idle(self, timeout: float) -> None:
        """Until requests have been quiet for a moment, or `timeout` seconds at most."""
        deadline = self._clock() + timeout
        with self._changed:
            while (now := self._clock()) < deadline:
                if self._in_flight == 0:
                    quiet_for = now - self._last_ended
                    if quiet_for >= self._quiet:
                        return
                    self._changed.wait(min(self._quiet - quiet_for, deadline - now))
                else:
                    self._changed.wait(deadline - now)


class CountingRequests:
    """WSGI middleware: marks each request as foreground work while the app handles it."""

    def __init__(self, wsgi_app: Any, foreground: Foreground):
        self._wsgi_app = wsgi_app
        self._foreground = foreground

    def __call__(self, environ: Any, start_response: Any) -> Any:
        with self._foreground.request():
            return self._wsgi_app(environ, start_response)
