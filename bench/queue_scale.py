"""The ingest queue with a million finished jobs: what each worker's periodic queries cost.

A busy service keeps a week of finished jobs (`purge_finished`). The bench writes a million
finished, replied rows into a fresh PostgreSQL catalog, then times the queries a worker makes
on its own: the claim (every poll), the straggler sweep (every tenth idle poll), the backlog
(/readyz and each metrics scrape), and checks that the claim's plan reads an index, never the
table.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import and_, insert, or_, select, text

from bench.stand import log
from bench.table import Row
from storage import db
from storage.ingest_queue import IngestQueue, JobStatus
from storage.models import IngestJobRow, utcnow
from tests.standins.postgres import throwaway_database

FINISHED_JOBS = 1_000_000
CHUNK = 20_000
RUNS = 30


def queue_rows(postgres_admin_url: str, *, finished: int = FINISHED_JOBS) -> list[Row]:
    with throwaway_database(postgres_admin_url, "cloudbox_queue") as url:
        engine = db.make_engine(url)
        try:
            db.upgrade(engine)
            log(f"queue: writing {finished:,} finished jobs")
            _seed(engine, finished)
            return _measure(IngestQueue(engine), engine, finished)
        finally:
            engine.dispose()


def _seed(engine: object, finished: int) -> None:
    now = utcnow()
    for first in range(0, finished, CHUNK):
        rows = [
            {
                "platform": "slack",
                "tenant": "TBENCH",
                "chat_user": f"U{n % 5000}",
                "source_file_id": f"F{n:08d}",
                "file_name": "photo.png",
                "batch": f"TBENCH:D1:{n // 4}",
                "payload": {},
                "status": JobStatus.DONE,
                "attempts": 1,
                "waited_for_link": False,
                "replied_at": now,
                "created_at": now - timedelta(days=3),
                "updated_at": now - timedelta(days=3),
            }
            for n in range(first, min(finished, first + CHUNK))
        ]
        with engine.begin() as connection:  # type: ignore[attr-defined]
            connection.execute(insert(IngestJobRow), rows)
    with engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(text("ANALYZE ingest_jobs"))


def _timed(action: object) -> list[float]:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _measure(queue: IngestQueue, engine: object, finished: int) -> list[Row]:
    lease = timedelta(seconds=30)
    at = f"{finished:,} finished jobs"
    rows = [
        Row.of(f"ingest claim (nothing runnable), {at}", "ms", _timed(lambda: queue.claim(lease=lease))),
        Row.of(
            f"ingest straggler sweep, {at}",
            "ms",
            _timed(lambda: queue.unreported_batches(older_than=lease)),
            note="partial index of unreplied jobs",
        ),
        Row.of(f"ingest backlog (/readyz, /metrics), {at}", "ms", _timed(queue.backlog)),
    ]
    now = utcnow()
    runnable = or_(
        and_(
            IngestJobRow.status == JobStatus.QUEUED,
            or_(IngestJobRow.lease_until.is_(None), IngestJobRow.lease_until <= now),
        ),
        and_(IngestJobRow.status == JobStatus.RUNNING, IngestJobRow.lease_until <= now),
    )
    claim = select(IngestJobRow.id).where(runnable).order_by(IngestJobRow.id).limit(4)
    with engine.connect() as connection:  # type: ignore[attr-defined]
        sql = str(claim.compile(connection, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(line for (line,) in connection.execute(text("EXPLAIN " + sql)))
    indexed = "Seq Scan" not in plan and "Index" in plan
    rows.append(
        Row(
            f"ingest claim query plan, {at}",
            text="index scan" if indexed else "reads the table",
            target="index scan",
            ok=indexed,
            note="EXPLAIN on PostgreSQL",
        )
    )
    return rows
