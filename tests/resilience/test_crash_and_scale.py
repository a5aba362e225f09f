"""Worker processes killed mid-burst, and several sharing one queue (real processes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.ingest_queue import IngestQueue
from storage.models import ImageRow, IngestJobRow
from storage.services import Services
from storage.settings import Settings

from .harness import INGEST_THREADS, FileHost, WorkerProcess
from .scenarios import (
    SENDER,
    WAIT,
    _all_replied,
    _wait_db,
    crash_env,
    incoming,
    new_bucket,
    run_crash_scenario,
)


@pytest.mark.e2e
def test_sigkill_mid_burst_loses_nothing_acknowledged(fake_gcs, any_database_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    figures = run_crash_scenario(fake_gcs.url, any_database_url, tmp_path / "instance", seed=42, count=40)
    assert figures.extra["at_kill"]["done"] < 40, "the worker finished before it was killed"
    assert figures.extra["acknowledged_then_lost"] == 0
    assert (figures.accepted, figures.stored, figures.lost, figures.duplicated) == (40, 40, 0, 0), figures
    assert figures.listed == 40 and figures.consistent, figures.extra["check"]
    # Every message is answered: a reply claimed by the killed process and never marked sent
    # is sent by the next one. One that was on the wire at the kill may arrive twice, so at
    # most one message per ingest thread of the killed process.
    assert figures.extra["reports_lost"] == 0
    assert figures.reports_duplicated <= INGEST_THREADS


@pytest.mark.e2e
@pytest.mark.postgres
def test_two_processes_share_one_queue_without_duplicate_work(fake_gcs, postgres_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = crash_env(fake_gcs.url, postgres_url, new_bucket(fake_gcs.url))
    services = Services.build(Settings.from_env(env, dotenv_path=None, instance_path=tmp_path / "instance"))
    try:
        owner = services.accounts.ensure_account("100000000000000000779", "dora@example.com")
        services.accounts.link(SENDER, owner)
        files, batch = incoming(60, seed=60)
        with FileHost(files, pause=0.02) as host:
            with (
                WorkerProcess(env, files_url=host.url, lease_seconds=30),
                WorkerProcess(env, files_url=host.url, lease_seconds=30),
            ):
                host.wait_for(lambda h: len(h.ready) == 2, WAIT)
                assert IngestQueue(services.engine).enqueue(batch) == 60
                _wait_db(services.sessions, _all_replied)
            # Both processes have stopped (SIGTERM lets them finish and send their replies).
            assert set(host.downloads.values()) == {1}, "a file was downloaded twice"
            assert len(host.downloads) == 60
            assert len(host.downloads_by_worker) == 2, host.downloads_by_worker
            reported = host.reported_batches()
        assert len(reported) == 15 and set(reported.values()) == {1}
        with services.sessions() as session:
            assert session.scalar(select(func.count()).select_from(ImageRow)) == 60
            statuses = session.execute(
                select(IngestJobRow.status, func.count()).group_by(IngestJobRow.status)
            ).all()
        assert dict(statuses) == {"done": 60}
        assert services.library.list(owner, per_page=1).total == 60
    finally:
        # The session's PostgreSQL database is shared: leave it empty for the next test.
        from storage.models import Base

        with services.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
        services.close()
