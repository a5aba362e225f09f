"""The fault and crash runs, shared by the tests (which assert) and bench/fault_bench.py (which
prints the figures). Each run uses its own bucket on the given fake-gcs-server and the given
catalog URL (SQLite or PostgreSQL)."""

from __future__ import annotations

import io
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.ingest.platform import Outcome
from bot.ingest.worker import IngestWorker
from bot.slack.file_ref import SlackFileRef
from storage import db
from storage.accounts import Accounts, Identity
from storage.blobstore import BlobStore, GcsBlobStore, UrlSigner, retry_policy
from storage.consistency import ConsistencyCheck
from storage.ingest_queue import FINISHED, IncomingFile, IngestQueue, Job
from storage.library import Library
from storage.model import Owner
from storage.models import ImageRow, IngestJobRow
from storage.services import Services
from storage.settings import Settings
from storage.sql_catalog import SqlCatalog
from tests.standins import images
from tests.standins.faultproxy import FaultPlan, FaultProxy

from .harness import FileHost, WorkerProcess

SENDER = Identity("slack", "T0RESIL", "U0ALICE")
BATCH_SIZE = 4  # files per chat message: one report per batch
WAIT = 60.0  # seconds; only reached when something is broken


@dataclass
class Figures:
    scenario: str
    seed: int
    accepted: int = 0  # files enqueued (acknowledged to the chat platform)
    stored: int = 0  # of those, saved: a ready row whose original and preview exist
    lost: int = 0  # accepted and neither stored nor reported as not saved
    duplicated: int = 0  # extra copies: surplus rows per chat file, or objects no row names
    failed: int = 0  # reported to the person as not saved
    reports: int = 0
    reports_duplicated: int = 0
    seconds: float = 0.0
    listed: int = 0
    consistent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def gcs_client(url: str) -> storage.Client:
    return storage.Client(
        project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": url}
    )


def new_bucket(gcs_url: str) -> str:
    name = f"resilience-{secrets.token_hex(6)}"
    gcs_client(gcs_url).create_bucket(name)
    return name


def incoming(count: int, seed: int) -> tuple[dict[str, bytes], list[IncomingFile]]:
    files = {f"F{seed:04d}{i:04d}": images.png(seed * 1000 + i + 1) for i in range(count)}
    batches = [
        IncomingFile(
            SENDER,
            file_id,
            f"photo-{i}.png",
            f"T0RESIL:D1:{seed}.{i // BATCH_SIZE}",
            SlackFileRef.from_json({}),
        )
        for i, file_id in enumerate(files)
    ]
    return files, batches


def settle(figures: Figures, sessions: sessionmaker[Session], blobs: BlobStore, library: Library) -> None:
    """Count what was kept, against a fault-free view of the bucket."""
    checker = ConsistencyCheck(sessions, blobs, library, grace=timedelta(0))
    report = checker.check()
    names = {o.name for o in blobs.objects("users/")}
    with sessions() as session:
        jobs = session.scalars(select(IngestJobRow)).all()
        ready = {
            r.source_file_id: r
            for r in session.scalars(select(ImageRow).where(ImageRow.status == "ready"))
            if r.object_name in names and r.preview_object_name in names
        }
        per_source = session.execute(
            select(ImageRow.source_file_id, func.count()).group_by(ImageRow.source_file_id)
        ).all()
    figures.stored = sum(1 for j in jobs if j.status == "done" and j.source_file_id in ready)
    figures.failed = sum(1 for j in jobs if j.status == "failed" and j.result)
    figures.lost = figures.accepted - figures.stored - figures.failed
    figures.duplicated = sum(n - 1 for _, n in per_source if n > 1) + len(report.orphan_objects)
    figures.consistent = report.consistent
    figures.extra["check"] = report.summary()


# -- 1. transient storage faults, in process --------------------------------------------------


