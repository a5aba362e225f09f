"""The durable ingest queue: chat files persisted before the event is acknowledged.

A chat adapter turns each file of a message into an `IncomingFile` and calls
`IngestQueue.enqueue` before acknowledging the event. A unique key on (platform, tenant, file id)
makes retried events, the same file arriving through two events, and two instances handling
one event all collapse into one job. Workers (`bot/ingest`) claim jobs with a lease that they
renew while they work, so a job whose process died is picked up again and a slow one is not;
each claim counts an attempt, and (id, attempts) fences a worker whose lease was taken over.
Once all files of a chat message are finished, one worker claims the message's reply: claimed
first, marked sent after sending, so a process that dies mid-send leaves the reply to another.

The queue is platform-neutral: where a file lives and where its reply goes is the adapter's
file reference, stored as the JSON form the adapter gave (`FileRef.to_json`) and read back by
the adapter that made it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Engine, and_, delete, func, or_, select, update

from .accounts import Identity
from .db import make_session_factory, transaction, upsert_insert
from .group_commit import GroupCommit, SharedWriteFailed
from .models import IngestJobRow, utcnow

LINK_WAIT = timedelta(hours=1)  # how long files from someone not yet linked are kept


class JobStatus(StrEnum):
    """Where a job stands; the values are what the `ingest_jobs.status` column holds."""

    QUEUED = "queued"
    RUNNING = "running"
    WAITING_LINK = "waiting_link"  # its sender has not linked a Google account yet
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # its sender did not link within LINK_WAIT


RUNNABLE = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.EXPIRED)


class FileRef(Protocol):
    """A platform's reference to one file and to where its reply goes (frozen, typed)."""

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class IncomingFile:
    identity: Identity
    file_id: str
    file_name: str
    batch: str
    ref: FileRef


