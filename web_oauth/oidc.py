"""Google sign-in as an OpenID Connect relying party: no Flask, no session, no stored tokens.

The authorization code flow is google-auth-oauthlib's `Flow` (PKCE S256 with our verifier,
state, nonce; online access only, so Google issues no refresh token), over HTTPS only: oauthlib
refuses any other transport, and the tests serve their providers over TLS to keep it so. The ID
token is verified by google-auth against the provider's JWKS, which is fetched once and cached
(Google's rotate slowly and say so in Cache-Control); `iss`, nonce and email verification are
checked here because google-auth does not check them on this path.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import exceptions as google_exceptions
from google.auth import jwt
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors
from oauthlib.oauth2.rfc6749.errors import InsecureTransportError
from requests_oauthlib import OAuth2Session

from storage.settings import Settings

from . import messages as m

# The OpenID Connect names (Google answers with its long names; see `exchange`).
SCOPES = ["openid", "email", "profile"]
HTTP_TIMEOUT = 10
CLOCK_SKEW_SECONDS = 60
DEFAULT_CACHE_SECONDS = 3600
_MAX_AGE_RE = re.compile(r"max-age=(\d+)")


class OidcError(Exception):
    """Sign-in failed; `message` is what the person is shown, `reason` is for the log."""

    def __init__(self, message: str, reason: str, *, status: int = 400):
        super().__init__(reason)
        self.message = message
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class GoogleUser:
    """A verified Google identity: the stable `sub` and the verified email."""

    sub: str
    email: str
    name: str | None = None
    hosted_domain: str | None = None  # `hd`: the Google Workspace domain; None for consumer accounts


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(64)  # 86 characters, inside RFC 7636's 43..128
        return cls(verifier, s256(verifier))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class _Cached:
    """A JSON document fetched over HTTP and kept until its max-age passes."""

    def __init__(self, http: requests.Session, url: str, what: str, verify: str | bool = True):
        self._http = http
        self._verify = verify
        self.url = url
        self._what = what
        self._value: dict[str, Any] | None = None
        self._until = 0.0
        self._lock = threading.Lock()

    def get(self, *, refresh: bool = False) -> dict[str, Any]:
        with self._lock:
            if refresh or self._value is None or time.monotonic() >= self._until:
                self._value, max_age = self._fetch()
                self._until = time.monotonic() + max_age
            return self._value

    def _fetch(self) -> tuple[dict[str, Any], int]:
        try:
            # Per request: a session's own `verify` loses to REQUESTS_CA_BUNDLE in the environment.
            response = self._http.get(self.url, timeout=HTTP_TIMEOUT, verify=self._verify)
            response.raise_for_status()
            value = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise OidcError(
                m.SIGNIN_UNAVAILABLE,
                f"could not fetch the {self._what}: {type(exc).__name__}",
                status=503,
            ) from None
        if not isinstance(value, dict):
            raise OidcError(m.SIGNIN_MISCONFIGURED, f"{self._what} is not a JSON object", status=503)
        match = _MAX_AGE_RE.search(response.headers.get("Cache-Control", ""))
        return value, int(match.group(1)) if match else DEFAULT_CACHE_SECONDS


class OidcClient:
    """One OAuth client (id and secret) of one OpenID provider (by its discovery URL)."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        discovery_url: str,
        *,
        http: requests.Session | None = None,
        ca_bundle: str | None = None,
    ):
        self.client_id = client_id
        self._client_secret = client_secret
        self._http = http or requests.Session()
        # OAUTH_CA_BUNDLE: a self-hoster's TLS-inspecting proxy, or the tests' own CA.
        self._verify: str | bool = ca_bundle or True
        self._discovery = _Cached(self._http, discovery_url, "discovery document", self._verify)
        self._jwks: _Cached | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcClient | None:
        """Google sign-in's client, or None until one is configured; it fetches nothing yet."""
        if not settings.google_oauth_enabled:
            return None
        assert settings.oauth_client_id and settings.oauth_client_secret
        return cls(
            settings.oauth_client_id,
            settings.oauth_client_secret,
            settings.oauth_discovery_url,
            ca_bundle=settings.oauth_ca_bundle,
        )

    def metadata(self) -> dict[str, Any]:
        doc = self._discovery.get()
        missing = [
            k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri") if not doc.get(k)
        ]
        if missing:
            raise OidcError(m.SIGNIN_MISCONFIGURED, f"discovery document lacks {missing}", status=503)
        return doc

    def _flow(
        self, *, redirect_uri: str, verifier: str, state: str | None = None, scopes: list[str] | None = SCOPES
    ) -> Flow:
        metadata = self.metadata()
        config = {
            "web": {
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "auth_uri": metadata["authorization_endpoint"],
                "token_uri": metadata["token_endpoint"],
            }
        }
        session = OAuth2Session(self.client_id, scope=scopes, redirect_uri=redirect_uri, state=state)
        return Flow(session, "web", config, redirect_uri=redirect_uri, code_verifier=verifier)

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, verifier: str) -> str:
        try:
            url, _ = self._flow(redirect_uri=redirect_uri, verifier=verifier, state=state).authorization_url(
                access_type="online",  # no refresh token: CloudBox keeps no Google tokens
                prompt="select_account",
                nonce=nonce,
            )
        except InsecureTransportError:
            raise _not_https() from None
        return str(url)

    def exchange(self, *, code: str, verifier: str, redirect_uri: str) -> str:
        """Trade an authorization code for an ID token (the access token is dropped at once)."""
        # No scopes to compare the answer with: what CloudBox needs is in the ID token, which
        # `verify` checks claim by claim (a verified email above all), whatever the provider
        # lists as granted (Google's full names, a provider that echoes only "openid").
        flow = self._flow(redirect_uri=redirect_uri, verifier=verifier, scopes=None)
        try:
            # include_client_id: the id and secret in the form (client_secret_post), as Google
            # documents, rather than HTTP Basic.
            body = flow.fetch_token(
                code=code, include_client_id=True, timeout=HTTP_TIMEOUT, verify=self._verify
            )
        except (InsecureTransportError, oauth2_errors.OAuth2Error, requests.RequestException) as exc:
            raise _token_endpoint_error(exc) from None
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise OidcError(m.NO_IDENTITY, "no id_token in the token response", status=502)
        return id_token

    def verify(self, id_token: str, *, nonce: str) -> GoogleUser:
        """Check signature, `aud`, `exp`/`iat`, `iss`, nonce and verified email."""
        claims = self._decode(id_token)
        issuer = self.metadata()["issuer"]
        if claims.get("iss") not in _accepted_issuers(issuer):
            raise _unverified(f"wrong issuer {str(claims.get('iss'))[:80]!r}")
        if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
            raise _unverified("nonce mismatch")
        sub, email = claims.get("sub"), claims.get("email")
        if not isinstance(sub, str) or not sub:
            raise _unverified("no sub")
        if not isinstance(email, str) or claims.get("email_verified") not in (True, "true"):
            raise OidcError(
                m.EMAIL_NOT_VERIFIED,
                "email not verified",
                status=403,
            )
        name, hd = claims.get("name"), claims.get("hd")
        return GoogleUser(
            sub=sub,
            email=email,
            name=name if isinstance(name, str) else None,
            hosted_domain=hd if isinstance(hd, str) and hd else None,
        )

    def _decode(self, id_token: str) -> Mapping[str, Any]:
        try:
            header = jwt.decode_header(id_token)
        except (ValueError, google_exceptions.GoogleAuthError):
            raise _unverified("malformed token") from None
        if header.get("alg") != "RS256":
            raise _unverified(f"unexpected alg {str(header.get('alg'))[:20]!r}")
        certs = self._certs()
        if header.get("kid") and header["kid"] not in certs:
            certs = self._certs(refresh=True)  # the provider may have rotated its keys
        try:
            claims = jwt.decode(
                id_token, certs=certs, audience=None, clock_skew_in_seconds=CLOCK_SKEW_SECONDS
            )
        except (ValueError, google_exceptions.GoogleAuthError) as exc:
            raise _unverified(str(exc).split(",")[0][:120]) from None
        if not self._for_us(claims):
            raise _unverified(f"wrong audience {str(claims.get('aud'))[:80]!r}")
        return claims

    def _for_us(self, claims: Mapping[str, Any]) -> bool:
        """OIDC Core 3.1.3.7: `aud` is our client id, or a list holding it (then `azp` names us)."""
        aud = claims.get("aud")
        if isinstance(aud, str):
            return aud == self.client_id
        if isinstance(aud, list) and self.client_id in aud:
            return len(aud) == 1 or claims.get("azp") == self.client_id
        return False

    def _certs(self, *, refresh: bool = False) -> dict[str, bytes]:
        if self._jwks is None:
            self._jwks = _Cached(self._http, self.metadata()["jwks_uri"], "signing keys", self._verify)
        return jwks_to_pem(self._jwks.get(refresh=refresh))


