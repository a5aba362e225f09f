"""Storage benchmark for issue 2: `python -m bench.storage_bench`.

(a) a 200 MiB upload through GcsBlobStore.put against a plain `requests` upload of the same bytes
    to the same emulator: throughput and peak RSS growth; a Library.upload of an 8000×6000 JPEG
    (informational: images are decoded, so memory grows with pixels);
(b) a page of 20 from an owner with 10,000 images (catalog query + 20 signed preview URLs),
    median and p95 over 50 runs, on SQLite and on a fresh PostgreSQL database;
(c) one V4 signature, median over 1000.

It starts its own fake-gcs-server (filesystem backend in a temporary folder) and creates and
drops its own PostgreSQL database. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.oauth2 import service_account
from sqlalchemy import insert, text

from storage import db
from storage.blobstore import UPLOAD_CHUNK_SIZE, GcsBlobStore, UrlSigner
from storage.embedded import FakeGcsProcess, local_signing_key
from storage.library import Library, LibraryPolicy
from storage.model import Owner, new_id
from storage.models import Account, ImageRow, utcnow
from storage.sql_catalog import SqlCatalog
from tests.standins.postgres import throwaway_database

MIB = 1024 * 1024
POSTGRES_ADMIN_URL = os.environ.get(
    "CLOUDBOX_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Row:
    measure: str
    value: str
    target: str = ""
    verdict: str = ""


# -- measuring ------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class PeakRss:
    """Samples this process's resident set every few milliseconds while in use."""

    def __init__(self, interval: float = 0.002):
        self._interval = interval
        self._stop = threading.Event()
        self.baseline = 0
        self.peak = 0

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakRss:
        gc.collect()
        self.baseline = self.peak = rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def timed(action: Callable[[], object]) -> tuple[float, int]:
    """Seconds taken and peak RSS growth in bytes."""
    with PeakRss() as rss:
        started = time.perf_counter()
        action()
        elapsed = time.perf_counter() - started
    return elapsed, rss.growth


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


# -- set-up ---------------------------------------------------------------------------------


def write_random_file(path: Path, size: int) -> None:
    with path.open("wb") as out:
        left = size
        while left:
            n = min(left, 4 * MIB)
            out.write(os.urandom(n))
            left -= n


def make_store(emulator: FakeGcsProcess, bucket: str, key_path: Path) -> GcsBlobStore:
    client = storage.Client(
        project="bench", credentials=AnonymousCredentials(), client_options={"api_endpoint": emulator.url}
    )
    if not client.bucket(bucket).exists():
        client.create_bucket(bucket)
    credentials = service_account.Credentials.from_service_account_info(local_signing_key(key_path))
    return GcsBlobStore(client, bucket, UrlSigner(credentials, api_access_endpoint=emulator.url))


def seed_catalog(url: str, images: int) -> tuple[Library, Any, Owner]:
    """A migrated catalog with one owner holding `images` ready rows (and a neighbour with as many)."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    sessions = db.make_session_factory(engine)
    owners = []
    with db.transaction(sessions) as session:
        for sub in ("100000000000000000001", "100000000000000000002"):
            account = Account(google_sub=sub, email=f"{sub}@example.com", created_at=utcnow())
            session.add(account)
            session.flush()
            owners.append(Owner(account.id, account.google_sub, account.email))
    start = utcnow() - timedelta(days=365)
    for owner in owners:
        rows = ready_image_rows(owner, range(images), start)
        if rows:
            with db.transaction(sessions) as session:
                session.execute(insert(ImageRow), rows)
    vacuum_analyze(engine)
    return Library(SqlCatalog(sessions), _NO_BLOBS), engine, owners[0]


def ready_image_rows(owner: Owner, numbers: range, start: datetime) -> list[dict[str, Any]]:
    """Catalog rows of ready camera JPEGs for `owner`, one a minute from `start` (no bytes)."""
    rows = []
    for n in numbers:
        image_id = new_id()
        rows.append(
            {
                "id": image_id,
                "owner_id": owner.id,
                "object_name": f"{owner.prefix}{image_id}.jpg",
                "preview_object_name": f"{owner.prefix}{image_id}.preview.jpg",
                "original_name": f"IMG_{n:06d}.jpg",
                "content_type": "image/jpeg",
                "size": 2_000_000 + n,
                "sha256": secrets.token_hex(32),
                "width": 4000,
                "height": 3000,
                "status": "ready",
                "created_at": start + timedelta(minutes=n),
            }
        )
    return rows


def vacuum_analyze(engine: Any) -> None:
    """A library this size has been vacuumed and analysed long since; a fresh bulk insert not."""
    with engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM needs it
        autocommit.execute(
            text("VACUUM ANALYZE images" if engine.dialect.name == "postgresql" else "ANALYZE")
        )


class _NoBlobs:
    """Placeholder until the real store is attached (listing needs no bytes)."""


_NO_BLOBS: Any = _NoBlobs()


# -- the measurements -----------------------------------------------------------------------


def put_ours(store: GcsBlobStore, path: Path, name: str) -> None:
    with path.open("rb") as handle:
        store.put(name, handle, size=path.stat().st_size, content_type="application/octet-stream")


def put_plain(emulator: FakeGcsProcess, store: GcsBlobStore, path: Path, name: str) -> None:
    """The same bytes as one streamed simple-media POST: the yardstick for put's throughput."""
    with path.open("rb") as handle:
        requests.post(
            f"{emulator.url}/upload/storage/v1/b/{store.bucket_name}/o",
            params={"uploadType": "media", "name": name},
            data=handle,
            headers={"Content-Type": "application/octet-stream"},
            timeout=600,
        ).raise_for_status()


