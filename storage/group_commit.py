"""Group commit: concurrent callers' writes go to the database together, in one transaction.

Whoever finds no write in progress writes everything gathered so far; callers that arrive
meanwhile wait for it and then go in the next write together. Alone, a caller writes at once;
in a burst, a process commits once per handful of callers instead of once per caller, and each
caller still returns only after its own items are committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class SharedWriteFailed(Exception):
    """The write a caller shared with others failed (its cause is the database's error)."""


@dataclass
class _Batch(Generic[Item, Result]):
    items: list[Item] = field(default_factory=list)
    done: bool = False
    result: Result | None = None
    failed: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    """`submit(items)` returns `write(all items of its batch)`, once that write has committed."""

    def __init__(self, write: Callable[[list[Item]], Result], *, failed: type[Exception] = SharedWriteFailed):
        self._write = write
        self._failed = failed
        self._changed = threading.Condition()  # guards _open and _writing
        self._open: _Batch[Item, Result] = _Batch()  # items waiting for the next write
        self._writing = False

    def waiting(self) -> int:
        """Items gathered for the next write (observable, for tests of the grouping)."""
        with self._changed:
            return len(self._open.items)

    def submit(self, items: list[Item]) -> Result:
        with self._changed:
            batch = self._open
            batch.items += items
            while self._writing and not batch.done:
                self._changed.wait()
            if batch.done:  # written by the caller that went first
                if batch.failed is not None:
                    raise self._failed("the shared write failed") from batch.failed
                return batch.result  # type: ignore[return-value]
            self._writing = True
            self._open = _Batch()
        try:
            batch.result = self._write(batch.items)
        except BaseException as exc:
            batch.failed = exc
            raise
        finally:
            with self._changed:
                batch.done = True
                self._writing = False
                self._changed.notify_all()
        return batch.result