def jwks_to_pem(jwks: Mapping[str, Any]) -> dict[str, bytes]:
    """RSA signing keys of a JWK set as {kid: PEM public key}, the form google-auth verifies with."""
    pems: dict[str, bytes] = {}
    for index, key in enumerate(jwks.get("keys", [])):
        if not isinstance(key, dict) or key.get("kty") != "RSA" or key.get("use", "sig") != "sig":
            continue
        try:
            numbers = rsa.RSAPublicNumbers(_b64int(key["e"]), _b64int(key["n"]))
            pem = numbers.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        except (KeyError, ValueError, TypeError):
            continue
        pems[str(key.get("kid") or f"key-{index}")] = pem
    return pems


def _b64int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _accepted_issuers(issuer: str) -> set[str]:
    # Google's ID tokens may carry either form of its issuer (its own documentation says so).
    if issuer in ("https://accounts.google.com", "accounts.google.com"):
        return {"https://accounts.google.com", "accounts.google.com"}
    return {issuer}


def _not_https() -> OidcError:
    return OidcError(m.SIGNIN_MISCONFIGURED, "the provider's endpoints are not https", status=503)


def _token_endpoint_error(exc: Exception) -> OidcError:
    """What the person is told when the code could not be traded, and what the log says."""
    if isinstance(exc, InsecureTransportError):
        return _not_https()
    if isinstance(exc, oauth2_errors.InvalidGrantError):
        return OidcError(
            m.CODE_USED_OR_EXPIRED,
            "token endpoint: invalid_grant",
        )
    if isinstance(exc, oauth2_errors.OAuth2Error):
        return OidcError(
            m.GOOGLE_DID_NOT_ACCEPT,
            f"token endpoint answered {exc.status_code} {str(exc.error)[:40]}",
            status=502,
        )
    return OidcError(
        m.GOOGLE_DID_NOT_ANSWER,
        f"token endpoint unreachable: {type(exc).__name__}",
        status=502,
    )


def _unverified(reason: str) -> OidcError:
    return OidcError(
        m.ANSWER_NOT_VERIFIED,
        f"ID token rejected: {reason}",
    )