class _PlainMultipart:
    """The multipart/related body `put` sends, built plainly: no checksum, same block size."""

    def __init__(self, handle: Any, size: int, name: str):
        self.boundary = "bench-" + secrets.token_hex(8)
        resource = f'{{"name": "{name}", "contentType": "application/octet-stream"}}'
        self._head = (
            f"--{self.boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{resource}\r\n"
            f"--{self.boundary}\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._handle, self._size = handle, size

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def __iter__(self) -> Any:
        yield self._head
        while block := self._handle.read(UPLOAD_CHUNK_SIZE):
            yield block
        yield self._tail


def put_plain_multipart(emulator: FakeGcsProcess, store: GcsBlobStore, path: Path, name: str) -> None:
    """The same bytes in the same protocol as `put` (one multipart POST): isolates put's own cost."""
    with path.open("rb") as handle:
        body = _PlainMultipart(handle, path.stat().st_size, name)
        requests.post(
            f"{emulator.url}/upload/storage/v1/b/{store.bucket_name}/o",
            params={"uploadType": "multipart"},
            data=body,
            headers={"Content-Type": f"multipart/related; boundary={body.boundary}"},
            timeout=600,
        ).raise_for_status()


def upload_rows(
    emulator: FakeGcsProcess, store: GcsBlobStore, work: Path, size: int, rounds: int
) -> list[Row]:
    path = work / "upload.bin"
    write_random_file(path, size)
    # One unmeasured upload each first: the emulator's first large upload pays for growing its
    # heap, which would otherwise count against whichever path went first.
    # Their memory growth counts: it is the process's first large upload.
    _, first_plain_rss = timed(lambda: put_plain(emulator, store, path, "bench/warm-plain.bin"))
    _, first_ours_rss = timed(lambda: put_ours(store, path, "bench/warm-ours.bin"))
    ours: list[tuple[float, int]] = []
    plain: list[tuple[float, int]] = []
    for n in range(rounds):  # alternate which path goes first
        measure_ours = lambda n=n: ours.append(timed(lambda: put_ours(store, path, f"bench/ours-{n}.bin")))  # noqa: E731
        measure_plain = lambda n=n: plain.append(  # noqa: E731
            timed(lambda: put_plain(emulator, store, path, f"bench/plain-{n}.bin"))
        )
        for measure in (measure_ours, measure_plain) if n % 2 == 0 else (measure_plain, measure_ours):
            measure()
    ours_mibs = statistics.median(size / MIB / t for t, _ in ours)
    plain_mibs = statistics.median(size / MIB / t for t, _ in plain)
    ours_rss = max(first_ours_rss, *(g for _, g in ours))
    plain_rss = max(first_plain_rss, *(g for _, g in plain))
    ratio = ours_mibs / plain_mibs
    label = f"{size // MIB} MiB"
    return [
        Row(
            f"(a) {label} GcsBlobStore.put: peak RSS growth (worst of {rounds + 1})",
            f"{ours_rss / MIB:.1f} MiB",
            "< 32 MiB",
            verdict(ours_rss < 32 * MIB),
        ),
        Row(f"(a) {label} GcsBlobStore.put: throughput (median)", f"{ours_mibs:.0f} MiB/s"),
        Row(f"(a) {label} plain requests POST: throughput (median)", f"{plain_mibs:.0f} MiB/s"),
        Row(f"(a) {label} plain requests POST: peak RSS growth", f"{plain_rss / MIB:.1f} MiB"),
        Row("(a) throughput ratio put / plain", f"{ratio:.2f}", ">= 0.70", verdict(ratio >= 0.70)),
    ]


def big_jpeg(path: Path, size: tuple[int, int]) -> None:
    from PIL import Image

    width, height = size
    noise = Image.effect_noise((width, height), 40)
    gradient = Image.linear_gradient("L").resize((width, height))
    Image.merge("RGB", (noise, gradient, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT))).save(
        path, "JPEG", quality=90
    )


