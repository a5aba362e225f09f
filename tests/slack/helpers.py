"""Real-shaped, really signed Slack requests for the tests, over Flask's test client or HTTP."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from slack_sdk.signature import SignatureVerifier

from tests.standins.slack_api import FakeSlack, Team

SIGNING_SECRET = "test-signing-secret-" + secrets.token_hex(8)


@dataclass
class Answer:
    status: int
    text: str


Transport = Callable[[str, bytes, dict[str, str]], Answer]


class SlackSender:
    """Builds real-shaped Slack requests and signs them with the real verifier."""

    def __init__(self, transport: Transport, team: Team, fake: FakeSlack, secret: str = SIGNING_SECRET):
        self._send = transport
        self.team = team
        self.fake = fake
        self._verifier = SignatureVerifier(secret)

    def post(
        self,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str | None] | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Answer:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signed = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or self._verifier.generate_signature(timestamp=ts, body=body),
        }
        merged = {**signed, **(headers or {})}
        return self._send("/slack/events", body.encode(), {k: v for k, v in merged.items() if v is not None})

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
    ) -> Answer:
        envelope = self.envelope(event, event_id=event_id)
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return self.post(json.dumps(envelope), "application/json", headers=headers)

    def envelope(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        """The Events API envelope Slack wraps `event` in."""
        return {
            "token": "legacy",
            "team_id": self.team.team_id,
            "api_app_id": "A0CLOUDBOX",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": self.team.team_id, "user_id": self.team.bot_user_id, "is_bot": True}
            ],
        }

    def command(self, text: str, *, user: str = "U1", channel: str = "C1") -> tuple[Answer, str]:
        response_url = self.fake.response_url()
        form = {
            "token": "legacy",
            "team_id": self.team.team_id,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": f"user-{user.lower()}",
            "command": "/cloudbox",
            "text": text,
            "api_app_id": "A0CLOUDBOX",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded"), response_url

    def interactive(self, payload: dict[str, Any]) -> Answer:
        payload = {"team": {"id": self.team.team_id, "domain": "test"}, "api_app_id": "A0CLOUDBOX", **payload}
        form = urlencode({"payload": json.dumps(payload)})
        return self.post(form, "application/x-www-form-urlencoded")

    def click(
        self, element: dict[str, Any], *, user: str = "U1", in_home: bool = False
    ) -> tuple[Answer, str | None]:
        """Click a button rendered by CloudBox (as found in a posted message or view)."""
        action = {
            "type": "button",
            "action_id": element["action_id"],
            "block_id": "b1",
            "text": element["text"],
            "action_ts": "1700000000.1",
        }
        if "value" in element:
            action["value"] = element["value"]
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": f"user-{user.lower()}", "team_id": self.team.team_id},
            "trigger_id": "1.2.3",
            "actions": [action],
        }
        response_url = None
        if in_home:
            payload["container"] = {"type": "view", "view_id": "V1"}
            payload["view"] = {"id": "V1", "type": "home", "blocks": []}
        else:
            response_url = self.fake.response_url()
            payload["container"] = {
                "type": "message",
                "message_ts": "1.1",
                "channel_id": "C1",
                "is_ephemeral": True,
            }
            payload["channel"] = {"id": "C1", "name": "general"}
            payload["response_url"] = response_url
        return self.interactive(payload), response_url

    def shortcut(
        self, message: dict[str, Any], *, user: str = "U1", channel: str = "C1"
    ) -> tuple[Answer, str]:
        response_url = self.fake.response_url()
        answer = self.interactive(
            {
                "type": "message_action",
                "callback_id": "save_to_cloudbox",
                "trigger_id": "1.2.3",
                "action_ts": "1700000000.2",
                "user": {"id": user, "username": f"user-{user.lower()}", "team_id": self.team.team_id},
                "channel": {"id": channel, "name": "general"},
                "message": message,
                "response_url": response_url,
            }
        )
        return answer, response_url


def flask_transport(client: Any) -> Transport:
    def send(path: str, body: bytes, headers: dict[str, str]) -> Answer:
        response = client.post(path, data=body, headers=headers)
        return Answer(response.status_code, response.get_data(as_text=True))

    return send


def http_transport(base_url: str) -> Transport:
    session = requests.Session()
    session.trust_env = False

    def send(path: str, body: bytes, headers: dict[str, str]) -> Answer:
        response = session.post(base_url + path, data=body, headers=headers, timeout=10)
        return Answer(response.status_code, response.text)

    return send


def dm_file_event(
    fake: FakeSlack, files: list[dict[str, Any]], *, user: str = "U1", **extra: Any
) -> dict[str, Any]:
    ts = extra.pop("ts", f"{int(time.time())}.{secrets.randbelow(10**6):06d}")
    return {
        "type": "message",
        "subtype": "file_share",
        "user": user,
        "channel": "D0001",
        "channel_type": "im",
        "text": "",
        "ts": ts,
        "files": files,
        **extra,
    }
