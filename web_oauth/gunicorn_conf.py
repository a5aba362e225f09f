"""gunicorn settings for CloudBox's metrics: `gunicorn -c python:web_oauth.gunicorn_conf …`.

With PROMETHEUS_MULTIPROC_DIR set, each worker keeps its counters in that folder; a worker that
exits must have its live gauges dropped from the sum, or a restarted worker would count twice.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import multiprocess


def child_exit(_server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
