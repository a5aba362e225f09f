"""Share and link tokens (and OAuth codes) never appear in a request log CloudBox runs under:
werkzeug's dev server (the README's first command) and gunicorn's access log."""

from __future__ import annotations

import io
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from storage.accounts import Identity
from storage.services import Services
from tests.standins import images

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def test_the_dev_servers_request_log_redacts_tokens(
    dev_server: str, services: Services, person: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ada = person("ada")
    image = services.library.upload(ada, io.BytesIO(images.png(1)), filename="a.png").image
    share_token = services.shares.share(ada, image.id).url.rsplit("/s/", 1)[1]
    link_token = services.accounts.create_link_request(Identity("slack", "T0001", "U7"))
    code, state = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    with caplog.at_level("INFO", logger="werkzeug"):
        assert (
            requests.get(f"{dev_server}/s/{share_token}", allow_redirects=False, timeout=10).status_code
            == 303
        )
        requests.get(f"{dev_server}/link/{link_token}", allow_redirects=False, timeout=10)
        requests.get(
            f"{dev_server}/oauth/callback?code={code}&state={state}", allow_redirects=False, timeout=10
        )
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "werkzeug")
    assert "/s/[redacted]" in logged and "/link/[redacted]" in logged
    for secret in (share_token, link_token, code, state):
        assert secret not in logged


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.e2e
def test_gunicorns_access_log_redacts_tokens(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CLOUDBOX_INSTANCE_PATH": str(tmp_path / "instance")}
    for name in [
        k for k in env if k.startswith(("CLOUDBOX_BUCKET", "DATABASE_URL", "OAUTH_", "SLACK_", "GCHAT_"))
    ]:
        env.pop(name)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "1",
        "--threads",
        "2",
        "--access-logfile",
        "-",
        "web_oauth:create_app()",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    share_token, link_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    try:
        deadline = time.monotonic() + 60
        while True:  # waiting for a process to listen: polling is the only signal
            try:
                requests.get(base + "/healthz", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        requests.get(f"{base}/s/{share_token}", timeout=10)
        requests.get(f"{base}/link/{link_token}", allow_redirects=False, timeout=10)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=60)
    logged = output.decode(errors="replace")
    assert "/s/[redacted]" in logged and "/link/[redacted]" in logged
    assert share_token not in logged and link_token not in logged
