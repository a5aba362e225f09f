"""Who may use this CloudBox: the administrator's allow-lists, and how linking treats mismatches.

Empty lists mean "anyone" for Google accounts and Chat customers, and "the workspaces CloudBox is
installed in" for Slack (an installation is already a decision by a workspace admin). Google
accounts are matched on the ID token's `hd` claim (set only for Google Workspace accounts, so a
consumer address such as someone@gmail.com never passes a domain entry) or on an exact address.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import messages

LINK_MISMATCH_CHOICES = ("confirm", "refuse")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_SLACK_ID = re.compile(r"^[TE][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class AccessPolicy:
    google_domains: frozenset[str] = frozenset()
    google_emails: frozenset[str] = frozenset()
    slack_teams: frozenset[str] = frozenset()
    gchat_customers: frozenset[str] = frozenset()
    # "confirm": a Google account whose email differs from the chat profile's is linked only
    # after the person confirms on a page naming both; "refuse": it is never linked.
    link_mismatch: str = "confirm"

    @property
    def google_restricted(self) -> bool:
        return bool(self.google_domains or self.google_emails)

    def allows_google(self, email: str, hosted_domain: str | None) -> bool:
        if not self.google_restricted:
            return True
        if email.strip().casefold() in self.google_emails:
            return True
        return hosted_domain is not None and hosted_domain.strip().casefold() in self.google_domains

    def allows_gchat(self, customer: str | None) -> bool:
        if not self.gchat_customers:
            return True
        return bool(customer) and customer in self.gchat_customers

    def summary(self) -> list[str]:
        """The policy in words, for doctor and the start page."""
        return messages.access_policy(
            sorted(self.google_domains) + sorted(self.google_emails),
            sorted(self.slack_teams),
            sorted(self.gchat_customers),
            mismatch_refused=self.link_mismatch == "refuse",
        )


def parse_policy(get: Callable[[str], str | None], problems: list[str]) -> AccessPolicy:
    """Read the CLOUDBOX_ALLOWED_* and CLOUDBOX_LINK_MISMATCH settings; add what is wrong to `problems`."""
    domains, emails = set(), set()
    for entry in _items(get("CLOUDBOX_ALLOWED_GOOGLE_DOMAINS")):
        entry = entry.casefold()
        if _EMAIL.match(entry):
            emails.add(entry)
        elif _DOMAIN.match(entry.lstrip("@")):
            domains.add(entry.lstrip("@"))
        else:
            problems.append(f"CLOUDBOX_ALLOWED_GOOGLE_DOMAINS: {entry!r} is neither a domain nor an email")
    teams = set()
    for entry in _items(get("CLOUDBOX_ALLOWED_SLACK_TEAMS")):
        if _SLACK_ID.match(entry):
            teams.add(entry)
        else:
            problems.append(
                f"CLOUDBOX_ALLOWED_SLACK_TEAMS: {entry!r} is not a Slack team (T…) or enterprise (E…) id"
            )
    customers = set(_items(get("CLOUDBOX_ALLOWED_GCHAT_CUSTOMERS")))
    mismatch = (get("CLOUDBOX_LINK_MISMATCH") or "confirm").lower()
    if mismatch not in LINK_MISMATCH_CHOICES:
        problems.append(f"CLOUDBOX_LINK_MISMATCH must be 'confirm' or 'refuse', got {mismatch!r}")
        mismatch = "confirm"
    return AccessPolicy(
        frozenset(domains), frozenset(emails), frozenset(teams), frozenset(customers), mismatch
    )


def _items(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").replace(";", ",").split(",") if part.strip()]
