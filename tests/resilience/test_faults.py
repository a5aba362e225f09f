"""Storage that fails: every accepted image is stored exactly once, or the person is told."""

from __future__ import annotations

import io
import os

import pytest
import requests

from bot.ingest.retry import MAX_ATTEMPTS
from storage.blobstore import GcsBlobStore, UrlSigner, retry_policy
from storage.library import Library
from storage.sql_catalog import SqlCatalog
from tests.standins.faultproxy import FaultPlan, FaultProxy

from .scenarios import WAIT, Figures, build_stack, gcs_client, incoming, run_fault_scenario, settle


def test_proxy_is_reproducible_and_goes_down_on_request(fake_gcs) -> None:  # type: ignore[no-untyped-def]
    def decisions(seed: int) -> list[str | None]:
        proxy = FaultProxy(fake_gcs.url, FaultPlan(seed=seed, rate=0.3))
        proxy.stop()
        return [proxy.decide("/storage/v1/b") for _ in range(200)]

    assert decisions(7) == decisions(7) != decisions(8)
    assert 30 < sum(d is not None for d in decisions(7)) < 90
    with FaultProxy(fake_gcs.url) as proxy:
        assert requests.get(f"{proxy.url}/storage/v1/b", timeout=5).status_code == 200
        proxy.down = True
        assert requests.get(f"{proxy.url}/storage/v1/b", timeout=5).status_code == 503


def test_resumable_session_urls_are_rewritten_to_go_through_the_proxy(fake_gcs, bucket) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(9 * 1024 * 1024 + 5)  # above the 8 MiB multipart limit: resumable
    with FaultProxy(fake_gcs.url) as proxy:
        blob = gcs_client(proxy.url).bucket(bucket).blob("users/r/resumable.bin", chunk_size=1024 * 1024)
        blob.upload_from_file(io.BytesIO(data), size=len(data), content_type="image/png")
        assert proxy.log.requests >= 10  # one to start the session, then one per chunk via Location
    assert gcs_client(fake_gcs.url).bucket(bucket).blob("users/r/resumable.bin").download_as_bytes() == data


def test_large_uploads_stream_through_faults_intact_or_fail_loudly(fake_gcs, bucket) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(9 * 1024 * 1024 + 5)
    with FaultProxy(fake_gcs.url, FaultPlan(seed=3, rate=0.3)) as proxy:
        blobs = GcsBlobStore(
            gcs_client(proxy.url),
            bucket,
            UrlSigner(None),
            retry=retry_policy(initial=0.01, maximum=0.05, timeout=5),
        )
        outcomes = []
        for n in range(3):
            try:
                blobs.put(f"users/r/{n}.bin", io.BytesIO(data), size=len(data), content_type="image/png")
                outcomes.append("stored")
            except Exception as exc:  # noqa: BLE001 - any loud failure is acceptable here
                outcomes.append(type(exc).__name__)
    direct = GcsBlobStore(gcs_client(fake_gcs.url), bucket, UrlSigner(None))
    assert "stored" in outcomes
    for n, outcome in enumerate(outcomes):
        if outcome == "stored":
            assert direct.read(f"users/r/{n}.bin") == data


@pytest.mark.e2e
def test_every_accepted_image_is_stored_exactly_once_despite_30_percent_faults(
    fake_gcs, any_database_url
) -> None:  # type: ignore[no-untyped-def]
    figures = run_fault_scenario(fake_gcs.url, any_database_url, seed=1234, rate=0.3, count=24)
    assert figures.extra["faults"], "the proxy injected nothing"
    assert (figures.accepted, figures.stored, figures.lost, figures.duplicated) == (24, 24, 0, 0), figures
    assert figures.listed == 24 and figures.failed == 0
    assert figures.reports == 6 and figures.reports_duplicated == 0
    assert all(o.image is not None and o.refused is None for o in figures.extra["outcomes"])
    assert figures.consistent, figures.extra["check"]


def test_storage_down_for_good_tells_the_person_and_leaves_nothing_behind(fake_gcs, any_database_url) -> None:  # type: ignore[no-untyped-def]
    files, batch = incoming(3, seed=77)
    stack = build_stack(fake_gcs.url, any_database_url, files, plan=FaultPlan(), threads=3, retry_seconds=0.2)
    try:
        stack.proxy.down = True
        assert stack.worker.queue.enqueue(batch) == 3
        stack.worker.start()
        stack.chat.wait_for_batches(1, WAIT)
        stack.worker.stop()
        (outcomes,) = stack.chat.reports
        assert len(outcomes) == 3
        for outcome in outcomes:
            assert outcome.image is None and "could not be saved" in (outcome.refused or "")
            assert outcome.job.attempts == MAX_ATTEMPTS
        assert stack.library.list(stack.owner).total == 0  # nothing half-written is listed

        stack.proxy.down = False
        stack.library.recover(older_than=__import__("datetime").timedelta(0))
        assert list(stack.direct.names("users/")) == []
        figures = Figures("down", 0, accepted=3)
        settle(figures, stack.sessions, stack.direct, Library(SqlCatalog(stack.sessions), stack.direct))
        assert figures.consistent and figures.failed == 3 and figures.lost == 0
    finally:
        stack.close()
