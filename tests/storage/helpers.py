"""Small helpers shared by the library tests."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import timedelta
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.blobstore import GcsBlobStore
from storage.errors import StorageUnavailable
from storage.library import Library
from storage.model import Owner, Source, Upload
from storage.models import ImageRow, ShareRow


def upload(
    library: Library, owner: Owner, data: bytes, name: str | bytes = "image.png", source: Source | None = None
) -> Upload:
    return library.upload(owner, io.BytesIO(data), filename=name, source=source)


def count(sessions: sessionmaker[Session], model: type[ImageRow] | type[ShareRow]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def rows(sessions: sessionmaker[Session]) -> list[ImageRow]:
    with sessions() as session:
        return list(session.scalars(select(ImageRow)).all())


def objects(blobs: GcsBlobStore, owner: Owner) -> list[str]:
    return sorted(blobs.names(owner.prefix))


class FlakyBlobs:
    """Our own BlobStore port around the real store, failing the calls a test picks."""

    def __init__(
        self, inner: GcsBlobStore, *, puts_before_failing: int | None = None, fail_deletes: bool = False
    ):
        self.inner = inner
        self.puts_before_failing = puts_before_failing
        self.fail_deletes = fail_deletes
        self.puts = 0

    def put(
        self,
        name: str,
        stream: BinaryIO,
        *,
        size: int,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        if self.puts_before_failing is not None and self.puts >= self.puts_before_failing:
            raise StorageUnavailable("storage is down (test)")
        self.puts += 1
        self.inner.put(name, stream, size=size, content_type=content_type, metadata=metadata)

    def delete(self, name: str) -> None:
        if self.fail_deletes:
            raise StorageUnavailable("storage is down (test)")
        self.inner.delete(name)

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)

    def names(self, prefix: str, *, page_size: int = 1000):  # type: ignore[no-untyped-def]
        return self.inner.names(prefix, page_size=page_size)

    def signed_url(self, name: str, ttl: timedelta, **kw: object) -> str:
        return self.inner.signed_url(name, ttl, **kw)  # type: ignore[arg-type]

    def check(self) -> None:
        self.inner.check()
