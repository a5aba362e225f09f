"""`/`: the gallery once Google sign-in is configured, the set-up checklist until then.

The checklist names the bucket, the database and the chat set-up, and running it lists the
bucket and signs a URL. So it is served only while CloudBox is unconfigured (no Google sign-in
yet: the admin setting it up is the only visitor who needs it; `doctor` tells the rest), and its
result is reused for a few seconds, so repeated visits cannot turn into a stream of probes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, render_template

from storage.services import Services

from . import local_signin
from .extensions import components, services
from .gallery import home

bp = Blueprint("setup", __name__)


@bp.get("/setup")
def checklist() -> Any:
    services = _services()
    if services.settings.google_oauth_enabled:
        abort(404)  # configured: what it would show is the admin's business (`doctor`)
    checks = components().recent_checks.get(services)
    return render_template("setup.html", checks=checks, embedded=services.settings.embedded)


def index() -> Any:
    if _services().settings.google_oauth_enabled or local_signin.offered():
        return home()
    return checklist()


def _services() -> Services:
    return services()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_url_rule("/", "index", index)
