"""Write-behind counts: callers never wait, every count is written once, none is lost on close."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage.write_behind import WriteBehind

WAIT = 10.0


class Ledger:
    """A writer that keeps what it was given; it can hold its first write or fail some."""

    def __init__(self, *, hold_first: bool = False, failures: int = 0):
        self.total: Counter[str] = Counter()
        self.writes: list[Counter[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.failures = failures
        self.failed = threading.Event()

    def write(self, tally: Counter[str]) -> None:
        self.entered.set()
        assert self.release.wait(WAIT)
        if self.failures:
            self.failures -= 1
            self.failed.set()
            raise ConnectionError("the database went away")
        self.writes.append(Counter(tally))
        self.total.update(tally)


def test_concurrent_adds_are_each_written_once() -> None:
    ledger = Ledger()
    views = WriteBehind(ledger.write, name="test-views", interval=0.001)

    def visitor(n: int) -> None:
        for _ in range(50):
            views.add(f"link-{n % 4}")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(visitor, range(16)))
    assert views.flush(WAIT)
    assert ledger.total == Counter({f"link-{n}": 200 for n in range(4)})
    assert views.pending() == 0
    views.close()


class Level:
    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1) -> None:
        self.value += amount

    def dec(self, amount: float = 1) -> None:
        self.value -= amount


def test_adds_during_a_write_go_together_in_the_next_one() -> None:
    ledger = Ledger(hold_first=True)
    unwritten = Level()
    views = WriteBehind(ledger.write, name="test-views", interval=0.001, unwritten=unwritten)
    views.add("a")
    assert ledger.entered.wait(WAIT)  # the first write has begun, and is held
    for _ in range(99):
        views.add("a")  # returns at once: nobody waits for the database
    assert views.pending() == 100 and unwritten.value == 100  # what an operator sees
    ledger.release.set()
    assert views.flush(WAIT)
    assert ledger.writes == [Counter(a=1), Counter(a=99)] and unwritten.value == 0


def test_a_failed_write_is_tried_again_with_its_counts_and_nothing_is_counted_twice() -> None:
    ledger = Ledger(failures=2)
    views = WriteBehind(ledger.write, name="test-views", retry_after=0.001)
    for key in "aab":
        views.add(key)
    assert views.flush(WAIT)
    assert ledger.failures == 0 and ledger.total == Counter(a=2, b=1)
    views.close()


def test_close_writes_what_is_left_at_once_and_later_adds_are_written_directly() -> None:
    ledger = Ledger()
    views = WriteBehind(ledger.write, name="test-views", interval=3600)  # the interval never passes
    views.add("a")
    assert views.flush(WAIT)
    views.add("a")  # waits out the hour-long interval, unless close() ends it
    views.close(timeout=WAIT)
    assert ledger.total == Counter(a=2) and views.pending() == 0
    views.add("b")
    assert ledger.total == Counter(a=2, b=1)


def test_counts_that_cannot_be_written_at_shutdown_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    ledger = Ledger(hold_first=True, failures=2)  # fails before close() and, if tried, after
    views = WriteBehind(ledger.write, name="test-views", retry_after=3600)
    views.add("a")
    assert ledger.entered.wait(WAIT)
    closing = threading.Thread(target=views.close, kwargs={"timeout": WAIT})
    closing.start()
    ledger.release.set()  # the write fails while closing: no retry holds up shutdown
    closing.join(WAIT)
    assert not closing.is_alive() and ledger.failed.is_set()
    assert views.pending() == 1
    assert "1 counts could not be written before shutdown" in caplog.text
