"""A local Google for the Chat bot's tests: certificates, tokens, media and messages.

- `ChatSigner`: an RSA key with a self-signed x509 certificate and a key id; `mint(...)` signs
  JWTs the way Chat does (project-number audience) or Google ID tokens (endpoint-URL audience).
- `GchatStandin`: one threaded HTTP server on 127.0.0.1:0 that serves
    GET  /certs                        {kid: PEM x509} with Cache-Control, counting fetches;
    POST /token                        OAuth JWT-bearer grant; checks the assertion's signature
                                       and the chat.bot scope, hands out an access token;
    GET  /v1/media/<resourceName>      the uploaded bytes, only with that access token;
    POST /v1/<space>/messages          records the message the app posts, same token check; a
                                       repeated requestId returns the first message, as Chat does.
  Every request is recorded; tests wait on `wait_for(...)`, never on a sleep.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt

from .keys import make_service_account_key

CHAT_ISSUER = "chat@system.gserviceaccount.com"
CHAT_BOT_SCOPE = "https://www.googleapis.com/auth/chat.bot"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class ChatSigner:
    """A signing key Google would hold, with the certificate it publishes for it."""

    kid: str
    private_key: rsa.RSAPrivateKey
    cert_pem: str

    @classmethod
    def make(cls, kid: str | None = None) -> ChatSigner:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chat-test")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        return cls(kid or secrets.token_hex(8), key, cert.public_bytes(serialization.Encoding.PEM).decode())

    def mint(self, claims: dict[str, Any], *, kid: str | None = None, lifetime: int = 3600) -> str:
        """A signed JWT with iat/exp filled in (unless `claims` sets them)."""
        now = int(time.time())
        payload = {"iat": now, "exp": now + lifetime, **claims}
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        signer = crypt.RSASigner.from_string(pem, key_id=kid or self.kid)
        return google_jwt.encode(signer, payload).decode()

    def chat_token(self, project_number: str, **claims: Any) -> str:
        """What Chat sends when the app's audience is its project number."""
        return self.mint({"iss": CHAT_ISSUER, "aud": project_number, **claims})

    def id_token(self, endpoint_url: str, email: str = CHAT_ISSUER, **claims: Any) -> str:
        """What Chat (or an add-on's service account) sends when the audience is the endpoint URL."""
        return self.mint(
            {
                "iss": "https://accounts.google.com",
                "aud": endpoint_url,
                "email": email,
                "email_verified": True,
                "sub": "1" + secrets.token_hex(6),
                **claims,
            }
        )


@dataclass
class Recorded:
    method: str
    path: str
    authorized: bool
    body: Any = None


@dataclass
class MediaItem:
    content_type: str
    data: bytes


@dataclass
class _State:
    signers: list[ChatSigner] = field(default_factory=list)
    cert_max_age: int = 3600
    cert_fetches: int = 0
    token_key: rsa.RSAPublicKey | None = None
    access_tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    media: dict[str, MediaItem] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    by_request_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    refuse_cards: int = 0  # refuse this many more messages that carry a card, as Chat would a bad one


