"""What is configured, what is missing, and whether each piece works.

Shared by the `doctor` CLI command and the setup page shown while CloudBox is unconfigured.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient

from storage import db
from storage.services import Services

from .oidc import OidcClient

CHECKS_SECONDS = 10.0  # how long one offline run of the checks answers every set-up page visit

OK, MISSING, FAILED, INFO = "ok", "missing", "failed", "info"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


def run_checks(services: Services, *, network: bool = True, oidc: OidcClient | None = None) -> list[Check]:
    """Every check, in the order a new admin sets CloudBox up. `network=False` skips remote calls;
    `oidc` is the app's sign-in client, whose discovery document the network check fetches."""
    s = services.settings
    checks = [
        Check(
            "Storage mode",
            INFO,
            "embedded local store (for trying CloudBox out; set CLOUDBOX_BUCKET for real use)"
            if s.embedded
            else f"Google Cloud Storage bucket {s.bucket}",
        ),
        _probe("Database", lambda: db.ping(services.engine), _db_name(s.database_url)),
        _probe("Bucket", services.blobs.check, "reachable and listable"),
        _probe(
            "Link signing",
            lambda: services.blobs.signed_url("doctor/probe", timedelta(minutes=1)),
            "V4 signed URLs can be made",
        ),
        _base_url_check(s.base_url),
        _oauth_check(services, network, oidc),
        _slack_check(services, network),
        _gchat_check(services),
        *_access_checks(services),
    ]
    return checks


def _access_checks(services: Services) -> list[Check]:
    """The access policy in words; an open Google sign-in is pointed out, not failed (an
    Internal consent screen already limits sign-in to the Workspace)."""
    s = services.settings
    lines = s.access.summary()
    google = Check("Who may use it", INFO, lines[0])
    if s.google_oauth_enabled and not s.access.google_restricted:
        google = Check(
            "Who may use it",
            MISSING,
            lines[0] + ": with an External consent screen any Google account can sign in;"
            " set CLOUDBOX_ALLOWED_GOOGLE_DOMAINS",
        )
    return [google, *(Check("Who may use it", INFO, line) for line in lines[1:])]


def _probe(name: str, action: Callable[[], object], success: str) -> Check:
    try:
        action()
    except Exception as exc:
        return Check(name, FAILED, f"{type(exc).__name__}: {_first_line(exc)}")
    return Check(name, OK, success)


def _base_url_check(base_url: str) -> Check:
    local = "//127.0.0.1" in base_url or "//localhost" in base_url
    if base_url.startswith("https://") or local:
        return Check("Public URL", OK if not local else INFO, f"CLOUDBOX_BASE_URL = {base_url}")
    return Check("Public URL", FAILED, f"CLOUDBOX_BASE_URL should be https:// in production: {base_url}")


def _oauth_check(services: Services, network: bool, oidc: OidcClient | None) -> Check:
    s = services.settings
    if not s.google_oauth_enabled:
        return Check(
            "Google sign-in",
            MISSING,
            "set OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (a Google OAuth web client) to link "
            "chat accounts and open the gallery",
        )
    if not network:
        return Check("Google sign-in", OK, "OAuth client configured")

    client = oidc or OidcClient.from_settings(s)
    assert client is not None  # sign-in is configured

    def discover() -> None:
        client.metadata()

    return _probe("Google sign-in", discover, f"OAuth client configured; {s.oauth_discovery_url} answers")


def _slack_check(services: Services, network: bool) -> Check:
    s = services.settings
    if not s.slack_enabled:
        return Check(
            "Slack",
            MISSING,
            "set SLACK_SIGNING_SECRET with SLACK_BOT_TOKEN (one workspace) or "
            "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (install to many); SLACK_APP_TOKEN for Socket Mode",
        )
    mode = "multi-workspace install" if s.slack_multi_workspace else "single workspace"
    if s.slack_app_token:
        mode += ", Socket Mode"
    if not (network and s.slack_bot_token):
        return Check("Slack", OK, mode)

    def auth_test() -> None:
        WebClient(token=s.slack_bot_token, base_url=s.slack_api_url).auth_test()

    return _probe("Slack", auth_test, f"{mode}; the bot token works")


def _gchat_check(services: Services) -> Check:
    s = services.settings
    if not s.gchat_enabled:
        return Check(
            "Google Chat",
            MISSING,
            "set GCHAT_AUDIENCE (project number or endpoint URL) to receive Chat events",
        )
    how = "project number" if (s.gchat_audience or "").isdigit() else "endpoint URL"
    creds = "GCHAT_CREDENTIALS key" if s.gchat_credentials else "application default credentials"
    return Check("Google Chat", OK, f"audience by {how}; media downloaded with {creds}")


def _db_name(url: str) -> str:
    return url.split("://", 1)[0] + " catalog reachable and migrated"


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]


class RecentChecks:
    """The offline checks, run at most once every CHECKS_SECONDS: the set-up page shows them to
    every visitor, and its visits must not turn into a stream of probes of the bucket."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._checks: list[Check] = []

    def get(self, services: Services) -> list[Check]:
        with self._lock:  # one run at a time; visits meanwhile wait for it and share its result
            if time.monotonic() - self._at >= CHECKS_SECONDS:
                self._checks = run_checks(services, network=False)
                self._at = time.monotonic()
            return self._checks
