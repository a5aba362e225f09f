"""The decode memory budget: reservations that fit run at once, the rest wait their turn."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage.decode_budget import DecodeBudget
from storage.errors import Rejected, StorageUnavailable


def wait_for_waiting(budget: DecodeBudget, count: int) -> None:
    arrived = threading.Event()
    for _ in range(1000):
        if budget.waiting >= count:
            arrived.set()
        if arrived.wait(0.005):
            return
    raise AssertionError(f"{count} reservations never started waiting")


def test_reservations_that_fit_run_together() -> None:
    budget = DecodeBudget(100)
    with budget.reserve(40), budget.reserve(60):
        assert budget.in_use == 100
    assert budget.in_use == 0


def test_a_reservation_past_the_budget_waits_until_memory_is_released() -> None:
    budget = DecodeBudget(100)
    release = threading.Event()
    entered: list[str] = []

    holding = threading.Event()

    def decode(name: str, size: int, hold: threading.Event | None = None) -> None:
        with budget.reserve(size):
            entered.append(name)
            if hold is not None:
                holding.set()
                assert hold.wait(10)

    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(decode, "first", 70, release)
        assert holding.wait(10)
        second = pool.submit(decode, "second", 50)
        wait_for_waiting(budget, 1)
        third = pool.submit(decode, "third", 10)  # fits now, but must not overtake the second
        wait_for_waiting(budget, 2)
        assert entered == ["first"] and budget.in_use == 70
        release.set()
        for future in (first, second, third):
            future.result(timeout=10)
    assert entered == ["first", "second", "third"]
    assert budget.in_use == 0 and budget.waiting == 0


def test_a_reservation_that_could_never_fit_is_refused_at_once() -> None:
    budget = DecodeBudget(100 * 1024 * 1024)
    with pytest.raises(Rejected, match="needs about 201 MB of memory, more than the 100 MB"):
        with budget.reserve(200 * 1024 * 1024 + 1):
            pass
    assert budget.in_use == 0 and budget.waiting == 0


def test_a_wait_that_times_out_says_the_server_is_busy() -> None:
    budget = DecodeBudget(100, wait_timeout=0.05)
    with budget.reserve(80):
        with pytest.raises(StorageUnavailable, match="busy"):
            with budget.reserve(30):
                pass
    assert budget.in_use == 0 and budget.waiting == 0


def test_memory_is_returned_when_the_decode_fails() -> None:
    budget = DecodeBudget(100)
    with pytest.raises(ValueError):
        with budget.reserve(90):
            raise ValueError("damaged")
    assert budget.in_use == 0
