"""Slack over Socket Mode: events arrive on a WebSocket opened with the app-level token.

A served CloudBox process (`flask run`, each gunicorn worker) opens one connection when
SLACK_APP_TOKEN is set (Slack allows up to ten per app and spreads envelopes over them), so the
first README command runs the web side and the Slack bot together, with no public URL.
`python -m bot.slack.socket_mode` is kept as another name for that: it serves on
CLOUDBOX_BASE_URL's port.
"""

from __future__ import annotations

import logging
import sys
from urllib.parse import urlsplit

from slack_bolt import App
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler

from storage.settings import ConfigError, Settings

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


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not settings.slack_app_token or not settings.slack_enabled:
        print("Socket Mode needs SLACK_APP_TOKEN (xapp-...) and SLACK_BOT_TOKEN.", file=sys.stderr)
        return 2

    from web_oauth import create_app

    app = create_app(settings)  # connects, as every served process does
    parts = urlsplit(settings.base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    log.info("Web side on 127.0.0.1:%s (%s)", port, settings.base_url)
    app.run(host="127.0.0.1", port=port, use_reloader=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
