"""Who a Slack user is, as Slack says: email, display name and workspace name.

Asked when a link is offered (users.info needs `users:read` and `users:read.email`; auth.test
gives the workspace's name with no extra scope), so the page after Google can link at once only
a Google account with the same email, and otherwise name the Slack account before anyone
confirms. Answers are kept a few minutes: a person who asks for a link twice costs one call.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from storage.accounts import ChatProfile, Identity

from .tokens import TokenSource

KEEP_SECONDS = 300
MAX_KEPT = 10_000


class SlackProfiles:
    def __init__(self, client: WebClient, tokens: TokenSource, *, clock: Any = time.monotonic):
        self._client = client
        self._tokens = tokens
        self._clock = clock
        self._kept: OrderedDict[tuple[str, str], tuple[float, ChatProfile]] = OrderedDict()
        self._team_names: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, identity: Identity) -> ChatProfile | None:
        key = (identity.tenant, identity.chat_user)
        with self._lock:
            kept = self._kept.get(key)
            if kept and self._clock() - kept[0] < KEEP_SECONDS:
                return kept[1]
        profile = self._ask(identity)
        with self._lock:
            self._kept[key] = (self._clock(), profile)
            self._kept.move_to_end(key)
            while len(self._kept) > MAX_KEPT:
                self._kept.popitem(last=False)
        return profile

    def _ask(self, identity: Identity) -> ChatProfile:
        token = self._token(identity.tenant)
        try:
            user = self._client.users_info(token=token, user=identity.chat_user).get("user") or {}
        except SlackApiError as exc:
            # missing_scope (an app created before users:read.email), user_not_found: the
            # person then confirms on the page instead of being linked at once.
            raise LookupError(f"users.info failed: {exc.response.get('error')}") from None
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("name") or ""
        return ChatProfile(
            email=str(profile.get("email") or ""),
            display_name=str(name),
            tenant_name=self._team_name(identity.tenant, token),
        )

    def _token(self, tenant: str) -> str:
        if tenant.startswith("E"):  # an org-wide install answers for its enterprise id
            return self._tokens.for_team(None, tenant)
        return self._tokens.for_team(tenant)

    def _team_name(self, tenant: str, token: str) -> str:
        if tenant not in self._team_names:
            try:
                self._team_names[tenant] = str(self._client.auth_test(token=token).get("team") or "")
            except SlackApiError:
                return ""
        return self._team_names[tenant]
