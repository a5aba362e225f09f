"""Share-link redirects: GET /s/<token> -> 303 to a signed URL, under N concurrent clients.

Each client keeps one connection and requests for a fixed time; each request comes from another
visitor address (X-Forwarded-For through one trusted proxy hop, as behind Cloud Run's front end),
so the per-visitor rate limit stays on and is paid for but does not cut the bench off. Every
redirect looks up the link, counts the view (a write) and signs a URL. The baseline is
`/healthz`, the cheapest page of the same server, under the same load.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.stand import Stand, log
from bench.table import Row
from storage.model import Owner

SHARE_TARGET_RATIO = 0.6


def load(base: str, paths: list[str], clients: int, seconds: float, expect: int) -> tuple[float, list[float]]:
    """Requests per second and each request's latency in ms."""
    addresses = itertools.count(1)
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def visitor() -> str:
        with lock:
            n = next(addresses)
        return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"

    def client(path: str) -> list[float]:
        session = requests.Session()
        session.trust_env = False
        latencies = []
        barrier.wait()
        deadline = time.perf_counter() + seconds
        while (started := time.perf_counter()) < deadline:
            answer = session.get(
                base + path, headers={"X-Forwarded-For": visitor()}, allow_redirects=False, timeout=30
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if answer.status_code != expect:
                raise RuntimeError(f"{path.split('/')[1]}: {answer.status_code}, expected {expect}")
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        per_client = list(pool.map(client, [paths[i % len(paths)] for i in range(clients)]))
    elapsed = time.perf_counter() - started
    latencies = [ms for one in per_client for ms in one]
    return len(latencies) / elapsed, latencies


def share_rows(stand: Stand, owner: Owner, clients: int, seconds: float) -> list[Row]:
    page = stand.services.library.list(owner, per_page=clients)
    # One link per client: many visitors of many links (one hot link would measure its row lock).
    shares = stand.services.shares
    paths = ["/s/" + shares.share(owner, image.id).url.rsplit("/s/", 1)[1] for image in page.images]  # type: ignore[union-attr]
    load(stand.base, paths, clients, 1.0, 303)  # warm-up: connections, the limiter's storage
    # Alternating windows, a pair at a time: this machine's speed drifts over seconds (other
    # tenants), and one long window of each compared the two at different speeds.
    pairs = max(1, round(seconds))
    window = seconds / pairs
    log(f"shares: {clients} clients, {pairs} pairs of {window:.1f} s on /healthz and on /s/<token>")
    health_rps: list[float] = []
    share_rps: list[float] = []
    health_ms: list[float] = []
    share_ms: list[float] = []
    for _ in range(pairs):
        rps, ms = load(stand.base, ["/healthz"], clients, window, 200)
        health_rps.append(rps)
        health_ms += ms
        rps, ms = load(stand.base, paths, clients, window, 303)
        share_rps.append(rps)
        share_ms += ms
    ratio = statistics.median(s / h for s, h in zip(share_rps, health_rps, strict=True))
    return [
        Row(
            f"share link GET /s/<token> -> 303, {clients} clients: throughput",
            "req/s",
            len(share_ms),
            statistics.median(share_rps),
            baseline=statistics.median(health_rps),
            ratio=ratio,
            note=f"vs GET /healthz, same load; ratio: median of {pairs} alternating pairs of {window:.1f} s",
            target=f">= {SHARE_TARGET_RATIO} x /healthz",
            ok=ratio >= SHARE_TARGET_RATIO,
        ),
        Row.of(
            f"share link GET /s/<token> -> 303, {clients} clients: latency",
            "ms",
            share_ms,
            baseline=sorted(health_ms)[len(health_ms) // 2],
            note="vs GET /healthz",
        ),
    ]
