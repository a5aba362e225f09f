"""Request bodies that do not arrive in time are dropped, and only a few may be waited for.

A threaded server (gunicorn's gthread, the dev server) gives each request a thread and reads its
body on that thread. A client that announces a large body and sends one byte would hold the
thread for as long as it keeps the socket open; sixteen of them took every thread of a worker
and /healthz stopped answering. This WSGI middleware reads the body through a guard that

- gives up when no byte arrives for `idle_seconds`, or when the whole body has not arrived by
  its deadline (a grace period plus the body's size at a slow but honest rate), answering 408;
- lets at most `max_waiting` requests of the process wait on the network for body bytes at
  once; one more is refused at once with 503, so threads always remain for everything else
  (health checks, pages, bodies that are already there);
- shuts the read side of a dropped connection, so the server's graceful close (which waits
  for the client on gunicorn's main thread, up to 2 s each) returns immediately.

It needs the connection's socket, which gunicorn (`gunicorn.socket`) and werkzeug's server
(`werkzeug.socket`) put in the environ; without one (tests, other servers) it stays out of the way.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from werkzeug.exceptions import RequestTimeout, ServiceUnavailable
from werkzeug.wrappers import Response

from . import messages as m

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

SOCKET_KEYS = ("gunicorn.socket", "werkzeug.socket")
IDLE_SECONDS = 5.0  # gunicorn waits as long for a request's first bytes
GRACE_SECONDS = 10.0
SLOWEST_RATE = 32 * 1024  # bytes/s: a poor mobile uplink still manages this
READ_CHUNK = 64 * 1024  # the deadline is checked at least this often
CHUNKED_SECONDS = 60.0  # a body of unsaid length must arrive within this
# A read of bytes that are already there holds its slot for microseconds: a reader that finds
# every slot taken waits this long before deciding the slots are held by slow clients.
SLOT_WAIT_SECONDS = 0.1


class BodyTooSlow(RequestTimeout):
    description = m.BODY_TOO_SLOW


class TooManySlowBodies(ServiceUnavailable):
    description = m.TOO_MANY_SLOW_BODIES


class SlowBodyGuard:
    """WSGI middleware: bounds how long, and how many at once, request bodies are waited for."""

    def __init__(self, app: WsgiApp, *, max_waiting: int, idle_seconds: float = IDLE_SECONDS):
        self._app = app
        self._idle = idle_seconds
        self._slots = threading.BoundedSemaphore(max_waiting)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        sock = next((environ[k] for k in SOCKET_KEYS if isinstance(environ.get(k), socket.socket)), None)
        length = _declared_length(environ)
        if sock is None or length == 0:
            return self._app(environ, start_response)
        body = GuardedBody(environ["wsgi.input"], sock, length, self._slots, self._idle)
        environ["wsgi.input"] = body
        try:
            return self._app(environ, start_response)
        except (BodyTooSlow, TooManySlowBodies) as refusal:
            # Raised where no framework turned it into a page (the Slack gate reads first).
            return Response(refusal.description, status=refusal.code, mimetype="text/plain")(
                environ, start_response
            )


def _declared_length(environ: dict[str, Any]) -> int | None:
    """The body's length; None when chunked or not said (read until the stream ends)."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    declared = environ.get("CONTENT_LENGTH") or ""
    return int(declared) if declared.isascii() and declared.isdigit() else 0


class GuardedBody:
    """The request's wsgi.input, read under a deadline and a shared limit of waiting readers."""

    def __init__(
        self,
        stream: Any,
        sock: socket.socket,
        length: int | None,
        slots: threading.BoundedSemaphore,
        idle_seconds: float,
    ):
        self._stream = stream
        self._sock = sock
        self._slots = slots
        self._idle = idle_seconds
        allowed = CHUNKED_SECONDS if length is None else GRACE_SECONDS + length / SLOWEST_RATE
        self._deadline = time.monotonic() + allowed
        self._failed = False

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self._guarded(self._stream.read, READ_CHUNK), b""))
        parts: list[bytes] = []
        while size > 0:
            part = self._guarded(self._stream.read, min(size, READ_CHUNK))
            if not part:
                break
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def readline(self, size: int | None = None) -> bytes:
        return self._guarded(self._stream.readline, size)  # type: ignore[no-any-return]

    def readlines(self, hint: int | None = None) -> list[bytes]:
        return self._guarded(self._stream.readlines, hint)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def _guarded(self, read: Callable[[Any], Any], size: Any) -> Any:
        if self._failed:
            raise BodyTooSlow()
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._drop("deadline")
            raise BodyTooSlow()
        if not self._slots.acquire(timeout=SLOT_WAIT_SECONDS):
            self._drop("busy")
            raise TooManySlowBodies()
        try:
            self._sock.settimeout(min(self._idle, remaining))
            try:
                return read(size)
            except TimeoutError:
                self._drop("idle")
                raise BodyTooSlow() from None
            finally:
                self._restore_blocking()
        finally:
            self._slots.release()

    def _restore_blocking(self) -> None:
        try:
            self._sock.settimeout(None)
        except OSError:
            pass  # already closed

    def _drop(self, why: str) -> None:
        """No more of this body is read; the connection ends after the answer."""
        self._failed = True
        log.info("dropped a request whose body was too slow (%s)", why)
        try:
            # The answer can still be written; reads see the end at once, so the server
            # neither drains the rest nor waits for the client before closing.
            self._sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
