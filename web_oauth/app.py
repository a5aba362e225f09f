"""`create_app()`: the process's composition root.

Everything the process runs is built here, in order, from one `Settings` (read once, every
problem reported together): the storage services, the chat runtime, each chat front end with
its platform client, the ingest worker over those front ends, the OAuth client, the rate
limiter, the blueprints and the WSGI wrappers. Request-time code reaches what was built through
`extensions.components()`.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.front_end import ChatFrontEnd
from bot.gchat import front_end as gchat_front_end
from bot.ingest.worker import IngestWorker
from bot.runtime import ChatRuntime
from bot.slack import app as slack_app
from storage.accounts import LinkMade
from storage.services import Services
from storage.settings import ConfigError, Settings

from . import (
    browser,
    cli,
    extensions,
    health,
    log_format,
    metrics,
    request_logs,
    security,
    setup_page,
    startup,
)
from .extensions import Components, services_of
from .foreground import CountingRequests, Foreground
from .oidc import OidcClient
from .slow_bodies import SlowBodyGuard

__all__ = ["create_app", "services_of"]

log = logging.getLogger("cloudbox")


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    """Build the CloudBox web app. Tests pass their own settings or services."""
    _configure_logging()
    settings = services.settings if services is not None else settings or _settings_from_env()
    if settings.log_format == "json":
        log_format.install(settings.google_cloud_project)
    app = _flask_app(settings, test_config)
    if services is None:
        services = Services.build(settings)
        atexit.register(services.close)

    built = _components(services)
    extensions.install(app, built)

    health.init_app(app)
    metrics.init_app(app)  # 404 unless CLOUDBOX_METRICS_TOKEN is set
    setup_page.init_app(app)
    cli.init_app(app)
    browser.init_app(app, services)  # Google sign-in and linking, /s/<token>, the gallery
    for front_end in built.front_ends.values():
        if (routes := front_end.blueprint()) is not None:
            app.register_blueprint(routes)  # POST /slack/events, POST /gchat/events
    security.init_limits(app, security.limiter(app, services))  # after every blueprint

    # WSGI wrappers, innermost first.
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    for front_end in built.front_ends.values():
        app.wsgi_app = front_end.wrap(app.wsgi_app)  # type: ignore[method-assign]  # Slack's event gate
    # While requests are in flight, background ingestion in this process steps aside for them.
    app.wsgi_app = CountingRequests(app.wsgi_app, built.foreground)  # type: ignore[method-assign]
    # Outermost, so every body (the Slack gate reads its own first) arrives in time or not at all.
    app.wsgi_app = SlowBodyGuard(app.wsgi_app, max_waiting=settings.slow_bodies)  # type: ignore[method-assign]

    socket_mode_on = _start_background_work(app, built)
    for line in startup.summary(settings, socket_mode=socket_mode_on):
        log.info("%s", line)
    return app


# Each chat platform: one line. A factory returns None when the settings do not enable it.
CHAT_FRONT_ENDS: tuple[Callable[[Services, ChatRuntime], ChatFrontEnd | None], ...] = (
    slack_app.front_end,
    gchat_front_end.front_end,
)


def _components(services: Services) -> Components:
    """Every part of the process, each built once."""
    settings = services.settings
    chat = ChatRuntime.build(services)
    front_ends = {f.name: f for f in (build(services, chat) for build in CHAT_FRONT_ENDS) if f is not None}
    foreground = Foreground()
    worker = IngestWorker(
        chat.queue,
        services.library,
        services.accounts,
        front_ends,
        doorbell=chat.doorbell,
        step_aside=foreground.wait_idle,
        lease=settings.ingest_lease,
    )

    def release_waiting_files(made: LinkMade) -> None:
        worker.release(made.identity)

    return Components(
        services=services,
        chat=chat,
        worker=worker,
        foreground=foreground,
        front_ends=front_ends,
        oidc=OidcClient.from_settings(settings),
        on_linked=[release_waiting_files, *(f.tell_linked for f in front_ends.values())],
    )


def _start_background_work(app: Flask, built: Components) -> bool:
    """A served process works the ingest queue (first resuming whatever a previous process
    left, persisted before it was acknowledged) and opens Slack's socket when it has an app
    token. Tests drive the worker with drain(). True when Socket Mode is on."""
    if app.testing:
        return False
    if app.config.get("CLOUDBOX_INGEST_THREADS", True):
        built.worker.start()
        atexit.register(built.worker.stop)
    if _one_off_command():
        return False
    connected = False
    for front_end in built.front_ends.values():
        if (close := front_end.connect()) is not None:
            atexit.register(close)
            connected = True
    return connected


def _one_off_command() -> bool:
    """True inside a `flask` command other than `run` (doctor, audit, a migration...).

    Such a process ends soon: it must not take Slack envelopes it may never acknowledge.
    """
    context = click.get_current_context(silent=True)
    return context is not None and context.info_name != "run"


def _settings_from_env() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        # Every problem, by name, instead of a traceback; the process cannot start.
        raise SystemExit(str(exc)) from None


def _flask_app(settings: Settings, test_config: dict[str, Any] | None) -> Flask:
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
    return app


def _configure_logging() -> None:
    """INFO to stderr unless the server (gunicorn, a test runner) has configured logging."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    request_logs.install()  # share and link tokens never reach a request log
