"""The figures `python -m bench.run` prints: nearest-rank percentiles and the Markdown table."""

from __future__ import annotations

from bench.table import Row, markdown, percentile


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile([3.0, 1.0, 2.0], 99) == 3  # with few samples p99 is the maximum


def test_table_shows_target_result_and_ratio() -> None:
    row = Row.of("ack", "ms", [10.0, 20.0, 400.0], target="p99 < 300 ms", ok=False)
    ratio = Row("put", "MiB/s", 3, 90.0, baseline=100.0, ratio=0.9, target=">= 0.70 x plain", ok=True)
    lines = markdown([row, ratio]).splitlines()
    assert lines[0].split("|")[1].strip() == "measure"
    assert "20.0 ms" in lines[2] and "MISSES" in lines[2] and "400" in lines[2]
    assert "meets" in lines[3] and "0.90" in lines[3] and "100 MiB/s" in lines[3]
    assert len({len(line) for line in lines}) == 1  # columns line up
