"""Sign-in for the person at the keyboard, so an embedded CloudBox can be tried at once.

With nothing configured there is no Google client to sign in with, and the gallery would be a
locked door. This offers one local account instead, clearly labelled, and only where it cannot
reach anyone else: in embedded mode (no bucket), with no Google client configured, on a service
that listens on a loopback address, to a browser on this machine that names a loopback host
(so a page elsewhere cannot rebind a DNS name onto it), with no proxy in between. All of it is
checked on every request; none of it is a setting a deployment could leave on.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from storage.settings import Settings

from .people import current_owner, safe_next, services, sign_in
from .security import handle_library_errors, protect_forms

bp = Blueprint("local_signin", __name__)
protect_forms(bp)
handle_library_errors(bp)

# Never a Google `sub` (those are digits), so this account cannot be one Google signs in to.
LOCAL_SUB = "local:this-computer"
LOCAL_EMAIL = "you@this-computer.local"
_LOOPBACK_NAMES = {"localhost"}
_FORWARDING_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_REAL_IP")


def configured_for_it(settings: Settings) -> bool:
    """The instance is one a local account suits: embedded, with no way to sign in with Google."""
    return settings.embedded and not settings.google_oauth_enabled and not settings.proxy_hops


def offered() -> bool:
    """True when this request may use the local sign-in (see the module's docstring)."""
    if not configured_for_it(services().settings):
        return False
    environ = request.environ
    if any(environ.get(header) for header in _FORWARDING_HEADERS):
        return False
    host = (
        request.host.rsplit(":", 1)[0] if not request.host.startswith("[") else request.host[1:].split("]")[0]
    )
    return all(
        _is_loopback(v) for v in (environ.get("SERVER_NAME", ""), environ.get("REMOTE_ADDR", ""), host)
    )


def _is_loopback(value: str) -> bool:
    if value.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(value).is_loopback
    except ValueError:
        return False


@bp.get("/local-sign-in")
def page() -> Any:
    if not offered():
        abort(404)
    if current_owner() is not None:
        return redirect(url_for("index"))
    return render_template("local_signin.html", email=LOCAL_EMAIL, next=safe_next(request.args.get("next")))


@bp.post("/local-sign-in")
def sign_in_here() -> Any:
    if not offered():
        abort(404)
    sign_in(services().accounts.ensure_account(LOCAL_SUB, LOCAL_EMAIL))
    return redirect(safe_next(request.form.get("next")) or url_for("index"), 303)
