"""Fixtures for the Google Chat bot: a local Google (certs, tokens, media, messages) and events.

`settings` is overridden here so the shared `app` / `client` / `ingest` fixtures build a CloudBox
with the Chat bot enabled against the stand-in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from storage.accounts import Identity
from storage.model import Owner
from storage.services import Services
from storage.settings import Settings
from tests.standins.gchat import ChatSigner, GchatStandin

PROJECT_NUMBER = "123456789012"


@pytest.fixture(scope="session")
def gchat_google() -> Iterator[GchatStandin]:
    standin = GchatStandin().start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def chat_signer() -> ChatSigner:
    return ChatSigner.make("chat-key-1")


@pytest.fixture(scope="session")
def app_key() -> rsa.RSAPrivateKey:
    """The Chat app's service-account key (what GCHAT_CREDENTIALS names)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google(gchat_google: GchatStandin, chat_signer: ChatSigner) -> GchatStandin:
    """The stand-in, emptied for this test, publishing the Chat signing certificate."""
    gchat_google.reset()
    gchat_google.publish(chat_signer)
    return gchat_google


@pytest.fixture
def gchat_env(google: GchatStandin, app_key: rsa.RSAPrivateKey, tmp_path: Path) -> dict[str, str]:
    key_file = google.write_key_file(tmp_path, app_key)
    return {
        "GCHAT_AUDIENCE": PROJECT_NUMBER,
        "GCHAT_PROJECT_NUMBER": PROJECT_NUMBER,
        "GCHAT_CERTS_URL": google.certs_url,
        "GCHAT_API_URL": google.url + "/",
        "GCHAT_CREDENTIALS": str(key_file),
        "GCHAT_COMMAND_ID": "7",
    }


@pytest.fixture
def settings(make_settings: Callable[..., Settings], gchat_env: dict[str, str]) -> Settings:
    return make_settings(**gchat_env)


@pytest.fixture
def token(chat_signer: ChatSigner) -> str:
    return chat_signer.chat_token(PROJECT_NUMBER)


@pytest.fixture
def post(client: Any, token: str) -> Callable[..., Any]:
    """POST an event to /gchat/events with a valid Chat token (or the given headers)."""

    def send(body: dict[str, Any], *, headers: dict[str, str] | None = None) -> Any:
        return client.post(
            "/gchat/events",
            json=body,
            headers={"Authorization": f"Bearer {token}"} if headers is None else headers,
        )

    return send


@pytest.fixture
def link(services: Services) -> Callable[..., Owner]:
    """Link a chat identity to a Google account directly through storage.accounts."""

    def linked(identity: Identity, sub: str | None = None, email: str = "ada@example.com") -> Owner:
        owner = services.accounts.ensure_account(sub or "1" + secrets.token_hex(5), email)
        services.accounts.link(identity, owner)
        return owner

    return linked
