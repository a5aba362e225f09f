"""Slack fixtures: the fake Slack Web API + file host, a configured app, and signed requests.

`settings` is overridden so that the root fixtures (`services`, `app`, `client`, `chat`,
`ingest`) build CloudBox with Slack turned on against the fake API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from storage.accounts import Identity
from storage.model import Owner
from storage.services import Services
from storage.settings import Settings
from tests.slack.helpers import SIGNING_SECRET, SlackSender, flask_transport, http_transport
from tests.standins.slack_api import FakeSlack, Team


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def slack_team(slack_api: FakeSlack) -> Team:
    return slack_api.add_team("T0001")


@pytest.fixture
def slack_env(slack_api: FakeSlack, slack_team: Team) -> dict[str, str]:
    return {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": slack_team.bot_token,
        "SLACK_API_URL": slack_api.api_url,
        "SLACK_FILE_HOSTS": "127.0.0.1",
        "CLOUDBOX_MAX_UPLOAD_MB": "2",
    }


@pytest.fixture
def settings(make_settings: Callable[..., Settings], slack_env: dict[str, str]) -> Settings:
    return make_settings(**slack_env)


@pytest.fixture
def slack(client: Any, slack_team: Team, slack_api: FakeSlack) -> SlackSender:
    """Signed requests through the Flask test client."""
    return SlackSender(flask_transport(client), slack_team, slack_api)


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app served by a real threaded werkzeug server on 127.0.0.1:0."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def live_slack(live_server: str, slack_team: Team, slack_api: FakeSlack) -> SlackSender:
    return SlackSender(http_transport(live_server), slack_team, slack_api)


# -- people --------------------------------------------------------------------------------


@pytest.fixture
def link(services: Services, slack_team: Team) -> Callable[..., Owner]:
    """Link a Slack user of the test team to a Google account."""

    def do(user: str = "U1", sub: str | None = None) -> Owner:
        sub = sub or f"sub-{user}"
        owner = services.accounts.ensure_account(sub, f"{sub}@example.com")
        services.accounts.link(Identity("slack", slack_team.team_id, user), owner)
        return owner

    return do
