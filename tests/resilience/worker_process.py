"""A CloudBox ingest worker in a process of its own, for the crash and scale-out runs.

Built like the real service: `Settings.from_env()` and `Services.build()` from the process
environment (the test passes the same bucket and catalog as its own), then an `IngestWorker`
whose "chat platform" downloads files from the test's file host and posts each batch report
back to it. Runs until SIGTERM, or until the test SIGKILLs it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import BinaryIO

import requests

from bot.ingest.platform import Outcome
from bot.ingest.worker import IngestWorker
from storage.ingest_queue import IngestQueue, Job
from storage.services import Services
from storage.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="worker %(process)d: %(levelname)s %(message)s")
    files_url = os.environ["CLOUDBOX_TEST_FILES_URL"]
    services = Services.build(Settings.from_env(dotenv_path=None))
    http = requests.Session()
    me = str(os.getpid())

    @contextmanager
    def fetch(job: Job) -> Iterator[BinaryIO]:
        with http.get(
            f"{files_url}/files/{job.file_id}", stream=True, timeout=30, headers={"X-Worker": me}
        ) as r:
            r.raise_for_status()
            yield r.raw  # type: ignore[misc]

    def report(outcomes: list[Outcome], linked_now: bool) -> None:
        body = {
            "kind": "report",
            "pid": os.getpid(),
            "batch": outcomes[0].job.batch,
            "outcomes": [
                {
                    "file_id": o.job.file_id,
                    "image_id": o.image.id if o.image else None,
                    "refused": o.refused,
                    "created": o.created,
                }
                for o in outcomes
            ],
        }
        http.post(f"{files_url}/report", json=body, timeout=30).raise_for_status()

    def ask_to_link(jobs: list[Job]) -> None:
        body = {"kind": "ask_to_link", "pid": os.getpid(), "batch": jobs[0].batch}
        http.post(f"{files_url}/report", json=body, timeout=30).raise_for_status()

    worker = IngestWorker(
        IngestQueue(services.engine),
        services.library,
        services.accounts,
        {"slack": SimpleNamespace(fetch=fetch, report=report, ask_to_link=ask_to_link)},
        threads=int(os.environ.get("CLOUDBOX_TEST_THREADS", "4")),
        lease=services.settings.ingest_lease,  # CLOUDBOX_INGEST_LEASE_SECONDS, as in the service
        poll_seconds=0.05,
        backoff=lambda attempt: timedelta(milliseconds=50 * attempt),
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    worker.start()
    http.post(f"{files_url}/ready", json={"pid": os.getpid()}, timeout=30).raise_for_status()
    stopping.wait()
    worker.stop()
    services.close()


if __name__ == "__main__":
    main()
