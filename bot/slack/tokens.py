"""Bot tokens for work done outside a Bolt request (the ingest worker's downloads and replies)."""

from __future__ import annotations

from slack_sdk.oauth.installation_store import InstallationStore

from bot.core import messages
from storage.errors import Rejected


class TokenSource:
    """One bot token (single workspace) or the installation store (multi-workspace)."""

    def __init__(self, *, bot_token: str | None = None, installation_store: InstallationStore | None = None):
        if not bot_token and installation_store is None:
            raise ValueError("a bot token or an installation store is needed")
        self._bot_token = bot_token
        self._store = installation_store

    def for_team(self, team_id: str | None, enterprise_id: str | None = None) -> str:
        """The bot token for a workspace; Rejected when CloudBox is not installed there."""
        if self._store is None:
            assert self._bot_token
            return self._bot_token
        bot = self._store.find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=bool(enterprise_id and not team_id),
        )
        if bot is None or not bot.bot_token:
            raise Rejected(messages.SLACK_NOT_INSTALLED)
        return bot.bot_token
