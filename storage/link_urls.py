"""The URL a chat front end sends a person to, to link their chat identity to Google."""

from __future__ import annotations

from .accounts import Accounts, ChatProfile, Identity
from .settings import Settings


def make_link_url(
    settings: Settings,
    accounts: Accounts,
    identity: Identity,
    return_url: str | None = None,
    *,
    profile: ChatProfile | None = None,
    reply_to: str | None = None,
) -> str:
    """A one-time `CLOUDBOX_BASE_URL/link/<token>` for `identity`, valid for 10 minutes.

    `return_url` is Google Chat's `configCompleteRedirectUrl`; the web side only follows it
    when it is an https://chat.google.com/ URL.
    """
    token = accounts.create_link_request(identity, return_url=return_url, profile=profile, reply_to=reply_to)
    return settings.url_for(f"/link/{token}")
