"""Every CloudBox benchmark in one run, against real local stand-ins: `python -m bench.run`.

    python -m bench.run            # catalog on a throw-away PostgreSQL database (default)
    python -m bench.run --sqlite   # catalog on SQLite
    python -m bench.run --quick    # fewer rounds and runs, for a quick look

Ingest runs in this process against its own fake-gcs-server; everything else goes through the
service under gunicorn (production settings: 2 workers x 16 threads, gthread) with fake-gcs-server
and the fake Slack Web API behind it. Progress goes to stderr; stdout is one Markdown table: the
median (and p95/p99 where there are enough samples), the target, and the ratio to the baseline
measured in the same run. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

from bench.stand import log, running_service
from bench.table import Row, markdown

POSTGRES_ADMIN_URL = os.environ.get(
    "CLOUDBOX_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class Plan:
    ingest_rounds: dict[int, int]  # MiB -> measured uploads per path
    burst_sizes: tuple[int, ...]
    burst_rounds: int
    library_sizes: tuple[int, ...]
    listing_runs: int
    share_seconds: float
    decode_rounds: int


FULL = Plan({5: 15, 50: 9, 200: 7}, (10, 50, 100), 3, (100, 10_000, 100_000, 1_000_000), 30, 5.0, 7)
QUICK = Plan({5: 5, 50: 2, 200: 1}, (10, 50, 100), 1, (100, 10_000, 100_000), 10, 2.0, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", action="store_true", help="catalog on SQLite instead of PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and runs")
    parser.add_argument("--postgres", default=POSTGRES_ADMIN_URL, metavar="ADMIN_URL", help="%(default)s")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=16, help="gunicorn threads per worker (default 16)")
    parser.add_argument("--clients", type=int, default=16, help="share-link clients (default 16)")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=("ingest", "decode", "acks", "listing", "shares", "queue", "throughput", "cold"),
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.monotonic()

    # Imported here so `--help` answers at once.
    from bench.acks import ack_rows
    from bench.cold_start import cold_start_rows
    from bench.decode import decode_rows
    from bench.ingest import ingest_rows
    from bench.listing import listing_rows, seed_owner
    from bench.queue_scale import queue_rows
    from bench.shares import share_rows
    from bench.throughput import throughput_rows

    rows: list[Row] = []
    if "ingest" not in args.skip:
        rows += ingest_rows(plan.ingest_rounds)
    if "decode" not in args.skip:
        rows += decode_rows(plan.decode_rounds)
    if "cold" not in args.skip and not args.sqlite:
        rows += cold_start_rows(args.postgres, runs=3 if args.quick else 5)
    if "queue" not in args.skip and not args.sqlite:
        rows += queue_rows(args.postgres)
    if "throughput" not in args.skip and not args.sqlite:
        rows += throughput_rows(args.postgres, threads=args.threads, bursts=1 if args.quick else 2)
    database = "SQLite" if args.sqlite else "PostgreSQL"
    log(f"starting the service: gunicorn {args.workers} x {args.threads}, catalog on {database}")
    with running_service(
        None if args.sqlite else args.postgres, workers=args.workers, threads=args.threads
    ) as stand:
        if "acks" not in args.skip:
            rows += ack_rows(stand, plan.burst_sizes, plan.burst_rounds)
        if "listing" not in args.skip:
            rows += listing_rows(stand, plan.library_sizes, plan.listing_runs)
        if "shares" not in args.skip:
            owner, _ = seed_owner(stand, args.clients, "share")
            rows += share_rows(stand, owner, args.clients, plan.share_seconds)

    minutes = (time.monotonic() - started) / 60
    print(
        f"CloudBox benchmarks: `python -m bench.run{' --sqlite' if args.sqlite else ''}"
        f"{' --quick' if args.quick else ''}`; {os.cpu_count()} CPUs; catalog on {database}; "
        f"gunicorn {args.workers} workers x {args.threads} threads (gthread); "
        f"python {sys.version.split()[0]}; {time.strftime('%Y-%m-%d')}; took {minutes:.1f} min\n"
    )
    print(markdown(rows))
    return 1 if any(r.ok is False for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
