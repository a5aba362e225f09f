"""Slow bodies against the real server: gunicorn as the README runs it (2 workers x 16 threads).

Sixteen (and more) sockets announce a 2 MB Slack event and send one byte. /healthz must keep
answering while they stay open, and each of them is answered (408 or 503) and let go.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from bench.stand import Stand, running_service
from web_oauth.slow_bodies import GRACE_SECONDS, IDLE_SECONDS

pytestmark = pytest.mark.e2e

SLOW_REQUEST = (
    b"POST /slack/events HTTP/1.1\r\nHost: cloudbox\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2000000\r\n\r\n{"
)


@pytest.fixture(scope="module")
def server() -> Iterator[Stand]:
    with running_service(None, workers=2, threads=16) as stand:
        yield stand


def _open_slow_sockets(stand: Stand, count: int) -> list[socket.socket]:
    parts = urlsplit(stand.base)
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((parts.hostname, parts.port))
        sock.sendall(SLOW_REQUEST)
        sockets.append(sock)
    return sockets


def _answer_of(sock: socket.socket, timeout: float) -> str:
    sock.settimeout(timeout)
    try:
        data = sock.recv(200)
    except TimeoutError:
        return "no answer"
    finally:
        sock.close()
    return data.split(b"\r\n", 1)[0].decode() if data else "closed"


@pytest.mark.parametrize("count", [16, 64])
def test_slow_bodies_do_not_stop_healthz_and_are_let_go(server: Stand, count: int) -> None:
    sockets = _open_slow_sockets(server, count)
    try:
        started = time.monotonic()
        # Several in a row: each new connection may land on either worker.
        for _ in range(20):
            assert requests.get(server.base + "/healthz", timeout=2).status_code == 200
        assert time.monotonic() - started < IDLE_SECONDS  # before any slow body was given up
        # Every slow request is answered and its connection closed, long before it would
        # have finished sending its body.
        answers = {_answer_of(sock, IDLE_SECONDS + GRACE_SECONDS) for sock in sockets}
        assert answers <= {"HTTP/1.1 408 REQUEST TIMEOUT", "HTTP/1.1 503 SERVICE UNAVAILABLE"}
    finally:
        for sock in sockets:
            sock.close()
