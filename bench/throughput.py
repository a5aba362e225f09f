"""End-to-end ingest throughput: Slack file_share events in, images stored, messages answered.

The same burst of small-image DMs goes to a service of 1 and then of 2 gunicorn processes on one
PostgreSQL catalog (each process runs its own four ingest threads), timed from the first post
to the last reply. Each run checks that no file was stored twice and none was lost.
"""

from __future__ import annotations

import time

from bench import cpu
from bench.acks import Bursts
from bench.stand import log, running_service
from bench.table import Row

BURST = 100


def throughput_rows(postgres_admin_url: str, *, threads: int, bursts: int = 2) -> list[Row]:
    per_second: dict[int, float] = {}
    rows = []
    for workers in (1, 2):
        with running_service(postgres_admin_url, workers=workers, threads=threads) as stand:
            sender = Bursts(stand)
            sender.burst(5)  # warm every process's connections and imports; not measured
            log(f"throughput: {bursts} x {BURST} file_share events, {workers} process(es)")
            started, cpu_before = time.perf_counter(), cpu.snapshot()
            for _ in range(bursts):
                sender.burst(BURST)
            elapsed = time.perf_counter() - started
            where = cpu.describe(cpu.spent(cpu_before, cpu.snapshot()))
            log(f"throughput: {workers} process(es), {elapsed:.1f} s; CPU: {where}")
            lost, duplicated, detail = sender.check()
            per_second[workers] = bursts * BURST / elapsed
            rows.append(
                Row(
                    f"ingest end to end (file_share -> stored -> replied), {workers} process(es)",
                    "images/s",
                    bursts * BURST,
                    per_second[workers],
                    note=f"{lost} lost, {duplicated} duplicated; {detail}; CPU over {elapsed:.1f} s: {where}",
                    ok=None if lost == 0 and duplicated == 0 else False,
                )
            )
    ratio = per_second[2] / per_second[1]
    rows.append(
        Row(
            "ingest throughput, 2 processes vs 1, one PostgreSQL",
            "images/s",
            bursts * BURST,
            per_second[2],
            baseline=per_second[1],
            ratio=ratio,
            target=">= 1.0",
            ok=ratio >= 1.0,
        )
    )
    return rows
