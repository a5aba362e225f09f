"""The browser-facing front end: Google sign-in and linking, share links and the gallery."""

from __future__ import annotations

from flask import Flask

from storage.services import Services

from . import gallery, local_signin, security, shares, signin


def init_app(app: Flask, services: Services) -> None:
    security.init_app(app, services)
    app.extensions.setdefault(signin.ON_LINKED, [])
    app.register_blueprint(signin.bp)
    app.register_blueprint(local_signin.bp)
    app.register_blueprint(shares.bp)
    app.register_blueprint(gallery.bp)
    security.init_limits(app, services)
