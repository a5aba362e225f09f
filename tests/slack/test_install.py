"""Multi-workspace install over OAuth v2 (against the fake oauth.v2.access), use, and uninstall."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.ingest.worker import IngestWorker
from storage.accounts import Identity
from storage.errors import Rejected
from storage.services import Services
from storage.settings import Settings
from tests.slack.helpers import SIGNING_SECRET, SlackSender, dm_file_event, flask_transport
from tests.standins import images
from tests.standins.slack_api import FakeSlack, Team
from web_oauth.extensions import components_of


@pytest.fixture
def settings(make_settings: Callable[..., Settings], slack_api: FakeSlack) -> Settings:
    return make_settings(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_CLIENT_ID=slack_api.client_id,
        SLACK_CLIENT_SECRET=slack_api.client_secret,
        SLACK_API_URL=slack_api.api_url,
        SLACK_FILE_HOSTS="127.0.0.1",
    )


def install(client: Any, slack_api: FakeSlack, team_id: str) -> Team:
    page = client.get("/slack/install")
    assert page.status_code == 200
    authorize = re.search(
        r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page.get_data(as_text=True)
    )
    assert authorize, "the install page links to Slack's authorize URL"
    query = parse_qs(urlsplit(authorize.group(1).replace("&amp;", "&")).query)
    assert query["client_id"] == [slack_api.client_id]
    assert set(query["scope"][0].split(",")) == {
        "app_mentions:read",
        "chat:write",
        "commands",
        "files:read",
        "im:history",
        "users:read",
        "users:read.email",
    }
    assert query["redirect_uri"] == ["http://127.0.0.1:5000/slack/oauth_redirect"]
    cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    code, team = slack_api.add_oauth_code(team_id)
    done = client.get(
        f"/slack/oauth_redirect?code={code}&state={query['state'][0]}", headers={"Cookie": cookie}
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    return team


def test_install_without_the_state_cookie_is_refused(
    client: Any, slack_api: FakeSlack, services: Services
) -> None:
    page = client.get("/slack/install")
    state = re.search(r"state=([^&\"]+)", page.get_data(as_text=True))
    assert state
    client.delete_cookie("slack-app-oauth-state")
    code, _ = slack_api.add_oauth_code("T0666")
    answer = client.get(f"/slack/oauth_redirect?code={code}&state={state.group(1)}", headers={"Cookie": ""})
    assert answer.status_code == 400
    assert slack_api.matching("oauth.v2.access") == []


def test_two_workspaces_install_use_their_own_tokens_and_uninstall(
    client: Any,
    slack_api: FakeSlack,
    services: Services,
    ingest: IngestWorker,
    app: Any,
) -> None:
    one = install(client, slack_api, "T0101")
    two = install(client, slack_api, "T0202")
    assert len(slack_api.matching("oauth.v2.access")) == 2

    # A file in each workspace is downloaded with that workspace's token.
    for team in (one, two):
        owner = services.accounts.ensure_account(f"sub-{team.team_id}", f"{team.team_id}@example.com")
        services.accounts.link(Identity("slack", team.team_id, "U1"), owner)
        sender = SlackSender(flask_transport(client), team, slack_api)
        fake = slack_api.add_file(team, f"{team.team_id}.png", images.png(int(team.team_id[1:])))
        assert sender.event(dm_file_event(slack_api, [slack_api.file_object(fake)])).status == 200
        ingest.drain()
        assert services.library.list(owner).total == 1
        (download,) = slack_api.matching("file", lambda c, f=fake: f.id in c.path)
        assert download.token == team.bot_token

        _, url = sender.command("whoami")
        reply = slack_api.wait_for("response_url", lambda c, u=url: u.endswith(c.path))[0]
        assert f"{team.team_id}@example.com" in reply.args["text"]

    store = components_of(app).front_ends["slack"].tokens
    assert store.for_team("T0101") == one.bot_token
    # Slack revokes the token, then tells the app; the clean-up is done before the 200.
    del slack_api.teams[one.bot_token]
    uninstall = SlackSender(flask_transport(client), one, slack_api)
    assert uninstall.event({"type": "app_uninstalled"}).status == 200
    installations = components_of(app).front_ends["slack"].app.installation_store
    assert installations.find_bot(enterprise_id=None, team_id="T0101") is None
    assert installations.find_bot(enterprise_id=None, team_id="T0202") is not None
    with pytest.raises(Rejected, match="no longer installed"):
        store.for_team("T0101")

    two_sender = SlackSender(flask_transport(client), two, slack_api)
    assert two_sender.event({"type": "tokens_revoked", "tokens": {"bot": [two.bot_user_id]}}).status == 200
    assert installations.find_bot(enterprise_id=None, team_id="T0202") is None
