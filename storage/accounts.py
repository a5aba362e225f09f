"""Google accounts, the chat identities linked to them, and one-time link requests."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from . import messages
from .audit import AuditLog
from .db import transaction
from .errors import AlreadyUsed, Expired, UnknownLinkRequest
from .model import Owner, hash_token
from .models import Account, ChatIdentity, LinkRequestRow, utcnow

LINK_REQUEST_TTL = timedelta(minutes=10)
PLATFORMS = ("slack", "gchat")


@dataclass(frozen=True)
class Identity:
    """A person in one chat: platform, workspace or domain (tenant), and user id."""

    platform: str
    tenant: str
    chat_user: str

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown chat platform {self.platform!r}")


@dataclass(frozen=True)
class ChatProfile:
    """What the chat platform says about a person: shown and compared before a link is made."""

    email: str = ""  # empty when the platform did not say
    display_name: str = ""
    tenant_name: str = ""  # the Slack workspace's name, or empty

    def same_email(self, email: str) -> bool:
        return bool(self.email) and self.email.strip().casefold() == email.strip().casefold()


@dataclass(frozen=True)
class LinkMade:
    """A chat identity was just linked: what the front ends hear (to save waiting files, and to
    tell the person in chat which Google account their chat account now uses)."""

    identity: Identity
    email: str
    reply_to: str | None = None


@dataclass(frozen=True)
class LinkRequest:
    identity: Identity
    return_url: str | None
    expires_at: datetime
    profile: ChatProfile = ChatProfile()
    reply_to: str | None = None  # a Google Chat space to tell once linked


def _owner(account: Account) -> Owner:
    return Owner(
        id=account.id,
        google_sub=account.google_sub,
        email=account.email,
        storage_id=account.storage_id,
        sessions_generation=account.sessions_generation or 0,
        keep_location=account.keep_location,
    )


class Accounts:
    def __init__(self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] = utcnow):
        self._sessions = sessions
        self._now = clock
        self.audit = AuditLog(sessions, clock=clock)

    def owner_of(self, identity: Identity) -> Owner | None:
        """The account a chat identity is linked to, if any."""
        with self._sessions() as session:
            account = session.scalar(
                select(Account)
                .join(ChatIdentity, ChatIdentity.account_id == Account.id)
                .where(*_is(identity))
            )
        return _owner(account) if account else None

    def by_google_sub(self, google_sub: str) -> Owner | None:
        with self._sessions() as session:
            account = session.scalar(select(Account).where(Account.google_sub == google_sub))
        return _owner(account) if account else None

    def ensure_account(self, google_sub: str, email: str) -> Owner:
        """The account for a verified Google identity, created on first sight."""
        for _ in range(2):  # a concurrent first sign-in may win the insert; then read it
            with transaction(self._sessions) as session:
                account = session.scalar(select(Account).where(Account.google_sub == google_sub))
                if account is not None:
                    if account.email != email:
                        account.email = email
                    return _owner(account)
            try:
                with transaction(self._sessions) as session:
                    account = Account(google_sub=google_sub, email=email, created_at=self._now())
                    session.add(account)
                    session.flush()
                    return _owner(account)
            except IntegrityError:
                continue
        raise RuntimeError("could not create or find the account")

    def link(self, identity: Identity, owner: Owner) -> Owner | None:
        """Link (or re-link) a chat identity; returns the account it was linked to before."""
        with transaction(self._sessions) as session:
            row = session.scalar(select(ChatIdentity).where(*_is(identity)).with_for_update())
            previous = None
            if row is None:
                session.add(
                    ChatIdentity(
                        platform=identity.platform,
                        tenant=identity.tenant,
                        chat_user=identity.chat_user,
                        account_id=owner.id,
                        linked_at=self._now(),
                    )
                )
            elif row.account_id != owner.id:
                previous = _owner(session.get_one(Account, row.account_id))
                row.account_id = owner.id
                row.linked_at = self._now()
        moved = f", moved from account {previous.id} ({previous.email})" if previous else ""
        self.audit.record(
            "link", account_id=owner.id, who=owner.email, detail=f"{_describe(identity)}{moved}"
        )
        return previous

    def unlink(self, identity: Identity) -> Owner | None:
        """Forget a chat identity's link; returns the account it was linked to."""
        owner = self.owner_of(identity)
        if owner is not None:
            with transaction(self._sessions) as session:
                session.execute(delete(ChatIdentity).where(*_is(identity)))
            self.end_sessions(owner)
            self.audit.record("unlink", account_id=owner.id, who=owner.email, detail=_describe(identity))
        return owner

    def end_sessions(self, owner: Owner) -> None:
        """Every web session of this account signed in so far stops working."""
        with transaction(self._sessions) as session:
            session.execute(
                update(Account)
                .where(Account.id == owner.id)
                .values(sessions_generation=Account.sessions_generation + 1)
            )

    def set_keep_location(self, owner: Owner, keep: bool | None) -> None:
        """Keep (True) or remove (False) location metadata in this person's new uploads; None
        follows the instance's default again. Images already stored stay as they are."""
        with transaction(self._sessions) as session:
            session.execute(update(Account).where(Account.id == owner.id).values(keep_location=keep))
        choice = {True: "keep", False: "remove", None: "default"}[keep]
        self.audit.record("settings", account_id=owner.id, who=owner.email, detail=f"location: {choice}")

    def everyone(self) -> list[Owner]:
        with self._sessions() as session:
            return [_owner(a) for a in session.scalars(select(Account).order_by(Account.email))]

    def by_email(self, email: str) -> Owner | None:
        with self._sessions() as session:
            account = session.scalar(
                select(Account).where(func.lower(Account.email) == email.strip().lower())
            )
        return _owner(account) if account else None

    def identities(self, owner: Owner) -> list[Identity]:
        with self._sessions() as session:
            rows = session.scalars(
                select(ChatIdentity)
                .where(ChatIdentity.account_id == owner.id)
                .order_by(ChatIdentity.linked_at)
            ).all()
        return [Identity(r.platform, r.tenant, r.chat_user) for r in rows]

    # -- link requests --------------------------------------------------------------------

    def create_link_request(
        self,
        identity: Identity,
        *,
        return_url: str | None = None,
        profile: ChatProfile | None = None,
        reply_to: str | None = None,
    ) -> str:
        """A one-time token for CLOUDBOX_BASE_URL/link/<token>; only its hash is stored.

        `profile` is what the chat platform said about the person who asked (their email
        above all); the link is made at once only for a Google account with that email.
        """
        profile = profile or ChatProfile()
        token = secrets.token_urlsafe(32)
        now = self._now()
        with transaction(self._sessions) as session:
            session.add(
                LinkRequestRow(
                    token_hash=hash_token(token),
                    platform=identity.platform,
                    tenant=identity.tenant,
                    chat_user=identity.chat_user,
                    return_url=return_url,
                    chat_email=profile.email[:320] or None,
                    chat_name=profile.display_name[:255] or None,
                    tenant_name=profile.tenant_name[:255] or None,
                    reply_to=reply_to,
                    created_at=now,
                    expires_at=now + LINK_REQUEST_TTL,
                )
            )
        return token

    def peek_link_request(self, token: str) -> LinkRequest:
        """Check a link token without using it up (before sending the person to Google)."""
        with self._sessions() as session:
            row = session.get(LinkRequestRow, hash_token(token))
            return self._valid(row)

    def consume_link_request(self, token: str) -> LinkRequest:
        """Use a link token exactly once, even with two callbacks racing."""
        now = self._now()
        with transaction(self._sessions) as session:
            row = session.get(LinkRequestRow, hash_token(token))
            request = self._valid(row)
            used = session.execute(
                update(LinkRequestRow)
                .where(LinkRequestRow.token_hash == hash_token(token), LinkRequestRow.used_at.is_(None))
                .values(used_at=now)
            ).rowcount  # type: ignore[attr-defined]
            if not used:
                raise AlreadyUsed(messages.LINK_REQUEST_USED)
        return request

    def _valid(self, row: LinkRequestRow | None) -> LinkRequest:
        if row is None:
            raise UnknownLinkRequest()
        if row.used_at is not None:
            raise AlreadyUsed(messages.LINK_REQUEST_USED)
        if row.expires_at <= self._now():
            raise Expired(messages.LINK_REQUEST_EXPIRED)
        return LinkRequest(
            identity=Identity(row.platform, row.tenant, row.chat_user),
            return_url=row.return_url,
            expires_at=row.expires_at,
            profile=ChatProfile(row.chat_email or "", row.chat_name or "", row.tenant_name or ""),
            reply_to=row.reply_to,
        )

    def purge_link_requests(self) -> int:
        """Drop link requests that can no longer be used."""
        with transaction(self._sessions) as session:
            result = session.execute(
                delete(LinkRequestRow).where(LinkRequestRow.expires_at < self._now() - timedelta(days=1))
            )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _is(identity: Identity) -> tuple[ColumnElement[bool], ...]:
    return (
        ChatIdentity.platform == identity.platform,
        ChatIdentity.tenant == identity.tenant,
        ChatIdentity.chat_user == identity.chat_user,
    )


def _describe(identity: Identity) -> str:
    return f"{identity.platform} {identity.tenant}/{identity.chat_user}"
