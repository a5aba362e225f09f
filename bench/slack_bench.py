"""Slack benchmark: `python -m bench.slack_bench [--postgres ADMIN_URL]`.

1. 50 concurrent signed `file_share` events (distinct images) to a running threaded server:
   ack latency p50/p99 (target p99 < 300 ms on 2 cores), then every image stored exactly once.
2. `/cloudbox list` for an owner with 10,000 images: time from sending the command to the
   reply arriving at the (fake) response_url (target < 500 ms).

The service runs as its own gunicorn process (gthread), as in production; this process plays
Slack (fake Web API + file host) and GCS (fake-gcs-server). SQLite, or --postgres ADMIN_URL for a
throw-away PostgreSQL database.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, insert, select

from storage.accounts import Identity
from storage.embedded import FakeGcsProcess
from storage.library import new_id
from storage.models import ImageRow, utcnow
from storage.services import Services
from storage.settings import Settings
from tests.standins import images
from tests.standins.keys import make_service_account_key
from tests.standins.postgres import catalog_url
from tests.standins.slack_api import Call, FakeSlack, Team

EVENTS = 50
LIST_OWNER_IMAGES = 10_000
LIST_RUNS = 20
SECRET = "bench-signing-secret-" + secrets.token_hex(4)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def _answers(response_url: str, call: Call) -> bool:
    return response_url.endswith(call.path)


def signed_headers(body: str, content_type: str) -> dict[str, str]:
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def file_share_events(fake: FakeSlack, team: Team) -> list[str]:
    bodies = []
    for n in range(EVENTS):
        f = fake.add_file(team, f"bench-{n}.png", images.png(5000 + n, size=(320, 240)))
        event = {
            "type": "message",
            "subtype": "file_share",
            "user": "UBENCH",
            "channel": "DBENCH",
            "channel_type": "im",
            "ts": f"1700000000.{n:06d}",
            "files": [fake.file_object(f)],
        }
        envelope = {
            "type": "event_callback",
            "team_id": team.team_id,
            "event": event,
            "event_id": f"Ev{n:04d}",
        }
        bodies.append(json.dumps(envelope))
    return bodies


def bench_events(base: str, fake: FakeSlack, team: Team, services: Services) -> dict[str, float]:
    owner = services.accounts.ensure_account("bench-sub-1", "bench1@example.com")
    services.accounts.link(Identity("slack", team.team_id, "UBENCH"), owner)
    bodies = file_share_events(fake, team)
    barrier = threading.Barrier(EVENTS)

    def send(body: str) -> tuple[int, float]:
        session = requests.Session()
        session.trust_env = False
        headers = signed_headers(body, "application/json")
        barrier.wait()  # all 50 leave together
        start = time.perf_counter()
        response = session.post(base + "/slack/events", data=body, headers=headers, timeout=30)
        return response.status_code, (time.perf_counter() - start) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(EVENTS) as pool:
        results = list(pool.map(send, bodies))
    assert all(status == 200 for status, _ in results), [s for s, _ in results]
    fake.wait_for("chat.postMessage", count=EVENTS, timeout=180)
    all_saved = time.perf_counter() - started
    with services.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(ImageRow).where(ImageRow.owner_id == owner.id))
    objects = len(list(services.blobs.names(owner.prefix)))
    downloads = len(fake.matching("file"))
    assert rows == EVENTS and objects == 2 * EVENTS and downloads == EVENTS, (rows, objects, downloads)
    latencies = [ms for _, ms in results]
    return {
        "ack p50 ms": statistics.median(latencies),
        "ack p99 ms": percentile(latencies, 99),
        "ack max ms": max(latencies),
        "all saved + replied s": all_saved,
        "catalog rows": rows,
        "objects (orig+preview)": objects,
    }


def bench_list(base: str, fake: FakeSlack, team: Team, services: Services) -> dict[str, float]:
    owner = services.accounts.ensure_account("bench-sub-2", "bench2@example.com")
    services.accounts.link(Identity("slack", team.team_id, "ULIST"), owner)
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "owner_id": owner.id,
            "object_name": f"{owner.prefix}img{n}.png",
            "preview_object_name": f"{owner.prefix}img{n}.preview.jpg",
            "original_name": f"holiday-{n}.png",
            "content_type": "image/png",
            "size": 123_456,
            "sha256": secrets.token_hex(32),
            "width": 800,
            "height": 600,
            "status": "ready",
            "created_at": now - timedelta(seconds=n),
        }
        for n in range(LIST_OWNER_IMAGES)
    ]
    with services.engine.begin() as connection:
        connection.execute(insert(ImageRow), rows)
    session = requests.Session()
    session.trust_env = False
    timings = []
    for _ in range(LIST_RUNS):
        response_url = fake.response_url()
        form = urlencode(
            {
                "team_id": team.team_id,
                "channel_id": "C1",
                "user_id": "ULIST",
                "user_name": "lister",
                "command": "/cloudbox",
                "text": "list",
                "response_url": response_url,
                "trigger_id": "1.2.3",
            }
        )
        headers = signed_headers(form, "application/x-www-form-urlencoded")
        start = time.perf_counter()
        assert session.post(base + "/slack/events", data=form, headers=headers, timeout=30).status_code == 200
        (call,) = fake.wait_for("response_url", functools.partial(_answers, response_url), timeout=30)
        timings.append((call.at - start) * 1000)
        assert "10000 in all" in call.args["text"], call.args["text"][:200]
    return {
        "list reply p50 ms": statistics.median(timings),
        "list reply p99 ms": percentile(timings, 99),
        "list reply max ms": max(timings),
    }


def serve(env: dict[str, str], workers: int, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    """The service under test in its own gunicorn process, as it runs in production."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--log-level",
        "warning",
        "web_oauth:create_app()",
    ]
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=Path(__file__).resolve().parents[1])
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # waiting for a process to listen: polling is the only signal
        try:
            if requests.get(base + "/healthz", timeout=10).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.1)
    process.terminate()
    process.wait(30)
    raise RuntimeError("the service did not start")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="run on a throw-away database of this server")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        gcs = FakeGcsProcess().start()
        fake = FakeSlack().start()
        process = None
        try:
            database_url = stack.enter_context(
                catalog_url(args.postgres, root / "bench.sqlite3", "cloudbox_bench")
            )
            storage.Client(
                project="bench", credentials=AnonymousCredentials(), client_options={"api_endpoint": gcs.url}
            ).create_bucket("bench")
            key = make_service_account_key(root)
            team = fake.add_team("TBENCH")
            env = {
                "CLOUDBOX_BUCKET": "bench",
                "STORAGE_EMULATOR_HOST": gcs.url,
                "GOOGLE_APPLICATION_CREDENTIALS": str(key.path),
                "SECRET_KEY": secrets.token_urlsafe(24),
                "DATABASE_URL": database_url,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_BOT_TOKEN": team.bot_token,
                "SLACK_API_URL": fake.api_url,
                "SLACK_FILE_HOSTS": "127.0.0.1",
                "CLOUDBOX_INSTANCE_PATH": str(root / "instance"),
            }
            settings = Settings.from_env(env, dotenv_path=None)
            services = Services.build(settings)  # the bench's own view of the same bucket and catalog
            process, base = serve(env, args.workers, args.threads)
            figures = {**bench_events(base, fake, team, services), **bench_list(base, fake, team, services)}
            services.close()
        finally:
            if process is not None:
                process.terminate()
                process.wait(30)
            fake.stop()
            gcs.stop()
    db = "PostgreSQL" if args.postgres else "SQLite"
    where = f"gunicorn {args.workers} workers x {args.threads} threads; {os.cpu_count()} CPUs"
    print(f"\nSlack benchmark: {db}; {where}")
    print(f"{'measure':<28}{'value':>12}")
    print("-" * 40)
    for name, value in figures.items():
        print(f"{name:<28}{value:>12.1f}" if isinstance(value, float) else f"{name:<28}{value:>12}")
    print("targets: ack p99 < 300 ms; list reply < 500 ms")


if __name__ == "__main__":
    main()
