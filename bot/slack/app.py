"""Builds the Bolt app from Settings and the shared services, with explicit arguments only.

Bolt falls back to SLACK_* environment variables for anything not given; CloudBox passes every
value from its Settings so that nothing past the composition root reads the environment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from flask import Blueprint
from slack_bolt import App
from slack_bolt.logger import messages as bolt_messages
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.ingest.platform import Outcome
from bot.runtime import ChatRuntime
from storage.accounts import LinkMade
from storage.ingest_queue import Job
from storage.services import Services

from . import blueprint, commands, home, ingestion, install, socket_mode
from .access import SlackAccess, installed_workspaces, single_workspace
from .delivery import SlackDelivery
from .fetcher import SlackFetcher
from .profiles import SlackProfiles
from .tokens import TokenSource

log = logging.getLogger(__name__)

# slack_sdk logs request bodies (our Block Kit, with signed preview URLs) at DEBUG: keep its
# clients on a logger that never goes below INFO.
_sdk_log = logging.getLogger("cloudbox.slack.web")
_sdk_log.setLevel(logging.INFO)


@dataclass
class SlackFrontEnd:
    """The Bolt app and its parts: the Slack `ChatFrontEnd` (see bot/front_end.py)."""

    app: App
    tokens: TokenSource
    fetcher: SlackFetcher
    delivery: SlackDelivery
    home: home.HomeView
    access: SlackAccess
    chat: ChatRuntime
    signing_secret: str | None  # None: Socket Mode only, no HTTP route
    app_token: str | None  # set: Socket Mode

    @property
    def name(self) -> str:
        return "slack"

    def fetch(self, job: Job) -> AbstractContextManager[BinaryIO]:
        return self.fetcher(job)

    def report(self, outcomes: list[Outcome], linked_now: bool) -> None:
        self.delivery.report(outcomes, linked_now)

    def ask_to_link(self, jobs: list[Job]) -> None:
        self.delivery.ask_to_link(jobs)

    def tell_linked(self, made: LinkMade) -> None:
        self.delivery.tell_linked(made)

    def blueprint(self) -> Blueprint | None:
        return blueprint.make_blueprint(self.app) if self.signing_secret else None

    def wrap(self, wsgi_app: Any) -> Any:
        if not self.signing_secret:
            return wsgi_app
        return blueprint.event_gate(wsgi_app, self.access, self.chat, self.signing_secret)

    def connect(self) -> Callable[[], None] | None:
        if not self.app_token:
            return None
        return socket_mode.connect(self.app, self.app_token).close


def front_end(services: Services, chat: ChatRuntime) -> SlackFrontEnd | None:
    """The Slack front end when Slack is configured, over the process's one Web API client."""
    if not services.settings.slack_enabled:
        return None
    return build(services, chat, client_for(services))


def web_client(base_url: str, token: str | None = None) -> WebClient:
    """A Web API client that honours 429 Retry-After and retries dropped connections."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=15,
        logger=_sdk_log,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def client_for(services: Services) -> WebClient:
    """The one Web API client of a process: with the bot token of a single workspace (calls
    for another workspace pass their own token), without one when installed to many."""
    settings = services.settings
    return web_client(
        settings.slack_api_url, None if settings.slack_multi_workspace else settings.slack_bot_token
    )


def build(
    services: Services,
    chat: ChatRuntime,
    client: WebClient,
    *,
    listener_executor: Executor | None = None,
) -> SlackFrontEnd:
    """The Bolt app with every CloudBox listener, over `client` (see `client_for`)."""
    settings = services.settings
    # Without a signing secret the app only runs over Socket Mode (no HTTP route is mounted).
    verify = settings.slack_signing_secret is not None
    common = dict(
        name="cloudbox",
        logger=logging.getLogger("cloudbox.slack.bolt"),
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=verify,
        listener_executor=listener_executor,
    )
    if settings.slack_multi_workspace:
        oauth = install.oauth_settings(settings, services.engine)
        with _without_environment_token_warnings():
            app = App(client=client, oauth_settings=oauth, **common)  # type: ignore[arg-type]
        assert oauth.installation_store is not None
        tokens = TokenSource(installation_store=oauth.installation_store)
        install.register_cleanup(app, oauth.installation_store)
        installed = installed_workspaces(oauth.installation_store)
    else:
        with _without_environment_token_warnings():
            app = App(client=client, **common)  # type: ignore[arg-type]
        tokens = TokenSource(bot_token=settings.slack_bot_token)
        installed = single_workspace(client)
    access = SlackAccess(settings.access, installed, services.accounts.audit)
    access.register(app)  # before every listener: other workspaces get a refusal, nothing more

    # The worker's calls name their workspace's token each time.
    fetcher = SlackFetcher(
        client, tokens, allowed_hosts=settings.slack_file_hosts, max_bytes=settings.max_upload_bytes
    )
    delivery = SlackDelivery(client, tokens, chat.core)
    chat.profiles["slack"] = SlackProfiles(client, tokens)
    view = home.HomeView(chat.core)

    ingestion.register(app, chat.queue, chat.doorbell)  # before commands: first match wins
    commands.register(app, chat.core, on_home_action=view.publish)
    home.register(app, view)
    return SlackFrontEnd(
        app,
        tokens,
        fetcher,
        delivery,
        view,
        access,
        chat,
        signing_secret=settings.slack_signing_secret,
        app_token=settings.slack_app_token,
    )


_ENVIRONMENT_TOKEN_WARNINGS = {
    bolt_messages.warning_client_prioritized_and_token_skipped(),
    bolt_messages.warning_token_skipped(),
}


@contextmanager
def _without_environment_token_warnings() -> Iterator[None]:
    """Bolt reads SLACK_BOT_TOKEN from os.environ even when it is given a client (and `flask`
    loads `.env` into os.environ), then warns that the token will be unused. CloudBox's client
    already carries the token from Settings, so those two warnings describe nothing wrong."""

    def keep(record: logging.LogRecord) -> bool:
        return record.getMessage() not in _ENVIRONMENT_TOKEN_WARNINGS

    bolt_log = logging.getLogger("cloudbox.slack.bolt")
    bolt_log.addFilter(keep)
    try:
        yield
    finally:
        bolt_log.removeFilter(keep)
