"""Google sign-in: linking a chat identity (`/link/<token>`) and signing in to the gallery.

Both start the same authorization code flow and end at `/oauth/callback`. What the flow is for,
its `state`, `nonce` and PKCE verifier, and the link token wait in the signed session cookie, so
`state` is bound both to this browser and to the link request. Nothing Google returns is kept
except the account's `sub` and verified email.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for

from storage.accounts import LinkMade, LinkRequest
from storage.model import Owner

from . import local_signin
from . import messages as m
from .extensions import components
from .oidc import GoogleUser, OidcClient, OidcError, Pkce, new_secret
from .people import PLATFORM_NAMES, current_owner, describe, safe_next, services, sign_in, sign_out
from .security import error_page, handle_library_errors, protect_forms

log = logging.getLogger(__name__)

bp = Blueprint("signin", __name__)
protect_forms(bp)
handle_library_errors(bp)

PENDING = "oauth_pending"
RELINK = "relink_pending"
CONFIRM = "link_confirm_pending"
PENDING_SECONDS = 15 * 60
_ERROR_CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz_")


def oidc_client() -> OidcClient:
    """The app's OAuth client (built by `create_app`); the discovery document and keys are cached on it."""
    client = components().oidc
    if client is None:
        raise OidcError(
            m.SIGNIN_NOT_SET_UP,
            "OAuth client not configured",
            status=503,
        )
    return client


def redirect_uri() -> str:
    return services().settings.url_for("/oauth/callback")


@bp.get("/link/<token>")
def link(token: str) -> Any:
    # Check the token now (without using it) so a stale link fails before the trip to Google.
    services().accounts.peek_link_request(token)
    return _start("link", link=token)


@bp.get("/login")
def login() -> Any:
    target = safe_next(request.args.get("next"))
    if current_owner() is not None:
        return redirect(target or url_for("index"))
    if not services().settings.google_oauth_enabled and local_signin.offered():
        return redirect(url_for("local_signin.page", next=target))
    return _start("login", next=target)


@bp.post("/logout")
def logout() -> Any:
    sign_out()
    return redirect(url_for("index"), 303)


def _start(purpose: str, **extra: str | None) -> Any:
    client = oidc_client()
    pkce, state, nonce = Pkce.new(), new_secret(), new_secret()
    url = client.authorization_url(
        redirect_uri=redirect_uri(), state=state, nonce=nonce, verifier=pkce.verifier
    )
    session[PENDING] = {
        "purpose": purpose,
        "state": state,
        "nonce": nonce,
        "verifier": pkce.verifier,
        "at": time.time(),
        **extra,
    }
    return redirect(url, 302)


@bp.get("/oauth/callback")
def callback() -> Any:
    # Popped first: whatever happens next, this state cannot be used a second time.
    pending = session.pop(PENDING, None)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return error_page(m.SIGNIN_DID_NOT_COMPLETE_TITLE, m.SIGNIN_NOT_STARTED_HERE, 400)
    if error := request.args.get("error"):
        # An error answer changes nothing, so it needs no matching state (some providers omit it
        # there); the pending sign-in is already gone either way.
        return _provider_error(error, pending)
    if not secrets.compare_digest(request.args.get("state", ""), str(pending["state"])):
        log.warning("OAuth callback with a state that does not match the session")
        return error_page(m.SIGNIN_DID_NOT_COMPLETE_TITLE, m.ANSWER_NOT_FOR_THIS_SIGNIN, 400)
    code = request.args.get("code")
    if not code:
        return error_page(m.SIGNIN_DID_NOT_COMPLETE_TITLE, m.NO_SIGNIN_CODE, 400)

    client = oidc_client()
    id_token = client.exchange(code=code, verifier=str(pending["verifier"]), redirect_uri=redirect_uri())
    user = client.verify(id_token, nonce=str(pending["nonce"]))
    if not services().settings.access.allows_google(user.email, user.hosted_domain):
        return _not_allowed(user)
    accounts = services().accounts
    if pending["purpose"] == "link":
        return _link_checked(str(pending["link"]), user)
    owner = accounts.ensure_account(user.sub, user.email)
    sign_in(owner)
    accounts.audit.record("sign-in", account_id=owner.id, who=owner.email, detail="gallery")
    return redirect(safe_next(pending.get("next")) or url_for("index"), 303)


def _provider_error(error: str, pending: dict[str, Any]) -> Any:
    retry = url_for("signin.link", token=pending["link"]) if pending.get("purpose") == "link" else None
    if error == "access_denied":
        return render_template("cancelled.html", retry=retry), 200
    code = error if set(error) <= _ERROR_CODE_CHARS and len(error) < 40 else "unknown"
    log.warning("OAuth provider returned error %s", code)
    return error_page(m.SIGNIN_DID_NOT_COMPLETE_TITLE, m.provider_problem(code), 400)


