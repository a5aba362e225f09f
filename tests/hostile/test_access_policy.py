"""Finding 2: the administrator decides who gets in; everyone else is refused and nothing is stored.

On the old main any Google account could sign in and upload into the company's bucket, and a
Slack command signed for another team_id, a Slack Connect guest or a Chat user of another
Workspace customer all got a link offer.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.slack.people import home_team
from storage.access import AccessPolicy, parse_policy
from storage.accounts import Identity
from storage.models import LinkRequestRow
from storage.services import Services
from storage.settings import Settings
from tests.gchat.events import ADA, attachment, classic_message, classic_slash
from tests.hostile.conftest import Stored
from tests.hostile.test_link_hijack import slack_link
from tests.slack.helpers import SlackSender, dm_file_event
from tests.standins import images
from tests.standins.oidc import ForgedProvider
from tests.standins.slack_api import FakeSlack
from tests.web.conftest import local
from web_oauth.doctor import MISSING, run_checks

WORK_SUB = "1" + "3" * 11


@pytest.fixture
def policy() -> AccessPolicy:
    return AccessPolicy()


@pytest.fixture
def settings(settings: Settings, policy: AccessPolicy) -> Settings:
    return settings.with_overrides(access=policy)


def sign_in(client: FlaskClient, provider: ForgedProvider, email: str, hd: str | None) -> Any:
    provider.overrides = {"hd": hd}  # None removes the claim, as for a consumer account
    start = client.get("/login")
    assert start.status_code == 302
    return client.get(local(provider.authorize(start.headers["Location"], WORK_SUB, email)))


COMPANY = AccessPolicy(
    google_domains=frozenset({"example.com"}), google_emails=frozenset({"ext@partner.test"})
)


# -- Google accounts -------------------------------------------------------------------------


@pytest.mark.parametrize("policy", [COMPANY])
@pytest.mark.parametrize(
    ("email", "hd"),
    [
        ("stranger@gmail.com", None),  # consumer account: no hd claim at all
        ("someone@competitor.example", "competitor.example"),
        ("spoof@example.com", None),  # the address alone does not make a Workspace account
    ],
)
def test_a_google_account_outside_the_policy_is_refused_and_nothing_is_stored(
    email: str, hd: str | None, client: FlaskClient, provider: ForgedProvider, services: Services
) -> None:
    refused = sign_in(client, provider, email, hd)
    assert refused.status_code == 403
    assert "cannot use this CloudBox" in refused.get_data(as_text=True)
    assert services.accounts.by_google_sub(WORK_SUB) is None
    trail = services.accounts.audit.since(datetime.now(UTC) - timedelta(hours=1))
    assert [(e.kind, e.who) for e in trail] == [("refused", email)]  # the admin sees who tried
    gallery = client.get("/")
    assert "Sign out" not in gallery.get_data(as_text=True)
    assert client.post("/upload", data={}).status_code in (302, 400, 401, 403)


@pytest.mark.parametrize("policy", [COMPANY])
@pytest.mark.parametrize(("email", "hd"), [("ada@example.com", "example.com"), ("EXT@partner.test", None)])
def test_an_allowed_domain_or_single_address_signs_in(
    email: str, hd: str | None, client: FlaskClient, provider: ForgedProvider, services: Services
) -> None:
    done = sign_in(client, provider, email, hd)
    assert done.status_code == 303
    assert services.accounts.by_google_sub(WORK_SUB) is not None


@pytest.mark.parametrize("policy", [COMPANY])
def test_a_link_opened_with_a_disallowed_google_account_links_nothing(
    client: FlaskClient,
    slack: SlackSender,
    slack_api: FakeSlack,
    provider: ForgedProvider,
    services: Services,
) -> None:
    slack.team.users["U1"] = {"email": "stranger@gmail.com", "display_name": "stranger"}
    start = client.get(slack_link(slack, slack_api, "U1"))
    assert start.status_code == 302
    provider.overrides = {"hd": None}
    refused = client.get(local(provider.authorize(start.headers["Location"], WORK_SUB, "stranger@gmail.com")))
    assert refused.status_code == 403
    assert services.accounts.owner_of(Identity("slack", slack.team.team_id, "U1")) is None
    assert services.accounts.by_google_sub(WORK_SUB) is None


# -- Slack -----------------------------------------------------------------------------------


def _command_from(slack: SlackSender, team_id: str, text: str = "link") -> tuple[Any, str]:
    response_url = slack.fake.response_url()
    form = {
        "token": "legacy",
        "team_id": team_id,
        "team_domain": "other",
        "channel_id": "C1",
        "user_id": "U1",
        "command": "/cloudbox",
        "text": text,
        "api_app_id": "A0CLOUDBOX",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }
    return slack.post(urlencode(form), "application/x-www-form-urlencoded"), response_url


def _link_requests(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(LinkRequestRow)) or 0)


def test_a_command_signed_for_a_workspace_cloudbox_is_not_installed_in_is_refused(
    slack: SlackSender, slack_api: FakeSlack, services: Services
) -> None:
    answer, response_url = _command_from(slack, "T0STRANGER")
    assert answer.status == 200  # acknowledged, so Slack does not retry
    assert "not available to your workspace" in json.loads(answer.text)["text"]
    assert "/link/" not in answer.text
    assert not slack_api.matching("response_url")
    assert _link_requests(services) == 0


def test_the_installed_workspace_still_gets_its_link(slack: SlackSender, slack_api: FakeSlack) -> None:
    answer, response_url = _command_from(slack, slack.team.team_id)
    assert answer.status == 200
    (reply,) = slack_api.wait_for("response_url", lambda c: c.path == urlsplit(response_url).path)
    assert "/link/" in json.dumps(reply.args)


@pytest.mark.parametrize("policy", [AccessPolicy(slack_teams=frozenset({"T0PARTNER"}))])
def test_an_explicit_team_list_replaces_the_installed_default(
    slack: SlackSender, slack_api: FakeSlack, services: Services
) -> None:
    # The installed workspace (T0001) is not on the admin's list: refused like any other.
    answer, _ = _command_from(slack, slack.team.team_id)
    assert "not available to your workspace" in json.loads(answer.text)["text"]
    assert _link_requests(services) == 0


def test_a_slack_connect_guest_from_another_company_stores_nothing(
    slack: SlackSender, stored: Stored, person: Any, ingest: Any
) -> None:
    # A shared channel: the event arrives through our workspace, the sender's own team is theirs.
    person("guest", Identity("slack", "T0001", "UGUEST"))
    fake = slack.fake.add_file(slack.team, "theirs.png", images.png(4))
    event = dm_file_event(slack.fake, [slack.fake.file_object(fake)], user="UGUEST", user_team="T0GUEST")
    assert slack.event(event).status == 200
    ingest.drain()
    assert stored.jobs() == 0 and stored.images() == 0
    assert not slack.fake.matching("file")  # not even downloaded


def test_a_file_event_signed_for_another_workspace_is_never_persisted(
    slack: SlackSender, stored: Stored
) -> None:
    other = slack.fake.add_team("T9999")
    fake = slack.fake.add_file(other, "theirs.png", images.png(9))
    envelope = {
        "token": "legacy",
        "team_id": "T9999",
        "api_app_id": "A0CLOUDBOX",
        "type": "event_callback",
        "event_id": "EvELSEWHERE",
        "event_time": int(time.time()),
        "event": dm_file_event(slack.fake, [slack.fake.file_object(fake)], user="U1"),
    }
    assert slack.post(json.dumps(envelope), "application/json").status == 200
    assert stored.jobs() == 0


# -- Google Chat -----------------------------------------------------------------------------


OUR_CUSTOMER = AccessPolicy(gchat_customers=frozenset({"c0ffee"}))
STRANGER = {**ADA, "name": "users/222222222222", "domainId": "bad5eed", "email": "eve@other.test"}


@pytest.mark.parametrize("policy", [OUR_CUSTOMER])
@pytest.mark.parametrize("user", [STRANGER, {k: v for k, v in STRANGER.items() if k != "domainId"}])
def test_a_chat_user_of_another_customer_gets_a_refusal_and_no_link(
    user: dict[str, Any], chat_post: Any, stored: Stored, services: Services
) -> None:
    command = {**classic_slash("list"), "user": user}
    answer = chat_post(command).get_json()
    body = json.dumps(answer)
    assert "not available to your organisation" in body
    assert "/link/" not in body and "REQUEST_CONFIG" not in body
    upload = chat_post(classic_message(attachments=[attachment("x.png")], user=user))
    assert "not available to your organisation" in json.dumps(upload.get_json())
    assert stored.jobs() == 0 and _link_requests(services) == 0


@pytest.mark.parametrize("policy", [OUR_CUSTOMER])
def test_a_chat_user_of_the_allowed_customer_is_offered_a_link(chat_post: Any) -> None:
    answer = chat_post(classic_slash("list")).get_json()
    assert answer["actionResponse"]["type"] == "REQUEST_CONFIG"


# -- the settings ----------------------------------------------------------------------------


def test_the_policy_is_read_from_the_environment_and_bad_entries_are_named() -> None:
    env = {
        "CLOUDBOX_ALLOWED_GOOGLE_DOMAINS": "Example.com, @corp.example ; boss@gmail.com, not a domain",
        "CLOUDBOX_ALLOWED_SLACK_TEAMS": "T0001,E0002,nope",
        "CLOUDBOX_ALLOWED_GCHAT_CUSTOMERS": "c0ffee",
        "CLOUDBOX_LINK_MISMATCH": "refuse",
    }
    problems: list[str] = []
    policy = parse_policy(env.get, problems)
    assert policy.google_domains == {"example.com", "corp.example"}
    assert policy.google_emails == {"boss@gmail.com"}
    assert policy.slack_teams == {"T0001", "E0002"}
    assert policy.gchat_customers == {"c0ffee"} and policy.link_mismatch == "refuse"
    assert len(problems) == 2 and "'not a domain'" in problems[0] and "'nope'" in problems[1]
    assert not policy.allows_google("boss@example.com", None)
    assert policy.allows_google("Boss@Gmail.com", None)
    assert "example.com" in policy.summary()[0]


@pytest.mark.parametrize("policy", [COMPANY])
def test_doctor_and_the_start_page_show_the_policy(client: FlaskClient, services: Services) -> None:
    shown = [c.detail for c in run_checks(services, network=False) if c.name == "Who may use it"]
    assert any("example.com" in line and "ext@partner.test" in line for line in shown)
    assert any("Slack workspaces: the ones CloudBox is installed in" in line for line in shown)
    start = client.get("/").get_data(as_text=True)
    assert "This CloudBox is for Google accounts of" in start and "example.com" in start
    assert "ext@partner.test" not in start  # single addresses are not published


def test_doctor_points_out_an_open_google_sign_in(services: Services) -> None:
    (google,) = [c for c in run_checks(services, network=False) if c.detail.startswith("Google accounts")]
    assert google.status == MISSING and "CLOUDBOX_ALLOWED_GOOGLE_DOMAINS" in google.detail


@pytest.mark.parametrize("policy", [AccessPolicy(slack_teams=frozenset({"T0001", "T0GUEST"}))])
def test_an_allowed_slack_connect_guest_is_one_person_in_commands_and_events(
    slack: SlackSender, slack_api: FakeSlack, stored: Stored, person: Any, ingest: Any, services: Services
) -> None:
    # Linked through a slash command, which carries the guest's own team...
    guest = person("guest", Identity("slack", "T0GUEST", "UGUEST"))
    response_url = slack.fake.response_url()
    form = {
        "token": "legacy",
        "team_id": "T0GUEST",
        "team_domain": "partner",
        "channel_id": "C1",
        "user_id": "UGUEST",
        "command": "/cloudbox",
        "text": "whoami",
        "api_app_id": "A0CLOUDBOX",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }
    slack.post(urlencode(form), "application/x-www-form-urlencoded")
    (reply,) = slack_api.wait_for("response_url", lambda c: c.path == urlsplit(response_url).path)
    assert "guest@example.com" in json.dumps(reply.args)
    # ...then a file through a shared channel's event, which arrives through our workspace.
    fake = slack.fake.add_file(slack.team, "shared.png", images.png(14))
    event = dm_file_event(slack.fake, [slack.fake.file_object(fake)], user="UGUEST", user_team="T0GUEST")
    assert slack.event(event).status == 200
    ingest.drain()
    assert [i.name for i in services.library.list(guest).images] == ["shared.png"]


@pytest.mark.parametrize(
    ("body", "team"),
    [
        ({"team_id": "T0GUEST", "user_id": "U1"}, "T0GUEST"),  # a slash command: the asker's team
        ({"event": {"user": "U1", "user_team": "T0GUEST", "team": "T0001"}}, "T0GUEST"),  # Slack Connect
        (
            {"event": {"user": "W1", "team": "T0007"}, "authorizations": [{"team_id": None}]},
            "T0007",
        ),  # org-wide
        ({"user": {"id": "U1", "team_id": "T0GUEST"}, "team": {"id": "T0001"}}, "T0GUEST"),  # a button
    ],
)
def test_the_home_team_names_a_person_the_same_way_in_every_request(body: dict[str, Any], team: str) -> None:
    assert home_team(body) == team
