"""Where the machine's CPU went during a measurement: seconds per kind of process (Linux /proc).

The stand runs everything on one machine: the service (gunicorn), the storage emulator, the
database, and the bench itself (the load and the fake Slack API). Anything else is "other".
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _group(pid: int, cmdline: str, comm: str) -> str:
    if pid == os.getpid():
        return "bench (load, fake Slack API)"
    if "gunicorn" in cmdline:
        return "service (gunicorn)"
    if "fake-gcs-server" in comm or "fake-gcs-server" in cmdline:
        return "storage emulator"
    if comm.startswith("postgres") or cmdline.startswith("postgres"):
        return "PostgreSQL"
    return "other"


def snapshot() -> dict[str, float]:
    """CPU seconds used so far by each group's living processes."""
    used: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # it ended meanwhile
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
        group = _group(int(entry.name), cmdline, comm)
        used[group] = used.get(group, 0.0) + seconds
    return used


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Seconds each group used between two snapshots (processes that ended are not counted)."""
    return {g: after[g] - before.get(g, 0.0) for g in after if after[g] - before.get(g, 0.0) > 0.05}


def describe(seconds: dict[str, float]) -> str:
    return ", ".join(f"{g} {s:.1f} s" for g, s in sorted(seconds.items(), key=lambda kv: -kv[1]))
