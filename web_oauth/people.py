"""Who the browser is: the Google account kept in the signed session cookie."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, redirect, request, session, url_for

from storage.accounts import Identity
from storage.model import Owner
from storage.services import Services
from storage.words import PLATFORM_NAMES

from . import extensions
from . import messages as m


def services() -> Services:
    return extensions.services()


def sign_in(owner: Owner) -> None:
    # A new session on sign-in: nothing set before (by anyone) carries over.
    session.clear()
    session["account"] = {"sub": owner.google_sub, "email": owner.email}
    if owner.sessions_generation:  # absent means 0, the generation of an account never signed out
        session["account"]["gen"] = owner.sessions_generation


def sign_out() -> None:
    """Ends this session and every other one of the same account (a copied cookie included)."""
    owner = current_owner()
    if owner is not None:
        services().accounts.end_sessions(owner)
    session.clear()


def end_other_sessions(owner: Owner) -> None:
    """After unlinking or deleting the library: every session of the account ends, and this
    browser gets a new one, so the person acting stays signed in."""
    services().accounts.end_sessions(owner)
    fresh = services().accounts.by_google_sub(owner.google_sub)
    if fresh is not None:
        session["account"] = {**session["account"], "gen": fresh.sessions_generation}
        g.owner = fresh


def current_owner() -> Owner | None:
    """The signed-in account, read fresh from the catalog on each request."""
    if "owner" not in g:
        account = session.get("account")
        owner = None
        if isinstance(account, dict) and isinstance(account.get("sub"), str):
            owner = services().accounts.by_google_sub(account["sub"])
            # A session from before the account's last sign-out (or unlink, or deletion) is over.
            if owner is not None and account.get("gen", 0) != owner.sessions_generation:
                owner = None
            if owner is None:
                session.pop("account", None)
        g.owner = owner
    return g.owner  # type: ignore[no-any-return]


def signin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_owner() is None:
            target = request.full_path if request.method == "GET" else None
            return redirect(url_for("signin.login", next=target) if target else url_for("index"))
        return view(*args, **kwargs)

    return wrapped


def describe(identity: Identity) -> str:
    """A person's chat identity in words: "Slack user U123 (workspace T456)"."""
    platform = PLATFORM_NAMES.get(identity.platform, identity.platform)
    return m.chat_identity(platform, identity.chat_user, identity.tenant, slack=identity.platform == "slack")


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an absolute or scheme-relative URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    # Browsers drop tabs and newlines from a URL before reading it, so "/\t/evil.example"
    # is "//evil.example" to them; and a newline cannot go in a Location header at all.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    return target
