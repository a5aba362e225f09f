"""Google's metadata server and IAM Credentials signBlob, for signing URLs without a key file.

On Cloud Run CloudBox has no key file: google-auth takes an access token from the metadata
server, and google-cloud-storage asks IAM Credentials' signBlob to sign each V4 URL for the
service account. Two real local servers stand in for them:

- `MetadataServer`: plain HTTP, where GCE_METADATA_HOST and GCE_METADATA_IP point.
- `IamCredentials`: an HTTPS proxy (HTTPS_PROXY) that accepts CONNECT to
  iamcredentials.googleapis.com:443, terminates TLS with a certificate from a throw-away CA
  (REQUESTS_CA_BUNDLE), and answers signBlob with the service account's test key when the
  bearer token is the one the metadata server handed out.

Nothing is patched: the libraries run their production code against these addresses.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.standins.tls import tls_context_for

from .keys import ServiceAccountKey

IAM_HOST = "iamcredentials.googleapis.com"


@dataclass
class SignBlobCall:
    email: str
    token: str
    payload: bytes


@dataclass
class _Served:
    server: ThreadingHTTPServer
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class MetadataServer:
    """The instance metadata server: the default service account's email and tokens."""

    def __init__(self, email: str):
        self.email = email
        self.tokens: list[str] = []
        self._served: _Served | None = None

    def start(self) -> MetadataServer:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def do_GET(self) -> None:
                # google-auth's detection pings the root; every real call carries the flavor.
                path = urlsplit(self.path).path
                if path != "/" and self.headers.get("Metadata-Flavor") != "Google":
                    self._send(403, "text/plain", b"Missing Metadata-Flavor")
                    return
                account = "/computeMetadata/v1/instance/service-accounts/default/"
                if path == "/":
                    self._send(200, "text/plain", b"ok")
                elif path == account:
                    info = {"email": stand_in.email, "aliases": ["default"], "scopes": []}
                    self._send(200, "application/json", json.dumps(info).encode())
                elif path == account + "email":
                    self._send(200, "text/plain", stand_in.email.encode())
                elif path == account + "token":
                    token = "ya29.test-" + secrets.token_urlsafe(16)
                    stand_in.tokens.append(token)
                    body = {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
                    self._send(200, "application/json", json.dumps(body).encode())
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Metadata-Flavor", "Google")
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._served = _Served(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
        return self

    @property
    def address(self) -> str:
        assert self._served is not None
        return self._served.address

    def stop(self) -> None:
        if self._served is not None:
            self._served.stop()


class IamCredentials:
    """signBlob behind a TLS-terminating CONNECT proxy, with its own certificate authority."""

    def __init__(self, key: ServiceAccountKey, metadata: MetadataServer, directory: Path):
        self.key = key
        self.metadata = metadata
        self.calls: list[SignBlobCall] = []
        self.refused: list[str] = []
        self.ca_bundle = directory / "test-ca.pem"
        self._tls = tls_context_for(IAM_HOST, directory, self.ca_bundle)
        self._served: _Served | None = None

    def start(self) -> IamCredentials:
        stand_in = self

        class SignBlob(BaseHTTPRequestHandler):
            """One HTTP exchange inside the tunnel, as iamcredentials.googleapis.com."""

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                prefix, suffix = "/v1/projects/-/serviceAccounts/", ":signBlob"
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                email = unquote(path.removeprefix(prefix).removesuffix(suffix))
                if not (path.startswith(prefix) and path.endswith(suffix)) or email != stand_in.key.email:
                    stand_in.refused.append(f"no such service account: {path}")
                    self._send(404, {"error": {"code": 404, "status": "NOT_FOUND"}})
                    return
                if token not in stand_in.metadata.tokens:
                    stand_in.refused.append("a bearer token the metadata server never issued")
                    self._send(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
                    return
                payload = base64.b64decode(body["payload"])
                stand_in.calls.append(SignBlobCall(email, token, payload))
                signature = stand_in.key.private_key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
                key_id = stand_in.key.info["private_key_id"]
                self._send(200, {"keyId": key_id, "signedBlob": base64.b64encode(signature).decode()})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

        class Proxy(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def do_CONNECT(self) -> None:
                if self.path != f"{IAM_HOST}:443":
                    stand_in.refused.append(f"CONNECT to {self.path}")
                    self.send_error(403, "this proxy only reaches IAM Credentials")
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                self.wfile.flush()
                with stand_in._tls.wrap_socket(self.connection, server_side=True) as tunnel:
                    SignBlob(tunnel, self.client_address, self.server)
                self.close_connection = True

        self._served = _Served(ThreadingHTTPServer(("127.0.0.1", 0), Proxy))
        return self

    @property
    def proxy_url(self) -> str:
        assert self._served is not None
        return f"http://{self._served.address}"

    def stop(self) -> None:
        if self._served is not None:
            self._served.stop()
