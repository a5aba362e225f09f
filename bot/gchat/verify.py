"""Verifying the bearer token Google Chat sends with every request, before anything else runs.

Two audience settings exist for an HTTP Chat app (GCHAT_AUDIENCE):

- a project number: the token is a JWT issued by chat@system.gserviceaccount.com and signed
  with Chat's own x509 certificates;
- the endpoint URL: the token is a Google ID token (Google's OAuth certificates) whose `email`
  is Chat's service account, or the app's per-project add-on service account
  (service-<project number>@gcp-sa-gsuiteaddons.iam.gserviceaccount.com). Every project's
  add-ons have such an account and any of them can mint an ID token for our URL, so only the
  configured project's number (GCHAT_PROJECT_NUMBER) is accepted.

Google's tokens live one hour; a token that claims to live longer is refused.

google-auth's `id_token.verify_token` downloads the certificates on every call, so certificates
come from `CertCache` (honouring Cache-Control max-age, re-fetched when a token names a key id
we have not seen) and `google.auth.jwt.decode` checks signature, expiry and audience.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from google.auth import exceptions as google_exceptions
from google.auth import jwt as google_jwt
from google.auth.transport.requests import Request

CHAT_ISSUER = "chat@system.gserviceaccount.com"
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
ADDON_ACCOUNT_RE = re.compile(r"^service-(\d+)@gcp-sa-gsuiteaddons\.iam\.gserviceaccount\.com$")
MAX_TOKEN_LIFETIME = 3600  # seconds from iat to exp, as Google issues them
_MAX_AGE_RE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)
DEFAULT_CERT_TTL = 300.0  # when the certificate URL sends no max-age
MAX_TOKEN_CHARS = 8192


class Unverified(Exception):
    """The request does not carry a valid Chat token. `reason` is safe to log (no token)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CertCache:
    """Google's public certificates `{kid: PEM}`, kept as long as Cache-Control allows."""

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        min_refetch_seconds: float = 30.0,
        timeout: float = 10.0,
    ):
        self.url = url
        self._request = Request(session or requests.Session())
        self._clock = clock
        # A flood of tokens with made-up key ids must not turn into a flood of downloads.
        self._min_refetch = min_refetch_seconds
        self._timeout = timeout
        self._lock = threading.Lock()
        self._certs: dict[str, str] = {}
        self._fetched_at: float | None = None
        self._expires_at = 0.0

    def certificate(self, kid: str) -> str:
        """The certificate for `kid`, downloading the set again when stale or `kid` is new."""
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now >= self._expires_at:
                self._fetch(now)
            elif kid not in self._certs and now - self._fetched_at >= self._min_refetch:
                self._fetch(now)  # Google may have rotated its keys since we last looked
            cert = self._certs.get(kid)
        if cert is None:
            raise Unverified(f"unknown key id {kid[:64]!r}")
        return cert

    def _fetch(self, now: float) -> None:
        try:
            response = self._request(self.url, method="GET", timeout=self._timeout)
        except google_exceptions.TransportError as exc:
            raise Unverified(f"could not fetch certificates: {type(exc).__name__}") from None
        if response.status != 200:
            raise Unverified(f"could not fetch certificates: HTTP {response.status}")
        try:
            certs = json.loads(response.data.decode("utf-8"))
        except ValueError:
            raise Unverified("certificate URL did not answer with JSON") from None
        if not isinstance(certs, dict) or "keys" in certs:
            raise Unverified("certificate URL must answer {key id: x509 PEM} (set GCHAT_CERTS_URL)")
        self._certs = {str(k): str(v) for k, v in certs.items()}
        self._fetched_at = now
        self._expires_at = now + _max_age(response.headers)


def _max_age(headers: Mapping[str, str]) -> float:
    cache_control = ""
    age = "0"
    for name, value in headers.items():
        if name.lower() == "cache-control":
            cache_control = value
        elif name.lower() == "age":
            age = value
    if "no-store" in cache_control.lower() or "no-cache" in cache_control.lower():
        return 0.0
    match = _MAX_AGE_RE.search(cache_control)
    if not match:
        return DEFAULT_CERT_TTL
    try:
        already = float(age)
    except ValueError:
        already = 0.0
    return max(0.0, float(match.group(1)) - already)


class ChatTokenVerifier:
    """Checks `Authorization: Bearer <jwt>` for one configured audience."""

    def __init__(
        self,
        audience: str,
        certs: CertCache,
        *,
        project_number: str | None = None,
        clock_skew_seconds: int = 10,
    ):
        self.audience = audience
        self.project_number = audience.isdigit()
        # Whose add-on service account may call: the audience itself when it is the number.
        self._addon_project = audience if audience.isdigit() else project_number
        self._certs = certs
        self._skew = clock_skew_seconds

    def verify(self, authorization: str | None) -> Mapping[str, Any]:
        """The token's claims; raises Unverified saying why not."""
        token = _bearer(authorization)
        header = _header(token)
        if header.get("alg") != "RS256":
            raise Unverified(f"unexpected signing algorithm {str(header.get('alg'))[:16]!r}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unverified("token names no key id")
        cert = self._certs.certificate(kid)
        try:
            claims = google_jwt.decode(
                token, certs={kid: cert}, audience=self.audience, clock_skew_in_seconds=self._skew
            )
        except (ValueError, TypeError, google_exceptions.GoogleAuthError) as exc:
            # google-auth's messages name the failed check (signature, expiry, audience) and
            # the claim values, never the token itself.
            raise Unverified(str(exc)[:200]) from None
        _check_lifetime(claims)
        self._check_issuer(claims)
        return claims

    def _check_issuer(self, claims: Mapping[str, Any]) -> None:
        issuer = claims.get("iss")
        if self.project_number:
            if issuer != CHAT_ISSUER:
                raise Unverified(f"wrong issuer {str(issuer)[:80]!r}")
            return
        if issuer not in GOOGLE_ISSUERS:
            raise Unverified(f"wrong issuer {str(issuer)[:80]!r}")
        email = claims.get("email")
        if not isinstance(email, str):
            raise Unverified("token is not from Google Chat (no email)")
        addon = ADDON_ACCOUNT_RE.match(email)
        if addon and addon.group(1) != self._addon_project:
            if self._addon_project is None:
                raise Unverified("token is from a Chat add-on, and GCHAT_PROJECT_NUMBER is not set")
            raise Unverified(f"token is from another project's add-on (email {email[:80]!r})")
        if not (email == CHAT_ISSUER or addon):
            raise Unverified(f"token is not from Google Chat (email {email[:80]!r})")
        if claims.get("email_verified") is False:
            raise Unverified("token email is not verified")


def _check_lifetime(claims: Mapping[str, Any]) -> None:
    """A token Google issued lives an hour; one claiming longer was minted by someone else."""
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int) or not isinstance(expires, int):
        raise Unverified("token has no issue or expiry time")
    if expires - issued > MAX_TOKEN_LIFETIME:
        raise Unverified(f"token claims to live {expires - issued} s, more than an hour")


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unverified("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unverified("Authorization header is not a bearer token")
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise Unverified("bearer token is not a JWT")
    return token


def _header(token: str) -> dict[str, Any]:
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise Unverified("token header is not readable") from None
    if not isinstance(header, dict):
        raise Unverified("token header is not readable")
    return header
