"""Listing rows: `/cloudbox list` in Slack and the gallery's first page, at growing libraries.

One owner per size (100, 10,000, 100,000 ready images, bulk-inserted catalog rows; the bytes are
never read by a listing). `/cloudbox list` is timed from posting the signed command to the
server's post to the response_url, where the list arrives; the gallery from GET / (signed in:
the session cookie the app itself would set) to the last byte of the page, which carries 24
signed preview URLs. A library of this size has been vacuumed and analysed long since; a fresh
bulk insert not, so the bench does that before measuring.
"""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlencode

import requests
from sqlalchemy import insert

from bench.stand import Stand, log
from bench.storage_bench import ready_image_rows, vacuum_analyze
from bench.table import Row
from storage.accounts import Identity
from storage.model import Owner
from storage.models import ImageRow, utcnow
from storage.sql_catalog import count_change
from tests.standins.slack_api import Call

LIST_TARGET_MS = 100.0
MILLION_TARGET_MS = 30.0  # issue 15: a million images in one library
CHUNK = 10_000


def seed_owner(stand: Stand, images: int, name: str = "lib") -> tuple[Owner, str]:
    """A new owner with `images` ready rows, linked to a Slack user; returns it and the user id."""
    services = stand.services
    owner = services.accounts.ensure_account(f"bench-{name}-{images}", f"{name}{images}@example.com")
    user = f"U{name.upper()}{images}"
    services.accounts.link(Identity("slack", stand.team.team_id, user), owner)
    start = utcnow() - timedelta(days=400)
    for first in range(0, images, CHUNK):
        rows = ready_image_rows(owner, range(first, min(images, first + CHUNK)), start)
        with services.sessions.begin() as session:
            session.execute(insert(ImageRow), rows)
            # What publishing each of them would have added to the owner's counts.
            count_change(session, owner.id, len(rows), sum(r["size"] for r in rows))
    return owner, user


def slack_list(stand: Stand, user: str, images: int, runs: int) -> list[float]:
    session = requests.Session()
    session.trust_env = False
    timings = []
    for _ in range(runs + 1):  # the first warms the worker that takes it
        response_url = stand.fake.response_url()
        form = urlencode(
            {
                "team_id": stand.team.team_id,
                "channel_id": "C1",
                "user_id": user,
                "user_name": "lister",
                "command": "/cloudbox",
                "text": "list",
                "response_url": response_url,
                "trigger_id": "1.2.3",
            }
        )
        headers = stand.slack_headers(form, "application/x-www-form-urlencoded")
        started = time.perf_counter()
        answer = session.post(stand.base + "/slack/events", data=form, headers=headers, timeout=30)
        if answer.status_code != 200:
            raise RuntimeError(f"/cloudbox list was answered {answer.status_code}")

        def to_this_url(call: Call, url: str = response_url) -> bool:
            return url.endswith(call.path)

        (call,) = stand.fake.wait_for("response_url", to_this_url, timeout=30)
        if f"{images:,}" not in call.args["text"] and str(images) not in call.args["text"]:
            raise RuntimeError(f"unexpected list for {images}: {call.args['text'][:200]!r}")
        timings.append((call.at - started) * 1000)
    return timings[1:]


def gallery_page(stand: Stand, owner: Owner, images: int, runs: int) -> list[float]:
    session = requests.Session()
    session.trust_env = False
    session.cookies.set("session", stand.session_cookie(owner))
    timings = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        page = session.get(stand.base + "/", timeout=30)
        elapsed = (time.perf_counter() - started) * 1000
        if page.status_code != 200 or "IMG_" not in page.text:
            raise RuntimeError(f"the gallery did not list the images: {page.status_code}")
        timings.append(elapsed)
    return timings[1:]


def listing_rows(stand: Stand, sizes: tuple[int, ...], runs: int) -> list[Row]:
    owners = {}
    for images in sizes:
        log(f"listing: seeding an owner with {images:,} images")
        owners[images] = seed_owner(stand, images)
    vacuum_analyze(stand.services.engine)
    rows = []
    for images in sizes:
        owner, user = owners[images]
        log(f"listing: {images:,} images, {runs} runs each")
        for measure, samples in (
            ("/cloudbox list, to the response_url post", slack_list(stand, user, images, runs)),
            ("gallery GET / signed in, 24 previews", gallery_page(stand, owner, images, runs)),
        ):
            row = Row.of(f"{measure}, {images:,} images", "ms", samples)
            if images >= 100_000:
                target = MILLION_TARGET_MS if images >= 1_000_000 else LIST_TARGET_MS
                row.target = f"< {target:.0f} ms (median)"
                row.ok = row.median is not None and row.median < target
            rows.append(row)
    return rows