def library_upload_row(store: GcsBlobStore, work: Path) -> list[Row]:
    path = work / "big.jpg"
    big_jpeg(path, (8000, 6000))
    gc.collect()
    library, engine, owner = seed_catalog(f"sqlite:///{work / 'upload.sqlite3'}", 0)
    library = Library(library.catalog, store, LibraryPolicy(max_upload_bytes=200 * MIB))
    try:
        with path.open("rb") as handle:
            seconds, growth = timed(lambda: library.upload(owner, handle, filename="big.jpg"))
    finally:
        engine.dispose()
    megabytes = path.stat().st_size / MIB
    return [
        Row(
            f"(a) Library.upload 8000x6000 JPEG ({megabytes:.0f} MiB): time / RSS growth (info)",
            f"{seconds:.2f} s / {growth / MIB:.0f} MiB",
        )
    ]


def listing_rows(store: GcsBlobStore, url: str, label: str, images: int, runs: int) -> list[Row]:
    seeded, engine, owner = seed_catalog(url, images)
    library = Library(seeded.catalog, store)
    rows = []
    try:
        last_page = -(-images // 20)
        for page_number, what in ((1, "page 1"), (last_page, f"last page ({last_page})")):

            def one_page(page: int = page_number) -> None:
                listed = library.list(owner, page=page, per_page=20)
                assert len(listed.images) == 20 and listed.total == images
                for image in listed.images:
                    library.preview_url(image)

            one_page()  # warm the connection pool and statement caches
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                one_page()
                samples.append((time.perf_counter() - started) * 1000)
            median, p95 = statistics.median(samples), percentile(samples, 0.95)
            target = "< 50 ms" if page_number == 1 else ""
            rows.append(
                Row(
                    f"(b) list {what} of {images:,} + 20 signed previews, {label}: median / p95",
                    f"{median:.1f} / {p95:.1f} ms",
                    target + (" (median)" if target else ""),
                    verdict(median < 50) if target else "",
                )
            )
        # Where page 1's time goes: the catalog query alone (informational).
        query = []
        for _ in range(runs):
            started = time.perf_counter()
            library.list(owner, page=1, per_page=20)
            query.append((time.perf_counter() - started) * 1000)
        rows.append(
            Row(
                f"(b)   of which the catalog query alone, page 1, {label}: median / p95",
                f"{statistics.median(query):.1f} / {percentile(query, 0.95):.1f} ms",
            )
        )
    finally:
        engine.dispose()
    return rows


def signature_row(store: GcsBlobStore, runs: int) -> list[Row]:
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        store.signed_url(f"users/1/{i}.jpg", timedelta(minutes=5))
        samples.append((time.perf_counter() - started) * 1e6)
    median = statistics.median(samples)
    return [
        Row(
            f"(c) one V4 signature, median of {runs}", f"{median:.0f} µs", "< 2000 µs", verdict(median < 2000)
        )
    ]


def print_table(rows: list[Row]) -> None:
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("measure", "value", "target", "verdict")]
    header = Row("measure", "value", "target", "verdict")
    for row in [header, *rows]:
        cells = (row.measure, row.value, row.target, row.verdict)
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="upload size in MiB (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="upload rounds, alternating (default 5)")
    parser.add_argument("--images", type=int, default=10_000, help="catalog rows for the listing")
    parser.add_argument("--runs", type=int, default=50, help="listing runs (default 50)")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args(argv)

    print(
        f"CloudBox storage bench: python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"UPLOAD_CHUNK_SIZE={UPLOAD_CHUNK_SIZE // MIB} MiB",
        flush=True,
    )
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cloudbox-bench-") as tmp:
        work = Path(tmp)
        emulator = FakeGcsProcess(root=work / "gcs").start()
        try:
            store = make_store(emulator, "bench", work / "key.json")
            rows += upload_rows(emulator, store, work, args.size_mb * MIB, args.rounds)
            (work / "upload.bin").unlink()
            rows += library_upload_row(store, work)
            rows += listing_rows(
                store, f"sqlite:///{work / 'list.sqlite3'}", "SQLite", args.images, args.runs
            )
            if not args.skip_postgres:
                with throwaway_database(POSTGRES_ADMIN_URL, "cloudbox_bench") as url:
                    rows += listing_rows(store, url, "PostgreSQL", args.images, args.runs)
            rows += signature_row(store, 1000)
        finally:
            emulator.stop()
    print()
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