@dataclass(frozen=True)
class Job:
    id: int
    identity: Identity
    file_id: str
    file_name: str
    batch: str
    ref: Mapping[str, Any]  # the adapter's FileRef, in its JSON form
    status: JobStatus
    attempts: int
    result: str | None
    image_id: str | None
    waited_for_link: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: IngestJobRow) -> Job:
        return cls(
            id=row.id,
            identity=Identity(row.platform, row.tenant, row.chat_user),
            file_id=row.source_file_id,
            file_name=row.file_name,
            batch=row.batch,
            ref=dict(row.payload or {}),
            status=JobStatus(row.status),
            attempts=row.attempts,
            result=row.result,
            image_id=row.image_id,
            waited_for_link=row.waited_for_link,
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class Backlog:
    """Jobs not finished yet, by status, and how long the oldest runnable one has waited."""

    counts: dict[JobStatus, int]
    oldest_seconds: float | None

    @property
    def unfinished(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ReplyClaim:
    """The right to send one batch's reply (for these jobs), until `until`."""

    until: datetime
    jobs: list[Job]


class EnqueueFailed(SharedWriteFailed):
    """The write this enqueue shared with others failed (its cause is the database's error)."""


class IngestQueue:
    """The ingest_jobs table: enqueue, claim with a lease, finish, and batch bookkeeping."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow):
        self._engine = engine
        self._sessions = make_session_factory(engine)
        self._now = clock
        # Concurrent enqueues share one transaction (see group_commit).
        self._inserts = GroupCommit(self._write, failed=EnqueueFailed)

    def enqueue(self, files: list[IncomingFile]) -> int:
        """Persist files to ingest; returns how many were new (repeats are ignored).

        This runs before every chat event is acknowledged, so its cost is the ack's cost.
        Concurrent callers share one transaction (group commit): in a burst, a process commits
        once per handful of events instead of once per event (100 concurrent Slack events on a
        2-core machine: ack p99 73-94 ms instead of 140-216 ms; README).
        """
        if not files:
            return 0
        now = self._now()
        rows = [_job_values(f, now) for f in files]
        new_keys = self._inserts.submit(rows)
        return sum(1 for r in rows if (r["platform"], r["tenant"], r["source_file_id"]) in new_keys)

    def _write(self, rows: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        """Insert `rows`, skipping repeats; the keys of the rows that were new."""
        statement = self._insert_ignoring_repeats(self._engine.dialect.name)
        # Core, not the ORM, and one prebuilt statement. Several rows: one executemany, batched
        # into multi-row INSERTs. One row (a quiet moment): a plain execute, which skips the
        # batching machinery. RETURNING yields the new rows only.
        with self._engine.begin() as connection:
            result = connection.execute(statement, rows[0] if len(rows) == 1 else rows)
            return {(r.platform, r.tenant, r.source_file_id) for r in result}

    @staticmethod
    @functools.cache
    def _insert_ignoring_repeats(dialect: str) -> Any:
        insert = upsert_insert(dialect)
        return (
            insert(IngestJobRow)
            .on_conflict_do_nothing(index_elements=["platform", "tenant", "source_file_id"])
            .returning(IngestJobRow.platform, IngestJobRow.tenant, IngestJobRow.source_file_id)
        )

    def claim(self, *, limit: int = 1, lease: timedelta = timedelta(minutes=5)) -> list[Job]:
        """Take runnable jobs: queued ones that are due, and running ones whose lease lapsed."""
        now = self._now()
        runnable = or_(
            and_(
                IngestJobRow.status == JobStatus.QUEUED,
                or_(IngestJobRow.lease_until.is_(None), IngestJobRow.lease_until <= now),
            ),
            and_(IngestJobRow.status == JobStatus.RUNNING, IngestJobRow.lease_until <= now),
        )
        with self._sessions() as session:
            candidates = session.scalars(
                select(IngestJobRow.id).where(runnable).order_by(IngestJobRow.id).limit(limit * 4)
            ).all()
        claimed: list[Job] = []
        for job_id in candidates:
            if len(claimed) >= limit:
                break
            # Compare-and-set: of several workers (threads or processes) exactly one wins.
            with transaction(self._sessions) as session:
                won = session.execute(
                    update(IngestJobRow)
                    .where(IngestJobRow.id == job_id, runnable)
                    .values(
                        status=JobStatus.RUNNING,
                        lease_until=now + lease,
                        attempts=IngestJobRow.attempts + 1,
                        updated_at=now,
                    )
                ).rowcount  # type: ignore[attr-defined]
                if won:
                    claimed.append(Job.from_row(session.get_one(IngestJobRow, job_id)))
        return claimed

    def renew(self, job: Job, lease: timedelta) -> bool:
        """Extend the lease of a job this worker is running; False when it is no longer ours."""
        now = self._now()
        return bool(self._update(_held(job), lease_until=now + lease, updated_at=now))

    def finish(
        self, job: Job, *, status: JobStatus, result: str | None = None, image_id: str | None = None
    ) -> None:
        self._update(
            _held(job),
            status=status,
            result=result,
            image_id=image_id,
            lease_until=None,
            updated_at=self._now(),
        )

    def retry_later(self, job: Job, delay: timedelta, reason: str) -> None:
        now = self._now()
        self._update(
            _held(job), status=JobStatus.QUEUED, lease_until=now + delay, result=reason, updated_at=now
        )

    def park_until_linked(self, job: Job) -> None:
        self._update(
            _held(job),
            status=JobStatus.WAITING_LINK,
            waited_for_link=True,
            lease_until=None,
            updated_at=self._now(),
        )

    def release(self, identity: Identity) -> int:
        """Requeue the files someone sent in the last hour before linking."""
        now = self._now()
        return self._update(
            IngestJobRow.platform == identity.platform,
            IngestJobRow.tenant == identity.tenant,
            IngestJobRow.chat_user == identity.chat_user,
            IngestJobRow.status == JobStatus.WAITING_LINK,
            IngestJobRow.created_at > now - LINK_WAIT,
            status=JobStatus.QUEUED,
            replied_at=None,
            reply_claimed_until=None,
            lease_until=None,
            updated_at=now,
        )

    def expire_waiting(self) -> int:
        """Give up on files whose sender did not link within the hour."""
        return self._update(
            IngestJobRow.status == JobStatus.WAITING_LINK,
            IngestJobRow.created_at <= self._now() - LINK_WAIT,
            status=JobStatus.EXPIRED,
            result=None,
        )

    def _update(self, *where: Any, **values: Any) -> int:
        """One UPDATE of the jobs matching `where`, in its own transaction; how many it changed."""
        with transaction(self._sessions) as session:
            changed = session.execute(update(IngestJobRow).where(*where).values(**values))
            return int(changed.rowcount)  # type: ignore[attr-defined]

    def take_finished_batch(self, batch: str, *, claim_for: timedelta) -> ReplyClaim | None:
        """Claim the reply of a batch none of whose jobs is still runnable; None if not ours.

        The claim lasts `claim_for`. Once the reply is sent, `mark_replied` makes it final; a
        claim that runs out unsent (its process died mid-send) is taken again by a straggler
        sweep. So a reply is lost only if nothing ever sends it, and sent twice only if a process
        dies between Slack's answer and the commit that follows it.
        """
        now = self._now()
        unclaimed = and_(
            IngestJobRow.batch == batch,
            IngestJobRow.replied_at.is_(None),
            or_(IngestJobRow.reply_claimed_until.is_(None), IngestJobRow.reply_claimed_until <= now),
        )
        with transaction(self._sessions) as session:
            # Every finished file asks; only the last one may load the batch. Loading it on each
            # ask made a message with n files cost n² rows.
            busy = session.scalar(
                select(IngestJobRow.id)
                .where(IngestJobRow.batch == batch, IngestJobRow.status.in_(RUNNABLE))
                .limit(1)
            )
            if busy is not None:
                return None
            until = now + claim_for
            # Compare-and-set with RETURNING: exactly the rows this caller claimed.
            claimed = session.scalars(
                update(IngestJobRow)
                .where(unclaimed, IngestJobRow.status.not_in(RUNNABLE))
                .values(reply_claimed_until=until, updated_at=now)
                .returning(IngestJobRow.id)
            ).all()
            if not claimed:
                return None
            rows = session.scalars(
                select(IngestJobRow).where(IngestJobRow.id.in_(claimed)).order_by(IngestJobRow.id)
            ).all()
            return ReplyClaim(until, [Job.from_row(r) for r in rows])

    def mark_replied(self, claim: ReplyClaim) -> None:
        """The claimed reply was sent (or given up on): it is not sent again."""
        with transaction(self._sessions) as session:
            session.execute(
                update(IngestJobRow)
                .where(
                    IngestJobRow.id.in_([job.id for job in claim.jobs]),
                    # Released meanwhile (the sender linked): that file gets a reply of its own.
                    IngestJobRow.reply_claimed_until == claim.until,
                )
                .values(replied_at=self._now(), reply_claimed_until=None, updated_at=self._now())
            )

    def unreported_batches(self, *, older_than: timedelta) -> list[tuple[str, str]]:
        """(batch, platform) of batches with no runnable job, unreplied, untouched for a while."""
        cutoff = self._now() - older_than
        busy = select(IngestJobRow.batch).where(IngestJobRow.status.in_(RUNNABLE))
        with self._sessions() as session:
            rows = session.execute(
                select(IngestJobRow.batch, IngestJobRow.platform)
                .where(
                    IngestJobRow.replied_at.is_(None),
                    or_(
                        IngestJobRow.reply_claimed_until.is_(None),
                        IngestJobRow.reply_claimed_until <= self._now(),
                    ),
                    IngestJobRow.status.in_((*FINISHED, JobStatus.WAITING_LINK)),
                    IngestJobRow.updated_at <= cutoff,
                    IngestJobRow.batch.not_in(busy),
                )
                .distinct()
                .limit(100)
            ).all()
        return [(batch, platform) for batch, platform in rows]

    def backlog(self) -> Backlog:
        """What is waiting: read on the (status, lease_until) index, so finished jobs cost nothing."""
        unfinished = (*RUNNABLE, JobStatus.WAITING_LINK)
        with self._sessions() as session:
            rows = session.execute(
                select(IngestJobRow.status, func.count(), func.min(IngestJobRow.created_at))
                .where(IngestJobRow.status.in_(unfinished))
                .group_by(IngestJobRow.status)
            ).all()
        counts = {status: 0 for status in unfinished}
        oldest: datetime | None = None
        for status, count, created in rows:
            counts[JobStatus(status)] = count
            if JobStatus(status) in RUNNABLE and created is not None:
                created = _aware(created)
                oldest = created if oldest is None else min(oldest, created)
        waited = (self._now() - oldest).total_seconds() if oldest is not None else None
        return Backlog(counts, waited)

    def get(self, job_id: int) -> Job:
        with self._sessions() as session:
            return Job.from_row(session.get_one(IngestJobRow, job_id))

    def jobs(self, *, batch: str | None = None) -> list[Job]:
        with self._sessions() as session:
            query = select(IngestJobRow).order_by(IngestJobRow.id)
            if batch is not None:
                query = query.where(IngestJobRow.batch == batch)
            return [Job.from_row(r) for r in session.scalars(query)]

    def purge_finished(self, older_than: timedelta = timedelta(days=7)) -> int:
        with transaction(self._sessions) as session:
            return int(
                session.execute(
                    delete(IngestJobRow).where(
                        IngestJobRow.status.in_(FINISHED), IngestJobRow.updated_at < self._now() - older_than
                    )
                ).rowcount  # type: ignore[attr-defined]
            )


def _held(job: Job) -> Any:
    """While the claim that produced `job` still holds its row.

    Each claim counts an attempt, so (id, attempts) fences off a worker whose lease lapsed and
    was taken by another: its late outcome changes nothing.
    """
    return and_(
        IngestJobRow.id == job.id,
        IngestJobRow.attempts == job.attempts,
        IngestJobRow.status == JobStatus.RUNNING,
    )


def _job_values(f: IncomingFile, now: datetime) -> dict[str, Any]:
    return {
        "platform": f.identity.platform,
        "tenant": f.identity.tenant,
        "chat_user": f.identity.chat_user,
        "source_file_id": f.file_id,
        "file_name": f.file_name[:255],
        "batch": f.batch[:255],
        "payload": f.ref.to_json(),
        "status": JobStatus.QUEUED,
        "attempts": 0,
        "waited_for_link": False,
        "created_at": now,
        "updated_at": now,
    }


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
