"""When a failed job runs again, and when the worker gives up on it."""

from __future__ import annotations

from datetime import timedelta

from storage.errors import StorageError, StorageUnavailable

MAX_ATTEMPTS = 6


def backoff(attempt: int) -> timedelta:
    """The wait before attempt `attempt + 1`: 2, 4, 8… seconds, at most a minute."""
    return timedelta(seconds=min(60, 2**attempt))


def gives_up(attempts: int) -> bool:
    return attempts >= MAX_ATTEMPTS


def expected(exc: BaseException) -> bool:
    """A failure storage already explained (and logged): the worker need not log it again."""
    return isinstance(exc, StorageUnavailable | StorageError)
