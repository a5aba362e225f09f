"""/metrics under gunicorn with several workers: whichever worker answers a scrape counts for all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from storage.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-" + "t" * 24
GONE = re.compile(r'^cloudbox_share_views_total\{result="gone"\} ([0-9.]+)$', re.MULTILINE)


def gone_views(base: str) -> float:
    scrape = requests.get(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert scrape.status_code == 200
    found = GONE.search(scrape.text)
    return float(found.group(1)) if found else 0.0


def visit_unknown_links(base: str, count: int) -> None:
    def visit(n: int) -> None:
        with requests.Session() as fresh:  # a new connection each: the kernel spreads them
            fresh.trust_env = False
            answer = fresh.get(f"{base}/s/{'u' * 31}{n % 10}", allow_redirects=False, timeout=10)
            assert answer.status_code == 404

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(visit, range(count)))


def test_share_views_add_up_across_workers_whichever_one_is_scraped(tmp_path: Path) -> None:
    counters = tmp_path / "metrics"
    counters.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CLOUDBOX_", "SLACK_", "OAUTH_"))},
        "CLOUDBOX_INSTANCE_PATH": str(tmp_path / "instance"),
        "CLOUDBOX_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(counters),
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "python:web_oauth.gunicorn_conf", "-w", "2"]
    command += [
        "--threads",
        "4",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "web_oauth:create_app()",
    ]
    service = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # a starting server says nothing else: poll
            try:
                if requests.get(base + "/readyz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        sent = 0
        for _ in range(20):  # until both workers have counted some of the visits
            visit_unknown_links(base, 16)
            sent += 16
            if len(list(counters.glob("counter_*.db"))) >= 2:
                break
        assert len(list(counters.glob("counter_*.db"))) >= 2, "one worker took every visit"
        assert [gone_views(base) for _ in range(6)] == [float(sent)] * 6
    finally:
        service.terminate()
        service.wait(30)
