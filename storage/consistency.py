"""Compare the catalog with the bucket, and repair what does not match.

GCS holds the bytes and the catalog is the index; a crash, a lost response or a failed clean-up
can leave one without the other. `check()` finds:

- orphan objects: under `users/` with no catalog row naming them (unreachable bytes);
- rows whose original is missing (the image cannot be shown or shared);
- rows whose preview alone is missing (the original is fine; the preview can be remade);
- unfinished work: rows still 'storing' after the grace period, or 'deleting'.

The bucket is listed *before* the catalog is read. Every upload claims its row before it writes
a byte, so an object seen in the listing that is still being written already has its row by the
time the catalog is read: in-flight uploads never look orphaned. Objects younger than the grace
period are still left alone by `repair()`, in case of anything slower (a request that was
retried after its client gave up, say), and so are 'storing' rows younger than it.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from . import images, messages
from .blobstore import BlobStore, StoredObject
from .db import transaction
from .errors import CloudBoxError, Rejected
from .library import Library
from .model import ImageStatus, display_object_name
from .models import ImageRow, ShareRow, utcnow
from .sql_catalog import count_change

log = logging.getLogger(__name__)

PREFIX = "users/"
GRACE = timedelta(minutes=15)  # the same age after which recover() calls an upload abandoned


@dataclass(frozen=True)
class RowRef:
    image_id: str
    object_name: str
    preview_object_name: str
    status: str

    @property
    def display_object_name(self) -> str | None:
        return display_object_name(self.object_name)


@dataclass
class Report:
    objects: int = 0
    rows: int = 0
    orphan_objects: list[StoredObject] = field(default_factory=list)
    missing_originals: list[RowRef] = field(default_factory=list)
    missing_previews: list[RowRef] = field(default_factory=list)
    unfinished: list[RowRef] = field(default_factory=list)  # stale 'storing', or 'deleting'

    @property
    def consistent(self) -> bool:
        return not (self.orphan_objects or self.missing_originals or self.missing_previews or self.unfinished)

    def summary(self) -> str:
        return messages.consistency_report(
            self.rows,
            self.objects,
            orphans=len(self.orphan_objects),
            missing_originals=len(self.missing_originals),
            missing_previews=len(self.missing_previews),
            unfinished=len(self.unfinished),
        )


@dataclass
class Repairs:
    orphans_deleted: int = 0
    orphans_too_recent: int = 0
    rows_deleted: int = 0
    previews_remade: int = 0
    unfinished_finished: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return messages.repairs_done(
            self.orphans_deleted,
            self.orphans_too_recent,
            self.rows_deleted,
            self.previews_remade,
            self.unfinished_finished,
            self.failures,
        )


class ConsistencyCheck:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        blobs: BlobStore,
        library: Library,
        *,
        grace: timedelta = GRACE,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._sessions = sessions
        self._blobs = blobs
        self._library = library
        self._grace = grace
        self._now = clock

    def check(self) -> Report:
        report = Report()
        # Bucket first, catalog second: see the module docstring for why this order matters.
        stored = {o.name: o for o in self._blobs.objects(PREFIX)}
        with self._sessions() as session:
            rows = [
                RowRef(*r)
                for r in session.execute(
                    select(
                        ImageRow.id,
                        ImageRow.object_name,
                        ImageRow.preview_object_name,
                        ImageRow.status,
                    )
                )
            ]
            young = {
                image_id
                for image_id in session.scalars(
                    select(ImageRow.id).where(
                        ImageRow.status == ImageStatus.STORING,
                        ImageRow.created_at >= self._now() - self._grace,
                    )
                )
            }
        report.objects, report.rows = len(stored), len(rows)
        named: set[str] = set()
        for row in rows:
            named.update((row.object_name, row.preview_object_name))
            display = row.display_object_name
            if display is not None:
                named.add(display)
            if row.status == ImageStatus.DELETING or (
                row.status == ImageStatus.STORING and row.image_id not in young
            ):
                report.unfinished.append(row)
            elif row.status != ImageStatus.READY:
                continue  # an upload in flight: its bytes may not all be there yet
            elif row.object_name not in stored:
                report.missing_originals.append(row)
            elif row.preview_object_name not in stored or (display is not None and display not in stored):
                # A HEIC or TIFF stored before display renditions existed lands here too.
                report.missing_previews.append(row)
        report.orphan_objects = sorted(
            (o for name, o in stored.items() if name not in named), key=lambda o: o.name
        )
        return report

    def repair(self, report: Report) -> Repairs:
        """Fix what `report` found; each fix is independent, and failures are reported."""
        done = Repairs()
        cutoff = self._now() - self._grace
        for orphan in report.orphan_objects:
            if orphan.created is not None and orphan.created > cutoff:
                done.orphans_too_recent += 1
                continue
            if self._attempt(done, orphan.name, partial(self._delete_orphan, orphan)):
                done.orphans_deleted += 1
        for row in report.missing_originals:
            if self._attempt(done, row.image_id, partial(self._forget, row)):
                done.rows_deleted += 1
        for row in report.missing_previews:
            if self._attempt(done, row.image_id, partial(self._remake_preview, row)):
                done.previews_remade += 1
        for row in report.unfinished:
            if self._attempt(done, row.image_id, partial(self._finish, row)):
                done.unfinished_finished += 1
        return done

    # -- single repairs -------------------------------------------------------------------

    @staticmethod
    def _attempt(done: Repairs, what: str, fix: Callable[[], None]) -> bool:
        try:
            fix()
            return True
        except CloudBoxError as exc:
            log.warning("could not repair %s: %s", what, exc.message)
            done.failures.append(f"{what}: {exc.message}")
            return False

    def _delete_orphan(self, orphan: StoredObject) -> None:
        # Re-check just before deleting: a row may have appeared since the check ran.
        preview = orphan.name.removesuffix(".display.jpg") + ".preview.jpg"
        with self._sessions() as session:
            claimed = session.scalar(
                select(ImageRow.id)
                .where(
                    (ImageRow.object_name == orphan.name)
                    | (ImageRow.preview_object_name == orphan.name)
                    | (ImageRow.preview_object_name == preview)
                )
                .limit(1)
            )
        if claimed is None:
            self._blobs.delete(orphan.name)

    def _finish(self, row: RowRef) -> None:
        """An abandoned upload or a half-done deletion: remove what is left of it."""
        with self._sessions() as session:
            status = session.scalar(select(ImageRow.status).where(ImageRow.id == row.image_id))
        if status != row.status:
            return  # it moved on (published, or deleted) since the check
        self._drop(row)

    def _drop(self, row: RowRef) -> None:
        if row.display_object_name is not None:
            self._blobs.delete(row.display_object_name)
        self._blobs.delete(row.preview_object_name)
        self._blobs.delete(row.object_name)
        with transaction(self._sessions) as session:
            session.execute(delete(ShareRow).where(ShareRow.image_id == row.image_id))
            dropped = session.execute(
                delete(ImageRow)
                .where(ImageRow.id == row.image_id)
                .returning(ImageRow.owner_id, ImageRow.status, ImageRow.size)
            ).first()
            if dropped is not None and dropped.status == ImageStatus.READY:
                count_change(session, dropped.owner_id, -1, -dropped.size)

    def _forget(self, row: RowRef) -> None:
        """The original is gone for good: drop the row, its shares and the preview."""
        if self._blobs.exists(row.object_name):
            return  # it came back (or the listing was stale): nothing to forget
        self._drop(row)
        log.warning("image %s removed from the catalog: its original was missing", row.image_id)

    def _remake_preview(self, row: RowRef) -> None:
        with tempfile.SpooledTemporaryFile(max_size=images.SPOOL_IN_MEMORY) as original:
            self._blobs.download_to(row.object_name, original)  # type: ignore[arg-type]
            original.seek(0)
            # No size cap: the original was accepted when it was uploaded, maybe under a
            # larger limit than today's.
            received = images.receive(original, max_bytes=2**40)  # type: ignore[arg-type]
        try:
            examined = images.examine(received, max_pixels=self._library.policy.max_pixels)
            renditions = images.render(received, examined, budget=self._library.decode_budget)
        except Rejected as exc:
            raise Rejected(messages.cannot_remake_preview(exc.message)) from exc
        finally:
            received.close()
        # Only what is missing: objects are created, never overwritten.
        if self._blobs.exists(row.preview_object_name):
            renditions = images.Renditions(b"", renditions.display)
        if row.display_object_name is not None and self._blobs.exists(row.display_object_name):
            renditions = images.Renditions(renditions.preview, None)
        self._library.put_renditions(row.image_id, row.object_name, row.preview_object_name, renditions)
