"""The private parts of Bolt that the Slack adapter relies on, one function each.

`slack_bolt.request.internals` is Bolt's own request parsing; CloudBox's WSGI gate must read a
body and a workspace exactly as Bolt will. If an upgrade moves them, they break here, and
`tests/slack/test_private_apis.py` names them.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.request import internals


def parse_body(text: str, content_type: str | None) -> Any:
    """A request body as Bolt parses it (JSON, or a form with or without a `payload`); not
    always an object: a signed body may be any JSON value, which callers check."""
    return internals.parse_body(text, content_type)


def extract_team_id(body: dict[str, Any]) -> str | None:
    return internals.extract_team_id(body)


def extract_enterprise_id(body: dict[str, Any]) -> str | None:
    return internals.extract_enterprise_id(body)