class MemoryChat:
    """A chat platform whose files are in memory and whose replies are recorded."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.reports: list[list[Outcome]] = []
        self._changed = threading.Condition()

    @contextmanager
    def fetch(self, job: Job) -> Iterator[BinaryIO]:
        yield io.BytesIO(self.files[job.file_id])

    def report(self, outcomes: list[Outcome], linked_now: bool) -> None:
        with self._changed:
            self.reports.append(outcomes)
            self._changed.notify_all()

    def ask_to_link(self, jobs: list[Job]) -> None:
        raise AssertionError("the sender is linked")

    def wait_for_batches(self, count: int, timeout: float) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.reports) >= count, timeout):
                raise TimeoutError(f"{len(self.reports)} of {count} batches were reported")


@dataclass
class Stack:
    """CloudBox's storage and ingest pieces with the bucket behind a fault proxy."""

    proxy: FaultProxy
    sessions: sessionmaker[Session]
    blobs: GcsBlobStore  # through the proxy: what CloudBox uses
    direct: GcsBlobStore  # straight to the emulator: what the checks use
    library: Library
    accounts: Accounts
    worker: IngestWorker
    owner: Owner
    chat: MemoryChat

    def close(self) -> None:
        self.worker.stop()
        self.proxy.stop()
        self.sessions.kw["bind"].dispose()


def build_stack(
    gcs_url: str,
    database_url: str,
    files: dict[str, bytes],
    *,
    plan: FaultPlan,
    threads: int = 4,
    retry_seconds: float = 2.0,
) -> Stack:
    bucket = new_bucket(gcs_url)
    proxy = FaultProxy(gcs_url, plan).start()
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    sessions = db.make_session_factory(engine)
    retry = retry_policy(initial=0.01, maximum=0.1, timeout=retry_seconds)
    blobs = GcsBlobStore(gcs_client(proxy.url), bucket, UrlSigner(None), retry=retry)
    direct = GcsBlobStore(gcs_client(gcs_url), bucket, UrlSigner(None))
    library = Library(SqlCatalog(sessions), blobs)
    accounts = Accounts(sessions)
    owner = accounts.ensure_account("100000000000000000777", "alice@example.com")
    accounts.link(SENDER, owner)
    chat = MemoryChat(files)
    worker = IngestWorker(
        IngestQueue(engine),
        library,
        accounts,
        {"slack": chat},
        threads=threads,
        poll_seconds=0.05,
        backoff=lambda attempt: timedelta(milliseconds=20 * attempt),
    )
    return Stack(proxy, sessions, blobs, direct, library, accounts, worker, owner, chat)


def run_fault_scenario(
    gcs_url: str, database_url: str, *, seed: int, rate: float = 0.3, count: int = 40
) -> Figures:
    files, batch = incoming(count, seed)
    stack = build_stack(gcs_url, database_url, files, plan=FaultPlan(seed=seed, rate=rate))
    figures = Figures(f"{rate:.0%} storage faults", seed)
    try:
        started = time.perf_counter()
        figures.accepted = stack.worker.queue.enqueue(batch)
        stack.worker.start()
        batches = len({f.batch for f in batch})
        stack.chat.wait_for_batches(batches, WAIT)
        figures.seconds = time.perf_counter() - started
        stack.worker.stop()
        reported = Counter(o[0].job.batch for o in stack.chat.reports)
        figures.reports = len(reported)
        figures.reports_duplicated = sum(n - 1 for n in reported.values())
        figures.listed = stack.library.list(stack.owner, per_page=1).total
        figures.extra["requests"] = stack.proxy.log.requests
        figures.extra["faults"] = dict(stack.proxy.log.injected)
        figures.extra["outcomes"] = [o for report in stack.chat.reports for o in report]
        settle(figures, stack.sessions, stack.direct, Library(SqlCatalog(stack.sessions), stack.direct))
    finally:
        stack.close()
    return figures


# -- 2. a worker process SIGKILLed mid-burst ---------------------------------------------------


