"""One row per figure of `python -m bench.run`, the statistics behind it, and the printed table."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100): with n < 100 samples, p99 is the maximum."""
    ordered = sorted(values)
    rank = int(-(-len(ordered) * p // 100))  # ceil(n * p / 100), 1-based
    return ordered[min(len(ordered) - 1, max(0, rank - 1))]


@dataclass
class Row:
    measure: str
    unit: str = ""
    n: int = 0  # samples behind the figures
    median: float | None = None
    p95: float | None = None
    p99: float | None = None
    target: str = ""
    ok: bool | None = None  # None: no target
    baseline: float | None = None  # the baseline's median, measured in the same run
    ratio: float | None = None
    note: str = ""
    text: str = ""  # a value that is not a number ("0 lost / 0 duplicated")

    @classmethod
    def of(cls, measure: str, unit: str, samples: Sequence[float], **kwargs: object) -> Row:
        return cls(
            measure,
            unit,
            len(samples),
            statistics.median(samples),
            percentile(samples, 95),
            percentile(samples, 99),
            **kwargs,  # type: ignore[arg-type]
        )


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f}" + (f" {unit}" if unit else "")


COLUMNS = ("measure", "n", "median", "p95", "p99", "target", "result", "baseline", "ratio")


def cells(row: Row) -> tuple[str, ...]:
    result = "" if row.ok is None else ("meets" if row.ok else "MISSES")
    median = row.text or _num(row.median, row.unit)
    measure = row.measure + (f" ({row.note})" if row.note else "")
    return (
        measure,
        str(row.n) if row.n else "",
        median,
        _num(row.p95),
        _num(row.p99),
        row.target,
        result,
        _num(row.baseline, row.unit),
        f"{row.ratio:.2f}" if row.ratio is not None else "",
    )


def markdown(rows: Sequence[Row]) -> str:
    """A GitHub table: readable in a terminal and pasted into the README as it is."""
    table = [COLUMNS, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |" for line in table
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
