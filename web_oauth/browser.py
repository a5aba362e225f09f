"""The browser-facing front end: Google sign-in and linking, share links and the gallery."""

from __future__ import annotations

from flask import Flask

from storage.services import Services

from . import gallery, local_signin, security, shares, signin


def init_app(app: Flask, services: Services) -> None:
    """Security headers, CSRF and error pages, then the browser blueprints (rate limits come
    after every blueprint, in `create_app`)."""
    security.init_app(app, services)
    app.register_blueprint(signin.bp)
    app.register_blueprint(local_signin.bp)
    app.register_blueprint(shares.bp)
    app.register_blueprint(gallery.bp)
