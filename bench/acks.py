"""Ack latency of bursts of signed Slack `file_share` events, and nothing lost or duplicated.

All events of a burst leave together (bench/burst.py); the ack is the HTTP answer to the event post.
Before the next burst the bench waits until the server has stored every image and replied to
every message, so a burst never meets the previous one's background work. Afterwards the
catalog and the bucket are checked: one ready row per file, two objects (original, preview) per
row, no file stored twice.
"""

from __future__ import annotations

import itertools
import json

from sqlalchemy import func, select

from bench import burst
from bench.stand import Stand, log
from bench.table import Row
from storage.accounts import Identity
from storage.models import ImageRow
from tests.standins import images

ACK_TARGET_MS = 300.0
SLACK_USER = "UBURST"


class Bursts:
    def __init__(self, stand: Stand):
        self.stand = stand
        self.owner = stand.services.accounts.ensure_account("100000000000000000777", "bursts@example.com")
        stand.services.accounts.link(Identity("slack", stand.team.team_id, SLACK_USER), self.owner)
        self.sent_files: list[str] = []
        self._serial = itertools.count()
        self._replies_before = 0

    def _event(self) -> tuple[str, str]:
        n = next(self._serial)
        fake, team = self.stand.fake, self.stand.team
        # Distinct pixels per event: identical bytes would be de-duplicated by design.
        f = fake.add_file(team, f"burst-{n}.png", images.png(90_000 + n, size=(320, 240)))
        event = {
            "type": "message",
            "subtype": "file_share",
            "user": SLACK_USER,
            "channel": "DBURST",
            "channel_type": "im",
            "ts": f"1700000000.{n:06d}",
            "files": [fake.file_object(f)],
        }
        envelope = {
            "type": "event_callback",
            "team_id": team.team_id,
            "event": event,
            "event_id": f"EvB{n:06d}",
        }
        return f.id, json.dumps(envelope)

    def burst(self, size: int) -> list[float]:
        """Ack times in ms of `size` simultaneous events; returns once all are stored and replied."""
        events = [self._event() for _ in range(size)]
        posts = [
            burst.build_post(
                self.stand.base,
                "/slack/events",
                body.encode(),
                self.stand.slack_headers(body, "application/json"),
            )
            for _, body in events
        ]
        answers = burst.fire(self.stand.base, posts)
        refused = [a.status for a in answers if a.status != 200]
        if refused:
            raise RuntimeError(f"{len(refused)} of {size} events were not acknowledged: {refused[:5]}")
        self.sent_files += [file_id for file_id, _ in events]
        self._replies_before += size  # one reply per message
        self.stand.fake.wait_for("chat.postMessage", count=self._replies_before, timeout=120 + size)
        return [a.ms for a in answers]

    def check(self) -> tuple[int, int, str]:
        """(lost, duplicated, detail) over every burst so far."""
        services = self.stand.services
        with services.sessions() as session:
            stored = session.execute(
                select(ImageRow.source_file_id, func.count())
                .where(ImageRow.owner_id == self.owner.id, ImageRow.status == "ready")
                .group_by(ImageRow.source_file_id)
            ).all()
        per_file = dict(stored)
        lost = sum(1 for f in self.sent_files if f not in per_file)
        duplicated = sum(c - 1 for c in per_file.values())
        objects = sum(1 for _ in services.blobs.names(self.owner.prefix))
        rows = sum(per_file.values())
        detail = f"{len(self.sent_files)} sent, {rows} rows, {objects} objects"
        if objects != 2 * rows:
            duplicated += abs(objects - 2 * rows)  # a stray or missing object counts against us
        return lost, duplicated, detail


def ack_rows(stand: Stand, sizes: tuple[int, ...], rounds: int) -> list[Row]:
    bursts = Bursts(stand)
    bursts.burst(5)  # warm every worker's connections and imports; not measured
    rows = []
    for size in sizes:
        samples: list[float] = []
        for r in range(rounds):
            log(f"acks: burst of {size}, round {r + 1}/{rounds}")
            samples += bursts.burst(size)
        row = Row.of(f"Slack ack, {size} concurrent signed file_share events", "ms", samples)
        row.target = f"p99 < {ACK_TARGET_MS:.0f} ms"
        row.ok = row.p99 is not None and row.p99 < ACK_TARGET_MS
        row.note = f"{rounds} burst" + ("s" if rounds > 1 else "")
        rows.append(row)
    lost, duplicated, detail = bursts.check()
    rows.append(
        Row(
            "Slack bursts: images lost / duplicated",
            text=f"{lost} / {duplicated}",
            n=len(bursts.sent_files),
            target="0 / 0",
            ok=lost == 0 and duplicated == 0,
            note=detail,
        )
    )
    return rows
