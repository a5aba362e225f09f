"""The command core and the ingest worker over the real library (fake-gcs-server, SQLite/PG)."""

import io
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.core.commands import Actor
from bot.ingest.worker import IngestWorker
from bot.slack.file_ref import SlackFileRef
from storage.accounts import Identity
from storage.errors import Rejected
from storage.ingest_queue import IncomingFile, IngestQueue
from tests.standins import images

ALICE = Identity("slack", "T1", "U1")
NO_REF = SlackFileRef.from_json({})  # where the file lives does not matter to these tests


@pytest.fixture
def linked(services):
    owner = services.accounts.ensure_account("2001", "alice@example.com")
    services.accounts.link(ALICE, owner)
    return owner


def test_unlinked_person_gets_a_link_button(chat):
    reply = chat.core.handle(Actor(ALICE), "list")
    assert reply.buttons and reply.buttons[0].url.startswith("http://127.0.0.1:5000/link/")


def test_list_share_delete_through_the_core(chat, services, linked):
    image = services.library.upload(linked, io.BytesIO(images.png(5)), filename="cat.png").image
    listing = chat.core.handle(Actor(ALICE), "list")
    assert [i.image.id for i in listing.items] == [image.id]
    assert {b.command for b in listing.items[0].buttons} == {f"share {image.id}", f"delete {image.id}"}

    shared = chat.core.handle(Actor(ALICE, "Alice"), "share cat.png for 2 hours")
    assert shared.public and "/s/" in shared.text and "*Alice*" in shared.text

    ask = chat.core.handle(Actor(ALICE), f"delete {image.id}")
    assert ask.buttons[0].style == "danger" and ask.buttons[0].command == f"delete {image.id} confirm"
    assert services.library.list(linked).total == 1
    done = chat.core.handle(Actor(ALICE), ask.buttons[0].command)
    assert "Deleted" in done.text and services.library.list(linked).total == 0


def test_unknown_image_is_a_private_explanation(chat, linked):
    reply = chat.core.handle(Actor(ALICE), "share nosuchimage")
    assert not reply.public and "no image called" in reply.text


class Recorder:
    def __init__(self, files):
        self.files, self.reports, self.asked = files, [], []

    @contextmanager
    def fetch(self, job):
        data = self.files[job.file_id]
        if isinstance(data, Exception):
            raise data
        yield io.BytesIO(data)

    def report(self, outcomes, linked_now):
        self.reports.append((outcomes, linked_now))

    def ask_to_link(self, jobs):
        self.asked.append(jobs)


def _with_recorder(ingest, services, files, **options):
    """A worker on the app's queue whose Slack platform is a Recorder serving `files`."""
    recorder = Recorder(files)
    worker = IngestWorker(ingest.queue, services.library, services.accounts, {"slack": recorder}, **options)
    return worker, recorder


def test_repeated_enqueue_saves_once_and_reports_once(ingest, services, linked):
    ingest, recorder = _with_recorder(ingest, services, {"F1": images.png(1), "F2": images.pdf()})
    files = [
        IncomingFile(ALICE, "F1", "a.png", "T1:D1:1.0", NO_REF),
        IncomingFile(ALICE, "F2", "b.png", "T1:D1:1.0", NO_REF),
    ]
    assert ingest.queue.enqueue(files) == 2
    assert ingest.queue.enqueue(files) == 0  # a retried event
    ingest.drain()
    assert services.library.list(linked).total == 1
    assert len(recorder.reports) == 1
    outcomes, linked_now = recorder.reports[0]
    assert [o.image is not None for o in outcomes] == [True, False]
    assert "PDF" in outcomes[1].refused and not linked_now


def test_files_from_unlinked_sender_wait_and_are_saved_after_linking(ingest, services):
    ingest, recorder = _with_recorder(ingest, services, {"F9": images.jpeg(9)})
    ingest.queue.enqueue([IncomingFile(ALICE, "F9", "x.jpg", "T1:D1:2.0", NO_REF)])
    ingest.drain()
    assert len(recorder.asked) == 1 and not recorder.reports
    owner = services.accounts.ensure_account("2002", "a2@example.com")
    services.accounts.link(ALICE, owner)
    assert ingest.release(ALICE) == 1
    ingest.drain()
    ((outcomes, linked_now),) = recorder.reports
    assert linked_now and outcomes[0].image is not None
    assert services.library.list(owner).total == 1


def test_transient_failures_are_retried_then_reported(ingest, services, linked):
    ingest, recorder = _with_recorder(
        ingest, services, {"F3": ConnectionError("reset")}, backoff=lambda attempt: timedelta(0)
    )
    ingest.queue.enqueue([IncomingFile(ALICE, "F3", "c.png", "b3", NO_REF)])
    ingest.drain()
    ((outcomes, _),) = recorder.reports
    assert "could not be saved" in outcomes[0].refused
    assert ingest.queue.jobs()[0].attempts == 6


def test_permanent_refusal_from_fetcher(ingest, services, linked):
    ingest, recorder = _with_recorder(
        ingest, services, {"F4": Rejected("is a Google Drive file; send it as an upload")}
    )
    ingest.queue.enqueue([IncomingFile(ALICE, "F4", "d.png", "b4", NO_REF)])
    ingest.drain()
    ((outcomes, _),) = recorder.reports
    assert "Drive" in outcomes[0].refused


