"""Multi-workspace install: Slack's OAuth v2 flow with installations kept in CloudBox's database.

Installations and OAuth states live in slack-sdk's own SQLAlchemy tables (`slack_installations`,
`slack_bots`, `slack_oauth_states`) on the catalog's engine. Uninstalling the app or revoking its
tokens deletes what was stored for that workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.listener.builtins import TokenRevocationListeners
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from storage.settings import Settings

# The fewest scopes that work (manifest.yaml lists the same).
BOT_SCOPES = (
    "app_mentions:read",
    "chat:write",
    "commands",
    "files:read",
    "im:history",
    "users:read",
    "users:read.email",
)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600


def oauth_settings(settings: Settings, engine: Engine) -> OAuthSettings:
    assert settings.slack_client_id and settings.slack_client_secret
    installations = SQLAlchemyInstallationStore(client_id=settings.slack_client_id, engine=engine)
    states = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine)
    installations.create_tables()  # CREATE TABLE IF NOT EXISTS: safe on every start
    states.create_tables()
    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(BOT_SCOPES),
        redirect_uri=settings.url_for(REDIRECT_PATH),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=installations,
        state_store=states,
        state_expiration_seconds=STATE_SECONDS,
    )


def register_cleanup(app: App, store: InstallationStore) -> None:
    """Forget a workspace's tokens when the app is uninstalled or its tokens are revoked.

    Done before the event is acknowledged (as listener middleware), so no revoked token is
    left behind if the process stops right after answering.
    """
    revocation = TokenRevocationListeners(store)

    def forget_workspace(context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002
        revocation.handle_app_uninstalled_events(context)
        next()

    def forget_tokens(event: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002
        revocation.handle_tokens_revoked_events(event, context)
        next()

    app.event("app_uninstalled", middleware=[forget_workspace])(_done)
    app.event("tokens_revoked", middleware=[forget_tokens])(_done)


def _done() -> None:
    return None
