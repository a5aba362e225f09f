"""Concurrent enqueues share one transaction; a failed shared write fails every caller in it."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from bot.slack.file_ref import SlackFileRef
from storage.accounts import Identity
from storage.ingest_queue import EnqueueFailed, IncomingFile, IngestQueue
from storage.models import IngestJobRow
from storage.services import Services

ALICE = Identity("slack", "T1", "U1")


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


class HeldInsert:
    """Holds the first INSERT into ingest_jobs until released; counts commits."""

    def __init__(self, services: Services, *, fail_second: bool = False):
        self.engine = services.engine
        self.inserts = 0
        self.commits = 0
        self.first_entered = threading.Event()
        self.release = threading.Event()
        self._fail_second = fail_second

    def before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith("INSERT INTO ingest_jobs"):
            return
        self.inserts += 1
        if self.inserts == 1:
            self.first_entered.set()
            assert self.release.wait(10)
        elif self._fail_second and self.inserts == 2:
            raise OperationalError(statement, {}, ConnectionResetError("the catalog went away"))

    def commit(self, conn: Any) -> None:
        self.commits += 1

    def __enter__(self) -> HeldInsert:
        event.listen(self.engine, "before_cursor_execute", self.before)
        event.listen(self.engine, "commit", self.commit)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self.before)
        event.remove(self.engine, "commit", self.commit)


def files(n: int, prefix: str = "G") -> list[IncomingFile]:
    return [
        IncomingFile(ALICE, f"{prefix}{i}", f"{i}.png", f"T1:D1:{i}.0", SlackFileRef.from_json({}))
        for i in range(n)
    ]


def wait_until_waiting(queue: IngestQueue, rows: int) -> None:
    """Until `rows` rows wait for the next write (the callers are all parked behind the first)."""
    joined = threading.Event()
    for _ in range(1000):
        if queue._inserts.waiting() >= rows:
            joined.set()
        if joined.wait(0.01):
            return
    raise AssertionError("the callers did not join the next write")


def run_together(
    queue: IngestQueue, first: IncomingFile, rest: list[IncomingFile], held: HeldInsert
) -> tuple[Future[int], list[Future[int]]]:
    pool = ThreadPoolExecutor(len(rest) + 1)
    leader = pool.submit(queue.enqueue, [first])
    assert held.first_entered.wait(10)
    followers = [pool.submit(queue.enqueue, [f]) for f in rest]
    wait_until_waiting(queue, len(rest))
    held.release.set()
    pool.shutdown(wait=True)
    return leader, followers


def jobs(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(IngestJobRow)) or 0)


def test_callers_that_arrive_during_a_write_share_the_next_one(services: Services) -> None:
    queue = IngestQueue(services.engine)
    first, *rest = files(20)
    rest.append(rest[0])  # the same file twice at once (a retried event): one job
    with HeldInsert(services) as held:
        leader, followers = run_together(queue, first, rest, held)
    assert leader.result() == 1 and all(f.result() == 1 for f in followers)
    assert (held.inserts, held.commits) == (2, 2)  # the first caller's write, then one for the other 20
    assert jobs(services) == 20
    assert queue.enqueue(files(20)) == 0  # all repeats now


def test_a_failed_shared_write_fails_every_caller_in_it_and_writes_nothing(services: Services) -> None:
    queue = IngestQueue(services.engine)
    first, *rest = files(6)
    with HeldInsert(services, fail_second=True) as held:
        leader, followers = run_together(queue, first, rest, held)
    assert leader.result() == 1
    errors = [f.exception() for f in followers]
    assert all(isinstance(e, (OperationalError, EnqueueFailed)) for e in errors), errors
    assert sum(isinstance(e, OperationalError) for e in errors) == 1  # the caller that wrote
    assert jobs(services) == 1
    assert queue.enqueue(rest) == 5  # Slack delivers them again: now they are written
