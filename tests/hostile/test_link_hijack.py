"""Finding 1: a one-time link must bind a chat account only to the person who is that chat user.

Reproduced on the old main: Slack user UATTACK runs `/cloudbox link`, forwards the URL, the
colleague who opens it signs in with her Google account, and UATTACK's `list`, `share` and
`unlink delete` then act on her library. Now the link is made at once only when the chat
platform's email for the asker equals the verified Google email; otherwise a page names the chat
account and asks (POST + CSRF) before anything is written, or refuses when the admin says so.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from storage.access import AccessPolicy
from storage.accounts import Identity
from storage.services import Services
from storage.settings import Settings
from tests.gchat.events import ADA, CONFIG_COMPLETE, DM, classic_slash
from tests.slack.helpers import SlackSender
from tests.standins.gchat import GchatStandin
from tests.standins.oidc import ForgedProvider
from tests.standins.slack_api import FakeSlack, Team
from tests.web.conftest import local

ATTACKER = "UATTACK"
VICTIM_SUB = "1" + "7" * 11
VICTIM_EMAIL = "victim@example.com"


@pytest.fixture
def policy() -> AccessPolicy:
    return AccessPolicy()


@pytest.fixture
def settings(settings: Settings, policy: AccessPolicy) -> Settings:
    return settings.with_overrides(access=policy)


@pytest.fixture
def attacker(slack_team: Team) -> Identity:
    slack_team.users[ATTACKER] = {"email": "mallory@example.com", "display_name": "mallory"}
    return Identity("slack", slack_team.team_id, ATTACKER)


def slack_link(slack: SlackSender, slack_api: FakeSlack, user: str) -> str:
    """What `/cloudbox link` gives `user`: the path of the one-time link."""
    _, response_url = slack.command("link", user=user)
    path = urlsplit(response_url).path
    (call,) = slack_api.wait_for("response_url", lambda c: c.path == path)
    match = re.search(r"http://127\.0\.0\.1:5000(/link/[A-Za-z0-9_-]+)", json.dumps(call.args))
    assert match, call.args
    return match.group(1)


def open_link(client: FlaskClient, provider: ForgedProvider, path: str, sub: str, email: str) -> Any:
    start = client.get(path)
    assert start.status_code == 302, start.get_data(as_text=True)[:300]
    return client.get(local(provider.authorize(start.headers["Location"], sub, email)))


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_a_forwarded_slack_link_asks_its_opener_and_writes_nothing_before(
    client: FlaskClient,
    slack: SlackSender,
    slack_api: FakeSlack,
    provider: ForgedProvider,
    services: Services,
    attacker: Identity,
) -> None:
    path = slack_link(slack, slack_api, ATTACKER)
    page = open_link(client, provider, path, VICTIM_SUB, VICTIM_EMAIL)

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "mallory" in text and ATTACKER in text and "Test Workspace" in text and "Slack" in text
    assert VICTIM_EMAIL in text and "do not continue" in text
    # Nothing written: no link, no account for the victim, no signed-in session.
    assert services.accounts.owner_of(attacker) is None
    assert services.accounts.by_google_sub(VICTIM_SUB) is None
    assert "Sign out" not in client.get("/").get_data(as_text=True)

    # The question is a form: a cross-site POST without the CSRF token does nothing.
    assert client.post("/link/verify", data={"decision": "link"}).status_code == 400
    assert services.accounts.owner_of(attacker) is None


def test_declining_the_question_links_nothing_and_the_link_cannot_be_answered_twice(
    client: FlaskClient,
    slack: SlackSender,
    slack_api: FakeSlack,
    provider: ForgedProvider,
    services: Services,
    attacker: Identity,
) -> None:
    path = slack_link(slack, slack_api, ATTACKER)
    page = open_link(client, provider, path, VICTIM_SUB, VICTIM_EMAIL).get_data(as_text=True)
    token = csrf(page)
    declined = client.post("/link/verify", data={"decision": "cancel", "csrf_token": token})
    assert declined.status_code == 200 and "Nothing was linked" in declined.get_data(as_text=True)
    again = client.post("/link/verify", data={"decision": "link", "csrf_token": token})
    assert again.status_code == 400
    assert services.accounts.owner_of(attacker) is None
    assert services.accounts.by_google_sub(VICTIM_SUB) is None


def test_the_person_who_is_the_chat_user_can_still_confirm_a_different_email(
    client: FlaskClient,
    slack: SlackSender,
    slack_api: FakeSlack,
    provider: ForgedProvider,
    services: Services,
    attacker: Identity,
) -> None:
    path = slack_link(slack, slack_api, ATTACKER)
    page = open_link(client, provider, path, VICTIM_SUB, VICTIM_EMAIL).get_data(as_text=True)
    done = client.post("/link/verify", data={"decision": "link", "csrf_token": csrf(page)})
    assert done.status_code == 200 and "is now linked" in done.get_data(as_text=True)
    owner = services.accounts.owner_of(attacker)
    assert owner is not None and owner.email == VICTIM_EMAIL
    told = slack_api.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ATTACKER)[0]
    assert VICTIM_EMAIL in told.args["text"] and "unlink" in told.args["text"]


def test_the_same_email_links_at_once_and_the_chat_user_is_told_which_account(
    client: FlaskClient,
    slack: SlackSender,
    slack_api: FakeSlack,
    provider: ForgedProvider,
    services: Services,
    attacker: Identity,
) -> None:
    path = slack_link(slack, slack_api, ATTACKER)
    done = open_link(client, provider, path, "1" + "8" * 11, "Mallory@Example.com")
    assert done.status_code == 200 and "is now linked" in done.get_data(as_text=True)
    assert services.accounts.owner_of(attacker) is not None
    told = slack_api.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ATTACKER)[0]
    assert "Mallory@Example.com" in told.args["text"]


def test_without_an_email_from_slack_the_opener_is_asked(
    client: FlaskClient,
    slack: SlackSender,
    slack_api: FakeSlack,
    provider: ForgedProvider,
    services: Services,
    slack_team: Team,
) -> None:
    # users.info answers user_not_found (or missing_scope on an app without users:read.email).
    path = slack_link(slack, slack_api, "UNOPROFILE")
    page = open_link(client, provider, path, VICTIM_SUB, VICTIM_EMAIL)
    assert page.status_code == 200 and "cannot check that it is yours" in page.get_data(as_text=True)
    assert services.accounts.owner_of(Identity("slack", slack_team.team_id, "UNOPROFILE")) is None


@pytest.mark.parametrize("policy", [AccessPolicy(link_mismatch="refuse")])
def test_an_admin_can_forbid_mismatched_links_outright(
    client: FlaskClient,
    slack: SlackSender,
    slack_api: FakeSlack,
    provider: ForgedProvider,
    services: Services,
    attacker: Identity,
) -> None:
    path = slack_link(slack, slack_api, ATTACKER)
    refused = open_link(client, provider, path, VICTIM_SUB, VICTIM_EMAIL)
    assert refused.status_code == 403 and "Nothing was linked" in refused.get_data(as_text=True)
    assert "csrf_token" not in refused.get_data(as_text=True)  # no way to confirm anyway
    assert services.accounts.owner_of(attacker) is None
    assert services.accounts.by_google_sub(VICTIM_SUB) is None


def test_a_forwarded_google_chat_link_returns_to_chat_only_after_the_confirmation(
    client: FlaskClient,
    chat_post: Any,
    provider: ForgedProvider,
    services: Services,
    google_chat: GchatStandin,
) -> None:
    answer = chat_post(classic_slash("list")).get_json()
    url = answer["actionResponse"]["url"]
    ada = Identity("gchat", ADA["domainId"], ADA["name"])

    page = open_link(client, provider, local(url), VICTIM_SUB, VICTIM_EMAIL)
    assert page.status_code == 200, page.headers.get("Location")  # not a 303 back to chat.google.com
    text = page.get_data(as_text=True)
    assert "Ada Lovelace" in text and "Google Chat" in text and VICTIM_EMAIL in text
    assert services.accounts.owner_of(ada) is None

    done = client.post("/link/verify", data={"decision": "link", "csrf_token": csrf(text)})
    assert done.status_code == 303 and done.headers["Location"] == CONFIG_COMPLETE
    told = google_chat.wait_for_posts(1)[0]
    assert told["path"].startswith(f"/v1/{DM['name']}/messages")
    assert VICTIM_EMAIL in json.dumps(told["message"])


def test_a_google_chat_user_signing_in_with_their_own_email_goes_straight_back(
    client: FlaskClient, chat_post: Any, provider: ForgedProvider, services: Services
) -> None:
    url = chat_post(classic_slash("list")).get_json()["actionResponse"]["url"]
    done = open_link(client, provider, local(url), "1" + "9" * 11, ADA["email"])
    assert done.status_code == 303 and done.headers["Location"] == CONFIG_COMPLETE
    assert services.accounts.owner_of(Identity("gchat", ADA["domainId"], ADA["name"])) is not None
