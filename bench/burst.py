"""A lean load generator: N HTTP/1.1 POSTs leave at once from one thread, each on its own socket.

The bench shares the machine's two cores with the server it measures. Slack's senders are
other machines; a generator that spent a millisecond of Python per request (requests, one
thread each, under one GIL) would take CPU from the server and add its own queueing to every
figure. So the requests are built and signed beforehand, every socket connects and sends in
one pass, and one selector collects the answers: per request the generator costs microseconds.
Each latency runs from just before that socket's connect to the last byte of its answer.
"""

from __future__ import annotations

import selectors
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    ms: float


def build_post(base: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The bytes of one POST request (Connection: close, so the server's answer ends the exchange)."""
    host = urlsplit(base).netloc
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def fire(base: str, posts: list[bytes], *, timeout: float = 30.0) -> list[Answer]:
    """Send every request at once; the answers in request order."""
    parts = urlsplit(base)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    selector = selectors.DefaultSelector()
    started: list[float] = []
    received: list[bytearray] = [bytearray() for _ in posts]
    finished: list[float | None] = [None] * len(posts)
    sockets = []
    try:
        for i, request in enumerate(posts):
            started.append(time.perf_counter())
            sock = socket.create_connection(address, timeout=timeout)
            sock.sendall(request)
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, i)
            sockets.append(sock)
        deadline = time.monotonic() + timeout
        open_count = len(posts)
        while open_count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{open_count} of {len(posts)} requests had no answer in {timeout} s")
            for key, _ in selector.select(timeout=1.0):
                i = key.data
                chunk = sockets[i].recv(65536)
                received[i] += chunk
                if chunk and not _complete(received[i]):
                    continue
                finished[i] = time.perf_counter()
                selector.unregister(key.fileobj)
                # Close at once, as a client does once it has its answer: gunicorn's gthread
                # worker lingers on its main thread (up to 2 s) until the client closes.
                sockets[i].close()
                open_count -= 1
    finally:
        for sock in sockets:
            sock.close()
        selector.close()
    return [
        Answer(_status(bytes(raw)), ((end or started[i]) - started[i]) * 1000)
        for i, (raw, end) in enumerate(zip(received, finished, strict=True))
    ]


def _complete(raw: bytearray) -> bool:
    """Whether `raw` holds a whole answer: its head, and as many body bytes as Content-Length says."""
    head_end = raw.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    for line in bytes(raw[:head_end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(raw) - head_end - 4 >= int(value.strip() or 0)
    return False  # no length: the answer ends when the server closes


def _status(raw: bytes) -> int:
    """The status code of an HTTP/1.x answer, or 0 when there was none."""
    first_line = raw.split(b"\r\n", 1)[0].split()
    return int(first_line[1]) if len(first_line) >= 2 and first_line[1].isdigit() else 0
