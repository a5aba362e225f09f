"""Bolt's request internals still parse as the gate and ingestion expect (bot/slack/private_apis.py)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from bot.slack import private_apis


def test_bolt_still_parses_json_and_form_bodies_as_the_gate_expects() -> None:
    event = {"type": "event_callback", "team_id": "T1", "event": {"type": "message"}}
    assert private_apis.parse_body(json.dumps(event), "application/json") == event
    form = urlencode({"payload": json.dumps({"type": "block_actions", "team": {"id": "T1"}})})
    assert private_apis.parse_body(form, "application/x-www-form-urlencoded")["type"] == "block_actions"
    assert private_apis.parse_body(urlencode({"command": "/cloudbox"}), None)["command"] == "/cloudbox"


def test_bolt_still_finds_the_workspace_and_the_org_of_an_event() -> None:
    body = {
        "type": "event_callback",
        "team_id": "T1",
        "enterprise_id": "E1",
        "authorizations": [{"team_id": "T2", "enterprise_id": "E1", "is_enterprise_install": False}],
    }
    assert private_apis.extract_team_id(body) == "T2"  # the installation's workspace, as Bolt has it
    assert private_apis.extract_enterprise_id(body) == "E1"
