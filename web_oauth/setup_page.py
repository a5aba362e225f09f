"""`/`: the gallery once Google sign-in is configured, the set-up checklist until then."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, render_template

from . import doctor

bp = Blueprint("setup", __name__)


@bp.get("/setup")
def checklist() -> Any:
    from .app import services_of

    services = services_of(current_app)
    checks = doctor.run_checks(services, network=False)
    return render_template("setup.html", checks=checks, embedded=services.settings.embedded)


def index() -> Any:
    from . import local_signin
    from .app import services_of
    from .gallery import home

    if services_of(current_app).settings.google_oauth_enabled or local_signin.offered():
        return home()
    return checklist()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_url_rule("/", "index", index)
