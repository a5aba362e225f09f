"""Write-behind counting: callers add to a tally and go on; one thread writes the tally in batches.

For counts nobody reads on the request's path (a share link's views): the visitor's redirect no
longer waits for a commit, and a busy link costs the database one UPDATE per batch, not one per
visit. Each count is written once (the tally is taken out before its write, and put back only if
the write fails), and `close()` writes what is left. What a hard crash can lose is the tally of
the last `interval` at most; a write whose commit reached the database but whose answer was lost
(the connection dropped at that moment) is retried and counted twice.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

Key = TypeVar("Key", bound=Hashable)


class Level(Protocol):
    """Where the number of counts not yet written is shown (a Prometheus gauge)."""

    def inc(self, amount: float = 1) -> None: ...

    def dec(self, amount: float = 1) -> None: ...


class WriteBehind(Generic[Key]):
    """`add(key)` counts one; a daemon thread calls `write(tally)` with what was added since.

    The thread starts on the first `add`, writes at most once per `interval` seconds, and retries
    a failed write (its counts kept) after `retry_after` seconds.
    """

    def __init__(
        self,
        write: Callable[[Counter[Key]], None],
        *,
        name: str,
        interval: float = 0.1,
        retry_after: float = 1.0,
        unwritten: Level | None = None,
    ):
        self._write = write
        self._unwritten = unwritten
        self._name = name
        self._interval = interval
        self._retry_after = retry_after
        self._changed = threading.Condition()
        self._tally: Counter[Key] = Counter()  # added, not yet taken by a write
        self._added = 0  # counts added so far
        self._written = 0  # counts in the database (counts are alike: a sum, not a set)
        self._hurry = False  # someone waits in flush(): skip the interval
        self._closing = False
        self._thread: threading.Thread | None = None

    def add(self, key: Key) -> None:
        with self._changed:
            if not self._closing:
                first = not self._tally
                self._tally[key] += 1
                self._added += 1
                if self._unwritten is not None:
                    self._unwritten.inc()
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                    self._thread.start()
                elif first:
                    # The writer waits for a tally only when it has none; waking it costs, and
                    # on a busy link every add would otherwise pay it.
                    self._changed.notify_all()
                return
        self._write(Counter({key: 1}))  # after close(): nobody is left to write it later

    def pending(self) -> int:
        """Counts added but not yet written (observable, for tests and metrics)."""
        with self._changed:
            return self._added - self._written

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything added before this call is written; False on timeout."""
        with self._changed:
            target = self._added
            self._hurry = True
            self._changed.notify_all()
            return self._changed.wait_for(lambda: self._written >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is left and stop the thread (the process is shutting down)."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if lost := self.pending():
            log.error("%s: %d counts could not be written before shutdown", self._name, lost)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._tally or self._closing)
                if not self._tally:
                    return  # closing, and everything is written
                tally, self._tally = self._tally, Counter()
                self._hurry = False
            try:
                self._write(tally)
            except Exception:
                log.warning("%s: writing %d counts failed", self._name, tally.total(), exc_info=True)
                with self._changed:
                    self._tally.update(tally)  # kept for the next try
                    if self._closing:
                        return  # close() reports what is lost rather than hold shutdown
                    self._changed.wait_for(lambda: self._closing, self._retry_after)
                continue
            with self._changed:
                self._written += tally.total()
                if self._unwritten is not None:
                    self._unwritten.dec(tally.total())
                self._changed.notify_all()
                # Let the next batch gather: a busy link costs one UPDATE per interval.
                self._changed.wait_for(lambda: self._closing or self._hurry, self._interval)
