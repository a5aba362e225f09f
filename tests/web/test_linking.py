"""Linking a chat identity to a Google account, against oidc-provider-mock over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient

from storage.accounts import Accounts, ChatProfile, Identity, LinkMade
from storage.link_urls import make_link_url
from storage.models import utcnow
from storage.services import Services
from tests.standins.images import png
from tests.standins.oidc import MockProvider
from web_oauth.extensions import components_of
from web_oauth.oidc import SCOPES, s256

from .conftest import CLIENT_ID, GCHAT_USER, SLACK_USER, local


def link_url(
    services: Services,
    identity: Identity = SLACK_USER,
    return_url: str | None = None,
    *,
    email: str = "",
) -> str:
    """A link offer, as made for a chat user whose platform profile has `email`."""
    return make_link_url(
        services.settings, services.accounts, identity, return_url, profile=ChatProfile(email=email)
    )


def start(client: FlaskClient, path: str) -> str:
    response = client.get(local(path))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def link_as(
    client: FlaskClient, google: MockProvider, services: Services, sub: str, identity: Identity = SLACK_USER
):  # type: ignore[no-untyped-def]
    google.add_user(sub, f"{sub}@example.com")
    authorization = start(client, link_url(services, identity, email=f"{sub}@example.com"))
    return client.get(local(google.authorize(authorization, sub)))


def test_link_flow_links_the_chat_identity_and_names_both_sides(
    web: tuple[Flask, Services], google: MockProvider
) -> None:
    app, services = web
    released: list[LinkMade] = []
    components_of(app).on_linked.append(released.append)
    url = link_url(services)
    assert url.startswith("http://127.0.0.1:5000/link/")

    response = link_as(app.test_client(), google, services, "alice")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "alice@example.com" in page and "Slack user U0001" in page and "workspace T0001" in page
    owner = services.accounts.owner_of(SLACK_USER)
    assert owner is not None and owner.google_sub == "alice" and owner.email == "alice@example.com"
    assert [made.identity for made in released] == [SLACK_USER]
    assert released[0].email == "alice@example.com"


def test_the_authorization_request_carries_state_nonce_pkce_and_scopes(
    web: tuple[Flask, Services], google: MockProvider
) -> None:
    app, services = web
    client = app.test_client()
    authorization = start(client, link_url(services))
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorization).query).items()}
    assert authorization.startswith(google.url + "/oauth2/authorize?")
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "http://127.0.0.1:5000/oauth/callback"
    assert query["scope"] == " ".join(SCOPES) == "openid email profile"
    assert query["prompt"] == "select_account"
    assert query["code_challenge_method"] == "S256"
    with client.session_transaction() as session:
        pending = session["oauth_pending"]
    assert query["state"] == pending["state"] and query["nonce"] == pending["nonce"]
    assert s256(pending["verifier"]) == query["code_challenge"]
    assert len(query["state"]) >= 32 and len(pending["verifier"]) >= 43


def test_no_google_token_is_kept_in_the_session(web: tuple[Flask, Services], google: MockProvider) -> None:
    app, services = web
    client = app.test_client()
    link_as(client, google, services, "bob")
    with client.session_transaction() as session:
        assert set(session) <= {"account", "_flashes", "csrf_token"}
        assert session["account"] == {"sub": "bob", "email": "bob@example.com"}


def test_a_link_token_works_once(web: tuple[Flask, Services], google: MockProvider) -> None:
    app, services = web
    google.add_user("carol", "carol@example.com")
    url = link_url(services, email="carol@example.com")
    client = app.test_client()
    client.get(local(google.authorize(start(client, url), "carol")))

    again = app.test_client().get(local(url))
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)


def test_a_link_token_used_by_a_racing_second_sign_in_is_refused(
    web: tuple[Flask, Services], google: MockProvider
) -> None:
    app, services = web
    google.add_user("dan", "dan@example.com")
    url = link_url(services, email="dan@example.com")
    first, second = app.test_client(), app.test_client()
    first_callback = google.authorize(start(first, url), "dan")
    second_callback = google.authorize(start(second, url), "dan")  # both passed the peek
    assert first.get(local(first_callback)).status_code == 200
    late = second.get(local(second_callback))
    assert late.status_code == 410 and "already been used" in late.get_data(as_text=True)


def test_an_expired_link_token_is_refused_before_google(web: tuple[Flask, Services]) -> None:
    app, services = web
    eleven_minutes_ago = Accounts(services.sessions, clock=lambda: utcnow() - timedelta(minutes=11))
    token = eleven_minutes_ago.create_link_request(SLACK_USER)
    response = app.test_client().get(f"/link/{token}")
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)


def test_a_forged_link_token_is_refused(web: tuple[Flask, Services]) -> None:
    app, _ = web
    response = app.test_client().get("/link/" + "A" * 43)
    assert response.status_code == 404
    assert "not valid" in response.get_data(as_text=True)


def test_a_tampered_state_changes_nothing(web: tuple[Flask, Services], google: MockProvider) -> None:
    app, services = web
    google.add_user("eve", "eve@example.com")
    client = app.test_client()
    callback = google.authorize(start(client, link_url(services)), "eve")
    tampered = callback.replace("state=", "state=x")
    response = client.get(local(tampered))
    assert response.status_code == 400
    assert "does not belong" in response.get_data(as_text=True)
    assert services.accounts.owner_of(SLACK_USER) is None


def test_a_callback_from_another_browser_changes_nothing(
    web: tuple[Flask, Services], google: MockProvider
) -> None:
    app, services = web
    google.add_user("mallory", "mallory@example.com")
    callback = google.authorize(start(app.test_client(), link_url(services)), "mallory")
    response = app.test_client().get(local(callback))  # a victim's browser, with no sign-in pending
    assert response.status_code == 400
    assert services.accounts.owner_of(SLACK_USER) is None


def test_a_replayed_code_is_refused(web: tuple[Flask, Services], google: MockProvider) -> None:
    app, services = web
    google.add_user("frank", "frank@example.com")
    client = app.test_client()
    callback = google.authorize(start(client, link_url(services, email="frank@example.com")), "frank")
    assert client.get(local(callback)).status_code == 200

    # Replay the code inside a fresh sign-in of this browser, so the state check passes.
    other = Identity("slack", "T0001", "U0002")
    authorization = start(client, link_url(services, other))
    state = parse_qs(urlsplit(authorization).query)["state"][0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    response = client.get(f"/oauth/callback?code={code}&state={state}")
    assert response.status_code == 400
    assert "already used or has expired" in response.get_data(as_text=True)
    assert services.accounts.owner_of(other) is None


def test_cancelling_at_google_links_nothing_and_offers_a_retry(
    web: tuple[Flask, Services], google: MockProvider
) -> None:
    app, services = web
    client = app.test_client()
    url = link_url(services)
    callback = google.deny(start(client, url))
    assert "error=access_denied" in callback
    response = client.get(local(callback))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Sign-in cancelled" in page
    assert local(url) in page  # the same link still works for its 10 minutes
    assert services.accounts.owner_of(SLACK_USER) is None
    assert client.get(local(url)).status_code == 302


def test_an_unverified_email_is_refused(web: tuple[Flask, Services], google: MockProvider) -> None:
    app, services = web
    google.add_user("grace", "grace@example.com", email_verified=False)
    client = app.test_client()
    response = client.get(local(google.authorize(start(client, link_url(services)), "grace")))
    assert response.status_code == 403
    assert "not verified" in response.get_data(as_text=True)
    assert services.accounts.owner_of(SLACK_USER) is None


def test_relinking_to_another_google_account_asks_first_and_says_what_happens(
    web: tuple[Flask, Services], google: MockProvider
) -> None:
    app, services = web
    link_as(app.test_client(), google, services, "henry")
    client = app.test_client()
    response = link_as(client, google, services, "irene")
    page = response.get_data(as_text=True)
    assert "henry@example.com" in page and "irene@example.com" in page
    assert "stay with that Google account" in page
    assert services.accounts.owner_of(SLACK_USER).google_sub == "henry"  # type: ignore[union-attr]

    # The confirmation is a form: without its CSRF token nothing happens.
    assert client.post("/link/confirm", data={"decision": "link"}).status_code == 400
    token = _csrf_token(page)
    confirmed = client.post("/link/confirm", data={"decision": "link", "csrf_token": token})
    assert confirmed.status_code == 200
    assert "irene@example.com" in confirmed.get_data(as_text=True)
    assert services.accounts.owner_of(SLACK_USER).google_sub == "irene"  # type: ignore[union-attr]


def test_relinking_can_be_declined(web: tuple[Flask, Services], google: MockProvider) -> None:
    app, services = web
    link_as(app.test_client(), google, services, "jack")
    client = app.test_client()
    page = link_as(client, google, services, "kate").get_data(as_text=True)
    kept = client.post("/link/confirm", data={"decision": "keep", "csrf_token": _csrf_token(page)})
    assert "Nothing changed" in kept.get_data(as_text=True)
    assert services.accounts.owner_of(SLACK_USER).google_sub == "jack"  # type: ignore[union-attr]


def test_one_google_account_from_slack_and_google_chat_sees_one_library(
    web: tuple[Flask, Services], google: MockProvider
) -> None:
    app, services = web
    link_as(app.test_client(), google, services, "lena", SLACK_USER)
    link_as(app.test_client(), google, services, "lena", GCHAT_USER)
    from_slack = services.accounts.owner_of(SLACK_USER)
    from_chat = services.accounts.owner_of(GCHAT_USER)
    assert from_slack is not None and from_slack == from_chat
    services.library.upload(from_slack, [png(1)], filename="from-slack.png")
    assert [i.name for i in services.library.list(from_chat).images] == ["from-slack.png"]


def test_google_chat_gets_its_browser_back_only_on_a_google_chat_url(
    web: tuple[Flask, Services], google: MockProvider
) -> None:
    app, services = web
    google.add_user("mia", "mia@example.com")
    back = "https://chat.google.com/api/bot_config_complete?token=abc"
    client = app.test_client()
    url = link_url(services, GCHAT_USER, back, email="mia@example.com")
    response = client.get(local(google.authorize(start(client, url), "mia")))
    assert response.status_code == 303 and response.headers["Location"] == back

    for hostile in (
        "https://chat.google.com.evil.example/x",
        "http://chat.google.com/x",
        "https://evil.example/",
    ):
        other = Identity("gchat", "example.com", f"users/{abs(hash(hostile))}")
        client = app.test_client()
        url = link_url(services, other, hostile, email="mia@example.com")
        response = client.get(local(google.authorize(start(client, url), "mia")))
        assert response.status_code == 200, hostile
        assert "is now linked" in response.get_data(as_text=True)


def test_a_failing_on_linked_hook_does_not_spoil_the_link(
    web: tuple[Flask, Services], google: MockProvider
) -> None:
    app, services = web

    def broken(made: LinkMade) -> None:
        raise RuntimeError("front end trouble")

    components_of(app).on_linked.append(broken)
    response = link_as(app.test_client(), google, services, "nora")
    assert response.status_code == 200
    assert services.accounts.owner_of(SLACK_USER) is not None


def test_gallery_sign_in_uses_the_same_client_and_returns_to_a_local_page(
    web: tuple[Flask, Services], google: MockProvider
) -> None:
    app, _ = web
    google.add_user("olga", "olga@example.com")
    client = app.test_client()
    assert "Sign in with Google" in client.get("/").get_data(as_text=True)
    response = client.get(local(google.authorize(start(client, "/login?next=/links"), "olga")))
    assert response.status_code == 303 and response.headers["Location"] == "/links"
    assert "olga@example.com" in client.get("/").get_data(as_text=True)

    evil = app.test_client()
    response = evil.get(local(google.authorize(start(evil, "/login?next=//evil.example/"), "olga")))
    assert response.headers["Location"] == "/"


def test_without_an_oauth_client_the_start_page_is_the_checklist_and_linking_says_why(
    make_web,  # type: ignore[no-untyped-def]
) -> None:
    app, services = make_web()
    client = app.test_client()
    assert "Set up CloudBox" in client.get("/").get_data(as_text=True)
    response = client.get(local(link_url(services)))
    assert response.status_code == 503
    assert "OAUTH_CLIENT_ID" in response.get_data(as_text=True)


def _csrf_token(page: str) -> str:
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]
