"""The admin's trail: who signed in, linked, shared, revoked, deleted, and who was refused.

Entries name an account (by id, and by email or chat identity in `who`) and say what happened
in a few words; they never hold a token, a URL or image bytes. An entry is written after the
act it records, in its own transaction: a failure to write one is logged, never undoes the act.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from .db import transaction
from .models import AuditRow, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    kind: str
    account_id: int | None
    who: str
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "account_id": self.account_id,
            "who": self.who,
            "detail": self.detail,
        }


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] = utcnow):
        self._sessions = sessions
        self._now = clock

    def record(self, kind: str, *, account_id: int | None = None, who: str = "", detail: str = "") -> None:
        try:
            with transaction(self._sessions) as session:
                session.add(
                    AuditRow(
                        at=self._now(), kind=kind, account_id=account_id, who=who[:320], detail=detail[:500]
                    )
                )
        except Exception as exc:  # the act happened; its record must not undo it
            log.warning("could not record %s in the audit log: %s", kind, type(exc).__name__)

    def since(self, when: datetime, *, limit: int = 10_000) -> list[AuditEntry]:
        with self._sessions() as session:
            rows = session.scalars(
                select(AuditRow).where(AuditRow.at >= when).order_by(AuditRow.at, AuditRow.id).limit(limit)
            ).all()
        return [AuditEntry(r.at, r.kind, r.account_id, r.who, r.detail) for r in rows]

    def purge(self, keep: timedelta) -> int:
        with transaction(self._sessions) as session:
            result = session.execute(delete(AuditRow).where(AuditRow.at < self._now() - keep))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
