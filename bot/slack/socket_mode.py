"""Slack over Socket Mode: events arrive on a WebSocket opened with the app-level token.

A served CloudBox process (`flask run`, each gunicorn worker) opens one connection when
SLACK_APP_TOKEN is set (Slack allows up to ten per app and spreads envelopes over them), so the
first README command runs the web side and the Slack bot together, with no public URL.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler

log = logging.getLogger("cloudbox.slack.socket_mode")


def connect(app: App, app_token: str) -> SocketModeHandler:
    """Open the connection in the background; Bolt handles each envelope as it handles HTTP.

    File messages go through the same `ingestion` middleware as over HTTP, which writes the
    jobs before the listener returns, and the handler acknowledges the envelope only after that:
    persisted before acknowledged, on both paths.
    """
    # websocket-client, not slack_sdk's built-in client: at each connection refresh that one stops
    # handling envelopes for up to its 3 s receive timeout (close() waits on the reader's lock).
    handler = SocketModeHandler(app, app_token, logger=logging.getLogger("cloudbox.slack.socket_mode"))
    handler.connect()
    return handler
