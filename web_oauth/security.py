"""What every browser-facing response gets: security headers, CSRF, rate limits, error pages.

CSRF is checked by the blueprints that serve forms (`protect_forms`), not globally, so the chat
platforms' signed webhooks (`/slack/events`, `/gchat/events`) are not asked for a form token.
"""

from __future__ import annotations

import functools
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, render_template, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from limits import parse_many
from werkzeug.exceptions import HTTPException, TooManyRequests

from storage.errors import (
    AlreadyUsed,
    CloudBoxError,
    Expired,
    NotFound,
    Rejected,
    Revoked,
    StorageError,
    StorageUnavailable,
)
from storage.services import Services

from . import messages as m
from . import rate_counts
from .oidc import OidcError

log = logging.getLogger(__name__)

GCS_ORIGIN = "https://storage.googleapis.com"

# Per client (the signed-in account, else the address). Overridable with app.config
# CLOUDBOX_RATE_LIMITS = {endpoint: "N per minute"}.
DEFAULT_RATE_LIMITS: dict[str, str] = {
    "signin.link": "20 per minute;100 per hour",
    "signin.login": "20 per minute;100 per hour",
    "signin.callback": "30 per minute;200 per hour",
    "signin.confirm_relink": "20 per minute",
    "gallery.upload": "120 per minute;1000 per hour",
    "gallery.share": "30 per minute;300 per hour",
    "shares.open_share": "120 per minute",
    "setup.checklist": "30 per minute",
}

_csrf = CSRFProtect()


def storage_origin(services: Services) -> str:
    """Where signed URLs point: the emulator in embedded mode and tests, else GCS."""
    if services.embedded is not None:
        return _origin(services.embedded.url)
    if services.settings.storage_emulator_host:
        return _origin(services.settings.storage_emulator_host)
    return GCS_ORIGIN


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(img_origin: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src 'self' {img_origin} blob:",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            # After a form the browser may be sent back to Google Chat (configCompleteRedirectUrl).
            "form-action 'self' https://chat.google.com",
            "base-uri 'none'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ]
    )


def rate_limit_key() -> str:
    account = session.get("account")
    if isinstance(account, dict) and account.get("sub"):
        return "account:" + str(account["sub"])
    return "addr:" + (get_remote_address() or "unknown")


def init_app(app: Flask, services: Services) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    _csrf.init_app(app)
    policy = content_security_policy(storage_origin(services))

    @app.after_request
    def _headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")  # share tokens stay private
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if services.settings.base_url.startswith("https://"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if not request.path.startswith("/static/"):
            # Pages are per person and carry signed URLs or tokens: never keep them in caches.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def limiter(app: Flask, services: Services) -> Limiter:
    """The app's rate limiter, counting in RATE_LIMIT_STORAGE (shared by every process) or in
    this process's memory (`rate_counts`, registered with limits by its import)."""
    storage_uri = services.settings.rate_limit_storage or f"{rate_counts.SCHEME}://"
    return Limiter(rate_limit_key, app=app, storage_uri=storage_uri, key_prefix="cloudbox")


def init_limits(app: Flask, limiter: Limiter) -> None:
    """Rate-limit the endpoints one client could use to exhaust the service.

    Called after the blueprints are registered: the limiter wraps their view functions.
    """
    limits = {**DEFAULT_RATE_LIMITS, **app.config.get("CLOUDBOX_RATE_LIMITS", {})}
    for endpoint, rate in limits.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        if endpoint in _HOT_ENDPOINTS:
            app.view_functions[endpoint] = _limited_directly(limiter, endpoint, rate, view)
        else:
            app.view_functions[endpoint] = limiter.limit(rate)(view)  # type: ignore[assignment]


# Share links are the one route a stranger can call at wire speed. Flask-Limiter's per-request
# work around a limited route (scopes, exemptions, filters, headers) was a quarter of a visit's
# CPU; checked straight against the same storage and strategy, the limit costs one counter.
_HOT_ENDPOINTS = frozenset({"shares.open_share"})


def _limited_directly(limiter: Limiter, endpoint: str, rate: str, view: Any) -> Any:
    items = list(parse_many(rate))

    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        if limiter.enabled:  # RATELIMIT_ENABLED, as for every other limit
            key = rate_limit_key()
            if not all(limiter.limiter.hit(item, "cloudbox", endpoint, key) for item in items):
                raise TooManyRequests()
        return view(*args, **kwargs)

    return limited


def protect_forms(bp: Blueprint) -> None:
    """Every state-changing request to this blueprint needs the session's CSRF token."""

    @bp.before_request
    def _csrf_check() -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            _csrf.protect()


def error_page(title: str, message: str, status: int, **extra: Any) -> tuple[str, int]:
    return render_template("error.html", title=title, message=message, status=status, **extra), status


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if isinstance(error, CSRFError):
        message = m.FORM_EXPIRED
        status = 400
    else:
        message = m.ERROR_TEXTS.get(status) or error.description or m.SOMETHING_WENT_WRONG
    if wants_json():
        return {"ok": False, "error": message}, status
    if request.path.startswith(("/slack/", "/gchat/")):
        return error  # the chat platforms get the plain status
    return error_page(m.ERROR_TITLES.get(status, m.SOMETHING_WENT_WRONG_TITLE), message, status)


def _unexpected_error(error: Exception) -> Any:
    reference = secrets.token_hex(4)
    # Logged with the exception type and a reference the person can quote; no request data.
    current_app.logger.exception("unexpected error (reference %s) on %s", reference, request.endpoint)
    message = m.unexpected_error(reference)
    if request.path.startswith(("/slack/", "/gchat/")):
        return "", 500
    if wants_json():
        return {"ok": False, "error": message}, 500
    return error_page(m.SOMETHING_WENT_WRONG_TITLE, message, 500)


_STATUS_OF: dict[type[CloudBoxError], tuple[int, str]] = {
    NotFound: (404, m.NOT_FOUND_TITLE),
    Rejected: (422, m.NOT_ACCEPTED_TITLE),
    Expired: (410, m.EXPIRED_TITLE),
    Revoked: (410, m.TURNED_OFF_TITLE),
    AlreadyUsed: (410, m.ALREADY_USED_TITLE),
    StorageUnavailable: (503, m.STORAGE_NOT_ANSWERING_TITLE),
    StorageError: (502, m.STORAGE_PROBLEM_TITLE),
}


def handle_library_errors(bp: Blueprint) -> None:
    """Expected failures of the library and of linking end on a page that says what happened."""

    @bp.errorhandler(CloudBoxError)
    def _library_error(error: CloudBoxError) -> Any:
        status, title = next(
            (v for k, v in _STATUS_OF.items() if isinstance(error, k)), (400, m.DID_NOT_WORK_TITLE)
        )
        if isinstance(error, StorageError | StorageUnavailable):
            log.warning("storage failure on %s: %s", request.endpoint, type(error).__name__)
        if wants_json():
            return {"ok": False, "error": error.message}, status
        return error_page(title, error.message, status)

    @bp.errorhandler(OidcError)
    def _oidc_error(error: OidcError) -> Any:
        log.warning("sign-in failed on %s: %s", request.endpoint, error.reason)
        return error_page(m.SIGNIN_DID_NOT_COMPLETE_TITLE, error.message, error.status, retry=True)
