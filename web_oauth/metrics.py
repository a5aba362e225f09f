"""`GET /metrics`: Prometheus metrics, served only to whoever holds CLOUDBOX_METRICS_TOKEN.

Without the setting the route answers 404; with it, a scrape must send
`Authorization: Bearer <token>`. Under gunicorn, set PROMETHEUS_MULTIPROC_DIR (an empty folder)
and start with `-c python:web_oauth.gunicorn_conf`: every worker writes its counters there and
any worker answers for all. The ingest backlog is read from the catalog at each scrape, so it is
the whole service's, whichever process answers.

Nothing here names a person: labels are platform names, outcomes and reasons.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, abort, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storage.ingest_queue import IngestQueue

from .extensions import components

SHARE_VIEWS = Counter(
    "cloudbox_share_views",
    "Visits of share links: counted (a person), preview (a chat's link preview, not counted), gone.",
    ["result"],
)

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    token = components().services.settings.metrics_token
    if token is None:
        abort(404)
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        abort(401)
    live = CollectorRegistry(auto_describe=False)
    live.register(_Backlog(components().chat.queue))
    body = generate_latest(_counters()) + generate_latest(live)
    return Response(body, mimetype="text/plain; version=0.0.4")


def _counters() -> CollectorRegistry:
    """This process's counters, or every gunicorn worker's in multiprocess mode."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    return registry


class _Backlog(Collector):
    """The ingest queue's unfinished jobs by status, and the oldest runnable job's wait."""

    def __init__(self, queue: IngestQueue):
        self._queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = self._queue.backlog()
        depth = GaugeMetricFamily(
            "cloudbox_ingest_jobs", "Unfinished ingest jobs, by status.", labels=["status"]
        )
        for status, count in backlog.counts.items():
            depth.add_metric([status.value], count)
        yield depth
        yield GaugeMetricFamily(
            "cloudbox_ingest_oldest_job_seconds",
            "How long the oldest queued or running ingest job has waited (0 when none).",
            value=backlog.oldest_seconds or 0.0,
        )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
