"""Mounts the Bolt app on Flask: POST /slack/events, and the install routes when multi-workspace."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request
from slack_bolt.adapter.flask import SlackRequestHandler

from bot.runtime import ChatRuntime
from storage.services import Services

from . import install
from .app import SlackFrontEnd, build

SLACK_KEY = "cloudbox_slack"


def make_blueprint(front_end: SlackFrontEnd) -> Blueprint:
    handler = SlackRequestHandler(front_end.app)
    bp = Blueprint("slack", __name__, url_prefix="/slack")

    # Bolt verifies the signature over the raw body: nothing here reads or parses it first.
    @bp.post("/events")
    def events() -> Response:
        # Bolt answers 401 to a missing signature but 500 to a timestamp that is not a number;
        # both are the same refusal.
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not timestamp.isdigit() or not request.headers.get("X-Slack-Signature"):
            return Response("invalid request", status=401, mimetype="text/plain")
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
    if services.settings.slack_signing_secret:
        app.register_blueprint(make_blueprint(front_end))
    return front_end
