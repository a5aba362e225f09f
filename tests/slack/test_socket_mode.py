"""Slack over Socket Mode, for real: the README's first command against a WebSocket stand-in.

The service runs as `flask run` (nothing else: .flaskenv names the app) with SLACK_APP_TOKEN
set and no signing secret; events, commands and button clicks arrive as envelopes on the
socket and each must be acknowledged on it within Slack's 3 seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from storage.accounts import Identity
from storage.embedded import free_port
from storage.services import Services
from storage.settings import Settings
from tests.slack.helpers import SlackSender, dm_file_event
from tests.standins import images
from tests.standins.slack_api import FakeSlack, Team
from tests.standins.slack_socket import FakeSocketMode

ROOT = Path(__file__).resolve().parents[2]
ACK_DEADLINE = 3.0  # Slack's


@pytest.fixture
def socket_server(slack_api: FakeSlack) -> Iterator[FakeSocketMode]:
    server = FakeSocketMode().start()
    slack_api.app_token = server.app_token
    slack_api.socket_url = lambda: server.url
    yield server
    server.stop()


@pytest.fixture
def socket_env(
    base_env: dict[str, str], slack_env: dict[str, str], socket_server: FakeSocketMode
) -> dict[str, str]:
    env = {**base_env, **slack_env, "SLACK_APP_TOKEN": socket_server.app_token}
    del env["SLACK_SIGNING_SECRET"]  # Socket Mode alone: no HTTP route for Slack
    return env


@pytest.fixture
def served(socket_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CLOUDBOX_", "FLASK_"))}
    env.update(socket_env, CLOUDBOX_INSTANCE_PATH=str(tmp_path / "instance"))
    with (tmp_path / "service.log").open("wb") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "run", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # a process we started begins to listen: polling is the signal
            assert process.poll() is None, (tmp_path / "service.log").read_text()
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def linked(socket_env: dict[str, str], tmp_path: Path, slack_team: Team) -> Iterator[Services]:
    settings = Settings.from_env(socket_env, dotenv_path=None, instance_path=tmp_path / "instance")
    services = Services.build(settings)
    owner = services.accounts.ensure_account("sub-U1", "u1@example.com")
    services.accounts.link(Identity("slack", slack_team.team_id, "U1"), owner)
    yield services
    services.close()


def image_rows(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM images")).scalar_one()
    engine.dispose()
    return int(count)


def command_payload(team: Team, response_url: str, text_: str) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": team.team_id,
        "team_domain": "test",
        "channel_id": "C1",
        "channel_name": "general",
        "user_id": "U1",
        "user_name": "user-u1",
        "command": "/cloudbox",
        "text": text_,
        "api_app_id": "A0CLOUDBOX",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }


@pytest.mark.e2e
def test_socket_mode_envelopes_are_acknowledged_on_the_socket_and_files_saved_once(
    linked: Services,
    served: str,
    socket_server: FakeSocketMode,
    slack_api: FakeSlack,
    slack_team: Team,
    socket_env: dict[str, str],
) -> None:
    socket_server.wait_connected()
    sender = SlackSender(lambda *_: None, slack_team, slack_api)  # type: ignore[arg-type,return-value]
    fake = slack_api.add_file(slack_team, "beach.png", images.png(seed=7))
    envelope = sender.envelope(dm_file_event(slack_api, [slack_api.file_object(fake)]))

    event_id = socket_server.send("events_api", envelope)
    assert socket_server.wait_ack(event_id).after < ACK_DEADLINE
    (reply,) = slack_api.wait_for("chat.postMessage")
    assert "beach.png" in str(reply.args)
    # Slack delivers the same envelope again (no ack seen in time): acknowledged, nothing new.
    socket_server.send("events_api", envelope, envelope_id=event_id)
    assert socket_server.wait_ack(event_id, count=2).after < ACK_DEADLINE
    assert image_rows(socket_env["DATABASE_URL"]) == 1

    response_url = slack_api.response_url()
    command_id = socket_server.send("slash_commands", command_payload(slack_team, response_url, "list"))
    assert socket_server.wait_ack(command_id).after < ACK_DEADLINE
    (listing,) = slack_api.wait_for("response_url", lambda c: response_url.endswith(c.path))
    assert "beach.png" in str(listing.args)

    # Slack refreshes the connection: the client connects again, and envelopes keep coming.
    socket_server.disconnect()
    socket_server.wait_connected(count=2)
    help_url = slack_api.response_url()
    again = socket_server.send("slash_commands", command_payload(slack_team, help_url, "help"))
    assert socket_server.wait_ack(again).after < ACK_DEADLINE


@pytest.mark.e2e
def test_socket_mode_button_clicks_are_acknowledged_on_the_socket(
    linked: Services, served: str, socket_server: FakeSocketMode, slack_team: Team, slack_api: FakeSlack
) -> None:
    socket_server.wait_connected()
    response_url = slack_api.response_url()
    click = {
        "type": "block_actions",
        "team": {"id": slack_team.team_id, "domain": "test"},
        "api_app_id": "A0CLOUDBOX",
        "user": {"id": "U1", "username": "user-u1", "team_id": slack_team.team_id},
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": "cloudbox_cmd_0",
                "value": "help",
                "block_id": "b1",
                "text": {"type": "plain_text", "text": "Help"},
                "action_ts": "1700000000.1",
            }
        ],
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "C1", "is_ephemeral": True},
        "channel": {"id": "C1", "name": "general"},
        "response_url": response_url,
    }
    envelope_id = socket_server.send("interactive", click)
    assert socket_server.wait_ack(envelope_id).after < ACK_DEADLINE
    (answer,) = slack_api.wait_for("response_url", lambda c: response_url.endswith(c.path))
    assert "list" in str(answer.args)  # the help text, posted to the click's response_url
