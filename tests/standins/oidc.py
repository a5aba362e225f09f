"""OpenID providers on 127.0.0.1 for the sign-in tests, over real HTTP.

- `MockProvider`: oidc-provider-mock's own WSGI app (Authlib underneath), the closest thing to
  Google that runs offline. It needs AUTHLIB_INSECURE_TRANSPORT=1 in the test process. It does
  not enforce PKCE.
- `ForgedProvider`: a small provider whose ID tokens the test shapes (wrong `aud`, wrong `iss`,
  expired, signed by another key...). It signs them with a test RSA key served as a JWKS, and
  enforces PKCE S256 and one-time codes as Google does, recording every request it receives.
"""

from __future__ import annotations

import base64
import functools
import secrets
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import flask
import oidc_provider_mock
import requests
import werkzeug.serving
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

from tests.standins.tls import spki_pin, tls_context_for
from web_oauth.oidc import s256

TLS_HOST = "localhost"  # resolves to 127.0.0.1; the certificate names it


@dataclass
class Served:
    url: str
    server: werkzeug.serving.BaseWSGIServer


@dataclass(frozen=True)
class ProviderTls:
    """One CA for the run's TLS stand-ins; `ca_bundle` is what clients are told to trust."""

    context: ssl.SSLContext
    ca_bundle: Path
    spki_pin: str  # for Chromium: trust exactly this server certificate


@functools.cache
def provider_tls() -> ProviderTls:
    directory = Path(tempfile.mkdtemp(prefix="cloudbox-test-tls-"))
    ca_bundle = directory / "ca.pem"
    context = tls_context_for(TLS_HOST, directory, ca_bundle)
    return ProviderTls(context, ca_bundle, spki_pin((directory / f"{TLS_HOST}.pem").read_bytes()))


@contextmanager
def serve_wsgi(app: Any, *, tls: bool = False) -> Iterator[Served]:
    """Serve a WSGI app on 127.0.0.1 with an ephemeral port, in a thread, until the block ends.

    `tls`: over HTTPS as https://localhost, with a certificate from `provider_tls()`'s CA. OAuth
    providers are served so: CloudBox's OAuth client (oauthlib) refuses anything else.
    """
    context = provider_tls().context if tls else None
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        host = f"https://{TLS_HOST}" if tls else "http://127.0.0.1"
        yield Served(f"{host}:{server.server_port}", server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _no_redirects() -> requests.Session:
    http = requests.Session()
    http.trust_env = False  # never a proxy from the environment for 127.0.0.1
    http.verify = str(provider_tls().ca_bundle)
    return http


class MockProvider:
    """oidc-provider-mock served over HTTP; `authorize()` plays the person at the consent page."""

    def __init__(self, url: str):
        self.url = url
        self.discovery_url = f"{url}/.well-known/openid-configuration"
        self._http = _no_redirects()

    def add_user(self, sub: str, email: str, *, email_verified: bool = True) -> None:
        response = self._http.put(
            f"{self.url}/users/{sub}", json={"email": email, "email_verified": email_verified}, timeout=5
        )
        response.raise_for_status()

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Sign in as `sub`; returns the callback URL the provider redirects the browser to."""
        return self._post(authorization_url, {"sub": sub})

    def deny(self, authorization_url: str) -> str:
        return self._post(authorization_url, {"action": "deny"})

    def _post(self, authorization_url: str, form: dict[str, str]) -> str:
        response = self._http.post(authorization_url, data=form, allow_redirects=False, timeout=5)
        assert response.status_code in (302, 303), (response.status_code, response.text[:300])
        return response.headers["Location"]


@contextmanager
def mock_provider() -> Iterator[MockProvider]:
    with serve_wsgi(oidc_provider_mock.app(require_nonce=True), tls=True) as served:
        yield MockProvider(served.url)


def b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def new(cls, kid: str | None = None) -> SigningKey:
        return cls(
            kid or secrets.token_hex(4), rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    def jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": b64url_uint(numbers.n),
            "e": b64url_uint(numbers.e),
        }

    def sign(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        signer = crypt.RSASigner.from_string(pem, key_id=self.kid)
        return jwt.encode(signer, claims, header=header).decode()


@dataclass
class ForgedProvider:
    """A provider whose next ID token the test can spoil; see the module docstring."""

    url: str = ""
    client_id: str = "cloudbox-test-client"
    key: SigningKey = field(default_factory=SigningKey.new)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    # Applied to the next ID token: claim overrides (None removes a claim), or another signer.
    overrides: dict[str, Any] = field(default_factory=dict)
    sign_with: SigningKey | None = None

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def reset(self) -> None:
        self.authorize_requests.clear()
        self.token_requests.clear()
        self.codes.clear()
        self.overrides = {}
        self.sign_with = None

    def authorize(self, authorization_url: str, sub: str, email: str | None = None) -> str:
        """The person signs in as `sub`; returns the callback URL with a fresh code."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        self.authorize_requests.append(query)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {**query, "sub": sub, "email": email or f"{sub}@example.com"}
        return query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})

    def app(self) -> flask.Flask:
        app = flask.Flask("forged_provider")

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            return {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
            }

        @app.get("/jwks")
        def jwks() -> Any:
            return {"keys": [self.key.jwk()]}

        @app.post("/token")
        def token() -> Any:
            form = flask.request.form.to_dict()
            self.token_requests.append(form)
            grant = self.codes.pop(form.get("code", ""), None)  # one-time, like Google
            if grant is None:
                return {"error": "invalid_grant", "error_description": "code unknown or used"}, 400
            if grant.get("code_challenge_method") != "S256" or s256(
                form.get("code_verifier", "")
            ) != grant.get("code_challenge"):
                return {"error": "invalid_grant", "error_description": "code_verifier mismatch"}, 400
            if (
                form.get("redirect_uri") != grant["redirect_uri"]
                or form.get("client_id") != grant["client_id"]
            ):
                return {"error": "invalid_grant"}, 400
            return {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": self._id_token(grant),
            }

        return app

    def _id_token(self, grant: dict[str, str]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": grant["client_id"],
            "sub": grant["sub"],
            "email": grant["email"],
            "email_verified": True,
            "nonce": grant.get("nonce"),
            "iat": now,
            "exp": now + 3600,
        }
        for name, value in self.overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return (self.sign_with or self.key).sign(claims)


@contextmanager
def forged_provider() -> Iterator[ForgedProvider]:
    provider = ForgedProvider()
    with serve_wsgi(provider.app(), tls=True) as served:
        provider.url = served.url
        yield provider
