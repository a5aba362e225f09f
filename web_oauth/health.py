"""Liveness and readiness."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify

from storage import db
from storage.ingest_queue import IngestQueue

from .extensions import components_of

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """The process is up. Checks nothing else, so a slow dependency never restarts it."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    """Ready when the catalog and the bucket both answer; also says what the ingest queue holds
    (a backlog does not make the process unready: restarting it would not help)."""

    built = components_of(current_app)
    services = built.services
    checks: dict[str, str] = {}
    for name, probe in (("database", lambda: db.ping(services.engine)), ("bucket", services.blobs.check)):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # report, never raise: this is the readiness answer
            log.warning("readiness: %s failed: %s", name, type(exc).__name__)
            checks[name] = "unavailable"
    ok = all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
    if checks["database"] == "ok":
        body["backlog"] = _backlog(built.chat.queue)
    return jsonify(body), 200 if ok else 503


def _backlog(queue: IngestQueue) -> dict[str, Any]:
    backlog = queue.backlog()
    return {
        **{status.value: count for status, count in backlog.counts.items()},
        "oldest_seconds": round(backlog.oldest_seconds or 0.0, 1),
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
