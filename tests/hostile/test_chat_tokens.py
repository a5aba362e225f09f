"""Google Chat tokens from another project's add-on, or that live too long, are refused."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.gchat.verify import CertCache, ChatTokenVerifier, Unverified
from tests.gchat.conftest import PROJECT_NUMBER
from tests.standins.gchat import ChatSigner, GchatStandin

ENDPOINT = "https://cloudbox.example.com/gchat/events"
OURS = f"service-{PROJECT_NUMBER}@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
THEIRS = "service-999999999999@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"


def _verifier(google: GchatStandin, audience: str, project_number: str | None) -> ChatTokenVerifier:
    return ChatTokenVerifier(audience, CertCache(google.certs_url), project_number=project_number)


def _refusal(verifier: ChatTokenVerifier, token: str) -> str:
    with pytest.raises(Unverified) as refused:
        verifier.verify("Bearer " + token)
    return refused.value.reason


def test_an_add_on_token_of_another_project_is_refused(
    google_chat: GchatStandin, chat_signer: ChatSigner
) -> None:
    verifier = _verifier(google_chat, ENDPOINT, PROJECT_NUMBER)
    assert verifier.verify("Bearer " + chat_signer.id_token(ENDPOINT, email=OURS))["email"] == OURS
    assert "another project" in _refusal(verifier, chat_signer.id_token(ENDPOINT, email=THEIRS))


def test_without_a_project_number_no_add_on_token_is_accepted(
    google_chat: GchatStandin, chat_signer: ChatSigner
) -> None:
    verifier = _verifier(google_chat, ENDPOINT, None)
    assert "GCHAT_PROJECT_NUMBER" in _refusal(verifier, chat_signer.id_token(ENDPOINT, email=OURS))
    # Chat's own account still works without one.
    assert verifier.verify("Bearer " + chat_signer.id_token(ENDPOINT))["email"]


@pytest.mark.parametrize("audience", [PROJECT_NUMBER, ENDPOINT])
def test_a_token_that_claims_to_live_longer_than_an_hour_is_refused(
    google_chat: GchatStandin, chat_signer: ChatSigner, audience: str
) -> None:
    verifier = _verifier(google_chat, audience, PROJECT_NUMBER)

    def token(lifetime: int) -> str:
        now = int(time.time())
        if audience == ENDPOINT:
            return chat_signer.id_token(ENDPOINT, iat=now, exp=now + lifetime)
        return chat_signer.chat_token(audience, iat=now, exp=now + lifetime)

    assert verifier.verify("Bearer " + token(3600))
    assert "more than an hour" in _refusal(verifier, token(3601))
    assert "more than an hour" in _refusal(verifier, token(30 * 24 * 3600))


def test_the_served_chat_endpoint_refuses_a_month_long_token(client: Any, chat_signer: ChatSigner) -> None:
    # The served endpoint (audience: the project number) refuses a month-long Chat token.
    now = int(time.time())
    long_lived = chat_signer.chat_token(PROJECT_NUMBER, iat=now, exp=now + 30 * 24 * 3600)
    answer = client.post(
        "/gchat/events", json={"type": "MESSAGE"}, headers={"Authorization": f"Bearer {long_lived}"}
    )
    assert answer.status_code == 401
