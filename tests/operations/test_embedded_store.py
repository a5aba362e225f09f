"""The embedded store lives and dies with the service, and one instance folder has one store."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from storage.embedded import fake_gcs_binary, free_port

ROOT = Path(__file__).resolve().parents[2]


def stores_on(folder: Path) -> list[int]:
    """Pids of fake-gcs-server processes whose data folder is `folder`."""
    binary, root = str(fake_gcs_binary()).encode(), str(folder / "gcs").encode()
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and argv[0] == binary and root in argv:
            pids.append(int(entry.name))
    return pids


def wait_gone(pid: int, timeout: float = 15) -> bool:
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([handle], [], [], timeout)[0])  # readable once the process exits
    finally:
        os.close(handle)


def serve(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDBOX_", "STORAGE_", "DATABASE_"))}
    env["CLOUDBOX_INSTANCE_PATH"] = str(folder)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "web_oauth", "run", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # a process we started begins to listen: polling is the signal
        assert process.poll() is None, "the service exited at start-up"
        try:
            if requests.get(base + "/readyz", timeout=5).status_code == 200:
                return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the service did not become ready")


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait()


@pytest.mark.e2e
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_stopping_the_service_stops_its_embedded_store(
    tmp_path: Path, started: list[subprocess.Popen[bytes]], stop: signal.Signals
) -> None:
    service, _ = serve(tmp_path)
    started.append(service)
    [store] = stores_on(tmp_path)
    service.send_signal(stop)
    service.wait(timeout=30)
    assert wait_gone(store), f"the store (pid {store}) outlived the service stopped with {stop.name}"
    # and the folder starts again cleanly
    again, base = serve(tmp_path)
    started.append(again)
    assert len(stores_on(tmp_path)) == 1


@pytest.mark.e2e
def test_two_services_on_one_instance_folder_share_one_store(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    first, first_base = serve(tmp_path)
    started.append(first)
    second, second_base = serve(tmp_path)
    started.append(second)
    assert len(stores_on(tmp_path)) == 1
    assert requests.get(second_base + "/readyz", timeout=5).json()["checks"]["bucket"] == "ok"


@pytest.mark.e2e
def test_a_process_sharing_the_store_reaches_it_again_after_its_owner_restarts(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    owner, _ = serve(tmp_path)
    started.append(owner)
    sharer, sharer_base = serve(tmp_path)
    started.append(sharer)
    [store] = stores_on(tmp_path)
    owner.kill()
    owner.wait()
    assert wait_gone(store)
    restarted, _ = serve(tmp_path)  # as gunicorn replaces a dead worker
    started.append(restarted)
    assert requests.get(sharer_base + "/readyz", timeout=5).json()["checks"]["bucket"] == "ok"
