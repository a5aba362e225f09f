"""`create_app()`: the process's composition root.

Settings are read once (every problem reported together), storage services are built from
them, and each front end (health, setup page, chat bots, gallery) is registered as a blueprint.
"""

from __future__ import annotations

import atexit
import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from storage.services import Services
from storage.settings import ConfigError, Settings

from . import cli, front_ends, health, request_logs, setup_page
from .extensions import SERVICES_KEY, services_of
from .slow_bodies import SlowBodyGuard

__all__ = ["create_app", "services_of"]

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    """Build the CloudBox web app. Tests pass their own settings or services."""
    if services is not None:
        settings = services.settings
    _configure_logging()
    if settings is None:
        try:
            settings = Settings.from_env()
        except ConfigError as exc:
            # Every problem, by name, instead of a traceback; the process cannot start.
            raise SystemExit(str(exc)) from None
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PREFERRED_URL_SCHEME="https" if settings.base_url.startswith("https://") else "http",
    )
    if test_config:
        app.config.update(test_config)
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )

    if services is None:
        services = Services.build(settings)
        atexit.register(services.close)
    app.extensions[SERVICES_KEY] = services

    health.init_app(app)
    setup_page.init_app(app)
    cli.init_app(app)
    _register_front_ends(app, services)
    # Outermost, so every body (the Slack gate reads its own first) arrives in time or not at all.
    app.wsgi_app = SlowBodyGuard(app.wsgi_app, max_waiting=settings.slow_bodies)  # type: ignore[method-assign]
    return app


def _register_front_ends(app: Flask, services: Services) -> None:
    """Chat bots, linking and the gallery register themselves here as they are built."""
    front_ends.register(app, services)


def _configure_logging() -> None:
    """INFO to stderr unless the server (gunicorn, a test runner) has configured logging."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    request_logs.install()  # share and link tokens never reach a request log