def _counts(sessions: sessionmaker[Session]) -> Counter[str]:
    with sessions() as session:
        return Counter(
            dict(
                session.execute(select(IngestJobRow.status, func.count()).group_by(IngestJobRow.status)).all()
            )
        )  # type: ignore[arg-type]


def _wait_db(sessions: sessionmaker[Session], condition: Any, timeout: float = WAIT) -> None:
    """Poll the catalog (the event is a row changing in another process) until `condition`."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition(sessions):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the catalog did not reach the expected state: {_counts(sessions)}")
        tick.wait(0.02)


def _all_replied(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        open_jobs = session.scalar(
            select(func.count())
            .select_from(IngestJobRow)
            .where((IngestJobRow.status.not_in(FINISHED)) | IngestJobRow.replied_at.is_(None))
        )
    return open_jobs == 0


def crash_env(gcs_url: str, database_url: str, bucket: str) -> dict[str, str]:
    return {
        "CLOUDBOX_BUCKET": bucket,
        "STORAGE_EMULATOR_HOST": gcs_url,
        "SECRET_KEY": "resilience-" + secrets.token_hex(8),
        "DATABASE_URL": database_url,
        "CLOUDBOX_BASE_URL": "http://127.0.0.1:5000",
        "GOOGLE_APPLICATION_CREDENTIALS": "",
    }


def run_crash_scenario(
    gcs_url: str,
    database_url: str,
    instance: Path,
    *,
    seed: int,
    count: int = 40,
    kill_after: int = 12,
    lease_seconds: int = 2,
) -> Figures:
    env = crash_env(gcs_url, database_url, new_bucket(gcs_url))
    services = Services.build(Settings.from_env(env, dotenv_path=None, instance_path=instance))
    figures = Figures("SIGKILL mid-burst", seed)
    try:
        owner = services.accounts.ensure_account("100000000000000000778", "alice@example.com")
        services.accounts.link(SENDER, owner)
        files, batch = incoming(count, seed)
        sessions = services.sessions
        with FileHost(files, pause=0.03) as host:
            started = time.perf_counter()
            figures.accepted = IngestQueue(services.engine).enqueue(batch)
            first = WorkerProcess(env, files_url=host.url, lease_seconds=lease_seconds).start()
            try:
                _wait_db(sessions, lambda s: _counts(s)["done"] >= kill_after)
            finally:
                first.kill()
            at_kill = _counts(sessions)
            with sessions() as session:
                acknowledged = dict(
                    session.execute(
                        select(IngestJobRow.source_file_id, IngestJobRow.image_id).where(
                            IngestJobRow.status == "done"
                        )
                    ).all()
                )
            with WorkerProcess(env, files_url=host.url, lease_seconds=lease_seconds):
                _wait_db(sessions, _all_replied)
            figures.seconds = time.perf_counter() - started
            reported = host.reported_batches()
            figures.extra["downloads"] = sum(host.downloads.values())
        figures.reports = len(reported)
        figures.reports_duplicated = sum(n - 1 for n in reported.values())
        figures.extra["at_kill"] = dict(at_kill)
        figures.extra["reports_lost"] = len({f.batch for f in batch}) - len(reported)
        # Acknowledged as saved before the kill: still there, same image, bytes present.
        with sessions() as session:
            now_done = dict(
                session.execute(
                    select(IngestJobRow.source_file_id, IngestJobRow.image_id).where(
                        IngestJobRow.status == "done"
                    )
                ).all()
            )
        figures.extra["acknowledged_then_lost"] = sum(
            1 for file_id, image_id in acknowledged.items() if now_done.get(file_id) != image_id
        )
        figures.extra["before_recover"] = (
            ConsistencyCheck(sessions, services.blobs, services.library, grace=timedelta(0)).check().summary()
        )
        figures.extra["recovered"] = services.library.recover(older_than=timedelta(0))
        settle(figures, sessions, services.blobs, services.library)
        figures.lost += figures.extra["acknowledged_then_lost"]
        figures.listed = services.library.list(owner, per_page=1).total
    finally:
        services.close()
    return figures
