"""Liveness and readiness."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, jsonify

from storage import db

from .extensions import services_of

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """The process is up. Checks nothing else, so a slow dependency never restarts it."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    """Ready when the catalog and the bucket both answer."""

    services = services_of(current_app)
    checks: dict[str, str] = {}
    for name, probe in (("database", lambda: db.ping(services.engine)), ("bucket", services.blobs.check)):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # report, never raise: this is the readiness answer
            log.warning("readiness: %s failed: %s", name, type(exc).__name__)
            checks[name] = "unavailable"
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
