"""Stand-ins for the resilience runs: a chat file host and a CloudBox worker in its own process.

`FileHost` serves image bytes the way a chat platform's file host does (`GET /files/<id>`),
slowly enough that a burst is still in flight when a test kills the worker, and records every
download and every report a worker posts back (`POST /report`, `POST /ready`).
`WorkerProcess` runs `tests.resilience.worker_process` with the environment of a configured
CloudBox, and is stopped (or SIGKILLed) by its own handle.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

INGEST_THREADS = 4  # per worker process, as in a served CloudBox process


class FileHost:
    def __init__(self, files: Mapping[str, bytes], *, pause: float = 0.0):
        self.files = dict(files)
        self.pause = pause  # between the two halves of each download: keeps work in flight
        self.downloads: Counter[str] = Counter()
        self.downloads_by_worker: Counter[str] = Counter()
        self.reports: list[dict[str, Any]] = []
        self.ready: list[int] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="file-host", daemon=True)

    def __enter__(self) -> FileHost:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def wait_for(self, condition: Callable[[FileHost], bool], timeout: float) -> None:
        """Block until `condition(self)` holds (re-checked on every download/report)."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self), timeout):
                raise TimeoutError("the file host did not see what the test waited for")

    def reported_batches(self) -> Counter[str]:
        with self._changed:
            return Counter(r["batch"] for r in self.reports if r.get("kind") == "report")

    def _record(self, update: Callable[[], None]) -> None:
        with self._changed:
            update()
            self._changed.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def do_GET(self) -> None:
                file_id = self.path.removeprefix("/files/")
                data = host.files.get(file_id)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                half = len(data) // 2
                try:
                    self.wfile.write(data[:half])
                    self.wfile.flush()
                    if host.pause:
                        threading.Event().wait(host.pause)  # a slow file host, by design
                    self.wfile.write(data[half:])
                except (BrokenPipeError, ConnectionResetError):
                    return  # the downloading process was killed mid-file: the crash scenario
                worker = self.headers.get("X-Worker", "?")

                def count() -> None:
                    host.downloads[file_id] += 1
                    host.downloads_by_worker[worker] += 1

                host._record(count)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                if self.path == "/ready":
                    host._record(lambda: host.ready.append(int(body["pid"])))
                else:
                    host._record(lambda: host.reports.append(body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


class WorkerProcess:
    """`python -m tests.resilience.worker_process` with a given environment."""

    def __init__(
        self, env: Mapping[str, str], *, files_url: str, lease_seconds: int, threads: int = INGEST_THREADS
    ):
        self._env = {
            **os.environ,
            **env,
            "PYTHONPATH": str(REPO),
            "CLOUDBOX_TEST_FILES_URL": files_url,
            "CLOUDBOX_INGEST_LEASE_SECONDS": str(lease_seconds),
            "CLOUDBOX_TEST_THREADS": str(threads),
        }
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> WorkerProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.resilience.worker_process"], cwd=REPO, env=self._env
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up, no atexit, exactly like a crashed or evicted instance."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
