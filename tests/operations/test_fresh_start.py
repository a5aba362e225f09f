"""Several gunicorn workers starting at once on a fresh catalog: one migration, every worker up."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
# gunicorn calls this in each worker once the app is built; the line goes down a pipe the test reads.
WORKER_READY_HOOK = """
import os

def post_worker_init(worker):
    os.write(int(os.environ["CLOUDBOX_TEST_READY_FD"]), b"%d\\n" % worker.pid)
"""


def start_workers(
    env: dict[str, str], config: Path, workers: int
) -> tuple[subprocess.Popen[bytes], list[int]]:
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(config),
            "-w",
            str(workers),
            "--threads",
            "2",
            "-b",
            f"127.0.0.1:{free_port()}",
            "--log-level",
            "warning",
            "web_oauth:create_app()",
        ],
        env={**env, "CLOUDBOX_TEST_READY_FD": str(write_end)},
        pass_fds=(write_end,),
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)  # EOF on the pipe once every gunicorn process is gone
    ready: list[int] = []
    buffer = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while len(ready) < workers:
            readable, _, _ = select.select([pipe], [], [], 60)
            chunk = pipe.read(64) if readable else b""
            if not chunk:
                break  # timed out, or gunicorn shut down because a worker failed to boot
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            ready += [int(line) for line in lines]
    return process, ready


@pytest.mark.e2e
def test_four_gunicorn_workers_on_a_fresh_sqlite_catalog_all_start_ten_times_in_a_row(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "gunicorn_test_hook.py"
    config.write_text(WORKER_READY_HOOK)
    for attempt in range(int(os.environ.get("N_STARTS", "10"))):
        catalog = tmp_path / f"fresh-{attempt}" / "catalog.sqlite3"
        env = {**os.environ, **base_env, "DATABASE_URL": f"sqlite:///{catalog}"}
        process, ready = start_workers(env, config, workers=4)
        process.terminate()
        _, stderr = process.communicate(timeout=60)
        assert len(ready) == 4, f"start {attempt}: {len(ready)} of 4 workers up\n{stderr.decode()[-3000:]}"
        engine = create_engine(f"sqlite:///{catalog}")
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        engine.dispose()
        assert len(versions) == 1


@pytest.mark.e2e
def test_the_readme_command_on_a_fresh_embedded_instance_starts_every_worker(tmp_path: Path) -> None:
    # Nothing configured: every worker opens the one embedded store of the instance folder and
    # makes sure its bucket exists; two of them creating it at once must not end the service.
    config = tmp_path / "gunicorn_test_hook.py"
    config.write_text(WORKER_READY_HOOK)
    configured = ("CLOUDBOX_", "DATABASE_URL", "STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(configured)}
    for attempt in range(int(os.environ.get("N_STARTS", "5"))):
        env = {**clean, "CLOUDBOX_INSTANCE_PATH": str(tmp_path / f"instance-{attempt}")}
        process, ready = start_workers(env, config, workers=4)
        process.terminate()
        _, stderr = process.communicate(timeout=60)
        assert len(ready) == 4, f"start {attempt}: {len(ready)} of 4 workers up\n{stderr.decode()[-3000:]}"
