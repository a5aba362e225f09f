"""Mounts the Bolt app on Flask: POST /slack/events, and the install routes when multi-workspace."""

from __future__ import annotations

import functools

from flask import Blueprint, Flask, Response, request
from slack_bolt.adapter.flask import SlackRequestHandler

from bot.runtime import ChatRuntime
from storage.services import Services

from . import ingestion, install
from .app import SlackFrontEnd, build
from .gate import SlackEventGate

SLACK_KEY = "cloudbox_slack"


def make_blueprint(front_end: SlackFrontEnd) -> Blueprint:
    handler = SlackRequestHandler(front_end.app)
    bp = Blueprint("slack", __name__, url_prefix="/slack")

    # SlackEventGate (installed with this blueprint) has verified every request that gets here.
    @bp.post("/events")
    def events() -> Response:
        return handler.handle(request)

    if front_end.app.oauth_flow is not None:

        @bp.get(install.INSTALL_PATH.removeprefix("/slack"))
        def install_page() -> Response:
            return handler.handle(request)

        @bp.get(install.REDIRECT_PATH.removeprefix("/slack"))
        def oauth_redirect() -> Response:
            return handler.handle(request)

    return bp


def init_app(app: Flask, services: Services, chat: ChatRuntime) -> SlackFrontEnd:
    """Build the Slack front end; mount HTTP routes when a signing secret can verify them."""
    front_end = build(services, chat)
    app.extensions[SLACK_KEY] = front_end
    secret = services.settings.slack_signing_secret
    if secret:
        app.register_blueprint(make_blueprint(front_end))
        app.wsgi_app = SlackEventGate(  # type: ignore[method-assign]
            app.wsgi_app,
            signing_secret=secret,
            files_to_save=front_end.access.files_to_save(ingestion.files_to_save),
            persist=functools.partial(ingestion.persist, chat.queue, chat.worker),
        )
    return front_end
