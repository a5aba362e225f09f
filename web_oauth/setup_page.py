"""The start page while CloudBox is unconfigured: the same checklist as `doctor`."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template

from . import doctor

bp = Blueprint("setup", __name__)


@bp.get("/setup")
def checklist():  # type: ignore[no-untyped-def]
    from .app import services_of

    services = services_of(current_app)
    checks = doctor.run_checks(services, network=False)
    return render_template("setup.html", checks=checks, embedded=services.settings.embedded)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    if "index" not in app.view_functions:
        # Until the gallery (which needs Google sign-in) is configured, "/" is the checklist.
        app.add_url_rule("/", "index", checklist)
