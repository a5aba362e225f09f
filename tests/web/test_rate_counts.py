"""The rate limiter's in-process counters: right windows, bounded size, no thread per request."""

from __future__ import annotations

import threading
import time

import pytest
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from web_oauth import rate_counts
from web_oauth.rate_counts import ProcessCounters


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_scheme_names_these_counters() -> None:
    assert isinstance(storage_from_string(f"{rate_counts.SCHEME}://"), ProcessCounters)


def test_a_limit_holds_for_its_window_and_opens_again_after_it(clock: Clock) -> None:
    limiter = FixedWindowRateLimiter(ProcessCounters(clock=clock))
    three = RateLimitItemPerMinute(3)
    assert [limiter.hit(three, "addr:1") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(three, "addr:2")  # another visitor has a limit of their own
    clock.now += 59
    assert not limiter.hit(three, "addr:1")
    clock.now += 1  # the minute is over
    assert [limiter.hit(three, "addr:1") for _ in range(4)] == [True, True, True, False]


def test_ended_windows_are_dropped_as_new_ones_come(clock: Clock) -> None:
    counters = ProcessCounters(clock=clock)
    for n in range(1000):
        counters.incr(f"addr:{n}", 60)
    assert len(counters) == 1000
    clock.now += 61
    counters.incr("addr:new", 60)
    assert len(counters) == 1


def test_a_visitor_with_many_addresses_cannot_grow_the_store_past_its_bound(clock: Clock) -> None:
    counters = ProcessCounters(clock=clock)
    counters.max_counters = 100
    counters.incr("addr:victim", 3600)  # an hour-long window, opened first
    for n in range(10_000):
        clock.now += 0.001
        counters.incr(f"addr:{n}", 60)
    assert len(counters) == 100
    assert counters.get("addr:9999") == 1  # the newest are kept
    assert counters.get("addr:victim") == 1  # the minute windows end sooner: they went first


def test_counting_starts_no_thread(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    # limits' memory:// storage starts a timer thread every 10 ms while it is used, and each
    # timer walks every counter (78 ms at 100,000): this storage must do neither.
    counters = ProcessCounters(clock=clock)
    started: list[threading.Thread] = []
    original = threading.Thread.start

    def spy(thread: threading.Thread) -> None:
        started.append(thread)
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", spy)
    began = time.monotonic()
    n = 0
    while time.monotonic() - began < 0.1:  # ten of limits' timer periods, in real time
        clock.now += 0.001
        counters.incr(f"addr:{n}", 60)
        n += 1
    assert started == []
