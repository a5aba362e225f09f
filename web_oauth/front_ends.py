"""Registers every front end on the app, and the chat runtime they share."""

from __future__ import annotations

import atexit
import logging
from typing import Any

import click
from flask import Flask

from bot.runtime import ChatRuntime
from storage.ingest import Foreground
from storage.services import Services

from . import startup

log = logging.getLogger("cloudbox")

CHAT_KEY = "cloudbox_ingest"
ON_LINKED_KEY = "cloudbox_on_linked"


def register(app: Flask, services: Services) -> None:
    chat = ChatRuntime.build(services)
    app.extensions[CHAT_KEY] = chat
    # The web link flow calls these with the LinkMade it just made.
    on_linked = app.extensions.setdefault(ON_LINKED_KEY, [])
    on_linked.append(lambda made: chat.worker.release(made.identity))

    # Each front end adds its registration below.
    from . import browser

    browser.init_app(app, services)  # Google sign-in and linking, /s/<token>, the gallery
    if services.settings.gchat_enabled:
        from bot.gchat import blueprint as gchat

        on_linked.append(gchat.init_app(app, services, chat).tell_linked)  # POST /gchat/events
    slack_front_end = None
    if services.settings.slack_enabled:
        from bot.slack import blueprint as slack

        # POST /slack/events (+ /slack/install when multi-workspace)
        slack_front_end = slack.init_app(app, services, chat)
        on_linked.append(slack_front_end.delivery.tell_linked)

    # While requests are in flight, background ingestion in this process steps aside for them.
    app.wsgi_app = _CountingRequests(app.wsgi_app, chat.worker.foreground)  # type: ignore[method-assign]

    # Tests drive the worker with drain(); a served process works the queue in the background
    # and first resumes whatever a previous process left (persisted before it was acknowledged).
    if app.config.get("CLOUDBOX_INGEST_THREADS", True) and not app.testing:
        chat.worker.start()
        atexit.register(chat.worker.stop)

    app_token = services.settings.slack_app_token
    socket_mode_on = bool(slack_front_end and app_token and not app.testing and not _one_off_command())
    if socket_mode_on:
        from bot.slack import socket_mode

        assert slack_front_end is not None and app_token is not None
        atexit.register(socket_mode.connect(slack_front_end.app, app_token).close)
    for line in startup.summary(services.settings, socket_mode=socket_mode_on):
        log.info("%s", line)


def _one_off_command() -> bool:
    """True inside a `flask` command other than `run` (doctor, audit, a migration...).

    Such a process ends soon: it must not take Slack envelopes it may never acknowledge.
    """
    context = click.get_current_context(silent=True)
    return context is not None and context.info_name != "run"


class _CountingRequests:
    """WSGI middleware: marks each request as foreground work while the app handles it."""

    def __init__(self, wsgi_app: Any, foreground: Foreground):
        self._wsgi_app = wsgi_app
        self._foreground = foreground

    def __call__(self, environ: Any, start_response: Any) -> Any:
        with self._foreground.request():
            return self._wsgi_app(environ, start_response)
