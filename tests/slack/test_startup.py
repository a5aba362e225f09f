"""Building the Slack front end says nothing alarming when the environment carries Slack tokens."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.runtime import ChatRuntime
from bot.slack import app as slack_app
from storage.services import Services
from tests.standins.slack_api import Team


def test_a_bot_token_in_the_environment_as_well_logs_no_warning_at_start(
    services: Services, slack_team: Team, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    # `flask run` loads .env into os.environ, where Bolt looks for the token itself.
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_team.bot_token)
    with caplog.at_level(logging.WARNING):
        front = slack_app.build(services, ChatRuntime.build(services), slack_app.client_for(services))
    assert front.app.client.token == slack_team.bot_token
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
