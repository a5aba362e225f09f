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

from . import messages as m
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
        Check(m.STORAGE_MODE, INFO, m.EMBEDDED_STORE if s.embedded else m.gcs_bucket(s.bucket)),
        _probe(m.DATABASE, lambda: db.ping(services.engine), _db_name(s.database_url)),
        _probe(m.BUCKET, services.blobs.check, m.BUCKET_REACHABLE),
        _probe(
            m.LINK_SIGNING,
            lambda: services.blobs.signed_url("doctor/probe", timedelta(minutes=1)),
            m.LINKS_CAN_BE_SIGNED,
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
    google = Check(m.WHO_MAY_USE_IT, INFO, lines[0])
    if s.google_oauth_enabled and not s.access.google_restricted:
        google = Check(m.WHO_MAY_USE_IT, MISSING, m.google_sign_in_open(lines[0]))
    return [google, *(Check(m.WHO_MAY_USE_IT, INFO, line) for line in lines[1:])]


def _probe(name: str, action: Callable[[], object], success: str) -> Check:
    try:
        action()
    except Exception as exc:
        return Check(name, FAILED, f"{type(exc).__name__}: {_first_line(exc)}")
    return Check(name, OK, success)


def _base_url_check(base_url: str) -> Check:
    local = "//127.0.0.1" in base_url or "//localhost" in base_url
    if base_url.startswith("https://") or local:
        return Check(m.PUBLIC_URL, OK if not local else INFO, m.public_url(base_url))
    return Check(m.PUBLIC_URL, FAILED, m.public_url_not_https(base_url))


def _oauth_check(services: Services, network: bool, oidc: OidcClient | None) -> Check:
    s = services.settings
    if not s.google_oauth_enabled:
        return Check(m.GOOGLE_SIGNIN, MISSING, m.OAUTH_MISSING)
    if not network:
        return Check(m.GOOGLE_SIGNIN, OK, m.OAUTH_CONFIGURED)

    client = oidc or OidcClient.from_settings(s)
    assert client is not None  # sign-in is configured

    def discover() -> None:
        client.metadata()

    return _probe(m.GOOGLE_SIGNIN, discover, m.oauth_provider_answers(s.oauth_discovery_url))


def _slack_check(services: Services, network: bool) -> Check:
    s = services.settings
    if not s.slack_enabled:
        return Check(m.SLACK, MISSING, m.SLACK_MISSING)
    mode = m.slack_mode(multi_workspace=s.slack_multi_workspace, socket_mode=bool(s.slack_app_token))
    if not (network and s.slack_bot_token):
        return Check(m.SLACK, OK, mode)

    def auth_test() -> None:
        WebClient(token=s.slack_bot_token, base_url=s.slack_api_url).auth_test()

    return _probe(m.SLACK, auth_test, m.slack_token_works(mode))


def _gchat_check(services: Services) -> Check:
    s = services.settings
    if not s.gchat_enabled:
        return Check(m.GOOGLE_CHAT, MISSING, m.GCHAT_MISSING)
    return Check(
        m.GOOGLE_CHAT,
        OK,
        m.gchat_configured(
            by_project_number=(s.gchat_audience or "").isdigit(), with_key=bool(s.gchat_credentials)
        ),
    )


def _db_name(url: str) -> str:
    return m.catalog_reachable(url.split("://", 1)[0])


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
