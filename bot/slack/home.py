"""App Home: the core's home reply (link status, recent images, active links) as a Home view."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.commands import Actor
from bot.core.handler import CommandCore
from storage.accounts import Identity

from . import blocks
from .people import identity

log = logging.getLogger(__name__)


class HomeView:
    def __init__(self, core: CommandCore):
        self._core = core  # the tab says what the core says

    def view(self, who: Identity) -> dict[str, Any]:
        return blocks.home(self._core.home(Actor(who)))

    def publish(self, client: WebClient, context: BoltContext) -> None:
        who = identity(context.team_id, context.enterprise_id, context.user_id or "")
        try:
            client.views_publish(user_id=who.chat_user, view=self.view(who))
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "error"
            log.warning("views.publish failed for team %s: %s", context.team_id, error)


def register(app: App, home: HomeView) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            home.publish(client, context)
