"""Ingest rows: the product's upload path against a plain `requests` upload of the same bytes.

Large files go through `GcsBlobStore.put` (streamed; what `Library.upload` calls after checking
an image): `Library.upload` itself decodes the image and makes a preview, and takes at most
`max_upload_bytes` (50 MiB by default), so 50 and 200 MiB are measured at the blob-store level;
`bench/decode.py` measures the whole library path against its floor.
Both paths upload to the same fake-gcs-server (filesystem backend, on /dev/shm where there is
one); a third, informational path sends put's own protocol (one multipart POST) with plain
`requests`, to separate put's cost from the emulator's multipart handling. This process's peak RSS
growth is sampled in a fresh process per path and size, and for speed the paths alternate which
goes first.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
from pathlib import Path
from types import SimpleNamespace

from bench.stand import log
from bench.storage_bench import (
    MIB,
    make_store,
    put_ours,
    put_plain,
    put_plain_multipart,
    timed,
    write_random_file,
)
from bench.table import Row
from storage.blobstore import GcsBlobStore
from storage.embedded import FakeGcsProcess

MEMORY_LIMIT = 32 * MIB
RATIO_TARGET = 0.70


def ingest_rows(rounds: dict[int, int]) -> list[Row]:
    """`rounds`: size in MiB -> measured uploads per path (after one warm-up upload each)."""
    rows: list[Row] = []
    # The emulator's files live in memory where the machine has a tmpfs: on disk, whichever
    # upload met the page cache's writeback was slow, and that decided the figures (0.54-1.52).
    in_memory = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="cloudbox-bench-ingest-", dir=in_memory) as tmp:
        work = Path(tmp)
        emulator = FakeGcsProcess(root=work / "gcs").start()
        try:
            store = make_store(emulator, "bench-ingest", work / "key.json")
            for size_mib, n in rounds.items():
                log(f"ingest: {size_mib} MiB x {n} rounds per path")
                rows += _one_size(emulator, store, work, size_mib * MIB, n)
        finally:
            emulator.stop()
    return rows


def _one_size(emulator: FakeGcsProcess, store: GcsBlobStore, work: Path, size: int, n: int) -> list[Row]:
    path = work / f"upload-{size}.bin"
    write_random_file(path, size)
    label = f"{size // MIB} MiB"
    ours_mem = _fresh_process_growth(emulator.url, store.bucket_name, work, path, "ours") / MIB
    plain_mem = _fresh_process_growth(emulator.url, store.bucket_name, work, path, "plain") / MIB
    # One unmeasured upload each first: the emulator's first large upload grows its buffers.
    put_plain(emulator, store, path, f"warm/plain-{size}")
    put_ours(store, path, f"warm/ours-{size}")
    put_plain_multipart(emulator, store, path, f"warm/multipart-{size}")
    seconds: dict[str, list[float]] = {"ours": [], "plain": [], "multipart": []}
    uploads = {
        "ours": lambda name: put_ours(store, path, name),
        "plain": lambda name: put_plain(emulator, store, path, name),
        "multipart": lambda name: put_plain_multipart(emulator, store, path, name),
    }
    for i in range(n):
        order = list(uploads) if i % 2 == 0 else list(reversed(uploads))  # alternate who goes first
        for which in order:
            name = f"{which}/{size}-{i}"
            seconds[which].append(timed(lambda: uploads[which](name))[0])  # noqa: B023 (called at once)
    path.unlink()
    speed = {which: [size / MIB / s for s in values] for which, values in seconds.items()}
    ours_speed, plain_speed = speed["ours"], speed["plain"]
    # The emulator's speed wanders from upload to upload (2x and more), so each round's uploads,
    # made back to back, are compared with each other, and the ratio is the median of those.
    ratio = _paired_ratio(seconds["plain"], seconds["ours"])
    same_protocol = _paired_ratio(seconds["multipart"], seconds["ours"])
    memory_target = size >= 200 * MIB
    return [
        Row.of(
            f"ingest {label}: GcsBlobStore.put throughput",
            "MiB/s",
            ours_speed,
            target=f">= {RATIO_TARGET:.2f} x plain",
            ok=ratio >= RATIO_TARGET,
            baseline=statistics.median(plain_speed),
            ratio=ratio,
            note="vs plain requests POST; ratio: median of per-round ratios",
        ),
        Row.of(
            f"ingest {label}: GcsBlobStore.put throughput, same protocol (info)",
            "MiB/s",
            ours_speed,
            baseline=statistics.median(speed["multipart"]),
            ratio=same_protocol,
            note="vs plain requests multipart POST",
        ),
        Row(
            f"ingest {label}: GcsBlobStore.put peak RSS growth",
            "MiB",
            1,
            ours_mem,
            target="< 32 MiB" if memory_target else "",
            ok=ours_mem * MIB < MEMORY_LIMIT if memory_target else None,
            baseline=plain_mem,
            note="new process, after 1 MiB warm-up",
        ),
    ]


def _paired_ratio(baseline_seconds: list[float], ours_seconds: list[float]) -> float:
    """Median over rounds of (our throughput / the baseline's) in the same round."""
    return statistics.median(b / o for b, o in zip(baseline_seconds, ours_seconds, strict=True))


def _fresh_process_growth(url: str, bucket: str, work: Path, path: Path, which: str) -> int:
    """Peak RSS growth of one upload in a new process: RSS never shrinks back, so in this
    process every upload after the largest one so far would show no growth at all."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return int(pool.apply(_child_upload, (url, bucket, str(work), str(path), which)))


def _child_upload(url: str, bucket: str, work: str, path: str, which: str) -> int:
    emulator = SimpleNamespace(url=url)
    store = make_store(emulator, bucket, Path(work) / "key.json")  # type: ignore[arg-type]
    warm = Path(work) / f"warm-{os.getpid()}.bin"
    write_random_file(warm, MIB)
    upload = (
        (lambda p, name: put_ours(store, p, name))
        if which == "ours"
        else (lambda p, name: put_plain(emulator, store, p, name))  # type: ignore[arg-type]
    )
    upload(warm, f"child/warm-{which}-{os.getpid()}")
    warm.unlink()
    _, growth = timed(lambda: upload(Path(path), f"child/{which}-{os.getpid()}"))
    return growth
