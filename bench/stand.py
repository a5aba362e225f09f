"""The running service the server-side benchmarks talk to, and the stand-ins around it.

fake-gcs-server, the fake Slack Web API and file host, a throw-away catalog (a PostgreSQL
database created and dropped here, or SQLite in a temporary folder) and the service itself under
gunicorn, the production server, started as a separate process. The bench also keeps its own
`Services` on the same bucket and catalog, to seed rows and to check what the server stored.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from slack_sdk.signature import SignatureVerifier

from storage.embedded import FakeGcsProcess
from storage.model import Owner
from storage.services import Services
from storage.settings import Settings
from tests.standins.keys import make_service_account_key
from tests.standins.postgres import catalog_url
from tests.standins.slack_api import FakeSlack, Team

BUCKET = "bench"


@dataclass
class Stand:
    base: str  # the gunicorn server
    fake: FakeSlack
    team: Team
    services: Services
    signing_secret: str
    secret_key: str
    database: str  # "PostgreSQL" or "SQLite"

    def slack_headers(self, body: str, content_type: str) -> dict[str, str]:
        """Headers of a request signed as Slack signs it (now)."""
        ts = str(int(time.time()))
        signature = SignatureVerifier(self.signing_secret).generate_signature(timestamp=ts, body=body)
        assert signature is not None
        return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}

    def session_cookie(self, owner: Owner) -> str:
        """The signed session cookie the gallery sets on sign-in (web_oauth.people.sign_in)."""
        app = Flask("cloudbox-bench")
        app.secret_key = self.secret_key
        serializer = SecureCookieSessionInterface().get_signing_serializer(app)
        assert serializer is not None
        return serializer.dumps({"account": {"sub": owner.google_sub, "email": owner.email}})


@contextmanager
def running_service(postgres_admin_url: str | None, *, workers: int, threads: int) -> Iterator[Stand]:
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cloudbox-bench-")))
        gcs = FakeGcsProcess().start()
        stack.callback(gcs.stop)
        fake = FakeSlack().start()
        stack.callback(fake.stop)
        database_url = stack.enter_context(
            catalog_url(postgres_admin_url, root / "bench.sqlite3", "cloudbox_bench")
        )
        storage.Client(
            project="bench", credentials=AnonymousCredentials(), client_options={"api_endpoint": gcs.url}
        ).create_bucket(BUCKET)
        key = make_service_account_key(root)
        team = fake.add_team("TBENCH")
        signing_secret = "bench-signing-secret-" + secrets.token_hex(8)
        secret_key = secrets.token_urlsafe(32)
        env = {
            "CLOUDBOX_BUCKET": BUCKET,
            "STORAGE_EMULATOR_HOST": gcs.url,
            "GOOGLE_APPLICATION_CREDENTIALS": str(key.path),
            "SECRET_KEY": secret_key,
            "DATABASE_URL": database_url,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_BOT_TOKEN": team.bot_token,
            "SLACK_API_URL": fake.api_url,
            "SLACK_FILE_HOSTS": "127.0.0.1",
            "CLOUDBOX_INSTANCE_PATH": str(root / "instance"),
            # Google sign-in configured, so GET / is the gallery. The bench signs in with the
            # session cookie the app would set; the provider is never asked, and it is local.
            "OAUTH_CLIENT_ID": "bench-client",
            "OAUTH_CLIENT_SECRET": secrets.token_urlsafe(16),
            "OAUTH_DISCOVERY_URL": fake.root + "/.well-known/openid-configuration",
            # As behind Cloud Run's front end: the rate limits key on the visitor's address,
            # which the share-link benchmark varies (one visitor would be cut off at 120/min).
            "CLOUDBOX_PROXY_HOPS": "1",
        }
        services = Services.build(Settings.from_env(env, dotenv_path=None))
        stack.callback(services.close)
        process, base = serve(env, workers, threads)

        def stop() -> None:
            process.terminate()
            process.wait(30)

        stack.callback(stop)
        yield Stand(
            base=base,
            fake=fake,
            team=team,
            services=services,
            signing_secret=signing_secret,
            secret_key=secret_key,
            database="PostgreSQL" if postgres_admin_url else "SQLite",
        )


def log(message: str) -> None:
    """Progress on stderr, so stdout is the table alone."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def serve(env: dict[str, str], workers: int, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    """The service under test in its own gunicorn process, as it runs in production."""
    port = free_port()
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