class GchatStandin:
    """The Google endpoints the Chat bot talks to, on one local port."""

    def __init__(self) -> None:
        self.state = _State()
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> GchatStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def certs_url(self) -> str:
        return f"{self.url}/certs"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    # -- set-up by tests ------------------------------------------------------------------

    def reset(self) -> None:
        with self._changed:
            self.state = _State()

    def publish(self, *signers: ChatSigner, max_age: int = 3600) -> None:
        with self._changed:
            self.state.signers = list(signers)
            self.state.cert_max_age = max_age

    def trust_service_account(self, public_key: rsa.RSAPublicKey) -> None:
        """Only assertions signed by this key get an access token."""
        self.state.token_key = public_key

    def add_media(self, resource_name: str, data: bytes, content_type: str = "image/png") -> None:
        self.state.media[resource_name] = MediaItem(content_type, data)

    def write_key_file(self, directory: Path, private_key: rsa.RSAPrivateKey) -> Path:
        """A service-account key file whose token_uri is this stand-in."""
        key = make_service_account_key(
            directory, "chat-bot", private_key=private_key, token_uri=self.token_url
        )
        self.trust_service_account(private_key.public_key())
        return key.path

    # -- observations ---------------------------------------------------------------------

    @property
    def cert_fetches(self) -> int:
        return self.state.cert_fetches

    def media_requests(self) -> list[Recorded]:
        return [r for r in self.state.requests if r.path.startswith("/v1/media/")]

    def wait_for(self, predicate: Callable[[_State], bool], timeout: float = 10.0) -> None:
        """Block until `predicate(state)` holds (checked on every request), or fail."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.state), timeout=timeout):
                raise AssertionError("the Chat stand-in never saw what the test waited for")

    def wait_for_posts(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        self.wait_for(lambda s: len(s.posted) >= count, timeout)
        return list(self.state.posted)

    def _record(self, entry: Recorded, *, new_message: bool = True) -> None:
        with self._changed:
            self.state.requests.append(entry)
            if (
                entry.method == "POST"
                and entry.path.endswith("/messages")
                and entry.authorized
                and new_message
            ):
                self.state.posted.append({"path": entry.path, "message": entry.body})
            self._changed.notify_all()


def _handler_for(standin: GchatStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
            return None

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = urlsplit(self.path).path
            if path == "/certs":
                return self._certs()
            if path.startswith("/v1/media/"):
                return self._media(path)
            self._send(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if path == "/token":
                return self._token(body)
            if path.startswith("/v1/spaces/") and path.endswith("/messages"):
                return self._message(path, body)
            self._send(404, {"error": "not found"})

        # -- routes -----------------------------------------------------------------------

        def _certs(self) -> None:
            state = standin.state
            with standin._changed:
                state.cert_fetches += 1
                standin._changed.notify_all()
            body = {s.kid: s.cert_pem for s in state.signers}
            self._send(200, body, {"Cache-Control": f"public, max-age={state.cert_max_age}"})

        def _token(self, body: bytes) -> None:
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            state = standin.state
            if form.get("grant_type") != JWT_GRANT or state.token_key is None:
                return self._send(400, {"error": "unsupported_grant_type"})
            try:
                claims = _verify_assertion(form.get("assertion", ""), state.token_key)
            except ValueError:
                return self._send(400, {"error": "invalid_grant"})
            if CHAT_BOT_SCOPE not in str(claims.get("scope", "")).split():
                return self._send(400, {"error": "invalid_scope"})
            token = "ya29.test-" + secrets.token_urlsafe(16)
            with standin._changed:
                state.access_tokens.add(token)
                state.tokens_issued += 1
            self._send(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

        def _media(self, path: str) -> None:
            authorized = self._authorized()
            query = parse_qs(urlsplit(self.path).query)
            standin._record(Recorded("GET", path, authorized))
            if not authorized:
                return self._send(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
            if query.get("alt") != ["media"]:
                return self._send(400, {"error": {"code": 400, "message": "alt=media required"}})
            item = standin.state.media.get(unquote(path[len("/v1/media/") :]))
            if item is None:
                return self._send(404, {"error": {"code": 404, "status": "NOT_FOUND"}})
            self.send_response(200)
            self.send_header("Content-Type", item.content_type)
            self.send_header("Content-Length", str(len(item.data)))
            self.end_headers()
            self.wfile.write(item.data)

        def _message(self, path: str, body: bytes) -> None:
            authorized = self._authorized()
            message = json.loads(body or b"{}")
            request_id = (parse_qs(urlsplit(self.path).query).get("requestId") or [""])[0]
            space = path[len("/v1/") : -len("/messages")]
            created = {**message, "name": f"{space}/messages/{secrets.token_hex(6)}"}
            problem = _over_chat_limits(body, message)
            if problem is None and message.get("cardsV2") and standin.state.refuse_cards > 0:
                standin.state.refuse_cards -= 1
                problem = "Invalid card"
            if problem is not None:
                standin._record(Recorded("POST", path, authorized, message), new_message=False)
                return self._send(
                    400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": problem}}
                )
            with standin._changed:
                # As Chat does: an existing request ID returns the message it created, once.
                existing = standin.state.by_request_id.get(request_id) if request_id and authorized else None
                if request_id and authorized and existing is None:
                    standin.state.by_request_id[request_id] = created
            standin._record(Recorded("POST", path, authorized, message), new_message=existing is None)
            if not authorized:
                return self._send(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
            self._send(200, existing or created)

        # -- helpers ----------------------------------------------------------------------

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            return scheme.lower() == "bearer" and token in standin.state.access_tokens

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


MAX_MESSAGE_BYTES = 32_000  # Chat: "the maximum message size, including text and cards, is 32,000 bytes"
MAX_CARD_WIDGETS = 100


def _over_chat_limits(raw: bytes, message: dict[str, Any]) -> str | None:
    """Chat's documented message limits, which it enforces with a 400."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return f"Message is {len(raw)} bytes; the limit is {MAX_MESSAGE_BYTES}"
    for card in message.get("cardsV2") or []:
        widgets = sum(len(s.get("widgets") or []) for s in card.get("card", {}).get("sections") or [])
        if widgets > MAX_CARD_WIDGETS:
            return f"A card has {widgets} widgets; the limit is {MAX_CARD_WIDGETS}"
    return None


def _verify_assertion(assertion: str, public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    try:
        return dict(google_jwt.decode(assertion, certs=pem, verify=True))
    except Exception as exc:  # any failure is an invalid grant for the caller
        raise ValueError(str(exc)) from None


def b64_segment(token: str, index: int) -> dict[str, Any]:
    """Decode one JWT segment (tests use it to forge headers)."""
    segment = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def iter_posts(standin: GchatStandin) -> Iterator[dict[str, Any]]:
    yield from standin.state.posted
