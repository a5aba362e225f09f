"""Cold start: from starting the README's gunicorn command to the first 200 on /readyz.

Embedded mode on a fresh instance folder (the store starts, the catalog is created and
migrated), and PostgreSQL with a bucket on the emulator (a migrated catalog, as on a redeploy).
Each run is a new process tree; the figure includes Python's imports and the first request.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from bench.stand import free_port, log
from bench.table import Row
from storage import db
from storage.embedded import FakeGcsProcess
from tests.standins.keys import make_service_account_key
from tests.standins.postgres import throwaway_database

TARGET_S = 2.0
ROOT = Path(__file__).resolve().parents[1]


def cold_start_rows(postgres_admin_url: str, *, runs: int) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="cloudbox-cold-") as tmp:
        log(f"cold start: embedded, {runs} fresh instance folders")
        embedded = [_first_ready({"CLOUDBOX_INSTANCE_PATH": f"{tmp}/fresh-{n}"}) for n in range(runs)]
        rows.append(_row("embedded, fresh instance folder", embedded))
        gcs = FakeGcsProcess().start()
        try:
            with throwaway_database(postgres_admin_url, "cloudbox_cold") as url:
                engine = db.make_engine(url)
                db.upgrade(engine)  # a redeploy: the catalog exists
                engine.dispose()
                storage.Client(
                    project="b", credentials=AnonymousCredentials(), client_options={"api_endpoint": gcs.url}
                ).create_bucket("cold")
                env = {
                    "CLOUDBOX_BUCKET": "cold",
                    "STORAGE_EMULATOR_HOST": gcs.url,
                    "GOOGLE_APPLICATION_CREDENTIALS": str(make_service_account_key(Path(tmp)).path),
                    "SECRET_KEY": secrets.token_urlsafe(32),
                    "DATABASE_URL": url,
                    "CLOUDBOX_INSTANCE_PATH": f"{tmp}/pg",
                }
                log(f"cold start: PostgreSQL, {runs} starts")
                rows.append(_row("PostgreSQL and a bucket", [_first_ready(env) for _ in range(runs)]))
        finally:
            gcs.stop()
    return rows


def _row(what: str, seconds: list[float]) -> Row:
    row = Row.of(f"cold start to first /readyz 200, gunicorn -w 2 --threads 16, {what}", "s", seconds)
    row.target = f"< {TARGET_S:.0f} s (median)"
    row.ok = row.median is not None and row.median < TARGET_S
    return row


def _first_ready(env: dict[str, str]) -> float:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "16", "-b", f"127.0.0.1:{port}"]
    command += ["--log-level", "warning", "web_oauth:create_app()"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDBOX_", "SLACK_", "OAUTH_"))}
    started = time.perf_counter()
    process = subprocess.Popen(command, env={**clean, **env}, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = started + 60
        while time.perf_counter() < deadline:  # a starting process says nothing else: poll
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise RuntimeError("the service was not ready within 60 s")
    finally:
        process.terminate()
        process.wait(30)
