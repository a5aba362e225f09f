"""`python -m bot.slack.socket_mode`: CloudBox over Slack Socket Mode, no public URL needed.

Slack events arrive over a WebSocket opened with the app-level token (SLACK_APP_TOKEN); the
web side (account linking, gallery, share links) is served on CLOUDBOX_BASE_URL's port.
"""

from __future__ import annotations

import logging
import sys
from urllib.parse import urlsplit

from slack_bolt.adapter.socket_mode import SocketModeHandler

from storage.settings import ConfigError, Settings

log = logging.getLogger("cloudbox.slack.socket_mode")


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

    from .blueprint import SLACK_KEY

    app = create_app(settings)
    handler = SocketModeHandler(app.extensions[SLACK_KEY].app, settings.slack_app_token)
    handler.connect()  # a background WebSocket; the web side runs in this thread
    parts = urlsplit(settings.base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    log.info("Slack Socket Mode connected; web side on 127.0.0.1:%s (%s)", port, settings.base_url)
    try:
        app.run(host="127.0.0.1", port=port, use_reloader=False)
    finally:
        handler.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
