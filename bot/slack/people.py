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


def home_team(body: dict[str, Any]) -> str | None:
    """The asker's own team, which names them the same way in every kind of request.

    The workspace a request arrives through is not enough: a Slack Connect guest's slash
    commands carry their own `team_id` while their events carry ours (with theirs in
    `user_team`), and an org-wide install's DM event may carry no team at all (the sender's is
    in `event.team`). Keyed by the workspace, one guest would be two people.
    """
    event = body.get("event")
    if isinstance(event, dict):
        team = event.get("user_team") or event.get("team")
    else:
        user = body.get("user")
        team = user.get("team_id") if isinstance(user, dict) else body.get("team_id")
    return team if isinstance(team, str) and team else None


def actor(context: Any, body: dict[str, Any]) -> Actor:
    """The asker of a Bolt request, with the handle shown as "shared by"."""
    who = identity(home_team(body) or context.team_id, context.enterprise_id, context.user_id or "")
    raw_user = body.get("user")
    user: dict[str, Any] = raw_user if isinstance(raw_user, dict) else {}
    # Plain handles, not <@U…> mentions: replies escape every < > from the core's text.
    name = body.get("user_name") or user.get("username") or user.get("name") or who.chat_user
    return Actor(who, str(name))