def _not_allowed(user: GoogleUser) -> Any:
    log.info("sign-in refused by the access policy (domain %s)", user.hosted_domain or "none")
    services().accounts.audit.record(
        "refused", who=user.email, detail="Google account outside the access policy"
    )
    return error_page(m.NOT_FOR_THIS_CLOUDBOX_TITLE, m.not_for_this_cloudbox(user.email), 403)


def _link_checked(token: str, user: GoogleUser) -> Any:
    """Link at once only when the chat platform gave the same email; otherwise ask, or refuse.

    A link is a bearer token: whoever opens it would otherwise bind their Google account (and
    so their library) to the chat account that asked for it, for example when it is forwarded.
    """
    request_ = services().accounts.peek_link_request(token)
    if request_.profile.same_email(user.email):
        return _link(token, services().accounts.ensure_account(user.sub, user.email))
    chat = _chat_account(request_)
    if services().settings.access.link_mismatch == "refuse":
        log.info("link refused: the Google email differs from the chat profile's")
        return error_page(m.NOTHING_LINKED_TITLE, m.emails_differ(chat, user.email), 403)
    # Nothing is written before the person confirms: no account, no link, no session.
    session[CONFIRM] = {"link": token, "sub": user.sub, "email": user.email, "at": time.time()}
    return render_template(
        "confirm_link.html", chat=chat, email=user.email, has_chat_email=bool(request_.profile.email)
    )


def _chat_account(request_: LinkRequest) -> str:
    """The chat account a link request names, in words: platform, workspace, display name."""
    identity, profile = request_.identity, request_.profile
    platform = PLATFORM_NAMES.get(identity.platform, identity.platform)
    name = profile.display_name or identity.chat_user
    return m.chat_account(
        platform,
        name,
        identity.chat_user,
        identity.tenant,
        slack=identity.platform == "slack",
        tenant_name=profile.tenant_name,
    )


@bp.post("/link/verify")
def confirm_link() -> Any:
    pending = session.pop(CONFIRM, None)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return error_page(m.NOTHING_LINKED_TITLE, m.CONFIRMATION_EXPIRED, 400)
    if request.form.get("decision") != "link":
        return error_page(m.NOTHING_LINKED_TITLE, m.LINK_DECLINED, 200)
    token = str(pending["link"])
    services().accounts.peek_link_request(token)  # still unused and in time
    return _link(token, services().accounts.ensure_account(str(pending["sub"]), str(pending["email"])))


def _link(token: str, owner: Owner) -> Any:
    accounts = services().accounts
    identity = accounts.peek_link_request(token).identity
    previous = accounts.owner_of(identity)
    if previous is not None and previous.id != owner.id:
        # Ask first: the chat identity would stop seeing the library it sees now.
        session[RELINK] = {"link": token, "sub": owner.google_sub, "at": time.time()}
        return render_template(
            "relink.html", who=describe(identity), old_email=previous.email, new_email=owner.email
        )
    return _finish_link(token, owner)


@bp.post("/link/confirm")
def confirm_relink() -> Any:
    pending = session.pop(RELINK, None)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return error_page(m.NOTHING_CHANGED_TITLE, m.CONFIRMATION_EXPIRED, 400)
    accounts = services().accounts
    owner = accounts.by_google_sub(str(pending["sub"]))
    if owner is None:
        return error_page(m.NOTHING_CHANGED_TITLE, m.GOOGLE_ACCOUNT_UNKNOWN, 400)
    if request.form.get("decision") != "link":
        identity = accounts.peek_link_request(str(pending["link"])).identity
        current = accounts.owner_of(identity)
        return render_template("kept.html", who=describe(identity), email=current.email if current else None)
    return _finish_link(str(pending["link"]), owner)


def _finish_link(token: str, owner: Owner) -> Any:
    accounts = services().accounts
    request_ = accounts.consume_link_request(token)  # one-time, even with two callbacks racing
    previous = accounts.link(request_.identity, owner)
    _notify_linked(LinkMade(request_.identity, owner.email, request_.reply_to))
    sign_in(owner)
    if is_chat_return_url(request_.return_url):
        assert request_.return_url is not None
        return redirect(request_.return_url, 303)
    return render_template(
        "linked.html",
        who=describe(request_.identity),
        email=owner.email,
        previous_email=previous.email if previous else None,
    )


def _notify_linked(made: LinkMade) -> None:
    """Tell the chat front ends: they hold work waiting for this link, and tell the person."""
    for hook in components().on_linked:
        try:
            hook(made)
        except Exception:  # the link is made; a front end's follow-up must not undo the page
            log.exception("an on-linked hook failed")


def is_chat_return_url(url: str | None) -> bool:
    """Google Chat's configCompleteRedirectUrl, and nothing else, may receive the browser."""
    if not url:
        return False
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and parts.hostname == "chat.google.com"
        and parts.port is None
        and not parts.username
    )
