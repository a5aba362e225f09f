"""One CloudBox with every entry point on (Slack, Google Chat, Google sign-in, gallery, /s/),
over the same real stand-ins the other suites use, plus the helpers the attacks assert with.

`settings` is overridden so the root fixtures (`services`, `app`, `client`, `chat`, `ingest`)
build that CloudBox. Stand-ins come from the other suites' conftests and standins modules.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from storage.accounts import Identity
from storage.model import Owner
from storage.models import ImageRow, IngestJobRow, ShareRow
from storage.services import Services
from storage.settings import Settings
from tests.gchat.conftest import PROJECT_NUMBER
from tests.slack.helpers import SIGNING_SECRET, SlackSender, flask_transport
from tests.standins.gchat import ChatSigner, GchatStandin
from tests.standins.oidc import ForgedProvider, forged_provider, provider_tls
from tests.standins.slack_api import FakeSlack, Team
from tests.web.conftest import CLIENT_ID, CLIENT_SECRET

GCHAT_COMMAND_ID = "7"


# -- stand-ins -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _slack_api() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()  # once: stopping waits out serve_forever's half-second poll


@pytest.fixture
def slack_api(_slack_api: FakeSlack) -> FakeSlack:
    """The session's fake Slack with this test's recording and files only."""
    with _slack_api._cond:
        _slack_api.calls.clear()
        _slack_api.files.clear()
        _slack_api.teams.clear()
    return _slack_api


@pytest.fixture
def slack_team(slack_api: FakeSlack) -> Team:
    return slack_api.add_team("T0001")


@pytest.fixture(scope="session")
def chat_google() -> Iterator[GchatStandin]:
    standin = GchatStandin().start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def chat_signer() -> ChatSigner:
    return ChatSigner.make("hostile-chat-key")


@pytest.fixture(scope="session")
def chat_app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google_chat(chat_google: GchatStandin, chat_signer: ChatSigner) -> GchatStandin:
    chat_google.reset()
    chat_google.publish(chat_signer)
    return chat_google


@pytest.fixture(scope="session")
def _provider() -> Iterator[ForgedProvider]:
    with forged_provider() as provider:
        yield provider


@pytest.fixture
def provider(_provider: ForgedProvider) -> ForgedProvider:
    _provider.reset()
    return _provider


# -- the app -------------------------------------------------------------------------------


@pytest.fixture
def settings(
    make_settings: Callable[..., Settings],
    slack_api: FakeSlack,
    slack_team: Team,
    google_chat: GchatStandin,
    chat_app_key: rsa.RSAPrivateKey,
    provider: ForgedProvider,
    tmp_path: Path,
) -> Settings:
    key_file = google_chat.write_key_file(tmp_path, chat_app_key)
    return make_settings(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=slack_team.bot_token,
        SLACK_API_URL=slack_api.api_url,
        SLACK_FILE_HOSTS="127.0.0.1",
        CLOUDBOX_MAX_UPLOAD_MB="1",
        GCHAT_AUDIENCE=PROJECT_NUMBER,
        GCHAT_CERTS_URL=google_chat.certs_url,
        GCHAT_API_URL=google_chat.url + "/",
        GCHAT_CREDENTIALS=str(key_file),
        GCHAT_COMMAND_ID=GCHAT_COMMAND_ID,
        OAUTH_CLIENT_ID=CLIENT_ID,
        OAUTH_CLIENT_SECRET=CLIENT_SECRET,
        OAUTH_DISCOVERY_URL=provider.discovery_url,
        OAUTH_CA_BUNDLE=str(provider_tls().ca_bundle),
    )


@pytest.fixture
def slack(client: Any, slack_team: Team, slack_api: FakeSlack) -> SlackSender:
    return SlackSender(flask_transport(client), slack_team, slack_api)


@pytest.fixture
def chat_token(chat_signer: ChatSigner) -> str:
    return chat_signer.chat_token(PROJECT_NUMBER)


@pytest.fixture
def chat_post(client: Any, chat_token: str) -> Callable[..., Any]:
    """POST to /gchat/events: a JSON event with a valid token, or raw data / other headers."""

    def send(body: Any = None, *, headers: dict[str, str] | None = None, data: bytes | None = None) -> Any:
        sent = {"Authorization": f"Bearer {chat_token}"} if headers is None else headers
        if data is not None:
            return client.post(
                "/gchat/events", data=data, headers={**sent, "Content-Type": "application/json"}
            )
        return client.post("/gchat/events", json=body, headers=sent)

    return send


# -- people --------------------------------------------------------------------------------


@pytest.fixture
def person(services: Services) -> Callable[..., Owner]:
    """A Google account, optionally linked to chat identities."""

    def make(name: str, *identities: Identity) -> Owner:
        sub = "1" + secrets.token_hex(6)
        owner = services.accounts.ensure_account(sub, f"{name}@example.com")
        for identity in identities:
            services.accounts.link(identity, owner)
        return owner

    return make


# -- what was stored -----------------------------------------------------------------------


class Stored:
    """Counts of what an attack must not have changed: catalog rows and bucket objects."""

    def __init__(self, services: Services):
        self._services = services

    def images(self) -> int:
        return self._count(ImageRow)

    def shares(self) -> int:
        return self._count(ShareRow)

    def jobs(self) -> int:
        return self._count(IngestJobRow)

    def objects(self) -> list[str]:
        return sorted(self._services.blobs.names(""))

    def snapshot(self) -> tuple[int, int, int, list[str]]:
        return (self.images(), self.shares(), self.jobs(), self.objects())

    def _count(self, model: Any) -> int:
        with self._services.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def stored(services: Services) -> Stored:
    return Stored(services)
