"""Fault and crash runs with a seed: how many images were accepted, stored, lost, duplicated.

    python bench/fault_bench.py [--seed 1234] [--rate 0.3] [--count 40] [--postgres ADMIN_URL]

Runs against real local stand-ins: fake-gcs-server (behind the seeded fault proxy for the fault
run), a catalog on SQLite (default, temporary files) or in temporary databases made (and dropped) on
the PostgreSQL server named by --postgres (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test),
and, for the crash run, a CloudBox ingest worker process that is SIGKILLed mid-burst and a second
one that finishes the work. The same scenarios are asserted by tests/resilience.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.embedded import FakeGcsProcess  # noqa: E402
from tests.resilience.scenarios import Figures, run_crash_scenario, run_fault_scenario  # noqa: E402
from tests.standins.postgres import catalog_url

COLUMNS = ("scenario", "seed", "accepted", "stored", "lost", "duplicated", "told not saved", "seconds")


def row(f: Figures) -> tuple[str, ...]:
    return (
        f.scenario,
        str(f.seed),
        str(f.accepted),
        str(f.stored),
        str(f.lost),
        str(f.duplicated),
        str(f.failed),
        f"{f.seconds:.2f}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--rate", type=float, default=0.3, help="share of storage requests that fail")
    parser.add_argument("--count", type=int, default=40, help="images per run")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="run the catalogs on this PostgreSQL server")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gcs = FakeGcsProcess().start()
        try:
            with catalog_url(args.postgres, work / "fault.sqlite3", "cloudbox_bench_fault") as url:
                fault = run_fault_scenario(gcs.url, url, seed=args.seed, rate=args.rate, count=args.count)
            with catalog_url(args.postgres, work / "crash.sqlite3", "cloudbox_bench_crash") as url:
                crash = run_crash_scenario(gcs.url, url, work / "instance", seed=args.seed, count=args.count)
        finally:
            gcs.stop()

    table = [COLUMNS, row(fault), row(crash)]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    for n, r in enumerate(table):
        print(" | ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
        if n == 0:
            print("-|-".join("-" * w for w in widths))
    injected = ", ".join(f"{k} {v}" for k, v in sorted(fault.extra["faults"].items()))
    print(f"\nfault run: {fault.extra['requests']} storage requests, injected: {injected}")
    print(f"fault run: catalog vs bucket: {fault.extra['check']}")
    print(
        f"crash run: killed with {crash.extra['at_kill']} jobs; {crash.extra['downloads']} downloads; "
        f"acknowledged then lost: {crash.extra['acknowledged_then_lost']}; "
        f"replies sent {crash.reports} "
        f"(duplicated {crash.reports_duplicated}, lost {crash.extra['reports_lost']})"
    )
    print(f"crash run: catalog vs bucket: {crash.extra['check']}")
    bad = fault.lost + fault.duplicated + crash.lost + crash.duplicated
    return 1 if bad or not (fault.consistent and crash.consistent) else 0


if __name__ == "__main__":
    raise SystemExit(main())
