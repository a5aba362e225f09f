"""Mounts the Bolt app on Flask: POST /slack/events, and the install routes when multi-workspace.

Mounted only when a signing secret can verify requests; without one the app runs over Socket
Mode alone.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, Response, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler

from bot.runtime import ChatRuntime

from . import ingestion, install
from .access import SlackAccess
from .gate import SlackEventGate


def make_blueprint(app: App) -> Blueprint:
    handler = SlackRequestHandler(app)
    bp = Blueprint("slack", __name__, url_prefix="/slack")

    # SlackEventGate (installed with this blueprint) has verified every request that gets here.
    @bp.post("/events")
    def events() -> Response:
        return handler.handle(request)

    if app.oauth_flow is not None:

        @bp.get(install.INSTALL_PATH.removeprefix("/slack"))
        def install_page() -> Response:
            return handler.handle(request)

        @bp.get(install.REDIRECT_PATH.removeprefix("/slack"))
        def oauth_redirect() -> Response:
            return handler.handle(request)

    return bp


def event_gate(wsgi_app: Any, access: SlackAccess, chat: ChatRuntime, signing_secret: str) -> Any:
    """WSGI middleware that verifies Slack's requests and saves files before Bolt sees them."""
    return SlackEventGate(
        wsgi_app,
        signing_secret=signing_secret,
        files_to_save=access.files_to_save(ingestion.files_to_save),
        persist=functools.partial(ingestion.persist, chat.queue, chat.doorbell),
    )
