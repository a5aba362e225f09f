"""Which Slack requests CloudBox serves: the admin's allow-list, or the installed workspaces.

A request names up to two parties: the workspace it arrived through (team, or enterprise for
org-wide installs) and, for Slack Connect, the asker's own team (`user_team` on events, the
`user.team_id` of interactive payloads; a guest's slash command carries their own `team_id`).
Each party must be allowed. Refused requests are acknowledged (Slack must not redeliver them),
answered with a sentence where there is someone to answer, and store nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import InstallationStore

from bot.core import messages
from storage.access import AccessPolicy
from storage.audit import AuditLog
from storage.ingest_queue import IncomingFile

from .private_apis import extract_enterprise_id, extract_team_id

log = logging.getLogger(__name__)

REFUSAL = messages.SLACK_REFUSAL

_JSON: dict[str, str | Sequence[str]] = {"content-type": ["application/json;charset=utf-8"]}
_INTERACTIVE = ("block_actions", "message_action", "shortcut", "view_submission")

Party = tuple[str | None, str | None]  # (team id, enterprise id)


class SlackAccess:
    def __init__(
        self,
        policy: AccessPolicy,
        installed: Callable[[str | None, str | None], bool],
        audit: AuditLog | None = None,
    ):
        self._policy = policy
        self._installed = installed
        self._audit = audit

    def allows(self, body: dict[str, Any]) -> bool:
        return all(self._allows(party) for party in parties(body))

    def _allows(self, party: Party) -> bool:
        team, enterprise = party
        if not (team or enterprise):
            return False
        if self._policy.slack_teams:
            return bool({team, enterprise} & self._policy.slack_teams)
        return self._installed(team, enterprise)

    def files_to_save(
        self, rule: Callable[[dict[str, Any]], list[IncomingFile]]
    ) -> Callable[[dict[str, Any]], list[IncomingFile]]:
        """`rule` for allowed requests only: a refused workspace's files are never persisted."""

        def allowed_files(body: dict[str, Any]) -> list[IncomingFile]:
            return rule(body) if self.allows(body) else []

        return allowed_files

    def register(self, app: App) -> None:
        """First middleware: refused requests are acknowledged, answered and go no further."""

        def only_allowed(
            body: dict[str, Any],
            context: BoltContext,
            next: Callable[[], None],  # noqa: A002
        ) -> BoltResponse | None:
            if self.allows(body):
                next()
                return None
            log.info("Slack request from a workspace outside the access policy refused")
            if self._audit is not None:
                teams = ", ".join(team or enterprise or "?" for team, enterprise in parties(body))
                self._audit.record(
                    "refused", who=f"slack {teams}", detail="workspace outside the access policy"
                )
            if body.get("command"):  # the acknowledgement itself is the ephemeral answer
                answer = {"response_type": "ephemeral", "text": REFUSAL}
                return BoltResponse(status=200, body=json.dumps(answer), headers=_JSON)
            if body.get("type") in _INTERACTIVE and context.respond is not None:
                context.respond(text=REFUSAL, response_type="ephemeral", replace_original=False)
            return BoltResponse(status=200, body="")

        app.middleware(only_allowed)


def parties(body: dict[str, Any]) -> list[Party]:
    workspace: Party = (extract_team_id(body), extract_enterprise_id(body))
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    own_team = event.get("user_team") or user.get("team_id")  # type: ignore[union-attr]
    out = [workspace]
    if isinstance(own_team, str) and own_team and own_team != workspace[0]:
        out.append((own_team, None))
    return out


def single_workspace(client: WebClient) -> Callable[[str | None, str | None], bool]:
    """With one bot token CloudBox is installed in exactly the workspace auth.test names."""
    known: list[Party] = []
    lock = threading.Lock()

    def installed(team: str | None, enterprise: str | None) -> bool:
        with lock:
            if not known:
                try:
                    answer = client.auth_test()
                except SlackApiError:
                    return False  # refuse rather than guess; asked again next time
                known.append((answer.get("team_id"), answer.get("enterprise_id")))
        home_team, home_enterprise = known[0]
        return (team is not None and team == home_team) or (
            enterprise is not None and enterprise == home_enterprise
        )

    return installed


def installed_workspaces(store: InstallationStore) -> Callable[[str | None, str | None], bool]:
    def installed(team: str | None, enterprise: str | None) -> bool:
        found = store.find_bot(
            enterprise_id=enterprise, team_id=team, is_enterprise_install=bool(enterprise and not team)
        )
        return found is not None

    return installed
