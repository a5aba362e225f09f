"""`POST /gchat/events`: the Google Chat app endpoint. The bearer token is checked first."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request

from .events import BadEvent, parse_event
from .handler import GchatHandler
from .verify import ChatTokenVerifier, Unverified

log = logging.getLogger(__name__)


def make_blueprint(verifier: ChatTokenVerifier, handler: GchatHandler) -> Blueprint:
    bp = Blueprint("gchat", __name__)

    @bp.post("/gchat/events")
    def events():  # type: ignore[no-untyped-def]
        try:
            verifier.verify(request.headers.get("Authorization"))
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
        return jsonify(handler.handle(event))

    return bp


def _json_body() -> object:
    try:
        return request.get_json(silent=True)
    except RecursionError:  # JSON nested deeper than the parser's stack: not an event
        raise BadEvent("event body is nested too deeply") from None
