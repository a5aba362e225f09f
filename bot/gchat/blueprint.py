"""`POST /gchat/events`: the Google Chat app endpoint. The bearer token is checked first."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Blueprint, Flask, current_app, jsonify, request

from bot.runtime import ChatRuntime
from storage.services import Services

from .events import BadEvent, parse_event
from .handler import GchatHandler
from .media import ChatApi, chat_credentials
from .verify import CertCache, ChatTokenVerifier, Unverified

log = logging.getLogger(__name__)
bp = Blueprint("gchat", __name__)
GCHAT_KEY = "cloudbox_gchat"


@dataclass
class GchatBot:
    verifier: ChatTokenVerifier
    handler: GchatHandler
    api: ChatApi


@bp.post("/gchat/events")
def events():  # type: ignore[no-untyped-def]
    bot: GchatBot = current_app.extensions[GCHAT_KEY]
    try:
        bot.verifier.verify(request.headers.get("Authorization"))
    except Unverified as exc:
        # The reason names the failed check; the token itself is never logged.
        log.warning("gchat: refused a request from %s: %s", request.remote_addr, exc.reason)
        return jsonify(error="unauthorized"), 401
    try:
        event = parse_event(_json_body())
    except BadEvent as exc:
        log.warning("gchat: unreadable event: %s", exc)
        return jsonify(error="bad event"), 400
    log.info("gchat: %s event (%s format)", event.raw_type, event.format)
    return jsonify(bot.handler.handle(event))


def _json_body() -> object:
    try:
        return request.get_json(silent=True)
    except RecursionError:  # JSON nested deeper than the parser's stack: not an event
        raise BadEvent("event body is nested too deeply") from None


def init_app(app: Flask, services: Services, runtime: ChatRuntime) -> GchatHandler:
    """Build the Chat bot over the app's shared chat runtime and register its route."""
    settings = services.settings
    assert settings.gchat_audience, "the Google Chat bot needs GCHAT_AUDIENCE"
    api = ChatApi(
        settings.gchat_api_url, lambda: chat_credentials(settings), max_bytes=settings.max_upload_bytes
    )
    handler = GchatHandler(settings, services.accounts, runtime.core, runtime.queue, runtime.worker, api)
    handler.register()
    verifier = ChatTokenVerifier(
        settings.gchat_audience,
        CertCache(settings.effective_gchat_certs_url),
        project_number=settings.gchat_project_number,
    )
    app.extensions[GCHAT_KEY] = GchatBot(verifier, handler, api)
    app.register_blueprint(bp)
    return handler
