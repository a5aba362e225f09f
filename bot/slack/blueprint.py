"""Mounts the Bolt app on Flask: POST /slack/events, and the install routes when multi-workspace."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Flask, Response, request
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.runtime import ChatRuntime
from storage.services import Services

from . import install
from .app import SlackFrontEnd, build

SLACK_KEY = "cloudbox_slack"


def make_blueprint(front_end: SlackFrontEnd, signing_secret: str) -> Blueprint:
    handler = SlackRequestHandler(front_end.app)
    verifier = SignatureVerifier(signing_secret)
    bp = Blueprint("slack", __name__, url_prefix="/slack")

    # The signature is checked over the raw body before anything parses it (Bolt checks it
    # again: it must see the same raw bytes, which Flask caches).
    @bp.post("/events")
    def events() -> Response:
        # Bolt answers 401 to a missing signature but 500 to a timestamp that is not a number;
        # both are the same refusal.
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not timestamp.isdigit() or not signature:
            return Response("invalid request", status=401, mimetype="text/plain")
        # Bolt parses the body before it checks the signature, and a body that is not a JSON
        # object (or a form whose payload is not one) crashes it: anyone could make it answer
        # 500 and log a traceback. So: signature first, then the body's shape, then Bolt.
        raw = request.get_data(as_text=True)  # cached: Bolt reads the same raw body
        if not verifier.is_valid(raw, timestamp, signature):
            return Response("invalid request", status=401, mimetype="text/plain")
        if not _is_an_object(raw, request.content_type):
            return Response("unreadable body", status=400, mimetype="text/plain")
        return handler.handle(request)

    if front_end.app.oauth_flow is not None:

        @bp.get(install.INSTALL_PATH.removeprefix("/slack"))
        def install_page() -> Response:
            return handler.handle(request)

        @bp.get(install.REDIRECT_PATH.removeprefix("/slack"))
        def oauth_redirect() -> Response:
            return handler.handle(request)

    return bp


def _is_an_object(raw: str, content_type: str | None) -> bool:
    """What Bolt's parse_body will make of `raw` is a dict whose `event` (if any) is a dict."""
    if not raw:
        return True
    try:
        if content_type == "application/json" or raw.startswith("{"):
            body: Any = json.loads(raw)
        elif "payload" in raw:
            payload = dict(parse_qsl(raw, keep_blank_values=True)).get("payload")
            body = {} if payload is None else json.loads(payload)
        else:
            return True  # a slash command's plain form
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict) and isinstance(body.get("event", {}), dict)


def init_app(app: Flask, services: Services, chat: ChatRuntime) -> SlackFrontEnd:
    """Build the Slack front end; mount HTTP routes when a signing secret can verify them."""
    front_end = build(services, chat)
    app.extensions[SLACK_KEY] = front_end
    if services.settings.slack_signing_secret:
        app.register_blueprint(make_blueprint(front_end, services.settings.slack_signing_secret))
    return front_end
