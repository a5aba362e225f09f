"""Bearer-token verification against certificates served by a local URL."""

from __future__ import annotations

import time

import pytest

from bot.gchat.verify import CertCache, ChatTokenVerifier, Unverified
from tests.standins.gchat import ChatSigner, GchatStandin

from .conftest import PROJECT_NUMBER

ENDPOINT = "https://cloudbox.example.com/gchat/events"
ADDON_ACCOUNT = "service-123456789012@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(
    google: GchatStandin, audience: str = PROJECT_NUMBER, clock: FakeClock | None = None
) -> ChatTokenVerifier:
    return ChatTokenVerifier(
        audience, CertCache(google.certs_url, clock=clock or FakeClock()), project_number=PROJECT_NUMBER
    )


def refused(v: ChatTokenVerifier, header: str | None) -> str:
    with pytest.raises(Unverified) as caught:
        v.verify(header)
    return caught.value.reason


def test_project_number_token_from_chat_is_accepted(google: GchatStandin, chat_signer: ChatSigner) -> None:
    claims = verifier(google).verify("Bearer " + chat_signer.chat_token(PROJECT_NUMBER))
    assert claims["iss"] == "chat@system.gserviceaccount.com"
    assert claims["aud"] == PROJECT_NUMBER


def test_hostile_tokens_are_refused_with_a_reason(google: GchatStandin, chat_signer: ChatSigner) -> None:
    v = verifier(google)
    now = int(time.time())
    impostor = ChatSigner.make(chat_signer.kid)  # same key id, different private key
    cases = {
        "wrong audience": chat_signer.chat_token("999"),
        "wrong issuer": chat_signer.mint({"iss": "someone@evil.example", "aud": PROJECT_NUMBER}),
        "expired": chat_signer.chat_token(PROJECT_NUMBER, iat=now - 7200, exp=now - 3600),
        "unknown key id": chat_signer.mint(
            {"iss": "chat@system.gserviceaccount.com", "aud": PROJECT_NUMBER}, kid="nope"
        ),
        "bad signature": impostor.chat_token(PROJECT_NUMBER),
    }
    reasons = {name: refused(v, "Bearer " + tok) for name, tok in cases.items()}
    assert "audience" in reasons["wrong audience"]
    assert "issuer" in reasons["wrong issuer"]
    assert "expired" in reasons["expired"].lower()
    assert "unknown key id" in reasons["unknown key id"]
    assert "signature" in reasons["bad signature"]
    for name, tok in cases.items():
        assert tok not in reasons[name]


def test_missing_or_malformed_authorization_is_refused(google: GchatStandin, chat_signer: ChatSigner) -> None:
    v = verifier(google)
    good = chat_signer.chat_token(PROJECT_NUMBER)
    assert "no Authorization" in refused(v, None)
    assert "bearer" in refused(v, "Basic " + good)
    assert "JWT" in refused(v, "Bearer not-a-jwt")
    header, payload, _sig = good.split(".")
    unsigned = "eyJhbGciOiJub25lIiwia2lkIjoiY2hhdC1rZXktMSJ9." + payload + "."
    assert "algorithm" in refused(v, "Bearer " + unsigned)
    assert "signature" in refused(v, f"Bearer {header}.{payload}.AAAA")


def test_endpoint_url_audience_accepts_chat_and_addon_service_accounts(
    google: GchatStandin, chat_signer: ChatSigner
) -> None:
    v = verifier(google, ENDPOINT)
    assert v.verify("Bearer " + chat_signer.id_token(ENDPOINT))["email"] == "chat@system.gserviceaccount.com"
    assert v.verify("Bearer " + chat_signer.id_token(ENDPOINT, email=ADDON_ACCOUNT))["email"] == ADDON_ACCOUNT


def test_endpoint_url_audience_refuses_other_google_id_tokens(
    google: GchatStandin, chat_signer: ChatSigner
) -> None:
    v = verifier(google, ENDPOINT)
    assert "not from Google Chat" in refused(
        v, "Bearer " + chat_signer.id_token(ENDPOINT, email="eve@gmail.com")
    )
    assert "issuer" in refused(v, "Bearer " + chat_signer.id_token(ENDPOINT, iss="https://evil.example"))
    assert "audience" in refused(v, "Bearer " + chat_signer.id_token("https://other.example/gchat/events"))
    # A project-number style token is not an ID token for this endpoint.
    assert "audience" in refused(v, "Bearer " + chat_signer.chat_token(PROJECT_NUMBER))


def test_certificates_are_cached_for_their_max_age(google: GchatStandin, chat_signer: ChatSigner) -> None:
    google.publish(chat_signer, max_age=600)
    clock = FakeClock()
    v = verifier(google, clock=clock)
    for _ in range(3):
        v.verify("Bearer " + chat_signer.chat_token(PROJECT_NUMBER))
    assert google.cert_fetches == 1
    clock.now += 601
    v.verify("Bearer " + chat_signer.chat_token(PROJECT_NUMBER))
    assert google.cert_fetches == 2


def test_a_new_key_id_fetches_the_certificates_again(google: GchatStandin, chat_signer: ChatSigner) -> None:
    clock = FakeClock()
    v = verifier(google, clock=clock)
    v.verify("Bearer " + chat_signer.chat_token(PROJECT_NUMBER))
    rotated = ChatSigner.make("chat-key-2")
    google.publish(chat_signer, rotated)
    clock.now += 31
    v.verify("Bearer " + rotated.chat_token(PROJECT_NUMBER))
    assert google.cert_fetches == 2


def test_made_up_key_ids_do_not_cause_a_download_each(google: GchatStandin, chat_signer: ChatSigner) -> None:
    v = verifier(google)
    v.verify("Bearer " + chat_signer.chat_token(PROJECT_NUMBER))
    for n in range(5):
        forged = chat_signer.mint(
            {"iss": "chat@system.gserviceaccount.com", "aud": PROJECT_NUMBER}, kid=f"x{n}"
        )
        refused(v, "Bearer " + forged)
    assert google.cert_fetches == 1