def test_housekeeping_expires_unlinked_files_and_purges_old_jobs(ingest, services):
    from datetime import timedelta

    from sqlalchemy import update

    from storage.db import transaction
    from storage.models import IngestJobRow, utcnow

    ingest, recorder = _with_recorder(ingest, services, {"F7": images.png(7), "F8": images.png(8)})
    ingest.queue.enqueue(
        [
            IncomingFile(ALICE, "F7", "old.png", "b7", NO_REF),
            IncomingFile(ALICE, "F8", "older.png", "b8", NO_REF),
        ]
    )
    ingest.drain()  # ALICE is not linked: both wait
    assert [j.status for j in ingest.queue.jobs()] == ["waiting_link", "waiting_link"]
    long_ago = utcnow() - timedelta(days=8)
    with transaction(services.sessions) as session:
        session.execute(
            update(IngestJobRow)
            .where(IngestJobRow.file_name == "old.png")
            .values(created_at=utcnow() - timedelta(hours=2))
        )
        session.execute(
            update(IngestJobRow)
            .where(IngestJobRow.file_name == "older.png")
            .values(status="done", created_at=long_ago, updated_at=long_ago)
        )
    ingest.housekeeping()
    assert [(j.file_name, j.status) for j in ingest.queue.jobs()] == [("old.png", "expired")]
    assert len(recorder.asked) == 2


def test_a_job_that_outlives_its_lease_keeps_it_while_it_runs(services, linked):
    lease = timedelta(seconds=1.5)  # renewed every 0.5 s
    queue = IngestQueue(services.engine)
    renewals, renewed_past_the_first_lease = [], threading.Event()
    real_renew = queue.renew

    def counting_renew(job, lease):
        renewals.append(real_renew(job, lease))
        if len(renewals) >= 4:  # 2 s in: the lease of the claim itself ran out 0.5 s ago
            renewed_past_the_first_lease.set()
        return renewals[-1]

    queue.renew = counting_renew
    fetching, release = threading.Event(), threading.Event()

    @contextmanager
    def slow_fetch(job):
        fetching.set()
        release.wait(30)
        yield io.BytesIO(images.png(7))

    platform = SimpleNamespace(fetch=slow_fetch, report=lambda *_: None, ask_to_link=lambda *_: None)
    worker = IngestWorker(queue, services.library, services.accounts, {"slack": platform}, lease=lease)
    queue.enqueue([IncomingFile(ALICE, "F9", "slow.png", "T1:D1:9.0", NO_REF)])
    (job,) = queue.claim(lease=lease)
    running = threading.Thread(target=worker.process, args=(job,))
    running.start()
    try:
        assert fetching.wait(10)
        assert renewed_past_the_first_lease.wait(10)
        assert queue.claim(lease=lease) == []  # still held: nobody else starts it again
    finally:
        release.set()
        running.join(10)
    assert queue.get(job.id).status == "done"
    assert all(renewals)


def test_a_worker_whose_lease_was_taken_over_cannot_finish_the_job(services):
    now = [datetime(2026, 11, 26, 12, 0, tzinfo=UTC)]
    queue = IngestQueue(services.engine, clock=lambda: now[0])
    queue.enqueue([IncomingFile(ALICE, "F10", "a.png", "T1:D1:10.0", NO_REF)])
    (first,) = queue.claim(lease=timedelta(minutes=5))
    now[0] += timedelta(minutes=6)  # the first worker stalled past its lease
    (second,) = queue.claim(lease=timedelta(minutes=5))
    assert (first.id, second.attempts) == (second.id, first.attempts + 1)

    assert not queue.renew(first, timedelta(minutes=5))
    queue.finish(first, status="failed", result="late")  # the stalled worker wakes up
    assert queue.get(first.id).status == "running"
    queue.finish(second, status="done", result="created")
    assert (queue.get(first.id).status, queue.get(first.id).result) == ("done", "created")


def test_a_reply_claimed_by_a_dead_process_is_sent_again_once_its_claim_runs_out(services):
    now = [datetime(2026, 11, 26, 12, 0, tzinfo=UTC)]
    queue = IngestQueue(services.engine, clock=lambda: now[0])
    queue.enqueue([IncomingFile(ALICE, "F20", "a.png", "B20", NO_REF)])
    (job,) = queue.claim(lease=timedelta(minutes=5))
    queue.finish(job, status="done", result="created")

    first = queue.take_finished_batch("B20", claim_for=timedelta(minutes=5))
    assert first is not None and [j.id for j in first.jobs] == [job.id]
    assert queue.take_finished_batch("B20", claim_for=timedelta(minutes=5)) is None  # claimed
    now[0] += timedelta(minutes=4)
    assert queue.unreported_batches(older_than=timedelta(minutes=1)) == []  # claim still running

    now[0] += timedelta(minutes=2)  # the claimant died before it marked the reply sent
    assert queue.unreported_batches(older_than=timedelta(minutes=5)) == [("B20", "slack")]
    second = queue.take_finished_batch("B20", claim_for=timedelta(minutes=5))
    assert second is not None and [j.id for j in second.jobs] == [job.id]
    queue.mark_replied(first)  # a late word from the dead claim changes nothing
    assert queue.unreported_batches(older_than=timedelta(0)) == []  # the second claim runs
    queue.mark_replied(second)

    now[0] += timedelta(hours=1)
    assert queue.unreported_batches(older_than=timedelta(0)) == []
    assert queue.take_finished_batch("B20", claim_for=timedelta(minutes=5)) is None
