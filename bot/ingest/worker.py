"""The ingest worker: threads that work off the durable queue, one chat file at a time.

For each job: find the sender's library (or park the file until they link), download through
the platform's `ChatPlatform.fetch`, store through the library, record the outcome, and once
every file of the chat message is finished, answer the message once through the platform.
`drain()` does the same work in the caller, for tests and one-off commands.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta

from bot import metrics
from bot.core import messages
from storage.accounts import Accounts, Identity
from storage.errors import NotFound, Rejected, StorageUnavailable
from storage.ingest_queue import FINISHED, IngestQueue, Job, JobStatus
from storage.library import Library
from storage.model import Image, Owner, Source

from . import retry
from .doorbell import Doorbell
from .platform import ChatPlatform, Outcome

log = logging.getLogger(__name__)

FOREGROUND_PATIENCE = 0.5  # seconds background work waits for in-flight requests, at most


def _no_foreground(_patience: float) -> None:
    return None


class IngestWorker:
    """Threads that work off the queue; `drain()` does the same work in the caller (tests)."""

    def __init__(
        self,
        queue: IngestQueue,
        library: Library,
        accounts: Accounts,
        platforms: Mapping[str, ChatPlatform],
        *,
        doorbell: Doorbell | None = None,
        step_aside: Callable[[float], None] = _no_foreground,
        threads: int = 4,
        lease: timedelta = timedelta(seconds=30),
        poll_seconds: float = 2.0,
        backoff: Callable[[int], timedelta] = retry.backoff,
    ):
        self.queue = queue
        self._library = library
        self._accounts = accounts
        self._platforms = dict(platforms)
        self.doorbell = doorbell or Doorbell()
        # Acknowledging chat events comes first: the web side passes how to wait for a quiet
        # moment between its requests.
        self._step_aside = step_aside
        self._threads_wanted = threads
        self._lease = lease
        self._poll = poll_seconds
        self._backoff = backoff
        self._stopping = False
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        for n in range(self._threads_wanted):
            thread = threading.Thread(target=self._run, name=f"cloudbox-ingest-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self.doorbell.ring()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def wake(self) -> None:
        self.doorbell.ring()

    def release(self, identity: Identity) -> int:
        """After someone links: their waiting files are saved now."""
        count = self.queue.release(identity)
        if count:
            self.wake()
        return count

    def drain(self, timeout: float = 30.0) -> None:
        """Work in this thread until nothing is runnable now (delayed retries stay queued)."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                jobs = self.queue.claim(limit=1, lease=self._lease)
                if not jobs:
                    return
                self.process(jobs[0])
            raise TimeoutError("ingest queue did not drain in time")
        finally:
            timer.cancel()

    def _run(self) -> None:
        ticks = 0
        while not self._stopping:
            seen = self.doorbell.rings()
            # During a burst of chat events, background work waits (a little) so that it does
            # not take the CPU the acks need.
            self._step_aside(FOREGROUND_PATIENCE)
            try:
                jobs = self.queue.claim(limit=1, lease=self._lease)
                if jobs:
                    self.process(jobs[0])
                    continue
                ticks += 1
                if ticks % 10 == 1:
                    self.report_stragglers()
                if ticks % 30 == 0:
                    self.housekeeping()
            except Exception:
                log.exception("ingest worker loop failed; continuing")
            if not self._stopping:
                self.doorbell.wait(seen, self._poll)

    def housekeeping(self) -> None:
        """What an idle worker tidies: files nobody linked for, old jobs, used link requests."""
        self.queue.expire_waiting()
        self.queue.purge_finished()
        self._accounts.purge_link_requests()
        self._accounts.audit.purge(self._library.policy.audit_retention)

    # -- one job --------------------------------------------------------------------------

    def process(self, job: Job) -> None:
        started = time.perf_counter()
        with self._lease_kept(job):
            outcome = self._process(job)
        platform = job.identity.platform
        metrics.JOB_SECONDS.labels(platform, outcome).observe(time.perf_counter() - started)
        if outcome in ("saved", "refused", "gave_up"):
            metrics.JOB_ATTEMPTS.labels(platform).observe(job.attempts)
        if outcome in ("refused", "retried", "gave_up"):
            metrics.FAILURES.labels(platform, outcome).inc()

    @contextmanager
    def _lease_kept(self, job: Job) -> Iterator[None]:
        """Renew the job's lease while it runs, so a slow download is not taken for a dead one.

        Without this a job that outlived its lease (a large file on a slow link) would be
        claimed again by another worker while the first was still writing.
        """
        done = threading.Event()
        every = self._lease.total_seconds() / 3

        def renew() -> None:
            while not done.wait(every):
                try:
                    if not self.queue.renew(job, self._lease):
                        log.warning("job %s: another worker took over its lease", job.id)
                        return
                except Exception as exc:  # the next renewal may get through; the lease has slack
                    log.warning("job %s: could not renew its lease: %s", job.id, type(exc).__name__)

        keeper = threading.Thread(target=renew, name=f"cloudbox-lease-{job.id}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()

    def _process(self, job: Job) -> str:
        """Work one job; what became of it, in a word (for the metrics)."""
        platform = self._platforms.get(job.identity.platform)
        if platform is None:
            self.queue.retry_later(job, timedelta(minutes=1), "no handler for this platform in this process")
            return "elsewhere"
        owner = self._accounts.owner_of(job.identity)
        if owner is None:
            self.queue.park_until_linked(job)
            self._maybe_report(job.batch, platform)
            return "waiting_link"
        outcome = "saved"
        try:
            image, created = self._save(job, owner, platform)
        except Rejected as exc:
            self.queue.finish(job, status=JobStatus.FAILED, result=exc.message)
            outcome = "refused"
        except Exception as exc:  # transient: the download or the bucket failed
            if not self._failed_for_good(job, exc):
                return "retried"
            outcome = "gave_up"
        else:
            status = "created" if created else "existing"
            self.queue.finish(job, status=JobStatus.DONE, result=status, image_id=image.id)
        self._maybe_report(job.batch, platform)
        return outcome

    def _save(self, job: Job, owner: Owner, platform: ChatPlatform) -> tuple[Image, bool]:
        with platform.fetch(job) as stream:
            upload = self._library.upload(
                owner,
                stream,
                filename=job.file_name,
                source=Source(job.identity.platform, job.identity.tenant, job.file_id),
                # This worker holds the job's lease: an unfinished image of the same file is
                # what an earlier attempt (failed, or in a killed process) left behind.
                replace_unfinished=job.attempts > 1,
            )
        if not upload.created:
            self._check_ready(owner, upload.image.id)
        return upload.image, upload.created

    def _failed_for_good(self, job: Job, exc: Exception) -> bool:
        """Retry a transient failure later (False), or give up on the job after enough (True)."""
        if retry.gives_up(job.attempts):
            log.warning("giving up on job %s after %s attempts: %s", job.id, job.attempts, type(exc).__name__)
            self.queue.finish(job, status=JobStatus.FAILED, result=messages.GAVE_UP)
            return True
        if not retry.expected(exc):
            log.warning("job %s attempt %s failed: %s", job.id, job.attempts, type(exc).__name__)
        self.queue.retry_later(job, self._backoff(job.attempts), type(exc).__name__)
        self.wake()
        return False

    def _check_ready(self, owner: Owner, image_id: str) -> None:
        """Only a ready image may be reported as saved; the same bytes may still be on their
        way in through another file (or being deleted): a transient failure, retried."""
        try:
            self._library.get(owner, image_id)
        except NotFound:
            raise StorageUnavailable("the same image is still being saved elsewhere") from None

    # -- replies --------------------------------------------------------------------------

    def report_stragglers(self) -> int:
        """Send the replies a dead process owed: batches finished over a lease ago, unreported.

        A process killed between finishing a batch's last file and claiming its reply leaves
        no job to run that would trigger the reply; without this the person never hears.
        """
        sent = 0
        for batch, platform_name in self.queue.unreported_batches(older_than=self._lease):
            platform = self._platforms.get(platform_name)
            if platform is not None:
                self._maybe_report(batch, platform)
                sent += 1
        return sent

    def _maybe_report(self, batch: str, platform: ChatPlatform) -> None:
        claim = self.queue.take_finished_batch(batch, claim_for=self._lease)
        if claim is None:
            return
        try:
            waiting = [j for j in claim.jobs if j.status == JobStatus.WAITING_LINK]
            if waiting:
                platform.ask_to_link(waiting)
            finished = [j for j in claim.jobs if j.status in FINISHED]
            if finished:
                platform.report(self._outcomes(finished), any(j.waited_for_link for j in finished))
        except Exception:
            # The delivery already waited out rate limits and retried dropped connections;
            # what is left (channel gone, app removed) would fail the same way again.
            log.exception("could not send the report for batch %s", batch)
        self.queue.mark_replied(claim)

    def _outcomes(self, jobs: list[Job]) -> list[Outcome]:
        return [self._outcome(job) for job in jobs]

    def _outcome(self, job: Job) -> Outcome:
        image = None
        owner = self._accounts.owner_of(job.identity)
        if job.status == JobStatus.DONE and job.image_id and owner is not None:
            try:
                image = self._library.get(owner, job.image_id)
            except NotFound:
                image = None
        if image is not None:
            refused = None
        elif job.status == JobStatus.DONE:
            refused = messages.DELETED_MEANWHILE
        elif job.status == JobStatus.EXPIRED:
            refused = messages.NOT_LINKED_IN_TIME
        else:
            refused = job.result
        return Outcome(job, image, refused, created=job.result == "created")
