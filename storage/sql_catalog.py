"""The catalog in SQL (SQLAlchemy, SQLite or PostgreSQL): images and shares as rows.

Status changes are compare-and-set updates (`WHERE status = ...`), so a racing upload, retry or
deletion sees from the row count whether it won; unique keys on (owner, sha256) and (owner,
chat file) make a claim lose before it writes a byte.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .audit import AuditLog
from .catalog import COUNT_CAP, Leftover, NewImage, NewShare, Position
from .db import transaction, upsert_insert
from .model import Image, ImageStatus, Share, Source
from .models import ImageRow, LibraryCountRow, ShareRow, utcnow

_IN_FLIGHT = (ImageStatus.STORING, ImageStatus.DELETING)


def count_change(session: Session, owner_id: int, images: int, nbytes: int) -> None:
    """Add to an owner's counts in the caller's transaction (the row is made on first use)."""
    insert = upsert_insert(session.get_bind().dialect.name)
    session.execute(
        insert(LibraryCountRow)
        .values(owner_id=owner_id, images=images, bytes=nbytes)
        .on_conflict_do_update(
            index_elements=["owner_id"],
            set_={"images": LibraryCountRow.images + images, "bytes": LibraryCountRow.bytes + nbytes},
        )
    )


class SqlCatalog:
    def __init__(self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] = utcnow):
        self.sessions = sessions
        self.audit = AuditLog(sessions, clock=clock)

    # -- images ---------------------------------------------------------------------------

    def usage(self, owner_id: int) -> tuple[int, int]:
        # The ready images from the owner's counts, plus those on their way in or out (few,
        # and found on the listing index): nothing proportional to the library is read.
        with self.sessions() as session:
            ready = session.get(LibraryCountRow, owner_id)
            count, size = session.execute(
                select(func.count(), func.coalesce(func.sum(ImageRow.size), 0)).where(
                    ImageRow.owner_id == owner_id, ImageRow.status.in_(_IN_FLIGHT)
                )
            ).one()
        return int(count) + (ready.images if ready else 0), int(size) + (ready.bytes if ready else 0)

    def by_source(self, owner_id: int, source: Source, *, any_status: bool = False) -> Image | None:
        return self._one(
            select(ImageRow).where(
                ImageRow.owner_id == owner_id,
                ImageRow.source_platform == source.platform,
                ImageRow.source_tenant == source.tenant,
                ImageRow.source_file_id == source.file_id,
            ),
            any_status=any_status,
        )

    def by_sha256(self, owner_id: int, sha256: str, *, any_status: bool = False) -> Image | None:
        query = select(ImageRow).where(ImageRow.owner_id == owner_id, ImageRow.sha256 == sha256)
        return self._one(query, any_status=any_status)

    def status(self, image_id: str) -> ImageStatus | None:
        with self.sessions() as session:
            status = session.scalar(select(ImageRow.status).where(ImageRow.id == image_id))
        return ImageStatus(status) if status is not None else None

    def claim(self, new: NewImage) -> bool:
        try:
            with transaction(self.sessions) as session:
                session.add(_row(new))
            return True
        except IntegrityError:
            return False

    def publish(self, image_id: str) -> bool:
        with transaction(self.sessions) as session:
            published = session.execute(
                update(ImageRow)
                .where(ImageRow.id == image_id, ImageRow.status == ImageStatus.STORING)
                .values(status=ImageStatus.READY)
                .returning(ImageRow.owner_id, ImageRow.size)
            ).first()
            if published is not None:
                count_change(session, published.owner_id, 1, published.size)
        return published is not None

    def hide(self, owner_id: int, image_id: str) -> bool:
        with transaction(self.sessions) as session:
            hidden = session.execute(
                update(ImageRow)
                .where(*_mine(owner_id), ImageRow.id == image_id)
                .values(status=ImageStatus.DELETING)
                .returning(ImageRow.size)
            ).first()
            if hidden is not None:
                count_change(session, owner_id, -1, -hidden.size)
        return hidden is not None

    def forget(self, image_id: str) -> None:
        with transaction(self.sessions) as session:
            session.execute(delete(ImageRow).where(ImageRow.id == image_id))

    def page(
        self, owner_id: int, *, words: list[str], number: int, per_page: int, after: Position | None = None
    ) -> tuple[list[Image], int]:
        where = list(_mine(owner_id))
        for word in words:
            where.append(func.lower(ImageRow.original_name).contains(word.lower(), autoescape=True))
        query = select(ImageRow).where(*where).order_by(ImageRow.created_at.desc(), ImageRow.id.desc())
        if after is not None:
            # Keyset: straight down the listing index from where the last page ended, however
            # deep; an offset would read and skip every row before it.
            query = query.where(
                or_(
                    ImageRow.created_at < after.created_at,
                    and_(ImageRow.created_at == after.created_at, ImageRow.id < after.image_id),
                )
            )
        else:
            query = query.offset((number - 1) * per_page)
        with self.sessions() as session:
            rows = session.scalars(query.limit(per_page)).all()
            if words:
                # Matches are counted up to a cap: past it the listing says "more than".
                matching = select(ImageRow.id).where(*where).limit(COUNT_CAP + 1).subquery()
                total = session.scalar(select(func.count()).select_from(matching)) or 0
            else:
                ready = session.get(LibraryCountRow, owner_id)
                total = ready.images if ready else 0
        return [image_of(r) for r in rows], total

    def by_id(self, owner_id: int, image_id: str) -> Image | None:
        with self.sessions() as session:
            row = session.scalar(select(ImageRow).where(*_mine(owner_id), ImageRow.id == image_id))
        return image_of(row) if row is not None else None

    def by_name(self, owner_id: int, name: str, *, limit: int) -> list[Image]:
        with self.sessions() as session:
            rows = session.scalars(
                select(ImageRow)
                .where(*_mine(owner_id), func.lower(ImageRow.original_name) == name.lower())
                .order_by(ImageRow.created_at.desc())
                .limit(limit)
            ).all()
        return [image_of(r) for r in rows]

    def leftovers(self, stale_before: datetime) -> list[Leftover]:
        with self.sessions() as session:
            stale = session.execute(
                select(ImageRow.id, ImageRow.object_name, ImageRow.preview_object_name).where(
                    or_(
                        ImageRow.status == ImageStatus.DELETING,
                        (ImageRow.status == ImageStatus.STORING) & (ImageRow.created_at < stale_before),
                    )
                )
            ).all()
        return [Leftover(*r) for r in stale]

    # -- shares ---------------------------------------------------------------------------

    def add_share(self, new: NewShare) -> None:
        with transaction(self.sessions) as session:
            session.add(
                ShareRow(
                    id=new.id,
                    token_hash=new.token_hash,
                    image_id=new.image_id,
                    owner_id=new.owner_id,
                    created_by=new.created_by,
                    created_at=new.created_at,
                    expires_at=new.expires_at,
                    views=0,
                )
            )

    def active_shares(self, owner_id: int, now: datetime) -> list[Share]:
        with self.sessions() as session:
            pairs = session.execute(
                select(ShareRow, ImageRow)
                .join(ImageRow, ImageRow.id == ShareRow.image_id)
                .where(
                    ShareRow.owner_id == owner_id,
                    ShareRow.revoked_at.is_(None),
                    ShareRow.expires_at > now,
                    ImageRow.status == ImageStatus.READY,
                )
                .order_by(ShareRow.expires_at)
            ).all()
        return [share_of(s, image_of(i)) for s, i in pairs]

    def revoke_every_share(self, owner_id: int, now: datetime) -> int:
        with transaction(self.sessions) as session:
            ids = session.scalars(
                select(ShareRow.id).where(ShareRow.owner_id == owner_id, ShareRow.revoked_at.is_(None))
            ).all()
            session.execute(update(ShareRow).where(ShareRow.id.in_(ids)).values(revoked_at=now))
        return len(ids)

    def revoke_by_token(self, owner_id: int, token_hash: str, now: datetime) -> list[Share]:
        return self._revoke(now, ShareRow.owner_id == owner_id, ShareRow.token_hash == token_hash)

    def revoke_by_id(self, owner_id: int, share_id: str, now: datetime) -> list[Share]:
        return self._revoke(now, ShareRow.owner_id == owner_id, ShareRow.id == share_id)

    def revoke_of_image(self, owner_id: int, image_id: str, now: datetime) -> list[Share]:
        return self._revoke(
            now, ShareRow.owner_id == owner_id, ShareRow.image_id == image_id, ShareRow.expires_at > now
        )

    def share_by_token(self, token_hash: str) -> Share | None:
        # Every share link visit asks this: Core, one prebuilt statement in one round trip, no
        # ORM objects (loading ShareRow and ImageRow was a third of a visit).
        with self.sessions() as session:
            connection = session.connection(execution_options=_NO_TRANSACTION)
            found = connection.execute(_SHARE_BY_TOKEN, {"token_hash": token_hash}).first()
        if found is None:
            return None
        return share_of(_ShareColumns(found), image_of(found))  # type: ignore[arg-type]

    def count_views(self, views: Mapping[str, int]) -> None:
        # One UPDATE per link, in id order (two transactions never wait on each other's rows in
        # opposite orders), each adding that link's views: an increment, never a read-modify-write.
        with transaction(self.sessions) as session:
            session.connection().execute(
                _ADD_VIEWS, [{"share_id": share_id, "more": views[share_id]} for share_id in sorted(views)]
            )

    # -- audit ----------------------------------------------------------------------------

    def record(self, kind: str, *, account_id: int | None, who: str, detail: str) -> None:
        self.audit.record(kind, account_id=account_id, who=who, detail=detail)

    # -- helpers --------------------------------------------------------------------------

    def _one(self, query: Select[ImageRow], *, any_status: bool) -> Image | None:
        if not any_status:
            query = query.where(ImageRow.status == ImageStatus.READY)
        with self.sessions() as session:
            row = session.scalar(query)
        return image_of(row) if row else None

    def _revoke(self, now: datetime, *which: ColumnElement[bool]) -> list[Share]:
        """Turn off the unrevoked shares matching `which`, in one transaction."""
        with transaction(self.sessions) as session:
            rows = session.scalars(select(ShareRow).where(*which, ShareRow.revoked_at.is_(None))).all()
            for row in rows:
                row.revoked_at = now
            images = _images(session, {row.image_id for row in rows})
            return [share_of(row, images[row.image_id]) for row in rows]


def _mine(owner_id: int) -> tuple[ColumnElement[bool], ...]:
    return (ImageRow.owner_id == owner_id, ImageRow.status == ImageStatus.READY)


def _images(session: Session, ids: set[str]) -> dict[str, Image]:
    if not ids:
        return {}
    return {r.id: image_of(r) for r in session.scalars(select(ImageRow).where(ImageRow.id.in_(ids)))}


def _row(new: NewImage) -> ImageRow:
    image, source = new.image, new.source
    return ImageRow(
        id=image.id,
        owner_id=new.owner_id,
        object_name=image.object_name,
        preview_object_name=image.preview_object_name,
        original_name=image.name,
        content_type=image.content_type,
        size=image.size,
        sha256=image.sha256,
        width=image.width,
        height=image.height,
        status=ImageStatus.STORING,
        source_platform=source.platform if source else None,
        source_tenant=source.tenant if source else None,
        source_file_id=source.file_id if source else None,
        created_at=image.created_at,
    )


# A lone SELECT needs no transaction around it: without one it is one round trip to the
# database instead of three (BEGIN, the SELECT, ROLLBACK).
_NO_TRANSACTION = {"isolation_level": "AUTOCOMMIT"}
_SHARES = cast(Table, ShareRow.__table__)
_IMAGES = cast(Table, ImageRow.__table__)
_SHARE_BY_TOKEN = (
    select(
        *(column.label(f"share_{column.name}") for column in _SHARES.c),
        *_IMAGES.c,
    )
    .join_from(_SHARES, _IMAGES, _IMAGES.c.id == _SHARES.c.image_id)
    .where(_SHARES.c.token_hash == bindparam("token_hash"), _IMAGES.c.status == ImageStatus.READY.value)
)
_ADD_VIEWS = (
    update(_SHARES)
    .where(_SHARES.c.id == bindparam("share_id"))
    .values(views=_SHARES.c.views + bindparam("more"))
)


class _ShareColumns:
    """The share's columns of a `_SHARE_BY_TOKEN` row, under their own names."""

    def __init__(self, row: Any):
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, f"share_{name}")


def image_of(row: ImageRow) -> Image:
    return Image(
        id=row.id,
        name=row.original_name,
        content_type=row.content_type,
        size=row.size,
        width=row.width,
        height=row.height,
        sha256=row.sha256,
        created_at=row.created_at,
        source_platform=row.source_platform,
        object_name=row.object_name,
        preview_object_name=row.preview_object_name,
    )


def share_of(row: ShareRow, image: Image, url: str | None = None) -> Share:
    return Share(
        id=row.id,
        image=image,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        views=row.views,
        created_by=row.created_by,
        url=url,
    )
