"""Who a Slack request comes from, as the neutral identity the library knows."""

from __future__ import annotations

from typing import Any

from bot.core.commands import Actor
from storage.accounts import Identity


def identity(team_id: str | None, enterprise_id: str | None, user_id: str) -> Identity:
    """A Slack person: the workspace, or the organization for org-wide installs with no team."""
    tenant = team_id or enterprise_id
    if not tenant or not user_id:
        raise ValueError("a Slack identity needs a team (or enterprise) and a user")
    return Identity("slack", tenant, user_id)


def actor(context: Any, body: dict[str, Any]) -> Actor:
    """The asker of a Bolt request, with the handle shown as "shared by"."""
    who = identity(context.team_id, context.enterprise_id, context.user_id or "")
    raw_user = body.get("user")
    user: dict[str, Any] = raw_user if isinstance(raw_user, dict) else {}
    # Plain handles, not <@U…> mentions: replies escape every < > from the core's text.
    name = body.get("user_name") or user.get("username") or user.get("name") or who.chat_user
    return Actor(who, str(name))
