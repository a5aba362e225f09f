"""`/`: the gallery once Google sign-in is configured, the set-up checklist until then.

The checklist names the bucket, the database and the chat set-up, and running it lists the
bucket and signs a URL. So it is served only while CloudBox is unconfigured (no Google sign-in
yet: the admin setting it up is the only visitor who needs it; `doctor` tells the rest), and its
result is reused for a few seconds, so repeated visits cannot turn into a stream of probes.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Blueprint, Flask, abort, current_app, render_template

from storage.services import Services

from . import doctor, local_signin
from .extensions import services
from .gallery import home

bp = Blueprint("setup", __name__)

CHECKS_SECONDS = 10.0  # how long one run of the checks answers every visit
_CHECKS_KEY = "cloudbox_setup_checks"


@bp.get("/setup")
def checklist() -> Any:
    services = _services()
    if services.settings.google_oauth_enabled:
        abort(404)  # configured: what it would show is the admin's business (`doctor`)
    return render_template("setup.html", checks=_recent_checks(services), embedded=services.settings.embedded)


def index() -> Any:
    if _services().settings.google_oauth_enabled or local_signin.offered():
        return home()
    return checklist()


def _services() -> Services:
    return services()


class _RecentChecks:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at = float("-inf")
        self.checks: list[doctor.Check] = []


def _recent_checks(services: Services) -> list[doctor.Check]:
    recent: _RecentChecks = current_app.extensions[_CHECKS_KEY]
    with recent.lock:  # one run at a time; visits meanwhile wait for it and share its result
        if time.monotonic() - recent.at >= CHECKS_SECONDS:
            recent.checks = doctor.run_checks(services, network=False)
            recent.at = time.monotonic()
        return recent.checks


def init_app(app: Flask) -> None:
    app.extensions[_CHECKS_KEY] = _RecentChecks()
    app.register_blueprint(bp)
    app.add_url_rule("/", "index", index)
