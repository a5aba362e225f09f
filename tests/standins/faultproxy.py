"""A reverse proxy that makes an HTTP stand-in misbehave, reproducibly.

`FaultProxy(upstream)` listens on 127.0.0.1:0 and forwards every request to `upstream`
(fake-gcs-server, the Slack stand-in, any HTTP server). For each request a seeded RNG decides,
in arrival order, whether to inject a fault:

- ``429`` / ``500`` / ``503``: answered by the proxy; the upstream never sees the request.
- ``lost_503``: forwarded (the upstream acts on it), then the response is replaced by a 503,
  the nastiest transient failure: the write happened, the client was told it did not.
- ``reset``: the connection is closed without an answer (before or after forwarding).
- ``slow``: forwarded normally, but the answer is held back for `slow_seconds`.

`down = True` answers every request with 503 until it is set back to False.

Bodies are streamed both ways in bounded chunks. Requests reach the upstream with the
upstream's own Host header, and `Location` headers naming the upstream are rewritten to name
the proxy, so a GCS resumable-upload session URL sends every chunk through the proxy too.
With concurrent clients the sequence of decisions is fixed by the seed; which request gets
which decision then depends on arrival order.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

CHUNK = 64 * 1024
FAULTS = ("429", "500", "503", "lost_503", "reset", "slow")
# Never forwarded: they describe one hop, not the message.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}


@dataclass
class FaultPlan:
    """What to inject: `rate` of requests get a fault drawn from `faults` (weights equal)."""

    seed: int = 0
    rate: float = 0.0
    faults: tuple[str, ...] = FAULTS
    slow_seconds: float = 0.2
    # Only requests whose path starts with one of these are eligible (None: all).
    paths: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")


@dataclass
class FaultLog:
    """What the proxy did, for assertions and benchmark figures."""

    requests: int = 0
    injected: Counter[str] = field(default_factory=Counter)

    @property
    def faults(self) -> int:
        return sum(self.injected.values())


class FaultProxy:
    def __init__(self, upstream: str, plan: FaultPlan | None = None):
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("the proxy forwards to a plain http:// stand-in")
        self.upstream = f"http://{parts.netloc}"
        self._upstream_host = parts.hostname
        self._upstream_port = parts.port or 80
        self.plan = plan or FaultPlan()
        self.log = FaultLog()
        self.down = False
        self._lock = threading.Lock()
        self._rng = random.Random(self.plan.seed)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def configure(self, plan: FaultPlan) -> None:
        """Switch to another plan (and restart its RNG) between phases of a test."""
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() would wait forever for a loop never started
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def decide(self, path: str) -> str | None:
        """The fault for the next request (None: pass it through)."""
        with self._lock:
            self.log.requests += 1
            if self.down:
                self.log.injected["down"] += 1
                return "down"
            plan = self.plan
            if plan.paths is not None and not path.startswith(plan.paths):
                return None
            # Three draws per request whatever the outcome: the sequence depends only on the seed.
            hit, pick, early = self._rng.random(), self._rng.randrange(len(plan.faults)), self._rng.random()
            if hit >= plan.rate:
                return None
            fault = plan.faults[pick]
            if fault == "reset" and early < 0.5:
                fault = "reset_before"  # the upstream never sees it
            self.log.injected[fault] += 1
            return fault

    def rewrite_location(self, value: str) -> str:
        for base in (self.upstream, f"http://localhost:{self._upstream_port}"):
            if value.startswith(base):
                return self.url + value[len(base) :]
        return value

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._upstream_host, self._upstream_port, timeout=60)


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(_ProxyHandler):
        pass

    Handler.proxy = proxy
    return Handler


class _ProxyHandler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet in tests
        return

    def do_GET(self) -> None:
        self._relay()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _relay(self) -> None:
        fault = self.proxy.decide(self.path)
        if fault in ("429", "500", "503", "down"):
            self._drain_request_body()
            self._answer(int(fault) if fault != "down" else 503)
            return
        if fault == "reset_before":
            self._reset()
            return
        try:
            upstream = self._forward()
        except OSError:
            self._answer(502)
            return
        try:
            if fault == "reset":
                self._reset()
                return
            if fault == "lost_503":
                self._answer(503)
                return
            if fault == "slow":
                threading.Event().wait(self.proxy.plan.slow_seconds)  # the injected latency itself
            self._send_back(upstream)
        finally:
            upstream.close()

    # -- request side ---------------------------------------------------------------------

    def _body_chunks(self):  # type: ignore[no-untyped-def]
        """The request body, streamed (Content-Length or chunked) in bounded pieces."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                remaining = size
                while remaining:
                    piece = self.rfile.read(min(CHUNK, remaining))
                    if not piece:
                        raise ConnectionResetError("client went away mid-body")
                    remaining -= len(piece)
                    yield piece
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining:
                piece = self.rfile.read(min(CHUNK, remaining))
                if not piece:
                    raise ConnectionResetError("client went away mid-body")
                remaining -= len(piece)
                yield piece

    def _drain_request_body(self) -> None:
        for _ in self._body_chunks():
            pass

    def _forward(self) -> http.client.HTTPResponse:
        connection = self.proxy.connect()
        connection.putrequest(self.command, self.path, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                connection.putheader(name, value)
        length = self.headers.get("Content-Length")
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        elif length is not None:
            connection.putheader("Content-Length", length)
        connection.putheader("Connection", "close")
        connection.endheaders()
        for piece in self._body_chunks():
            connection.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        # The response owns the socket from here; closing it closes the connection.
        response.connection = connection  # type: ignore[attr-defined]
        return response

    # -- response side --------------------------------------------------------------------

    def _send_back(self, upstream: http.client.HTTPResponse) -> None:
        self.send_response(upstream.status, upstream.reason)
        for name, value in upstream.getheaders():
            lower = name.lower()
            if lower in _HOP_BY_HOP or lower == "content-length":
                continue
            if lower == "location":
                value = self.proxy.rewrite_location(value)
            self.send_header(name, value)
        length = upstream.getheader("Content-Length")
        no_body = self.command == "HEAD" or upstream.status in (204, 304) or 100 <= upstream.status < 200
        if length is not None:
            self.send_header("Content-Length", length)
        elif not no_body:
            # Unknown length: the end of the body is the end of the connection.
            self.close_connection = True
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        if no_body:
            return
        while piece := upstream.read(CHUNK):
            self.wfile.write(piece)

    def _answer(self, status: int) -> None:
        body = b'{"error": {"code": %d, "message": "injected by the fault proxy"}}' % status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Close with RST (SO_LINGER 0), as a crashed or overloaded front end would."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.connection.close()
