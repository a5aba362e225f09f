"""`POST /gchat/events`: the Google Chat app endpoint. The bearer token is checked first."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Blueprint, jsonify, request

from bot.runtime import ChatRuntime
from storage.services import Services

from .events import BadEvent, parse_event
from .handler import GchatHandler
from .media import ChatApi, chat_credentials
from .verify import CertCache, ChatTokenVerifier, Unverified

log = logging.getLogger(__name__)


@dataclass
class GchatBot:
    verifier: ChatTokenVerifier
    handler: GchatHandler
    api: ChatApi


def api_for(services: Services) -> ChatApi:
    """The Chat API client of a process, as the app (credentials made on first use)."""
    settings = services.settings
    return ChatApi(
        settings.gchat_api_url, lambda: chat_credentials(settings), max_bytes=settings.max_upload_bytes
    )


def build(services: Services, chat: ChatRuntime, api: ChatApi) -> GchatBot:
    """The Chat bot over the process's shared chat runtime."""
    settings = services.settings
    assert settings.gchat_audience, "the Google Chat bot needs GCHAT_AUDIENCE"
    handler = GchatHandler(settings, services.accounts, chat.core, chat.queue, chat.doorbell, api)
    verifier = ChatTokenVerifier(
        settings.gchat_audience,
        CertCache(settings.effective_gchat_certs_url),
        project_number=settings.gchat_project_number,
    )
    return GchatBot(verifier, handler, api)


def make_blueprint(bot: GchatBot) -> Blueprint:
    bp = Blueprint("gchat", __name__)

    @bp.post("/gchat/events")
    def events():  # type: ignore[no-untyped-def]
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

    return bp


def _json_body() -> object:
    try:
        return request.get_json(silent=True)
    except RecursionError:  # JSON nested deeper than the parser's stack: not an event
        raise BadEvent("event body is nested too deeply") from None
